import { describe, expect, it } from 'vitest';
import { feedHref, parseConfig, selectFeed } from './config.js';

const good = {
  broker: { urls: ['ws://localhost:61614', 'wss://broker.example/ws'] },
  feeds: [
    { name: 'cats', title: 'Cats' },
    { name: 'dogs', title: 'Dogs' },
  ],
  imageHosts: ['pbs.twimg.com', 'cdn.bsky.app', 'http://localhost:8080'],
  maxItems: 120,
};

/** A copy of `good` that tests may break in any way: fields are loosely typed on purpose. */
interface Loose {
  broker: { urls: unknown[]; login?: unknown; passcode?: unknown };
  feeds: Record<string, unknown>[];
  imageHosts: unknown[];
  maxItems?: unknown;
}

function withChange(change: (config: Loose) => void): unknown {
  const copy: Loose = structuredClone(good);
  change(copy);
  return copy;
}

function errorOf(value: unknown, pageProtocol?: string): string {
  const result = parseConfig(value, pageProtocol);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.error;
}

describe('parseConfig', () => {
  it('accepts the server’s configuration and builds the image allow-list', () => {
    const result = parseConfig(good, 'http:');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toEqual(good);
    expect(result.allowList.refusal('https://cdn.bsky.app/img/x@jpeg')).toBeUndefined();
    expect(result.allowList.refusal('http://localhost:8080/demo/media/a.png')).toBeUndefined();
    expect(result.allowList.refusal('https://evil.example/a.png')).toMatch(/allow-list/);
  });

  it('keeps login and passcode, defaults maxItems and feed titles', () => {
    const result = parseConfig({
      broker: { urls: ['ws://localhost:61614'], login: 'viewer', passcode: 'pw' },
      feeds: [{ name: 'cats' }],
      imageHosts: ['pbs.twimg.com'],
    });
    expect(result).toMatchObject({
      ok: true,
      config: { broker: { urls: ['ws://localhost:61614'], login: 'viewer', passcode: 'pw' }, feeds: [{ name: 'cats', title: 'cats' }], maxItems: 120 },
    });
  });

  it.each([
    ['not an object', [], /JSON object/],
    ['no broker', withChange((c) => delete (c as Partial<Loose>).broker), /^broker must be/],
    ['no broker urls', withChange((c) => (c.broker.urls = [])), /^broker\.urls must list/],
    ['an http broker url', withChange((c) => (c.broker.urls = ['http://localhost:61614'])), /^broker\.urls\[0\].*ws:\/\/ or wss:\/\//],
    ['a broker url that is no URL', withChange((c) => (c.broker.urls = ['localhost'])), /^broker\.urls\[0\] "localhost" is not a URL/],
    ['credentials in a broker url', withChange((c) => (c.broker.urls = ['ws://u:p@localhost:1'])), /credentials/],
    ['a numeric login', withChange((c) => (c.broker.login = 5)), /^broker\.login must be a string/],
    ['a passcode without login', withChange((c) => (c.broker.passcode = 'x')), /broker\.login is not/],
    ['no feeds', withChange((c) => (c.feeds = [])), /^feeds must list/],
    ['a bad feed name', withChange((c) => (c.feeds[1]!.name = 'Dogs!')), /^feeds\[1\]\.name must match/],
    ['a feed twice', withChange((c) => (c.feeds[1]!.name = 'cats')), /listed twice/],
    ['no image hosts', withChange((c) => (c.imageHosts = [])), /^imageHosts must list/],
    ['a bad image host', withChange((c) => (c.imageHosts = ['http://example.com'])), /^imageHosts: .*only https/],
    ['a non-string image host', withChange((c) => (c.imageHosts = [42])), /^imageHosts\[0\] must be a string/],
    ['maxItems 0', withChange((c) => (c.maxItems = 0)), /^maxItems must be/],
    ['maxItems 2.5', withChange((c) => (c.maxItems = 2.5)), /^maxItems must be/],
    ['maxItems as text', withChange((c) => (c.maxItems = '120')), /^maxItems must be/],
  ])('refuses %s with a message naming the field', (_what, value, message) => {
    expect(errorOf(value)).toMatch(message);
  });

  it('refuses ws:// on an https page (mixed content) but not wss://', () => {
    expect(errorOf(good, 'https:')).toMatch(/^broker\.urls\[0\] .* use wss:\/\//);
    expect(parseConfig(withChange((c) => (c.broker.urls = ['wss://broker.example'])), 'https:').ok).toBe(true);
  });
});

describe('selectFeed', () => {
  const feeds = good.feeds;

  it('takes the first feed by default', () => {
    expect(selectFeed(feeds, '')).toEqual({ ok: true, feed: feeds[0] });
    expect(selectFeed(feeds, '?feed=')).toEqual({ ok: true, feed: feeds[0] });
    expect(selectFeed(feeds, '?other=1')).toEqual({ ok: true, feed: feeds[0] });
  });

  it('takes ?feed=name', () => {
    expect(selectFeed(feeds, '?feed=dogs')).toEqual({ ok: true, feed: feeds[1] });
  });

  it('names the known feeds for an unknown one', () => {
    expect(selectFeed(feeds, '?feed=birds')).toEqual({ ok: false, error: 'there is no feed named "birds"; this wall shows: cats, dogs' });
  });

  it('links the first feed without a parameter', () => {
    expect(feedHref(feeds, feeds[0]!)).toBe('./');
    expect(feedHref(feeds, feeds[1]!)).toBe('?feed=dogs');
  });
});
