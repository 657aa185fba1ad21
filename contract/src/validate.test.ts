import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedTopic, LIMITS, type FeedItem } from './feed-item.js';
import { DEFAULT_IMAGE_HOSTS, ImageAllowList } from './image-hosts.js';
import { parseFeedItem, validateFeedItem, validateFeedItemJson, type Validation } from './validate.js';

const hosts = new ImageAllowList(DEFAULT_IMAGE_HOSTS);
const demoHosts = new ImageAllowList(['pbs.twimg.com', 'http://localhost:8080']);
const encoder = new TextEncoder();

type Loose<T> = { [K in keyof T]?: unknown } & Record<string, unknown>;

function validImage(overrides: Loose<FeedItem['images'][number]> = {}): Record<string, unknown> {
  return {
    url: 'https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png',
    thumb: 'https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png?name=small',
    alt: 'Three balls of pink, leaf green and violet yarn.',
    width: 480,
    height: 360,
    ...overrides,
  };
}

/** A valid v1 item, with any field replaced (or removed, with `undefined`). */
function validItem(overrides: Loose<FeedItem> = {}): Record<string, unknown> {
  const item: Record<string, unknown> = {
    v: 1,
    id: 'x:2116862840200253479',
    feed: 'cats',
    network: 'x',
    url: 'https://x.com/midnightzoomies/status/2116862840200253479',
    author: { handle: 'midnightzoomies', name: 'Midnight Zoomies', url: 'https://x.com/midnightzoomies' },
    text: 'A ball of yarn < a cardboard box < the bag the yarn came in. Cat logic. 🧶📦',
    images: [validImage()],
    createdAt: '2026-11-01T12:00:05.000Z',
    receivedAt: '2026-11-01T12:00:05.120Z',
    publishedAt: '2026-11-01T12:00:05.131Z',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete item[key];
    else item[key] = value;
  }
  return item;
}

function reasonOf(result: Validation): string | undefined {
  return result.ok ? undefined : result.reason;
}

function rejects(value: unknown, allowList = hosts): string | undefined {
  const result = validateFeedItem(value, allowList);
  expect(result.ok).toBe(false);
  return reasonOf(result);
}

