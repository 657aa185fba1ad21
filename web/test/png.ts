import { deflateSync } from 'node:zlib';

/** Test fixtures: small PNG pictures made without any image library. */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

type Rgb = [number, number, number];

/** An 8-bit RGB PNG; `pixel` gets coordinates in [0, 1). */
export function png(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let offset = 0;
  for (let y = 0; y < height; y++) {
    raw[offset++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x / width, y / height);
      raw[offset++] = r;
      raw[offset++] = g;
      raw[offset++] = b;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)))));
  return [f(0), f(8), f(4)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function inTriangle(px: number, py: number, [ax, ay, bx, by, cx, cy]: number[]): boolean {
  const d1 = (px - bx!) * (ay! - by!) - (ax! - bx!) * (py - by!);
  const d2 = (px - cx!) * (by! - cy!) - (bx! - cx!) * (py - cy!);
  const d3 = (px - ax!) * (cy! - ay!) - (cx! - ax!) * (py - ay!);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

export interface CatLook {
  /** Background hue, degrees. */
  hue: number;
  fur: Rgb;
  eyes: Rgb;
}

export const CAT_LOOKS: CatLook[] = [
  { hue: 200, fur: [32, 32, 38], eyes: [240, 200, 60] },
  { hue: 28, fur: [222, 128, 48], eyes: [110, 190, 90] },
  { hue: 280, fur: [150, 150, 160], eyes: [90, 170, 230] },
  { hue: 150, fur: [245, 240, 230], eyes: [80, 150, 220] },
  { hue: 345, fur: [90, 62, 48], eyes: [235, 180, 60] },
  { hue: 45, fur: [60, 60, 70], eyes: [120, 210, 120] },
  { hue: 230, fur: [236, 160, 80], eyes: [240, 220, 90] },
  { hue: 175, fur: [200, 200, 205], eyes: [240, 170, 60] },
];

/** A friendly cat face on a gradient: fixture images that look like something in a screenshot. */
export function catPng(look: CatLook, size = 320): Buffer {
  const top = hsl(look.hue, 0.55, 0.62);
  const bottom = hsl((look.hue + 40) % 360, 0.5, 0.28);
  const samples = [0.17, 0.5, 0.83];
  const shade = (x: number, y: number): Rgb => {
    const dx = x - 0.5;
    let color = mix(top, bottom, Math.min(1, Math.max(0, y * 0.9 + dx * 0.2)));
    const head = Math.hypot(dx / 1.08, y - 0.6) < 0.25;
    const ears = inTriangle(x, y, [0.27, 0.5, 0.33, 0.24, 0.46, 0.4]) || inTriangle(x, y, [0.73, 0.5, 0.67, 0.24, 0.54, 0.4]);
    const innerEars = inTriangle(x, y, [0.31, 0.47, 0.34, 0.3, 0.43, 0.41]) || inTriangle(x, y, [0.69, 0.47, 0.66, 0.3, 0.57, 0.41]);
    if (head || ears) color = look.fur;
    if (innerEars) color = mix(look.fur, [240, 150, 170], 0.55);
    for (const ex of [0.41, 0.59]) {
      const eye = Math.hypot((x - ex) / 0.8, y - 0.57);
      if (eye < 0.045) color = look.eyes;
      if (Math.hypot((x - ex) / 0.35, y - 0.57) < 0.03) color = [15, 15, 18];
    }
    if (inTriangle(x, y, [0.47, 0.64, 0.53, 0.64, 0.5, 0.675])) color = [235, 130, 150];
    return color;
  };
  return png(size, size, (x, y) => {
    let r = 0;
    let g = 0;
    let b = 0;
    for (const sy of samples) {
      for (const sx of samples) {
        const [cr, cg, cb] = shade(x + sx / size, y + sy / size);
        r += cr;
        g += cg;
        b += cb;
      }
    }
    const n = samples.length ** 2;
    return [Math.round(r / n), Math.round(g / n), Math.round(b / n)];
  });
}
