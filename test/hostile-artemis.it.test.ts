import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from '@stomp/stompjs';
import rhea from 'rhea';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { BACKFILL_ITEMS, NO_SUCH_DESTINATION } from '@livewall/contract';
import { managementClient, type ManagementClient } from '../scripts/artemis-management.mjs';
import { declareTopic, sendOnce } from './amqp.js';
import { PrivateBroker } from './private-broker.js';
import { connectFrame, errorMessages, frame, rawTcp, rawWebSocket, type RawOutcome } from './raw-stomp.js';
import { collect, connectStomp } from './stomp.js';

/**
 * The public endpoint under attack: a private Artemis as broker.xml ships it, a page subscribed to a feed and a
 * publisher sending 10 items/s, while anonymous clients on the public acceptor try everything that took a wall down
 * under the old configuration. Each attack is refused; meanwhile the page receives every item in order, new pages
 * still subscribe, the publisher's items are all accepted, the heap stays bounded, and a restart finds the broker as
 * clean as before. Each attack comes from a loopback address of its own (127.0.0.x): the broker's limits are per
 * client address, and the page's own (127.0.0.1) must not be spent by the attacks.
 */

const run = promisify(execFile);
let broker: PrivateBroker;
let management: ManagementClient;
const feed = `hostile-${randomUUID().slice(0, 8)}`;
const topic = `/topic/feed.${feed}`;
const publisher = { host: '127.0.0.1', port: 0, username: 'publisher', password: '' };
const outcomes: RawOutcome[] = [];

/** Every answer an attack got is kept, for the check that no ERROR frame dumps broker state. */
async function attack(outcome: Promise<RawOutcome>): Promise<RawOutcome> {
  const result = await outcome;
  outcomes.push(result);
  return result;
}

let address = 10;
/** A loopback address no other attack has used. */
const attacker = (): string => `127.0.0.${address++}`;

/** The page: anonymous, heart-beats as the page's, reconnecting by itself; every body it receives, in order. */
const page = { bodies: [] as string[], connects: 0, client: undefined as Client | undefined };

/** The publisher: 10 items a second, each counted once the broker accepted it. */
const publishing = { sent: 0, accepted: 0, refused: 0, stop: () => undefined as void, close: () => undefined as void };

async function routingTypes(name: string): Promise<unknown> {
  return management.call(`address.${name}`, { attribute: 'RoutingTypes' });
}

async function feedAddresses(): Promise<string[]> {
  const names = (await management.call('broker', { op: 'getAddressNames' })) as string[];
  return names.filter((name) => name.startsWith('feed.')).sort();
}

/** The broker's heap in MiB after a full collection (jcmd, from the JDK that runs it). */
async function heapAfterGc(): Promise<number> {
  const pid = String(await broker.pid());
  await run('jcmd', [pid, 'GC.run']);
  const { stdout } = await run('jcmd', [pid, 'GC.heap_info']);
  const used = /used (\d+)K/.exec(stdout);
  if (!used) throw new Error(`jcmd GC.heap_info said: ${stdout}`);
  return Number(used[1]) / 1024;
}

/** Resolves once `condition` holds, checking every 50 ms; rejects after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A new page, anonymous: resolves with the bodies it got within `ms` of subscribing (the backfill first). */
async function newPage(ms = 1500): Promise<string[]> {
  const viewer = await connectStomp(broker.info.wsUrl);
  try {
    const received = collect(viewer, topic);
    await received.ready;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return received.messages.map((message) => message.body);
  } finally {
    await viewer.deactivate();
  }
}

let heapBefore = 0;

