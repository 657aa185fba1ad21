import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BACKFILL_ITEMS, ImageAllowList, parseFeedItem } from '@livewall/contract';
import type { Client, IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { declareTopic, sendMany, sendOnce, type AmqpLogin } from './amqp.js';
import type { TestBroker } from './broker.js';
import { freePort } from './ports.js';
import { connectFrame, errorMessages, frame, rawWebSocket } from './raw-stomp.js';
import { collect, connectStomp, type Collector } from './stomp.js';
import { demoOrigin, longRecording, root, startWorker, workerConfig } from './worker.js';

/**
 * The edge tier (activemq/edge/, run by scripts/broker-edges): a worker publishes to the core, the core pushes every
 * feed to two edges over its broker connections, and viewers subscribe on the edges, as the page does. A tier of its
 * own (name and ports), never the demo's or the other tests' broker.
 */

const run = promisify(execFile);
const name = `test-edges-${process.pid}`;
const edges = ['edge-a', 'edge-b'] as const;
type Edge = (typeof edges)[number];

let env: NodeJS.ProcessEnv;
let dir: string;
let core: { amqpPort: number; stompTcpPort: number; corePort: number };
let wsUrl: Record<Edge, string>;
let tierPort: Record<Edge, number>;
let haEnv: NodeJS.ProcessEnv | undefined;
const haName = `test-edges-ha-${process.pid}`;
let passwords: { admin: string; publisher: string; viewer: string; moderator: string; edge: string };
const clients: Client[] = [];

/** Runs scripts/broker-edges; resolves with what it said (it talks on stderr) and printed. */
async function tier(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(`${root}/scripts/broker-edges`, args, { env, cwd: root });
  return stderr + stdout;
}

const login = (username: 'publisher' | 'edge' | 'admin', port = core.amqpPort): AmqpLogin => ({ host: '127.0.0.1', port, username, password: passwords[username] });
const ids = (messages: IMessage[]): string[] => messages.map((message) => (JSON.parse(message.body) as { id: string }).id);

/** The core as a TestBroker, for the worker's config: the worker publishes to the core only. */
function coreBroker(): TestBroker {
  return {
    host: '127.0.0.1',
    amqpPort: core.amqpPort,
    stompPort: core.stompTcpPort,
    wsUrl: `ws://127.0.0.1:${core.stompTcpPort}`,
    stompTcpPort: core.stompTcpPort,
    operatorWsUrl: `ws://127.0.0.1:${core.stompTcpPort}`,
    passwords,
  };
}

/** An anonymous viewer on `edge`, subscribed (the broker confirmed it) to feed F. */
async function viewer(edge: Edge, feed: string): Promise<Collector> {
  // Heart-beats, as the page sends: the broker closes a silent connection after its TTL (20 s).
  const client = await connectStomp(wsUrl[edge], {}, { heartbeatMs: 5_000 });
  clients.push(client);
  const subscription = collect(client, `/topic/feed.${feed}`);
  await subscription.ready;
  return subscription;
}

/**
 * Waits until feed F exists on `edge`: the core's link attaches to each of its addresses there as soon as the core
 * has it, and the guard refuses a subscription to a feed that does not exist (an ERROR, and the connection closes).
 */
async function feedOnEdge(edge: Edge, feed: string): Promise<void> {
  await expect
    .poll(async () => {
      const outcome = await rawWebSocket(wsUrl[edge], [connectFrame(), frame('SUBSCRIBE', { id: '1', destination: `/topic/feed.${feed}`, receipt: 'r' })], { waitMs: 500 });
      return outcome.frames.some((sent) => sent.startsWith('RECEIPT'));
    }, { timeout: 20_000, interval: 300 })
    .toBe(true);
}

/**
 * The core's queue for each edge on feed F (the bridge's durable subscription), from the core's own queue statistics:
 * how many items it was given and how many of them the edge has taken and acknowledged (after routing them there).
 */
async function edgeQueuesOnCore(feed: string): Promise<Record<Edge, { added: number; acked: number; waiting: number } | undefined>> {
  const { stdout } = await run(join(root, '.run', name, 'core/bin/artemis'), ['queue', 'stat', '--url', `tcp://127.0.0.1:${core.corePort}`, '--user', 'admin', '--password', passwords.admin, '--field', 'NAME', '--operation', 'CONTAINS', '--value', `-address-sender-to-feed.${feed}-`]);
  const queues: Record<Edge, { added: number; acked: number; waiting: number } | undefined> = { 'edge-a': undefined, 'edge-b': undefined };
  for (const row of stdout.split('\n').filter((line) => line.startsWith('|amqp-bridge-to-'))) {
    // NAME | ADDRESS | CONSUMER COUNT | MESSAGE COUNT | MESSAGES ADDED | DELIVERING COUNT | MESSAGES ACKED | ...
    const cells = row.split('|').map((cell) => cell.trim());
    const edge = edges.find((candidate) => cells[1]?.startsWith(`amqp-bridge-to-${candidate}-`));
    if (edge) queues[edge] = { waiting: Number(cells[4]), added: Number(cells[5]), acked: Number(cells[7]) };
  }
  return queues;
}

/** Waits until every edge has taken all `count` items the core received on feed F. */
async function onEveryEdge(feed: string, count: number, only: readonly Edge[] = edges): Promise<void> {
  const drained = { added: count, acked: count, waiting: 0 };
  await expect
    .poll(async () => {
      const queues = await edgeQueuesOnCore(feed);
      return only.map((edge) => queues[edge]);
    }, { timeout: 60_000, interval: 500 })
    .toEqual(only.map(() => drained));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-edges-'));
  core = { amqpPort: await freePort(), stompTcpPort: await freePort(), corePort: await freePort() };
  wsUrl = { 'edge-a': '', 'edge-b': '' };
  tierPort = { 'edge-a': 0, 'edge-b': 0 };
  env = {
    ...process.env,
    LIVEWALL_EDGES_NAME: name,
    LIVEWALL_BROKER_HOST: '127.0.0.1',
    LIVEWALL_EDGES_CORE_AMQP_PORT: String(core.amqpPort),
    LIVEWALL_EDGES_CORE_STOMP_TCP_PORT: String(core.stompTcpPort),
    LIVEWALL_EDGES_CORE_CORE_PORT: String(core.corePort),
  };
  // The tier makes its own passwords: a demo's must not leak into it.
  for (const user of ['ADMIN', 'PUBLISHER', 'VIEWER', 'MODERATOR', 'EDGE']) env[`LIVEWALL_${user}_PASSWORD`] = '';
  for (const edge of edges) {
    const stomp = await freePort();
    tierPort[edge] = await freePort();
    wsUrl[edge] = `ws://127.0.0.1:${stomp}`;
    const prefix = `LIVEWALL_EDGES_${edge.toUpperCase().replace('-', '_')}`;
    env[`${prefix}_STOMP_PORT`] = String(stomp);
    env[`${prefix}_TIER_PORT`] = String(tierPort[edge]);
  }
  await tier('start');
  const printed = await tier('env');
  const value = (key: string): string => {
    const match = new RegExp(`^${key}='(.*)'$`, 'm').exec(printed);
    if (!match?.[1]) throw new Error(`scripts/broker-edges env did not print ${key}`);
    return match[1].replaceAll(`'\\''`, `'`);
  };
  passwords = {
    admin: value('LIVEWALL_ADMIN_PASSWORD'),
    publisher: value('LIVEWALL_PUBLISHER_PASSWORD'),
    viewer: value('LIVEWALL_VIEWER_PASSWORD'),
    moderator: value('LIVEWALL_MODERATOR_PASSWORD'),
    edge: value('LIVEWALL_EDGE_PASSWORD'),
  };
  expect(printed).toContain(`LIVEWALL_BROKER_WS_URLS=${wsUrl['edge-a'].replace('127.0.0.1', 'localhost')},${wsUrl['edge-b'].replace('127.0.0.1', 'localhost')}`);
}, 300_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.deactivate()));
  if (haEnv) await run(`${root}/scripts/broker-ha`, ['stop'], { env: haEnv, cwd: root }).catch(() => undefined);
  await rm(join(root, '.run', haName), { recursive: true, force: true });
  if (env) await tier('stop');
  await rm(join(root, '.run', name), { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the edge tier (scripts/broker-edges)', () => {
  test('status reports the core and both edges running', async () => {
    const status = await tier('status');
    for (const broker of ['core', 'edge-a', 'edge-b']) expect(status).toMatch(new RegExp(`${broker}: running`));
  });

  test("a worker's items reach a viewer on each edge, every one, valid and in the order the core received them", async () => {
    const feed = 'edges-live';
    const { file, ids: expected } = await longRecording(dir, feed, 80);
    // The worker's sender makes the feed on the core; the core's link makes it on each edge.
    await declareTopic(login('publisher'), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    const onA = await viewer('edge-a', feed);
    const onB = await viewer('edge-b', feed);
    // The core's order: an operator's subscription on the core itself.
    const coreTap = await connectStomp(`ws://127.0.0.1:${core.stompTcpPort}`, { login: 'admin', passcode: passwords.admin });
    clients.push(coreTap);
    const onCore = collect(coreTap, `/topic/feed.${feed}`);
    await onCore.ready;

    const config = join(dir, 'worker.yaml');
    await writeFile(config, workerConfig({ broker: coreBroker(), feeds: [feed], recording: file, replay: ['pace: 100/s'] }));
    const worker = startWorker(['run', '--config', config], { TEST_PUBLISHER_PASSWORD: passwords.publisher });
    expect(await worker.exited, worker.output()).toBe(0);

    const atCore = ids(await onCore.waitFor(expected.length, 30_000));
    expect(atCore).toEqual(expected);
    const allowList = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', demoOrigin]);
    for (const subscription of [onA, onB]) {
      const messages = await subscription.waitFor(expected.length, 30_000);
      expect(ids(messages)).toEqual(atCore);
      for (const message of messages) expect(parseFeedItem(message.binaryBody, allowList), message.body).toMatchObject({ ok: true, item: { feed } });
    }
  });

  test(`an edge that never had a viewer gives its first viewer the feed's last ${BACKFILL_ITEMS} items, then live ones`, async () => {
    const feed = 'edges-idle';
    await declareTopic(login('publisher'), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    const bodies = Array.from({ length: 40 }, (_, n) => JSON.stringify({ id: `idle-${n}` }));
    expect(await sendMany(login('publisher'), `/topic/feed.${feed}`, bodies)).toMatchObject({ accepted: 40, unsettled: 0 });
    const expected = Array.from({ length: BACKFILL_ITEMS }, (_, index) => `idle-${40 - BACKFILL_ITEMS + index}`);
    // Both edges have taken all 40 (the core's queue for each is empty), though nobody watches there.
    await onEveryEdge(feed, 40);
    for (const edge of edges) {
      // Nobody has subscribed to this feed on either edge (feedOnEdge's probe ended before a message was sent).
      const first = await viewer(edge, feed);
      expect(ids(await first.waitFor(BACKFILL_ITEMS))).toEqual(expected);
    }
    expect(await sendOnce(login('publisher'), `/topic/feed.${feed}`, JSON.stringify({ id: 'idle-live' }))).toEqual({ result: 'accepted' });
    const late = await viewer('edge-b', feed);
    expect(ids(await late.waitFor(BACKFILL_ITEMS)).at(-1)).toBe('idle-live');
  });

  test('an edge killed with SIGKILL gets, once restarted, what the core received while it was down, in order', async () => {
    const feed = 'edges-crash';
    await declareTopic(login('publisher'), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    const send = async (from: number, to: number): Promise<void> => {
      const bodies = Array.from({ length: to - from }, (_, n) => JSON.stringify({ id: `crash-${from + n}` }));
      expect(await sendMany(login('publisher'), `/topic/feed.${feed}`, bodies)).toMatchObject({ accepted: to - from, unsettled: 0 });
    };
    await send(0, 10);
    // Both edges have all 10 before a viewer subscribes (a subscription made while items arrive can miss some: see
    // docs/edges.md).
    await onEveryEdge(feed, 10);
    const onB = await viewer('edge-b', feed);
    await onB.waitFor(10);

    await tier('kill', 'edge-a');
    // 30 items while edge A is down: more than a backfill, so what edge A shows next all came through the core's queue,
    // which holds them meanwhile.
    await send(10, 40);
    expect((await edgeQueuesOnCore(feed))['edge-a']).toEqual({ added: 40, acked: 10, waiting: 30 });
    await tier('start', 'edge-a');
    await feedOnEdge('edge-a', feed);
    // The core's link comes back within its retry interval and hands over what waited in edge A's queue on the core.
    await onEveryEdge(feed, 40, ['edge-a']);
    const expected = Array.from({ length: BACKFILL_ITEMS }, (_, index) => `crash-${40 - BACKFILL_ITEMS + index}`);
    const onA = await viewer('edge-a', feed);
    expect(ids(await onA.waitFor(BACKFILL_ITEMS, 30_000))).toEqual(expected);
    await send(40, 45);
    const after = ['crash-40', 'crash-41', 'crash-42', 'crash-43', 'crash-44'];
    expect(ids(await onA.waitFor(BACKFILL_ITEMS + 5, 30_000)).slice(BACKFILL_ITEMS)).toEqual(after);
    // Edge B was never interrupted: every item, once, in order.
    expect(ids(await onB.waitFor(45))).toEqual(Array.from({ length: 45 }, (_, n) => `crash-${n}`));
  });

  test('the core stopped and restarted, then killed with SIGKILL and restarted: both edges resume, every item once, in order', async () => {
    const feed = 'edges-core';
    await declareTopic(login('publisher'), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    const send = async (from: number, to: number): Promise<void> => {
      const bodies = Array.from({ length: to - from }, (_, n) => JSON.stringify({ id: `core-${from + n}` }));
      expect(await sendMany(login('publisher'), `/topic/feed.${feed}`, bodies)).toMatchObject({ accepted: to - from, unsettled: 0 });
    };
    await send(0, 10);
    await onEveryEdge(feed, 10);
    const onA = await viewer('edge-a', feed);
    const onB = await viewer('edge-b', feed);
    for (const subscription of [onA, onB]) await subscription.waitFor(10);

    // Each edge's queue on the core survives the restart with what the edge acknowledged (auto-delete-queues is off on
    // the core): the core resumes after the last item each edge took, neither replaying the feed's retroactive
    // backfill into a queue made anew (a duplicate of up to 24 items on every viewer) nor losing what came meanwhile.
    await tier('stop', 'core');
    await tier('start', 'core');
    await send(10, 20);
    await onEveryEdge(feed, 10);
    await tier('kill', 'core');
    await tier('start', 'core');
    await send(20, 30);
    await onEveryEdge(feed, 10);

    const expected = Array.from({ length: 30 }, (_, n) => `core-${n}`);
    for (const subscription of [onA, onB]) expect(ids(await subscription.waitFor(30, 30_000))).toEqual(expected);
    // Nothing more arrives late: no replay after the last item.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const subscription of [onA, onB]) expect(ids(subscription.messages)).toEqual(expected);
  }, 180_000);

  test('on an edge the guest cannot send, and a worker cannot publish; the edge user cannot publish to the core', async () => {
    const feed = 'edges-guard';
    await declareTopic(login('publisher'), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    const watching = await viewer('edge-a', feed);

    // The guest's SEND on an edge's public acceptor: refused by the guard, and the connection closed.
    const guest = await rawWebSocket(wsUrl['edge-a'], [connectFrame(), frame('SEND', { destination: `/topic/feed.${feed}`, 'content-type': 'application/json' }, '{"id":"guest"}')]);
    expect(guest.closed).toBe(true);
    expect(errorMessages(guest).length).toBeGreaterThan(0);
    // The publisher's login on an edge's public acceptor: refused (the guard takes viewers only).
    await expect(connectStomp(wsUrl['edge-a'], { login: 'publisher', passcode: passwords.publisher })).rejects.toThrow();
    // A worker on an edge's tier acceptor: the publisher role may do nothing on an edge.
    for (const target of [`feed.${feed}`, `/topic/feed.${feed}`]) {
      expect((await sendOnce(login('publisher', tierPort['edge-a']), target, '{"id":"worker-on-edge"}')).result, target).not.toBe('accepted');
    }
    // The edge user on the core: no send anywhere there.
    for (const target of [`feed.${feed}`, `/topic/feed.${feed}`, 'status.workers', '/topic/status.workers']) {
      expect((await sendOnce(login('edge'), target, '{"id":"edge-on-core"}')).result, target).not.toBe('accepted');
    }

    // Nothing of it reached a viewer: the next item the core takes is the first the viewer gets.
    expect(await sendOnce(login('publisher'), `/topic/feed.${feed}`, '{"id":"real"}')).toEqual({ result: 'accepted' });
    expect(ids(await watching.waitFor(1))).toEqual(['real']);
  });
});

describe("the edge tier's core as a high-availability pair (scripts/broker-ha, LIVEWALL_HA_CONFIG=edge-core)", () => {
  test('the primary core killed with SIGKILL: the backup takes over, connects to both edges and feeds them from where they were', async () => {
    const roles = ['primary', 'backup'] as const;
    const kinds = ['amqp', 'stomp', 'stomp_tcp', 'core', 'cluster'] as const;
    const ports: Record<(typeof roles)[number], Record<(typeof kinds)[number], number>> = { primary: { amqp: 0, stomp: 0, stomp_tcp: 0, core: 0, cluster: 0 }, backup: { amqp: 0, stomp: 0, stomp_tcp: 0, core: 0, cluster: 0 } };
    haEnv = {
      ...process.env,
      LIVEWALL_HA_NAME: haName,
      LIVEWALL_HA_CONFIG: 'edge-core',
      LIVEWALL_BROKER_HOST: '127.0.0.1',
      LIVEWALL_HA_EDGE_A_URI: `tcp://127.0.0.1:${tierPort['edge-a']}`,
      LIVEWALL_HA_EDGE_B_URI: `tcp://127.0.0.1:${tierPort['edge-b']}`,
      // The tier's users: the pair logs in to the edges as the edge user with the edges' password.
      LIVEWALL_ADMIN_PASSWORD: passwords.admin,
      LIVEWALL_PUBLISHER_PASSWORD: passwords.publisher,
      LIVEWALL_VIEWER_PASSWORD: passwords.viewer,
      LIVEWALL_MODERATOR_PASSWORD: passwords.moderator,
      LIVEWALL_EDGE_PASSWORD: passwords.edge,
      LIVEWALL_CLUSTER_PASSWORD: '',
    };
    for (const role of roles) {
      for (const kind of kinds) {
        ports[role][kind] = await freePort();
        haEnv[`LIVEWALL_HA_${role.toUpperCase()}_${kind.toUpperCase()}_PORT`] = String(ports[role][kind]);
      }
    }
    const pair = async (...args: string[]): Promise<string> => {
      const { stdout, stderr } = await run(`${root}/scripts/broker-ha`, args, { env: haEnv, cwd: root });
      return stderr + stdout;
    };
    expect(await pair('start')).toMatch(/the backup is passive and synchronized with the primary/);

    const feed = 'edges-ha';
    const send = async (role: (typeof roles)[number], from: number, to: number): Promise<void> => {
      const bodies = Array.from({ length: to - from }, (_, n) => JSON.stringify({ id: `ha-${from + n}` }));
      expect(await sendMany(login('publisher', ports[role].amqp), `/topic/feed.${feed}`, bodies)).toMatchObject({ accepted: to - from, unsettled: 0 });
    };
    await declareTopic(login('publisher', ports.primary.amqp), `/topic/feed.${feed}`);
    for (const edge of edges) await feedOnEdge(edge, feed);
    // Subscribed before the items (a subscription made while items arrive can miss some: see docs/edges.md).
    const onA = await viewer('edge-a', feed);
    const onB = await viewer('edge-b', feed);
    await send('primary', 0, 10);
    for (const subscription of [onA, onB]) await subscription.waitFor(10, 30_000);

    await pair('kill', 'primary');
    // The backup opens its acceptors once it has taken over; the worker's publisher would rotate to it (its URL list).
    await expect.poll(async () => (await sendOnce(login('publisher', ports.backup.amqp), `/topic/feed.${feed}`, JSON.stringify({ id: 'ha-10' }))).result, { timeout: 60_000, interval: 500 }).toBe('accepted');
    await send('backup', 11, 20);

    const expected = Array.from({ length: 20 }, (_, n) => `ha-${n}`);
    for (const subscription of [onA, onB]) expect(ids(await subscription.waitFor(20, 60_000))).toEqual(expected);
    // The backup resumed each edge's queue from the replicated journal: nothing sent twice.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const subscription of [onA, onB]) expect(ids(subscription.messages)).toEqual(expected);
  }, 300_000);
});