describe('validateFeedItem', () => {
  it('accepts a valid item and returns it unchanged', () => {
    const item = validItem();
    const result = validateFeedItem(item, hosts);
    expect(result).toEqual({ ok: true, item });
    if (result.ok) expect(result.item).toBe(item);
  });

  it('hands back the JSON it measured for the size limit: the item as JSON.stringify writes it', () => {
    const item = validItem();
    expect(validateFeedItemJson(item, hosts)).toEqual({ ok: true, item, json: JSON.stringify(item) });
    expect(validateFeedItemJson(validItem({ v: 2 }), hosts)).toEqual({ ok: false, reason: 'v must be 1' });
    const tooLong = validItem({ images: [1, 2, 3, 4].map(() => validImage({ alt: '🧶'.repeat(1000) })) });
    expect(validateFeedItemJson(tooLong, hosts)).toEqual(validateFeedItem(tooLong, hosts));
    expect(validateFeedItem(tooLong, hosts).ok).toBe(false);
  });

  it('accepts the optional fields being absent', () => {
    const item = validItem({ author: { handle: 'a' }, images: [{ url: 'https://cdn.bsky.app/img/a@jpeg', thumb: 'https://cdn.bsky.app/img/b@jpeg' }], text: '' });
    expect(reasonOf(validateFeedItem(item, hosts))).toBeUndefined();
  });

  it('rejects what is not an object', () => {
    for (const value of [null, [], 'x', 1]) expect(rejects(value)).toBe('a feed item must be a JSON object');
  });

  it('rejects a wrong version', () => {
    expect(rejects(validItem({ v: 2 }))).toBe('v must be 1');
    expect(rejects(validItem({ v: '1' }))).toBe('v must be 1');
    expect(rejects(validItem({ v: undefined }))).toBe('v must be 1');
  });

  it('rejects an id not prefixed with its network, or with spaces', () => {
    const reason = 'id must be "x:<native id>" without spaces';
    expect(rejects(validItem({ id: '2116862840200253479' }))).toBe(reason);
    expect(rejects(validItem({ id: 'bluesky:2116862840200253479' }))).toBe(reason);
    expect(rejects(validItem({ id: 'x:' }))).toBe(reason);
    expect(rejects(validItem({ id: 'x:211686 2840200253479' }))).toBe(reason);
    expect(rejects(validItem({ id: 'x:2116862840200253479\n' }))).toBe(reason);
    expect(rejects(validItem({ id: 42 }))).toBe('id must be a string of at most 256 characters');
    expect(rejects(validItem({ id: `x:${'1'.repeat(255)}` }))).toBe('id must be a string of at most 256 characters');
    expect(reasonOf(validateFeedItem(validItem({ id: `x:${'1'.repeat(254)}` }), hosts))).toBeUndefined();
    expect(reasonOf(validateFeedItem(validItem({ id: 'x:2116862840200253479-p3' }), hosts))).toBeUndefined();
  });

  it('rejects bad feed names', () => {
    const reason = 'feed must match [a-z0-9-]{1,32}';
    expect(rejects(validItem({ feed: 'Cats' }))).toBe(reason);
    expect(rejects(validItem({ feed: 'a'.repeat(33) }))).toBe(reason);
    expect(rejects(validItem({ feed: '' }))).toBe(reason);
    expect(rejects(validItem({ feed: 'cats.dogs' }))).toBe(reason);
    expect(rejects(validItem({ feed: undefined }))).toBe(reason);
    expect(reasonOf(validateFeedItem(validItem({ feed: 'a'.repeat(32) }), hosts))).toBeUndefined();
    expect(reasonOf(validateFeedItem(validItem({ feed: 'cats-2' }), hosts))).toBeUndefined();
  });

  it('rejects a network that is not in the list', () => {
    expect(rejects(validItem({ network: 'facebook', id: 'facebook:1' }))).toBe('network must be one of x, bluesky, mastodon');
    expect(rejects(validItem({ network: 'X' }))).toBe('network must be one of x, bluesky, mastodon');
  });

  it('rejects a post url that is not https', () => {
    expect(rejects(validItem({ url: 'http://x.com/midnightzoomies/status/2116862840200253479' }))).toBe('url is not https');
    expect(rejects(validItem({ url: 'javascript:alert(1)' }))).toBe('url is not https');
    expect(rejects(validItem({ url: '/status/1' }))).toBe('url is not a URL');
    expect(rejects(validItem({ url: `https://x.com/${'a'.repeat(2048)}` }))).toBe('url is longer than 2048 characters');
  });

  it('checks the author', () => {
    expect(rejects(validItem({ author: undefined }))).toBe('author must be an object');
    expect(rejects(validItem({ author: 'midnightzoomies' }))).toBe('author must be an object');
    expect(rejects(validItem({ author: { name: 'No Handle' } }))).toBe('author.handle must be a string');
    expect(rejects(validItem({ author: { handle: '' } }))).toBe('author.handle must not be empty');
    expect(rejects(validItem({ author: { handle: '  ' } }))).toBe('author.handle must not be empty');
    expect(rejects(validItem({ author: { handle: 'a', avatar: 'https://x.com/a.png' } }))).toBe('author has unknown field "avatar"');
    expect(rejects(validItem({ author: { handle: 'a'.repeat(101) } }))).toBe('author.handle is longer than 100 characters');
    expect(rejects(validItem({ author: { handle: 'a', name: '<b>A</b>' } }))).toBe('author.name contains markup');
    expect(rejects(validItem({ author: { handle: 'a', url: 'http://x.com/a' } }))).toBe('author.url is not https');
  });

  it('counts text length in code points, not UTF-16 units', () => {
    expect(rejects(validItem({ text: 'a'.repeat(501) }))).toBe('text is longer than 500 characters');
    expect(reasonOf(validateFeedItem(validItem({ text: 'a'.repeat(500) }), hosts))).toBeUndefined();
    const cats = '🐱'.repeat(500);
    expect(cats.length).toBe(1000);
    expect(reasonOf(validateFeedItem(validItem({ text: cats }), hosts))).toBeUndefined();
    expect(rejects(validItem({ text: `${cats}🐱` }))).toBe('text is longer than 500 characters');
    expect(rejects(validItem({ text: undefined }))).toBe('text must be a string');
  });

  it('rejects markup in text but not a lone < or >', () => {
    expect(rejects(validItem({ text: '<script>alert(1)</script>' }))).toBe('text contains markup');
    expect(rejects(validItem({ text: 'so <b>bold</b>' }))).toBe('text contains markup');
    expect(rejects(validItem({ text: 'see </a>' }))).toBe('text contains markup');
    expect(rejects(validItem({ text: '<!-- hi -->' }))).toBe('text contains markup');
    expect(rejects(validItem({ text: '<IMG src=x onerror=alert(1)>' }))).toBe('text contains markup');
    for (const text of ['I <3 my cat', 'fed -> happy -> asleep', 'a < b > c', '1<2']) {
      expect(reasonOf(validateFeedItem(validItem({ text }), hosts)), text).toBeUndefined();
    }
  });

  it('rejects control characters and lone surrogates, but not tab and newline', () => {
    const reason = 'text contains control characters or invalid UTF-16';
    for (const text of ['a\u0000b', 'bell\u0007', 'esc \u001b[31m', 'del\u007f', 'cr\r\n', 'lone \ud83d here', 'lone \udc31 low', 'end \ud83d']) {
      expect(rejects(validItem({ text })), JSON.stringify(text)).toBe(reason);
    }
    expect(reasonOf(validateFeedItem(validItem({ text: 'line one\nline\ttwo 🐱' }), hosts))).toBeUndefined();
  });

  it('wants 1 to 4 images', () => {
    const reason = 'images must be a list of 1 to 4 images';
    expect(rejects(validItem({ images: [] }))).toBe(reason);
    expect(rejects(validItem({ images: Array.from({ length: 5 }, () => validImage()) }))).toBe(reason);
    expect(rejects(validItem({ images: validImage() }))).toBe(reason);
    expect(rejects(validItem({ images: undefined }))).toBe(reason);
    expect(reasonOf(validateFeedItem(validItem({ images: Array.from({ length: 4 }, () => validImage()) }), hosts))).toBeUndefined();
  });

  it('names the image and field that is wrong', () => {
    expect(rejects(validItem({ images: [validImage(), 'https://pbs.twimg.com/a.png'] }))).toBe('images[1] must be an object');
    expect(rejects(validItem({ images: [validImage(), validImage({ thumb: undefined })] }))).toBe('images[1].thumb must be a string');
    expect(rejects(validItem({ images: [validImage({ sizes: [1] })] }))).toBe('images[0] has unknown field "sizes"');
    expect(rejects(validItem({ images: [validImage({ alt: 'a'.repeat(1001) })] }))).toBe('images[0].alt is longer than 1000 characters');
    expect(rejects(validItem({ images: [validImage({ alt: '<b>cat</b>' })] }))).toBe('images[0].alt contains markup');
  });

  it('rejects an image off the allow-list', () => {
    expect(rejects(validItem({ images: [validImage({ url: 'https://evil.example/cat.png' })] }))).toBe(
      'images[0].url host evil.example is not on the image allow-list',
    );
    expect(rejects(validItem({ images: [validImage(), validImage({ thumb: 'https://pbs.twimg.com.evil.example/a.png' })] }))).toBe(
      'images[1].thumb host pbs.twimg.com.evil.example is not on the image allow-list',
    );
    expect(rejects(validItem({ images: [validImage({ url: 'not a url' })] }))).toBe('images[0].url is not a URL');
  });

  it('rejects http images on a non-loopback origin', () => {
    expect(rejects(validItem({ images: [validImage({ url: 'http://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png' })] }))).toBe('images[0].url is not https');
    expect(rejects(validItem({ images: [validImage({ url: 'data:image/png;base64,AAAA' })] }))).toBe('images[0].url is not https');
  });

  it('allows an http loopback origin only when it is listed', () => {
    const local = validItem({
      images: [{ url: 'http://localhost:8080/demo/media/G-2wLNqpvuDh6Ip.png', thumb: 'http://localhost:8080/demo/media/G-2wLNqpvuDh6Ip.png?name=small' }],
    });
    expect(reasonOf(validateFeedItem(local, demoHosts))).toBeUndefined();
    expect(rejects(local, hosts)).toBe('images[0].url is not https');
    // Another port or loopback name is another origin.
    const otherPort = validItem({ images: [validImage({ url: 'http://localhost:9090/demo/media/a.png' })] });
    expect(rejects(otherPort, demoHosts)).toBe('images[0].url is not https');
    const otherName = validItem({ images: [validImage({ url: 'http://127.0.0.1:8080/demo/media/a.png' })] });
    expect(rejects(otherName, demoHosts)).toBe('images[0].url is not https');
    // The listed origin does not make https on that host acceptable either.
    const httpsLocal = validItem({ images: [validImage({ url: 'https://localhost:8080/demo/media/a.png' })] });
    expect(rejects(httpsLocal, demoHosts)).toBe('images[0].url host localhost is not on the image allow-list');
    // pbs.twimg.com is still allowed next to the origin.
    expect(reasonOf(validateFeedItem(validItem(), demoHosts))).toBeUndefined();
    // cdn.bsky.app is not in this list.
    expect(rejects(validItem({ images: [validImage({ url: 'https://cdn.bsky.app/img/a@jpeg' })] }), demoHosts)).toBe(
      'images[0].url host cdn.bsky.app is not on the image allow-list',
    );
  });

  it('rejects an image URL with credentials, on a host or on a listed origin', () => {
    expect(rejects(validItem({ images: [validImage({ url: 'https://user:pw@pbs.twimg.com/media/a.png' })] }))).toBe('images[0].url carries credentials');
    expect(rejects(validItem({ images: [validImage({ thumb: 'https://user@pbs.twimg.com/media/a.png' })] }))).toBe('images[0].thumb carries credentials');
    const local = validItem({ images: [validImage({ url: 'http://user:pw@localhost:8080/demo/media/a.png' })] });
    expect(rejects(local, demoHosts)).toBe('images[0].url carries credentials');
  });

  it('wants whole, positive pixel dimensions', () => {
    const reason = (field: string) => `images[0].${field} must be a whole number of pixels from 1 to 100000`;
    expect(rejects(validItem({ images: [validImage({ width: 480.5 })] }))).toBe(reason('width'));
    expect(rejects(validItem({ images: [validImage({ width: 0 })] }))).toBe(reason('width'));
    expect(rejects(validItem({ images: [validImage({ width: -480 })] }))).toBe(reason('width'));
    expect(rejects(validItem({ images: [validImage({ width: '480' })] }))).toBe(reason('width'));
    expect(rejects(validItem({ images: [validImage({ height: 100_001 })] }))).toBe(reason('height'));
    expect(rejects(validItem({ images: [validImage({ height: Number.NaN })] }))).toBe(reason('height'));
    expect(reasonOf(validateFeedItem(validItem({ images: [validImage({ width: 1, height: 100_000 })] }), hosts))).toBeUndefined();
  });

  it('wants ISO-8601 UTC timestamps of real dates', () => {
    const reason = (field: string) => `${field} must be an ISO-8601 UTC timestamp such as 2026-01-31T12:00:00.000Z`;
    expect(rejects(validItem({ createdAt: '2026-11-01T12:00:05.000' }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ createdAt: '2026-11-01T12:00:05+01:00' }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ createdAt: '2026-11-01T12:00:05.000+00:00' }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ createdAt: '2026-11-01' }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ createdAt: 'Sun, 01 Nov 2026 12:00:05 GMT' }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ createdAt: 1793534405000 }))).toBe(reason('createdAt'));
    expect(rejects(validItem({ receivedAt: '2026-02-30T12:00:00.000Z' }))).toBe(reason('receivedAt'));
    expect(rejects(validItem({ receivedAt: '2026-02-29T12:00:00Z' }))).toBe(reason('receivedAt'));
    expect(rejects(validItem({ publishedAt: '2026-13-01T12:00:00Z' }))).toBe(reason('publishedAt'));
    expect(rejects(validItem({ publishedAt: '2026-11-01T24:00:00Z' }))).toBe(reason('publishedAt'));
    expect(rejects(validItem({ publishedAt: '2026-11-01T23:60:00Z' }))).toBe(reason('publishedAt'));
    expect(rejects(validItem({ publishedAt: undefined }))).toBe(reason('publishedAt'));
    for (const at of ['2028-02-29T23:59:59Z', '2026-11-01T12:00:05.123456789Z', '2026-12-31T00:00:00.5Z']) {
      expect(reasonOf(validateFeedItem(validItem({ createdAt: at }), hosts)), at).toBeUndefined();
    }
  });

  it('rejects an unknown top-level field', () => {
    expect(rejects(validItem({ extra: true }))).toBe('item has unknown field "extra"');
    expect(rejects(validItem({ __proto__x: 1 }))).toBe('item has unknown field "__proto__x"');
  });

  it('rejects an item over 16 KiB of UTF-8 JSON', () => {
    // 1000 four-byte emoji per alt text: each image is within its own limits, four of them are too much together.
    const image = validImage({ alt: '🐱'.repeat(LIMITS.altChars) });
    const three = validItem({ images: [image, image, image] });
    expect(reasonOf(validateFeedItem(three, hosts))).toBeUndefined();
    const four = validItem({ images: [image, image, image, image] });
    const bytes = encoder.encode(JSON.stringify(four)).byteLength;
    expect(bytes).toBeGreaterThan(16 * 1024);
    expect(rejects(four)).toBe(`item is ${bytes} bytes of JSON, more than 16384`);
  });
});

