/**
 * The page's connection in a real Chromium (web/test/wall-harness.ts): what the status pill says on the way in and
 * while it waits to reconnect, a broker killed with -9 and started again, a link gone silent (heart-beats), and the
 * browser going offline and back. The page's timestamps are taken inside it; its Math.random is fixed where a test
 * needs to know the jittered waits in advance. Every wait is on the page's state, never on a clock.
 */
import type { FeedItem } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { PrivateBroker } from '../test/private-broker.js';
import type { TcpProxy } from '../test/tcp-proxy.js';
import { connectStomp } from '../test/stomp.js';
import { ONLINE_RETRY_SPREAD_MS } from './src/connection.js';
import { BACKFILLED, WallHarness, tileIds } from './test/wall-harness.js';

const harness = new WallHarness('connection');
const feedName = (label: string): string => harness.feedName(label);

beforeAll(() => harness.start([feedName('opening')]));
afterAll(() => harness.close());

interface Label {
  label: string;
  /** performance.now() in the page when the pill started to say it. */
  at: number;
}

/**
 * Before the page's scripts run: records every label the status pill shows, with the time, in `window.labels`
 * (and the time of the last `online` event in `window.onlineAt`); fixes Math.random at `random` if given.
 */
function recordStatus(random?: number): (context: BrowserContext) => Promise<unknown> {
  return (context) =>
    context.addInitScript((fixed) => {
      if (fixed !== null) Math.random = () => fixed;
      const labels: { label: string; at: number }[] = [];
      const page = window as unknown as { labels: typeof labels; onlineAt?: number };
      page.labels = labels;
      addEventListener('online', () => (page.onlineAt = performance.now()));
      new MutationObserver(() => {
        const label = document.getElementById('status-text')?.textContent;
        if (label && label !== labels.at(-1)?.label) labels.push({ label, at: performance.now() });
      }).observe(document, { subtree: true, childList: true, characterData: true });
    }, random ?? null);
}

const labels = (page: Page): Promise<Label[]> => page.evaluate(() => (window as unknown as { labels: Label[] }).labels);
const state = (page: Page, name: string, timeout = 30_000): Promise<unknown> => page.waitForSelector(`[data-testid="status"][data-state="${name}"]`, { timeout });
const tile = (page: Page, id: string): ReturnType<Page['locator']> => page.locator(`[data-testid="tile"][data-id="${id}"]`);

/**
 * A page whose link to the broker runs through a proxy of the test's own (served with `heartbeatMs` if given, its
 * status recorded and its Math.random fixed at `random`), live and showing one post.
 */
async function liveBehindProxy(feed: string, options: { heartbeatMs?: number; random?: number } = {}): Promise<{ proxy: TcpProxy; origin: string; page: Page; before: FeedItem }> {
  const { proxy, url } = await harness.brokerProxy();
  const heartbeat = options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs };
  const origin = await harness.serve((own) => ({ brokerUrls: [url], feeds: [{ name: feed, title: feed }], imageHosts: [own], ...heartbeat }));
  const { page } = await harness.openWall(feed, { origin, prepare: recordStatus(options.random) });
  const before = harness.feedItem(feed, origin);
  harness.publish(feed, before);
  await tile(page, before.id).waitFor();
  return { proxy, origin, page, before };
}

