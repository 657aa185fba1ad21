import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, type IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { sendOnce } from './amqp.js';
import { freePort } from './ports.js';
import { PrivateBroker } from './private-broker.js';

/**
 * activemq/proxy/haproxy.cfg, run for real: HAProxy ends TLS on a free loopback port in front of a private Artemis's
 * public STOMP-over-WebSocket acceptor, with a self-signed certificate. Each test speaks from loopback addresses of
 * its own (127.0.0.x all reach the listener), so the per-address counters of one test never touch another's.
 */
const run = promisify(execFile);
const config = fileURLToPath(new URL('../activemq/proxy/haproxy.cfg', import.meta.url));

/** Small limits, so that reaching them takes a handful of connections. */
const PER_ADDRESS = 3;
const RATE_PER_10S = 8;
/** The config's `timeout http-request` and `timeout client`. */
const REQUEST_TIMEOUT_MS = 5_000;
const CLIENT_TIMEOUT_MS = 10_000;

let dir: string;
let broker: PrivateBroker;
let haproxy: ChildProcess | undefined;
let haproxyOutput = '';
let env: NodeJS.ProcessEnv;
let port: number;
let ca: string;
const feed = `/topic/feed.proxy-${randomUUID().slice(0, 8)}`;
const clients: Client[] = [];

const url = (): string => `wss://127.0.0.1:${port}/`;
const publisher = () => ({ host: broker.info.host, port: broker.info.amqpPort, username: 'publisher', password: broker.info.passwords.publisher });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-proxy-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=livewall test',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  ca = await readFile(cert, 'utf8');
  // HAProxy's crt: the certificate chain, then the key, in one file.
  await writeFile(join(dir, 'livewall.pem'), ca + (await readFile(key, 'utf8')), { mode: 0o600 });

  broker = await PrivateBroker.start(`test-proxy-${process.pid}`);
  port = await freePort();
  env = {
    ...process.env,
    LIVEWALL_PROXY_BIND: `127.0.0.1:${port}`,
    LIVEWALL_PROXY_CERT: join(dir, 'livewall.pem'),
    // host:port of the page's URL: the proxy forwards to the public acceptor, whatever path a client asks for.
    LIVEWALL_BROKER_WS: new URL(broker.info.wsUrl).host,
    LIVEWALL_PROXY_MAXCONN: '100',
    LIVEWALL_PROXY_CONN_PER_ADDR: String(PER_ADDRESS),
    LIVEWALL_PROXY_CONN_RATE: String(RATE_PER_10S),
    LIVEWALL_PROXY_RUN_AS: '',
    LIVEWALL_PROXY_LOG: 'stderr',
  };
  // The feed exists before anyone subscribes: its publisher makes it, as the worker does (viewers may not).
  expect(await sendOnce(publisher(), feed, JSON.stringify({ id: 'created' }))).toEqual({ result: 'accepted' });
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((client) => client.deactivate()));
  if (haproxy && haproxy.exitCode === null) {
    const exited = new Promise((resolve) => haproxy?.once('exit', resolve));
    haproxy.kill('SIGTERM');
    await exited;
  }
  await broker?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('haproxy -c accepts the config with these settings', async () => {
  const { stdout } = await run('haproxy', ['-c', '-f', config], { env });
  expect(stdout).toContain('Configuration file is valid');
});

