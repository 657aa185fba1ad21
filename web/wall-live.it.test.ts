/**
 * The wall as a viewer leaves it open for days, in a real Chromium against the real test broker
 * (web/test/wall-harness.ts): feed-pattern markup and latency marks, pause and resume, the "N new" pill, a hidden
 * tab catching up, the cap and the DOM's size, bursts, listeners of cards taken off, broken images, Page Down, switching
 * feeds by the hash, and the workers' status (the connection's own tests are in connection.it.test.ts). Every wait is
 * on the page's state, never on a clock.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_ITEMS } from './src/config.js';
import { BACKFILLED, HeldFrames, WallHarness, accessibility, frames, invalidCount, tileIds } from './test/wall-harness.js';

const harness = new WallHarness('live');
const feedName = (label: string): string => harness.feedName(label);
const FEEDS = ['markup', 'rendered', 'burst', 'pause', 'pill', 'broken', 'keys', 'switch-a', 'switch-b', 'status', 'dom'].map(feedName);
/** The second server's wall keeps this few cards. */
const SMALL = 3;
let small: string;

beforeAll(async () => {
  await harness.start(FEEDS);
  small = await harness.serve((origin) => ({
    brokerUrls: [harness.brokerUrl],
    feeds: ['cap', 'hidden', 'listeners'].map((label) => ({ name: feedName(label), title: label })),
    imageHosts: [origin],
    maxItems: SMALL,
  }));
});
afterAll(() => harness.close());

const tile = (page: Page, id: string): ReturnType<Page['locator']> => page.locator(`[data-testid="tile"][data-id="${id}"]`);
const waiting = (page: Page, count: number): Promise<unknown> => page.waitForSelector(`[data-testid="wall"][data-waiting="${count}"]`, { state: 'attached' });

/** Publishes `items` to `feed` and waits until the page shows the last one. */
async function show(page: Page, feed: string, count: number, origin = harness.base): Promise<string[]> {
  const items = Array.from({ length: count }, () => harness.feedItem(feed, origin));
  for (const item of items) harness.publish(feed, item);
  await tile(page, items[count - 1]!.id).waitFor({ state: 'attached' });
  return items.map((item) => item.id);
}

