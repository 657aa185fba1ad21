import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createApp, resolveOptions, UpgradeHandler, type WebOptions } from './server.js';

let webRoot: string;
const closers: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  webRoot = await mkdtemp(path.join(tmpdir(), 'livewall-ws-proxy-test-'));
  await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>wall</title>');
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await rm(webRoot, { recursive: true, force: true });
});

/** A stand-in broker: a WebSocket server that echoes, and remembers each handshake and each connection's socket. */
async function fakeBroker(): Promise<{ url: string; handshakes: IncomingMessage[]; sockets: WebSocket[] }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => (protocols.has('v12.stomp') ? 'v12.stomp' : false) });
  await once(server, 'listening');
  const handshakes: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  server.on('connection', (socket, req) => {
    handshakes.push(req);
    sockets.push(socket);
    socket.on('message', (data, binary) => socket.send(data, { binary }));
  });
  closers.push(() => {
    for (const socket of sockets) socket.terminate();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/broker-path`, handshakes, sockets };
}

/** createApp and the upgrade handler on one HTTP server, as main() wires them. */
async function start(input: WebOptions = {}): Promise<{ base: string; port: number; upgrades: UpgradeHandler }> {
  const options = resolveOptions({ webRoot, ...input });
  const upgrades = new UpgradeHandler(options.wsProxy);
  const server: Server = createServer(createApp(options));
  server.on('upgrade', upgrades.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    upgrades.closeAll();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}`, port, upgrades };
}

/** A GET with custom headers (fetch cannot set Host): status, headers and body. */
function get(port: number, pathname: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathname, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP status of a refused upgrade. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, ['v12.stomp'], { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.once('error', reject);
    closers.push(() => socket.terminate());
  });
}

const CSP_CONNECT = /(?:^|;)\s*connect-src ([^;]*)/;

describe('the WebSocket proxy, off (the default)', () => {
  it('refuses every upgrade with 404 and closes the connection', async () => {
    const { base } = await start();
    const ws = base.replace('http:', 'ws:');
    expect(await openSocket(`${ws}/stomp`)).toBe(404);
    expect(await openSocket(`${ws}/`)).toBe(404);
  });

  it('leaves /config.json and the CSP as they were', async () => {
    const { port } = await start({ brokerUrls: ['ws://broker:61614'] });
    const response = await get(port, '/config.json', { host: `127.0.0.1:${port}` });
    expect((JSON.parse(response.body) as { broker: { urls: string[] } }).broker.urls).toEqual(['ws://broker:61614']);
    expect(CSP_CONNECT.exec(String(response.headers['content-security-policy']))?.[1]).toBe("'self' ws://broker:61614");
  });
});

