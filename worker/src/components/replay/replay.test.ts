import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CursorStore } from '../../outbox/cursors.js';
import { endpointContext, recordingSink } from '../testing.js';
import { replayComponent } from './index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A recording of `count` events with a keep-alive (empty) line after every third. */
async function recording(count: number): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'livewall-replay-'));
  dirs.push(dir);
  const lines = Array.from({ length: count }, (_, index) => `{"n":${index + 1}}${(index + 1) % 3 === 0 ? '\n' : ''}`);
  await writeFile(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
  return { dir, file: join(dir, 'events.ndjson') };
}

function memoryCursors(): CursorStore & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return { values, get: (key) => values.get(key), set: (key, value) => void values.set(key, value), close: () => undefined };
}

async function play(dir: string, cursors: CursorStore | undefined, holdSettlement = false) {
  const consumer = replayComponent.createConsumer!(endpointContext(replayComponent, 'replay:events.ndjson', { baseDir: dir, settings: cursors ? { cursors } : {} }));
  const sink = recordingSink({ holdSettlement });
  await consumer.run(sink, new AbortController().signal);
  return sink;
}

const bodies = (sink: { offers: { body: unknown }[] }) => sink.offers.map((offer) => JSON.parse(String(offer.body)).n as number);

describe('replay: keeping its place in the outbox file', () => {
  it('commits the place only as far as every line before it was dealt with, and a restart goes on after it', async () => {
    const { dir, file } = await recording(8);
    const cursors = memoryCursors();
    const first = await play(dir, cursors, true);
    expect(bodies(first)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(cursors.values.size).toBe(0);
    // Lines 1 to 4 reached the outbox, 6 did too, 5 did not (the worker died with it in a queue).
    for (const index of [0, 1, 2, 3, 5]) first.held[index]?.();
    // {"n":4} is on line 5 of the file: the keep-alive after 3 is line 4.
    expect(cursors.values.get(`replay:${file}`)).toEqual({ pass: 1, line: 5 });

    const second = await play(dir, cursors);
    expect(bodies(second)).toEqual([5, 6, 7, 8]);
    expect(second.offers[0]?.headers).toMatchObject({ pass: 1, line: 6 });
  });

  it('plays from the top without a cursor store (no outbox)', async () => {
    const { dir } = await recording(3);
    expect(bodies(await play(dir, undefined))).toEqual([1, 2, 3]);
    expect(bodies(await play(dir, undefined))).toEqual([1, 2, 3]);
  });
});
