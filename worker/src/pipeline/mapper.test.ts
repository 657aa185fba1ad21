import { readFileSync } from 'node:fs';
import { DEFAULT_IMAGE_HOSTS, ImageAllowList, validateFeedItem } from '@livewall/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Media, Post } from '../post.js';
import { decodeMastodonStatus } from '../sources/mastodon/decode.js';
import { photoStatus } from '../sources/mastodon/fake-statuses.js';
import { rewriteMedia } from '../sources/replay/restamp.js';
import { decodeXLine } from '../sources/x/decode.js';
import { dropReason } from './filter.js';
import { thumbnailOf, toFeedItem, type MapOptions, type MapResult, type UnpublishedItem } from './mapper.js';

const receivedAt = new Date('2026-11-01T12:00:06.250Z');
const options: MapOptions = { imageHosts: new ImageAllowList(DEFAULT_IMAGE_HOSTS), videoPreviews: false, receivedAt };

function photo(name: string, extra: Partial<Media> = {}): Media {
  return { kind: 'photo', url: `https://pbs.twimg.com/media/${name}.png`, ...extra };
}

function post(overrides: Partial<Post> = {}): Post {
  return {
    network: 'x',
    nativeId: '2116862840200253479',
    url: 'https://x.com/midnightzoomies/status/2116862840200253479',
    author: { handle: 'midnightzoomies', name: 'Midnight Zoomies', url: 'https://x.com/midnightzoomies' },
    text: 'A ball of yarn &lt; a box',
    createdAt: '2026-11-01T12:00:05.000Z',
    media: [photo('A', { alt: 'Yarn', width: 480, height: 360 })],
    feeds: ['cats'],
    ...overrides,
  };
}

function mapped(result: MapResult): UnpublishedItem {
  if (!result.ok) throw new Error(`expected an item, got ${result.reason}`);
  return result.item;
}

