/**
 * Screen mode in a real Chromium (web/src/screen/): a wall for a TV or an event screen, served with short timings so
 * that its minutes pass in seconds — no controls, the branding and its QR code under the CSP, the cursor hidden when
 * idle, the wake lock asked for and asked for again, sizes that follow the screen, the spotlight's rotation and the
 * shuffle of a quiet feed, and recovery without a person: an uncaught error, a new build, a broker killed with -9
 * (on Artemis and on RabbitMQ). An init script installed before the page's own records what the page did, with
 * timestamps taken inside it, and stands in for the wake lock (headless Chromium has none to give).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { brokerProfile, type BrokerProfileName, type FeedItem } from '@livewall/contract';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOnce } from '../test/amqp.js';
import { PrivateBroker } from '../test/private-broker.js';
import { QUIET_MOMENT_MS, IDLE_CURSOR_MS } from './src/screen/screen.js';
import { accessibility, BACKFILLED, WallHarness, tileIds } from './test/wall-harness.js';

const harness = new WallHarness('screen');
const feedName = (label: string): string => harness.feedName(label);
const FEEDS = ['layout', 'spotlight', 'recovery', 'still'].map(feedName);
const SCREEN = { always: true, highlightMs: 1_500, quietMs: 3_000, versionCheckMs: 1_000 };
const BRANDING = {
  title: 'Caturday Live',
  logo: '/favicon.svg',
  accent: '#e5533d',
  callToAction: 'Post with #caturday to appear here',
  callToActionUrl: 'https://bsky.app/hashtag/caturday',
};
/** The server every test here opens, but the broker tests: screen mode always on, with the wall's branding. */
let origin: string;

beforeAll(async () => {
  await harness.start(FEEDS, { screen: SCREEN, branding: BRANDING });
  origin = harness.base;
});
afterAll(() => harness.close());

interface Recorded {
  wakeLockRequests: number;
  /** Each change of the spotlight: `new:<id>`, `earlier:<id>` or `none`, with its label and time (Date.now()). */
  spots: { spot: string; label: string; at: number }[];
  /** Layout shifts (the Layout Instability API), with their time. */
  shifts: { value: number; at: number }[];
  /** Page loads in this tab, reloads included. */
  loads: number;
}

/**
 * Before the page's scripts, on every load: a stand-in for navigator.wakeLock that counts requests and, as a browser
 * does, releases the lock when the page is hidden; and records of the spotlight, layout shifts, loads, the last card
 * inserted and the moment the page went away, with the last insertion before it (in sessionStorage, to read after a
 * reload).
 */
function record(context: BrowserContext): Promise<unknown> {
  return context.addInitScript(() => {
    const page = window as unknown as Recorded;
    page.wakeLockRequests = 0;
    const locks: (EventTarget & { released: boolean })[] = [];
    const release = (lock: EventTarget & { released: boolean }): void => {
      lock.released = true;
      lock.dispatchEvent(new Event('release'));
    };
    Object.defineProperty(navigator, 'wakeLock', {
      configurable: true,
      value: {
        request: (type: string) => {
          page.wakeLockRequests += 1;
          const lock = Object.assign(new EventTarget(), { type, released: false, release: () => Promise.resolve(release(lock)) });
          locks.push(lock);
          return Promise.resolve(lock);
        },
      },
    });
    document.addEventListener('visibilitychange', () => document.hidden && locks.filter((lock) => !lock.released).forEach(release), true);

    page.spots = [];
    new MutationObserver(() => {
      const spotlight = document.getElementById('spotlight');
      if (!spotlight) return;
      const spot = spotlight.hidden ? 'none' : `${spotlight.dataset.kind}:${spotlight.dataset.id}`;
      if (page.spots.at(-1)?.spot !== spot) page.spots.push({ spot, label: document.getElementById('spotlight-kind')?.textContent ?? '', at: Date.now() });
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['hidden', 'data-id', 'data-kind'] });

    page.shifts = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) page.shifts.push({ value: (entry as unknown as { value: number }).value, at: Date.now() });
    }).observe({ type: 'layout-shift', buffered: true });

    page.loads = Number(sessionStorage.getItem('test:loads') ?? 0) + 1;
    sessionStorage.setItem('test:loads', String(page.loads));
    new MutationObserver((changes) => {
      const inserted = changes.some((change) => change.target instanceof Element && change.target.id === 'wall' && change.addedNodes.length > 0);
      if (inserted) sessionStorage.setItem('test:lastInsertAt', String(Date.now()));
    }).observe(document, { subtree: true, childList: true });
    addEventListener('pagehide', () => {
      sessionStorage.setItem('test:hiddenAt', String(Date.now()));
      sessionStorage.setItem('test:lastInsertBeforeHide', sessionStorage.getItem('test:lastInsertAt') ?? '0');
    });
  });
}

