/**
 * Moderators' takedowns on the wall, in a real Chromium against the real test broker (web/test/wall-harness.ts):
 * a hide or a block sent over STOMP to the feed's topic takes cards off a live wall; a page opened after item and
 * takedown were published (both in the broker's backfill) never inserts the card, not even for one frame; a
 * reconnect's replay brings nothing back; a takedown forged inside an item's fields takes nothing down. Every wait is
 * on the page's state, never on a clock; the times are measured in the page and reported.
 */
import { randomUUID } from 'node:crypto';
import { brokerProfile, type FeedItem, type ModerationAction } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker } from '../test/broker.js';
import { sendOnce } from '../test/amqp.js';
import { freePort } from '../test/ports.js';
import { PrivateBroker } from '../test/private-broker.js';
import { connectStomp } from '../test/stomp.js';
import { BACKFILLED, WallHarness, invalidCount, tileIds } from './test/wall-harness.js';

const harness = new WallHarness('moderation');
const feedName = (label: string): string => harness.feedName(label);
const FEEDS = ['live-hide', 'live-block', 'backfill', 'forged', 'other', 'reconnect'].map(feedName);

/** The moderator's STOMP connection, on the operators' private port, as a moderator's client makes it. */
let moderator: Client;

beforeAll(async () => {
  await harness.start(FEEDS);
  const broker = testBroker();
  moderator = await connectStomp(broker.operatorWsUrl, { login: 'moderator', passcode: broker.passwords.moderator }, { heartbeatMs: 10_000 });
});
afterAll(async () => {
  await moderator?.deactivate();
  await harness.close();
});

const tile = (page: Page, id: string): ReturnType<Page['locator']> => page.locator(`[data-testid="tile"][data-id="${id}"]`);
const waiting = (page: Page, count: number): Promise<unknown> => page.waitForSelector(`[data-testid="wall"][data-waiting="${count}"]`, { state: 'attached' });

/** A moderator's action on `feed`, as the moderation client sends it. */
function moderation(feed: string, action: ModerationAction['action'], target: { item?: FeedItem; author?: FeedItem }): ModerationAction {
  return {
    v: 1,
    kind: 'moderation',
    actionId: randomUUID(),
    action,
    feed,
    ...(target.item ? { itemId: target.item.id } : {}),
    ...(target.author ? { author: { network: target.author.network, handle: target.author.author.handle } } : {}),
    by: 'moderator',
    at: new Date().toISOString(),
    reason: 'test',
  };
}

/**
 * SENDs `body` and resolves on the broker's RECEIPT: items go out on the harness's connection and takedowns on the
 * moderator's, and only a receipt orders messages sent on two connections.
 */
function sendConfirmed(client: Client, destination: string, body: string): Promise<void> {
  const receipt = randomUUID();
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.publish({ destination, body, headers: { receipt, 'content-type': 'application/json' } });
  return confirmed;
}

/**
 * Sends `action` to the feed's topic over STOMP with the moderator login, as a moderator's client does (the copy
 * pages act on; the copy for the moderation log is the workers' business). `feed`: another topic than the action's.
 */
function sendTakedown(action: ModerationAction, feed = action.feed): Promise<void> {
  return sendConfirmed(moderator, brokerProfile('artemis').moderation.feedSendDestination(feed), JSON.stringify(action));
}

/** Publishes `items` in order, resolving once the broker has them all. */
async function publishConfirmed(...items: FeedItem[]): Promise<void> {
  for (const item of items) await sendConfirmed(harness.publisher, `/topic/feed.${item.feed}`, JSON.stringify(item));
}

interface Recorded {
  /** Every card inserted into the wall: its id, when (performance.now()) and in which mutation batch. */
  inserted: { id: string; at: number; batch: number }[];
  /** Every card taken out of the wall. */
  removed: { id: string; at: number }[];
  /** Each change of the wall's data-held (what holds it), with the time. */
  held: { held: string; busy: string | null; at: number }[];
  /** When the status pill first said Live. */
  liveAt?: number;
}

/**
 * Before the page's own script runs: records every card inserted into or removed from the wall, what holds the wall,
 * and when the page went live, in `window.recorded`.
 */
