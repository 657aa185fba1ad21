import type { FeedItem } from '@livewall/contract';
import { ImageAllowList } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { altText, authorText, mediaLabel, safeLink, usableImages } from './tile.js';

const item: FeedItem = {
  v: 1,
  id: 'bluesky:1',
  feed: 'cats',
  network: 'bluesky',
  url: 'https://bsky.app/profile/alice.bsky.social/post/1',
  author: { handle: 'alice.bsky.social', name: 'Alice' },
  text: 'a cat',
  images: [
    { url: 'https://cdn.bsky.app/full/1', thumb: 'https://cdn.bsky.app/thumb/1', alt: '  ' },
    { url: 'https://cdn.bsky.app/full/2', thumb: 'https://cdn.bsky.app/thumb/2', alt: 'A grey cat asleep' },
  ],
  createdAt: '2026-01-01T12:00:00.000Z',
  receivedAt: '2026-01-01T12:00:00.000Z',
  publishedAt: '2026-01-01T12:00:00.000Z',
};

describe('a card’s text and URLs', () => {
  it('takes the post’s alt text, else says whose image it is', () => {
    expect(altText(item, item.images[1])).toBe('A grey cat asleep');
    expect(altText(item, item.images[0])).toBe('Image posted by @alice.bsky.social');
    expect(altText(item)).toBe('Image posted by @alice.bsky.social');
  });

  it('links only to https URLs without credentials', () => {
    expect(safeLink('https://bsky.app/profile/a/post/1')).toBe('https://bsky.app/profile/a/post/1');
    expect(safeLink('javascript:alert(1)')).toBeUndefined();
    expect(safeLink('http://bsky.app/')).toBeUndefined();
    expect(safeLink('https://user:pw@bsky.app/')).toBeUndefined();
    expect(safeLink('not a url')).toBeUndefined();
  });

  it('shows only images the allow-list accepts', () => {
    const allowList = new ImageAllowList(['cdn.bsky.app', 'http://localhost:8080']);
    const mixed: FeedItem = {
      ...item,
      images: [
        { url: 'https://evil.example/a', thumb: 'https://evil.example/a' },
        { url: 'http://localhost:8080/a.png', thumb: 'http://localhost:8080/a.png' },
        { url: 'http://localhost:9999/a.png', thumb: 'http://localhost:9999/a.png' },
        item.images[1]!,
      ],
    };
    expect(usableImages(mixed, allowList).map((image) => image.thumb)).toEqual(['http://localhost:8080/a.png', 'https://cdn.bsky.app/thumb/2']);
  });
});

describe('a card’s author and image area, in words', () => {
  it('puts the name and the handle on a line each, and keeps each to its line', () => {
    expect(authorText(item)).toBe('Alice\n@alice.bsky.social');
    expect(authorText({ ...item, author: { handle: 'alice.bsky.social' } })).toBe('@alice.bsky.social');
    expect(authorText({ ...item, author: { handle: 'a\nb', name: ' Two\nlines\u2028here ' } })).toBe('Two lines here\n@a b');
    expect(authorText({ ...item, author: { handle: 'a', name: '  ' } })).toBe('@a');
  });

  it('says what the image shows, how many there are, and where the link leads', () => {
    expect(mediaLabel(item, item.images[1]!, 2, true)).toBe('A grey cat asleep. 2 images. Open the post by @alice.bsky.social on Bluesky');
    expect(mediaLabel(item, item.images[0]!, 1, true)).toBe('Image posted by @alice.bsky.social. Open the post by @alice.bsky.social on Bluesky');
    expect(mediaLabel(item, item.images[1]!, 3, false)).toBe('A grey cat asleep. 3 images');
  });
});