describe('toFeedItem', () => {
  it('maps a post to a feed item', () => {
    expect(mapped(toFeedItem(post(), 'cats', options))).toEqual({
      v: 1,
      id: 'x:2116862840200253479',
      feed: 'cats',
      network: 'x',
      url: 'https://x.com/midnightzoomies/status/2116862840200253479',
      author: { handle: 'midnightzoomies', name: 'Midnight Zoomies', url: 'https://x.com/midnightzoomies' },
      text: 'A ball of yarn < a box',
      images: [
        {
          url: 'https://pbs.twimg.com/media/A.png',
          thumb: 'https://pbs.twimg.com/media/A.png?name=small',
          alt: 'Yarn',
          width: 480,
          height: 360,
        },
      ],
      createdAt: '2026-11-01T12:00:05.000Z',
      receivedAt: '2026-11-01T12:00:06.250Z',
    });
  });

  it('stamps each item with its own receivedAt, also when items share or alternate times', () => {
    const times = ['2026-11-01T12:00:06.250Z', '2026-11-01T12:00:06.250Z', '2026-11-01T12:00:06.251Z', '2026-11-01T12:00:06.250Z', '1970-01-01T00:00:00.000Z'];
    for (const time of times) expect(mapped(toFeedItem(post(), 'cats', { ...options, receivedAt: new Date(time) })).receivedAt).toBe(time);
    expect(() => toFeedItem(post(), 'cats', { ...options, receivedAt: new Date(Number.NaN) })).toThrow(RangeError);
  });

  it('uses the feed it is given and a restamped id', () => {
    const item = mapped(toFeedItem(post({ nativeId: '2116862840200253479-p3' }), 'dogs', options));
    expect(item.id).toBe('x:2116862840200253479-p3');
    expect(item.feed).toBe('dogs');
  });

  it('sizes the thumbnail with name=small, replacing any size already there', () => {
    const item = mapped(toFeedItem(post({ media: [photo('A'), { kind: 'photo', url: 'https://pbs.twimg.com/media/B?format=jpg&name=large' }] }), 'cats', options));
    expect(item.images.map((image) => image.thumb)).toEqual([
      'https://pbs.twimg.com/media/A.png?name=small',
      'https://pbs.twimg.com/media/B?format=jpg&name=small',
    ]);
    expect(item.images[1]!.url).toBe('https://pbs.twimg.com/media/B?format=jpg&name=large');
  });

  it('cleans alt text and leaves out alt text that cleans to nothing', () => {
    const item = mapped(
      toFeedItem(post({ media: [photo('A', { alt: ' Cat &amp; <b>box</b>\u0007 ' }), photo('B', { alt: '<i></i> ' })] }), 'cats', options),
    );
    expect(item.images[0]!.alt).toBe('Cat & box');
    expect(item.images[1]).not.toHaveProperty('alt');
  });

  it('leaves out images off the allow-list', () => {
    const media = [photo('A'), { kind: 'photo' as const, url: 'https://evil.example/B.png' }, { kind: 'photo' as const, url: 'http://pbs.twimg.com/media/C.png' }, photo('D')];
    const item = mapped(toFeedItem(post({ media }), 'cats', options));
    expect(item.images.map((image) => image.url)).toEqual(['https://pbs.twimg.com/media/A.png', 'https://pbs.twimg.com/media/D.png']);
  });

  it('does not map a post left without an image', () => {
    const media = [{ kind: 'photo' as const, url: 'https://evil.example/B.png' }, { kind: 'photo' as const, url: 'not a url' }];
    expect(toFeedItem(post({ media }), 'cats', options)).toEqual({ ok: false, reason: 'image-host' });
  });

  it('keeps at most 4 images, the first usable ones', () => {
    const five = ['A', 'B', 'C', 'D', 'E'].map((name) => photo(name));
    expect(mapped(toFeedItem(post({ media: five }), 'cats', options)).images.map((image) => image.url)).toEqual(
      ['A', 'B', 'C', 'D'].map((name) => `https://pbs.twimg.com/media/${name}.png`),
    );
    const offFirst = [{ kind: 'photo' as const, url: 'https://evil.example/Z.png' }, ...five];
    expect(mapped(toFeedItem(post({ media: offFirst }), 'cats', options)).images.map((image) => image.url)).toEqual(
      ['A', 'B', 'C', 'D'].map((name) => `https://pbs.twimg.com/media/${name}.png`),
    );
  });

  it('maps video stills only when video previews are wanted', () => {
    const media: Media[] = [{ kind: 'video', previewUrl: 'https://pbs.twimg.com/media/V.png', url: 'https://video.twimg.com/v.mp4' }];
    expect(toFeedItem(post({ media }), 'cats', options)).toEqual({ ok: false, reason: 'image-host' });
    const item = mapped(toFeedItem(post({ media }), 'cats', { ...options, videoPreviews: true }));
    expect(item.images).toEqual([{ url: 'https://pbs.twimg.com/media/V.png', thumb: 'https://pbs.twimg.com/media/V.png?name=small' }]);
  });

  it('leaves out dimensions beyond the contract', () => {
    const item = mapped(toFeedItem(post({ media: [photo('A', { width: 100_001, height: 360 })] }), 'cats', options));
    expect(item.images[0]).toEqual({ url: 'https://pbs.twimg.com/media/A.png', thumb: 'https://pbs.twimg.com/media/A.png?name=small', height: 360 });
  });

  it('cleans the text and cuts it to 500 characters', () => {
    expect(mapped(toFeedItem(post({ text: 'I &lt;3 my cat &amp; <b>her</b>   box\u0000' }), 'cats', options)).text).toBe('I <3 my cat & her box');
    const long = mapped(toFeedItem(post({ text: '🐱'.repeat(501) }), 'cats', options)).text;
    expect([...long]).toHaveLength(500);
    expect(long.endsWith('…')).toBe(true);
  });

  it('keeps a raw & in the author name as it is', () => {
    const item = mapped(toFeedItem(post({ author: { handle: 'biscuitandbean', name: 'Biscuit & Bean' } }), 'cats', options));
    expect(item.author).toEqual({ handle: 'biscuitandbean', name: 'Biscuit & Bean' });
  });

  it('cleans the author and refuses a post whose handle cleans to nothing', () => {
    const item = mapped(toFeedItem(post({ author: { handle: 'a', name: ' <b>Cat</b>\u0007Lady ', url: 'https://x.com/a' } }), 'cats', options));
    expect(item.author).toEqual({ handle: 'a', name: 'Cat Lady', url: 'https://x.com/a' });
    expect(mapped(toFeedItem(post({ author: { handle: 'a', name: '<b></b>' } }), 'cats', options)).author).toEqual({ handle: 'a' });
    expect(toFeedItem(post({ author: { handle: '<b></b>' } }), 'cats', options)).toEqual({ ok: false, reason: 'no-author' });
  });
});

