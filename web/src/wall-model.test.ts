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

const ids = (model: WallModel): string[] => model.list().map((entry) => entry.id.replace('bluesky:post-', ''));

describe('WallModel', () => {
  it('shows the newest arrival first', () => {
    const model = new WallModel(10);
    for (const n of [1, 2, 3]) model.add(item(n));
    expect(ids(model)).toEqual(['3', '2', '1']);
  });

  it('orders by arrival, not by createdAt, for live items', () => {
    const model = new WallModel(10);
    model.add(item(5));
    model.add(item(1)); // an older post that arrived later still goes on top
    expect(ids(model)).toEqual(['1', '5']);
  });

  it('skips an id it already shows', () => {
    const model = new WallModel(10);
    expect(model.add(item(1))).toMatchObject({ added: true, evicted: [] });
    model.add(item(2));
    expect(model.add(item(1))).toEqual({ added: false, reason: 'duplicate' });
    expect(ids(model)).toEqual(['2', '1']);
    expect(model.size).toBe(2);
  });

  it('handles the broker’s replay after a reconnect: known items skipped, missed ones on top in order', () => {
    const model = new WallModel(10);
    for (const n of [1, 2, 3]) model.add(item(n));
    // The replay: the last items of the feed, oldest first, some of which the page already has.
    for (const n of [1, 2, 3, 4, 5]) model.add(item(n));
    expect(ids(model)).toEqual(['5', '4', '3', '2', '1']);
  });

  it('caps the wall, pushing the oldest off the bottom', () => {
    const model = new WallModel(3);
    for (const n of [1, 2, 3]) expect(model.add(item(n))).toMatchObject({ added: true, evicted: [] });
    const result = model.add(item(4));
    expect(result.added && result.evicted.map((entry) => entry.id)).toEqual(['bluesky:post-1']);
    expect(ids(model)).toEqual(['4', '3', '2']);
    expect(model.has('bluesky:post-1')).toBe(false);
  });

  it('does not bring back an item that was pushed off (a replay of older items)', () => {
    const model = new WallModel(2);
    for (const n of [1, 2, 3, 4]) model.add(item(n));
    for (const n of [1, 2, 3, 4]) expect(model.add(item(n)).added).toBe(false);
    expect(ids(model)).toEqual(['4', '3']);
  });

  it('forgets the oldest ids beyond seenLimit, never those on the wall', () => {
    const model = new WallModel(2, 3);
    for (const n of [1, 2, 3, 4, 5]) model.add(item(n));
    expect(ids(model)).toEqual(['5', '4']);
    expect(model.add(item(1)).added).toBe(true); // long forgotten
    expect(model.add(item(4)).added).toBe(false); // still known
    expect(model.add(item(5)).added).toBe(false);
  });

  it('refuses a nonsensical cap', () => {
    expect(() => new WallModel(0)).toThrow(/maxItems/);
    expect(() => new WallModel(1.5)).toThrow(/maxItems/);
  });
});
