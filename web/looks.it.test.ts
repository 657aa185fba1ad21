/**
 * How the page looks, in a real Chromium against the real test broker (built with Vite, served by createApp, fed by
 * STOMP SENDs as admin): both colour schemes readable, reduced motion honoured, a phone-width grid that fits, and a
 * focus ring a keyboard user can see. Colours are read back with getComputedStyle, so the check is on what the
 * browser resolved, not on what style.css says.
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
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { connectStomp } from '../test/stomp.js';
import { createApp } from './server/server.js';
import { CAT_LOOKS, catPng } from './test/png.js';

const webDir = path.dirname(fileURLToPath(import.meta.url));
const run = randomBytes(4).toString('hex');
/** A feed of its own for each test: the broker replays a feed's last items to new subscribers. */
const feedName = (label: string): string => `looks-${run}-${label}`;
const FEEDS = ['themes', 'motion', 'still', 'phone', 'focus'].map(feedName);
const SCHEMES = ['light', 'dark'] as const;
const STATES = ['connecting', 'live', 'reconnecting', 'offline', 'error'] as const;

let dir: string;
let browser: Browser;
let publisher: Client;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livewall-looks-it-'));
  const outDir = path.join(dir, 'dist');
  const media = path.join(dir, 'media');
  await build({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  await mkdir(media);
  await Promise.all(CAT_LOOKS.map((look, index) => writeFile(path.join(media, `cat-${index}.png`), catPng(look))));

  const broker = testBroker();
  await Promise.all(FEEDS.map((feed) => declareFeed(feed)));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on(
    'request',
    createApp({ webRoot: outDir, brokerUrls: [broker.wsUrl], feeds: FEEDS.map((name) => ({ name, title: 'Cats' })), imageHosts: [base], demoMedia: media }),
  );
  publisher = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

afterAll(async () => {
  await browser?.close();
  await publisher?.deactivate();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

let sequence = 0;

function feedItem(feed: string, change: Partial<FeedItem> = {}): FeedItem {
  const n = ++sequence;
  const now = new Date(Date.now() - 1000 + n).toISOString();
  const image = `${base}/demo/media/cat-${n % CAT_LOOKS.length}.png`;
  const network = change.network ?? 'bluesky';
  return {
    v: 1,
    id: `${network}:${run}-${n}`,
    feed,
    network,
    url: `https://bsky.app/profile/alice.bsky.social/post/${run}${n}`,
    author: { handle: 'alice.bsky.social', name: 'Alice' },
    text: `post number ${n}`,
    images: [{ url: image, thumb: image, alt: 'A cat', width: 320, height: 320 }],
    createdAt: now,
    receivedAt: now,
    publishedAt: now,
    ...change,
  };
}

function publish(item: FeedItem): void {
  publisher.publish({ destination: `/topic/feed.${item.feed}`, body: JSON.stringify(item) });
}

/** Opens the feed in a context of its own (colour scheme, motion, viewport) and waits until it is live. */
async function openWall(feed: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`${base}/?feed=${feed}`);
  await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 20_000 });
  return page;
}

/** Publishes `items` and waits until the page shows every one of them. */
async function show(page: Page, items: FeedItem[]): Promise<void> {
  for (const item of items) publish(item);
  for (const item of items) await page.locator(`[data-testid="tile"][data-id="${item.id}"]`).waitFor();
}

type Rgba = [number, number, number, number];

/** A computed colour: Chromium gives `rgb()`/`rgba()`, or `color(srgb …)` for color-mix() results. */
function parseColor(css: string): Rgba {
  const rgb = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), rgb[4] === undefined ? 1 : Number(rgb[4])];
  const srgb = /^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)$/.exec(css);
  if (srgb) return [Number(srgb[1]) * 255, Number(srgb[2]) * 255, Number(srgb[3]) * 255, srgb[4] === undefined ? 1 : Number(srgb[4])];
  throw new Error(`cannot parse the computed colour ${JSON.stringify(css)}`);
}

/** `top` painted over the opaque `under`. */
function over(top: Rgba, under: Rgba): Rgba {
  const a = top[3];
  return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a), top[2] * a + under[2] * (1 - a), 1];
}

