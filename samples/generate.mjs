#!/usr/bin/env node
// Generates the bundled offline demo data for livewall:
//
//   samples/media/<MEDIA_ID>.png  small procedurally drawn cat pictures (480x360, RGB)
//   samples/x-cats.ndjson         a recording in the X API v2 filtered-stream wire format
//
// Everything is synthetic. No dependencies beyond Node's built-ins, and fully
// deterministic (seeded PRNG), so re-running produces the same bytes.
//
// Usage (from the repo root):  node samples/generate.mjs

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const MEDIA_DIR = join(HERE, 'media');
const STREAM_FILE = join(HERE, 'x-cats.ndjson');

const WIDTH = 480;
const HEIGHT = 360;
const SUPERSAMPLE = 3; // anti-aliasing: draw at 3x, then box-filter down

// ---------------------------------------------------------------------------
// Seeded PRNG (mulberry32)
// ---------------------------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rng = mulberry32(0x11fe0a11);
const rand = (lo, hi) => lo + (hi - lo) * rng();
const randInt = (lo, hi) => Math.floor(rand(lo, hi + 1)); // inclusive
const pick = (arr) => arr[Math.floor(rng() * arr.length)];
const chance = (p) => rng() < p;
function shuffle(arr) {
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---------------------------------------------------------------------------
// PNG encoder: signature, IHDR, IDAT (zlib deflate of filter-0 scanlines), IEND
// ---------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

function encodePng(width, height, rgb) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour (RGB)
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type 0 (None)
    rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------
// Tiny rasteriser. Shapes are { x0, y0, x1, y1, inside(x, y) } in image
// coordinates; the canvas samples them on a supersampled grid.
// ---------------------------------------------------------------------------

const hex = (s) => [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];
const mix = (a, b, t) => [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t);
const shade = (c, t) => (t < 0 ? mix(c, [0, 0, 0], -t) : mix(c, [255, 255, 255], t));

class Canvas {
  constructor() {
    this.w = WIDTH * SUPERSAMPLE;
    this.h = HEIGHT * SUPERSAMPLE;
    this.px = new Float32Array(this.w * this.h * 3);
  }

  verticalGradient(top, bottom, y0 = 0, y1 = HEIGHT) {
    const j0 = Math.max(0, Math.floor(y0 * SUPERSAMPLE));
    const j1 = Math.min(this.h, Math.ceil(y1 * SUPERSAMPLE));
    for (let j = j0; j < j1; j++) {
      const t = Math.min(1, Math.max(0, ((j + 0.5) / SUPERSAMPLE - y0) / (y1 - y0)));
      const c = mix(top, bottom, t * t * (3 - 2 * t));
      for (let i = 0; i < this.w; i++) {
        const o = (j * this.w + i) * 3;
        this.px[o] = c[0];
        this.px[o + 1] = c[1];
        this.px[o + 2] = c[2];
      }
    }
  }

  fill(shape, colour, alpha = 1) {
    const s = SUPERSAMPLE;
    const i0 = Math.max(0, Math.floor(shape.x0 * s));
    const i1 = Math.min(this.w, Math.ceil(shape.x1 * s) + 1);
    const j0 = Math.max(0, Math.floor(shape.y0 * s));
    const j1 = Math.min(this.h, Math.ceil(shape.y1 * s) + 1);
    for (let j = j0; j < j1; j++) {
      const y = (j + 0.5) / s;
      for (let i = i0; i < i1; i++) {
        if (!shape.inside((i + 0.5) / s, y)) continue;
        const o = (j * this.w + i) * 3;
        for (let k = 0; k < 3; k++) this.px[o + k] += (colour[k] - this.px[o + k]) * alpha;
      }
    }
  }

  toRgb() {
    const s = SUPERSAMPLE;
    const out = Buffer.alloc(WIDTH * HEIGHT * 3);
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        for (let k = 0; k < 3; k++) {
          let sum = 0;
          for (let dy = 0; dy < s; dy++) {
            for (let dx = 0; dx < s; dx++) sum += this.px[((y * s + dy) * this.w + x * s + dx) * 3 + k];
          }
          out[(y * WIDTH + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(sum / (s * s))));
        }
      }
    }
    return out;
  }
}

const TAU = Math.PI * 2;

const circle = (cx, cy, r) => ({
  x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r,
  inside: (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r,
});

function ellipse(cx, cy, rx, ry, rot = 0) {
  const c = Math.cos(rot);
  const s = Math.sin(rot);
  const m = Math.max(rx, ry);
  return {
    x0: cx - m, y0: cy - m, x1: cx + m, y1: cy + m,
    inside: (x, y) => {
      const dx = x - cx;
      const dy = y - cy;
      const u = dx * c + dy * s;
      const v = -dx * s + dy * c;
      return (u / rx) ** 2 + (v / ry) ** 2 <= 1;
    },
  };
}

function polygon(pts) {
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return {
    x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys),
    inside: (x, y) => {
      let inside = false;
      for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
        const [xi, yi] = pts[i];
        const [xj, yj] = pts[j];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    },
  };
}

const rect = (x0, y0, x1, y1) => ({ x0, y0, x1, y1, inside: (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1 });

function capsule(ax, ay, bx, by, r) {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy || 1;
  return {
    x0: Math.min(ax, bx) - r, y0: Math.min(ay, by) - r, x1: Math.max(ax, bx) + r, y1: Math.max(ay, by) + r,
    inside: (x, y) => {
      const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2));
      return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= r * r;
    },
  };
}

