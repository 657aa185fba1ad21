import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { from, type RouteDefinition } from '../engine/definition.js';
import { Engine } from '../engine/engine.js';
import { ComponentRegistry } from '../engine/registry.js';
import type { RouteState } from '../engine/route.js';
import { settle, testEngine } from '../engine/testing.js';
import { systemClock, type Clock, type Exchange } from '../engine/types.js';
import { createMetrics, feedPublishingMetrics, reconnectsMetric, type FeedPublishing } from './metrics.js';
import { startOpsServer, type OpsServer } from './server.js';

/** A clock whose time moves only when the test says; sleeps (redelivery delays of 0) are real. */
function steppingClock(): Clock & { advance(ms: number): void } {
  let now = 1_700_000_000_000;
  return { now: () => now, sleep: systemClock.sleep, advance: (ms) => (now += ms) };
}

function isEven(exchange: Exchange): boolean {
  return (exchange.body as number) % 2 === 0;
}

/** `mock:<id>-in` → keep even bodies, once each → `to`; two attempts, then `mock:dead`. */
function route(id: string, to: string): RouteDefinition {
  return from(`mock:${id}-in`)
    .routeId(id)
    .filter(isEven)
    .idempotent((exchange) => String(exchange.body), 100, 'byBody')
    .to(to)
    .queue(10)
    .concurrency(1)
    .redelivery({ attempts: 2, initialDelayMs: 0, jitter: 0 })
    .deadLetter('mock:dead')
    .build();
}

function whenState(engine: Engine, id: string, state: RouteState): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: { route: string; state: RouteState }): void => {
      if (event.route !== id || event.state !== state) return;
      engine.off('state', listener);
      resolve();
    };
    engine.on('state', listener);
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key as string] = value as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with exactly these labels, or undefined. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

