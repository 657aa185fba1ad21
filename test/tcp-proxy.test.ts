import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TcpProxy } from './tcp-proxy.js';

/** An echo server: what a client sends comes back. */
let echo: Server;
let echoPort: number;
const echoSockets = new Set<Socket>();
const proxies: TcpProxy[] = [];
const clients: Socket[] = [];

beforeEach(async () => {
  echo = createServer((socket) => {
    echoSockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const socket of echoSockets) socket.destroy();
  echoSockets.clear();
  await new Promise((resolve) => echo.close(resolve));
});

async function through(proxy: TcpProxy): Promise<{ port: number; socket: Socket; received: () => string; waitFor: (text: string) => Promise<number> }> {
  proxies.push(proxy);
  const port = await proxy.listen();
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  let data = '';
  const watchers = new Set<() => void>();
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString();
    for (const watcher of watchers) watcher();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  return {
    port,
    socket,
    received: () => data,
    /** Resolves with the time (Date.now) `text` has arrived. */
    waitFor: (text) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!data.includes(text)) return;
          watchers.delete(check);
          resolve(Date.now());
        };
        watchers.add(check);
        check();
      }),
  };
}

describe('TcpProxy', () => {
  it('adds its latency each way, in order', async () => {
    const client = await through(new TcpProxy('127.0.0.1', echoPort, { latencyMs: 60 }));
    const sent = Date.now();
    client.socket.write('a');
    client.socket.write('b');
    const arrived = await client.waitFor('ab');
    // There and back: at least twice the one-way latency (a lower bound: a slow machine only adds to it).
    expect(arrived - sent).toBeGreaterThanOrEqual(115);
    expect(client.received()).toBe('ab');
  });

  it('delivers what a server sent before it closed, then closes the client: a last reply is not lost to the latency', async () => {
    // A server that answers and hangs up at once, as a broker does after its AMQP close frame.
    const goodbye = createServer((socket) => socket.end('bye'));
    await new Promise<void>((resolve) => goodbye.listen(0, '127.0.0.1', resolve));
    try {
      const client = await through(new TcpProxy('127.0.0.1', (goodbye.address() as AddressInfo).port, { latencyMs: 40 }));
      const closed = new Promise((resolve) => client.socket.once('close', resolve));
      await client.waitFor('bye');
      await closed;
      expect(client.received()).toBe('bye');
    } finally {
      await new Promise((resolve) => goodbye.close(resolve));
    }
  });

  it('limits the bandwidth', async () => {
    const client = await through(new TcpProxy('127.0.0.1', echoPort, { bytesPerSecond: 100_000 }));
    const payload = 'x'.repeat(30_000);
    const sent = Date.now();
    client.socket.write(payload);
    const arrived = await client.waitFor(payload);
    // 30 kB at 100 kB/s each way: at least 0.3 s.
    expect(arrived - sent).toBeGreaterThanOrEqual(290);
  });

  it('holds everything during a blackhole and delivers it when the link is back, new connections included', async () => {
    const proxy = new TcpProxy('127.0.0.1', echoPort);
    const client = await through(proxy);
    client.socket.write('before;');
    await client.waitFor('before;');
    proxy.blackhole();
    client.socket.write('during;');
    const late = connect(client.port, '127.0.0.1');
    clients.push(late);
    let lateData = '';
    late.on('data', (chunk: Buffer) => (lateData += chunk.toString()));
    late.write('late;');
    // Nothing crosses while the link is down: a round trip through the echo server would have come back by now.
    const control = await through(new TcpProxy('127.0.0.1', echoPort));
    control.socket.write('ping');
    await control.waitFor('ping');
    expect(client.received()).toBe('before;');
    expect(lateData).toBe('');

    proxy.restore();
    await client.waitFor('during;');
    await expect.poll(() => lateData).toBe('late;');
    expect(client.received()).toBe('before;during;');
  });

  it('resets every connection on a cut, and drops replies while they are silenced', async () => {
    const proxy = new TcpProxy('127.0.0.1', echoPort);
    const client = await through(proxy);
    proxy.silenceReplies = true;
    client.socket.write('lost;');
    const control = await through(new TcpProxy('127.0.0.1', echoPort));
    control.socket.write('ping');
    await control.waitFor('ping');
    expect(client.received()).toBe('');
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    proxy.cut();
    await closed;
    expect(proxy.connections).toBe(1);
  });
});
