import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModerationAction } from '@livewall/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { Takedowns } from './takedowns.js';

let serial = 0;
function action(fields: Partial<ModerationAction> & Pick<ModerationAction, 'action' | 'feed'>): ModerationAction {
  serial += 1;
  return { v: 1, kind: 'moderation', actionId: `a-${serial}`, by: 'moderator', at: '2026-12-07T18:00:00.000Z', ...fields };
}
const item = (id: string, handle: string) => ({ id, network: 'x' as const, author: { handle } });

describe('Takedowns', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('applies the log in order: hide and unhide an item, block and unblock an author, per feed', () => {
    const takedowns = new Takedowns();
    expect(takedowns.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:1' }))).toBe(true);
    expect(takedowns.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:1' }))).toBe(false);
    expect(takedowns.apply(action({ action: 'block', feed: 'cats', author: { network: 'x', handle: '@Spammer' } }))).toBe(true);
    expect(takedowns.verdict('cats', item('x:1', 'alice'))).toBe('hidden');
    // Handles compare without the @ and in any case, as authorKey makes them.
    expect(takedowns.verdict('cats', item('x:2', 'SPAMMER'))).toBe('blocked-author');
    expect(takedowns.verdict('cats', item('x:3', 'alice'))).toBeUndefined();
    // Another feed's takedowns are its own.
    expect(takedowns.verdict('dogs', item('x:1', 'spammer'))).toBeUndefined();
    expect(takedowns.of('cats')).toEqual({ hidden: ['x:1'], blockedAuthors: ['x:spammer'] });
    // approve and reject change nothing.
    expect(takedowns.apply(action({ action: 'approve', feed: 'cats', itemId: 'x:9' }))).toBe(false);
    expect(takedowns.apply(action({ action: 'unhide', feed: 'cats', itemId: 'x:1' }))).toBe(true);
    expect(takedowns.apply(action({ action: 'unblock', feed: 'cats', author: { network: 'x', handle: 'spammer' } }))).toBe(true);
    expect(takedowns.verdict('cats', item('x:1', 'spammer'))).toBeUndefined();
    expect(takedowns.any('cats')).toBe(false);
    expect(takedowns.feeds()).toEqual([]);
  });

  it('reading the whole log again ends in the same state', () => {
    const log = [
      action({ action: 'hide', feed: 'cats', itemId: 'x:1' }),
      action({ action: 'hide', feed: 'cats', itemId: 'x:2' }),
      action({ action: 'unhide', feed: 'cats', itemId: 'x:1' }),
      action({ action: 'block', feed: 'cats', author: { network: 'bluesky', handle: 'troll.bsky.social' } }),
    ];
    const takedowns = new Takedowns();
    for (const entry of log) takedowns.apply(entry);
    const once = takedowns.of('cats');
    for (const entry of log) takedowns.apply(entry);
    expect(takedowns.of('cats')).toEqual(once);
    expect(once).toEqual({ hidden: ['x:2'], blockedAuthors: ['bluesky:troll.bsky.social'] });
  });

  it('keeps its state in the SQLite file: a worker started without the broker still knows earlier takedowns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'livewall-takedowns-'));
    dirs.push(dir);
    const file = join(dir, 'outbox.db');
    const first = new Takedowns(file);
    first.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:1' }));
    first.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:2' }));
    first.apply(action({ action: 'unhide', feed: 'cats', itemId: 'x:2' }));
    first.apply(action({ action: 'block', feed: 'dogs', author: { network: 'mastodon', handle: 'bob@example.social' } }));
    first.close();
    const again = new Takedowns(file);
    expect(again.of('cats')).toEqual({ hidden: ['x:1'], blockedAuthors: [] });
    expect(again.of('dogs')).toEqual({ hidden: [], blockedAuthors: ['mastodon:bob@example.social'] });
    expect(again.feeds()).toEqual(['cats', 'dogs']);
    again.close();
  });
});
