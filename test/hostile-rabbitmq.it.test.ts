/**
 * Hostile anonymous clients against a real RabbitMQ node (scripts/rabbitmq/, profile rabbitmq), on loopback: each
 * attack of docs/security-rabbitmq.md is refused or undone, and meanwhile a page keeps receiving every item in order,
 * the publisher's items are all accepted, and the node's memory stays under MEMORY_BOUND_MB. Then a new page still
 * gets the backfill, and after a restart the node holds no queue a visitor made.
 *
 * The node runs with small limits so that each one is reached within the test's time: 40 viewers (so 40 anonymous
 * connections, 40 WebSockets, 160 subscriber queues) and a 5 s WebSocket idle timeout; the page heart-beats every
 * second, as a real page does every 10 s against the default 90 s.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { BACKFILL_ITEMS, brokerProfile } from '@livewall/contract';
import { Client, type IMessage } from '@stomp/stompjs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { AmqpPublisher } from '../worker/src/amqp/publisher.js';
import { PrivateBroker } from './private-broker.js';
import { root } from './worker.js';

const profile = brokerProfile('rabbitmq');
const MAX_VIEWERS = 40;
const WS_IDLE_TIMEOUT_MS = 5000;
/** scripts/rabbitmq/rabbitmq.conf: stomp.login_timeout. */
const LOGIN_TIMEOUT_MS = 5000;
/** scripts/rabbitmq/definitions.mjs: the subscriber-queue policy's expires. */
const QUEUE_EXPIRES_MS = 10_000;
/** The node's Erlang memory, whatever the attacks: about 75 MB idle, at most 81 MB seen after any test here. */
const MEMORY_BOUND_MB = 150;

const feed = `h-${randomBytes(3).toString('hex')}`;
const name = `hostile-rabbitmq-${process.pid}`;
let broker: PrivateBroker;
let management: (path: string, init?: RequestInit) => Promise<unknown>;
let nodeName: string;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A STOMP frame as it goes on the wire. */
const frame = (command: string, headers: Record<string, string>, body = ''): string =>
  `${command}\n${Object.entries(headers).map(([key, value]) => `${key}:${value}`).join('\n')}\n\n${body}\0`;
const CONNECT = frame('CONNECT', { 'accept-version': '1.2', host: '/' });

/** A hand-written STOMP client over a WebSocket or plain TCP: sends what it is told, records what comes back. */
class RawClient {
  received = '';
  closed: Promise<string>;
  isClosed = false;
  private constructor(
    readonly write: (data: string | Buffer) => void,
    readonly end: () => void,
    closed: Promise<string>,
  ) {
    this.closed = closed.then((how) => {
      this.isClosed = true;
      return how;
    });
  }

