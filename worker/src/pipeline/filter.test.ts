import { describe, expect, it } from 'vitest';
import type { Media, Post } from '../post.js';
import { dropReason, picturesOf } from './filter.js';

function post(media: Media[]): Post {
  return {
    network: 'x',
    nativeId: '1',
    url: 'https://x.com/a/status/1',
    author: { handle: 'a' },
    text: 'hi',
    createdAt: '2026-11-01T12:00:05.000Z',
    media,
    feeds: ['cats'],
  };
}

const photo: Media = { kind: 'photo', url: 'https://pbs.twimg.com/media/P.png' };
const video: Media = { kind: 'video', previewUrl: 'https://pbs.twimg.com/media/V.png' };
const gif: Media = { kind: 'gif', previewUrl: 'https://pbs.twimg.com/media/G.png' };
const photos = { videoPreviews: false };
const previews = { videoPreviews: true };

describe('dropReason', () => {
  it('drops a post without media', () => {
    expect(dropReason(post([]), photos)).toBe('no-media');
    expect(dropReason(post([]), previews)).toBe('no-media');
  });

  it('keeps a post with a photo', () => {
    expect(dropReason(post([photo]), photos)).toBeUndefined();
    expect(dropReason(post([photo]), previews)).toBeUndefined();
  });

  it('keeps a video or GIF still only when video previews are wanted', () => {
    for (const media of [video, gif]) {
      expect(dropReason(post([media]), previews)).toBeUndefined();
      expect(dropReason(post([media]), photos)).toBe('no-photo');
    }
  });

  it('drops media with nothing to show', () => {
    expect(dropReason(post([{ kind: 'photo' }]), photos)).toBe('no-photo');
    expect(dropReason(post([{ kind: 'photo', previewUrl: 'https://pbs.twimg.com/media/P.png' }]), previews)).toBe('no-usable-image');
    expect(dropReason(post([{ kind: 'video' }]), previews)).toBe('no-usable-image');
    // A video's url (the video itself) is not a picture.
    expect(dropReason(post([{ kind: 'video', url: 'https://video.twimg.com/v.mp4' }]), previews)).toBe('no-usable-image');
  });
});

describe('picturesOf', () => {
  it('keeps the usable pictures in order', () => {
    const media = [video, photo, { kind: 'photo' } as Media, gif, { ...photo, url: 'https://pbs.twimg.com/media/Q.png' }];
    expect(picturesOf(post(media), previews)).toEqual([video, photo, gif, { ...photo, url: 'https://pbs.twimg.com/media/Q.png' }]);
    expect(picturesOf(post(media), photos)).toEqual([photo, { ...photo, url: 'https://pbs.twimg.com/media/Q.png' }]);
  });
});
