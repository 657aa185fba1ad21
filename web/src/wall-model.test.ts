import type { FeedItem, ModerationAction, Network } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { BLOCKED_AUTHORS, HIDDEN_IDS, Takedowns, WallModel } from './wall-model.js';

function item(n: number, handle = 'alice.bsky.social', network: Network = 'bluesky'): FeedItem {
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, n)).toISOString();
  return {
    v: 1,
    id: `bluesky:post-${n}`,
    feed: 'cats',
    network,
    url: `https://bsky.app/profile/alice.bsky.social/post/${n}`,
    author: { handle, name: 'Alice' },
    text: `post ${n}`,
    images: [{ url: `https://cdn.bsky.app/full/${n}`, thumb: `https://cdn.bsky.app/thumb/${n}` }],
    createdAt: at,
    receivedAt: at,
    publishedAt: at,
  };
}

const short = (items: readonly FeedItem[]): string[] => items.map((entry) => entry.id.replace('bluesky:post-', ''));
const ids = (model: WallModel): string[] => short(model.list());

/** Offers each item and flushes after each: the wall when nothing holds it. */
function live(model: WallModel, ns: number[]): void {
  for (const n of ns) {
    model.offer(item(n));
    model.flush();
  }
}

describe('WallModel', () => {
  it('shows the newest arrival first', () => {
    const model = new WallModel(10);
    live(model, [1, 2, 3]);
    expect(ids(model)).toEqual(['3', '2', '1']);
  });

  it('orders by arrival, not by createdAt, for live items', () => {
    const model = new WallModel(10);
    live(model, [5, 1]); // an older post that arrived later still goes on top
    expect(ids(model)).toEqual(['1', '5']);
  });

  it('queues arrivals until a flush, which hands them over oldest first and puts the newest on top', () => {
    const model = new WallModel(10);
    live(model, [1]);
    for (const n of [2, 3, 4]) expect(model.offer(item(n))).toBe(true);
    expect(ids(model)).toEqual(['1']);
    expect(model.pendingCount).toBe(3);
    expect(model.newCount).toBe(3);
    const batch = model.flush();
    expect(short(batch.added)).toEqual(['2', '3', '4']);
    expect(batch.evicted).toEqual([]);
    expect(ids(model)).toEqual(['4', '3', '2', '1']);
    expect(model.pendingCount).toBe(0);
    expect(model.newCount).toBe(0);
    expect(model.flush()).toEqual({ added: [], evicted: [] });
  });

  it('skips an id it already shows or queues', () => {
    const model = new WallModel(10);
    live(model, [1, 2]);
    expect(model.offer(item(1))).toBe(false);
    expect(model.offer(item(3))).toBe(true);
    expect(model.offer(item(3))).toBe(false);
    expect(model.newCount).toBe(1);
    model.flush();
    expect(ids(model)).toEqual(['3', '2', '1']);
    expect(model.size).toBe(3);
  });

  it('handles the broker’s replay after a reconnect: known items skipped, missed ones on top in order', () => {
    const model = new WallModel(10);
    live(model, [1, 2, 3]);
    // The replay: the last items of the feed, oldest first, some of which the page already has.
    for (const n of [1, 2, 3, 4, 5]) model.offer(item(n));
    model.flush();
    expect(ids(model)).toEqual(['5', '4', '3', '2', '1']);
  });

  it('failing over to another edge: its 24-item backfill, ahead of or behind the first edge, adds only what was missed, once and in order', () => {
    const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const model = new WallModel(10);
    // Edge A delivered items 1–30 (the wall keeps 10: 1–20 were pushed off) and died.
    live(model, range(1, 30));
    // Edge B had received 31–33 from the core meanwhile: its backfill is the feed's last 24, 10–33, oldest first.
    const added: string[] = [];
    for (const n of range(10, 33)) if (model.offer(item(n))) added.push(String(n));
    expect(added).toEqual(['31', '32', '33']);
    model.flush();
    expect(ids(model)).toEqual(range(24, 33).reverse().map(String));
    // Back to edge A (restarted, its link to the core not yet caught up): its backfill 5–28 adds nothing.
    for (const n of range(5, 28)) expect(model.offer(item(n))).toBe(false);
    // Then a live item on A, and the same item again when the page is moved to B once more: shown once.
    expect(model.offer(item(34))).toBe(true);
    for (const n of range(11, 34)) expect(model.offer(item(n))).toBe(false);
    model.flush();
    expect(ids(model)).toEqual(range(25, 34).reverse().map(String));
  });

  it('caps the wall, pushing the oldest off the bottom', () => {
    const model = new WallModel(3);
    live(model, [1, 2, 3]);
    model.offer(item(4));
    expect(short(model.flush().evicted)).toEqual(['1']);
    expect(ids(model)).toEqual(['4', '3', '2']);
    expect(model.has('bluesky:post-1')).toBe(false);
  });

  it('bounds the queue by maxItems, keeping the newest and counting every arrival', () => {
    const model = new WallModel(3);
    live(model, [1, 2, 3]);
    for (const n of [4, 5, 6, 7, 8]) model.offer(item(n));
    expect(model.pendingCount).toBe(3);
    expect(model.newCount).toBe(5);
    const batch = model.flush();
    expect(short(batch.added)).toEqual(['6', '7', '8']);
    expect(short(batch.evicted)).toEqual(['3', '2', '1']);
    expect(ids(model)).toEqual(['8', '7', '6']);
    // Items dropped from the queue were seen: a replay does not bring them back.
    expect(model.offer(item(4))).toBe(false);
  });

  it('does not bring back an item that was pushed off (a replay of older items)', () => {
    const model = new WallModel(2);
    live(model, [1, 2, 3, 4]);
    for (const n of [1, 2, 3, 4]) expect(model.offer(item(n))).toBe(false);
    expect(ids(model)).toEqual(['4', '3']);
  });

  it('forgets the oldest ids beyond seenLimit, never those shown or queued', () => {
    const model = new WallModel(2, 3);
    live(model, [1, 2, 3, 4, 5]);
    model.offer(item(6));
    model.offer(item(7));
    model.offer(item(8));
    expect(ids(model)).toEqual(['5', '4']);
    expect(model.offer(item(1))).toBe(true); // long forgotten
    expect(model.offer(item(4))).toBe(false); // shown, though no longer among the last 3 seen
    expect(model.offer(item(8))).toBe(false); // queued
  });

  it('removes a shown item (a broken image) without forgetting its id', () => {
    const model = new WallModel(5);
    live(model, [1, 2, 3]);
    expect(model.remove('bluesky:post-2')).toBe(true);
    expect(model.remove('bluesky:post-2')).toBe(false);
    expect(ids(model)).toEqual(['3', '1']);
    expect(model.offer(item(2))).toBe(false);
  });

  it('refuses a nonsensical cap', () => {
    expect(() => new WallModel(0)).toThrow(/maxItems/);
    expect(() => new WallModel(1.5)).toThrow(/maxItems/);
  });
});