describe('HAProxy in front of Artemis', () => {
  beforeAll(async () => {
    haproxy = spawn('haproxy', ['-db', '-f', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    haproxy.stderr?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    await listening(port, 10_000);
  });

  test('an anonymous STOMP client over wss subscribes and receives what the publisher sends over AMQP', async () => {
    const viewer = await stompThroughProxy('127.0.0.11');
    const received = subscribe(viewer);
    await received.ready;
    expect(await sendOnce(publisher(), feed, JSON.stringify({ id: 'first' }))).toEqual({ result: 'accepted' });
    await received.item('first');
  });

  test('a request that stops half-way is answered 408 and closed after the request timeout', async () => {
    const [half, silent] = await Promise.all([halfRequest('127.0.0.12'), silentConnection('127.0.0.12')]);
    expect(half.response).toMatch(/^HTTP\/1\.1 408 /);
    expect(half.ms).toBeGreaterThan(REQUEST_TIMEOUT_MS - 1_000);
    expect(half.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
    // One that never even starts TLS: the client timeout.
    expect(silent.ms).toBeGreaterThan(CLIENT_TIMEOUT_MS - 1_000);
    expect(silent.ms).toBeLessThan(CLIENT_TIMEOUT_MS + 2_000);
  }, 20_000);

  test('anything but a WebSocket upgrade is refused with 400', async () => {
    const upgrade = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    expect(await httpStatus('127.0.0.13', 'GET', {})).toBe(400);
    expect(await httpStatus('127.0.0.14', 'POST', upgrade)).toBe(400);
    // A body Artemis would buffer whole, and headers beyond one buffer.
    expect(await httpStatus('127.0.0.15', 'GET', { ...upgrade, 'Content-Length': '5' }, 'hello')).toBe(400);
    expect(await httpStatus('127.0.0.16', 'GET', { ...upgrade, 'X-Padding': 'x'.repeat(9_000) })).toBe(400);
    // The same upgrade, as it should be, goes through to the broker.
    expect(await httpStatus('127.0.0.17', 'GET', upgrade)).toBe(101);
  });

  test('one address gets no more connections than its cap; those it has keep working, other addresses are not affected', async () => {
    const viewers = [];
    for (let n = 0; n < PER_ADDRESS; n++) viewers.push(await stompThroughProxy('127.0.0.21'));
    const subscriptions = viewers.map(subscribe);
    await Promise.all(subscriptions.map((subscription) => subscription.ready));

    await expect(tlsHandshake('127.0.0.21')).resolves.toBe('refused');
    await expect(stompThroughProxy('127.0.0.21')).rejects.toThrow(/ECONNRESET|closed/);
    const neighbour = subscribe(await stompThroughProxy('127.0.0.22'));
    await neighbour.ready;

    expect(await sendOnce(publisher(), feed, JSON.stringify({ id: 'capped' }))).toEqual({ result: 'accepted' });
    await Promise.all([...subscriptions, neighbour].map((subscription) => subscription.item('capped')));

    // A place freed is a place taken again.
    await viewers[0]?.deactivate();
    await expect(stompThroughProxy('127.0.0.21')).resolves.toBeInstanceOf(Client);
  });

  test('a burst of new connections from one address is cut at the rate', async () => {
    const outcomes: string[] = [];
    for (let n = 0; n < RATE_PER_10S + 4; n++) outcomes.push(await tlsHandshake('127.0.0.31'));
    expect(outcomes).toEqual([...Array<string>(RATE_PER_10S).fill('accepted'), ...Array<string>(4).fill('refused')]);
    // Another address is not slowed down by it.
    await expect(tlsHandshake('127.0.0.32')).resolves.toBe('accepted');
  });
});

/** Resolves once something accepts TCP connections on the port (from an address no test uses). */
async function listening(target: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: target, localAddress: '127.0.0.2' });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (haproxy?.exitCode !== null || Date.now() > deadline) throw new Error(`HAProxy is not listening on ${target}:\n${haproxyOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A STOMP client over wss through the proxy, anonymous like the page, from the given local address. */
function stompThroughProxy(localAddress: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNECTED through the proxy from ${localAddress} within 10 s`)), 10_000);
    const client = new Client({
      webSocketFactory: () => new WebSocket(url(), ['v12.stomp'], { ca, localAddress }),
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      onConnect: () => {
        clearTimeout(timer);
        clients.push(client);
        resolve(client);
      },
      onStompError: (frame) => {
        clearTimeout(timer);
        reject(new Error(`STOMP ERROR: ${frame.headers.message ?? ''}`));
        void client.deactivate();
      },
      onWebSocketError: (event: { message?: string }) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket error: ${event.message ?? 'unknown'}`));
      },
      onWebSocketClose: (event) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket closed (${event.code}) before CONNECTED`));
      },
    });
    client.activate();
  });
}