describe('parseFeedItem', () => {
  it('parses and validates a UTF-8 body', () => {
    const item = validItem();
    const result = parseFeedItem(encoder.encode(JSON.stringify(item)), hosts);
    expect(result).toEqual({ ok: true, item });
    expect(parseFeedItem(JSON.stringify(item), hosts)).toEqual({ ok: true, item });
  });

  it('rejects a body that is not JSON', () => {
    expect(parseFeedItem('{"v":1,', hosts)).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(parseFeedItem(encoder.encode(''), hosts)).toEqual({ ok: false, reason: 'body is not JSON' });
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(parseFeedItem(new Uint8Array([0xff, 0xfe]), hosts)).toEqual({ ok: false, reason: 'body is not valid UTF-8' });
    // A lone surrogate encoded as UTF-8 (CESU) is not UTF-8 either.
    expect(parseFeedItem(new Uint8Array([0x22, 0xed, 0xa0, 0xbd, 0x22]), hosts)).toEqual({ ok: false, reason: 'body is not valid UTF-8' });
  });

  it('rejects an oversize body before parsing it', () => {
    const big = `"${'a'.repeat(16 * 1024)}"`;
    expect(parseFeedItem(encoder.encode(big), hosts)).toEqual({ ok: false, reason: `body is ${big.length} bytes, more than 16384` });
    expect(parseFeedItem(big, hosts)).toEqual({ ok: false, reason: 'body is longer than 16384 bytes' });
  });

  it('reports why valid JSON is not a feed item', () => {
    expect(parseFeedItem(JSON.stringify(validItem({ v: 2 })), hosts)).toEqual({ ok: false, reason: 'v must be 1' });
    expect(parseFeedItem('null', hosts)).toEqual({ ok: false, reason: 'a feed item must be a JSON object' });
  });
});