function luminance([r, g, b]: Rgba): number {
  const linear = (channel: number): number => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** The WCAG 2 contrast ratio of two opaque colours, 1 to 21. */
function contrast(a: Rgba, b: Rgba): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

interface Pair {
  what: string;
  color: string;
  /** The backgrounds behind the text, innermost first, up to the first opaque one. */
  backgrounds: string[];
}

/** A text colour and every background painted behind it; `pseudo` ('::before', '::first-line') reads that part's colour. */
async function textOn(page: Page, selector: string, what = selector, pseudo?: string): Promise<Pair> {
  const found = await page.$eval(
    selector,
    (element, part) => {
      const backgrounds: string[] = [];
      for (let box: Element | null = element; box; box = box.parentElement) {
        const background = getComputedStyle(box).backgroundColor;
        if (background === 'rgba(0, 0, 0, 0)' || background === 'transparent') continue;
        backgrounds.push(background);
        if (!background.includes('/') && !background.startsWith('rgba')) break;
      }
      return { color: getComputedStyle(element, part).color, backgrounds };
    },
    pseudo ?? null,
  );
  return { what, ...found };
}

/** The colour the backgrounds add up to, over white when none is opaque (the canvas). */
function backdrop(backgrounds: string[]): Rgba {
  return backgrounds.reduceRight<Rgba>((under, background) => over(parseColor(background), under), [255, 255, 255, 1]);
}

function ratio({ color, backgrounds }: Pair): number {
  const under = backdrop(backgrounds);
  return contrast(over(parseColor(color), under), under);
}

describe('how the wall looks, in Chromium', () => {
  it('has a light and a dark theme, each with text at 4.5:1 or more on its background', async () => {
    const feed = feedName('themes');
    const bodies: Record<string, Pair> = {};
    for (const colorScheme of SCHEMES) {
      const page = await openWall(feed, { colorScheme });
      await show(page, [feedItem(feed, { network: 'mastodon' }), feedItem(feed, { network: 'bluesky' })]);
      const body = await textOn(page, 'body');
      bodies[colorScheme] = body;
      expect(ratio(body), `body text in ${colorScheme}`).toBeGreaterThanOrEqual(4.5);

      const pairs = [
        await textOn(page, '.count'),
        await textOn(page, '.tile-text'),
        await textOn(page, '.tile-author', 'author name', '::first-line'),
        await textOn(page, '.tile-author', 'author handle'),
        await textOn(page, '.tile-time'),
        await textOn(page, '.tile[data-network="mastodon"] .tile-time', 'network name, Mastodon', '::before'),
        await textOn(page, '.tile[data-network="bluesky"] .tile-time', 'network name, Bluesky', '::before'),
        await textOn(page, '[data-testid="pause"]'),
        await textOn(page, '[data-testid="new-pill"]'),
      ];
      // The worker line and the trouble line under the header, in the states that colour them.
      await page.$eval('[data-testid="worker-status"]', (line) => {
        (line as HTMLElement).dataset.state = 'stale';
      });
      pairs.push(await textOn(page, '[data-testid="worker-status"]', 'worker status, stale'));
      await page.$eval('#status-detail', (line) => {
        (line as HTMLElement).dataset.state = 'error';
      });
      pairs.push(await textOn(page, '#status-detail', 'status detail, error'));
      // Every state of the status pill, as its label reads against its own tint.
      for (const state of STATES) {
        await page.$eval('[data-testid="status"]', (pill, value) => {
          (pill as HTMLElement).dataset.state = value;
        }, state);
        pairs.push(await textOn(page, '[data-testid="status"] .status-text', `status pill, ${state}`));
      }
      for (const pair of pairs) {
        expect(ratio(pair), `${pair.what} in ${colorScheme}: ${pair.color} on ${pair.backgrounds.join(' over ')}`).toBeGreaterThanOrEqual(4.5);
      }
      await page.context().close();
    }
    const [light, dark] = [bodies.light!, bodies.dark!];
    expect(light.backgrounds).not.toEqual(dark.backgrounds);
    expect(light.color).not.toBe(dark.color);
    // Light is light and dark is dark: not two dark themes that merely differ.
    expect(luminance(backdrop(light.backgrounds))).toBeGreaterThan(luminance(backdrop(dark.backgrounds)));
  });

  /** In the page: resolves, once the next tile is added to the wall, with the animations running on it. */
  const animationsOfNextTile = (page: Page): Promise<void> =>
    page.evaluate(() => {
      const wall = document.querySelector('[data-testid="wall"]')!;
      const seen = new Promise<string[]>((resolve) => {
        const observer = new MutationObserver(() => {
          const tile = wall.querySelector('[data-testid="tile"]');
          if (!tile) return;
          observer.disconnect();
          resolve(tile.getAnimations({ subtree: true }).filter((animation) => animation.playState === 'running').map((animation) => (animation as CSSAnimation).animationName ?? 'a script animation'));
        });
        observer.observe(wall, { childList: true });
      });
      (window as unknown as { nextTileAnimations: Promise<string[]> }).nextTileAnimations = seen;
    });
  const nextTileAnimations = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { nextTileAnimations: Promise<string[]> }).nextTileAnimations);

  it('animates a new card in, and with reduced motion runs no animation at all', async () => {
    // Without the preference the card does fade in: the reduced-motion check below is not vacuous.
    const moving = await openWall(feedName('motion'), { reducedMotion: 'no-preference' });
    await animationsOfNextTile(moving);
    publish(feedItem(feedName('motion')));
    expect(await nextTileAnimations(moving)).not.toEqual([]);
    await moving.context().close();

    const feed = feedName('still');
    const still = await openWall(feed, { reducedMotion: 'reduce' });
    await animationsOfNextTile(still);
    const first = feedItem(feed);
    publish(first);
    expect(await nextTileAnimations(still)).toEqual([]);
    await show(still, [first, feedItem(feed), feedItem(feed)]);
    const running = await still.evaluate(() =>
      document
        .getAnimations()
        .filter((animation) => animation.playState === 'running')
        .map((animation) => `${(animation as CSSAnimation).animationName} on ${((animation.effect as KeyframeEffect).target as Element).className}`),
    );
    expect(running).toEqual([]);
    expect(await still.evaluate(() => getComputedStyle(document.documentElement).scrollBehavior)).toBe('auto');
    await still.context().close();
  });

  it('fits a phone: one or two columns, readable text, nothing wider than the screen', async () => {
    const feed = feedName('phone');
    const page = await openWall(feed, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await show(page, [
      feedItem(feed, { author: { handle: 'a.very.long.handle.that.goes.on.bsky.social', name: 'Someone With A Remarkably Long Display Name' } }),
      feedItem(feed, { text: `unbroken${'x'.repeat(300)}` }),
      feedItem(feed, { text: 'https://example.com/a/very/long/link/that/has/no/spaces/at/all/and/keeps/going/and/going' }),
      feedItem(feed),
    ]);
    const layout = await page.evaluate(() => {
      const wall = document.querySelector('[data-testid="wall"]')!;
      const tileText = document.querySelector('.tile-text')!;
      const width = document.documentElement.clientWidth;
      // The header's controls must be on the screen, not pushed past its edge.
      const offScreen = ['feed-title', 'status', 'pause', 'item-count']
        .map((testid) => document.querySelector(`[data-testid="${testid}"], #${testid}`)!)
        .filter((element) => element.getBoundingClientRect().right > width || element.getBoundingClientRect().left < 0)
        .map((element) => element.id);
      return {
        columns: getComputedStyle(wall).gridTemplateColumns.split(' ').length,
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: width,
        textPx: parseFloat(getComputedStyle(tileText).fontSize),
        // The narrower padding of a phone's cards, which keeps the text its width.
        pad: getComputedStyle(document.querySelector('.tile')!).getPropertyValue('--pad').trim(),
        offScreen,
      };
    });
    expect(layout.pad).toBe('10px');
    expect(layout.columns).toBeGreaterThanOrEqual(1);
    expect(layout.columns).toBeLessThanOrEqual(2);
    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
    expect(layout.textPx).toBeGreaterThanOrEqual(14);
    expect(layout.offScreen).toEqual([]);
    await page.context().close();
  });

  it('shows a clear focus ring on a card reached with the keyboard', async () => {
    const feed = feedName('focus');
    for (const colorScheme of SCHEMES) {
      const page = await openWall(feed, { colorScheme });
      await show(page, [feedItem(feed), feedItem(feed)]);
      let onCard = false;
      for (let presses = 0; presses < 30 && !onCard; presses++) {
        await page.keyboard.press('Tab');
        onCard = await page.evaluate(() => document.activeElement?.matches('[data-testid="tile"]') ?? false);
      }
      expect(onCard, 'Tab reaches a card').toBe(true);
      const ring = await page.evaluate(() => {
        const card = document.activeElement!;
        const style = getComputedStyle(card);
        return {
          focusVisible: card.matches(':focus-visible'),
          style: style.outlineStyle,
          width: parseFloat(style.outlineWidth),
          color: style.outlineColor,
          page: getComputedStyle(document.body).backgroundColor,
        };
      });
      expect(ring.focusVisible).toBe(true);
      expect(ring.style).not.toBe('none');
      expect(ring.width).toBeGreaterThanOrEqual(2);
      // WCAG 1.4.11: a focus indicator needs 3:1 against what surrounds it.
      expect(contrast(parseColor(ring.color), parseColor(ring.page)), `focus ring in ${colorScheme}`).toBeGreaterThanOrEqual(3);
      await page.context().close();
    }
  });
});
