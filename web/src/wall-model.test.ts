import type { FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { WallModel } from './wall-model.js';

function item(n: number): FeedItem {
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, n)).toISOString();
  return {
    v: 1,
    id: `bluesky:post-${n}`,
    feed: 'cats',
    network: 'bluesky',
    url: `https://bsky.app/profile/alice.bsky.social/post/${n}`,
    author: { handle: 'alice.bsky.social', name: 'Alice' },
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
