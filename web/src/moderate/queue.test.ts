import type { FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { imageCheckSummary, imageRisk, PendingQueue, UNDO_DEPTH, type PendingEntry } from './queue.js';

const item = (n: number): FeedItem => ({
  v: 1,
  id: `bluesky:${n}`,
  feed: 'cats',
  network: 'bluesky',
  url: `https://bsky.app/profile/alice.bsky.social/post/${n}`,
  author: { handle: 'alice.bsky.social' },
  text: `post ${n}`,
  images: [{ url: 'https://cdn.bsky.app/full', thumb: 'https://cdn.bsky.app/thumb' }],
  createdAt: '2026-01-01T12:00:00.000Z',
  receivedAt: '2026-01-01T12:00:00.000Z',
  publishedAt: '2026-01-01T12:00:00.000Z',
});
const entry = (n: number): PendingEntry<string> => ({ key: `ack-${n}`, item: item(n), handle: `message ${n}` });
const ids = (entries: PendingEntry<string>[]): string[] => entries.map((held) => held.item.id);

function filled(count: number): PendingQueue<string> {
  const queue = new PendingQueue<string>();
  for (let n = 1; n <= count; n++) queue.add(entry(n));
  return queue;
}

describe('PendingQueue', () => {
  it('keeps deliveries in the order they came, once each, the first one current', () => {
    const queue = filled(3);
    expect(queue.add(entry(2))).toBe(false);
    expect(ids(queue.waiting)).toEqual(['bluesky:1', 'bluesky:2', 'bluesky:3']);
    expect(queue.current?.key).toBe('ack-1');
    expect(queue.last).toBeUndefined();
  });

  it('skips past the current post, keeps it held after the others, and an undo makes it current again', () => {
    const queue = filled(3);
    expect(queue.skip()?.key).toBe('ack-1');
    expect(queue.current?.key).toBe('ack-2');
    expect(ids(queue.waiting)).toEqual(['bluesky:2', 'bluesky:3']);
    expect(ids(queue.held)).toEqual(['bluesky:1']);
    expect(queue.isSkipped('ack-1')).toBe(true);
    expect(queue.undo()).toEqual({ kind: 'skip', entry: entry(1) });
    expect(queue.current?.key).toBe('ack-1');
    expect(queue.held).toEqual([]);
  });

  it('has no current post once every one held is skipped', () => {
    const queue = filled(2);
    queue.skip();
    queue.skip();
    expect(queue.current).toBeUndefined();
    expect(queue.skip()).toBeUndefined();
    expect(ids(queue.held)).toEqual(['bluesky:1', 'bluesky:2']);
  });

  it('takes a settled post off and hands its decision back on undo, for the broker to undo; restore puts it back', () => {
    const queue = filled(2);
    queue.settle('ack-1', { kind: 'approve', item: item(1) });
    queue.settle('ack-2', { kind: 'reject', item: item(2), reason: 'spam' });
    expect(queue.waiting).toEqual([]);
    const undone = queue.undo();
    expect(undone).toEqual({ kind: 'reject', item: item(2), reason: 'spam' });
    // The undo failed on the broker: it can be tried again.
    queue.restore(undone!);
    expect(queue.last).toEqual(undone);
    expect(queue.undo()).toEqual(undone);
    expect(queue.undo()).toEqual({ kind: 'approve', item: item(1) });
    expect(queue.undo()).toBeUndefined();
    // Undoing a decision puts nothing back here: the post comes back from the broker, if at all.
    expect(queue.waiting).toEqual([]);
  });

  it('drops an invalid delivery without a decision to undo', () => {
    const queue = filled(2);
    queue.drop('ack-1');
    expect(ids(queue.waiting)).toEqual(['bluesky:2']);
    expect(queue.last).toBeUndefined();
  });

  it('lets go of everything held when the connection ends, keeping the decisions and forgetting the skips', () => {
    const queue = filled(3);
    queue.settle('ack-1', { kind: 'approve', item: item(1) });
    queue.skip();
    queue.clear();
    expect(queue.waiting).toEqual([]);
    expect(queue.held).toEqual([]);
    expect(queue.undo()).toEqual({ kind: 'approve', item: item(1) });
    expect(queue.undo()).toBeUndefined();
    // The same delivery keys may come again on the next connection.
    expect(queue.add(entry(2))).toBe(true);
  });

  it(`remembers the last ${UNDO_DEPTH} decisions`, () => {
    const queue = filled(UNDO_DEPTH + 5);
    for (let n = 1; n <= UNDO_DEPTH + 5; n++) queue.settle(`ack-${n}`, { kind: 'approve', item: item(n) });
    let undone = 0;
    while (queue.undo()) undone += 1;
    expect(undone).toBe(UNDO_DEPTH);
  });

  it('puts the riskiest post by the image check first, the others in delivery order, and says what the check found', () => {
    const scored = (n: number, porn: number, sexy = 0, flagged?: 'Porn'): PendingEntry<string> => ({
      ...entry(n),
      item: { ...item(n), imageCheck: { scores: [{ Drawing: 0, Hentai: 0, Neutral: 1 - porn - sexy, Porn: porn, Sexy: sexy }], ...(flagged ? { flagged } : {}) } },
    });
    const queue = new PendingQueue<string>();
    queue.add(entry(1));
    queue.add(scored(2, 0.1));
    queue.add(scored(3, 0.93, 0.04, 'Porn'));
    queue.add(scored(4, 0, 0.5));
    queue.add(entry(5));
    expect(ids(queue.waiting)).toEqual(['bluesky:3', 'bluesky:4', 'bluesky:2', 'bluesky:1', 'bluesky:5']);
    expect(queue.current?.item.id).toBe('bluesky:3');
    queue.skip();
    expect(queue.current?.item.id).toBe('bluesky:4');
    expect(imageRisk(scored(3, 0.93).item)).toBe(0.93);
    expect(imageRisk(item(1))).toBe(0);
    expect(imageCheckSummary(scored(3, 0.93, 0.04, 'Porn').item)).toBe('Image check: flagged Porn · Porn 93 % · Sexy 4 % · Hentai 0 %');
    expect(imageCheckSummary(scored(4, 0, 0.5).item)).toBe('Image check: passed · Sexy 50 % · Porn 0 % · Hentai 0 %');
    expect(imageCheckSummary(item(1))).toBeUndefined();
  });
});
