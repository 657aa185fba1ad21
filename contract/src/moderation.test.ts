import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_HOSTS, ImageAllowList } from './image-hosts.js';
import { authorKey, itemAuthorKey, MODERATION_LIMITS, parseFeedMessage, parseModerationAction, validateModerationAction } from './moderation.js';
import { BROKER_PROFILES } from './profiles.js';

const hosts = new ImageAllowList(DEFAULT_IMAGE_HOSTS);

function hide(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const action: Record<string, unknown> = {
    v: 1,
    kind: 'moderation',
    actionId: '0b6c1f0e-5d1c-4a55-9d0e-3f1f8b7a2c11',
    action: 'hide',
    feed: 'cats',
    itemId: 'x:2116862840200253479',
    by: 'moderator',
    at: '2026-12-07T18:00:00.000Z',
    reason: 'spam',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete action[key];
    else action[key] = value;
  }
  return action;
}

const item = {
  v: 1,
  id: 'x:2116862840200253479',
  feed: 'cats',
  network: 'x',
  url: 'https://x.com/midnightzoomies/status/2116862840200253479',
  author: { handle: 'midnightzoomies' },
  text: 'Cat logic.',
  images: [{ url: 'https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png', thumb: 'https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png?name=small' }],
  createdAt: '2026-11-01T12:00:05.000Z',
  receivedAt: '2026-11-01T12:00:05.120Z',
  publishedAt: '2026-11-01T12:00:05.131Z',
};

describe('moderation messages', () => {
  it('accepts a hide, a block and an approval with their required fields', () => {
    expect(validateModerationAction(hide())).toMatchObject({ ok: true, action: { action: 'hide', itemId: 'x:2116862840200253479' } });
    const block = hide({ action: 'block', itemId: undefined, author: { network: 'bluesky', handle: 'alice.bsky.social' } });
    expect(validateModerationAction(block)).toMatchObject({ ok: true, action: { action: 'block', author: { network: 'bluesky', handle: 'alice.bsky.social' } } });
    expect(validateModerationAction(hide({ action: 'approve', author: { network: 'x', handle: 'midnightzoomies' } })).ok).toBe(true);
  });

  it.each([
    ['an unknown field', hide({ text: 'x' }), 'moderation has unknown field "text"'],
    ['another version', hide({ v: 2 }), 'v must be 1'],
    ['an unknown action', hide({ action: 'delete' }), 'action must be one of'],
    ['a hide without an item', hide({ itemId: undefined }), 'a hide names an itemId'],
    ['a block without an author', hide({ action: 'block', itemId: undefined }), 'a block names an author'],
    ['a block that names an item', hide({ action: 'block', author: { network: 'x', handle: 'a' } }), 'names an author, not an itemId'],
    ['an item id of another network', hide({ itemId: 'myspace:1' }), 'itemId must start with one of'],
    ['an author with extra fields', hide({ action: 'block', itemId: undefined, author: { network: 'x', handle: 'a', id: '1' } }), 'author has unknown field "id"'],
    ['markup in the reason', hide({ reason: '<img src=x onerror=alert(1)>' }), 'reason contains markup'],
    ['no moderator', hide({ by: '' }), 'by must not be empty'],
    ['a bad time', hide({ at: 'yesterday' }), 'at must be an ISO-8601'],
    ['a feed name with a dot', hide({ feed: 'cats.dogs' }), 'feed must match'],
  ])('refuses %s', (_what, value, reason) => {
    const result = validateModerationAction(value);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('tells an item from an action by the top-level kind alone', () => {
    expect(parseFeedMessage(JSON.stringify(item), hosts)).toMatchObject({ ok: true, item: { id: 'x:2116862840200253479' } });
    expect(parseFeedMessage(JSON.stringify(hide()), hosts)).toMatchObject({ ok: true, action: { action: 'hide' } });
  });

  it('never takes a takedown hidden in an item for one', () => {
    // A takedown's fields written into an item's text, alt text, author or an extra field: an item, or nothing.
    const forged = [
      { ...item, text: JSON.stringify(hide()) },
      { ...item, author: { handle: 'midnightzoomies', name: '{"kind":"moderation","action":"hide"}' } },
      { ...item, kind: 'moderation' },
      { ...item, action: 'hide', itemId: 'x:1' },
      { ...hide(), ...item },
    ];
    for (const value of forged) {
      const result = parseFeedMessage(JSON.stringify(value), hosts);
      expect(result.ok && result.action !== undefined).toBe(false);
    }
  });

  it('refuses any mix of item and action fields (property)', () => {
    const itemKeys = Object.keys(item);
    fc.assert(
      fc.property(fc.subarray(itemKeys, { minLength: 1 }), (keys) => {
        const mixed = { ...hide(), ...Object.fromEntries(keys.map((key) => [key, item[key as keyof typeof item]])) };
        // `v` and `feed` belong to both; any other item field makes the action invalid.
        const onlyShared = keys.every((key) => key === 'v' || key === 'feed');
        expect(parseFeedMessage(JSON.stringify(mixed), hosts).ok).toBe(onlyShared);
      }),
    );
  });

  it('bounds the size of an action', () => {
    const long = JSON.stringify(hide()) + ' '.repeat(MODERATION_LIMITS.messageBytes);
    expect(parseModerationAction(long)).toMatchObject({ ok: false, reason: expect.stringContaining('longer than') });
    expect(parseFeedMessage(long, hosts)).toMatchObject({ ok: false, reason: expect.stringContaining('more than') });
  });

  it('compares authors without case or a leading @', () => {
    expect(authorKey('x', '@MidnightZoomies')).toBe(itemAuthorKey({ network: 'x', author: { handle: 'midnightzoomies' } }));
    expect(authorKey('x', 'a')).not.toBe(authorKey('bluesky', 'a'));
  });

  it('names where moderation travels on each broker', () => {
    expect(BROKER_PROFILES.artemis.moderation.pendingAmqpTarget('cats')).toBe('/queue/pending.cats');
    expect(BROKER_PROFILES.rabbitmq.moderation.pendingDestination('cats')).toBe('/amq/queue/pending.cats');
    expect(BROKER_PROFILES.rabbitmq.moderation.logSubscribeHeaders['x-stream-offset']).toBe('first');
    expect(() => BROKER_PROFILES.artemis.moderation.pendingAmqpTarget('a.b')).toThrow(/invalid feed name/);
  });
});