// Stroked circular arc from angle a0 to a1 (radians, screen coordinates: +y is
// down, so 0..PI is the lower half), with round caps.
function arc(cx, cy, r, width, a0, a1) {
  const hw = width / 2;
  const span = a1 - a0;
  const caps = [a0, a1].map((a) => circle(cx + r * Math.cos(a), cy + r * Math.sin(a), hw));
  return {
    x0: cx - r - hw, y0: cy - r - hw, x1: cx + r + hw, y1: cy + r + hw,
    inside: (x, y) => {
      const d = Math.hypot(x - cx, y - cy);
      if (Math.abs(d - r) <= hw) {
        const a = (((Math.atan2(y - cy, x - cx) - a0) % TAU) + TAU) % TAU;
        if (a <= span) return true;
      }
      return caps[0].inside(x, y) || caps[1].inside(x, y);
    },
  };
}

function polyline(pts, r) {
  return union(...pts.slice(1).map((p, i) => capsule(pts[i][0], pts[i][1], p[0], p[1], r)));
}

function union(...shapes) {
  return {
    x0: Math.min(...shapes.map((s) => s.x0)), y0: Math.min(...shapes.map((s) => s.y0)),
    x1: Math.max(...shapes.map((s) => s.x1)), y1: Math.max(...shapes.map((s) => s.y1)),
    inside: (x, y) => shapes.some((s) => s.inside(x, y)),
  };
}

const intersect = (a, b) => ({
  x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1),
  inside: (x, y) => a.inside(x, y) && b.inside(x, y),
});

const minus = (a, b) => ({ ...a, inside: (x, y) => a.inside(x, y) && !b.inside(x, y) });

function heart(cx, cy, size) {
  return {
    x0: cx - 1.3 * size, y0: cy - 1.4 * size, x1: cx + 1.3 * size, y1: cy + 1.4 * size,
    inside: (x, y) => {
      const u = (x - cx) / size;
      const v = -(y - cy) / size + 0.15;
      return (u * u + v * v - 1) ** 3 - u * u * v ** 3 <= 0;
    },
  };
}