describe('thumbnails per network', () => {
  it('sizes an X image the way the URL parser would, with or without it (20,000 cases)', () => {
    /** X's thumbnail through the URL parser, as the mapper made every one before its shortcut for plain URLs. */
    function byParser(url: string): string {
      const thumb = new URL(url);
      thumb.searchParams.set('name', 'small');
      return thumb.toString();
    }
    const outcome = (make: () => string): string => {
      try {
        return make();
      } catch {
        return 'throws';
      }
    };
    const segment = fc.oneof(
      { arbitrary: fc.string({ unit: fc.constantFrom(...'aZ09-_.~!$&\'()*+,;=:@'), maxLength: 8 }), weight: 6 },
      fc.constantFrom('.', '..', '%2e', '%2E.', 'a b', 'a"b', 'a<b', 'a^b', 'a`b', 'a{b}', 'a|b', 'é', '\ud800', 'a\tb', 'a?b=1&name=large', 'a#frag', 'a\\b'),
    );
    const url = fc
      .tuple(fc.constantFrom('https://pbs.twimg.com', 'https://PBS.twimg.com', 'https://pbs.twimg.com:443', 'http://localhost:8080', 'https://1.2.3.4', 'https://u@pbs.twimg.com', 'https://xn--a.com'), fc.array(segment, { maxLength: 4 }), fc.boolean())
      .map(([origin, segments, slash]) => `${origin}${segments.map((part) => `/${part}`).join('')}${slash ? '/' : ''}`);
    fc.assert(
      fc.property(url, (value) => {
        expect(outcome(() => thumbnailOf(value, 'x')), value).toBe(outcome(() => byParser(value)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('uses Bluesky feed_thumbnail for a feed_fullsize image, and keeps the full size as the url', () => {
    const full = 'https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:abc/bafkreiabc@jpeg';
    const result = mapped(
      toFeedItem(
        post({ network: 'bluesky', nativeId: 'did:plc:abc/3k', url: 'https://bsky.app/profile/did:plc:abc/post/3k', media: [{ kind: 'photo', url: full }] }),
        'cats',
        options,
      ),
    );
    expect(result.images).toEqual([{ url: full, thumb: 'https://cdn.bsky.app/img/feed_thumbnail/plain/did:plc:abc/bafkreiabc@jpeg' }]);
    expect(result.id).toBe('bluesky:did:plc:abc/3k');
  });
});

describe('Mastodon thumbnails', () => {
  const original = 'https://files.mastodon.social/media_attachments/files/1/original/cat.jpg';
  const small = 'https://files.mastodon.social/media_attachments/files/1/small/cat.jpg';
  const mastodon: MapOptions = { ...options, imageHosts: new ImageAllowList(['files.mastodon.social']) };
  const toot = (media: Media[]): Post =>
    post({ network: 'mastodon', nativeId: '113370000000000001', url: 'https://mastodon.social/@alice/113370000000000001', author: { handle: 'alice@mastodon.social' }, media });

  it('uses a photo’s preview_url as the thumbnail and keeps the original as the url, as the contract accepts', () => {
    const decoded = decodeMastodonStatus(photoStatus, 'mastodon.social', { feeds: ['cats'] });
    if (decoded.kind !== 'post') throw new Error(`expected a post, got ${decoded.reason}`);
    const item = mapped(toFeedItem(decoded.post, 'cats', mastodon));
    expect(item.images).toEqual([
      {
        url: 'https://files.mastodon.social/media_attachments/files/111/111/111/original/cat.jpg',
        thumb: 'https://files.mastodon.social/media_attachments/files/111/111/111/small/cat.jpg',
        alt: 'A grey cat asleep on a keyboard',
        width: 1600,
        height: 1200,
      },
    ]);
    const validation = validateFeedItem({ ...item, publishedAt: '2026-11-01T12:00:07.000Z' }, mastodon.imageHosts);
    expect(validation.ok ? 'ok' : validation.reason).toBe('ok');
  });

  it('falls back to the original when the preview is missing, off the allow-list, not https or too long', () => {
    const previews = [undefined, 'https://cdn.remote.example/small/cat.jpg', 'http://files.mastodon.social/small/cat.jpg', `https://files.mastodon.social/${'a'.repeat(2048)}`];
    for (const previewUrl of previews) {
      const media: Media = previewUrl === undefined ? { kind: 'photo', url: original } : { kind: 'photo', url: original, previewUrl };
      expect(mapped(toFeedItem(toot([media]), 'cats', mastodon)).images, String(previewUrl)).toEqual([{ url: original, thumb: original }]);
    }
    expect(mapped(toFeedItem(toot([{ kind: 'photo', url: original, previewUrl: small }]), 'cats', mastodon)).images).toEqual([{ url: original, thumb: small }]);
  });

  it('takes the preview as the thumbnail of Mastodon photos only: an X photo keeps its sized original', () => {
    const item = mapped(toFeedItem(post({ media: [photo('A', { previewUrl: 'https://pbs.twimg.com/media/other.png' })] }), 'cats', options));
    expect(item.images[0]!.thumb).toBe('https://pbs.twimg.com/media/A.png?name=small');
  });
});

describe('the recorded sample, mapped as the demo does', () => {
  const lines = readFileSync(new URL('../../../samples/x-cats.ndjson', import.meta.url), 'utf8').split('\r\n');
  const posts = lines.flatMap((line) => {
    const event = decodeXLine(line);
    return event.kind === 'post' ? [event.post] : [];
  });
  const demo: MapOptions = {
    imageHosts: new ImageAllowList([...DEFAULT_IMAGE_HOSTS, 'http://localhost:8080']),
    videoPreviews: false,
    receivedAt: new Date('2026-11-01T12:10:00.000Z'),
  };
  const rule = { from: 'https://pbs.twimg.com/media/', to: 'http://localhost:8080/demo/media/' };
  const publishedAt = '2026-11-01T12:10:00.004Z';

  function mapAll(mapOptions: MapOptions) {
    const items: UnpublishedItem[] = [];
    const dropped: string[] = [];
    for (const decoded of posts) {
      const reason = dropReason(decoded, mapOptions);
      if (reason) {
        dropped.push(reason);
        continue;
      }
      for (const feed of decoded.feeds) {
        const result = toFeedItem(rewriteMedia(decoded, rule), feed, mapOptions);
        if (!result.ok) throw new Error(`${decoded.nativeId}: ${result.reason}`);
        items.push(result.item);
      }
    }
    return { items, dropped };
  }

  it('maps every photo post to items the contract accepts', () => {
    const { items, dropped } = mapAll(demo);
    expect(dropped.sort()).toEqual(['no-media', 'no-media', 'no-media', 'no-media', 'no-photo', 'no-photo', 'no-photo']);
    // 49 photo posts, 2 of them in two feeds.
    expect(items).toHaveLength(51);
    expect(new Set(items.map((item) => item.id)).size).toBe(49);
    expect(items.filter((item) => item.feed === 'dogs')).toHaveLength(2);
    expect(items.filter((item) => item.feed === 'cats').flatMap((item) => item.images)).toHaveLength(55);
    for (const item of items) {
      const validation = validateFeedItem({ ...item, publishedAt }, demo.imageHosts);
      expect(validation.ok ? 'ok' : validation.reason, item.id).toBe('ok');
      for (const image of item.images) {
        expect(image.url).toMatch(/^http:\/\/localhost:8080\/demo\/media\/[\w-]+\.png$/);
        expect(image.thumb).toBe(`${image.url}?name=small`);
      }
    }
  });

  it('maps the video and GIF stills too when video previews are wanted', () => {
    const { items, dropped } = mapAll({ ...demo, videoPreviews: true });
    expect(dropped).toEqual(['no-media', 'no-media', 'no-media', 'no-media']);
    expect(items).toHaveLength(54);
    for (const item of items) {
      const validation = validateFeedItem({ ...item, publishedAt }, demo.imageHosts);
      expect(validation.ok ? 'ok' : validation.reason, item.id).toBe('ok');
    }
  });

  it('cleans the texts and keeps the names', () => {
    const { items } = mapAll(demo);
    const byId = new Map(items.map((item) => [item.id, item]));
    expect(byId.get('x:2116862840200253479')!.text).toBe('A ball of yarn < a cardboard box < the bag the yarn came in. Cat logic. 🧶📦');
    expect(byId.get('x:2116863085634805769')!.text).toBe('Before & after: the box arrived / the box was claimed 📦🐱');
    expect(byId.get('x:2116863979671408643')!.text).toBe('Morning status report: fed -> happy -> asleep again');
    expect(byId.get('x:2116864339302653959')!.text).toBe('I <3 my cat. Even when she knocks my pen off the desk. Especially then.');
    expect(byId.get('x:2116863865116442643')!.author.name).toBe('Biscuit & Bean');
    for (const item of items) expect(item.text).not.toMatch(/&(amp|lt|gt);/);
  });
});
