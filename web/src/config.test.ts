import { describe, expect, it } from 'vitest';
import { HEARTBEAT_MS } from './connection.js';
import { DEFAULT_MAX_ITEMS, DEFAULT_STATUS_TOPIC, feedHref, parseConfig, selectFeed, wantedFeed } from './config.js';

const good = {
  broker: { urls: ['ws://localhost:61614', 'wss://broker.example/ws'], profile: 'rabbitmq' },
  feeds: [
    { name: 'cats', title: 'Cats' },
    { name: 'dogs', title: 'Dogs' },
  ],
  imageHosts: ['pbs.twimg.com', 'cdn.bsky.app', 'http://localhost:8080'],
  maxItems: 120,
  statusTopic: '/topic/status.eu',
  heartbeatMs: 4_000,
  screen: { always: true, highlightMs: 2_000, quietMs: 10_000, versionCheckMs: 5_000 },
  branding: { title: 'Caturday', logo: '/logo.svg', accent: '#ee55aa', callToAction: 'Post with #caturday', callToActionUrl: 'https://example.org/caturday' },
};

/** A copy of `good` that tests may break in any way: fields are loosely typed on purpose. */
interface Loose {
  broker: { urls: unknown[]; login?: unknown; passcode?: unknown; profile?: unknown };
  feeds: Record<string, unknown>[];
  imageHosts: unknown[];
  maxItems?: unknown;
  statusTopic?: unknown;
  heartbeatMs?: unknown;
  screen?: Record<string, unknown>;
  branding?: Record<string, unknown>;
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

  it('keeps login and passcode, defaults maxItems, the status topic, the heart-beats and feed titles', () => {
    const result = parseConfig({
      broker: { urls: ['ws://localhost:61614'], login: 'viewer', passcode: 'pw' },
      feeds: [{ name: 'cats' }],
      imageHosts: ['pbs.twimg.com'],
    });
    expect(result).toMatchObject({
      ok: true,
      config: {
        broker: { urls: ['ws://localhost:61614'], login: 'viewer', passcode: 'pw', profile: 'artemis' },
        feeds: [{ name: 'cats', title: 'cats' }],
        maxItems: DEFAULT_MAX_ITEMS,
        statusTopic: DEFAULT_STATUS_TOPIC,
        heartbeatMs: HEARTBEAT_MS,
      },
    });
    expect(DEFAULT_MAX_ITEMS).toBe(200);
    expect(DEFAULT_STATUS_TOPIC).toBe('/topic/status.workers');
  });

  it('defaults screen mode to off with the default timings, and the branding to none', () => {
    const result = parseConfig({ broker: { urls: ['ws://localhost:61614'] }, feeds: [{ name: 'cats' }], imageHosts: ['pbs.twimg.com'] });
    expect(result).toMatchObject({ ok: true, config: { screen: { always: false, highlightMs: 8_000, quietMs: 30_000, versionCheckMs: 60_000 }, branding: {} } });
  });

  it('takes "" as no status topic', () => {
    expect(parseConfig({ ...good, statusTopic: '' })).toMatchObject({ ok: true, config: { statusTopic: '' } });
  });

