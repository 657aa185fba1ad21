import { readdirSync, readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_CLASSES, topClass, type ImageScores } from './classes.js';
import { ClassifyError, ThreadClassifier } from './classifier.js';
import { IMAGE_CHECK_DEFAULTS } from './config.js';
import { decodeRgb, DECODERS } from './decode.js';

/** The real model (nsfwjs MobileNetV2 on the WASM backend, pictures decoded by sharp), loaded once for this file. */
let classifier: ThreadClassifier;
const MEDIA = new URL('../../../samples/media/', import.meta.url);
const { maxPixels } = IMAGE_CHECK_DEFAULTS;

beforeAll(async () => {
  classifier = new ThreadClassifier({ backend: 'wasm', decoder: 'sharp' });
  await classifier.start();
}, 60_000);

afterAll(() => classifier.stop());

function classify(bytes: Uint8Array, signal = new AbortController().signal): Promise<ImageScores> {
  return classifier.classify(bytes, maxPixels, signal);
}

/** A PNG chunk: length, type, data, CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A decompression bomb: a PNG of a few hundred bytes whose header declares 30,000 × 30,000 RGB pixels (2.7 GB decoded). */
function pngBomb(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(30_000, 0);
  header.writeUInt32BE(30_000, 4);
  header.set([8, 2, 0, 0, 0], 8);
  // The first rows' worth of zeros: what a bomb's compressed stream starts with.
  const data = deflateSync(Buffer.alloc(30_000 * 3 + 1));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', data), chunk('IEND', Buffer.alloc(0))]);
}

describe('the image classifier, with the real model', () => {
  it("sees the demo's cartoon cats (every fifth of them) as drawings or neutral pictures", async () => {
    // Every fifth: all 58 take 4 s on a quiet 2-core machine, and several times that on a busy one.
    const files = readdirSync(MEDIA).filter((name, index) => name.endsWith('.png') && index % 5 === 0);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const scores = await classify(readFileSync(new URL(file, MEDIA)));
      expect(['Drawing', 'Neutral'], file).toContain(topClass(scores));
      expect(scores.Drawing + scores.Neutral, file).toBeGreaterThan(0.95);
    }
  }, 60_000);

  it('answers a valid distribution for noise, and holds no more tensors after many pictures than after one', async () => {
    const after = classifier.tensors;
    let seed = 7;
    const noise = Buffer.alloc(320 * 240 * 3, 0).map(() => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) & 0xff);
    const png = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } }).png().toBuffer();
    const scores = await classify(png);
    expect(Object.keys(scores).sort()).toEqual([...IMAGE_CLASSES].sort());
    for (const name of IMAGE_CLASSES) {
      expect(scores[name]).toBeGreaterThanOrEqual(0);
      expect(scores[name]).toBeLessThanOrEqual(1);
    }
    expect(Object.values(scores).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 3);
    expect(classifier.tensors).toBe(after);
  });

  it('refuses a decompression bomb from its header, without decoding it, and goes on classifying', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(1000);
    const rssBefore = process.memoryUsage().rss;
    const refused = await classify(bomb).then(
      () => undefined,
      (error: unknown) => error as ClassifyError,
    );
    expect(refused).toBeInstanceOf(ClassifyError);
    expect(refused?.reason).toBe('too-many-pixels');
    expect(refused?.message).toContain('30000 × 30000 pixels');
    // 2.7 GB decoded: not even a row's worth of it was made.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect(topClass(await classify(readFileSync(new URL(readdirSync(MEDIA)[0] as string, MEDIA))))).toMatch(/Drawing|Neutral/);
  });

  it('refuses the bomb in either decoder, and bytes that are no picture', async () => {
    for (const decoder of DECODERS) {
      await expect(decodeRgb(pngBomb(), maxPixels, decoder)).rejects.toMatchObject({ reason: 'too-many-pixels' });
      await expect(decodeRgb(Buffer.from('<html>not a picture</html>'), maxPixels, decoder)).rejects.toMatchObject({ reason: 'unknown-format' });
    }
    await expect(classify(Buffer.from('<html>not a picture</html>'))).rejects.toMatchObject({ reason: 'unknown-format' });
  });

  it('refuses a picture at once when too many wait, and skips one whose item stopped waiting', async () => {
    const picture = readFileSync(new URL(readdirSync(MEDIA)[0] as string, MEDIA));
    const small = new ThreadClassifier({ maxQueued: 1 });
    // Queued while its model loads: the first waits, the second is one too many.
    const first = small.classify(picture, maxPixels, new AbortController().signal);
    await expect(small.classify(picture, maxPixels, new AbortController().signal)).rejects.toMatchObject({ reason: 'busy' });
    const stopped = expect(first).rejects.toMatchObject({ reason: 'stopped' });
    await small.stop();
    await stopped;
    const gaveUp = new AbortController();
    gaveUp.abort();
    await expect(classify(picture, gaveUp.signal)).rejects.toMatchObject({ reason: 'timeout' });
  });
});
