/**
 * The page in a real Chromium against the real test broker: built with Vite, served by createApp, fed by STOMP
 * SENDs as admin (web/test/wall-harness.ts). The live behaviours (pause, the "N new" pill, hidden tabs, feed
 * switching, the workers' status) are in wall-live.it.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker } from '../test/broker.js';
import { TcpProxy } from '../test/tcp-proxy.js';
import { BACKFILLED, WallHarness, invalidCount, tileIds, type OpenOptions, type WallPage } from './test/wall-harness.js';

const harness = new WallHarness('web');
const feedName = (label: string): string => harness.feedName(label);
const FEEDS = ['live', 'invalid', 'dupe', 'order', 'replay'].map(feedName);

beforeAll(() => harness.start(FEEDS));
afterAll(() => harness.close());

const feedItem: WallHarness['feedItem'] = (...args) => harness.feedItem(...args);
const publish: WallHarness['publish'] = (...args) => harness.publish(...args);
/** These tests open the wall with the older `?feed=` link, which must keep working. */
const openWall = (feed: string, origin?: string): Promise<WallPage> => {
  const options: OpenOptions = { link: 'query' };
  if (origin !== undefined) options.origin = origin;
  return harness.openWall(feed, options);
};

describe('the wall in Chromium', () => {
  it('is served with a CSP that names the broker, goes live, and shows a post published afterwards', async () => {
    const feed = feedName('live');
    const { page, problems, cspHeader } = await openWall(feed);
    expect(cspHeader).toContain(`connect-src 'self' ${testBroker().wsUrl}`);
    expect(cspHeader).toContain(`img-src 'self' https://pbs.twimg.com https://cdn.bsky.app ${harness.base}`);
    expect(cspHeader).not.toContain('upgrade-insecure-requests');
    expect(await page.textContent('[data-testid="status"]')).toContain('Live');

    const text = 'Tom & Jerry said "hi" <3 & 5 > 3 — it\'s <b no tag';
    const item = feedItem(feed, harness.base, {
      text,
      author: { handle: 'tom.example', name: 'Tom & "Jerry"' },
      images: [
        { url: `${harness.base}/demo/media/cat-1.png`, thumb: `${harness.base}/demo/media/cat-1.png`, alt: 'An orange cat', width: 320, height: 320 },
        { url: `${harness.base}/demo/media/cat-2.png`, thumb: `${harness.base}/demo/media/cat-2.png` },
      ],
    });
    publish(feed, item);

    const tile = page.locator(`[data-testid="tile"][data-id="${item.id}"]`);
    await tile.waitFor();
    expect(await tile.locator('.tile-text').textContent()).toBe(text);
    expect(await tile.locator('.tile-author').textContent()).toBe('Tom & "Jerry"\n@tom.example');
    expect(await tile.locator('.tile-text b').count()).toBe(0);
    expect(await tile.locator('time').getAttribute('datetime')).toBe(item.createdAt);

    const link = tile.locator('a.tile-media');
    expect(await link.getAttribute('href')).toBe(item.url);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('aria-label')).toBe('An orange cat. 2 images. Open the post by @tom.example on Bluesky');
    // The count badge is the link's ::after, drawn from data-images.
    expect(await link.getAttribute('data-images')).toBe('2');
    expect(await link.evaluate((element) => getComputedStyle(element, '::after').display)).not.toBe('none');

    const img = tile.locator('img');
    expect(await img.getAttribute('src')).toBe(`${harness.base}/demo/media/cat-1.png`);
    expect(await img.getAttribute('alt')).toBe('An orange cat');
    expect(await img.getAttribute('referrerpolicy')).toBe('no-referrer');
    expect(await img.getAttribute('loading')).toBe('lazy');
    expect(await img.getAttribute('decoding')).toBe('async');
    await expect.poll(() => img.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth)).toBe(320);

    expect(await page.textContent('[data-testid="item-count"]')).toBe('1');
    expect(await invalidCount(page)).toBe('0');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('skips and counts invalid messages', async () => {
    const feed = feedName('invalid');
    const { page, problems } = await openWall(feed);
    publish(feed, '{"this is": not JSON');
    publish(feed, feedItem(feed, harness.base, { images: [{ url: 'https://evil.example/a.png', thumb: 'https://evil.example/a.png' }] }));
    publish(feed, feedItem(feed, harness.base, { text: 'hello <b>x</b>' }));
    publish(feed, feedItem(feedName('live'), harness.base)); // valid, but for another feed
    const valid = feedItem(feed, harness.base);
    publish(feed, valid);

    await page.locator(`[data-testid="tile"][data-id="${valid.id}"]`).waitFor();
    await expect.poll(() => invalidCount(page)).toBe('4');
    expect(await tileIds(page)).toEqual([valid.id]);
    expect(await page.locator('img[src^="https://evil.example"]').count()).toBe(0);
    expect(problems.filter((problem) => !problem.includes('skipped an invalid message'))).toEqual([]);
    await page.context().close();
  });

  it('shows an item sent twice once', async () => {
    const feed = feedName('dupe');
    const { page } = await openWall(feed);
    const twice = feedItem(feed, harness.base);
    publish(feed, twice);
    publish(feed, twice);
    const after = feedItem(feed, harness.base);
    publish(feed, after);

    await page.locator(`[data-testid="tile"][data-id="${after.id}"]`).waitFor();
    expect(await tileIds(page)).toEqual([after.id, twice.id]);
    expect(await invalidCount(page)).toBe('0');
    await page.context().close();
  });

  it('shows the newest first', async () => {
    const feed = feedName('order');
    const { page } = await openWall(feed);
    const items = [feedItem(feed, harness.base), feedItem(feed, harness.base), feedItem(feed, harness.base)];
    for (const item of items) publish(feed, item);

    await expect.poll(() => tileIds(page)).toEqual(items.map((item) => item.id).reverse());
    await page.context().close();
  });

  it('shows the broker’s recent items on opening, and no duplicates after a reload', async () => {
    const feed = feedName('replay');
    const items = [feedItem(feed, harness.base), feedItem(feed, harness.base), feedItem(feed, harness.base)];
    for (const item of items) publish(feed, item);
    // The publisher's own subscription would be the simplest proof they reached the broker; the page is enough.
    const { page } = await openWall(feed);
    const expected = items.map((item) => item.id).reverse();
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual(expected);

    await page.reload();
    await page.waitForSelector('[data-testid="status"][data-state="live"]');
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual(expected);
    await page.context().close();
  });

  it('fails over to the next broker URL and reconnects after a cut, filling the gap without duplicates', async () => {
    const broker = testBroker();
    const { proxy, url: proxyUrl } = await harness.brokerProxy();
    // A port nobody listens on: the first URL fails, the page must move on to the second.
    const dead = new TcpProxy(broker.host, broker.stompPort);
    const deadUrl = `ws://127.0.0.1:${await dead.listen()}`;
    await dead.close();
    const feed = feedName('failover');
    const origin = await harness.serve((own) => ({
      brokerUrls: [deadUrl, proxyUrl],
      feeds: [{ name: feed, title: 'Failover' }],
      imageHosts: [own],
    }));

    const { page, cspHeader } = await openWall(feed, origin);
    expect(cspHeader).toContain(`connect-src 'self' ${deadUrl} ${proxyUrl}`);
    const before = feedItem(feed, origin);
    publish(feed, before);
    await page.locator(`[data-testid="tile"][data-id="${before.id}"]`).waitFor();

    proxy.cut();
    await page.waitForSelector('[data-testid="status"][data-state="reconnecting"]');
    expect(await page.textContent('[data-testid="status"]')).toMatch(/Reconnecting/);
    // Published while the page is away: the broker's replay brings it back, together with `before` again.
    const during = feedItem(feed, origin);
    publish(feed, during);

    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 30_000 });
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([during.id, before.id]);
    expect(await invalidCount(page)).toBe('0');
    await page.context().close();
  });

  it('shows a clear message for an unknown feed instead of a blank page', async () => {
    const page = await harness.browser.newPage();
    await page.goto(`${harness.base}/?feed=no-such-feed`);
    await page.waitForSelector('[data-testid="status"][data-state="error"]');
    expect(await page.textContent('#notice')).toMatch(/no feed named "no-such-feed"/);
    expect(await page.locator('.feed-tab').count()).toBe(FEEDS.length);
    await page.context().close();
  });

  it('shows a clear message for a bad /config.json instead of a blank page', async () => {
    const page = await harness.browser.newPage();
    await page.route('**/config.json', (route) =>
      route.fulfill({ json: { broker: { urls: ['http://not-a-websocket'] }, feeds: [{ name: 'cats' }], imageHosts: ['pbs.twimg.com'] } }),
    );
    await page.goto(`${harness.base}/`);
    await page.waitForSelector('[data-testid="status"][data-state="error"]');
    expect(await page.textContent('#notice')).toMatch(/misconfigured.*broker\.urls\[0\].*ws:\/\/ or wss:\/\//);
    await page.context().close();
  });
});