const recorded = (page: Page): Promise<Recorded> =>
  page.evaluate(() => {
    const { wakeLockRequests, spots, shifts, loads } = window as unknown as Recorded;
    return { wakeLockRequests, spots, shifts, loads };
  });

/** Waits until the spotlight has shown `spot` (`new:<id>`, `earlier:` for any earlier post). */
async function spotlighted(page: Page, spot: string, timeout = 15_000): Promise<Recorded['spots'][number]> {
  const handle = await page.waitForFunction((wanted) => (window as unknown as Recorded).spots.find((entry) => entry.spot.startsWith(wanted)), spot, { timeout });
  return (await handle.jsonValue())!;
}

/** Makes the page believe it was hidden and shown again, with the events a browser sends. */
function hideAndShow(page: Page): Promise<void> {
  return page.evaluate(() => {
    for (const state of ['hidden', 'visible'] as const) {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    }
  });
}

/**
 * Refuses the page's WebSockets while `blocked` is on (the broker is unreachable from this page): a socket it
 * opens is closed at once, and turning it on closes the one it has.
 */
class BrokerBlock {
  blocked = false;
  private readonly open = new Set<{ close(): Promise<void> }>();

  install = (context: BrowserContext): Promise<void> =>
    context.routeWebSocket(/^wss?:/, (socket) => {
      if (this.blocked) return void socket.close();
      socket.connectToServer();
      this.open.add(socket);
      socket.onClose(() => this.open.delete(socket));
    });

  async block(): Promise<void> {
    this.blocked = true;
    await Promise.all([...this.open].map((socket) => socket.close()));
  }
}