describe('ImageAllowList', () => {
  it('refuses entries that are neither host names nor https or loopback origins', () => {
    expect(() => new ImageAllowList(['http://example.com'])).toThrow(
      'image host "http://example.com": only https origins, or http on a loopback host, are allowed',
    );
    expect(() => new ImageAllowList(['ftp://localhost'])).toThrow('image host "ftp://localhost": only https origins, or http on a loopback host, are allowed');
    expect(() => new ImageAllowList(['https://'])).toThrow('image host "https://" is not a valid origin');
    expect(() => new ImageAllowList(['pbs twimg.com'])).toThrow('image host "pbs twimg.com" is not a host name');
    expect(() => new ImageAllowList(['.twimg.com'])).toThrow('image host ".twimg.com" is not a host name');
    expect(() => new ImageAllowList(['twimg.com.'])).toThrow('image host "twimg.com." is not a host name');
    expect(() => new ImageAllowList(['pbs.twimg.com/media'])).toThrow('image host "pbs.twimg.com/media" is not a host name');
    expect(() => new ImageAllowList([''])).toThrow('image host "" is not a host name');
  });

  it('accepts host names and https or loopback origins', () => {
    const list = new ImageAllowList(['PBS.twimg.com', 'http://[::1]:8080', 'http://127.0.0.1:3000', 'https://img.example:8443']);
    expect(list.refusal('https://pbs.twimg.com/media/a.png')).toBeUndefined();
    expect(list.refusal('http://[::1]:8080/a.png')).toBeUndefined();
    expect(list.refusal('http://127.0.0.1:3000/a.png')).toBeUndefined();
    expect(list.refusal('https://img.example:8443/a.png')).toBeUndefined();
    expect(list.refusal('https://img.example/a.png')).toBe('host img.example is not on the image allow-list');
  });

  it('lists its entries as CSP sources', () => {
    const list = new ImageAllowList(['pbs.twimg.com', 'CDN.bsky.app', 'http://localhost:8080', 'https://img.example:8443/path', 'pbs.twimg.com']);
    expect(list.cspSources()).toEqual(['https://pbs.twimg.com', 'https://cdn.bsky.app', 'http://localhost:8080', 'https://img.example:8443']);
    expect(new ImageAllowList([]).cspSources()).toEqual([]);
  });
});

