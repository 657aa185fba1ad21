import { describe, expect, it } from 'vitest';
import type { Post } from '../post.js';
import { AuthorRate, emptyAuthorLists, feedRules, ModerationBook, type ModerationConfig } from './rules.js';

function post(overrides: Partial<Post> = {}): Post {
  return { network: 'bluesky', nativeId: '1', url: 'https://bsky.app/profile/x/post/1', author: { id: 'did:plc:abc', handle: 'alice.bsky.social' }, text: 'my cat', createdAt: '2026-01-01T00:00:00Z', media: [{ kind: 'photo', url: 'https://cdn.bsky.app/a.jpg', alt: 'a cat asleep' }], feeds: ['cats'], ...overrides };
}

function rules(overrides: Partial<ModerationConfig> = {}): ModerationConfig {
  return { blockedWords: [], blockedAuthors: emptyAuthorLists(), allowedAuthors: emptyAuthorLists(), ...overrides };
}

describe('moderation rules', () => {
  it('on by default: profanity, and 3 posts per author per 10 minutes', () => {
    expect(feedRules(undefined, undefined)).toMatchObject({ profanity: true, perAuthor: { posts: 3, perMs: 600_000 } });
    expect(feedRules(rules({ profanity: false, perAuthor: false }), rules({ profanity: true }))).toMatchObject({ profanity: true, perAuthor: false });
  });

  it("adds a feed's lists to the global ones", () => {
    const joined = feedRules(rules({ blockedWords: ['a'], blockedAuthors: { ...emptyAuthorLists(), x: ['one'] } }), rules({ blockedWords: ['b'], blockedAuthors: { ...emptyAuthorLists(), x: ['two'] } }));
    expect(joined.blockedWords).toEqual(['a', 'b']);
    expect(joined.blockedAuthors.x).toEqual(['one', 'two']);
  });

  it('drops by rule, each under its reason, and lets the allowed authors through all of them', () => {
    const book = new ModerationBook(rules({ blockedWords: ['dog'], blockedAuthors: { ...emptyAuthorLists(), bluesky: ['did:plc:bad'], mastodon: ['@Troll@Example.social'] } }), [{ name: 'cats' }]);
    const cats = book.of('cats');
    expect(cats?.check(post(), 0)).toBe(true);
    expect(cats?.check(post({ author: { id: 'did:plc:bad', handle: 'bad.bsky.social' } }), 0)).toBe('blocked-author');
    expect(cats?.check(post({ network: 'mastodon', author: { handle: 'troll@example.social' } }), 0)).toBe('blocked-author');
    const xBook = new ModerationBook(rules({ blockedAuthors: { ...emptyAuthorLists(), x: ['@Spammer', '755109284'] } }), [{ name: 'cats' }]).of('cats');
    expect(xBook?.check(post({ network: 'x', author: { handle: 'spammer' } }), 0)).toBe('blocked-author');
    expect(xBook?.check(post({ network: 'x', author: { id: '755109284', handle: 'renamed' } }), 0)).toBe('blocked-author');
    expect(xBook?.check(post({ network: 'bluesky', author: { handle: 'spammer' } }), 0)).toBe(true);
    expect(cats?.check(post({ media: [{ kind: 'photo', alt: 'a DОG' }] }), 0)).toBe('blocked-word');
    expect(cats?.check(post({ text: 'what the fuck' }), 0)).toBe('profanity');
    expect(cats?.check(post({ text: 'Scunthorpe classic assassin' }), 0)).toBe(true);
    const allowed = new ModerationBook(rules({ blockedWords: ['dog'], allowedAuthors: { ...emptyAuthorLists(), bluesky: ['alice.bsky.social'] } }), [{ name: 'cats' }]).of('cats');
    for (let time = 0; time < 10; time++) expect(allowed?.check(post({ text: 'dog' }), time)).toBe(true);
  });

  it('lets an author post at most `posts` times per window, in a sliding window', () => {
    const rate = new AuthorRate({ posts: 3, perMs: 1000 });
    expect([0, 1, 2, 3].map((time) => rate.admit('a', time))).toEqual([true, true, true, false]);
    expect(rate.admit('b', 3)).toBe(true);
    expect(rate.admit('a', 1000)).toBe(true);
    expect(rate.admit('a', 1001)).toBe(true);
    expect(rate.admit('a', 1002)).toBe(true);
    expect(rate.admit('a', 1003)).toBe(false);
  });

  it('swaps a feed\'s rules on update, keeping its authors\' counts while the limit stays the same', () => {
    const book = new ModerationBook(undefined, [{ name: 'cats' }, { name: 'dogs' }]);
    for (let time = 0; time < 3; time++) book.of('cats')?.check(post(), time);
    expect(book.of('cats')?.check(post(), 3)).toBe('author-rate');
    expect(book.update(rules({ blockedWords: ['fish'] }), [{ name: 'cats' }])).toEqual(['cats']);
    expect(book.of('dogs')).toBeUndefined();
    expect(book.of('cats')?.check(post({ text: 'fish' }), 4)).toBe('blocked-word');
    expect(book.of('cats')?.check(post(), 4)).toBe('author-rate');
    book.update(rules({ perAuthor: { posts: 10, perMs: 1000 } }), [{ name: 'cats' }]);
    expect(book.of('cats')?.check(post(), 5)).toBe(true);
    expect(book.update(rules({ perAuthor: { posts: 10, perMs: 1000 } }), [{ name: 'cats' }])).toEqual([]);
  });
});