let actions = 0;
function action(kind: ModerationAction['action'], target: { n?: number; handle?: string; network?: Network }): ModerationAction {
  return {
    v: 1,
    kind: 'moderation',
    actionId: `action-${++actions}`,
    action: kind,
    feed: 'cats',
    ...(target.n !== undefined ? { itemId: `bluesky:post-${target.n}` } : {}),
    ...(target.handle !== undefined ? { author: { network: target.network ?? 'bluesky', handle: target.handle } } : {}),
    by: 'moderator',
    at: '2026-01-01T12:00:00.000Z',
  };
}
const hide = (n: number): ModerationAction => action('hide', { n });
const block = (handle: string, network?: Network): ModerationAction => action('block', { handle, ...(network ? { network } : {}) });

describe('WallModel takedowns', () => {
  it('hides a shown card and never shows its id again, not on a replay either', () => {
    const model = new WallModel(10);
    live(model, [1, 2, 3]);
    const removal = model.takedown(hide(2));
    expect(short(removal.shown)).toEqual(['2']);
    expect(removal.pending).toEqual([]);
    expect(ids(model)).toEqual(['3', '1']);
    expect(model.size).toBe(2);
    // The replay after a reconnect: the hidden one is refused, the others are duplicates.
    for (const n of [1, 2, 3]) expect(model.offer(item(n))).toBe(false);
    expect(model.newCount).toBe(0);
    // Long after it was forgotten as seen, it is still hidden.
    const small = new WallModel(2, 1);
    live(small, [1]);
    small.takedown(hide(1));
    live(small, [2, 3, 4]);
    expect(small.offer(item(1))).toBe(false);
  });

  it('hides a queued item: it never goes in, and the "N new" count drops by one', () => {
    const model = new WallModel(10);
    live(model, [1]);
    for (const n of [2, 3, 4]) model.offer(item(n));
    expect(model.newCount).toBe(3);
    const removal = model.takedown(hide(3));
    expect(removal.shown).toEqual([]);
    expect(short(removal.pending)).toEqual(['3']);
    expect(model.pendingCount).toBe(2);
    expect(model.newCount).toBe(2);
    expect(short(model.flush().added)).toEqual(['2', '4']);
    expect(ids(model)).toEqual(['4', '2', '1']);
  });

  it('applies a backfill in order: item, then its takedown, then later items, before anything is shown', () => {
    const model = new WallModel(10);
    model.offer(item(1));
    model.offer(item(2));
    model.takedown(hide(1));
    model.offer(item(3));
    expect(model.newCount).toBe(2);
    const batch = model.flush();
    expect(short(batch.added)).toEqual(['2', '3']);
    expect(ids(model)).toEqual(['3', '2']);
  });

  it('remembers a hide that came before its item', () => {
    const model = new WallModel(10);
    model.takedown(hide(5));
    expect(model.offer(item(5))).toBe(false);
    expect(model.pendingCount).toBe(0);
  });

  it('blocks an author: every card of theirs goes, shown and queued, and later ones are refused until an unblock', () => {
    const model = new WallModel(10);
    model.offer(item(1, 'bob.example'));
    model.offer(item(2));
    model.offer(item(3, 'bob.example'));
    model.flush();
    model.offer(item(4, 'Bob.Example'));
    model.offer(item(5));
    model.offer(item(6, 'bob.example', 'mastodon')); // another network's bob: not the same author
    expect(ids(model)).toEqual(['3', '2', '1']);

    const removal = model.takedown(block('@BOB.example'));
    expect(short(removal.shown)).toEqual(['3', '1']);
    expect(short(removal.pending)).toEqual(['4']);
    expect(model.newCount).toBe(2);
    expect(model.offer(item(7, 'bob.example'))).toBe(false);
    expect(short(model.flush().added)).toEqual(['5', '6']);
    expect(ids(model)).toEqual(['6', '5', '2']);

    // Unblock: later posts show; the cards taken off do not come back by themselves.
    expect(model.takedown(action('unblock', { handle: 'bob.example' }))).toEqual({ shown: [], pending: [] });
    expect(model.offer(item(8, 'bob.example'))).toBe(true);
    expect(model.offer(item(1, 'bob.example'))).toBe(false); // seen before it was blocked
    model.flush();
    expect(ids(model)).toEqual(['8', '6', '5', '2']);
  });

  it('forgets a hide with unhide: the item may be published again, a card taken off is not brought back', () => {
    const model = new WallModel(10);
    model.takedown(hide(1));
    expect(model.offer(item(1))).toBe(false);
    model.takedown(action('unhide', { n: 1 }));
    expect(model.takedowns.isHidden('bluesky:post-1')).toBe(false);
    // Refused while hidden, so not remembered as seen: published again, it shows.
    expect(model.offer(item(1))).toBe(true);
    live(model, [2]);
    model.takedown(hide(2));
    model.takedown(action('unhide', { n: 2 }));
    expect(model.offer(item(2))).toBe(false); // it was seen: a replay does not bring it back
    expect(ids(model)).toEqual(['1']);
  });

  it('ignores approve and reject', () => {
    const model = new WallModel(10);
    live(model, [1, 2]);
    expect(model.takedown(action('reject', { n: 1 }))).toEqual({ shown: [], pending: [] });
    expect(model.takedown(action('approve', { n: 2 }))).toEqual({ shown: [], pending: [] });
    expect(model.takedowns.hiddenCount).toBe(0);
    expect(ids(model)).toEqual(['2', '1']);
  });

  it('keeps the takedowns when the wall is emptied (a switch of feeds and back) if handed the same state', () => {
    const takedowns = new Takedowns();
    const first = new WallModel(10, undefined, takedowns);
    live(first, [1]);
    first.takedown(hide(1));
    first.takedown(block('bob.example'));
    const again = new WallModel(10, undefined, takedowns);
    expect(again.offer(item(1))).toBe(false);
    expect(again.offer(item(2, 'bob.example'))).toBe(false);
    expect(again.offer(item(3))).toBe(true);
  });
});

