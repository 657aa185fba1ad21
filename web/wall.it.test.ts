/**
 * The page in a real Chromium against the real test broker: built with Vite, served by createApp, fed by STOMP
 * SENDs as admin.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@stomp/stompjs';
import type { FeedItem } from '@livewall/contract';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker } from '../test/broker.js';
import { connectStomp } from '../test/stomp.js';
import { createApp, type WebOptions } from './server/server.js';
import { CAT_LOOKS, catPng } from './test/png.js';
import { TcpProxy } from '../test/tcp-proxy.js';

const webDir = path.dirname(fileURLToPath(import.meta.url));
const run = randomBytes(4).toString('hex');
/** A feed of its own for each test: the broker replays a feed's last items to new subscribers. */
const feedName = (label: string): string => `web-${run}-${label}`;
const FEEDS = ['live', 'invalid', 'dupe', 'order', 'replay'].map(feedName);

let dir: string;
let browser: Browser;
let publisher: Client;
let base: string;
const servers: Server[] = [];
const proxies: TcpProxy[] = [];

/** Serves createApp(options) on a free port; the options may depend on the port (the image host entry). */
async function serve(options: (origin: string) => WebOptions): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', createApp(options(origin)));
  return origin;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livewall-wall-it-'));
  const outDir = path.join(dir, 'dist');
  const media = path.join(dir, 'media');
  await build({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  await mkdir(media);
  await Promise.all(CAT_LOOKS.map((look, index) => writeFile(path.join(media, `cat-${index}.png`), catPng(look))));

  const broker = testBroker();
  base = await serve((origin) => ({
    webRoot: outDir,
    brokerUrls: [broker.wsUrl],
    feeds: FEEDS.map((name) => ({ name, title: name })),
    imageHosts: [origin],
    demoMedia: media,
  }));
  publisher = await connectStomp(broker.wsUrl, { login: 'admin', passcode: broker.passwords.admin });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

afterAll(async () => {
  await browser?.close();
  await publisher?.deactivate();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

let sequence = 0;

function feedItem(feed: string, origin: string, change: Partial<FeedItem> = {}): FeedItem {
  const n = ++sequence;
  const now = new Date(Date.now() - 1000 + n).toISOString();
  return {
    v: 1,
    id: `bluesky:${run}-${n}`,
    feed,
    network: 'bluesky',
    url: `https://bsky.app/profile/alice.bsky.social/post/${run}${n}`,
    author: { handle: 'alice.bsky.social', name: 'Alice' },
    text: `post number ${n}`,
    images: [{ url: `${origin}/demo/media/cat-${n % CAT_LOOKS.length}.png`, thumb: `${origin}/demo/media/cat-${n % CAT_LOOKS.length}.png`, alt: 'A cat', width: 320, height: 320 }],
    createdAt: now,
    receivedAt: now,
    publishedAt: now,
    ...change,
  };
}

function publish(feed: string, body: FeedItem | string): void {
  publisher.publish({ destination: `/topic/feed.${feed}`, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

interface WallPage {
  page: Page;
  /** Console errors and CSP violations seen by the page. */
  problems: string[];
  cspHeader: string;
}

async function openWall(feed: string, origin = base): Promise<WallPage> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy|Refused to/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const response = await page.goto(`${origin}/?feed=${feed}`);
  expect(response?.status()).toBe(200);
  await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 20_000 });
  return { page, problems, cspHeader: (await response?.headerValue('content-security-policy')) ?? '' };
}

const tileIds = (page: Page): Promise<string[]> => page.$$eval('[data-testid="tile"]', (tiles) => tiles.map((tile) => (tile as HTMLElement).dataset.id ?? ''));
const invalidCount = (page: Page): Promise<string | null> => page.textContent('[data-testid="invalid-count"]');

describe('the wall in Chromium', () => {
  it('is served with a CSP that names the broker, goes live, and shows a post published afterwards', async () => {
    const feed = feedName('live');
    const { page, problems, cspHeader } = await openWall(feed);
    expect(cspHeader).toContain(`connect-src 'self' ${testBroker().wsUrl}`);
    expect(cspHeader).toContain(`img-src 'self' https://pbs.twimg.com https://cdn.bsky.app ${base}`);
    expect(cspHeader).not.toContain('upgrade-insecure-requests');
    expect(await page.textContent('[data-testid="status"]')).toContain('Live');

    const text = 'Tom & Jerry said "hi" <3 & 5 > 3 — it\'s <b no tag';
    const item = feedItem(feed, base, {
      text,
      author: { handle: 'tom.example', name: 'Tom & "Jerry"' },
      images: [
        { url: `${base}/demo/media/cat-1.png`, thumb: `${base}/demo/media/cat-1.png`, alt: 'An orange cat', width: 320, height: 320 },
        { url: `${base}/demo/media/cat-2.png`, thumb: `${base}/demo/media/cat-2.png` },
      ],
    });
    publish(feed, item);

    const tile = page.locator(`[data-testid="tile"][data-id="${item.id}"]`);
    await tile.waitFor();
    expect(await tile.locator('.tile-text').textContent()).toBe(text);
    expect(await tile.locator('.author-name').textContent()).toBe('Tom & "Jerry"');
    expect(await tile.locator('.author-handle').textContent()).toBe('@tom.example');
    expect(await tile.locator('.tile-text b').count()).toBe(0);
    expect(await tile.locator('.badge').textContent()).toBe('2');
    expect(await tile.locator('time').getAttribute('datetime')).toBe(item.createdAt);

    const link = tile.locator('a.tile-media');
    expect(await link.getAttribute('href')).toBe(item.url);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');

    const img = tile.locator('img');
    expect(await img.getAttribute('src')).toBe(`${base}/demo/media/cat-1.png`);
    expect(await img.getAttribute('alt')).toBe('An orange cat');
    expect(await img.getAttribute('referrerpolicy')).toBe('no-referrer');
    expect(await img.getAttribute('loading')).toBeNull();
    await expect.poll(() => img.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth)).toBe(320);

    expect(await page.textContent('[data-testid="item-count"]')).toBe('1');
    expect(await invalidCount(page)).toBe('0');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('skips and counts invalid messages', async () => {
    const feed = feedName('invalid');
    const { page, problems } = await openWall(feed);
    publish(feed, '{"this is": not JSON');
    publish(feed, feedItem(feed, base, { images: [{ url: 'https://evil.example/a.png', thumb: 'https://evil.example/a.png' }] }));
    publish(feed, feedItem(feed, base, { text: 'hello <b>x</b>' }));
    publish(feed, feedItem(feedName('live'), base)); // valid, but for another feed
    const valid = feedItem(feed, base);
    publish(feed, valid);

    await page.locator(`[data-testid="tile"][data-id="${valid.id}"]`).waitFor();
    await expect.poll(() => invalidCount(page)).toBe('4');
    expect(await tileIds(page)).toEqual([valid.id]);
    expect(await page.locator('img[src^="https://evil.example"]').count()).toBe(0);
    expect(problems.filter((problem) => !problem.includes('skipped an invalid message'))).toEqual([]);
    await page.close();
  });

  it('shows an item sent twice once', async () => {
    const feed = feedName('dupe');
    const { page } = await openWall(feed);
    const twice = feedItem(feed, base);
    publish(feed, twice);
    publish(feed, twice);
    const after = feedItem(feed, base);
    publish(feed, after);

    await page.locator(`[data-testid="tile"][data-id="${after.id}"]`).waitFor();
    expect(await tileIds(page)).toEqual([after.id, twice.id]);
    expect(await invalidCount(page)).toBe('0');
    await page.close();
  });

  it('shows the newest first', async () => {
    const feed = feedName('order');
    const { page } = await openWall(feed);
    const items = [feedItem(feed, base), feedItem(feed, base), feedItem(feed, base)];
    for (const item of items) publish(feed, item);

    await expect.poll(() => tileIds(page)).toEqual(items.map((item) => item.id).reverse());
    await page.close();
  });

  it('shows the broker’s recent items on opening, and no duplicates after a reload', async () => {
    const feed = feedName('replay');
    const items = [feedItem(feed, base), feedItem(feed, base), feedItem(feed, base)];
    for (const item of items) publish(feed, item);
    // The publisher's own subscription would be the simplest proof they reached the broker; the page is enough.
    const { page } = await openWall(feed);
    const expected = items.map((item) => item.id).reverse();
    await expect.poll(() => tileIds(page)).toEqual(expected);

    await page.reload();
    await page.waitForSelector('[data-testid="status"][data-state="live"]');
    await expect.poll(() => tileIds(page)).toEqual(expected);
    await page.close();
  });

  it('fails over to the next broker URL and reconnects after a cut, filling the gap without duplicates', async () => {
    const broker = testBroker();
    const proxy = new TcpProxy(broker.host, broker.stompPort);
    const proxyPort = await proxy.listen();
    proxies.push(proxy);
    // A port nobody listens on: the first URL fails, the page must move on to the second.
    const dead = new TcpProxy(broker.host, broker.stompPort);
    const deadUrl = `ws://127.0.0.1:${await dead.listen()}`;
    await dead.close();
    const feed = feedName('failover');
    const origin = await serve((own) => ({
      webRoot: path.join(dir, 'dist'),
      brokerUrls: [deadUrl, `ws://127.0.0.1:${proxyPort}`],
      feeds: [{ name: feed, title: 'Failover' }],
      imageHosts: [own],
      demoMedia: path.join(dir, 'media'),
    }));

    const { page, cspHeader } = await openWall(feed, origin);
    expect(cspHeader).toContain(`connect-src 'self' ${deadUrl} ws://127.0.0.1:${proxyPort}`);
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
    await expect.poll(() => tileIds(page)).toEqual([during.id, before.id]);
    expect(await invalidCount(page)).toBe('0');
    await page.close();
  });

  it('shows a clear message for an unknown feed instead of a blank page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/?feed=no-such-feed`);
    await page.waitForSelector('[data-testid="status"][data-state="error"]');
    expect(await page.textContent('#notice')).toMatch(/no feed named "no-such-feed"/);
    expect(await page.locator('.feed-tab').count()).toBe(FEEDS.length);
    await page.close();
  });

  it('shows a clear message for a bad /config.json instead of a blank page', async () => {
    const page = await browser.newPage();
    await page.route('**/config.json', (route) =>
      route.fulfill({ json: { broker: { urls: ['http://not-a-websocket'] }, feeds: [{ name: 'cats' }], imageHosts: ['pbs.twimg.com'] } }),
    );
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid="status"][data-state="error"]');
    expect(await page.textContent('#notice')).toMatch(/misconfigured.*broker\.urls\[0\].*ws:\/\/ or wss:\/\//);
    await page.close();
  });
});