describe('the connection in Chromium', () => {
  it('says Connecting… until the feed’s subscription is confirmed, then Live', async () => {
    const { page } = await harness.openWall(feedName('opening'), { prepare: recordStatus() });
    const shown = (await labels(page)).map((entry) => entry.label);
    // "Starting…" is index.html's, until the page's script runs.
    expect(shown.filter((label) => label !== 'Starting…')).toEqual(['Connecting…', 'Live']);
    await page.context().close();
  });

  it('counts down "Reconnecting in N s" with the wait it really has, and the waits grow as attempts fail', async () => {
    const feed = feedName('countdown');
    // Math.random at its top: every wait is its whole step, 1 s, 2 s, 4 s…
    const { proxy, page } = await liveBehindProxy(feed, { random: 0.999_999 });

    // The broker's port is gone: each attempt reaches the proxy and is turned away at once.
    proxy.retarget(await freePort());
    const since = (await labels(page)).length;
    proxy.cut();
    await page.waitForSelector('#status-text:text-is("Reconnecting in 4 s")', { timeout: 20_000 });
    proxy.retarget(testBroker().stompPort);
    await state(page, 'live');

    const seen = (await labels(page)).slice(since);
    // Each wait shows its length first, counts down from there, and ends with the next attempt, not before.
    // (A busy machine may run a one-second tick late and skip a number, so the test reads the counts, not the ticks.)
    const waits: { first: string; seconds: number[]; lasted: number }[] = [];
    for (let index = 0; index < seen.length; index++) {
      if (!seen[index]!.label.startsWith('Reconnecting in') || seen[index - 1]?.label.startsWith('Reconnecting')) continue;
      const attempt = seen.findIndex((entry, at) => at > index && entry.label === 'Connecting…');
      // "Reconnecting…" is the moment between a wait's end and the attempt: 0 s left.
      const seconds = seen.slice(index, attempt).map((entry) => (entry.label === 'Reconnecting…' ? 0 : Number(/^Reconnecting in (\d+) s$/.exec(entry.label)?.[1])));
      waits.push({ first: seen[index]!.label, seconds, lasted: seen[attempt]!.at - seen[index]!.at });
    }
    expect(waits.map((wait) => wait.first)).toEqual(['Reconnecting in 1 s', 'Reconnecting in 2 s', 'Reconnecting in 4 s']);
    waits.forEach((wait, index) => {
      // Counts down, one label per remaining second at most (then at most a moment of "Reconnecting…"), and the
      // attempt comes no earlier than the wait's whole length.
      expect(wait.seconds.every((second, at) => second >= 0 && (at === 0 || second < wait.seconds[at - 1]!)), `${wait.first}: ${wait.seconds.join(', ')}`).toBe(true);
      expect(wait.lasted, wait.first).toBeGreaterThanOrEqual(2 ** index * 1000 - 50);
    });
    expect(seen.at(-1)!.label).toBe('Live');
    await page.context().close();
  });

  it('reconnects by itself when the broker is killed with -9 and started again, and shows what comes after', { timeout: 180_000 }, async () => {
    const broker = await PrivateBroker.start(`test-web-restart-${process.pid}`);
    const publishers: Client[] = [];
    const publisher = async (): Promise<Client> => {
      const client = await connectStomp(broker.info.operatorWsUrl, { login: 'admin', passcode: broker.info.passwords.admin });
      publishers.push(client);
      return client;
    };
    try {
      const feed = feedName('restart');
      const origin = await harness.serve((own) => ({ brokerUrls: [broker.info.wsUrl], feeds: [{ name: feed, title: feed }], imageHosts: [own] }), broker.info);
      const publish = (client: Client, item: FeedItem): void => client.publish({ destination: `/topic/feed.${feed}`, body: JSON.stringify(item) });
      const { page, problems } = await harness.openWall(feed, { origin });
      const before = harness.feedItem(feed, origin);
      publish(await publisher(), before);
      await tile(page, before.id).waitFor();

      await broker.kill9();
      await state(page, 'reconnecting');
      expect(await page.textContent('#status-text')).toMatch(/^Reconnecting in \d+ s$/);
      await broker.restart();
      await state(page, 'live', 60_000);

      const after = harness.feedItem(feed, origin);
      publish(await publisher(), after);
      await expect.poll(() => tileIds(page), { timeout: 10_000 }).toEqual([after.id, before.id]);
      expect(problems.filter((problem) => !/WebSocket/.test(problem))).toEqual([]);
      await page.context().close();
    } finally {
      await Promise.all(publishers.map((client) => client.deactivate()));
      await broker.remove();
    }
  });

  it('given two brokers, moves to the other when the one it is on is killed with -9, shows what it missed there and nothing twice', { timeout: 240_000 }, async () => {
    // Two brokers of the test's own, fed the same items as the edges of a tier are. The page picks its first one at
    // random (brokerOrder; the spread itself is pinned by web/src/connection.test.ts): the test kills that one.
    const brokers = [await PrivateBroker.start(`test-web-edge-a-${process.pid}`), await PrivateBroker.start(`test-web-edge-b-${process.pid}`)];
    const publishers: Client[] = [];
    try {
      const feed = feedName('edges');
      for (const broker of brokers.slice(1)) await declareFeed(feed, broker.info);
      const origin = await harness.serve((own) => ({ brokerUrls: brokers.map((broker) => broker.info.wsUrl), feeds: [{ name: feed, title: feed }], imageHosts: [own] }), brokers[0]!.info);
      for (const broker of brokers) publishers.push(await connectStomp(broker.info.operatorWsUrl, { login: 'admin', passcode: broker.info.passwords.admin }));
      const publishTo = (index: number, item: FeedItem): void => publishers[index]!.publish({ destination: `/topic/feed.${feed}`, body: JSON.stringify(item) });
      const toBoth = (item: FeedItem): void => brokers.forEach((_, index) => publishTo(index, item));
      const older = [harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
      for (const item of older) toBoth(item);

      const { page, problems } = await harness.openWall(feed, { origin, prepare: recordStatus() });
      await expect.poll(() => tileIds(page), BACKFILLED).toEqual([older[1]!.id, older[0]!.id]);
      // A live page names its broker in the status pill's title ("Receiving new posts from HOST:PORT").
      const detail = (await page.getAttribute('[data-testid="status"]', 'title')) ?? '';
      const first = brokers.findIndex((broker) => detail.includes(new URL(broker.info.wsUrl).host));
      expect(first, detail).toBeGreaterThanOrEqual(0);
      const other = 1 - first;
      const seen = harness.feedItem(feed, origin);
      toBoth(seen);
      await tile(page, seen.id).waitFor();

      const killedAt = await page.evaluate(() => performance.now());
      await brokers[first]!.kill9();
      // Published while the page moves: only the broker that is left has it.
      const missed = harness.feedItem(feed, origin);
      publishTo(other, missed);
      // It lost the killed one (and said so), and is live on the other without any restart.
      const otherHost = new URL(brokers[other]!.info.wsUrl).host;
      await page.waitForSelector(`[data-testid="status"][data-state="live"][title*="${otherHost}"]`, { timeout: 60_000 });
      const since = (await labels(page)).filter((entry) => entry.at > killedAt).map((entry) => entry.label);
      expect(since.some((label) => label.startsWith('Reconnecting')), since.join(' → ')).toBe(true);
      // The other broker's backfill repeats the three cards shown: each stays once; the one missed comes on top.
      await expect.poll(() => tileIds(page), BACKFILLED).toEqual([missed.id, seen.id, older[1]!.id, older[0]!.id]);
      const after = harness.feedItem(feed, origin);
      publishTo(other, after);
      await expect.poll(() => tileIds(page), { timeout: 10_000 }).toEqual([after.id, missed.id, seen.id, older[1]!.id, older[0]!.id]);
      expect(problems.filter((problem) => !/WebSocket/.test(problem))).toEqual([]);
      await page.context().close();
    } finally {
      await Promise.all(publishers.map((client) => client.deactivate()));
      await Promise.all(brokers.map((broker) => broker.remove()));
    }
  });

  it('notices a link gone silent by its missing heart-beats, says so, and is live again when the link is back', async () => {
    const feed = feedName('silent');
    const heartbeatMs = 1_000;
    const { proxy, origin, page, before } = await liveBehindProxy(feed, { heartbeatMs });

    // Nothing gets through, and nothing says so: no reset, no close. Only the missing heart-beats tell.
    const silentAt = await page.evaluate(() => performance.now());
    proxy.blackhole();
    await state(page, 'reconnecting', 10_000);
    expect(await page.textContent('#status-detail')).toMatch(/^No heart-beat from 127\.0\.0\.1:\d+\b/);
    // stompjs checks every interval and gives up after two without data: two to three intervals after the last data.
    // How soon that is depends on the machine's load, so the test asserts the cause, and reports the time.
    const noticed = (await labels(page)).find((entry) => entry.at > silentAt && entry.label.startsWith('Reconnecting'))!;
    console.info(`silent link noticed after ${Math.round(noticed.at - silentAt)} ms (heart-beat ${heartbeatMs} ms)`);

    const during = harness.feedItem(feed, origin);
    harness.publish(feed, during);
    proxy.restore();
    await state(page, 'live');
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([during.id, before.id]);
    await page.context().close();
  });

  it('says it is offline, and when the network is back reconnects within a few seconds, at its own random moment', async () => {
    const feed = feedName('offline');
    // Math.random at a half: the waits are 0.75 s, 1.5 s, 3 s, 6 s…, and the retry comes half-way through the spread.
    const { proxy, origin, page, before } = await liveBehindProxy(feed, { random: 0.5 });

    await page.context().setOffline(true);
    proxy.cut();
    await state(page, 'offline');
    expect(await page.textContent('[data-testid="status"]')).toBe('Offline');
    const during = harness.feedItem(feed, origin);
    harness.publish(feed, during);

    // Attempts go on failing while offline, each wait longer than the last: go online when one is 4 s or more away.
    const detail = await page.waitForSelector('#status-detail:text-matches("^This device is offline.*next try in ([4-9]|[1-9][0-9]) s")', { timeout: 20_000 });
    const left = Number(/next try in (\d+) s/.exec((await detail.textContent()) ?? '')![1]);
    const countdownAt = await page.evaluate(() => performance.now());
    await page.context().setOffline(false);
    await state(page, 'live');

    const { onlineAt, shown } = await page.evaluate(() => ({ onlineAt: (window as unknown as { onlineAt: number }).onlineAt, shown: (window as unknown as { labels: Label[] }).labels }));
    const attempt = shown.find((entry) => entry.at > onlineAt && entry.label === 'Connecting…')!;
    // Not at once (every tab on the network would come back in the same instant), but at its point in the spread,
    // and well before the wait it had while offline would have ended.
    expect(attempt.at - onlineAt).toBeGreaterThanOrEqual(0.5 * ONLINE_RETRY_SPREAD_MS - 50);
    expect(attempt.at).toBeLessThan(countdownAt + (left - 1) * 1000);
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([during.id, before.id]);
    await page.context().close();
  });
});
