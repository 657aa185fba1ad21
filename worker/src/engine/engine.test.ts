import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { hubComponent } from '../components/hub/index.js';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { from } from './definition.js';
import { byStartupOrder, Engine } from './engine.js';
import { ComponentRegistry } from './registry.js';
import { applyRoutes } from './reload.js';
import { fakeClock, settle, testEndpoints, type FakeClock } from './testing.js';
import type { Component } from './types.js';

afterEach(() => resetMocks());

/** How long a `slow:` producer takes to start: a broker connection being opened. */
const SLOW_START_MS = 100;

/** `slow:NAME`: a producer that takes SLOW_START_MS on the clock to start, then hands what it is sent to mock:NAME. */
function slowComponent(clock: FakeClock): Component {
  return {
    scheme: 'slow',
    doc: 'A producer that is slow to start.',
    options: {},
    path: { doc: 'the mock endpoint that records the sends', required: true },
    createProducer: (context) => ({
      start: () => clock.sleep(SLOW_START_MS),
      send: (exchange) => mockEndpoint(context.uri.path).receive(exchange),
      ready: () => true,
      stop: async () => 0,
    }),
  };
}

/** An engine on a fake clock with hub:, mock:, test: and slow:, recording every route's state changes in order. */
function orderedEngine() {
  const clock = fakeClock();
  const endpoints = testEndpoints(clock);
  const registry = new ComponentRegistry().register(hubComponent()).register(mockComponent).register(endpoints.component).register(slowComponent(clock));
  const engine = new Engine(registry, { baseDir: '.', clock, log: pino({ level: 'silent' }), settings: {} });
  const states: string[] = [];
  engine.on('state', ({ route, state }: { route: string; state: string }) => states.push(`${route} ${state}`));
  return { clock, engine, states, source: endpoints.source, producer: endpoints.producer };
}

const numbers = (count: number) => Array.from({ length: count }, (_, index) => index + 1);
const only = (states: string[], state: string): string[] => states.filter((entry) => entry.endsWith(` ${state}`));

describe('byStartupOrder', () => {
  it('groups routes by startupOrder, lowest first, each group in the order the routes were added', () => {
    const routes = [
      { definition: from('mock:a').routeId('a').startupOrder(2).build() },
      { definition: from('mock:b').routeId('b').build() },
      { definition: from('mock:c').routeId('c').startupOrder(-1).build() },
      { definition: from('mock:d').routeId('d').startupOrder(2).build() },
      { definition: from('mock:e').routeId('e').startupOrder(0).build() },
    ];
    expect(byStartupOrder(routes).map((group) => group.map((route) => route.definition.id))).toEqual([['c'], ['b', 'e'], ['a', 'd']]);
    expect(byStartupOrder([])).toEqual([]);
  });
});