describe('feedTopic', () => {
  it('is /topic/feed.<name> for a valid name and throws for others', () => {
    expect(feedTopic('cats')).toBe('/topic/feed.cats');
    expect(feedTopic('cats-2')).toBe('/topic/feed.cats-2');
    expect(() => feedTopic('Cats')).toThrow('invalid feed name "Cats": expected [a-z0-9-]{1,32}');
    expect(() => feedTopic('')).toThrow('invalid feed name ""');
    expect(() => feedTopic('cats.#')).toThrow('invalid feed name "cats.#"');
  });
});

describe('validateFeedItem on random text and links', () => {
  /** The text rules as regexes, as the validator checked them before its one-pass scan. */
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const MARKUP = /<\/?[a-z!][^>]*>/i;
  function textReason(text: string): string | undefined {
    if ([...text].length > LIMITS.textChars) return 'text is longer than 500 characters';
    if (CONTROL.test(text)) return 'text contains control characters or invalid UTF-16';
    if (MARKUP.test(text)) return 'text contains markup';
    return undefined;
  }
  const textUnit = fc.constantFrom('a', ' ', '<', '>', '/', 'b', '!', '\t', '\n', '\r', '\u0000', '\u001f', '\u007f', '\u00a0', '\ud83d', '\udc31', '🐱', 'é');

  it('refuses control characters, lone surrogates, markup and length as the regexes did (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: textUnit, maxLength: 40 }), fc.string({ unit: textUnit, minLength: 490, maxLength: 1010 }), fc.string({ unit: 'binary' })), (text) => {
        expect(reasonOf(validateFeedItem(validItem({ text }), hosts)), JSON.stringify(text)).toBe(textReason(text));
      }),
      { numRuns: 10_000 },
    );
  });

  it('accepts and refuses links as the URL parser reads them, on the hosts their network allows (10,000 cases)', () => {
    const link = fc
      .tuple(
        fc.constantFrom('https://', 'http://', 'https://u:p@', 'HTTPS://', ''),
        fc.oneof(fc.constantFrom('x.com', 'twitter.com', 'X.COM', 'x.com:443', 'x.com:8443', 'x.com.evil.example'), fc.string({ unit: fc.constantFrom(...'ax0-.:[]@% '), maxLength: 10 })),
        fc.constantFrom('', '/', '/a b', '?q', '#f', '\\x'),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(link, (url) => {
        // The oracle: WHATWG URL parsing, then the link rules for an X post.
        let expected: string | undefined;
        try {
          const parsed = new URL(url);
          if (parsed.protocol !== 'https:') expected = 'url is not https';
          else if (parsed.username !== '' || parsed.password !== '') expected = 'url must not carry credentials';
          else if (parsed.port !== '') expected = 'url must use the default https port';
          else if (!['x.com', 'twitter.com'].includes(parsed.hostname)) expected = `url must point to x.com or twitter.com for x posts (got ${parsed.hostname})`;
        } catch {
          expected = 'url is not a URL';
        }
        expect(reasonOf(validateFeedItem(validItem({ url }), hosts)), url).toBe(expected);
      }),
      { numRuns: 10_000 },
    );
  });

  it('keeps X and Bluesky links on their own sites, and a Mastodon post\'s link on its author\'s instance', () => {
    expect(rejects(validItem({ url: 'https://evil.example/midnightzoomies/status/1' }))).toBe('url must point to x.com or twitter.com for x posts (got evil.example)');
    expect(rejects(validItem({ author: { handle: 'midnightzoomies', url: 'https://evil.example/midnightzoomies' } }))).toBe('author.url must point to x.com or twitter.com for x posts (got evil.example)');
    const sky = { network: 'bluesky', id: 'bluesky:did:plc:abc/3k', author: { handle: 'cats.bsky.social', url: 'https://bsky.app/profile/did:plc:abc' } } as const;
    expect(reasonOf(validateFeedItem(validItem({ ...sky, url: 'https://bsky.app/profile/did:plc:abc/post/3k' }), hosts))).toBeUndefined();
    expect(rejects(validItem({ ...sky, url: 'https://bsky.app.evil.example/profile/did:plc:abc/post/3k' }))).toBe('url must point to bsky.app for bluesky posts (got bsky.app.evil.example)');
    const toot = { network: 'mastodon', id: 'mastodon:chaos.social/1', url: 'https://chaos.social/@cat/1' } as const;
    expect(reasonOf(validateFeedItem(validItem({ ...toot, author: { handle: 'cat@chaos.social', url: 'https://chaos.social/@cat' } }), hosts))).toBeUndefined();
    expect(reasonOf(validateFeedItem(validItem({ ...toot, author: { handle: 'cat@chaos.social' } }), hosts))).toBeUndefined();
    expect(rejects(validItem({ ...toot, author: { handle: 'cat@chaos.social', url: 'https://evil.example/@cat' } }))).toBe("author.url must be on the post's host (chaos.social), not evil.example");
    expect(rejects(validItem({ ...toot, url: 'https://user:pw@chaos.social/@cat/1', author: { handle: 'cat' } }))).toBe('url must not carry credentials');
  });

  it("takes a pending item's image check scores, one per picture, and refuses malformed ones", () => {
    const scores = { Drawing: 0.1, Hentai: 0, Neutral: 0.2, Porn: 0.7, Sexy: 0 };
    expect(reasonOf(validateFeedItem(validItem({ imageCheck: { scores: [scores], flagged: 'Porn' } }), hosts))).toBeUndefined();
    expect(reasonOf(validateFeedItem(validItem({ imageCheck: { scores: [scores] } }), hosts))).toBeUndefined();
    expect(rejects(validItem({ imageCheck: { scores: [scores, scores] } }))).toBe('imageCheck.scores must be a list of 1 (one for each image)');
    expect(rejects(validItem({ imageCheck: { scores: [{ ...scores, Porn: 1.5 }] } }))).toBe('imageCheck.scores[0].Porn must be a number from 0 to 1');
    expect(rejects(validItem({ imageCheck: { scores: [{ ...scores, Gore: 0 }] } }))).toBe('imageCheck.scores[0] has unknown field "Gore"');
    expect(rejects(validItem({ imageCheck: { scores: [{ ...scores, Sexy: undefined }] } }))).toBe('imageCheck.scores[0].Sexy must be a number from 0 to 1');
    expect(rejects(validItem({ imageCheck: { scores: [scores], flagged: 'Drawing' } }))).toBe('imageCheck.flagged must be one of Porn, Hentai, Sexy');
    expect(rejects(validItem({ imageCheck: { scores: [scores], note: 'x' } }))).toBe('imageCheck has unknown field "note"');
  });
});
