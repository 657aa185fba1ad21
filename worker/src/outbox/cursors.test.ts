import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCursors } from './cursors.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function file(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'livewall-cursors-'));
  dirs.push(dir);
  return join(dir, 'outbox.db');
}

describe('SqliteCursors', () => {
  it('gives back what was set at once, and after a reopen what was flushed or closed', async () => {
    const path = await file();
    const first = new SqliteCursors(path, 60_000);
    expect(first.get('replay:a')).toBeUndefined();
    first.set('replay:a', { pass: 1, line: 5 });
    first.set('replay:a', { pass: 1, line: 9 });
    expect(first.get('replay:a')).toEqual({ pass: 1, line: 9 });
    first.flush();
    first.set('replay:b', { pass: 2, line: 1 });
    // Another connection (a restarted worker) sees what was flushed, not what is pending.
    const other = new SqliteCursors(path, 60_000);
    expect(other.get('replay:a')).toEqual({ pass: 1, line: 9 });
    expect(other.get('replay:b')).toBeUndefined();
    other.close();
    first.close();
    const reopened = new SqliteCursors(path, 60_000);
    expect(reopened.get('replay:b')).toEqual({ pass: 2, line: 1 });
    reopened.close();
  });

  it('flushes by itself every flushMs', async () => {
    const path = await file();
    const cursors = new SqliteCursors(path, 20);
    cursors.set('k', 42);
    const other = new SqliteCursors(path, 60_000);
    await expect.poll(() => other.get('k'), { timeout: 2000 }).toBe(42);
    other.close();
    cursors.close();
  });
});