describe('the live wall in Chromium', () => {
  it('marks the broker’s backfill up as an ARIA feed, and marks each card shown for latency benchmarks', async () => {
    const feed = feedName('markup');
    const items = [harness.feedItem(feed), harness.feedItem(feed, harness.base, { text: '' }), harness.feedItem(feed, harness.base, { images: [{ url: `${harness.base}/demo/media/cat-0.png`, thumb: `${harness.base}/demo/media/cat-0.png` }] })];
    for (const item of items) harness.publish(feed, item);
    const { page, problems } = await harness.openWall(feed);
    const newestFirst = items.map((item) => item.id).reverse();
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual(newestFirst);

    const wall = page.locator('[data-testid="wall"]');
    expect(await wall.getAttribute('role')).toBe('feed');
    await expect.poll(() => wall.getAttribute('aria-busy')).toBe('false');
    const cards = await page.$$eval('[data-testid="tile"]', (elements) =>
      elements.map((card) => {
        const img = card.querySelector('img')!;
        return {
          tag: card.tagName,
          tabindex: card.getAttribute('tabindex'),
          posinset: card.getAttribute('aria-posinset'),
          setsize: card.getAttribute('aria-setsize'),
          img: [img.loading, img.decoding, img.referrerPolicy, img.getAttribute('width'), img.getAttribute('height'), img.alt],
        };
      }),
    );
    expect(cards.map((card) => [card.tag, card.tabindex, card.posinset, card.setsize])).toEqual([
      ['ARTICLE', '0', '1', '-1'],
      ['ARTICLE', '0', '2', '-1'],
      ['ARTICLE', '0', '3', '-1'],
    ]);
    expect(cards[0]!.img).toEqual(['lazy', 'async', 'no-referrer', null, null, 'Image posted by @alice.bsky.social']);
    expect(cards[1]!.img).toEqual(['lazy', 'async', 'no-referrer', '320', '320', 'A cat']);
    // As assistive technology gets them: labelled by the author, described by the text and the network and time
    // (the network's name is CSS content); the link says what it shows and where it leads.
    const number = (index: number): string => items[index]!.id.split('-').pop()!;
    expect(await accessibility(page, '[data-testid="tile"]')).toEqual([
      { role: 'article', name: 'Alice @alice.bsky.social', description: `post number ${number(2)} Bluesky just now` },
      { role: 'article', name: 'Alice @alice.bsky.social', description: 'Bluesky just now' }, // no text: its time only
      { role: 'article', name: 'Alice @alice.bsky.social', description: `post number ${number(0)} Bluesky just now` },
    ]);
    expect((await accessibility(page, '[data-testid="tile"] a')).map(({ role, name }) => [role, name])).toEqual([
      ['link', 'Image posted by @alice.bsky.social. Open the post by @alice.bsky.social on Bluesky'],
      ['link', 'A cat. Open the post by @alice.bsky.social on Bluesky'],
      ['link', 'A cat. Open the post by @alice.bsky.social on Bluesky'],
    ]);

    // One mark per card, in the order they arrived, each taken once its card was on the screen.
    const marks = (): Promise<unknown[]> =>
      page.evaluate(() => performance.getEntriesByName('livewall:shown').map((entry) => (entry as PerformanceMark).detail as { id: string; publishedAt: string }));
    await expect.poll(marks).toEqual(items.map((item) => ({ id: item.id, publishedAt: item.publishedAt })));
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('marks a card shown only once the frame that put it in has been laid out and painted', async () => {
    const feed = feedName('rendered');
    const { page } = await harness.openWall(feed);
    // A resize observer's first call for a new card comes in that frame's rendering, after layout.
    await page.evaluate(() => {
      const laidOut: Record<string, number> = {};
      (window as unknown as { laidOut: typeof laidOut }).laidOut = laidOut;
      const sizes = new ResizeObserver((entries) => {
        for (const entry of entries) laidOut[(entry.target as HTMLElement).dataset.id!] ??= performance.now();
      });
      new MutationObserver((records) => {
        for (const record of records) for (const node of record.addedNodes) if (node instanceof HTMLElement && node.tagName === 'ARTICLE') sizes.observe(node);
      }).observe(document.querySelector('[data-testid="wall"]')!, { childList: true });
    });
    const ids = await show(page, feed, 3);
    const timing = (): Promise<{ id: string; shown: number; laidOut: number | undefined }[]> =>
      page.evaluate(() =>
        performance.getEntriesByName('livewall:shown').map((entry) => {
          const id = ((entry as PerformanceMark).detail as { id: string }).id;
          return { id, shown: entry.startTime, laidOut: (window as unknown as { laidOut: Record<string, number> }).laidOut[id] };
        }),
      );
    await expect.poll(async () => (await timing()).map((mark) => mark.id)).toEqual(ids);
    for (const mark of await timing()) {
      expect(mark.laidOut, mark.id).toBeDefined();
      expect(mark.shown, mark.id).toBeGreaterThan(mark.laidOut!);
    }
    await page.context().close();
  });

  it('puts a burst that arrives at once into the DOM in one go, not card by card', async () => {
    const feed = feedName('burst');
    // The burst is held on its way to the page and handed over in one go: how the broker paces it does not count.
    const frames = new HeldFrames();
    const { page } = await harness.openWall(feed, { prepare: frames.install });
    // Each insertion into the wall is one mutation record, whatever number of cards it adds.
    await page.evaluate(() => {
      const insertions: number[] = [];
      (window as unknown as { insertions: number[] }).insertions = insertions;
      new MutationObserver((records) => {
        for (const record of records) {
          const cards = [...record.addedNodes].filter((node) => node instanceof HTMLElement && node.tagName === 'ARTICLE').length;
          if (cards > 0) insertions.push(cards);
        }
      }).observe(document.querySelector('[data-testid="wall"]')!, { childList: true });
    });
    frames.holding = true;
    const items = Array.from({ length: 30 }, () => harness.feedItem(feed));
    for (const item of items) harness.publish(feed, item);
    await expect.poll(() => frames.messages).toBe(items.length);
    frames.release();
    await expect.poll(() => tileIds(page)).toEqual(items.map((item) => item.id).reverse());
    // Cards per insertion: all in one.
    expect(await page.evaluate(() => (window as unknown as { insertions: number[] }).insertions)).toEqual([items.length]);
    await page.context().close();
  });

  it('pauses from the keyboard: nothing goes in, arrivals are counted, and resume puts them in, in order', async () => {
    const feed = feedName('pause');
    const { page } = await harness.openWall(feed);
    const [first] = await show(page, feed, 1);

    await page.focus('[data-testid="pause"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="pause"][data-paused="true"]');
    const held = [harness.feedItem(feed), harness.feedItem(feed), harness.feedItem(feed)];
    for (const item of held) harness.publish(feed, item);
    await waiting(page, 3);
    expect(await page.textContent('[data-testid="pause"]')).toBe('Resume (3 new)');
    expect(await tileIds(page)).toEqual([first]);
    expect(await page.textContent('[data-testid="item-count"]')).toBe('1');
    expect(await page.isHidden('[data-testid="new-pill"]')).toBe(true);

    await page.keyboard.press('Space');
    await expect.poll(() => tileIds(page)).toEqual([...held.map((item) => item.id).reverse(), first]);
    expect(await page.textContent('[data-testid="pause"]')).toBe('Pause');
    await page.context().close();
  });

  it('holds new posts while the reader is scrolled down, behind an "N new" pill, without moving what they read', async () => {
    const feed = feedName('pill');
    const { page } = await harness.openWall(feed, { context: { viewport: { width: 640, height: 480 } } });
    const ids = await show(page, feed, 8);
    await page.evaluate(() => scrollTo({ top: 500, behavior: 'instant' }));
    await frames(page);
    const reading = tile(page, ids[4]!);
    // Once its fade-in is over: the animation moves the card a little while it runs.
    await reading.evaluate((card) => Promise.all(card.getAnimations().map((animation) => animation.finished)));
    const before = await reading.evaluate((card) => card.getBoundingClientRect().top);

    const first = harness.feedItem(feed);
    harness.publish(feed, first);
    await page.waitForSelector('[data-testid="new-pill"]:visible');
    expect(await page.textContent('[data-testid="new-pill"]')).toContain('1 new post');
    expect(await tileIds(page)).toEqual([...ids].reverse());
    // Within a pixel (sub-pixel layout may round differently); a post put in on top would move it by a card's height.
    expect(await reading.evaluate((card) => card.getBoundingClientRect().top)).toBeCloseTo(before, 0);

    // The pill: back to the top, the post goes in, and focus goes to it.
    await page.click('[data-testid="new-pill"]');
    await tile(page, first.id).waitFor({ state: 'attached' });
    await page.waitForSelector('[data-testid="new-pill"]', { state: 'hidden' });
    expect(await page.evaluate(() => scrollY)).toBe(0);
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id)).toBe(first.id);

    // Scrolling back to the top by hand does the same.
    await page.evaluate(() => scrollTo({ top: 500, behavior: 'instant' }));
    await frames(page);
    const second = harness.feedItem(feed);
    harness.publish(feed, second);
    await page.waitForSelector('[data-testid="new-pill"]:visible');
    expect(await tile(page, second.id).count()).toBe(0);
    await page.evaluate(() => scrollTo({ top: 0, behavior: 'instant' }));
    await tile(page, second.id).waitFor({ state: 'attached' });
    expect((await tileIds(page)).slice(0, 2)).toEqual([second.id, first.id]);
    await page.context().close();
  });

  it('keeps each card to at most 6 elements, so a full wall of 200 stays under 1,400 elements', async () => {
    const feed = feedName('dom');
    const { page } = await harness.openWall(feed);
    // Every part a card can have: a name, a text, several images (the count badge), a link.
    const second = `${harness.base}/demo/media/cat-2.png`;
    const items = Array.from({ length: DEFAULT_MAX_ITEMS + 20 }, () => {
      const item = harness.feedItem(feed);
      return { ...item, images: [...item.images, { url: second, thumb: second, alt: 'Another cat' }] };
    });
    for (const item of items) harness.publish(feed, item);
    await tile(page, items.at(-1)!.id).waitFor({ state: 'attached' });
    await expect.poll(() => page.locator('[data-testid="tile"]').count()).toBe(DEFAULT_MAX_ITEMS);

    const perCard = await page.$$eval('[data-testid="tile"]', (cards) => cards.map((card) => 1 + card.getElementsByTagName('*').length));
    expect(Math.max(...perCard)).toBeLessThanOrEqual(6);
    expect(await page.evaluate(() => document.getElementsByTagName('*').length)).toBeLessThan(1_400);
    await page.context().close();
  });

  it('keeps at most maxItems cards, the newest, and removes the rest', async () => {
    const feed = feedName('cap');
    const { page } = await harness.openWall(feed, { origin: small });
    const ids = await show(page, feed, SMALL + 2, small);
    await expect.poll(() => tileIds(page)).toEqual(ids.slice(-SMALL).reverse());
    expect(await page.locator('[data-testid="wall"] > *').count()).toBe(SMALL);
    expect(await page.textContent('[data-testid="item-count"]')).toBe(String(SMALL));
    expect(await page.$$eval('[data-testid="tile"]', (cards) => cards.map((card) => card.getAttribute('aria-posinset')))).toEqual(['1', '2', '3']);
    await page.context().close();
  });

  it('removes the cards it pushes off with their listeners: the page’s listener count stays where a full wall has it', async () => {
    const feed = feedName('listeners');
    const { page } = await harness.openWall(feed, { origin: small });
    // Every card taken off the wall, kept alive here so that any listener left on it would still count.
    await page.evaluate(() => {
      const removed: Element[] = [];
      (window as unknown as { removed: Element[] }).removed = removed;
      new MutationObserver((records) => {
        for (const record of records) for (const node of record.removedNodes) if (node instanceof HTMLElement && node.tagName === 'ARTICLE') removed.push(node);
      }).observe(document.querySelector('[data-testid="wall"]')!, { childList: true });
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const listenerCount = async (): Promise<number> => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((metric) => metric.name === 'JSEventListeners')!.value;
    };
    /** The listeners on `expression`'s element and everything in it. */
    const listenersOn = async (expression: string): Promise<string[]> => {
      const { result } = await cdp.send('Runtime.evaluate', { expression });
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId!, depth: -1 });
      return listeners.map((listener) => listener.type);
    };

    await show(page, feed, SMALL, small);
    const full = await listenerCount();
    // A card on the wall has its listener (the image's error handler): the check below is not vacuous.
    expect(await listenersOn('document.querySelector(\'[data-testid="tile"]\')')).toEqual(['error']);

    // Ten wall-fulls, one after the other, so that every card goes in and, but for the last three, out again.
    for (let round = 0; round < 10; round++) await show(page, feed, SMALL, small);
    await expect.poll(() => page.evaluate(() => (window as unknown as { removed: Element[] }).removed.length)).toBe(SMALL * 10);
    expect(await listenerCount()).toBe(full);
    for (let index = 0; index < SMALL * 10; index++) expect(await listenersOn(`window.removed[${index}]`), `removed card ${index}`).toEqual([]);
    await cdp.detach();
    await page.context().close();
  });

  it('renders nothing in a hidden tab, keeps at most maxItems waiting, and catches up when the tab returns', async () => {
    const feed = feedName('hidden');
    const { page } = await harness.openWall(feed, { origin: small });
    const [first] = await show(page, feed, 1, small);
    const visibility = (hidden: boolean): Promise<void> =>
      page.evaluate((hide) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hide ? 'hidden' : 'visible') });
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => hide });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);

    await visibility(true);
    const away = Array.from({ length: SMALL + 2 }, () => harness.feedItem(feed, small));
    for (const item of away) harness.publish(feed, item);
    await waiting(page, away.length);
    await frames(page);
    expect(await tileIds(page)).toEqual([first]);

    await visibility(false);
    await expect.poll(() => tileIds(page)).toEqual(away.slice(-SMALL).map((item) => item.id).reverse());
    await waiting(page, 0);
    await page.context().close();
  });

  it('replaces a broken image with the post’s next one, and takes a card without any off the wall', async () => {
    const feed = feedName('broken');
    const { page, problems } = await harness.openWall(feed);
    const missing = `${harness.base}/demo/media/missing.png`;
    const good = `${harness.base}/demo/media/cat-3.png`;
    const [before] = await show(page, feed, 1);
    const recovers = harness.feedItem(feed, harness.base, {
      images: [
        { url: missing, thumb: missing, alt: 'Gone' },
        { url: good, thumb: good, alt: 'A cat that loads' },
      ],
    });
    const dies = harness.feedItem(feed, harness.base, { images: [{ url: missing, thumb: missing }] });
    const after = harness.feedItem(feed);
    for (const item of [recovers, dies, after]) harness.publish(feed, item);

    await expect.poll(() => tileIds(page)).toEqual([after.id, recovers.id, before]);
    const img = tile(page, recovers.id).locator('img');
    await expect.poll(() => img.getAttribute('src')).toBe(good);
    expect(await img.getAttribute('alt')).toBe('A cat that loads');
    // One image left: no count badge, and the link no longer speaks of several.
    expect(await tile(page, recovers.id).locator('a').getAttribute('data-images')).toBeNull();
    expect(await tile(page, recovers.id).locator('a').getAttribute('aria-label')).toBe('A cat that loads. Open the post by @alice.bsky.social on Bluesky');
    expect(await page.textContent('[data-testid="item-count"]')).toBe('3');
    expect(await page.$$eval('[data-testid="tile"]', (cards) => cards.map((card) => card.getAttribute('aria-posinset')))).toEqual(['1', '2', '3']);
    expect(problems.filter((problem) => !/Failed to load resource.*404/.test(problem))).toEqual([]);
    await page.context().close();
  });

  it('moves focus from card to card with Page Down and Page Up', async () => {
    const feed = feedName('keys');
    const { page } = await harness.openWall(feed);
    const ids = (await show(page, feed, 3)).reverse();
    const focused = (): Promise<string | undefined> => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id);

    await tile(page, ids[0]!).focus();
    await page.keyboard.press('PageDown');
    expect(await focused()).toBe(ids[1]);
    await page.keyboard.press('PageDown');
    expect(await focused()).toBe(ids[2]);
    await page.keyboard.press('PageDown'); // the last card: focus stays
    expect(await focused()).toBe(ids[2]);
    await page.keyboard.press('PageUp');
    expect(await focused()).toBe(ids[1]);
    // From a link inside a card too.
    await tile(page, ids[1]!).locator('a').focus();
    await page.keyboard.press('PageUp');
    expect(await focused()).toBe(ids[0]);
    await page.context().close();
  });

  it('switches feeds by the hash without a reload: one subscription at a time, each with its backfill', async () => {
    const [a, b] = [feedName('switch-a'), feedName('switch-b')];
    const earlyB = harness.feedItem(b);
    harness.publish(b, earlyB);
    const { page } = await harness.openWall(a);
    const [firstA] = await show(page, a, 1);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

    await page.click(`.feed-tab[href="#/${b}"]`);
    await tile(page, earlyB.id).waitFor({ state: 'attached' });
    await page.waitForSelector('[data-testid="status"][data-state="live"]');
    expect(await page.evaluate(() => location.hash)).toBe(`#/${b}`);
    expect(await page.textContent('#feed-title')).toBe(b);
    expect(await page.getAttribute(`.feed-tab[href="#/${b}"]`, 'aria-current')).toBe('page');
    // A's subscription is gone: its next post is not even received (it would be counted as skipped).
    const laterA = harness.feedItem(a);
    harness.publish(a, laterA);
    const [laterB] = await show(page, b, 1);
    expect(await tileIds(page)).toEqual([laterB, earlyB.id]);
    expect(await invalidCount(page)).toBe('0');

    await page.goBack();
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([laterA.id, firstA]);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await page.context().close();
  });

  it('shows which worker serves the feed, from the status topic on the same connection', async () => {
    const feed = feedName('status');
    const { page } = await harness.openWall(feed);
    const host = `worker-${harness.run}`;
    const status = {
      v: 1,
      kind: 'worker-status',
      host,
      region: 'eu-test',
      version: '0.1.0',
      at: new Date().toISOString(),
      feeds: [
        { feed: feedName('other'), route: 'feed:other', state: 'started', itemsPerMinute: 1 },
        { feed, route: `feed:${feed}`, state: 'started', itemsPerMinute: 42 },
      ],
    };
    harness.publisher.publish({ destination: '/topic/status.workers', body: JSON.stringify(status) });
    await page.waitForSelector('[data-testid="worker-status"][data-state="fresh"]');
    expect(await page.textContent('[data-testid="worker-status"]')).toBe(`${host} · eu-test · 42/min`);
    expect(await page.getAttribute('[data-testid="worker-status"]', 'title')).toBe(`Served by ${host} in eu-test: 42 posts a minute (started)`);
    await page.context().close();
  });
});
