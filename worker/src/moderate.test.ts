import { validateModerationAction } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { actionLine, listText, ModerateUsageError, moderationAction } from './moderate.js';

const AT = new Date('2026-12-07T18:00:00.000Z');

describe('moderate: the action a command line means', () => {
  it('makes a valid v1 action: an item id for hide and unhide, NETWORK:HANDLE for block and unblock', () => {
    const hide = moderationAction('hide', 'cats', 'x:123', 'moderator', 'spam', AT);
    expect(hide).toEqual({ v: 1, kind: 'moderation', actionId: expect.stringMatching(/^[0-9a-f-]{36}$/), action: 'hide', feed: 'cats', itemId: 'x:123', by: 'moderator', at: '2026-12-07T18:00:00.000Z', reason: 'spam' });
    expect(validateModerationAction(hide).ok).toBe(true);
    expect(moderationAction('block', 'cats', 'mastodon:@bob@example.social', 'moderator', undefined, AT)).toMatchObject({ action: 'block', author: { network: 'mastodon', handle: 'bob@example.social' } });
    expect(moderationAction('unblock', 'cats', 'bluesky:troll.bsky.social', 'moderator', undefined, AT).itemId).toBeUndefined();
    // Every action has an id of its own.
    expect(moderationAction('unhide', 'cats', 'x:1', 'm').actionId).not.toBe(moderationAction('unhide', 'cats', 'x:1', 'm').actionId);
  });

  it('says what is wrong with a target, a feed or a reason, as the contract checks it', () => {
    const wrong = (run: () => unknown): string => {
      try {
        run();
        return 'no error';
      } catch (error) {
        expect(error).toBeInstanceOf(ModerateUsageError);
        return (error as Error).message;
      }
    };
    expect(wrong(() => moderationAction('block', 'cats', 'troll', 'm'))).toBe('block: name the author as NETWORK:HANDLE, NETWORK one of x, bluesky, mastodon (e.g. x:someone), not "troll"');
    expect(wrong(() => moderationAction('block', 'cats', 'myspace:troll', 'm'))).toContain('NETWORK one of x, bluesky, mastodon');
    expect(wrong(() => moderationAction('hide', 'cats', '123', 'm'))).toMatch(/^hide: itemId must be/);
    expect(wrong(() => moderationAction('hide', 'Cats', 'x:1', 'm'))).toMatch(/^hide: feed must match/);
    expect(wrong(() => moderationAction('hide', 'cats', 'x:1', 'm', 'x'.repeat(201)))).toMatch(/^hide: reason/);
  });

  it('lists a feed\'s takedowns and its log entries: who, what, when, why', () => {
    const entries = [moderationAction('hide', 'cats', 'x:1', 'alice', 'off topic', AT), moderationAction('block', 'cats', 'x:troll', 'bob', undefined, AT)];
    expect(actionLine(entries[0] as never)).toBe('2026-12-07T18:00:00.000Z  alice  hide x:1  — off topic');
    expect(listText({ feed: 'cats', hidden: ['x:1'], blockedAuthors: ['x:troll'], entries, invalid: 1 })).toBe(
      [
        'feed cats: 1 hidden item, 1 blocked author',
        'hidden:',
        '  x:1',
        'blocked authors:',
        '  x:troll',
        'moderation log: 2 entries for cats (1 invalid entries skipped)',
        '  2026-12-07T18:00:00.000Z  alice  hide x:1  — off topic',
        '  2026-12-07T18:00:00.000Z  bob  block x:troll',
        '',
      ].join('\n'),
    );
  });
});