  /** A WebSocket on the node's Web-STOMP listener; rejects if the upgrade is not answered within `timeoutMs`. */
  static webSocket(timeoutMs = 3000, options: WebSocket.ClientOptions = {}): Promise<RawClient & { socket: WebSocket }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(broker.info.wsUrl, ['v12.stomp'], options);
      let closed: (how: string) => void = () => undefined;
      const client = Object.assign(new RawClient((data) => socket.send(data), () => socket.terminate(), new Promise<string>((resolve) => (closed = resolve))), { socket });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no WebSocket upgrade within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('message', (data: Buffer) => (client.received += data.toString()));
      socket.on('close', (code) => closed(`closed ${code}`));
      socket.on('error', () => undefined);
      socket.on('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
    });
  }

  /** A connection to the node's plain STOMP listener. */
  static tcp(port = broker.stompTcpPort): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let closed: (how: string) => void = () => undefined;
      const client = new RawClient((data) => socket.write(data), () => socket.destroy(), new Promise<string>((resolve) => (closed = resolve)));
      socket.on('data', (data) => (client.received += data.toString()));
      socket.on('close', () => closed('closed'));
      socket.on('error', reject);
      socket.on('connect', () => resolve(client));
    });
  }

  /** The message of the first ERROR frame received, if any. */
  get error(): string | undefined {
    return /(?:^|\0\n*)ERROR\n(?:[^\n]*\n)*?message:([^\n]*)/.exec(this.received)?.[1];
  }

  /**
   * What the broker did within `timeoutMs`: 'ERROR <message>', 'closed …', 'RECEIPT' or 'nothing'. A RECEIPT counts
   * only if no ERROR or close follows within 500 ms: RabbitMQ confirms a SUBSCRIBE to /queue/X before it hears that
   * the queue's declaration (sent without waiting) was refused.
   */
  async answer(receipt: string, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.isClosed && this.error === undefined && !this.received.includes(`receipt-id:${receipt}\n`)) await sleep(10);
    if (this.received.includes(`receipt-id:${receipt}\n`)) await this.closedWithin(500);
    if (this.error !== undefined) return `ERROR ${this.error}`;
    if (this.isClosed) return this.closed;
    return this.received.includes(`receipt-id:${receipt}\n`) ? 'RECEIPT' : 'nothing';
  }

  /** Resolves true if the broker closes the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(timeoutMs).then(() => false)]);
  }
}

/** Connects, sends one frame with a receipt, and says what the broker did with it; then drops the connection. */
async function attempt(transport: 'ws' | 'tcp', command: string, headers: Record<string, string>, body = ''): Promise<string> {
  const client = transport === 'ws' ? await RawClient.webSocket() : await RawClient.tcp();
  const receipt = `r-${randomBytes(3).toString('hex')}`;
  client.write(CONNECT + frame(command, { ...headers, receipt }, body));
  const answer = await client.answer(receipt);
  client.end();
  return answer;
}

const queueNames = async (): Promise<string[]> => ((await management(`queues/%2F?columns=name`)) as { name: string }[]).map((queue) => queue.name).sort();
const subscriberQueues = async (): Promise<string[]> => (await queueNames()).filter((queue) => queue.startsWith('stomp-subscription-'));
const erlangMemoryMb = async (): Promise<number> =>
  ((await management(`nodes/${encodeURIComponent(nodeName)}?memory=true`)) as { memory: { total: { erlang: number } } }).memory.total.erlang / 1e6;

/** The page: anonymous, heart-beats every second, subscribed to the feed; `drops` counts lost connections. */
function openPage(): Promise<{ client: Client; items: IMessage[]; drops: () => number }> {
  return new Promise((resolve, reject) => {
    const items: IMessage[] = [];
    let drops = 0;
    const client = new Client({
      webSocketFactory: () => new WebSocket(broker.info.wsUrl, ['v12.stomp']),
      reconnectDelay: 0,
      heartbeatOutgoing: 1000,
      heartbeatIncoming: 0,
      onConnect: () => {
        const receipt = `page-${randomBytes(3).toString('hex')}`;
        client.watchForReceipt(receipt, () => resolve({ client, items, drops: () => drops }));
        client.subscribe(profile.stompDestination(feed), (message) => items.push(message), { receipt });
      },
      onStompError: (error) => reject(new Error(`the page's CONNECT was refused: ${error.headers.message}`)),
      onWebSocketClose: () => (drops += 1),
    });
    client.activate();
  });
}

const nodeLog = (): Promise<string> => readFile(`${root}/.run/${name}/log/${nodeName}.log`, 'utf8').catch((error: Error) => error.message);
const lastConnectionLines = (log: string): string =>
  log
    .split('\n')
    .filter((line) => /connection|alarm|error/i.test(line))
    .slice(-15)
    .join('\n');

/**
 * The worker's side: the worker's own publisher (reconnects, sends again what was not settled), one item every 100 ms,
 * each one's outcome counted. A visitor's quorum queue bound to the feed that expires while an item is routed to it
 * can crash the channel behind the publisher's session (RabbitMQ 3.10: rabbitmq-server #3627, #15333): the publisher
 * must carry on, and the page must still get every item, in order (repeats of one id are shown once, as the page does).
 */
