import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, type FakeClock } from '../components/testing.js';
import { from } from '../engine/definition.js';
import { Engine } from '../engine/engine.js';
import { ComponentRegistry } from '../engine/registry.js';
import type { RouteStatus } from '../engine/route.js';
import type { Component } from '../engine/types.js';
import { createMetrics } from './metrics.js';
import { startOpsServer, type OpsServer } from './server.js';

/** What the test sets about the `gate:` producer: how many starts fail, and whether it is connected. */
interface Gate {
  failStarts: number;
  connected: boolean;
}

/** `idle:` a live source that reads nothing until stopped; `gate:` a producer the test connects by hand. */
function gateComponents(gate: Gate): ComponentRegistry {
  const idle: Component = {
    scheme: 'idle',
    doc: 'test source',
    options: {},
    createConsumer: () => ({
      live: true,
      run: (_sink, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    }),
  };
  const producer: Component = {
    scheme: 'gate',
    doc: 'test producer',
    options: {},
    createProducer: () => ({
      async start() {
        if (gate.failStarts > 0) {
          gate.failStarts -= 1;
          throw new Error('broker unreachable');
        }
      },
      ready: () => gate.connected,
      send: async () => undefined,
      stop: async () => 0,
    }),
  };
  return new ComponentRegistry().register(idle).register(producer);
}

describe('ops server', () => {
  const log = pino({ level: 'silent' });
  const info = { version: '1.2.3', host: 'worker-1', region: 'eu-west' };
  let clock: FakeClock;
  let gate: Gate;
  let engine: Engine;
  let server: OpsServer;

  afterEach(async () => {
    await server.close();
    await engine.stop(1000);
  });

  async function start(routeIds: string[] = ['feed:cats'], ownership?: () => unknown, held?: (routeId: string) => boolean): Promise<string> {
    clock = fakeClock(Date.parse('2025-01-01T00:00:00Z'));
    gate = { failStarts: 0, connected: true };
    engine = new Engine(gateComponents(gate), { baseDir: '.', clock, log, settings: {} });
    for (const id of routeIds) engine.add(from('idle:').routeId(id).to('gate:broker').build());
    server = await startOpsServer({ port: 0, engine, registry: createMetrics(engine, held ? { held } : {}), log, info, ...(ownership ? { ownership } : {}), ...(held ? { held } : {}) });
    return `http://127.0.0.1:${server.port}`;
  }

  it('answers /healthz while the process runs, whatever the routes do', async () => {
    const base = await start();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
    expect((await fetch(`${base}/healthz?probe=1`)).status).toBe(200);
  });

  it('turns /readyz from 503, with the reasons, to 200 once the route started and its endpoint connected', async () => {
    const base = await start();
    gate.failStarts = 1;
    gate.connected = false;
    const started = engine.start();
    await clock.whenSleeping();

    const starting = await fetch(`${base}/readyz`);
    expect(starting.status).toBe(503);
    expect(starting.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await starting.json()).toEqual({
      ready: false,
      routes: [
        {
          id: 'feed:cats',
          state: 'starting',
          lastError: { message: 'cannot start its endpoints: broker unreachable', at: '2025-01-01T00:00:00.000Z' },
          nextRetryAt: '2025-01-01T00:00:01.000Z',
          endpoints: [{ uri: 'gate:broker', ready: false }],
        },
      ],
    });

    await clock.advance(1000);
    await started;
    const disconnected = await fetch(`${base}/readyz`);
    expect(disconnected.status).toBe(503);
    expect(await disconnected.json()).toMatchObject({ ready: false, routes: [{ id: 'feed:cats', state: 'started', endpoints: [{ uri: 'gate:broker', ready: false }] }] });

    gate.connected = true;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('leaves out routes held back because another worker owns their feed: a standby worker is ready', async () => {
    const base = await start(['feed:cats', 'feed:dogs'], undefined, (routeId) => routeId === 'feed:dogs');
    await engine.route('feed:cats')?.start();
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('livewall_ready 1');
    gate.connected = false;
    expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ ready: false, routes: [{ id: 'feed:cats' }] });
  });

  it('is not ready without any route', async () => {
    const base = await start([]);
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ ready: false, reason: 'no routes', routes: [] });
  });

  it('describes the worker and every route on /status', async () => {
    const base = await start(['feed:cats', 'feed:dogs']);
    await engine.start();
    const response = await fetch(`${base}/status`);
    expect(response.status).toBe(200);
    const status = (await response.json()) as { version: string; uptimeSeconds: number; routes: RouteStatus[] };
    expect(status).toMatchObject({ version: '1.2.3', host: 'worker-1', region: 'eu-west' });
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.routes).toEqual(engine.status());
    expect(status.routes.map((route) => [route.id, route.state])).toEqual([
      ['feed:cats', 'started'],
      ['feed:dogs', 'started'],
    ]);
  });

  it('says on /status who owns each feed and where it runs, when the worker takes part in ownership', async () => {
    const ownership = { instance: { id: 'worker-1:10:abc', host: 'worker-1', pid: 10 }, feeds: [{ feed: 'cats', role: 'standby', owner: { id: 'laptop:20:def', host: 'laptop', pid: 20 }, epoch: 4 }] };
    const base = await start(['feed:cats'], () => ownership);
    expect(((await (await fetch(`${base}/status`)).json()) as { ownership: unknown }).ownership).toEqual(ownership);
    await server.close();
    await engine.stop(1000);
    const without = await start();
    expect(await (await fetch(`${without}/status`)).json()).not.toHaveProperty('ownership');
  });

  it('shows on /status the broker connections apart from the routes, when the worker has any', async () => {
    const connections = [{ broker: 'amqp://broker:5672', connected: true, addresses: ['/topic/feed.cats', '/topic/status.workers'], stats: { accepted: 12, reconnects: 1 } }];
    await start();
    await server.close();
    server = await startOpsServer({ port: 0, engine, registry: createMetrics(engine), log, info, amqpConnections: () => connections });
    const status = (await (await fetch(`http://127.0.0.1:${server.port}/status`)).json()) as Record<string, unknown>;
    expect(status.amqpConnections).toEqual(connections);
    expect(Object.keys(status)).toEqual(['version', 'host', 'region', 'uptimeSeconds', 'routes', 'amqpConnections']);
  });

  it('serves Prometheus text on /metrics', async () => {
    const base = await start();
    await engine.start();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('livewall_route_state{route="feed:cats",state="started"} 1');
  });

  it('answers 404 for other paths and 405 for other methods; HEAD is a GET without the body', async () => {
    const base = await start();
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/extra`)).status).toBe(404);

    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/readyz`, { method: 'DELETE' })).status).toBe(405);

    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('names the address when it cannot listen', async () => {
    await start();
    await expect(startOpsServer({ port: server.port, engine, registry: createMetrics(engine), log, info })).rejects.toThrow(`ops server cannot listen on 127.0.0.1:${server.port}: listen EADDRINUSE`);
  });
});