describe('screen mode in Chromium', () => {
  it('fills the screen with no controls, shows the branding and its QR code, hides an idle cursor, keeps the screen awake and scales with the screen', async () => {
    const feed = FEEDS[0]!;
    const items = Array.from({ length: 12 }, () => harness.feedItem(feed, origin));
    for (const item of items) harness.publish(feed, item);
    const { page, problems } = await harness.openWall(feed, { origin, context: { viewport: { width: 1920, height: 1080 } }, prepare: record });
    await expect.poll(() => tileIds(page), BACKFILLED).toHaveLength(12);

    expect(await page.getAttribute('html', 'data-mode')).toBe('screen');
    for (const control of ['[data-testid="pause"]', '#feeds', '[data-testid="item-count"]', '[data-testid="invalid-count"]', '[data-testid="new-pill"]']) {
      expect(await page.isVisible(control), control).toBe(false);
    }
    // The viewport, and nothing to scroll.
    expect(await page.evaluate(() => [document.documentElement.scrollHeight, document.documentElement.scrollWidth])).toEqual([1080, 1920]);

    // The branding, as the server's settings say.
    expect(await page.textContent('#feed-title')).toBe('Caturday Live');
    // The feed's name too, in the tab's title, as the wall has several.
    expect(await page.title()).toBe(`${feed} · Caturday Live`);
    expect(await page.getAttribute('.brand img.logo-img', 'src')).toBe('/favicon.svg');
    expect(await page.textContent('[data-testid="cta"] .cta-text')).toBe(BRANDING.callToAction);
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('[data-testid="cta"]')!).backgroundColor)).toBe('rgb(229, 83, 61)');
    const qr = await page.evaluate(() => {
      const svg = document.querySelector('[data-testid="cta"] svg')!;
      const box = svg.getBoundingClientRect();
      return { label: svg.getAttribute('aria-label'), viewBox: svg.getAttribute('viewBox'), modules: (svg.querySelector('path')?.getAttribute('d')?.match(/M/g) ?? []).length, width: box.width, height: box.height };
    });
    expect(qr.label).toBe(`QR code: ${BRANDING.callToActionUrl}`);
    // 33 characters at level M: version 3, 29 modules, and the quiet zone.
    expect(qr.viewBox).toBe('0 0 37 37');
    expect(qr.modules).toBeGreaterThan(200);
    // Big enough to scan from a seat: a fifth of the screen's height.
    expect(qr.width).toBeGreaterThan(200);
    expect(qr.width).toBeCloseTo(qr.height, 0);

    // The backfill is not news: nothing in the spotlight as new.
    expect((await recorded(page)).spots.filter((entry) => entry.spot.startsWith('new:'))).toEqual([]);

    // The cursor goes after IDLE_CURSOR_MS still, and comes back when the mouse moves.
    const cursor = (): Promise<string> => page.evaluate(() => getComputedStyle(document.querySelector('main')!).cursor);
    await page.mouse.move(400, 400);
    expect(await cursor()).not.toBe('none');
    await page.waitForFunction(() => getComputedStyle(document.querySelector('main')!).cursor === 'none', undefined, { timeout: IDLE_CURSOR_MS + 3_000 });
    await page.mouse.move(500, 500);
    expect(await cursor()).not.toBe('none');

    // The wake lock, and again after the page was hidden (the browser released it then).
    expect((await recorded(page)).wakeLockRequests).toBe(1);
    await hideAndShow(page);
    await expect.poll(async () => (await recorded(page)).wakeLockRequests).toBe(2);

    // A 4K screen shows the same wall, twice as large.
    const sizes = (): Promise<{ font: number; tile: number; columns: number }> =>
      page.evaluate(() => {
        const tiles = [...document.querySelectorAll<HTMLElement>('[data-testid="tile"]')];
        const top = tiles[0]!.getBoundingClientRect().top;
        return { font: parseFloat(getComputedStyle(tiles[0]!.querySelector('.tile-text')!).fontSize), tile: tiles[0]!.getBoundingClientRect().width, columns: tiles.filter((tile) => tile.getBoundingClientRect().top === top).length };
      });
    const hd = await sizes();
    await page.setViewportSize({ width: 3840, height: 2160 });
    const uhd = await sizes();
    expect(uhd.columns).toBe(hd.columns);
    expect(uhd.font / hd.font).toBeCloseTo(2, 1);
    expect(uhd.tile / hd.tile).toBeCloseTo(2, 1);
    // Readable across a room: at 1080 lines, a post's text is 18px or more.
    expect(hd.font).toBeGreaterThanOrEqual(18);

    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('keeps a wall longer than the screen still: it is clipped, not scrolled, whatever asks it to scroll', async () => {
    // Not a scroll container (overflow: clip): nothing can move it, and Chromium does not paint the cards below the
    // screen in advance, as it does for a box that might scroll (docs/BENCHMARKS.md, "The wall left open").
    const feed = FEEDS[3]!;
    const { page, problems } = await harness.openWall(feed, { origin, context: { viewport: { width: 1920, height: 1080 } } });
    await page.waitForSelector('[data-testid="wall"][data-held=""]', { state: 'attached' });
    for (let index = 0; index < 40; index++) harness.publish(feed, harness.feedItem(feed, origin));
    await expect.poll(() => tileIds(page), BACKFILLED).toHaveLength(40);
    const wall = (): Promise<{ overflow: number; scrollTop: number; firstTop: number }> =>
      page.evaluate(() => {
        const main = document.querySelector('main')!;
        return { overflow: main.scrollHeight - main.clientHeight, scrollTop: main.scrollTop, firstTop: document.querySelector('[data-testid="tile"]')!.getBoundingClientRect().top };
      });
    // The cards' entrance animations (a few pixels of movement) over first.
    await page.evaluate(() => Promise.all(document.getAnimations().filter((animation) => animation.effect?.getTiming().iterations !== Infinity).map((animation) => animation.finished)));
    const before = await wall();
    // More cards than the screen holds.
    expect(before.overflow).toBeGreaterThan(1080);
    await page.evaluate(() => {
      const main = document.querySelector('main')!;
      main.scrollTop = 2_000;
      main.scrollBy(0, 500);
      [...document.querySelectorAll('[data-testid="tile"]')].at(-1)!.scrollIntoView();
    });
    await page.mouse.move(900, 600);
    await page.mouse.wheel(0, 3_000);
    await page.waitForTimeout(300);
    expect(await wall()).toEqual({ ...before, scrollTop: 0 });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('shows each new post large for a while, the newest of a burst next, then earlier posts again on a quiet feed, marked as not new, without moving the wall', async () => {
    const feed = FEEDS[1]!;
    const { page, problems } = await harness.openWall(feed, { origin, context: { viewport: { width: 1920, height: 1080 } }, prepare: record });
    await page.waitForSelector('[data-testid="wall"][data-held=""]', { state: 'attached' });
    const [first, skipped, newest] = [harness.feedItem(feed, origin), harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
    harness.publish(feed, first);
    const shownFirst = await spotlighted(page, `new:${first.id}`);
    expect(shownFirst.label).toBe('New post');
    // Two more while the first is large: when its time is up, the newest of them follows.
    harness.publish(feed, skipped);
    harness.publish(feed, newest);
    const shownNewest = await spotlighted(page, `new:${newest.id}`);
    expect(shownNewest.at - shownFirst.at).toBeGreaterThanOrEqual(SCREEN.highlightMs - 50);
    await expect.poll(() => tileIds(page)).toEqual([newest.id, skipped.id, first.id]);

    // Quiet: earlier posts come back into the spotlight, one a slot, each marked as not new.
    const quietFrom = (await spotlighted(page, 'earlier:')).at;
    await page.waitForFunction((since) => (window as unknown as Recorded).spots.filter((entry) => entry.at >= since && entry.spot.startsWith('earlier:')).length >= 4, quietFrom, { timeout: 15_000 });
    const { spots, shifts } = await recorded(page);
    expect(spots.map((entry) => entry.spot)).not.toContain(`new:${skipped.id}`);
    const earlier = spots.filter((entry) => entry.at >= quietFrom);
    // Only earlier posts, each a post on the wall, never one twice in a row, never the spotlight's "new".
    expect(earlier.every((entry) => entry.spot.startsWith('earlier:') || entry.spot === 'none'), earlier.map((entry) => entry.spot).join(' ')).toBe(true);
    const ids = earlier.filter((entry) => entry.spot !== 'none').map((entry) => entry.spot.slice('earlier:'.length));
    expect(ids.every((id) => [first.id, skipped.id, newest.id].includes(id))).toBe(true);
    for (let index = 1; index < ids.length; index++) expect(ids[index]).not.toBe(ids[index - 1]);
    expect(new Set(earlier.map((entry) => entry.label))).toEqual(new Set(['From earlier · shown again, not new', ...(earlier.some((entry) => entry.spot === 'none') ? [''] : [])]));
    // What assistive technology hears, and no "new" entrance.
    const [region] = await accessibility(page, '#spotlight');
    expect(region).toMatchObject({ role: 'region', name: 'From earlier · shown again, not new' });
    expect(await page.evaluate(() => document.querySelector('.spotlight-card')!.getAnimations().length)).toBe(0);
    // The wall behind stays as it was: same cards, same order, no layout shift while the spotlight changes.
    expect(await tileIds(page)).toEqual([newest.id, skipped.id, first.id]);
    expect(shifts.filter((shift) => shift.at >= quietFrom)).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('reloads itself after an uncaught error with the cards it had, and once at a quiet moment for a new build', async () => {
    const feed = FEEDS[2]!;
    const block = new BrokerBlock();
    const { page, problems } = await harness.openWall(feed, {
      origin,
      prepare: async (context) => {
        await record(context);
        await block.install(context);
      },
    });
    const before = [harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
    for (const item of before) harness.publish(feed, item);
    await expect.poll(() => tileIds(page)).toEqual([before[1]!.id, before[0]!.id]);

    // The broker is out of reach from here on: what the page shows after the reload comes from its saved state.
    await block.block();
    await page.waitForSelector('[data-testid="status"][data-state="reconnecting"]');
    const reloaded = page.waitForEvent('load', { timeout: 30_000 });
    await page.evaluate(() => setTimeout(() => {
      throw new Error('injected failure');
    }));
    await page.waitForSelector('#notice:visible');
    expect(await page.textContent('#notice')).toMatch(/^The wall hit an error \(.*injected failure\); it reloads itself in \d+ s\.$/);
    await reloaded;
    expect((await recorded(page)).loads).toBe(2);
    await expect.poll(() => tileIds(page)).toEqual([before[1]!.id, before[0]!.id]);
    expect(await page.getAttribute('[data-testid="status"]', 'data-state')).not.toBe('live');
    expect(JSON.parse((await page.evaluate(() => sessionStorage.getItem('livewall:screen:crashes')))!)).toMatchObject({ count: 1 });

    // The broker back: live, and its backfill repeats nothing.
    block.blocked = false;
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 40_000 });
    const during = harness.feedItem(feed, origin);
    harness.publish(feed, during);
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([during.id, before[1]!.id, before[0]!.id]);

    // A new build: posts keep coming for a while; the page reloads once they have stopped for QUIET_MOMENT_MS.
    const versionFile = path.join(harness.webRoot, 'version.json');
    const ownVersion = await readFile(versionFile, 'utf8');
    const build = `next-${harness.run}`;
    try {
      const nextLoad = page.waitForEvent('load', { timeout: 30_000 });
      await writeFile(versionFile, JSON.stringify({ build }));
      const burst: FeedItem[] = [];
      for (let n = 0; n < 5; n++) {
        const item = harness.feedItem(feed, origin);
        burst.push(item);
        harness.publish(feed, item);
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
      await nextLoad;
      const storage = await page.evaluate(() => ({
        reloadedFor: sessionStorage.getItem('livewall:screen:reloaded-for'),
        lastInsertAt: Number(sessionStorage.getItem('test:lastInsertBeforeHide')),
        hiddenAt: Number(sessionStorage.getItem('test:hiddenAt')),
      }));
      expect(storage.reloadedFor).toBe(build);
      expect(storage.hiddenAt - storage.lastInsertAt).toBeGreaterThanOrEqual(QUIET_MOMENT_MS);
      const expected = [...burst].reverse().map((item) => item.id).concat([during.id, before[1]!.id, before[0]!.id]);
      await expect.poll(() => tileIds(page), BACKFILLED).toEqual(expected);
      await page.waitForSelector('[data-testid="status"][data-state="live"]');
      // The server goes on serving that version.json with this page (a half-done deployment): no second reload.
      await new Promise((resolve) => setTimeout(resolve, 4 * SCREEN.versionCheckMs));
      expect((await recorded(page)).loads).toBe(3);
    } finally {
      await writeFile(versionFile, ownVersion);
    }
    // The injected error, and the WebSockets refused on purpose.
    expect(problems.filter((problem) => !/injected failure|WebSocket/.test(problem))).toEqual([]);
    await page.context().close();
  });

  it('puts back only the valid cards of a saved wall: what comes out of storage is untrusted', async () => {
    const feed = FEEDS[2]!;
    const valid = [harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
    const saved = JSON.stringify({
      v: 1,
      feed,
      savedAt: Date.now(),
      items: [
        valid[1],
        { ...harness.feedItem(feed, origin), images: [{ url: 'https://evil.example/cat.png', thumb: 'https://evil.example/cat.png' }] },
        harness.feedItem(FEEDS[0]!, origin),
        { ...harness.feedItem(feed, origin), text: 42 },
        valid[0],
      ],
    });
    const block = new BrokerBlock();
    block.blocked = true;
    const context = await harness.browser.newContext();
    await block.install(context);
    await context.addInitScript(([key, value]) => sessionStorage.setItem(key!, value!), [`livewall:screen:${feed}`, saved]);
    const page = await context.newPage();
    const warnings: string[] = [];
    page.on('console', (message) => warnings.push(message.text()));
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${origin}/#/${feed}`);
    await expect.poll(() => tileIds(page)).toEqual([valid[1]!.id, valid[0]!.id]);
    expect(warnings).toContain('livewall: skipped 3 invalid saved cards');
    expect(requested.filter((url) => url.includes('evil.example'))).toEqual([]);
    await context.close();
  });
});

describe.each(['artemis', 'rabbitmq'] as BrokerProfileName[])('screen mode on %s', (profile) => {
  it('comes back by itself when the broker is killed with -9 and started again, and spotlights what comes after, without reloading', { timeout: 240_000 }, async () => {
    const feed = feedName(`kill-${profile}`);
    const broker = await PrivateBroker.start(`test-web-screen-${profile}-${process.pid}`, {}, { profile, feeds: [feed] });
    try {
      const served = await harness.serve((own) => ({ brokerUrls: [broker.info.wsUrl], brokerProfile: profile, feeds: [{ name: feed, title: feed }], imageHosts: [own], screen: SCREEN }), broker.info);
      const publisher = { host: broker.info.host, port: broker.info.amqpPort, username: 'publisher', password: broker.info.passwords.publisher };
      // As the worker sends them: over AMQP 1.0, each accepted before the next.
      const publish = async (item: FeedItem): Promise<void> => {
        expect(await sendOnce(publisher, brokerProfile(profile).amqpTarget(feed), JSON.stringify(item))).toEqual({ result: 'accepted' });
      };
      const { page, problems } = await harness.openWall(feed, { origin: served, prepare: record });
      // Live, and its (empty) backfill done: what comes now is news. (RabbitMQ does not mark its backfill; what
      // arrives while the page waits for the end of it counts as backfill, and a page's first backfill is not news.)
      await page.waitForSelector('[data-testid="wall"][data-held=""]', { state: 'attached' });
      const before = harness.feedItem(feed, served);
      await publish(before);
      await spotlighted(page, `new:${before.id}`);

      await broker.kill9();
      await page.waitForSelector('[data-testid="status"][data-state="reconnecting"]', { timeout: 30_000 });
      await broker.restart();
      await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 90_000 });
      const after = harness.feedItem(feed, served);
      await publish(after);
      await spotlighted(page, `new:${after.id}`);
      await expect.poll(() => tileIds(page), BACKFILLED).toEqual([after.id, before.id]);
      expect((await recorded(page)).loads).toBe(1);
      expect(problems.filter((problem) => !/WebSocket/.test(problem))).toEqual([]);
      await page.context().close();
    } finally {
      await broker.remove();
    }
  });
});