class Publisher {
  sent: string[] = [];
  accepted = 0;
  refused: string[] = [];
  /** Why the publisher lost its connection or session, each time: allowed, and reported. */
  reconnects: string[] = [];
  private readonly amqp = new AmqpPublisher(
    { url: `amqp://127.0.0.1:${broker.info.amqpPort}`, username: 'publisher', password: broker.info.passwords.publisher, initialReconnectDelayMs: 100, maxReconnectDelayMs: 1000 },
    pino({ level: 'silent' }),
  );
  private readonly outcomes = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.amqp.on('disconnected', (reason: string) => {
      this.reconnects.push(reason);
      void nodeLog().then((log) => this.reconnects.push(`the node's last words on connections then:\n${lastConnectionLines(log)}`));
    });
  }

  async start(): Promise<void> {
    this.amqp.start();
    await this.amqp.connected();
    this.timer = setInterval(() => this.publish(), 100);
  }

  private publish(): void {
    const n = this.sent.length;
    const body = JSON.stringify({ id: `hostile:${n}`, n });
    this.sent.push(body);
    const outcome = this.amqp.publish(profile.amqpTarget(feed), `hostile-${n + 1}`, body).then(
      () => void (this.accepted += 1),
      (error: Error) => void this.refused.push(`item ${n}: ${error.message}`),
    );
    this.outcomes.add(outcome);
    void outcome.finally(() => this.outcomes.delete(outcome));
  }

  /** Stops sending and waits for the outcome of everything sent, then closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.outcomes);
    await this.amqp.close(5000);
  }
}

/** What a page shows of `items`: each body once, in the order it first came (the page drops repeats of an id). */
const shown = (items: IMessage[]): string[] => [...new Set(items.map((item) => item.body))];

let page: Awaited<ReturnType<typeof openPage>>;
let publisher: Publisher;
let queuesBefore: string[];
let exchangesBefore: string[];
let bindingsBefore: string[];
const memorySamples: number[] = [];

const exchanges = async (): Promise<string[]> => ((await management('exchanges/%2F?columns=name')) as { name: string }[]).map((exchange) => exchange.name).sort();
const bindings = async (): Promise<string[]> =>
  ((await management('bindings/%2F')) as { source: string; destination: string; routing_key: string }[]).map((binding) => `${binding.source}->${binding.destination}:${binding.routing_key}`).sort();