describe('Takedowns', () => {
  it('remembers at most its limits, forgetting the oldest; a repeated hide or block counts as the newest', () => {
    const takedowns = new Takedowns(3, 2);
    for (const n of [1, 2, 3]) takedowns.record(hide(n));
    takedowns.record(hide(1)); // 1 is the newest now
    takedowns.record(hide(4)); // 2 goes
    expect(['bluesky:post-1', 'bluesky:post-2', 'bluesky:post-3', 'bluesky:post-4'].map((id) => takedowns.isHidden(id))).toEqual([true, false, true, true]);
    expect(takedowns.hiddenCount).toBe(3);
    for (const handle of ['a', 'b', 'c']) takedowns.record(block(handle));
    expect(['a', 'b', 'c'].map((handle) => takedowns.isBlocked(`bluesky:${handle}`))).toEqual([false, true, true]);
    expect(takedowns.blockedCount).toBe(2);
  });

  it('stays within its default limits under a flood of takedowns', () => {
    const takedowns = new Takedowns();
    for (let n = 0; n < HIDDEN_IDS + 100; n++) takedowns.record(hide(n));
    for (let n = 0; n < BLOCKED_AUTHORS + 100; n++) takedowns.record(block(`author-${n}`));
    expect(takedowns.hiddenCount).toBe(HIDDEN_IDS);
    expect(takedowns.blockedCount).toBe(BLOCKED_AUTHORS);
    expect(takedowns.isHidden(`bluesky:post-${HIDDEN_IDS + 99}`)).toBe(true);
    expect(takedowns.isHidden('bluesky:post-99')).toBe(false);
  });

  it('says which actions are takedowns', () => {
    const takedowns = new Takedowns();
    expect(['hide', 'block', 'unhide', 'unblock', 'approve', 'reject'].map((kind) => takedowns.record(action(kind as ModerationAction['action'], kind.includes('block') ? { handle: 'x' } : { n: 1 })))).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
