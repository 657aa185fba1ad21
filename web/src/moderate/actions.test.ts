import { ImageAllowList, validateModerationAction, type FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { approvedItem, claimedItemId, decision, moderationAction, type ActionClock } from './actions.js';

const clock: ActionClock = { now: () => new Date('2026-03-01T10:00:00.000Z'), id: () => '0b8e4a7c-1d2e-4f3a-9b8c-7d6e5f4a3b2c' };
const allowList = new ImageAllowList(['cdn.bsky.app']);
const item: FeedItem = {
  v: 1,
  id: 'bluesky:3kabc',
  feed: 'cats',
  network: 'bluesky',
  url: 'https://bsky.app/profile/alice.bsky.social/post/3kabc',
  author: { handle: 'Alice.bsky.social', name: 'Alice' },
  text: 'a cat',
  images: [{ url: 'https://cdn.bsky.app/full/1', thumb: 'https://cdn.bsky.app/thumb/1' }],
  createdAt: '2026-03-01T09:59:00.000Z',
  receivedAt: '2026-03-01T09:59:01.000Z',
  publishedAt: '2026-03-01T09:59:01.000Z',
};

describe('moderationAction', () => {
  it('makes a v1 action the contract accepts: who, what, when, why', () => {
    const action = moderationAction({ action: 'hide', feed: 'cats', itemId: item.id, by: 'moderator', reason: '  spam\nand  more ' }, clock);
    expect(action).toEqual({
      v: 1,
      kind: 'moderation',
      actionId: '0b8e4a7c-1d2e-4f3a-9b8c-7d6e5f4a3b2c',
      action: 'hide',
      feed: 'cats',
      itemId: 'bluesky:3kabc',
      by: 'moderator',
      at: '2026-03-01T10:00:00.000Z',
      reason: 'spam and more',
    });
    expect(validateModerationAction(action).ok).toBe(true);
  });

  it('leaves a blank reason out and cuts a long one to the contract’s 200 characters', () => {
    expect(moderationAction({ action: 'hide', feed: 'cats', itemId: item.id, by: 'moderator', reason: '   ' }, clock)).not.toHaveProperty('reason');
    expect(moderationAction({ action: 'hide', feed: 'cats', itemId: item.id, by: 'moderator', reason: '🐈'.repeat(300) }, clock).reason).toBe('🐈'.repeat(200));
  });

  it('names a blocked author without the @', () => {
    expect(moderationAction({ action: 'block', feed: 'cats', author: { network: 'x', handle: '@Spammer' }, by: 'moderator' }, clock).author).toEqual({ network: 'x', handle: 'Spammer' });
  });

  it('refuses what would not be a valid action, with the validator’s reason', () => {
    expect(() => moderationAction({ action: 'hide', feed: 'cats', by: 'moderator' }, clock)).toThrow('cannot hide: a hide names an itemId');
    expect(() => moderationAction({ action: 'reject', feed: 'cats', itemId: item.id, by: 'moderator', reason: '<b>no</b>' }, clock)).toThrow('cannot reject: reason contains markup');
  });

  it('uses a fresh random UUID for each action by default', () => {
    const [one, two] = [1, 2].map(() => moderationAction({ action: 'hide', feed: 'cats', itemId: item.id, by: 'moderator' }));
    expect(one!.actionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(one!.actionId).not.toBe(two!.actionId);
  });
});

describe('decision', () => {
  it('records the post and its author', () => {
    expect(decision('reject', item, 'moderator', 'off topic', clock)).toMatchObject({ action: 'reject', feed: 'cats', itemId: item.id, author: { network: 'bluesky', handle: 'Alice.bsky.social' }, reason: 'off topic' });
  });

  it('records the post alone when its handle cannot name an author', () => {
    const spaced = { ...item, author: { handle: 'alice smith' } };
    const action = decision('approve', spaced, 'moderator', undefined, clock);
    expect(action).not.toHaveProperty('author');
    expect(action.itemId).toBe(item.id);
  });
});

describe('approvedItem', () => {
  it('is the post, published now', () => {
    expect(approvedItem(item, allowList, new Date('2026-03-01T10:00:00.000Z'))).toEqual({ ...item, publishedAt: '2026-03-01T10:00:00.000Z' });
  });

  it('goes without the image check scores it waited with', () => {
    const scores = { Drawing: 0, Hentai: 0, Neutral: 0.2, Porn: 0.8, Sexy: 0 };
    const waited: FeedItem = { ...item, imageCheck: { scores: item.images.map(() => scores), flagged: 'Porn' } };
    expect(approvedItem(waited, allowList, new Date('2026-03-01T10:00:00.000Z'))).toEqual({ ...item, publishedAt: '2026-03-01T10:00:00.000Z' });
  });

  it('refuses a post that the validator does not accept', () => {
    expect(() => approvedItem(item, new ImageAllowList(['pbs.twimg.com']))).toThrow(/^the approved post is not valid: /);
  });
});

describe('claimedItemId', () => {
  it('is the id an invalid message gives, if a moderation action may name it', () => {
    expect(claimedItemId(new TextEncoder().encode(JSON.stringify({ id: 'x:123', images: 'nope' })))).toBe('x:123');
    expect(claimedItemId('{"id":"mastodon:1@example.social"}')).toBe('mastodon:1@example.social');
  });

  it.each([['not json'], ['[1]'], ['{"id":7}'], ['{"id":"nonetwork"}'], ['{"id":"myspace:1"}'], ['{"id":"x:has space"}'], [`{"id":"x:${'1'.repeat(300)}"}`]])('is undefined for %s', (body) => {
    expect(claimedItemId(body)).toBeUndefined();
  });

  it('is undefined for bytes that are not UTF-8', () => {
    expect(claimedItemId(new Uint8Array([0x7b, 0xff, 0x7d]))).toBeUndefined();
  });
});