beforeAll(async () => {
  // PrivateBroker passes the environment on to scripts/broker: these two settings make the limits reachable here.
  const saved = { viewers: process.env.LIVEWALL_MAX_VIEWERS, idle: process.env.LIVEWALL_WS_IDLE_TIMEOUT };
  process.env.LIVEWALL_MAX_VIEWERS = String(MAX_VIEWERS);
  process.env.LIVEWALL_WS_IDLE_TIMEOUT = String(WS_IDLE_TIMEOUT_MS);
  try {
    broker = await PrivateBroker.start(name, {}, { profile: 'rabbitmq', feeds: [feed] });
  } finally {
    for (const [key, value] of [['LIVEWALL_MAX_VIEWERS', saved.viewers], ['LIVEWALL_WS_IDLE_TIMEOUT', saved.idle]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  // The management API, on 127.0.0.1 only: the port is in the node's config as scripts/rabbitmq/broker wrote it.
  const config = await readFile(`${root}/.run/${name}/rabbitmq.conf`, 'utf8');
  const port = /^management\.tcp\.port = (\d+)$/m.exec(config)?.[1];
  const authorization = `Basic ${Buffer.from(`admin:${broker.info.passwords.admin}`).toString('base64')}`;
  management = async (path, init = {}) => {
    const response = await fetch(`http://127.0.0.1:${port}/api/${path}`, { ...init, headers: { authorization, 'content-type': 'application/json' } });
    if (!response.ok) throw new Error(`management API ${path}: HTTP ${response.status}`);
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  };
  nodeName = `livewall-${name}@localhost`;
  queuesBefore = await queueNames();
  exchangesBefore = await exchanges();
  bindingsBefore = await bindings();

  page = await openPage();
  publisher = new Publisher();
  await publisher.start();
}, 120_000);

afterEach(async () => {
  memorySamples.push(await erlangMemoryMb());
});

afterAll(async () => {
  await page?.client.deactivate();
  await broker?.remove();
});

describe('anonymous clients against RabbitMQ', () => {
  test('subscribing to anything but a feed or the status topic is refused, on both listeners, and leaves no queue', async () => {
    const destinations = [
      '/queue/orders',
      '/amq/queue/orders',
      `/exchange/feed.${feed}-nope`,
      '/exchange/amq.fanout',
      '/exchange/amq.rabbitmq.trace',
      `/exchange/owner.${feed}`,
      `/topic/owner.${feed}`,
      `/exchange/amq.topic/owner.${feed}`,
      '/topic/#',
      '/topic/*',
      '/topic/feed.#',
      '/topic/feed.*',
      '/topic/status.#',
      '/exchange/amq.topic/#',
      '/exchange/amq.topic/feed.*',
      '/temp-queue/mine',
      // A name the subscriber queues may have, but on the default exchange: nobody may read a page's queue.
      '/amq/queue/stomp-subscription-guessed',
      // A queue the client names itself outside the subscriber names.
      `/exchange/feed.${feed}\nx-queue-name:mine`,
      // Moderation: the log (from its start, as a worker reads it) and the feed's pending queue are not a visitor's.
      `${profile.moderation.logDestination}\nx-stream-offset:first\nprefetch-count:10\nack:client-individual`,
      profile.moderation.logDestination,
      profile.moderation.pendingDestination(feed),
      `/topic/pending.${feed}`,
    ];
    for (const transport of ['ws', 'tcp'] as const) {
      for (const destination of destinations) {
        const [path, ...extra] = destination.split('\n');
        const headers = Object.fromEntries([['id', 'attack'], ['destination', path], ...extra.map((line) => line.split(':'))]);
        expect(await attempt(transport, 'SUBSCRIBE', headers), `${transport} ${destination}`).toMatch(/^(ERROR|closed)/);
      }
    }
    // The feed and the status topic themselves are fine.
    expect(await attempt('ws', 'SUBSCRIBE', { id: 'ok', destination: profile.stompDestination(feed) })).toBe('RECEIPT');
    expect(await attempt('ws', 'SUBSCRIBE', { id: 'ok', destination: profile.statusTopic })).toBe('RECEIPT');
    await expect.poll(subscriberQueues, { timeout: 5000 }).toHaveLength(1);
  });

  test('sending anywhere is refused, and nothing reaches the page', async () => {
    const destinations = [
      profile.stompDestination(feed),
      profile.amqpTarget(feed),
      `/exchange/amq.topic/feed.${feed}`,
      profile.statusTopic,
      `/topic/owner.${feed}`,
      `/exchange/owner.${feed}`,
      '/queue/orders',
      '/amq/queue/stomp-subscription-guessed',
      '/temp-queue/reply',
      '/exchange/amq.direct/x',
      // Moderation: a visitor can neither take an item down through the log nor slip one into approval.
      profile.moderation.logDestination,
      profile.moderation.pendingDestination(feed),
      profile.moderation.pendingAmqpTarget(feed),
    ];
    for (const transport of ['ws', 'tcp'] as const) {
      for (const destination of destinations) {
        expect(await attempt(transport, 'SEND', { destination }, JSON.stringify({ id: 'spoof', destination })), `${transport} ${destination}`).toMatch(/^(ERROR|closed)/);
      }
    }
  });

  test(`queues made to outlive their subscriber are deleted ${QUEUE_EXPIRES_MS / 1000} s after it leaves; a stream is held to a few MB until the sweep`, async () => {
    const before = await subscriberQueues();
    const leftovers: Record<string, string>[] = [
      { id: 'durable-1', persistent: 'true' },
      { id: 'durable-2', durable: 'true', 'auto-delete': 'false' },
      { id: 'kept', 'auto-delete': 'false', 'x-expires': '86400000' },
      { id: 'named', 'x-queue-name': 'stomp-subscription-mine', 'auto-delete': 'false', 'x-max-length': '1000000' },
      { id: 'quorum', durable: 'true', 'auto-delete': 'false', 'x-queue-type': 'quorum' },
    ];
    for (const headers of leftovers) expect(await attempt('ws', 'SUBSCRIBE', { destination: profile.stompDestination(feed), ...headers }), headers.id).toBe('RECEIPT');
    // A queue of its own name on the default exchange: RabbitMQ declares it durable.
    expect(await attempt('ws', 'SUBSCRIBE', { id: 'queue', destination: '/queue/stomp-subscription-left' })).toBe('RECEIPT');
    // SEND declares the queue before the publish is refused.
    expect(await attempt('tcp', 'SEND', { destination: '/queue/stomp-subscription-sent' }, '{}')).toMatch(/^(ERROR|closed)/);
    // All but the first stay after their connection closed (persistent:true alone keeps auto-delete on).
    const made = async (): Promise<string[]> => (await subscriberQueues()).filter((queue) => !before.includes(queue));
    await expect.poll(async () => (await made()).length, { timeout: 3000 }).toBe(leftovers.length - 1 + 2);
    expect(await made()).toEqual(expect.arrayContaining(['stomp-subscription-mine', 'stomp-subscription-left', 'stomp-subscription-sent']));
    // The policy, not the client's x-max-length, bounds what the named queue holds.
    const named = async (): Promise<unknown> => ((await management('queues/%2F/stomp-subscription-mine')) as { effective_policy_definition?: unknown }).effective_policy_definition;
    await expect.poll(named, { timeout: 8000, interval: 500 }).toMatchObject({ 'max-length': 500, expires: QUEUE_EXPIRES_MS });

    // The node has streams (the moderation log is one), so a visitor can declare a stream too. A stream ignores
    // expires and max-length, but the policy's max-length-bytes and segment size win over the client's own: it keeps
    // a few MB, whatever x-max-length-bytes it asked for, until the sweep every start runs deletes it.
    const streams: Record<string, string>[] = [
      { id: 'stream', durable: 'true', 'auto-delete': 'false', 'x-queue-type': 'stream', ack: 'client', 'prefetch-count': '10', destination: profile.stompDestination(feed) },
      { id: 'stream-q', 'x-queue-type': 'stream', 'x-max-length-bytes': '100000000000', ack: 'client', 'prefetch-count': '10', destination: '/queue/stomp-subscription-stream' },
    ];
    for (const stream of streams) expect(await attempt('ws', 'SUBSCRIBE', stream), stream.id).toBe('RECEIPT');
    const visitorStreams = async (): Promise<string[]> =>
      ((await management('queues/%2F?columns=name,type')) as { name: string; type: string }[])
        .filter((queue) => queue.type === 'stream' && queue.name.startsWith('stomp-subscription-'))
        .map((queue) => queue.name);
    await expect.poll(async () => (await visitorStreams()).length, { timeout: 5000 }).toBe(streams.length);
    for (const stream of await visitorStreams()) {
      const policy = async (): Promise<unknown> => ((await management(`queues/%2F/${encodeURIComponent(stream)}`)) as { effective_policy_definition?: unknown }).effective_policy_definition;
      await expect.poll(policy, { timeout: 8000, interval: 500 }).toMatchObject({ 'max-length-bytes': 4 * 1024 * 1024, 'stream-max-segment-size-bytes': 1024 * 1024 });
    }
    // The other queues expire; the streams stay until the sweep.
    await expect.poll(async () => (await subscriberQueues()).filter((queue) => !before.includes(queue)).sort(), { timeout: QUEUE_EXPIRES_MS + 8000, interval: 500 }).toEqual((await visitorStreams()).sort());
    await new Promise<void>((resolve, reject) => execFile(`${root}/scripts/broker`, ['--broker', 'rabbitmq', 'sweep'], { env: broker.environment }, (error) => (error ? reject(error) : resolve())));
    expect(await subscriberQueues()).toEqual(before);
  });

  test(`thousands of subscriptions on one connection: the broker cuts it at the vhost's ${4 * MAX_VIEWERS} queues and its queues go`, async () => {
    const before = await subscriberQueues();
    const client = await RawClient.webSocket();
    client.write(CONNECT);
    let most = 0;
    for (let sent = 0; sent < 3000 && !client.isClosed; sent++) {
      client.write(frame('SUBSCRIBE', { id: `s${sent}`, destination: profile.stompDestination(feed) }));
      if (sent % 50 === 49) most = Math.max(most, (await subscriberQueues()).length);
    }
    expect(await client.closedWithin(10_000)).toBe(true);
    // It made queues up to the vhost's limit, no further, and they went with it.
    expect(most).toBeGreaterThan(20);
    expect(most).toBeLessThanOrEqual(4 * MAX_VIEWERS);
    await expect.poll(nodeLog, { timeout: 3000 }).toContain(`queue limit in vhost '/' (${4 * MAX_VIEWERS}) is reached`);
    await expect.poll(subscriberQueues, { timeout: 5000 }).toEqual(before);
  });

  test(`many connections: anonymous logins stop at ${MAX_VIEWERS}, while the publisher is still accepted`, { timeout: 120_000 }, async () => {
    const clients: RawClient[] = [];
    const outcomes: string[] = [];
    try {
      for (let index = 0; index < MAX_VIEWERS + 5; index++) {
        const client = await RawClient.webSocket(2500).catch(() => undefined);
        if (!client) {
          outcomes.push('not accepted');
          continue;
        }
        clients.push(client);
        client.write(CONNECT);
        const deadline = Date.now() + 4000;
        while (!client.received.startsWith('CONNECTED') && !client.received.includes('ERROR') && !client.isClosed && Date.now() < deadline) await sleep(5);
        outcomes.push(client.received.startsWith('CONNECTED') ? 'connected' : `refused ${/message:([^\n]*)/.exec(client.received)?.[1] ?? (await client.answer('none', 0))}`);
      }
      // The page holds one of the 40 (Web-STOMP's socket limit is approximate: a few may be held back before it).
      const connected = outcomes.filter((outcome) => outcome === 'connected').length;
      expect(connected, outcomes.join(', ')).toBeLessThanOrEqual(MAX_VIEWERS - 1);
      expect(connected, outcomes.join(', ')).toBeGreaterThanOrEqual(MAX_VIEWERS - 10);
      const acceptedBefore = publisher.accepted;
      await expect
        .poll(() => publisher.accepted, { timeout: 30_000 })
        .toBeGreaterThan(acceptedBefore + 5)
        .catch((error: Error) => {
          throw new Error(`${error.message}\nthe publisher: ${[...publisher.refused, ...publisher.reconnects].join('\n') || 'connected, nothing refused'}`);
        });
    } finally {
      for (const client of clients) client.end();
    }
  });

  test('frames over 16 KiB close the WebSocket; no compression is offered', async () => {
    const client = await RawClient.webSocket(3000, { perMessageDeflate: true });
    expect(client.socket.extensions).toBe('');
    client.write(CONNECT);
    client.write(frame('SUBSCRIBE', { id: 'big', destination: profile.stompDestination(feed), 'x-padding': 'a'.repeat(17 * 1024) }));
    expect(await client.closedWithin(3000)).toBe(true);
    expect(await client.closed).toBe('closed 1009');
  });

  test('half-open connections are closed: a silent WebSocket, half a CONNECT, and the same on plain STOMP', async () => {
    const silentWebSocket = await RawClient.webSocket();
    const halfWebSocket = await RawClient.webSocket();
    halfWebSocket.write('CONNECT\naccept-version:1.2\nlog');
    const silentTcp = await RawClient.tcp();
    const halfTcp = await RawClient.tcp();
    halfTcp.write('CONNECT\naccept-version:1.2\nlog');
    // A plain-STOMP half frame that keeps growing is cut by the login timeout too (1 MB here: the growth is not).
    const growingTcp = await RawClient.tcp();
    growingTcp.write('CONNECT\nx:');
    for (let kib = 0; kib < 1024 && !growingTcp.isClosed; kib++) growingTcp.write('a'.repeat(1024));
    const started = Date.now();
    const closedAt = async (client: RawClient): Promise<number> => {
      await client.closedWithin(LOGIN_TIMEOUT_MS + 3000);
      return client.isClosed ? Date.now() - started : Infinity;
    };
    const [silentWs, halfWs, silentPlain, halfPlain, growingPlain] = await Promise.all([silentWebSocket, halfWebSocket, silentTcp, halfTcp, growingTcp].map(closedAt));
    expect(silentWs).toBeLessThan(WS_IDLE_TIMEOUT_MS + 1500);
    expect(halfWs).toBeLessThan(WS_IDLE_TIMEOUT_MS + 1500);
    for (const plain of [silentPlain, halfPlain, growingPlain]) expect(plain).toBeLessThan(LOGIN_TIMEOUT_MS + 1500);
  });

  test('guessing the admin password over the public WebSocket: every guess is refused', async () => {
    // RabbitMQ 3.10 keeps the WebSocket open after a refused CONNECT and takes the next one: no limit on guesses but
    // the connection's own pace (docs/security-rabbitmq.md). admin is loopback-only, so a right guess gets nowhere else.
    const client = await RawClient.webSocket();
    const guesses = 300;
    for (let guess = 0; guess < guesses; guess++) client.write(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'admin', passcode: `guess-${guess}` }));
    await expect.poll(() => client.received.match(/^ERROR$/gm)?.length ?? 0, { timeout: 5000 }).toBe(guesses);
    expect(client.received.match(/^message:Bad CONNECT$/gm)).toHaveLength(guesses);
    expect(client.received).not.toContain('CONNECTED');
    client.end();
    // The real password works on this machine only (loopback_users.admin): these tests connect from 127.0.0.1.
    const admin = await RawClient.webSocket();
    admin.write(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'admin', passcode: broker.info.passwords.admin }));
    await expect.poll(() => admin.received, { timeout: 3000 }).toMatch(/^CONNECTED/);
    admin.end();
  });

  test('meanwhile the page received every item in order, all were accepted, a new page gets the backfill, memory stayed bounded', { timeout: 120_000 }, async () => {
    await publisher.stop();
    expect(publisher.refused).toEqual([]);
    expect(publisher.accepted).toBe(publisher.sent.length);
    expect(publisher.sent.length).toBeGreaterThan(200);
    if (publisher.reconnects.length > 0) console.info(`the publisher reconnected: ${publisher.reconnects.join('\n')}`);
    await expect.poll(() => shown(page.items).length, { timeout: 5000 }).toBe(publisher.sent.length);
    expect(shown(page.items)).toEqual(publisher.sent);
    expect(page.drops()).toBe(0);

    const newPage = await openPage();
    try {
      await expect.poll(() => newPage.items.length, { timeout: 5000 }).toBe(BACKFILL_ITEMS);
      expect(shown(newPage.items)).toEqual(publisher.sent.slice(-BACKFILL_ITEMS));
    } finally {
      await newPage.client.deactivate();
    }
    memorySamples.push(await erlangMemoryMb());
    expect(Math.max(...memorySamples), `Erlang memory after each test, MB: ${memorySamples.map(Math.round).join(', ')}`).toBeLessThan(MEMORY_BOUND_MB);
  });

  test('after a restart no queue, exchange or binding a visitor made remains', { timeout: 120_000 }, async () => {
    await page.client.deactivate();
    // Durable queues, held by a connection when the node dies: they come back with it, and the start sweeps them.
    const holder = await RawClient.webSocket();
    holder.write(CONNECT + frame('SUBSCRIBE', { id: 'd1', persistent: 'true', destination: profile.stompDestination(feed), receipt: 'r1' }) + frame('SUBSCRIBE', { id: 'd2', destination: '/queue/stomp-subscription-kept', receipt: 'r2' }));
    expect(await holder.answer('r1')).toBe('RECEIPT');
    expect(await holder.answer('r2')).toBe('RECEIPT');
    await expect.poll(subscriberQueues, { timeout: 3000 }).toHaveLength(2);
    await broker.kill9();
    await broker.restart();
    expect(await queueNames()).toEqual(queuesBefore);
    expect(await exchanges()).toEqual(exchangesBefore);
    expect(await bindings()).toEqual(bindingsBefore);
  });
});