  it.each([
    ['not an object', [], /JSON object/],
    ['no broker', withChange((c) => delete (c as Partial<Loose>).broker), /^broker must be/],
    ['no broker urls', withChange((c) => (c.broker.urls = [])), /^broker\.urls must list/],
    ['an http broker url', withChange((c) => (c.broker.urls = ['http://localhost:61614'])), /^broker\.urls\[0\].*ws:\/\/ or wss:\/\//],
    ['screen not an object', withChange((c) => ((c as { screen: unknown }).screen = 'on')), /^screen must be an object/],
    ['screen.always not a boolean', withChange((c) => (c.screen!.always = 'yes')), /^screen\.always/],
    ['a highlight too short', withChange((c) => (c.screen!.highlightMs = 10)), /^screen\.highlightMs must be/],
    ['a version check that is no number', withChange((c) => (c.screen!.versionCheckMs = '5s')), /^screen\.versionCheckMs must be/],
    ['an accent that is no colour', withChange((c) => (c.branding!.accent = 'url(x)')), /^branding: accent/],
    ['a logo off the allow-list', withChange((c) => (c.branding!.logo = 'https://evil.example/logo.png')), /^branding: logo .*allow-list/],
    ['a title with a line break', withChange((c) => (c.branding!.title = 'two\nlines')), /^branding: title must be one line/],
    ['a javascript: call-to-action URL', withChange((c) => (c.branding!.callToActionUrl = 'javascript:alert(1)')), /^branding: callToActionUrl .*https/],
    ['an unknown branding field', withChange((c) => (c.branding!.style = 'x')), /^branding has an unknown field "style"|^branding: branding has an unknown field "style"/],
    ['a broker url that is no URL', withChange((c) => (c.broker.urls = ['localhost'])), /^broker\.urls\[0\] "localhost" is not a URL/],
    ['credentials in a broker url', withChange((c) => (c.broker.urls = ['ws://u:p@localhost:1'])), /credentials/],
    ['a numeric login', withChange((c) => (c.broker.login = 5)), /^broker\.login must be a string/],
    ['a passcode without login', withChange((c) => (c.broker.passcode = 'x')), /broker\.login is not/],
    ['an unknown broker profile', withChange((c) => (c.broker.profile = 'kafka')), /^broker\.profile must be one of artemis, rabbitmq$/],
    ['a broker profile that is no string', withChange((c) => (c.broker.profile = 1)), /^broker\.profile must be one of/],
    ['no feeds', withChange((c) => (c.feeds = [])), /^feeds must list/],
    ['a bad feed name', withChange((c) => (c.feeds[1]!.name = 'Dogs!')), /^feeds\[1\]\.name must match/],
    ['a feed twice', withChange((c) => (c.feeds[1]!.name = 'cats')), /listed twice/],
    ['no image hosts', withChange((c) => (c.imageHosts = [])), /^imageHosts must list/],
    ['a bad image host', withChange((c) => (c.imageHosts = ['http://example.com'])), /^imageHosts: .*only https/],
    ['a non-string image host', withChange((c) => (c.imageHosts = [42])), /^imageHosts\[0\] must be a string/],
    ['maxItems 0', withChange((c) => (c.maxItems = 0)), /^maxItems must be/],
    ['maxItems 2.5', withChange((c) => (c.maxItems = 2.5)), /^maxItems must be/],
    ['maxItems as text', withChange((c) => (c.maxItems = '120')), /^maxItems must be/],
    ['a status topic without /topic/', withChange((c) => (c.statusTopic = 'status.workers')), /^statusTopic must be/],
    ['a status topic with a wildcard', withChange((c) => (c.statusTopic = '/topic/status.#')), /^statusTopic must be/],
    ['a numeric status topic', withChange((c) => (c.statusTopic = 5)), /^statusTopic must be/],
    ['heart-beats under a second', withChange((c) => (c.heartbeatMs = 999)), /^heartbeatMs must be .* from 1000 to 60000$/],
    ['heart-beats over a minute', withChange((c) => (c.heartbeatMs = 60_001)), /^heartbeatMs must be/],
    ['heart-beats as text', withChange((c) => (c.heartbeatMs = '4000')), /^heartbeatMs must be/],
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
  const at = (hash: string, search = ''): { hash: string; search: string } => ({ hash, search });

  it('takes the first feed by default', () => {
    expect(selectFeed(feeds, at(''))).toEqual({ ok: true, feed: feeds[0] });
    expect(selectFeed(feeds, at('#', '?feed='))).toEqual({ ok: true, feed: feeds[0] });
    expect(selectFeed(feeds, at('#/', '?other=1'))).toEqual({ ok: true, feed: feeds[0] });
  });

  it('takes #/name, the deep link', () => {
    expect(selectFeed(feeds, at('#/dogs'))).toEqual({ ok: true, feed: feeds[1] });
    expect(selectFeed(feeds, at('#dogs'))).toEqual({ ok: true, feed: feeds[1] });
  });

  it('still takes ?feed=name, the older link, unless the hash names a feed', () => {
    expect(selectFeed(feeds, at('', '?feed=dogs'))).toEqual({ ok: true, feed: feeds[1] });
    expect(selectFeed(feeds, at('#/cats', '?feed=dogs'))).toEqual({ ok: true, feed: feeds[0] });
  });

  it('names the known feeds for an unknown one', () => {
    expect(selectFeed(feeds, at('', '?feed=birds'))).toEqual({ ok: false, error: 'there is no feed named "birds"; this wall shows: cats, dogs' });
    expect(selectFeed(feeds, at('#/%3Cb%3E'))).toEqual({ ok: false, error: 'there is no feed named "<b>"; this wall shows: cats, dogs' });
    expect(wantedFeed(at('#/%E0%A4%A'))).toBe('%E0%A4%A');
  });

  it('links every feed by its hash', () => {
    expect(feedHref(feeds[0]!)).toBe('#/cats');
    expect(feedHref(feeds[1]!)).toBe('#/dogs');
  });
});
