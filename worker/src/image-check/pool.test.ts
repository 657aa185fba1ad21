import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IMAGE_CHECK_DEFAULTS } from './config.js';
import { ClassifierPool, defaultThreads, MAX_THREADS, threadsFromEnv } from './pool.js';

/**
 * A classifier thread that speaks the real protocol (protocol.ts) without the model: it answers after as many
 * milliseconds as the picture's first byte says, with its thread id as the Drawing score, so a test sees which thread
 * scored what, and in which order.
 */
const dir = mkdtempSync(join(tmpdir(), 'livewall-pool-'));
const script = pathToFileURL(join(dir, 'fake-thread.mjs'));
writeFileSync(
  script,
  `import { parentPort, threadId } from 'node:worker_threads';
parentPort.on('message', ({ id, bytes }) => setTimeout(() => parentPort.postMessage({ kind: 'scores', id, tensors: 1, scores: { Drawing: threadId, Hentai: 0, Neutral: 0, Porn: 0, Sexy: 0 } }), bytes[0]));
parentPort.postMessage({ kind: 'ready', tensors: 1 });
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let pool: ClassifierPool | undefined;
afterEach(() => pool?.stop());

const signal = new AbortController().signal;
const picture = (delayMs: number): Uint8Array => Uint8Array.of(delayMs);

describe('the classifier pool', () => {
  it('spreads pictures over its threads, so a slow picture does not hold up the next', async () => {
    pool = new ClassifierPool({ threads: 2, script });
    await pool.start();
    const finished: string[] = [];
    const slow = pool.classify(picture(250), IMAGE_CHECK_DEFAULTS.maxPixels, signal).then((scores) => (finished.push('slow'), scores.Drawing));
    const quick = pool.classify(picture(0), IMAGE_CHECK_DEFAULTS.maxPixels, signal).then((scores) => (finished.push('quick'), scores.Drawing));
    const [slowThread, quickThread] = await Promise.all([slow, quick]);
    expect(finished).toEqual(['quick', 'slow']);
    expect(slowThread).not.toBe(quickThread);
    expect(pool.tensors).toBe(2);
    expect(pool.depth).toBe(0);
  });

  it('bounds the pictures waiting in all its threads together', async () => {
    // Not started: every picture waits for a model, one in each of the two threads; the third is one too many.
    pool = new ClassifierPool({ threads: 2, maxQueued: 2, script });
    const first = pool.classify(picture(0), IMAGE_CHECK_DEFAULTS.maxPixels, signal);
    const second = pool.classify(picture(0), IMAGE_CHECK_DEFAULTS.maxPixels, signal);
    await expect(pool.classify(picture(0), IMAGE_CHECK_DEFAULTS.maxPixels, signal)).rejects.toMatchObject({ reason: 'busy' });
    expect(pool.depth).toBe(2);
    const [one, two] = await Promise.all([first, second]);
    expect(one.Drawing).not.toBe(two.Drawing);
  });

  it('runs one thread per core, one to two by default, and takes a count from the environment', () => {
    expect([1, 2, 4, 64].map((cores) => defaultThreads(cores))).toEqual([1, 2, 2, 2]);
    expect(threadsFromEnv(undefined)).toBe(defaultThreads());
    expect(threadsFromEnv(' ')).toBe(defaultThreads());
    expect(threadsFromEnv('3')).toBe(3);
    for (const bad of ['0', '1.5', 'two', String(MAX_THREADS + 1)]) expect(() => threadsFromEnv(bad)).toThrow(`LIVEWALL_IMAGE_CHECK_THREADS must be a whole number from 1 to ${MAX_THREADS}, not "${bad}"`);
  });
});