beforeAll(async () => {
  broker = await PrivateBroker.start(`test-hostile-${process.pid}`);
  Object.assign(publisher, { port: broker.info.amqpPort, password: broker.info.passwords.publisher });
  management = managementClient({ host: broker.info.host, port: broker.info.amqpPort, password: broker.info.passwords.admin });
  await management.ready;
  await declareTopic(publisher, topic);
  // The page subscribes before anything is published: it must see every item from the first.
  page.client = new Client({
    webSocketFactory: () => new WebSocket(broker.info.wsUrl, ['v12.stomp']),
    heartbeatIncoming: 2000,
    heartbeatOutgoing: 2000,
    reconnectDelay: 200,
    onConnect: () => {
      page.connects += 1;
      page.client!.subscribe(topic, (message) => page.bodies.push(message.body));
    },
  });
  page.client.activate();
  await until(() => page.connects === 1, 10_000, 'the page connected');

  const connection = rhea.create_container().connect({ ...publisher, reconnect: false });
  const sender = connection.open_sender({ target: { address: topic } });
  connection.on('accepted', () => (publishing.accepted += 1));
  connection.on('rejected', () => (publishing.refused += 1));
  connection.on('released', () => (publishing.refused += 1));
  await new Promise((resolve) => sender.once('sendable', resolve));
  const timer = setInterval(() => {
    sender.send({ message_id: `n-${publishing.sent}`, durable: true, content_type: 'application/json', body: rhea.message.data_section(Buffer.from(`{"n":${publishing.sent}}`)) });
    publishing.sent += 1;
  }, 100);
  publishing.stop = () => clearInterval(timer);
  publishing.close = () => connection.close();
  await until(() => page.bodies.length > 2, 10_000, 'the page received the first items');
  heapBefore = await heapAfterGc();
}, 120_000);

afterAll(async () => {
  publishing.stop();
  publishing.close();
  await page.client?.deactivate();
  management?.close();
  await broker?.remove();
});

describe('what an anonymous client may send', () => {
  test.each([
    ['SEND to the feed as a queue', [frame('SEND', { destination: `/queue/feed.${feed}` }, '{"spoof":1}')], /^"SEND" is not allowed here/],
    ['SEND to the feed as a topic', [frame('SEND', { destination: topic, 'destination-type': 'ANYCAST' }, '{"spoof":1}')], /^"SEND" is not allowed here/],
    ['SUBSCRIBE to the feed as a queue', [frame('SUBSCRIBE', { id: '1', destination: `/queue/feed.${feed}` })], /^destination "\/queue\/feed\.hostile-[a-z0-9-]+" is not allowed here$/],
    ['SUBSCRIBE without a prefix, ANYCAST', [frame('SUBSCRIBE', { id: '1', destination: `feed.${feed}`, 'subscription-type': 'ANYCAST' })], /^SUBSCRIBE header "subscription-type" is not allowed here$/],
    ['SUBSCRIBE to the topic, ANYCAST', [frame('SUBSCRIBE', { id: '1', destination: topic, 'subscription-type': 'ANYCAST' })], /^SUBSCRIBE header "subscription-type" is not allowed here$/],
    ['a durable subscription', [frame('SUBSCRIBE', { id: '1', destination: topic, 'durable-subscription-name': 'mine' })], /^SUBSCRIBE header "durable-subscription-name" is not allowed here$/],
    ['a client-acknowledged subscription', [frame('SUBSCRIBE', { id: '1', destination: topic, ack: 'client' })], /^ack mode "client" is not allowed here$/],
    ['a transaction', [frame('BEGIN', { transaction: 't1' })], /^"BEGIN" is not allowed here/],
  ])('%s: refused with an ERROR that says so, the connection closed, the feed still multicast only', async (_, frames, message) => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame(), ...frames], { from: attacker() }));
    expect(errorMessages(outcome)).toEqual([expect.stringMatching(message)]);
    expect(outcome.closed).toBe(true);
    expect(await routingTypes(`feed.${feed}`)).toEqual(['MULTICAST']);
  });

  test('a page opened after all of that subscribes and gets the backfill', async () => {
    const bodies = await newPage();
    expect(bodies.length).toBeGreaterThanOrEqual(BACKFILL_ITEMS);
  });

  test('subscribing to feeds that do not exist creates nothing: each is refused as not there', async () => {
    const before = await feedAddresses();
    const from = attacker();
    for (let n = 0; n < 40; n++) {
      const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame(), frame('SUBSCRIBE', { id: '1', destination: `/topic/feed.made-${n}`, receipt: 'r' })], { from }));
      expect(errorMessages(outcome)).toEqual([`${NO_SUCH_DESTINATION}feed.made-${n}`]);
    }
    expect(await feedAddresses()).toEqual(before);
  });

  test.each([
    ['a wildcard over every feed', '/topic/feed.#'],
    ['a wildcard over one level', '/topic/feed.*'],
    ['a name of 64 KiB', `/topic/feed.${'a'.repeat(3000)}`],
    ['the feed ownership leases', `/topic/owner.${feed}`],
    ['the broker’s management address', '/topic/activemq.management'],
  ])('%s: refused before the broker acts on it', async (_, destination) => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame(), frame('SUBSCRIBE', { id: '1', destination })], { from: attacker() }));
    expect(errorMessages(outcome)).toEqual([expect.stringMatching(/^destination ".*" is not allowed here$/)]);
    expect(outcome.closed).toBe(true);
  });

  test('at most 4 subscriptions on one connection', async () => {
    const subscribe = (id: number): string => frame('SUBSCRIBE', { id: String(id), destination: id % 2 ? topic : '/topic/status.workers', receipt: `r${id}` });
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame(), ...[1, 2, 3, 4, 5].map(subscribe)], { from: attacker() }));
    expect(outcome.frames.filter((received) => received.startsWith('RECEIPT')).length).toBe(4);
    expect(errorMessages(outcome)).toEqual(['at most 4 subscriptions per connection']);
  });
});

