import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';
import { recentlyPut } from './recent.js';

/** The built module, compiled from the sources by test/build-setup.ts: the child process is plain Node. */
const BUILT = fileURLToPath(new URL('../../dist/outbox/outbox.js', import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-outbox-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('Outbox', () => {
  it('hands messages out in the order they came, and forgets the ones removed', () => {
    const outbox = new Outbox({ file: ':memory:', maxItems: 100, maxAgeMs: 60_000 });
    const seqs = ['a', 'b', 'c', 'd'].map((id) => outbox.put(`/topic/feed.${id === 'c' ? 'dogs' : 'cats'}`, id, `{"id":"${id}"}`));
    expect(outbox.after(0, 10).map((entry) => [entry.messageId, entry.address])).toEqual([
      ['a', '/topic/feed.cats'],
      ['b', '/topic/feed.cats'],
      ['c', '/topic/feed.dogs'],
      ['d', '/topic/feed.cats'],
    ]);
    expect(outbox.after(seqs[1] as number, 1).map((entry) => entry.messageId)).toEqual(['c']);
    outbox.remove(seqs[0] as number);
    outbox.remove(seqs[2] as number);
    outbox.remove(seqs[2] as number);
    expect(outbox.depth).toBe(2);
    expect(outbox.after(0, 10).map((entry) => entry.body)).toEqual(['{"id":"b"}', '{"id":"d"}']);
    outbox.close();
  });

  it('drops the oldest past maxItems and what is older than maxAge, and counts both', () => {
    let now = 1_000_000;
    const outbox = new Outbox({ file: ':memory:', maxItems: 3, maxAgeMs: 10_000, now: () => now });
    for (const id of ['1', '2', '3', '4', '5']) {
      outbox.put('/topic/feed.cats', id, id);
      now += 1000;
    }
    expect(outbox.after(0, 10).map((entry) => entry.messageId)).toEqual(['3', '4', '5']);
    expect(outbox.stats()).toEqual({ depth: 3, oldestAgeMs: 3000, droppedFull: 2, droppedExpired: 0 });
    now += 7_500;
    expect(outbox.expire()).toBe(1);
    expect(outbox.stats()).toEqual({ depth: 2, oldestAgeMs: 9500, droppedFull: 2, droppedExpired: 1 });
    outbox.close();
  });

  it('keeps every message put before a kill -9 of its process, and its id', async () => {
    const file = join(dir, 'killed.db');
    const script = `
      const { Outbox } = await import(${JSON.stringify(BUILT)});
      const outbox = new Outbox({ file: ${JSON.stringify(file)}, maxItems: 100000, maxAgeMs: 3600000 });
      for (let i = 1; i <= 500; i++) outbox.put('/topic/feed.cats', 'id-' + i, '{}');
      process.kill(process.pid, 'SIGKILL');`;
    const signal = await new Promise<string | null>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script]);
      child.on('exit', (_code, killed) => resolve(killed));
    });
    expect(signal).toBe('SIGKILL');
    const reopened = new Outbox({ file, maxItems: 100_000, maxAgeMs: 3_600_000 });
    const entries = reopened.after(0, 1000);
    expect(entries).toHaveLength(500);
    expect(entries.map((entry) => entry.messageId)).toEqual(Array.from({ length: 500 }, (_, i) => `id-${i + 1}`));
    expect(reopened.depth).toBe(500);
    reopened.close();
    expect(recentlyPut(file, '/topic/feed.cats', 10_000)).toEqual(entries.map((entry) => entry.messageId));
  });

  it('remembers the ids put lately per address, after they left for the broker and across a reopen', () => {
    const file = join(dir, 'recent.db');
    const outbox = new Outbox({ file, maxItems: 100, maxAgeMs: 60_000 });
    for (const id of ['a', 'b', 'c']) outbox.remove(outbox.put('/topic/feed.cats', id, '{}'));
    outbox.put('/topic/feed.dogs', 'd', '{}');
    expect(outbox.depth).toBe(1);
    expect(outbox.recentIds('/topic/feed.cats', 10)).toEqual(['a', 'b', 'c']);
    expect(outbox.recentIds('/topic/feed.cats', 2)).toEqual(['b', 'c']);
    outbox.close();
    expect(recentlyPut(file, '/topic/feed.cats', 10)).toEqual(['a', 'b', 'c']);
    expect(recentlyPut(file, '/topic/feed.dogs', 10)).toEqual(['d']);
    expect(recentlyPut(file, '/topic/feed.birds', 10)).toEqual([]);
    expect(recentlyPut(join(dir, 'none-yet.db'), '/topic/feed.cats', 10)).toEqual([]);
    const reopened = new Outbox({ file, maxItems: 100, maxAgeMs: 60_000 });
    expect(reopened.recentIds('/topic/feed.cats', 10)).toEqual(['a', 'b', 'c']);
    reopened.close();
  });

  it('keeps the newest recentPerAddress ids of each address, none older than maxAge', () => {
    let now = 1_000_000;
    const outbox = new Outbox({ file: ':memory:', maxItems: 100, maxAgeMs: 10_000, recentPerAddress: 3, now: () => now });
    for (let i = 1; i <= 5; i++) {
      outbox.remove(outbox.put('/topic/feed.cats', `cat-${i}`, '{}'));
      now += 1000;
    }
    outbox.remove(outbox.put('/topic/feed.dogs', 'dog-1', '{}'));
    outbox.expire();
    expect(outbox.recentIds('/topic/feed.cats', 10)).toEqual(['cat-3', 'cat-4', 'cat-5']);
    expect(outbox.recentIds('/topic/feed.dogs', 10)).toEqual(['dog-1']);
    now += 7_500;
    outbox.expire();
    expect(outbox.recentIds('/topic/feed.cats', 10)).toEqual(['cat-4', 'cat-5']);
    expect(outbox.recentIds('/topic/feed.dogs', 10)).toEqual(['dog-1']);
    outbox.close();
  });

});