function star(cx, cy, r, rot = 0) {
  const pts = [];
  for (let i = 0; i < 10; i++) {
    const a = rot - Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 === 0 ? r : r * 0.45;
    pts.push([cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
  }
  return polygon(pts);
}

// ---------------------------------------------------------------------------
// Palettes
// ---------------------------------------------------------------------------

const PASTELS = [
  { name: 'peach', c: hex('#ffd3b6') },
  { name: 'lavender', c: hex('#d9c8f5') },
  { name: 'mint', c: hex('#c4f0dc') },
  { name: 'sky blue', c: hex('#bfe3fa') },
  { name: 'butter yellow', c: hex('#fff1a8') },
  { name: 'rose', c: hex('#ffc6d9') },
  { name: 'seafoam', c: hex('#b5eadf') },
  { name: 'lilac', c: hex('#eccaf0') },
  { name: 'apricot', c: hex('#ffcf9e') },
  { name: 'powder blue', c: hex('#c9d8ff') },
];

const FURS = [
  { name: 'orange tabby', c: hex('#f29b4b'), stripes: true },
  { name: 'ginger', c: hex('#e8863a'), stripes: false },
  { name: 'grey', c: hex('#9ea7b3'), stripes: false },
  { name: 'grey tabby', c: hex('#8f98a4'), stripes: true },
  { name: 'black', c: hex('#2e2d36'), stripes: false },
  { name: 'white', c: hex('#f7f3ec'), stripes: false },
  { name: 'cream', c: hex('#f2d8ae'), stripes: false },
  { name: 'brown tabby', c: hex('#9a7352'), stripes: true },
  { name: 'tuxedo', c: hex('#2e2d36'), muzzle: hex('#f7f3ec') },
  { name: 'calico', c: hex('#f7f3ec'), patches: [hex('#e8863a'), hex('#3a3540')] },
];

const EYE_COLOURS = [
  { name: 'green', c: hex('#7cc96a') },
  { name: 'amber', c: hex('#f2b33d') },
  { name: 'blue', c: hex('#6fb3e8') },
  { name: 'gold', c: hex('#e9cf45') },
];

const BRIGHTS = [
  { name: 'coral', c: hex('#ff7f6e') },
  { name: 'teal', c: hex('#2fb5a8') },
  { name: 'mustard', c: hex('#e9b93c') },
  { name: 'violet', c: hex('#9a72d8') },
  { name: 'pink', c: hex('#f07aa8') },
  { name: 'sky blue', c: hex('#5aa9e6') },
  { name: 'leaf green', c: hex('#6cbf5a') },
];

const an = (word) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

const INK = hex('#3b2f33');
const PINK = hex('#f59ab0');
const WHITE = hex('#ffffff');

function twoPastels() {
  const a = pick(PASTELS);
  let b = pick(PASTELS);
  while (b === a) b = pick(PASTELS);
  return [a, b];
}

function sprinkle(cv, colour, count, kind, avoid, maxY = HEIGHT - 12) {
  for (let n = 0; n < count; n++) {
    const x = rand(12, WIDTH - 12);
    const y = rand(12, maxY);
    if (avoid && Math.hypot(x - avoid[0], y - avoid[1]) < avoid[2]) continue;
    const s = rand(4, 9);
    const shape = kind === 'hearts' ? heart(x, y, s) : kind === 'stars' ? star(x, y, s * 1.3, rand(0, 1)) : circle(x, y, s * 0.7);
    cv.fill(shape, colour, 0.7);
  }
}

// ---------------------------------------------------------------------------
// Scenes
// ---------------------------------------------------------------------------

function drawEye(cv, x, y, r, style, eyeColour, fur, side) {
  const lineColour = fur.c[0] + fur.c[1] + fur.c[2] < 200 ? hex('#e9e2dc') : INK;
  if (style === 'happy') {
    cv.fill(arc(x, y + r * 0.35, r * 0.8, r * 0.32, Math.PI * 1.15, Math.PI * 1.85), lineColour);
    return;
  }
  if (style === 'big') {
    cv.fill(ellipse(x, y, r * 0.95, r * 1.1), hex('#221c22'));
    cv.fill(circle(x + r * 0.3 * side, y - r * 0.38, r * 0.32), WHITE);
    cv.fill(circle(x - r * 0.25 * side, y + r * 0.35, r * 0.14), WHITE);
    return;
  }
  cv.fill(ellipse(x, y, r * 0.9, r), eyeColour);
  const pupilW = style === 'slit' ? r * 0.22 : r * 0.5;
  cv.fill(ellipse(x, y, pupilW, r * 0.88), hex('#1c1719'));
  cv.fill(circle(x + r * 0.28, y - r * 0.38, r * 0.22), WHITE);
}

function drawCatFace(cv, cx, cy, R, fur, opts) {
  const earColour = fur.c;
  const inner = mix(PINK, fur.c, 0.25);
  // ears
  for (const side of [-1, 1]) {
    const base1 = [cx + side * R * 0.25, cy - R * 0.8];
    const base2 = [cx + side * R * 1.0, cy - R * 0.35];
    const tip = [cx + side * R * (0.86 + opts.earSpread), cy - R * (1.35 + opts.earHeight)];
    cv.fill(polygon([base1, tip, base2]), earColour);
    const ic = [(base1[0] + base2[0] + tip[0]) / 3, (base1[1] + base2[1] + tip[1]) / 3];
    const shrink = (p) => [ic[0] + (p[0] - ic[0]) * 0.55, ic[1] + (p[1] - ic[1]) * 0.55 + R * 0.04];
    cv.fill(polygon([shrink(base1), shrink(tip), shrink(base2)]), inner);
  }
  // head
  const head = ellipse(cx, cy, R * 1.12, R);
  cv.fill(head, fur.c);
  if (fur.patches) {
    cv.fill(intersect(head, circle(cx - R * 0.85, cy - R * 0.55, R * 0.7)), fur.patches[0]);
    cv.fill(intersect(head, circle(cx + R * 1.0, cy - R * 0.75, R * 0.55)), fur.patches[1]);
  }
  if (fur.stripes) {
    const dark = shade(fur.c, -0.28);
    for (const dx of [-0.22, 0, 0.22]) {
      const x = cx + dx * R;
      cv.fill(intersect(head, polygon([[x - R * 0.07, cy - R], [x + R * 0.07, cy - R], [x, cy - R * (dx === 0 ? 0.55 : 0.68)]])), dark);
    }
    for (const side of [-1, 1]) {
      for (const dy of [0.05, 0.25]) {
        const y = cy + dy * R;
        const xe = cx + side * R * 1.13;
        cv.fill(intersect(head, polygon([[xe, y - R * 0.06], [xe, y + R * 0.06], [xe - side * R * 0.3, y]])), dark);
      }
    }
  }
  if (fur.muzzle) {
    cv.fill(intersect(head, polygon([[cx, cy - R * 0.45], [cx - R * 0.42, cy + R * 1.1], [cx + R * 0.42, cy + R * 1.1]])), fur.muzzle);
    cv.fill(ellipse(cx, cy + R * 0.42, R * 0.42, R * 0.3), fur.muzzle);
  }
  // cheeks
  if (opts.blush) {
    for (const side of [-1, 1]) cv.fill(ellipse(cx + side * R * 0.66, cy + R * 0.3, R * 0.17, R * 0.1), hex('#ff8fa8'), 0.55);
  }
  // eyes
  const eyeR = R * opts.eyeSize;
  const ex = R * 0.42;
  const ey = cy - R * 0.06;
  for (const side of [-1, 1]) {
    const style = opts.eyeStyle === 'wink' ? (side === 1 ? 'happy' : 'round') : opts.eyeStyle;
    drawEye(cv, cx + side * ex, ey, eyeR, style, opts.eyeColour.c, fur, side);
  }
  // nose + mouth
  const face = fur.muzzle ?? fur.c;
  const dark = face[0] + face[1] + face[2] < 200;
  const line = dark ? hex('#e9e2dc') : INK;
  const ny = cy + R * 0.2;
  cv.fill(polygon([[cx - R * 0.09, ny - R * 0.05], [cx + R * 0.09, ny - R * 0.05], [cx, ny + R * 0.06]]), hex('#ef7f98'));
  const lw = Math.max(1.6, R * 0.035);
  if (opts.mouth === 'open') cv.fill(ellipse(cx, ny + R * 0.2, R * 0.1, R * 0.09), hex('#c9445f'));
  if (opts.mouth === 'blep') cv.fill(ellipse(cx + R * 0.05, ny + R * 0.2, R * 0.065, R * 0.09), hex('#ff7c98'));
  cv.fill(arc(cx - R * 0.09, ny + R * 0.06, R * 0.09, lw, 0, Math.PI), line);
  cv.fill(arc(cx + R * 0.09, ny + R * 0.06, R * 0.09, lw, 0, Math.PI), line);
  // whiskers
  const whisker = dark || fur.c[0] + fur.c[1] + fur.c[2] < 200 ? hex('#f2ece6') : shade(INK, 0.25);
  for (const side of [-1, 1]) {
    for (const k of [-1, 0, 1]) {
      const sx = cx + side * R * 0.36;
      const sy = ny + R * 0.1 + k * R * 0.07;
      cv.fill(capsule(sx, sy, sx + side * R * 0.75, sy + k * R * 0.17 - R * 0.04, lw * 0.55), whisker);
    }
  }
}

function sceneCatFace(furName) {
  const cv = new Canvas();
  const [bgA, bgB] = twoPastels();
  cv.verticalGradient(bgA.c, bgB.c);
  const fur = FURS.find((f) => f.name === furName) ?? pick(FURS);
  const eyeColour = pick(EYE_COLOURS);
  const opts = {
    // big dark kawaii eyes would vanish on dark fur
    eyeStyle: pick(fur.c[0] + fur.c[1] + fur.c[2] < 200 ? ['round', 'slit', 'happy', 'wink'] : ['round', 'round', 'slit', 'big', 'big', 'happy', 'wink']),
    eyeSize: rand(0.16, 0.21),
    eyeColour,
    earSpread: rand(-0.08, 0.1),
    earHeight: rand(-0.08, 0.12),
    blush: chance(0.6),
    mouth: pick(['w', 'w', 'w', 'open', 'blep']),
  };
  const layout = pick(['portrait', 'portrait', 'peek']);
  const R = rand(70, 100);
  const cx = rand(WIDTH * 0.35, WIDTH * 0.65);
  const deco = pick(['dots', 'hearts', 'stars']);
  sprinkle(cv, shade(bgA.c, 0.55), randInt(8, 16), deco, [cx, HEIGHT * 0.55, R * 1.6]);
  let where;
  if (layout === 'portrait') {
    const cy = rand(HEIGHT * 0.44, HEIGHT * 0.52);
    cv.fill(ellipse(cx, cy + R * 1.75, R * 1.15, R * 1.2), fur.muzzle ? fur.c : shade(fur.c, -0.06));
    if (fur.muzzle) cv.fill(ellipse(cx, cy + R * 1.6, R * 0.45, R * 0.9), fur.muzzle);
    drawCatFace(cv, cx, cy, R, fur, opts);
    where = `on ${an(bgA.name)} to ${bgB.name} gradient with little ${deco === 'dots' ? 'dots' : deco}`;
  } else {
    const ledgeY = rand(HEIGHT * 0.66, HEIGHT * 0.72);
    const cy = ledgeY - R * 0.55;
    const ledge = pick(BRIGHTS);
    drawCatFace(cv, cx, cy, R, fur, opts);
    cv.fill(rect(0, ledgeY, WIDTH, HEIGHT), ledge.c);
    cv.fill(rect(0, ledgeY, WIDTH, ledgeY + 6), shade(ledge.c, 0.3));
    const paw = fur.muzzle ?? fur.c;
    for (const side of [-1, 1]) {
      const px = cx + side * R * 0.55;
      cv.fill(ellipse(px, ledgeY + 2, R * 0.26, R * 0.16), paw);
      for (const t of [-1, 0, 1]) {
        cv.fill(capsule(px + t * R * 0.09, ledgeY + 2, px + t * R * 0.09, ledgeY + R * 0.1, 1.1), shade(paw, -0.3));
      }
    }
    where = `peeking over ${an(ledge.name)} ledge, ${bgA.name} background`;
  }
  const eyes = {
    round: `${eyeColour.name} eyes`,
    slit: `${eyeColour.name} eyes`,
    big: 'big shiny eyes',
    happy: 'happy closed eyes',
    wink: 'a wink',
  }[opts.eyeStyle];
  const extra = opts.mouth === 'blep' ? ' and a tiny tongue out' : opts.mouth === 'open' ? ' and an open meowing mouth' : '';
  return { cv, alt: `Cartoon ${fur.name} cat face with ${eyes}${extra}, ${where}.` };
}

function drawPaw(cv, x, y, s, rot, colour) {
  const c = Math.cos(rot);
  const si = Math.sin(rot);
  const at = (u, v) => [x + u * c - v * si, y + u * si + v * c];
  const [px, py] = at(0, s * 0.35);
  cv.fill(ellipse(px, py, s * 0.62, s * 0.5, rot), colour);
  const toes = [[-0.62, -0.3], [-0.22, -0.62], [0.22, -0.62], [0.62, -0.3]];
  for (const [u, v] of toes) {
    const [tx, ty] = at(u * s, v * s);
    cv.fill(ellipse(tx, ty, s * 0.2, s * 0.26, rot + u * 0.6), colour);
  }
}

function scenePaws() {
  const cv = new Canvas();
  const [bgA, bgB] = twoPastels();
  cv.verticalGradient(bgA.c, bgB.c);
  sprinkle(cv, shade(bgB.c, 0.6), randInt(6, 12), 'hearts');
  const bigHeart = chance(0.5);
  if (bigHeart) cv.fill(heart(rand(80, 400), rand(70, 290), rand(22, 32)), pick(BRIGHTS).c, 0.85);
  const colour = pick(BRIGHTS);
  const size = rand(20, 30);
  const n = randInt(5, 7);
  const x0 = rand(-20, 40);
  const y0 = rand(HEIGHT * 0.55, HEIGHT * 0.9);
  const x1 = WIDTH - rand(-20, 40);
  const y1 = rand(HEIGHT * 0.1, HEIGHT * 0.45);
  const dir = Math.atan2(y1 - y0, x1 - x0);
  const wiggle = rand(15, 40);
  for (let i = 0; i < n; i++) {
    const t = (i + 0.5) / n;
    const side = i % 2 === 0 ? -1 : 1;
    const bend = Math.sin(t * Math.PI) * wiggle;
    const x = x0 + (x1 - x0) * t + Math.cos(dir + Math.PI / 2) * (side * size * 0.8 + bend);
    const y = y0 + (y1 - y0) * t + Math.sin(dir + Math.PI / 2) * (side * size * 0.8 + bend);
    drawPaw(cv, x, y, size, dir + Math.PI / 2, colour.c);
  }
  return {
    cv,
    alt: `A trail of ${n} ${colour.name} paw prints across ${an(bgA.name)} to ${bgB.name} background${bigHeart ? ' with a heart' : ''}.`,
  };
}

function drawYarn(cv, x, y, r, colour, threadTo) {
  const dark = shade(colour, -0.25);
  const ball = circle(x, y, r);
  // thread first so the ball sits on top of it
  const [tx, ty] = threadTo;
  const pts = [];
  for (let i = 0; i <= 24; i++) {
    const t = i / 24;
    const wob = Math.sin(t * Math.PI * 3) * r * 0.35 * (1 - t * 0.5);
    pts.push([x + (tx - x) * t, y + r * 0.7 + (ty - y - r * 0.7) * t + wob]);
  }
  cv.fill(polyline(pts, Math.max(1.6, r * 0.045)), dark);
  cv.fill(ball, colour);
  cv.fill(intersect(ball, minus(circle(x, y, r), circle(x - r * 0.18, y - r * 0.18, r * 0.95))), dark);
  const w = Math.max(1.8, r * 0.06);
  for (let k = 0; k < 5; k++) {
    const a = rand(0, TAU);
    const rr = rand(r * 0.7, r * 1.3);
    const cx = x + Math.cos(a) * r * 1.1;
    const cy = y + Math.sin(a) * r * 1.1;
    cv.fill(intersect(circle(x, y, r * 0.93), arc(cx, cy, rr, w, 0, TAU)), dark);
  }
  cv.fill(ellipse(x - r * 0.35, y - r * 0.4, r * 0.22, r * 0.12, -0.6), shade(colour, 0.45), 0.8);
}

function sceneYarn() {
  const cv = new Canvas();
  const [wall, floorTone] = twoPastels();
  const floorY = rand(HEIGHT * 0.62, HEIGHT * 0.72);
  cv.verticalGradient(shade(wall.c, 0.2), wall.c, 0, floorY);
  cv.verticalGradient(shade(floorTone.c, -0.08), shade(floorTone.c, -0.2), floorY, HEIGHT);
  sprinkle(cv, shade(wall.c, 0.6), randInt(5, 9), 'stars', null, floorY - 14);
  const n = randInt(1, 3);
  const colours = shuffle(BRIGHTS).slice(0, n);
  const xs = n === 1 ? [rand(170, 310)] : n === 2 ? [rand(120, 190), rand(290, 360)] : [rand(85, 120), rand(220, 260), rand(360, 395)];
  colours.forEach((col, i) => {
    const r = n === 1 ? rand(70, 90) : rand(45, 62);
    const y = floorY + rand(0.25, 0.55) * r;
    cv.fill(ellipse(xs[i], y + r * 0.92, r * 0.95, r * 0.18), shade(floorTone.c, -0.35), 0.5);
    drawYarn(cv, xs[i], y, r, col.c, [xs[i] + (i % 2 === 0 ? 1 : -1) * rand(90, 200), HEIGHT + 10]);
  });
  const names = colours.map((c) => c.name);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return {
    cv,
    alt: `${n === 1 ? 'A ball' : `${['', '', 'Two', 'Three'][n]} balls`} of ${list} yarn with loose threads on ${an(floorTone.name)} floor.`,
  };
}

function sceneSilhouette(night) {
  const cv = new Canvas();
  const sky = night ? [hex('#1f2452'), hex('#6b4f9a')] : [hex('#ff9a76'), hex('#ffe0a3')];
  cv.verticalGradient(sky[0], sky[1]);
  if (night) {
    for (let i = 0; i < 22; i++) cv.fill(star(rand(5, WIDTH - 5), rand(5, HEIGHT * 0.6), rand(2.5, 5.5), rand(0, 1)), hex('#fff6c8'), rand(0.6, 1));
  }
  const moonX = rand(70, 410);
  const moonY = rand(60, 110);
  const moonR = rand(32, 46);
  if (night) {
    cv.fill(minus(circle(moonX, moonY, moonR), circle(moonX + moonR * 0.45, moonY - moonR * 0.2, moonR * 0.85)), hex('#fff3b8'));
  } else {
    cv.fill(circle(moonX, moonY + 40, moonR * 1.4), hex('#fff5d6'), 0.9);
  }
  const hillColour = night ? hex('#2b2650') : hex('#d9735b');
  const hillX = rand(150, 330);
  cv.fill(circle(hillX, HEIGHT + 420, 540), shade(hillColour, 0.15));
  cv.fill(circle(hillX + 40, HEIGHT + 600, 690), hillColour);
  const cat = night ? hex('#111026') : hex('#3a2030');
  const s = rand(0.9, 1.15);
  const baseY = HEIGHT - 30 - 40 * (1 - s);
  const x = hillX + rand(-40, 40);
  const body = ellipse(x, baseY - 45 * s, 42 * s, 55 * s);
  cv.fill(body, cat);
  const tailSide = chance(0.5) ? 1 : -1;
  cv.fill(arc(x + tailSide * 55 * s, baseY - 30 * s, 30 * s, 11 * s, tailSide > 0 ? -Math.PI * 0.65 : Math.PI * 0.75, tailSide > 0 ? Math.PI * 0.3 : Math.PI * 1.65), cat);
  const hy = baseY - 115 * s;
  cv.fill(circle(x, hy, 34 * s), cat);
  for (const side of [-1, 1]) cv.fill(polygon([[x + side * 8 * s, hy - 28 * s], [x + side * 32 * s, hy - 62 * s], [x + side * 33 * s, hy - 10 * s]]), cat);
  if (night) {
    for (const side of [-1, 1]) cv.fill(ellipse(x + side * 12 * s, hy - 2 * s, 6 * s, 7.5 * s), hex('#ffe066'));
    for (const side of [-1, 1]) cv.fill(ellipse(x + side * 12 * s, hy - 2 * s, 1.8 * s, 6 * s), cat);
  }
  return {
    cv,
    alt: night
      ? 'Silhouette of a cat with glowing eyes sitting on a hill under a crescent moon and stars.'
      : 'Silhouette of a cat sitting on a hill in front of a warm sunset.',
  };
}

const SCENES = {
  face: sceneCatFace,
  tuxedo: () => sceneCatFace('tuxedo'),
  grey: () => sceneCatFace('grey'),
  orange: () => sceneCatFace('orange tabby'), paws: scenePaws, yarn: sceneYarn, sunset: () => sceneSilhouette(false), night: () => sceneSilhouette(true) };

// Pictures not asked for by a post's text come from a shuffled, balanced pool.
let scenePool = [];
function drawScene(scene) {
  if (!scene) {
    if (scenePool.length === 0) scenePool = shuffle(['face', 'face', 'face', 'face', 'face', 'face', 'paws', 'yarn', 'sunset', 'face', 'paws', 'yarn']);
    scene = scenePool.pop();
  }
  return SCENES[scene]();
}

// ---------------------------------------------------------------------------
// Ids in X's formats
// ---------------------------------------------------------------------------

const TWITTER_EPOCH = 1288834974657n;
const snowflake = (ms, worker, seq) => (((BigInt(ms) - TWITTER_EPOCH) << 22n) | (BigInt(worker) << 12n) | BigInt(seq)).toString();

const MEDIA_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const usedMediaIds = new Set();
function newMediaId() {
  for (;;) {
    let id = pick(['F', 'G']);
    for (let i = 0; i < 14; i++) id += pick([...MEDIA_ID_ALPHABET]);
    if (!usedMediaIds.has(id)) {
      usedMediaIds.add(id);
      return id;
    }
  }
}

// X escapes exactly these three characters in post text.
const escapeText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// ---------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------

const AUTHORS = [
  { id: '1432958127034183681', name: 'Mochi the Loaf', username: 'mochiloaf' },
  { id: '2837461920', name: 'Whisker Weekly', username: 'whiskerweekly' },
  { id: '1198273645501239296', name: 'Biscuit & Bean', username: 'biscuitandbean' },
  { id: '988172635401224192', name: 'Nap Queen Pixel 💤', username: 'pixelnaps' },
  { id: '3321907554', name: 'Tabby Tuesday', username: 'tabbytuesday42' },
  { id: '1570023894461456384', name: 'Captain Floof', username: 'captainfloof' },
  { id: '1319584720016384001', name: 'Sunny Windowsill', username: 'sunnywindowsill' },
  { id: '1650338261907763200', name: 'Yarn Goblin 🧶', username: 'yarngoblin_' },
  { id: '755109284', name: 'Midnight Zoomies', username: 'midnightzoomies' },
  { id: '1722906181452177408', name: 'Cat Doodles Daily', username: 'catdoodlesdaily' },
];

// Raw texts; escapeText() turns &, <, > into the entities X sends.
const SINGLE_PHOTO_TEXTS = [
  'Sunday mood: one loaf, fully baked. 🍞🐱 #caturday',
  "Tea & naps. That's the whole plan for today. ☕💤",
  'I <3 my cat. Even when she knocks my pen off the desk. Especially then.',
  'New drawing! Tried a softer palette this time 🎨 #CatArt',
  "Caught mid-blink and somehow it's the best picture I've made all year",
  'He has decided the laundry basket is his now. I have accepted this. #CatLife',
  'Window seat, sunbeam, zero regrets ☀️',
  'Meet Pickle, 4 months old, already runs the household 😺',
  'Ears up = snack time. Ears back = you are late with the snack.',
  'Daily doodle #112: a very round boy #CatArt',
  "When you say 'bath' instead of 'snack' by accident",
  'Toe beans appreciation post 🐾 #caturday',
  'yarn: destroyed. cat: thriving. me: knitting a new scarf again 🧶',
  'Shoutout to @yarngoblin_ for the pattern, my cat approves of the result 🧶',
  'Morning status report: fed -> happy -> asleep again',
  'Tuxedo cat has a meeting at 3. Very important. Very formal. #TuxedoTuesday',
  'Found her like this. No notes. 10/10.',
  "Long day. Missed the bus, spilled coffee on my notes & forgot my umbrella. Came home and this little face was waiting at the door like I'm the best thing that ever happened. Okay, the day is fixed now. 🧡",
  'The face of someone who just heard the can opener 👀',
  'Painted a little night scene with my favourite silhouette 🌙 #CatArt',
  'Cat tax for the thread above 😸',
  'Look who finally learned to high five! 🐾✋',
  'Rainy day, warm blanket, purring at maximum volume 🌧️',
  'Guess who sat on my keyboard during a video call. Hint: orange. #CatLife',
  'Loaf mode activated. Do not disturb. 🍞',
  'Paw prints across the freshly mopped floor, naturally 🐾',
  '@mochiloaf this one reminded me of your Mochi! Same judging eyes 😹',
  'Kitten update: 2 teeth, 4 zoomies per hour, 0 chill',
  'Sketchbook page from the café this morning ☕✏️ #CatArt',
  "Adopted this gentleman from the shelter today. He's 12 and perfect. ❤️ #AdoptDontShop",
  'She sits. She stares. She knows what I did. 👁️👁️',
  'The secret to happiness: a sunny spot & zero obligations',
  "Can't decide if he's a cat or a very small, very fluffy cloud ☁️",
  'A ball of yarn < a cardboard box < the bag the yarn came in. Cat logic. 🧶📦',
  'Happy #caturday from our very sleepy office supervisor 💼😴',
  "Blep. That's it, that's the post. 😛",
  'Grey cat, grey sweater, grey Monday. Somehow it works. #MeowMonday',
  'Every morning at 6:00 sharp. Like an alarm clock with whiskers. ⏰',
  'Commission done for @biscuitandbean! Thank you for trusting me with your babies 🎨',
  'Trying out a new brush set. Cats are the best practice subjects 🖌️',
  'Midnight zoomies incoming in 3... 2... 1... 🌙💨',
  "He's not fat, he's just big-boned and emotionally supported 🐱",
  'Favourite spot in the whole house: wherever I was just sitting. #CatLife',
];
const LINK_TEXT = 'Little animation test frame, turned out cuter than planned https://t.co/AbCdEf1234';
const DOG_TEXTS = [
  "My cat and the neighbour's dog are officially best friends now 🐱🐶 #caturday",
  'Weekly reminder that the dog is NOT allowed on the cat tree. The cat disagrees. 🐶🐱',
];
const MULTI_PHOTO_TEXTS = [
  'Before & after: the box arrived / the box was claimed 📦🐱',
  'Three moods: curious, sleepy, plotting. Which one is your Monday? #MeowMonday',
  'Sketches from the cat café weekend 🐾 swipe for all four! #CatArt',
];
const VIDEO_TEXTS = [
  { type: 'video', text: 'The zoomies, captured on video for science 🎥🐈 #caturday', duration_ms: 14840 },
  { type: 'video', text: 'Slow-motion tail flick appreciation post. Watch till the end 👀', duration_ms: 9320 },
  { type: 'animated_gif', text: 'me when the treat bag crinkles', duration_ms: 0 },
];
const TEXT_ONLY_TEXTS = [
  "Does anyone else's cat yell at 3am for absolutely no reason? Asking for a friend. #CatLife",
  'Hot take: the cardboard box is the greatest cat toy ever invented. Fight me. 📦',
  'Good morning to everyone except the cat who woke me up at 5 🙃',
  'Reminder: cats need fresh water every day, and yes, they will still drink from your glass. 💧 #CatTips',
];

// ---------------------------------------------------------------------------
// Build the recording
// ---------------------------------------------------------------------------

const RULE_CATS = { id: snowflake(Date.UTC(2026, 9, 31, 9, 14, 52, 318), 412, 0), tag: 'cats' };
const RULE_DOGS = { id: snowflake(Date.UTC(2026, 9, 31, 9, 15, 3, 771), 412, 0), tag: 'dogs' };

const posts = [];
for (const text of SINGLE_PHOTO_TEXTS) posts.push({ kind: 'photo', photos: 1, text });
posts.push({ kind: 'photo', photos: 1, text: LINK_TEXT });
for (const text of DOG_TEXTS) posts.push({ kind: 'photo', photos: 1, text, dogs: true });
MULTI_PHOTO_TEXTS.forEach((text, i) => posts.push({ kind: 'photo', photos: i + 2, text }));
for (const v of VIDEO_TEXTS) posts.push({ kind: v.type, photos: 0, text: v.text, duration_ms: v.duration_ms });
for (const text of TEXT_ONLY_TEXTS) posts.push({ kind: 'text', photos: 0, text });

// Shuffle, but open the recording with a plain single-photo post.
const order = shuffle(posts);
const firstPhoto = order.findIndex((p) => p.kind === 'photo' && p.photos === 1);
order.unshift(...order.splice(firstPhoto, 1));

// Clear previous output so the directory holds exactly what this run writes.
mkdirSync(MEDIA_DIR, { recursive: true });
for (const f of readdirSync(MEDIA_DIR)) if (f.endsWith('.png')) rmSync(join(MEDIA_DIR, f));

let ms = Date.UTC(2026, 10, 1, 12, 0, 5, 0);
let images = 0;
let imageBytes = 0;
const lines = [];
const keepAliveAfter = new Set();
while (keepAliveAfter.size < 5) keepAliveAfter.add(randInt(3, order.length - 3));

// A few texts talk about what is in the picture; draw that.
function sceneFor(text) {
  if (/yarn/i.test(text)) return 'yarn';
  if (/paw prints|toe beans/i.test(text)) return 'paws';
  if (/night scene|midnight/i.test(text)) return 'night';
  if (/tuxedo/i.test(text)) return 'tuxedo';
  if (/grey cat/i.test(text)) return 'grey';
  if (/hint: orange/i.test(text)) return 'orange';
  return undefined;
}

function makeImage(scene) {
  const id = newMediaId();
  const { cv, alt } = drawScene(scene);
  const png = encodePng(WIDTH, HEIGHT, cv.toRgb());
  writeFileSync(join(MEDIA_DIR, `${id}.png`), png);
  images++;
  imageBytes += png.length;
  return { id, alt };
}

order.forEach((post, index) => {
  if (index > 0) ms += randInt(6, 15) * 1000; // seconds between posts
  const createdAt = new Date(ms).toISOString(); // whole seconds: "...:05.000Z"
  const postMs = ms + randInt(0, 999);
  const id = snowflake(postMs, randInt(300, 700), randInt(0, 40));
  const text = escapeText(post.text);
  if (text.length < 20 || text.length > 240) throw new Error(`text length ${text.length} out of range: ${text}`);

  let author = pick(AUTHORS);
  while (post.text.includes(`@${author.username}`)) author = pick(AUTHORS);

  const media = [];
  const mediaCount = post.kind === 'photo' ? post.photos : post.kind === 'text' ? 0 : 1;
  for (let k = 0; k < mediaCount; k++) {
    const { id: mediaId, alt } = makeImage(k === 0 ? sceneFor(post.text) : undefined);
    const uploadMs = postMs - randInt(4000, 180000) + k * 900;
    const url = `https://pbs.twimg.com/media/${mediaId}.png`;
    if (post.kind === 'photo') {
      const keyPrefix = '3_';
      const m = { media_key: keyPrefix + snowflake(uploadMs, randInt(300, 700), k), type: 'photo', url, width: WIDTH, height: HEIGHT };
      if (chance(0.78)) m.alt_text = alt;
      media.push(m);
    } else {
      const keyPrefix = post.kind === 'video' ? '7_' : '16_';
      const m = { media_key: keyPrefix + snowflake(uploadMs, randInt(300, 700), 0), type: post.kind, preview_image_url: url, width: WIDTH, height: HEIGHT };
      if (post.kind === 'video') m.duration_ms = post.duration_ms;
      media.push(m);
    }
  }

  const data = { id, text, author_id: author.id, created_at: createdAt };
  if (media.length) data.attachments = { media_keys: media.map((m) => m.media_key) };
  data.edit_history_tweet_ids = [id];
  const includes = {};
  if (media.length) includes.media = media;
  includes.users = [author];
  const matching_rules = post.dogs ? [RULE_CATS, RULE_DOGS] : [RULE_CATS];

  lines.push(JSON.stringify({ data, includes, matching_rules }));
  if (keepAliveAfter.has(index)) lines.push('');
});

writeFileSync(STREAM_FILE, lines.map((l) => `${l}\r\n`).join(''));

const count = (pred) => order.filter(pred).length;
console.log(`wrote ${STREAM_FILE}`);
console.log(`  ${order.length} posts + ${keepAliveAfter.size} keep-alive lines`);
console.log(`  ${count((p) => p.kind === 'photo')} with photos (${count((p) => p.kind === 'photo' && p.photos > 1)} with several)`);
console.log(`  ${count((p) => p.kind === 'video' || p.kind === 'animated_gif')} video/animated_gif only`);
console.log(`  ${count((p) => p.kind === 'text')} text only`);
console.log(`  ${count((p) => p.dogs)} matching two rules`);
console.log(`  created_at ${new Date(Date.UTC(2026, 10, 1, 12, 0, 5)).toISOString()} .. ${new Date(ms).toISOString()}`);
console.log(`wrote ${images} images to ${MEDIA_DIR} (${(imageBytes / 1024).toFixed(1)} KiB)`);