describe('logins on the public acceptor', () => {
  test.each([
    ['admin, with the right password (just used over AMQP)', 'admin'],
    ['publisher, with the right password', 'publisher'],
    ['the cluster user', 'ACTIVEMQ.CLUSTER.ADMIN.USER'],
  ])('%s is refused before authentication', async (_, login) => {
    expect(await sendOnce({ ...publisher, username: 'admin', password: broker.info.passwords.admin }, '/topic/feed.warm', '{}')).toMatchObject({ result: 'accepted' });
    const passcode = login === 'admin' ? broker.info.passwords.admin : login === 'publisher' ? broker.info.passwords.publisher : '';
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame({ login, passcode })], { from: attacker() }));
    expect(errorMessages(outcome)).toEqual([`login "${login}" is not accepted on this port`]);
    expect(outcome.frames.some((received) => received.startsWith('CONNECTED'))).toBe(false);
  });

  test('guessing passwords from one address is slowed to the CONNECT rate, and does not flood the log', async () => {
    const from = attacker();
    const linesAbout = async (): Promise<number> => (await broker.log()).split('\n').filter((line) => line.includes(`${from}:`) || line.includes(`from ${from}`)).length;
    const linesBefore = await linesAbout();
    const started = Date.now();
    const answers: string[] = [];
    for (let n = 0; n < 150; n++) {
      const outcome = await rawWebSocket(broker.info.wsUrl, [connectFrame({ login: 'viewer', passcode: `guess-${n}` })], { from, waitMs: 1000 });
      answers.push(errorMessages(outcome)[0] ?? (outcome.closed ? 'closed' : 'open'));
    }
    const seconds = (Date.now() - started) / 1000;
    const tried = answers.filter((answer) => /password is invalid|Security/.test(answer)).length;
    const slowed = answers.filter((answer) => answer.startsWith('too many connections from your address')).length;
    // 60 at once, then 10 a second: the rest are refused before the broker checks a password.
    expect(tried).toBeLessThanOrEqual(60 + Math.ceil(10 * seconds) + 1);
    expect(tried + slowed).toBe(150);
    expect(slowed).toBeGreaterThan(0);
    // Two lines per password the broker checked, a summary line for the refusals: never a line per attempt.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect((await linesAbout()) - linesBefore).toBeLessThanOrEqual(2 * tried + 2);
    const summaries = (await broker.log()).split('\n').filter((line) => line.includes('livewall guard: refused') && line.includes('too many connections') && line.includes(from));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe('connections that do not behave', () => {
  test('plain STOMP over TCP is closed at once, even a 10 MB frame', async () => {
    const small = await attack(rawTcp(broker.info.stompPort, connectFrame(), { from: attacker() }));
    expect(small.closed).toBe(true);
    expect(small.frames).toEqual([]);
    const huge = await attack(rawTcp(broker.info.stompPort, `SEND\ndestination:${topic}\n\n${'x'.repeat(10 * 1024 * 1024)}\0`, { from: attacker(), waitMs: 5000 }));
    expect(huge.closed).toBe(true);
    expect(huge.closedAfterMs).toBeLessThan(5000);
  });

  test('half a CONNECT over a WebSocket is closed within the 5 s login deadline', async () => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, ['CONNECT\naccept-version:1.2\n'], { from: attacker(), waitMs: 9000 }));
    expect(outcome.closed).toBe(true);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(4500);
    expect(outcome.closedAfterMs).toBeLessThan(8000);
  });

  test.each([
    ['a 1 MB frame sent in 8 KiB WebSocket messages', () => ['CONNECT\nx:', ...Array.from({ length: 128 }, () => 'y'.repeat(8000))]],
    ['a 1 MB header line', () => ['CONNECT\naccept-version:1.2\nlong:', 'z'.repeat(8000)]],
    ['10,000 headers', () => Array.from({ length: 100 }, (_, n) => (n === 0 ? 'CONNECT\n' : '') + Array.from({ length: 100 }, (__, h) => `h${n}-${h}:v\n`).join(''))],
  ])('%s: closed after the first 4 KiB', async (_, chunks) => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, chunks(), { from: attacker() }));
    expect(outcome.closed).toBe(true);
    expect(outcome.frames).toEqual([]);
  });

  test('one WebSocket message over 8 KiB is refused by the broker', async () => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame() + ' '.repeat(9000)], { from: attacker() }));
    expect(outcome.closed).toBe(true);
  });

  test('a content-length that lies leaves a connection that heart-beats stop: it is closed', async () => {
    const outcome = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame(undefined, '1000,1000'), 'SUBSCRIBE\ncontent-length:100000\n\nabc'], { from: attacker(), waitMs: 8000 }));
    expect(outcome.frames[0]).toMatch(/^CONNECTED/);
    expect(outcome.closed).toBe(true);
  });

  test('at most 100 connections from one address; the next is closed at once and the rest by the login deadline', async () => {
    const from = attacker();
    const sockets = await Promise.all(
      Array.from({ length: 100 }, () => new Promise<WebSocket>((resolve) => {
        const socket = new WebSocket(broker.info.wsUrl, ['v12.stomp'], { localAddress: from });
        socket.on('open', () => {
          socket.send('CONNECT\n');
          resolve(socket);
        });
        socket.on('error', () => resolve(socket));
      })),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length).toBe(100);
      const extra = await attack(rawWebSocket(broker.info.wsUrl, ['CONNECT\n'], { from, waitMs: 3000 }));
      expect(extra.closed).toBe(true);
      expect(extra.closedAfterMs).toBeLessThan(3000);
      // Another address is not affected.
      const other = await attack(rawWebSocket(broker.info.wsUrl, [connectFrame()], { from: attacker(), waitMs: 500 }));
      expect(other.frames[0]).toMatch(/^CONNECTED/);
      await expect.poll(() => sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length, { timeout: 10_000 }).toBe(0);
    } finally {
      for (const socket of sockets) socket.terminate();
    }
  }, 30_000);
});