describe('Engine start and stop in startup order', () => {
  it('starts lower startupOrder first: the readers of a hub listen before its source sends anything', async () => {
    const { clock, engine, states } = orderedEngine();
    // Added first, so only the startup order makes it start last.
    const sending = engine.add(from('mock:in?live=true').routeId('source').startupOrder(1).to('hub:h').build());
    engine.add(from('hub:h').routeId('reader-a').to('slow:a').build());
    engine.add(from('hub:h').routeId('reader-b').to('slow:b').build());
    // The source starts sending as soon as it runs.
    const emitted = numbers(20).map((n) => mockEndpoint('in').emit(n));

    const started = engine.start();
    await clock.whenSleeping(2, (ms) => ms === SLOW_START_MS);
    expect(states).toEqual(['reader-a starting', 'reader-b starting']);
    await clock.advance(SLOW_START_MS);
    await started;
    await Promise.all(emitted);
    mockEndpoint('a').expectedCount(20);
    mockEndpoint('b').expectedCount(20);
    await mockEndpoint('a').assertIsSatisfied();
    await mockEndpoint('b').assertIsSatisfied();

    expect(only(states, 'started')).toEqual(['reader-a started', 'reader-b started', 'source started']);
    expect(states.indexOf('source starting')).toBeGreaterThan(states.indexOf('reader-b started'));
    expect(mockEndpoint('a').bodies()).toEqual(numbers(20));
    expect(mockEndpoint('b').bodies()).toEqual(numbers(20));
    expect(sending.status().counters).toMatchObject({ received: 20, completed: 20, redelivered: 0, failed: 0 });
    await engine.stop(1000);
  });

  it('stops in reverse order: what a source drains at shutdown still reaches its readers', async () => {
    const { engine, states, source, producer } = orderedEngine();
    engine.add(from('hub:h').routeId('reader-a').to('mock:a').build());
    const sending = engine.add(from('test:in').routeId('source').startupOrder(1).queue(100).concurrency(1).to('test:gate').to('hub:h').build());
    engine.add(from('hub:h?live=true').routeId('reader-b').to('mock:b').build());
    await engine.start();
    // The source takes 20 and gets no further than the gate with the first: 19 wait in its queue at shutdown.
    producer('gate').hold = true;
    source('in').emitAll(numbers(20));
    await settle();
    expect(sending.status()).toMatchObject({ inFlight: 1, queueDepth: 19 });

    const stopped = engine.stop(10_000);
    await settle();
    expect(only(states, 'stopping')).toEqual(['source stopping']);
    producer('gate').hold = false;
    producer('gate').release();
    const abandoned = await stopped;

    expect(abandoned).toBe(0);
    expect(only(states, 'stopped')).toEqual(['source stopped', 'reader-a stopped', 'reader-b stopped']);
    expect(sending.status().counters).toMatchObject({ received: 20, completed: 20, failed: 0 });
    expect(mockEndpoint('a').bodies()).toEqual(numbers(20));
    expect(mockEndpoint('b').bodies()).toEqual(numbers(20));
    for (const id of ['reader-a', 'reader-b']) expect(engine.route(id)?.status().counters).toMatchObject({ received: 20, completed: 20, dropped: {} });
  });

  it('gives every group what is left of one shutdown timeout', async () => {
    const { clock, engine, producer, source } = orderedEngine();
    engine.add(from('test:b-in').routeId('b').to('test:b-out').build());
    engine.add(from('test:a-in').routeId('a').startupOrder(1).to('test:a-out').build());
    await engine.start();
    producer('a-out').hold = true;
    producer('b-out').hold = true;
    source('a-in').emit('never answered');
    source('b-in').emit('never answered either');
    await settle();

    let stoppedAt: number | undefined;
    const stopped = engine.stop(1000).then((abandoned) => {
      stoppedAt = clock.now();
      return abandoned;
    });
    await clock.advance(1000);
    // Both groups gave up within the one second, not one second each.
    expect(stoppedAt).toBe(1000);
    expect(await stopped).toBe(2);
  });
});

describe('applyRoutes in startup order', () => {
  it('removes routes in reverse startup order and adds them in startup order', async () => {
    const { engine, states } = orderedEngine();
    engine.add(from('hub:old').routeId('old-reader').to('mock:old').build());
    engine.add(from('mock:old-in').routeId('old-source').startupOrder(1).to('hub:old').build());
    await engine.start();
    states.length = 0;

    const result = await applyRoutes(
      engine,
      [
        // Listed source first: only the startup order makes the reader start first.
        from('mock:new-in?live=true').routeId('new-source').startupOrder(1).to('hub:new').build(),
        from('hub:new').routeId('new-reader').to('mock:new').build(),
      ],
      1000,
    );

    expect(result).toEqual({ added: ['new-reader', 'new-source'], removed: ['old-source', 'old-reader'], replaced: [], unchanged: [], abandoned: 0 });
    expect(only(states, 'stopped')).toEqual(['old-source stopped', 'old-reader stopped']);
    expect(only(states, 'started')).toEqual(['new-reader started', 'new-source started']);
    expect(states.indexOf('new-reader started')).toBeLessThan(states.indexOf('new-source starting'));
    await engine.stop(1000);
  });

  it('drains a replaced source into its readers before a replaced reader goes', async () => {
    const { engine, source, producer } = orderedEngine();
    engine.add(from('hub:h').routeId('reader').signature('v1').to('mock:out').build());
    const oldSource = engine.add(from('test:in').routeId('source').signature('v1').startupOrder(1).queue(100).concurrency(1).to('test:gate').to('hub:h').build());
    await engine.start();
    producer('gate').hold = true;
    source('in').emitAll(numbers(10));
    await settle();

    const reloaded = applyRoutes(
      engine,
      [from('hub:h').routeId('reader').signature('v2').to('mock:out').build(), from('test:in').routeId('source').signature('v2').startupOrder(1).to('hub:h').build()],
      10_000,
    );
    await settle();
    producer('gate').hold = false;
    producer('gate').release();
    const result = await reloaded;

    expect(result).toMatchObject({ replaced: ['source', 'reader'], abandoned: 0 });
    expect(oldSource.status().counters).toMatchObject({ received: 10, completed: 10, failed: 0 });
    expect(mockEndpoint('out').bodies()).toEqual(numbers(10));
    await engine.stop(1000);
  });
});