describe('worker metrics', () => {
  const log = pino({ level: 'silent' });
  let engine: Engine;
  let server: OpsServer | undefined;
  let reconnects: { endpoint: string; reconnects: number }[];
  let publishing: FeedPublishing[];

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await engine.stop(1000);
    resetMocks();
  });

  /**
   * Runs `routes` until each has read what `inputs` gives its `mock:<id>-in` source. Every send to a `mock:`
   * endpoint takes 30 ms on the clock; `failures` says which bodies fail how many times at `mock:a`.
   */
  async function run(routes: RouteDefinition[], inputs: Record<string, unknown[]>, failures: [unknown, number][] = []): Promise<void> {
    const clock = steppingClock();
    const failuresLeft = new Map(failures);
    mockEndpoint('a').whenAnyExchangeReceived((exchange) => {
      clock.advance(30);
      const left = failuresLeft.get(exchange.body) ?? 0;
      if (left > 0) {
        failuresLeft.set(exchange.body, left - 1);
        throw new Error(`mock:a refused ${String(exchange.body)}`);
      }
    });
    mockEndpoint('b').whenAnyExchangeReceived(() => clock.advance(30));

    engine = new Engine(new ComponentRegistry().register(mockComponent), { baseDir: '.', clock, log, settings: {} });
    for (const definition of routes) engine.add(definition);
    reconnects = [{ endpoint: 'amqp:/topic/feed.cats', reconnects: 3 }];
    publishing = [];
    const registry = createMetrics(engine, { info: { version: '1.2.3', host: 'test-host', region: 'eu' }, extraMetrics: [reconnectsMetric(() => reconnects), ...feedPublishingMetrics(() => publishing)] });
    server = await startOpsServer({ port: 0, engine, registry, log, info: { version: '1.2.3', host: 'test-host' } });

    const completed = Promise.all(routes.map((definition) => whenState(engine, definition.id, 'completed')));
    await engine.start();
    for (const definition of routes) {
      const source = mockEndpoint(`${definition.id}-in`);
      for (const body of inputs[definition.id] ?? []) await source.emit(body);
      source.end();
    }
    await completed;
  }

  async function scrape(): Promise<{ samples: Sample[]; contentType: string | null; text: string }> {
    const response = await fetch(`http://127.0.0.1:${server?.port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    return { samples: parse(text), contentType: response.headers.get('content-type'), text };
  }

  it('reports the engine counters of a route that ran, with drops by reason', async () => {
    // The filter drops 1, 3, 5 and the idempotent step the second 2; 4 fails once and then goes through; 6 fails
    // both attempts and is dead-lettered.
    await run([route('r1', 'mock:a')], { r1: [1, 2, 2, 3, 4, 5, 6] }, [[4, 1], [6, 2]]);
    const { samples, contentType } = await scrape();
    const r1 = { route: 'r1' };

    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(samples, 'livewall_received_total', r1)).toBe(7);
    expect(valueOf(samples, 'livewall_dropped_total', { route: 'r1', reason: 'filter:isEven' })).toBe(3);
    expect(valueOf(samples, 'livewall_dropped_total', { route: 'r1', reason: 'duplicate' })).toBe(1);
    expect(samples.filter((sample) => sample.name === 'livewall_dropped_total')).toHaveLength(2);
    expect(valueOf(samples, 'livewall_redelivered_total', r1)).toBe(2);
    expect(valueOf(samples, 'livewall_failed_total', r1)).toBe(1);
    expect(valueOf(samples, 'livewall_dead_lettered_total', r1)).toBe(1);
    expect(valueOf(samples, 'livewall_sent_total', r1)).toBe(2);
    expect(valueOf(samples, 'livewall_in_flight', r1)).toBe(0);
    expect(valueOf(samples, 'livewall_queue_depth', r1)).toBe(0);
    expect(valueOf(samples, 'livewall_queue_capacity', r1)).toBe(10);
    expect(valueOf(samples, 'livewall_route_state', { route: 'r1', state: 'completed' })).toBe(1);
    expect(valueOf(samples, 'livewall_route_state', { route: 'r1', state: 'started' })).toBe(0);
    expect(samples.filter((sample) => sample.name === 'livewall_route_state')).toHaveLength(7);
    expect(valueOf(samples, 'livewall_endpoint_ready', { route: 'r1', uri: 'mock:a' })).toBe(1);
    expect(valueOf(samples, 'livewall_ready')).toBe(0);
    expect(valueOf(samples, 'livewall_build_info', { version: '1.2.3', region: 'eu' })).toBe(1);
  });

  it('measures publish latency per URI from the engine’s sent events, counting only sends that succeeded', async () => {
    await run([route('r1', 'mock:a')], { r1: [1, 2, 3, 4, 5, 6] }, [[4, 1], [6, 2]]);
    const { samples } = await scrape();
    const uri = { uri: 'mock:a' };

    // 2 and 4 (its second attempt) reached mock:a, 30 ms each on the test clock; dead-letter sends are not timed.
    expect(valueOf(samples, 'livewall_publish_latency_seconds_count', uri)).toBe(2);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_sum', uri)).toBeCloseTo(0.06);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_bucket', { ...uri, le: '0.025' })).toBe(0);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_bucket', { ...uri, le: '0.05' })).toBe(2);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_bucket', { ...uri, le: '0.001' })).toBe(0);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_bucket', { ...uri, le: '10' })).toBe(2);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_bucket', { ...uri, le: '+Inf' })).toBe(2);
  });

  it('reports the same cumulative figures on every scrape', async () => {
    await run([route('r1', 'mock:a')], { r1: [2, 4] });
    await scrape();
    const { samples } = await scrape();
    expect(valueOf(samples, 'livewall_received_total', { route: 'r1' })).toBe(2);
    expect(valueOf(samples, 'livewall_publish_latency_seconds_count', { uri: 'mock:a' })).toBe(2);
  });

  it('forgets the series of a removed route and of the URIs only it sent to', async () => {
    await run([route('r1', 'mock:a'), route('r2', 'mock:b')], { r1: [2], r2: [3, 4] });
    const before = (await scrape()).samples;
    expect(valueOf(before, 'livewall_received_total', { route: 'r2' })).toBe(2);
    expect(valueOf(before, 'livewall_dropped_total', { route: 'r2', reason: 'filter:isEven' })).toBe(1);
    expect(valueOf(before, 'livewall_publish_latency_seconds_count', { uri: 'mock:b' })).toBe(1);

    await engine.remove('r2', 1000);
    const after = (await scrape()).samples;
    expect(after.filter((sample) => sample.labels.route === 'r2' || sample.labels.uri === 'mock:b')).toEqual([]);
    expect(valueOf(after, 'livewall_received_total', { route: 'r1' })).toBe(1);
    expect(valueOf(after, 'livewall_publish_latency_seconds_count', { uri: 'mock:a' })).toBe(1);
  });

  it('adds the figures an extra-metrics hook reads, as they are at each scrape', async () => {
    await run([route('r1', 'mock:a')], {});
    expect(valueOf((await scrape()).samples, 'livewall_reconnects_total', { endpoint: 'amqp:/topic/feed.cats' })).toBe(3);

    reconnects = [{ endpoint: 'amqp:/topic/feed.dogs', reconnects: 1 }];
    const { samples } = await scrape();
    expect(valueOf(samples, 'livewall_reconnects_total', { endpoint: 'amqp:/topic/feed.dogs' })).toBe(1);
    expect(valueOf(samples, 'livewall_reconnects_total', { endpoint: 'amqp:/topic/feed.cats' })).toBeUndefined();
  });

  it('includes the process and Node metrics under their standard names, without the livewall_ prefix', async () => {
    await run([route('r1', 'mock:a')], {});
    const { samples, text } = await scrape();
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of ['process_cpu_seconds_total', 'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_version_info']) {
      expect(names).toContain(name);
    }
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
    expect([...names].filter((name) => name.startsWith('livewall_process') || name.startsWith('livewall_nodejs'))).toEqual([]);
    expect([...names].filter((name) => !/^(livewall|process|nodejs)_/.test(name))).toEqual([]);
  });

  it('names every counter …_total and no gauge so, the process and Node ones included', async () => {
    await run([route('r1', 'mock:a')], { r1: [2] });
    publishing = [{ feed: 'cats', accepted: 1, released: 0, rejected: 0, modified: 0, resent: 0, lastAcceptedAt: 1_700_000_000_000 }];
    const types = [...(await scrape()).text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name: name as string, type: type as string }));
    expect(types.length).toBeGreaterThan(30);
    expect(types.filter(({ type, name }) => type === 'gauge' && name.endsWith('_total'))).toEqual([]);
    expect(types.filter(({ type, name }) => type === 'counter' && !name.endsWith('_total'))).toEqual([]);
    // The sums prom-client names …_total are left out; their per-type gauges stay.
    expect(types.map(({ name }) => name)).not.toContain('nodejs_active_handles_total');
    expect(types).toContainEqual({ name: 'nodejs_active_handles', type: 'gauge' });
  });

  it("reports each feed's broker outcomes and resends as counters, and when the broker last accepted one of its items", async () => {
    await run([route('r1', 'mock:a')], {});
    // cats: accepted items, one rejected, some released and sent again; dogs: declared, nothing accepted yet.
    publishing = [
      { feed: 'cats', accepted: 40, released: 3, rejected: 1, modified: 0, resent: 5, lastAcceptedAt: 1_700_000_123_456 },
      { feed: 'dogs', accepted: 0, released: 0, rejected: 0, modified: 0, resent: 0 },
    ];
    const { samples, text } = await scrape();
    expect(text).toMatch(/^# TYPE livewall_amqp_outcomes_total counter$/m);
    expect(text).toMatch(/^# TYPE livewall_amqp_resent_total counter$/m);
    expect(text).toMatch(/^# TYPE livewall_last_published_timestamp_seconds gauge$/m);
    expect(valueOf(samples, 'livewall_amqp_outcomes_total', { feed: 'cats', outcome: 'accepted' })).toBe(40);
    expect(valueOf(samples, 'livewall_amqp_outcomes_total', { feed: 'cats', outcome: 'released' })).toBe(3);
    expect(valueOf(samples, 'livewall_amqp_outcomes_total', { feed: 'cats', outcome: 'rejected' })).toBe(1);
    expect(valueOf(samples, 'livewall_amqp_outcomes_total', { feed: 'cats', outcome: 'modified' })).toBe(0);
    expect(valueOf(samples, 'livewall_amqp_resent_total', { feed: 'cats' })).toBe(5);
    expect(valueOf(samples, 'livewall_last_published_timestamp_seconds', { feed: 'cats' })).toBeCloseTo(1_700_000_123.456);
    // A feed with nothing accepted yet: its counters at 0 (so that rate() sees the first one), no timestamp at all.
    expect(samples.filter((sample) => sample.name === 'livewall_amqp_outcomes_total' && sample.labels.feed === 'dogs').map((sample) => sample.value)).toEqual([0, 0, 0, 0]);
    expect(valueOf(samples, 'livewall_amqp_resent_total', { feed: 'dogs' })).toBe(0);
    expect(valueOf(samples, 'livewall_last_published_timestamp_seconds', { feed: 'dogs' })).toBeUndefined();

    // A feed gone from the config (the hook no longer returns it) has no series at the next scrape.
    publishing = publishing.slice(1);
    const after = (await scrape()).samples;
    expect(after.filter((sample) => sample.labels.feed === 'cats')).toEqual([]);
  });
});

describe('source rejects', () => {
  it('are counted apart from drops, by route and reason: what a source refused was never received', async () => {
    const { engine, source } = testEngine();
    engine.add(from('test:in').routeId('source:x').to('test:out').build());
    await engine.start();
    source('in').emit('a');
    source('in').reject('stream-error:TooManyConnections');
    source('in').reject('not-json');
    source('in').reject('not-json');
    await settle();
    const text = await createMetrics(engine).metrics();
    expect(text).toContain('# TYPE livewall_source_rejected_total counter');
    expect(text).toMatch(/^livewall_source_rejected_total\{route="source:x",reason="not-json"\} 2$/m);
    expect(text).toMatch(/^livewall_source_rejected_total\{route="source:x",reason="stream-error:TooManyConnections"\} 1$/m);
    expect(text).toMatch(/^livewall_received_total\{route="source:x"\} 1$/m);
    expect(text).not.toMatch(/^livewall_dropped_total\{/m);
    await engine.stop(0);
  });
});