describe('the WebSocket proxy, on', () => {
  it('lists the same-origin URL first in /config.json and the CSP, from Host and X-Forwarded-Proto', async () => {
    const broker = await fakeBroker();
    const { port } = await start({ wsProxy: broker.url, brokerUrls: ['wss://broker.example/ws'] });

    const plain = await get(port, '/config.json', { host: 'wall.example:8080' });
    expect((JSON.parse(plain.body) as { broker: { urls: string[] } }).broker.urls).toEqual(['ws://wall.example:8080/stomp', 'wss://broker.example/ws']);
    expect(CSP_CONNECT.exec(String(plain.headers['content-security-policy']))?.[1]).toBe("'self' ws://wall.example:8080/stomp wss://broker.example/ws");

    const behindTls = await get(port, '/', { host: 'Wall.Example', 'x-forwarded-proto': 'https, http' });
    expect(CSP_CONNECT.exec(String(behindTls.headers['content-security-policy']))?.[1]).toBe("'self' wss://wall.example/stomp wss://broker.example/ws");
    const config = await get(port, '/config.json', { host: 'wall.example', 'x-forwarded-proto': 'https' });
    expect((JSON.parse(config.body) as { broker: { urls: string[] } }).broker.urls[0]).toBe('wss://wall.example/stomp');
    // Never the broker's own address: the browser does not need it, and the broker may be internal.
    expect(config.body).not.toContain(new URL(broker.url).host);
  });

  it('refuses a request whose Host cannot be put into a URL', async () => {
    const broker = await fakeBroker();
    const { port } = await start({ wsProxy: broker.url });
    for (const host of ["evil.example;script-src 'unsafe-inline'", 'a b', 'x/y']) {
      const response = await get(port, '/config.json', { host });
      expect(response.status).toBe(400);
      expect(response.body).not.toContain('unsafe-inline');
    }
  });

  it('tunnels an upgrade on its path to the broker, with Host rewritten and no cookie or authorization', async () => {
    const broker = await fakeBroker();
    const { base, upgrades } = await start({ wsProxy: broker.url });
    const socket = await openSocket(`${base.replace('http:', 'ws:')}/stomp?ignored=1`, {
      cookie: 'session=browser-secret',
      authorization: 'Basic YWRtaW46c2VjcmV0',
      'x-forwarded-for': '203.0.113.9',
      origin: base,
    });
    if (typeof socket === 'number') throw new Error(`upgrade refused: ${socket}`);
    expect(socket.protocol).toBe('v12.stomp');
    expect(upgrades.open).toBe(1);

    const [handshake] = broker.handshakes;
    expect(handshake?.url).toBe('/broker-path');
    expect(handshake?.headers.host).toBe(new URL(broker.url).host);
    expect(handshake?.headers.origin).toBe(base);
    expect(handshake?.headers.cookie).toBeUndefined();
    expect(handshake?.headers.authorization).toBeUndefined();
    expect(handshake?.headers['x-forwarded-for']).toBeUndefined();

    const echoed = once(socket, 'message');
    socket.send('CONNECT\n\n\0');
    expect(String((await echoed)[0])).toBe('CONNECT\n\n\0');
  });

  it('answers 404 on any other path, and 400 for an upgrade that is not a WebSocket', async () => {
    const broker = await fakeBroker();
    const { base, port } = await start({ wsProxy: broker.url, wsProxyPath: '/live/stomp' });
    const ws = base.replace('http:', 'ws:');
    expect(await openSocket(`${ws}/stomp`)).toBe(404);
    expect(await openSocket(`${ws}/live/stomp/more`)).toBe(404);
    expect(await openSocket(`${ws}/live`)).toBe(404);
    expect(await openSocket(`${ws}//live/stomp`)).toBe(404);
    expect(await openSocket(`${ws}/live/%73tomp`)).toBe(404);
    const h2c = await get(port, '/live/stomp', { connection: 'Upgrade', upgrade: 'h2c' });
    expect(h2c.status).toBe(400);
    expect(broker.handshakes).toEqual([]);
    expect(await openSocket(`${ws}/live/stomp`)).toBeInstanceOf(WebSocket);
  });

  it('closes the broker side when the browser goes, and the browser side when the broker goes', async () => {
    const broker = await fakeBroker();
    const { base, upgrades } = await start({ wsProxy: broker.url });
    const url = `${base.replace('http:', 'ws:')}/stomp`;

    const first = (await openSocket(url)) as WebSocket;
    const brokerSide = broker.sockets[0]!;
    const brokerClosed = once(brokerSide, 'close');
    // A dropped TCP connection, not a polite close handshake: the tunnel must notice on its own.
    (first as unknown as { _socket: Socket })._socket.destroy();
    await brokerClosed;
    await expect.poll(() => upgrades.open).toBe(0);

    const second = (await openSocket(url)) as WebSocket;
    const browserClosed = once(second, 'close');
    broker.sockets[1]!.terminate();
    await browserClosed;
    await expect.poll(() => upgrades.open).toBe(0);
  });

  it('answers 502 when the broker cannot be reached', async () => {
    const broker = await fakeBroker();
    const unreachable = broker.url;
    await Promise.all(closers.splice(0).map((close) => close()));
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const { base } = await start({ wsProxy: unreachable });
      expect(await openSocket(`${base.replace('http:', 'ws:')}/stomp`)).toBe(502);
      expect(String(errors[0])).toMatch(/WebSocket proxy cannot reach 127\.0\.0\.1:\d+/);
    } finally {
      console.error = original;
    }
  });
});