/**
 * Subscribes to the feed with a receipt: `ready` resolves on the receipt and rejects on an ERROR frame or after 10 s;
 * `item(id)` resolves when an item with that id arrives (within 10 s).
 */
function subscribe(client: Client): { ready: Promise<void>; item(id: string): Promise<void> } {
  const ids: string[] = [];
  const waiters = new Map<string, () => void>();
  const receipt = `sub-${randomUUID()}`;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no RECEIPT for the SUBSCRIBE within 10 s')), 10_000);
    client.watchForReceipt(receipt, () => { clearTimeout(timer); resolve(); });
    client.onStompError = (frame) => { clearTimeout(timer); reject(new Error(`STOMP ERROR: ${frame.headers.message ?? ''}`)); };
  });
  client.subscribe(feed, (message: IMessage) => {
    const id = (JSON.parse(message.body) as { id: string }).id;
    ids.push(id);
    waiters.get(id)?.();
  }, { receipt });
  return {
    ready,
    item: (id) => ids.includes(id) ? Promise.resolve() : new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`item ${id} did not arrive within 10 s (got ${ids.join(', ')})`)), 10_000);
      waiters.set(id, () => { clearTimeout(timer); resolve(); });
    }),
  };
}

/** A TLS connection to the proxy from the given local address (tls.connect takes it only through a socket). */
function tlsFrom(localAddress: string, onSecure?: () => void): TLSSocket {
  return tlsConnect({ socket: tcpConnect({ host: '127.0.0.1', port, localAddress }), host: '127.0.0.1', ca }, onSecure);
}

/** Opens TLS to the proxy: 'accepted' when the handshake completes, 'refused' when the proxy closes first. */
function tlsHandshake(localAddress: string): Promise<'accepted' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = tlsFrom(localAddress);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('neither handshake nor refusal within 5 s')); }, 5_000);
    socket.once('secureConnect', () => { clearTimeout(timer); socket.destroy(); resolve('accepted'); });
    socket.once('error', () => { clearTimeout(timer); resolve('refused'); });
    socket.once('close', () => { clearTimeout(timer); resolve('refused'); });
  });
}

/** Sends the start of an upgrade request and no more; reports what came back and when the proxy closed. */
function halfRequest(localAddress: string): Promise<{ response: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let response = '';
    const socket = tlsFrom(localAddress, () => {
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the half request is still open after 15 s')); }, 15_000);
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    socket.on('error', () => undefined);
    socket.once('close', () => { clearTimeout(timer); resolve({ response, ms: Date.now() - started }); });
  });
}

/** A TCP connection that never sends a byte; resolves when the proxy closes it. */
function silentConnection(localAddress: string): Promise<{ ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = tcpConnect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the silent connection is still open after 15 s')); }, 15_000);
    socket.on('error', () => undefined);
    socket.once('close', () => { clearTimeout(timer); resolve({ ms: Date.now() - started }); });
  });
}

/** One HTTPS request on a connection of its own; resolves with the status, 101 included. */
function httpStatus(localAddress: string, method: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method, headers, ca, localAddress, agent: false, timeout: 5_000 });
    req.once('response', (response) => { response.resume(); resolve(response.statusCode ?? 0); });
    req.once('upgrade', (response, socket) => { socket.destroy(); resolve(response.statusCode ?? 0); });
    req.once('timeout', () => req.destroy(new Error(`${method} from ${localAddress}: no answer within 5 s`)));
    req.once('error', reject);
    req.end(body);
  });
}
