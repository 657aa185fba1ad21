import type { FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { Spotlight } from './spotlight.js';

const item = (n: number): FeedItem =>
  ({ v: 1, id: `bluesky:${n}`, feed: 'cats', network: 'bluesky', url: 'https://bsky.app/x', author: { handle: 'a.bsky.social' }, text: '', images: [], createdAt: '', receivedAt: '', publishedAt: '' }) as FeedItem;

const timings = { highlightMs: 5_000, quietMs: 20_000 };
/** A seeded source for the shuffle (a linear congruential generator): the same order on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('Spotlight', () => {
  it('shows a live arrival as new for highlightMs, then nothing while the feed is not yet quiet', () => {
    const spotlight = new Spotlight(timings, 0);
    const wall = [item(1)];
    expect(spotlight.at(0, wall)).toBeUndefined();
    spotlight.arrived(wall, 1_000, true);
    expect(spotlight.at(1_000, wall)).toMatchObject({ item: { id: 'bluesky:1' }, kind: 'new', until: 6_000 });
    expect(spotlight.wake(1_000)).toBe(6_000);
    expect(spotlight.at(5_999, wall)?.item.id).toBe('bluesky:1');
    expect(spotlight.at(6_000, wall)).toBeUndefined();
    // Quiet from the arrival's time on.
    expect(spotlight.wake(6_000)).toBe(21_000);
  });

  it('rotates to the newest of what arrived during a slot, skipping the ones in between', () => {
    const spotlight = new Spotlight(timings, 0);
    let wall = [item(1)];
    spotlight.arrived(wall, 0, true);
    expect(spotlight.at(0, wall)?.item.id).toBe('bluesky:1');
    wall = [item(3), item(2), item(1)];
    spotlight.arrived([item(2)], 1_000, true);
    spotlight.arrived([item(3)], 2_000, true);
    // The slot runs to its end: a new arrival does not cut a new post's time short.
    expect(spotlight.at(2_000, wall)?.item.id).toBe('bluesky:1');
    expect(spotlight.at(5_000, wall)).toMatchObject({ item: { id: 'bluesky:3' }, kind: 'new' });
    expect(spotlight.at(10_000, wall)).toBeUndefined();
  });

  it('never shows a backfill or a restored wall as new, but counts it as activity', () => {
    const spotlight = new Spotlight(timings, 0);
    const wall = [item(2), item(1)];
    spotlight.arrived(wall, 10_000, false);
    expect(spotlight.at(10_000, wall)).toBeUndefined();
    expect(spotlight.isQuiet(29_999)).toBe(false);
    expect(spotlight.isQuiet(30_000)).toBe(true);
  });

  it('on a quiet feed shows every earlier post once, marked earlier, before any repeats, and never one twice in a row', () => {
    const spotlight = new Spotlight(timings, 0, seeded(7));
    const wall = [5, 4, 3, 2, 1].map(item);
    const shown: string[] = [];
    let now = 20_000;
    for (let slot = 0; slot < 15; slot++, now += 5_000) {
      const spot = spotlight.at(now, wall);
      expect(spot?.kind).toBe('earlier');
      shown.push(spot!.item.id);
    }
    for (let round = 0; round < 3; round++) expect(new Set(shown.slice(round * 5, round * 5 + 5)).size).toBe(5);
    for (let index = 1; index < shown.length; index++) expect(shown[index]).not.toBe(shown[index - 1]);
  });

  it('ends an earlier post’s slot at once when a new post arrives, and goes back to the shuffle once quiet again', () => {
    const spotlight = new Spotlight(timings, 0, seeded(1));
    const wall = [item(2), item(1)];
    expect(spotlight.at(20_000, wall)?.kind).toBe('earlier');
    const newer = [item(3), ...wall];
    spotlight.arrived([item(3)], 21_000, true);
    expect(spotlight.at(21_000, newer)).toMatchObject({ item: { id: 'bluesky:3' }, kind: 'new' });
    expect(spotlight.at(26_000, newer)).toBeUndefined();
    expect(spotlight.at(41_000, newer)?.kind).toBe('earlier');
  });

  it('drops a post that left the wall (a takedown) from the spotlight and the shuffle', () => {
    const spotlight = new Spotlight(timings, 0, seeded(3));
    spotlight.arrived([item(1)], 0, true);
    expect(spotlight.at(0, [item(1)])?.item.id).toBe('bluesky:1');
    expect(spotlight.at(100, [])).toBeUndefined();
    // Quiet with one post left, which was just shown: nothing to shuffle; with one other, that one.
    expect(spotlight.at(30_000, [item(2)])?.item.id).toBe('bluesky:2');
    expect(spotlight.at(35_000, [item(2)])).toBeUndefined();
  });
});