const recordWall = (context: BrowserContext): Promise<unknown> =>
  context.addInitScript(() => {
    const recorded: Recorded = { inserted: [], removed: [], held: [] };
    (window as unknown as { recorded: Recorded }).recorded = recorded;
    let batch = 0;
    new MutationObserver((records) => {
      batch += 1;
      const at = performance.now();
      for (const record of records) {
        const target = record.target as HTMLElement;
        if (record.type === 'attributes' && target.dataset.testid === 'wall' && record.attributeName === 'data-held') {
          recorded.held.push({ held: target.dataset.held ?? '', busy: target.getAttribute('aria-busy'), at });
        }
        if (record.type === 'attributes' && target.dataset.testid === 'status' && target.dataset.state === 'live' && recorded.liveAt === undefined) recorded.liveAt = at;
        for (const node of record.addedNodes) if (node instanceof HTMLElement && node.tagName === 'ARTICLE') recorded.inserted.push({ id: node.dataset.id ?? '', at, batch });
        for (const node of record.removedNodes) if (node instanceof HTMLElement && node.tagName === 'ARTICLE') recorded.removed.push({ id: node.dataset.id ?? '', at });
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-held', 'data-state'] });
  });

const recorded = (page: Page): Promise<Recorded> => page.evaluate(() => (window as unknown as { recorded: Recorded }).recorded);
/** The page's clock now (performance.now()). */
const pageNow = (page: Page): Promise<number> => page.evaluate(() => performance.now());
const posinsets = (page: Page): Promise<(string | null)[]> => page.$$eval('[data-testid="tile"]', (cards) => cards.map((card) => card.getAttribute('aria-posinset')));

/** Publishes `items` to `feed` and waits until the page shows the last one. */
async function show(page: Page, items: FeedItem[]): Promise<void> {
  for (const item of items) harness.publish(item.feed, item);
  await tile(page, items.at(-1)!.id).waitFor({ state: 'attached' });
}

const bob = { handle: 'bob.example.com', name: 'Bob' };

interface Scenario {
  feed: string;
  /** The page's server, which serves the test images. */
  origin: string;
  /** Publishes items in order; resolves once the broker has them. */
  publish(...items: FeedItem[]): Promise<void>;
  /** Sends a takedown to the feed's topic with the moderator login; resolves once the broker has it. */
  takedown(action: ModerationAction): Promise<void>;
  publishLive(item: FeedItem): void;
}

/**
 * Items and takedowns published, then a page opened: the broker's backfill brings each item before its takedown,
 * and the page must never insert a card taken down, not even for one frame (a MutationObserver installed before the
 * page's own script sees every insertion), while it shows the others at once, in one batch.
 */
async function openedAfterTakedowns({ feed, origin, publish, takedown, publishLive }: Scenario): Promise<void> {
  const byBob = (): FeedItem => harness.feedItem(feed, origin, { author: bob });
  const items = [harness.feedItem(feed, origin), byBob(), harness.feedItem(feed, origin), harness.feedItem(feed, origin), byBob(), harness.feedItem(feed, origin)];
  await publish(...items);
  const hidden = items[2]!;
  await takedown(moderation(feed, 'hide', { item: hidden }));
  await takedown(moderation(feed, 'block', { author: items[1] }));
  // Ignored by pages: an approval.
  await takedown(moderation(feed, 'approve', { item: items[0] }));
  // A hide undone: the page replays the feed's messages in order, so, as on a page that was open all along, the
  // card taken off is not brought back by the unhide…
  await takedown(moderation(feed, 'hide', { item: items[3] }));
  await takedown(moderation(feed, 'unhide', { item: items[3] }));
  // …and an author unblocked may post again.
  await takedown(moderation(feed, 'unblock', { author: items[1] }));
  const last = harness.feedItem(feed, origin, { author: bob });
  await publish(last);
  const expected = [last, items[5]!, items[0]!].map((item) => item.id);

  const { page, problems } = await harness.openWall(feed, { origin, prepare: recordWall });
  await expect.poll(() => tileIds(page), BACKFILLED).toEqual(expected);
  const seen = await recorded(page);
  const insertedIds = seen.inserted.map((entry) => entry.id);
  // Never inserted, not even for one frame.
  expect(insertedIds).not.toContain(hidden.id);
  expect(insertedIds).not.toContain(items[1]!.id);
  expect(insertedIds).not.toContain(items[4]!.id);
  expect(insertedIds).not.toContain(items[3]!.id);
  // The rest went in together, in one batch, newest on top.
  expect(insertedIds).toEqual(expected);
  expect(new Set(seen.inserted.map((entry) => entry.batch)).size).toBe(1);
  expect(seen.removed).toEqual([]);
  expect(await posinsets(page)).toEqual(['1', '2', '3']);
  expect(await page.textContent('[data-testid="item-count"]')).toBe('3');
  expect(await invalidCount(page)).toBe('0');
  // Held for the backfill from the subscription until it was all in, and not since.
  const holds = seen.held.map((entry) => entry.held);
  expect(holds).toContain('backfill');
  expect(holds.at(-1)).toBe('');
  // Busy for assistive technology while it is held: the backfill is read out as one change, once it is in.
  expect(seen.held.find((entry) => entry.held === 'backfill')?.busy).toBe('true');
  await expect.poll(() => page.getAttribute('[data-testid="wall"]', 'aria-busy')).toBe('false');
  const heldAt = seen.held.find((entry) => entry.held === 'backfill')!.at;
  const releasedAt = seen.held.findLast((entry) => entry.held === '')!.at;
  console.info(
    `${feed}: backfill of ${items.length + 7} messages: wall held ${Math.round(releasedAt - heldAt)} ms (${Math.round(releasedAt - (seen.liveAt ?? heldAt))} ms after the broker's RECEIPT), cards in ${Math.round(seen.inserted[0]!.at - releasedAt)} ms after the release`,
  );

  // Live posts after the backfill go straight in.
  const live = harness.feedItem(feed, origin);
  const sentAt = await pageNow(page);
  publishLive(live);
  await tile(page, live.id).waitFor({ state: 'attached' });
  const liveAt = (await recorded(page)).inserted.find((entry) => entry.id === live.id)!.at;
  console.info(`${feed}: a live post after the backfill, on the wall ${Math.round(liveAt - sentAt)} ms after it was sent`);
  expect(problems).toEqual([]);
  await page.context().close();
}

describe('takedowns on the wall in Chromium', () => {
  it('a hide sent to the feed’s topic takes the card off a live wall, keeps focus on a card, renumbers, and the id never comes back', async () => {
    const feed = feedName('live-hide');
    const { page, problems } = await harness.openWall(feed, { prepare: recordWall });
    const items = [harness.feedItem(feed), harness.feedItem(feed), harness.feedItem(feed)];
    await show(page, items);
    const [first, second, third] = items as [FeedItem, FeedItem, FeedItem];
    expect(await tileIds(page)).toEqual([third.id, second.id, first.id]);
    // A keyboard user is on the card that goes.
    await tile(page, second.id).focus();

    const sentAt = await pageNow(page);
    await sendTakedown(moderation(feed, 'hide', { item: second }));
    await tile(page, second.id).waitFor({ state: 'detached' });
    const removedAt = (await recorded(page)).removed.find((entry) => entry.id === second.id)!.at;
    console.info(`hide: card removed ${Math.round(removedAt - sentAt)} ms after the takedown was sent`);

    expect(await tileIds(page)).toEqual([third.id, first.id]);
    expect(await posinsets(page)).toEqual(['1', '2']);
    expect(await page.textContent('[data-testid="item-count"]')).toBe('2');
    // Focus went to the next card down, not to <body>.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id)).toBe(first.id);
    expect(await invalidCount(page)).toBe('0');

    // The same item published again (a worker's resend) stays off; another one shows.
    const after = harness.feedItem(feed);
    harness.publish(feed, second);
    harness.publish(feed, after);
    await tile(page, after.id).waitFor({ state: 'attached' });
    expect(await tileIds(page)).toEqual([after.id, third.id, first.id]);
    expect((await recorded(page)).inserted.filter((entry) => entry.id === second.id)).toHaveLength(1);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('a block takes every card of the author off, shown and queued, refuses their later posts, and an unblock lets new ones in', async () => {
    const feed = feedName('live-block');
    const { page, problems } = await harness.openWall(feed, { prepare: recordWall });
    const byBob = (): FeedItem => harness.feedItem(feed, harness.base, { author: bob, url: `https://bsky.app/profile/${bob.handle}/post/${randomUUID()}` });
    // Top to bottom: a post of Alice's, two of Bob's, one of Alice's.
    const shown = [harness.feedItem(feed), byBob(), byBob(), harness.feedItem(feed)];
    await show(page, shown);
    expect(await tileIds(page)).toEqual(shown.map((item) => item.id).reverse());

    // Paused: two more arrive and wait, one of them Bob's.
    await page.click('[data-testid="pause"]');
    await page.waitForSelector('[data-testid="pause"][data-paused="true"]');
    const queued = [byBob(), harness.feedItem(feed)];
    for (const item of queued) harness.publish(feed, item);
    await waiting(page, 2);
    expect(await page.textContent('[data-testid="pause"]')).toBe('Resume (2 new)');

    // A keyboard user is on Bob's upper card: the one below it goes too.
    await tile(page, shown[2]!.id).focus();
    const sentAt = await pageNow(page);
    // The handle as a moderator may type it: another case, with an @.
    await sendTakedown({ ...moderation(feed, 'block', {}), author: { network: 'bluesky', handle: '@Bob.Example.com' } });
    await expect.poll(() => tileIds(page)).toEqual([shown[3]!.id, shown[0]!.id]);
    const removed = (await recorded(page)).removed;
    console.info(`block: ${removed.length} cards removed ${Math.round(Math.max(...removed.map((entry) => entry.at)) - sentAt)} ms after the takedown was sent`);
    expect(removed.map((entry) => entry.id).sort()).toEqual([shown[1]!.id, shown[2]!.id].sort());
    // Focus went to the nearest card that stays, below both of Bob's.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id)).toBe(shown[0]!.id);
    // Bob's queued post is gone from the queue too: one new post waits.
    await waiting(page, 1);
    expect(await page.textContent('[data-testid="pause"]')).toBe('Resume (1 new)');
    expect(await posinsets(page)).toEqual(['1', '2']);
    expect(await page.textContent('[data-testid="item-count"]')).toBe('2');

    await page.click('[data-testid="pause"]');
    await expect.poll(() => tileIds(page)).toEqual([queued[1]!.id, shown[3]!.id, shown[0]!.id]);

    // Bob's later posts are refused…
    const refused = byBob();
    const marker = harness.feedItem(feed);
    harness.publish(feed, refused);
    harness.publish(feed, marker);
    await tile(page, marker.id).waitFor({ state: 'attached' });
    expect(await tile(page, refused.id).count()).toBe(0);

    // …until an unblock: his next post shows, the cards taken off do not come back.
    await sendTakedown(moderation(feed, 'unblock', { author: shown[1] }));
    const welcome = byBob();
    harness.publish(feed, welcome);
    await tile(page, welcome.id).waitFor({ state: 'attached' });
    expect(await tileIds(page)).toEqual([welcome.id, marker.id, queued[1]!.id, shown[3]!.id, shown[0]!.id]);
    const inserted = (await recorded(page)).inserted.map((entry) => entry.id);
    expect(inserted).not.toContain(refused.id);
    expect(inserted).not.toContain(queued[0]!.id);
    expect(await invalidCount(page)).toBe('0');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('a page opened after the takedowns never inserts the cards taken down, and shows the rest of the backfill at once', async () => {
    const feed = feedName('backfill');
    await openedAfterTakedowns({
      feed,
      origin: harness.base,
      publish: publishConfirmed,
      takedown: (action) => sendTakedown(action),
      publishLive: (item) => harness.publish(feed, item),
    });
  });

  it('after a reconnect, the replay brings back no card taken down, and a takedown sent while away applies before its item shows', async () => {
    const feed = feedName('reconnect');
    const { proxy, url } = await harness.brokerProxy();
    const origin = await harness.serve((own) => ({ brokerUrls: [url], feeds: [{ name: feed, title: feed }], imageHosts: [own] }));
    const { page, problems } = await harness.openWall(feed, { origin, prepare: recordWall });
    const [kept, hidden] = [harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
    await show(page, [kept, hidden]);
    await sendTakedown(moderation(feed, 'hide', { item: hidden }));
    await tile(page, hidden.id).waitFor({ state: 'detached' });

    // The link drops, and while the page waits to reconnect an item is published and taken down.
    proxy.retarget(await freePort());
    proxy.cut();
    await page.waitForSelector('[data-testid="status"][data-state="reconnecting"]');
    const away = harness.feedItem(feed, origin);
    const awayKept = harness.feedItem(feed, origin);
    await publishConfirmed(away, awayKept);
    await sendTakedown(moderation(feed, 'hide', { item: away }));
    proxy.retarget(testBroker().stompPort);
    await page.waitForSelector('[data-testid="status"][data-state="live"]');

    // The resubscription's backfill (kept, hidden, its hide, away, awayKept, its hide) has been applied: the wall was
    // held for it a second time and let go.
    await expect.poll(async () => (await recorded(page)).held.filter((entry) => entry.held === 'backfill').length, BACKFILLED).toBe(2);
    await expect.poll(async () => (await recorded(page)).held.at(-1)?.held, BACKFILLED).toBe('');
    await expect.poll(() => tileIds(page), BACKFILLED).toEqual([awayKept.id, kept.id]);
    const inserted = (await recorded(page)).inserted.map((entry) => entry.id);
    // Each once: nothing of the replay went in again, and the item hidden while the page was away never did.
    expect([...inserted].sort()).toEqual([kept.id, hidden.id, awayKept.id].sort());
    const after = harness.feedItem(feed, origin);
    harness.publish(feed, after);
    await tile(page, after.id).waitFor({ state: 'attached' });
    expect(await tileIds(page)).toEqual([after.id, awayKept.id, kept.id]);
    expect(await invalidCount(page)).toBe('0');
    expect(problems.filter((problem) => !/WebSocket/.test(problem))).toEqual([]);
    await page.context().close();
  });

  it('a takedown forged inside an item’s fields takes nothing down, and an item with a kind field is skipped as invalid', async () => {
    const feed = feedName('forged');
    const { page } = await harness.openWall(feed, { prepare: recordWall });
    const target = harness.feedItem(feed);
    await show(page, [target]);
    const forged = JSON.stringify(moderation(feed, 'hide', { item: target }));
    const blockJson = JSON.stringify(moderation(feed, 'block', { author: target }));

    // Valid items whose fields hold a takedown's JSON: shown as the items they are.
    const inText = harness.feedItem(feed, harness.base, { text: forged });
    const inAlt = harness.feedItem(feed, harness.base, { images: [{ ...target.images[0]!, alt: forged }] });
    const inName = harness.feedItem(feed, harness.base, { author: { handle: 'mallory.example', name: blockJson.slice(0, 100) } });
    // Invalid: an item with an extra top-level kind (a moderation message, and not a valid one), and a takedown that
    // hides in an item's shape; a valid takedown for another feed.
    const withKind = { ...harness.feedItem(feed), kind: 'moderation', action: 'hide', itemId: target.id };
    const actionInItem = { ...moderation(feed, 'hide', { item: target }), images: target.images, url: target.url };
    const otherFeed = moderation(feedName('other'), 'hide', { item: target });
    await publishConfirmed(inText, inAlt, inName);
    harness.publish(feed, JSON.stringify(withKind));
    harness.publish(feed, JSON.stringify(actionInItem));
    await sendTakedown(otherFeed, feed);
    const marker = harness.feedItem(feed);
    harness.publish(feed, marker);

    await tile(page, marker.id).waitFor({ state: 'attached' });
    expect(await tileIds(page)).toEqual([marker.id, inName.id, inAlt.id, inText.id, target.id]);
    expect(await invalidCount(page)).toBe('3');
    expect(await tile(page, inText.id).textContent()).toContain('"kind":"moderation"');
    expect((await recorded(page)).removed).toEqual([]);
    await page.context().close();
  });
});

describe('takedowns on a wall served by RabbitMQ', () => {
  const feed = feedName('rabbitmq');
  let broker: PrivateBroker;
  let origin: string;
  let rabbitModerator: Client;

  beforeAll(async () => {
    broker = await PrivateBroker.start(`test-wall-moderation-${process.pid}`, {}, { profile: 'rabbitmq', feeds: [feed] });
    origin = await harness.serve((own) => ({ brokerUrls: [broker.info.wsUrl], brokerProfile: 'rabbitmq', feeds: [{ name: feed, title: feed }], imageHosts: [own] }), broker.info);
    rabbitModerator = await connectStomp(broker.info.operatorWsUrl, { login: 'moderator', passcode: broker.info.passwords.moderator }, { heartbeatMs: 10_000 });
  }, 180_000);
  afterAll(async () => {
    await rabbitModerator?.deactivate();
    await broker?.remove();
  });

  it('a page opened after the takedowns never inserts the cards taken down (the recent-history exchange’s backfill)', async () => {
    const rabbitmq = brokerProfile('rabbitmq');
    const publisher = { host: broker.info.host, port: broker.info.amqpPort, username: 'publisher', password: broker.info.passwords.publisher };
    // Items as the worker sends them, over AMQP 1.0, each accepted before the next.
    const publish = async (...items: FeedItem[]): Promise<void> => {
      for (const item of items) expect(await sendOnce(publisher, rabbitmq.amqpTarget(feed), JSON.stringify(item))).toEqual({ result: 'accepted' });
    };
    await openedAfterTakedowns({
      feed,
      origin,
      publish,
      takedown: (action) => sendConfirmed(rabbitModerator, rabbitmq.moderation.feedSendDestination(feed), JSON.stringify(action)),
      publishLive: (item) => void publish(item),
    });
  });
});
