import { describe, expect, it } from 'vitest';
import type { Post } from '../../post.js';
import { restamp, rewriteMedia } from './restamp.js';

function post(): Post {
  return {
    network: 'x',
    nativeId: '2116862840200253479',
    url: 'https://x.com/midnightzoomies/status/2116862840200253479',
    author: { handle: 'midnightzoomies' },
    text: 'hi',
    createdAt: '2026-11-01T12:00:05.000Z',
    media: [
      { kind: 'photo', url: 'https://pbs.twimg.com/media/A.png', alt: 'a', width: 480, height: 360 },
      { kind: 'video', previewUrl: 'https://pbs.twimg.com/media/V.png' },
      { kind: 'photo', url: 'https://pbs.twimg.com/profile_images/B.png' },
      { kind: 'photo', url: 'https://evil.example/https://pbs.twimg.com/media/C.png' },
      { kind: 'gif' },
    ],
    feeds: ['cats'],
  };
}

const now = new Date('2027-01-02T03:04:05.678Z');

describe('restamp', () => {
  it('keeps the id on pass 1 and dates the post now', () => {
    const original = post();
    const stamped = restamp(original, 1, now);
    expect(stamped).toEqual({ ...post(), createdAt: '2027-01-02T03:04:05.678Z' });
    expect(original).toEqual(post());
  });

  it('gives later passes ids of their own', () => {
    expect(restamp(post(), 2, now).nativeId).toBe('2116862840200253479-p2');
    const third = restamp(post(), 3, now);
    expect(third.nativeId).toBe('2116862840200253479-p3');
    expect(third.createdAt).toBe('2027-01-02T03:04:05.678Z');
    expect(third.url).toBe('https://x.com/midnightzoomies/status/2116862840200253479');
  });
});

describe('rewriteMedia', () => {
  const rule = { from: 'https://pbs.twimg.com/media/', to: 'http://localhost:8080/demo/media/' };

  it('rewrites url and previewUrl that start with the prefix, and nothing else', () => {
    const original = post();
    const rewritten = rewriteMedia(original, rule);
    expect(rewritten.media).toEqual([
      { kind: 'photo', url: 'http://localhost:8080/demo/media/A.png', alt: 'a', width: 480, height: 360 },
      { kind: 'video', previewUrl: 'http://localhost:8080/demo/media/V.png' },
      { kind: 'photo', url: 'https://pbs.twimg.com/profile_images/B.png' },
      { kind: 'photo', url: 'https://evil.example/https://pbs.twimg.com/media/C.png' },
      { kind: 'gif' },
    ]);
    // Absent URLs stay absent rather than becoming undefined properties.
    expect(Object.keys(rewritten.media[1]!)).toEqual(['kind', 'previewUrl']);
    expect(Object.keys(rewritten.media[4]!)).toEqual(['kind']);
    expect({ ...rewritten, media: [] }).toEqual({ ...post(), media: [] });
    expect(original).toEqual(post());
  });
});