describe('after the attacks', () => {
  test('no ERROR frame dumped broker state', () => {
    const errors = outcomes.flatMap(errorMessages);
    expect(errors.length).toBeGreaterThan(20);
    for (const message of errors) expect(message).not.toMatch(/CoreMessage|messageID=|address=|properties=/);
  });

  test('the page got every item in order, the publisher every acceptance, the heap stayed bounded', async () => {
    publishing.stop();
    await expect.poll(() => publishing.accepted, { timeout: 10_000 }).toBe(publishing.sent);
    expect(publishing.refused).toBe(0);
    await expect.poll(() => page.bodies.length, { timeout: 10_000 }).toBe(publishing.sent);
    expect(page.bodies).toEqual(Array.from({ length: publishing.sent }, (_, n) => `{"n":${n}}`));
    expect(page.connects).toBe(1);
    const heap = await heapAfterGc();
    expect(heap - heapBefore, `heap ${heapBefore.toFixed(0)} → ${heap.toFixed(0)} MiB`).toBeLessThan(64);
    const log = await broker.log();
    expect(log).not.toMatch(/AMQ222214|Java heap space/);
  });

  test('after a restart the broker is as clean: one feed, multicast only, and a new page gets its last items', async () => {
    const feedsBefore = await feedAddresses();
    management.close();
    await broker.stop();
    await broker.restart();
    const again = managementClient({ host: broker.info.host, port: broker.info.amqpPort, password: broker.info.passwords.admin });
    try {
      const names = ((await again.call('broker', { op: 'getAddressNames' })) as string[]).filter((name) => name.startsWith('feed.')).sort();
      expect(names).toEqual(feedsBefore);
      expect(names).toEqual([`feed.${feed}`, 'feed.warm'].sort());
      expect(await again.call(`address.feed.${feed}`, { attribute: 'RoutingTypes' })).toEqual(['MULTICAST']);
    } finally {
      again.close();
    }
    const bodies = await newPage();
    expect(bodies).toEqual(Array.from({ length: BACKFILL_ITEMS }, (_, n) => `{"n":${publishing.sent - BACKFILL_ITEMS + n}}`));
  }, 120_000);
});
