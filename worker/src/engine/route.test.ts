import { describe, expect, it } from 'vitest';
import { from, type RouteBuilder } from './definition.js';
import type { RouteStatus } from './route.js';
import { settle, testEngine } from './testing.js';

/** An engine on a fake clock, with `test:` endpoints, and the one route `builder` describes (not started). */
function withRoute(builder: RouteBuilder) {
  const harness = testEngine();
  const route = harness.engine.add(builder.build());
  const states: string[] = [];
  harness.engine.on('state', ({ state }: { state: string }) => states.push(state));
  return { ...harness, route, states };
}

async function running(builder: RouteBuilder) {
  const harness = withRoute(builder);
  await harness.engine.start();
  return harness;
}

const numbers = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

describe('redelivery', () => {
  const policy = { attempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 10_000, jitter: 0 };

  it('tries again after the policy delays and delivers on the third attempt', async () => {
    const { clock, source, producer, route } = await running(from('test:in').to('test:out').redelivery(policy));
    producer('out').failNext = 2;
    source('in').emit('x');
    await settle();
    expect(producer('out').received.map((sent) => sent.at)).toEqual([0]);
    await clock.advance(99);
    expect(producer('out').received).toHaveLength(1);
    await clock.advance(1);
    expect(producer('out').received.map((sent) => sent.at)).toEqual([0, 100]);
    await clock.advance(200);
    expect(producer('out').received.map(({ body, at }) => [body, at])).toEqual([
      ['x', 0],
      ['x', 100],
      ['x', 300],
    ]);
    expect(producer('out').delivered).toEqual(['x']);
    expect(route.status().counters).toMatchObject({ received: 1, completed: 1, redelivered: 2, failed: 0, deadLettered: 0 });
  });

  it('runs every attempt from the body the source gave, not the one an earlier attempt transformed', async () => {
    const { clock, source, producer } = await running(
      from('test:in')
        .transform((exchange) => `${String(exchange.body)}!`)
        .to('test:out')
        .redelivery(policy),
    );
    producer('out').failNext = 2;
    source('in').emit('x');
    await clock.advance(300);
    expect(producer('out').bodies()).toEqual(['x!', 'x!', 'x!']);
  });

  it('after the last attempt sends the original body, its headers, the error and the attempts to the dead letter', async () => {
    const { clock, source, producer, route } = await running(
      from('test:in')
        .routeId('cats')
        .transform((exchange) => ({ wrapped: exchange.body }))
        .to('test:out')
        .deadLetter('test:dead')
        .redelivery(policy),
    );
    producer('out').failAlways = true;
    source('in').emit({ n: 1 }, { feed: 'cats' });
    await clock.advance(300);
    expect(producer('out').received.map(({ body, at }) => [body, at])).toEqual([
      [{ wrapped: { n: 1 } }, 0],
      [{ wrapped: { n: 1 } }, 100],
      [{ wrapped: { n: 1 } }, 300],
    ]);
    expect(producer('dead').received).toEqual([
      {
        body: { n: 1 },
        headers: { feed: 'cats', error: 'out refused {"wrapped":{"n":1}}', attempts: 3, route: 'cats', failedAt: '1970-01-01T00:00:00.300Z' },
        at: 300,
      },
    ]);
    expect(route.status().counters).toMatchObject({ received: 1, completed: 0, redelivered: 2, failed: 1, deadLettered: 1 });
    expect(route.status().lastError).toEqual({ message: 'out refused {"wrapped":{"n":1}}', at: '1970-01-01T00:00:00.300Z' });
  });

  it('without a dead letter counts the failure and goes on with the next exchange', async () => {
    const { clock, source, producer, route } = await running(from('test:in').to('test:out').redelivery({ ...policy, attempts: 2 }).concurrency(1));
    producer('out').failNext = 2;
    source('in').emitAll(['bad', 'good']);
    await clock.advance(100);
    expect(producer('out').bodies()).toEqual(['bad', 'bad', 'good']);
    expect(producer('out').delivered).toEqual(['good']);
    expect(route.status().counters).toMatchObject({ received: 2, completed: 1, redelivered: 1, failed: 1, deadLettered: 0 });
  });

  it('counts a dead letter that fails too, and says so in a retry event', async () => {
    const { clock, engine, source, producer, route } = await running(from('test:in').to('test:out').deadLetter('test:dead').redelivery({ ...policy, attempts: 1 }));
    const retries: unknown[] = [];
    engine.on('retry', (event) => retries.push(event));
    producer('out').failAlways = true;
    producer('dead').failAlways = true;
    source('in').emit('x');
    await clock.advance(0);
    expect(route.status().counters).toMatchObject({ failed: 1, deadLettered: 0, dropped: { 'dead-letter-failed': 1 } });
    expect(retries).toEqual([{ route: 'test:in', error: 'dead-letter endpoint failed: dead refused "x"', delayMs: 0 }]);
  });
});

describe('back-pressure', () => {
  it('holds a pausable source back while the queue is full and drops nothing', async () => {
    const { source, producer, route } = await running(from('test:in').to('test:out').queue(2).concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(6));
    await settle();
    // 1 is being sent, 2 and 3 fill the queue, the offer of 4 waits.
    expect(producer('out').bodies()).toEqual([1]);
    expect(source('in').accepted).toBe(3);
    expect(source('in').waiting).toBe(true);
    expect(route.status()).toMatchObject({ queueDepth: 2, inFlight: 1 });

    producer('out').release();
    await settle();
    expect(producer('out').bodies()).toEqual([1, 2]);
    expect(source('in').accepted).toBe(4);
    expect(source('in').waiting).toBe(true);

    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(producer('out').delivered).toEqual(numbers(6));
    expect(source('in').waiting).toBe(false);
    expect(route.status().counters).toMatchObject({ received: 6, completed: 6, dropped: {} });
  });

  it('drops the oldest queued exchange of a live source when full, counted as queue-full', async () => {
    const { source, producer, route } = await running(from('test:in?live=true').to('test:out').queue(2, 'drop-oldest').concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(6));
    await settle();
    // A live source is never held back.
    expect(source('in').accepted).toBe(6);
    expect(route.status()).toMatchObject({ queueDepth: 2, counters: { received: 6, dropped: { 'queue-full': 3 } } });
    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(producer('out').delivered).toEqual([1, 5, 6]);
  });

  it('keeps the oldest with drop-newest', async () => {
    const { source, producer, route } = await running(from('test:in?live=true').to('test:out').queue(2, 'drop-newest').concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(6));
    await settle();
    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(producer('out').delivered).toEqual([1, 2, 3]);
    expect(route.status().counters).toMatchObject({ received: 6, completed: 3, dropped: { 'queue-full': 3 } });
  });
});

describe('starting', () => {
  it('emits starting then started, with the route and the state before', async () => {
    const { engine } = withRoute(from('test:in').routeId('cats').to('test:out'));
    const events: unknown[] = [];
    engine.on('state', (event) => events.push(event));
    await engine.start();
    expect(events).toEqual([
      { route: 'cats', state: 'starting', previous: 'stopped' },
      { route: 'cats', state: 'started', previous: 'starting' },
    ]);
  });

  it('retries producers that cannot start with backoff, showing the error and the next retry, then starts', async () => {
    const { clock, engine, source, producer, route, states } = withRoute(from('test:in').to('test:out'));
    const retries: unknown[] = [];
    engine.on('retry', (event) => retries.push(event));
    producer('out').startFailures = 2;
    const starting = route.start();
    await settle();
    expect(route.status()).toMatchObject({
      state: 'starting',
      lastError: { message: 'cannot start its endpoints: out refused the connection', at: '1970-01-01T00:00:00.000Z' },
      nextRetryAt: '1970-01-01T00:00:01.000Z',
    });
    expect(engine.ready()).toBe(false);

    await clock.advance(999);
    expect(producer('out').starts).toBe(1);
    await clock.advance(1);
    expect(producer('out').starts).toBe(2);
    expect(route.status()).toMatchObject({ state: 'starting', nextRetryAt: '1970-01-01T00:00:03.000Z' });

    await clock.advance(2000);
    await starting;
    expect(producer('out').starts).toBe(3);
    expect(route.status().state).toBe('started');
    expect(route.status().nextRetryAt).toBeUndefined();
    expect(engine.ready()).toBe(true);
    expect(states).toEqual(['starting', 'started']);
    expect(retries).toEqual([
      { route: 'test:in', error: 'cannot start its endpoints: out refused the connection', delayMs: 1000 },
      { route: 'test:in', error: 'cannot start its endpoints: out refused the connection', delayMs: 2000 },
    ]);

    source('in').emit('x');
    await settle();
    expect(producer('out').delivered).toEqual(['x']);
  });

  it('Engine.start does not wait for a route still retrying its endpoints, and stop ends the retrying', async () => {
    const { clock, engine, producer, route, states } = withRoute(from('test:in').to('test:out'));
    producer('out').startFailures = Infinity;
    await engine.start();
    expect(route.status().state).toBe('starting');
    await clock.advance(1000);
    expect(producer('out').starts).toBe(2);
    expect(await engine.stop(5000)).toBe(0);
    expect(states).toEqual(['starting', 'stopping', 'stopped']);
    await clock.advance(60_000);
    expect(producer('out').starts).toBe(2);
    expect(clock.sleeping).toBe(0);
  });
});

describe('suspend and resume', () => {
  it('suspend stops taking from the queue, so a pausable source waits and nothing is lost; resume goes on', async () => {
    const { source, producer, route, states } = await running(from('test:in').to('test:out').queue(2).concurrency(1));
    route.suspend();
    source('in').emitAll(numbers(5));
    await settle();
    expect(producer('out').received).toEqual([]);
    expect(source('in').waiting).toBe(true);
    expect(route.status().state).toBe('suspended');

    route.resume();
    await settle();
    expect(producer('out').delivered).toEqual(numbers(5));
    expect(route.status().counters).toMatchObject({ received: 5, completed: 5, dropped: {} });
    expect(states).toEqual(['starting', 'started', 'suspended', 'started']);
  });

  it('suspend also holds exchanges that workers were already waiting for', async () => {
    const { source, producer, route } = await running(from('test:in').to('test:out').queue(10).concurrency(4));
    route.suspend();
    source('in').emitAll(numbers(3));
    await settle();
    expect(producer('out').received).toEqual([]);
    route.resume();
    await settle();
    expect(producer('out').delivered).toEqual(numbers(3));
  });

  it('a stop while suspended still drains what was taken', async () => {
    const { source, producer, route, engine } = await running(from('test:in').to('test:out').queue(2).concurrency(1));
    route.suspend();
    source('in').emitAll(numbers(5));
    await settle();
    expect(await engine.stop(5000)).toBe(0);
    expect(producer('out').delivered).toEqual(numbers(route.status().counters.received));
    expect(route.status().counters.received).toBe(3);
  });
});

describe('stopping', () => {
  it('drains what was queued and in flight: every exchange taken from the source reaches the producer', async () => {
    const { clock, engine, source, producer, route, states } = await running(from('test:in').to('test:out').queue(2).concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(6));
    await settle();
    const stopped = engine.stop(10_000);
    await settle();
    expect(route.status().state).toBe('stopping');
    expect(producer('out').stopped).toBe(false);

    producer('out').hold = false;
    producer('out').release();
    expect(await stopped).toBe(0);
    const taken = route.status().counters.received;
    expect(taken).toBe(3);
    expect(producer('out').delivered).toEqual(numbers(taken));
    expect(route.status().counters).toMatchObject({ completed: taken, failed: 0, dropped: {} });
    expect(producer('out').stopped).toBe(true);
    expect(states).toEqual(['starting', 'started', 'stopping', 'stopped']);
    // Nothing is left waiting on the clock: a real timer would hold the process open.
    expect(clock.sleeping).toBe(0);
  });

  it('drains a live source the same way', async () => {
    const { engine, source, producer, route } = await running(from('test:in?live=true').to('test:out').concurrency(2));
    producer('out').hold = true;
    source('in').emitAll(numbers(5));
    await settle();
    const stopped = engine.stop(10_000);
    producer('out').hold = false;
    producer('out').release();
    expect(await stopped).toBe(0);
    expect(producer('out').delivered).toEqual(numbers(5));
    expect(route.status().counters).toMatchObject({ received: 5, completed: 5 });
  });

  it('drains exchanges waiting at a throttle at its pace instead of dropping them', async () => {
    const { clock, engine, source, producer, route } = await running(from('test:in').throttle(1, 1000).to('test:out'));
    source('in').emitAll(numbers(3));
    await settle();
    let abandoned: number | undefined;
    void engine.stop(10_000).then((count) => (abandoned = count));
    await clock.advance(2000);
    expect(abandoned).toBe(0);
    expect(producer('out').received.map(({ body, at }) => [body, at])).toEqual([
      [1, 0],
      [2, 1000],
      [3, 2000],
    ]);
    expect(route.status().counters.dropped).toEqual({});
  });

  it('gives up after the timeout when the producer never answers, and counts what it abandoned', async () => {
    const { clock, engine, source, producer, route } = await running(from('test:in').to('test:out').queue(10).concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(3));
    await settle();
    let abandoned: number | undefined;
    void engine.stop(5000).then((count) => (abandoned = count));
    await clock.advance(4999);
    expect(abandoned).toBeUndefined();
    await clock.advance(1);
    // One in flight, two still queued.
    expect(abandoned).toBe(3);
    expect(route.status().state).toBe('stopped');
    expect(producer('out').stopped).toBe(true);
  });

  it('gives up after the timeout too when the source had already ended', async () => {
    const { clock, engine, source, producer, route, states } = await running(from('test:in').to('test:out').concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(2));
    source('in').end();
    await settle();
    let abandoned: number | undefined;
    void engine.stop(5000).then((count) => (abandoned = count));
    await clock.advance(5000);
    expect(abandoned).toBe(2);
    expect(route.status().state).toBe('stopped');
    expect(states).toEqual(['starting', 'started', 'stopping', 'stopped']);
  });

  it('is a no-op on a stopped route, and the route can start again', async () => {
    const { engine, source, producer, route } = await running(from('test:in').to('test:out'));
    expect(await engine.stop(1000)).toBe(0);
    expect(await route.stop(1000)).toBe(0);
    await route.start();
    expect(source('in').runs).toBe(2);
    source('in').emit('again');
    await settle();
    expect(producer('out').delivered).toEqual(['again']);
  });
});

describe('the source', () => {
  it('completes the route once the source ends and the queue is drained', async () => {
    const { engine, source, producer, route, states } = await running(from('test:in').to('test:out').concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(3));
    source('in').end();
    await settle();
    expect(route.status().state).toBe('started');
    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(producer('out').delivered).toEqual(numbers(3));
    expect(states).toEqual(['starting', 'started', 'completed']);
    expect(engine.ready()).toBe(false);
    expect(await engine.stop(1000)).toBe(0);
    expect(states.at(-1)).toBe('stopped');
  });

  it('restarts a source that throws, with backoff, showing its error in the status', async () => {
    const { clock, engine, source, producer, route } = await running(from('test:in').to('test:out'));
    const retries: unknown[] = [];
    engine.on('retry', (event) => retries.push(event));
    source('in').emit(1);
    source('in').fail(new Error('stream closed by the server'));
    await settle();
    expect(route.status()).toMatchObject({
      state: 'started',
      lastError: { message: 'source failed: stream closed by the server', at: '1970-01-01T00:00:00.000Z' },
      nextRetryAt: '1970-01-01T00:00:01.000Z',
    });
    expect(source('in').runs).toBe(1);

    await clock.advance(1000);
    expect(source('in').runs).toBe(2);
    expect(route.status().nextRetryAt).toBeUndefined();
    source('in').emit(2);
    source('in').fail(new Error('again'));
    await settle();
    expect(route.status().nextRetryAt).toBe('1970-01-01T00:00:03.000Z');
    await clock.advance(2000);
    expect(source('in').runs).toBe(3);
    expect(producer('out').delivered).toEqual([1, 2]);
    expect(retries).toEqual([
      { route: 'test:in', error: 'source failed: stream closed by the server', delayMs: 1000 },
      { route: 'test:in', error: 'source failed: again', delayMs: 2000 },
    ]);
  });

  it('counts what the source itself rejects by its reason', async () => {
    const { source, producer, route } = await running(from('test:in').to('test:out'));
    source('in').emit(1);
    source('in').reject('malformed');
    source('in').reject('malformed');
    source('in').emit(2);
    await settle();
    expect(producer('out').delivered).toEqual([1, 2]);
    // Refused by the source, never received: counted apart, so that received = completed + dropped + failed.
    expect(route.status().counters).toMatchObject({ received: 2, completed: 2, dropped: {}, rejected: { malformed: 2 } });
  });
});

describe('the engine', () => {
  it('is ready once every route is started with its producers ready, and not before or after', async () => {
    const { clock, engine, producer } = withRoute(from('test:a').routeId('a').to('test:out-a'));
    engine.add(from('test:b').routeId('b').to('test:out-b').build());
    expect(testEngine().engine.ready()).toBe(false);
    expect(engine.ready()).toBe(false);
    producer('out-b').startFailures = 1;
    await engine.start();
    expect(engine.ready()).toBe(false);
    await clock.advance(1000);
    expect(engine.ready()).toBe(true);
    await engine.stop(1000);
    expect(engine.ready()).toBe(false);
  });

  it('reports the status of every route', async () => {
    const { engine, source } = await running(from('test:in').routeId('cats').filter(() => 'no-pictures').wireTap('test:tap').to('test:out').deadLetter('test:dead').queue(5));
    source('in').emit(1);
    await settle();
    expect(engine.status()).toEqual([
      {
        id: 'cats',
        state: 'started',
        from: 'test:in',
        to: ['test:tap', 'test:out'],
        counters: { received: 1, completed: 0, redelivered: 0, failed: 0, deadLettered: 0, dropped: { 'no-pictures': 1 }, rejected: {} },
        inFlight: 0,
        queueDepth: 0,
        queueCapacity: 5,
        endpoints: [
          { uri: 'test:tap', ready: true },
          { uri: 'test:out', ready: true },
        ],
      },
    ] satisfies RouteStatus[]);
  });

  it('refuses a route id twice, and an endpoint it cannot make, naming the URI', () => {
    const { engine } = withRoute(from('test:in').routeId('cats').to('test:out'));
    expect(() => engine.add(from('test:in').routeId('cats').build())).toThrow('route cats is defined twice');
    expect(() => engine.add(from('nope:x').routeId('other').build())).toThrow('unknown component "nope:" in nope:x; known: test:');
    expect(() => engine.add(from('test:in?fast=1').routeId('third').build())).toThrow('unknown option "fast" for test:');
  });

  it('remove stops a route and forgets it', async () => {
    const { engine, source, producer } = await running(from('test:in').routeId('cats').to('test:out'));
    source('in').emit(1);
    await settle();
    expect(await engine.remove('cats', 1000)).toBe(0);
    expect(producer('out').delivered).toEqual([1]);
    expect(engine.route('cats')).toBeUndefined();
    expect(engine.list()).toEqual([]);
    expect(engine.ready()).toBe(false);
    expect(await engine.remove('cats', 1000)).toBe(0);
  });
});

describe('settlement: when the source hears that a message was dealt with', () => {
  it('after its send, after a filter dropped it, and after its dead letter — in the order each finished', async () => {
    const { clock, source, producer } = await running(
      from('test:in')
        .filter((exchange) => exchange.body !== 2)
        .to('test:out')
        .redelivery({ attempts: 1, initialDelayMs: 0, multiplier: 1, maxDelayMs: 0, jitter: 0 })
        .deadLetter('test:dead')
        .concurrency(1),
    );
    producer('out').hold = true;
    source('in').emitAll([1, 2, 3]);
    await settle();
    expect(source('in').settled).toEqual([]);
    producer('out').failNext = 1;
    producer('out').hold = false;
    producer('out').release();
    await clock.advance(10);
    await settle();
    // 1 was sent, 2 filtered out, 3 failed into the dead letter: all three dealt with.
    expect(source('in').settled).toEqual([1, 2, 3]);
    expect(producer('dead').delivered).toEqual([3]);
  });

  it('never for what a stop abandoned, queued or in flight, so a source with a cursor offers it again', async () => {
    const { clock, engine, source, producer } = await running(from('test:in').to('test:out').queue(10).concurrency(1));
    source('in').emit(1);
    await settle();
    producer('out').hold = true;
    source('in').emitAll([2, 3, 4]);
    await settle();
    void engine.stop(1000);
    await clock.advance(1000);
    expect(source('in').settled).toEqual([1]);
  });

  it('for a live source’s message the queue dropped: it is counted, not waiting', async () => {
    const { source, producer } = await running(from('test:in?live=true').to('test:out').queue(2, 'drop-oldest').concurrency(1));
    producer('out').hold = true;
    source('in').emitAll(numbers(5));
    await settle();
    // 1 is in flight; 2 and 3 were pushed out by 4 and 5.
    expect(source('in').settled).toEqual([2, 3]);
    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(source('in').settled).toEqual([2, 3, 1, 4, 5]);
  });

  it('once for a message split in parts: when the last part is done', async () => {
    const { source, producer } = await running(
      from('test:in')
        .split((exchange) => String(exchange.body).split(','))
        .to('test:out')
        .concurrency(1),
    );
    producer('out').hold = true;
    source('in').emit('a,b');
    await settle();
    producer('out').release();
    await settle();
    expect(producer('out').delivered).toEqual(['a']);
    expect(source('in').settled).toEqual([]);
    producer('out').hold = false;
    producer('out').release();
    await settle();
    expect(source('in').settled).toEqual(['a,b']);
  });
});

describe('counters', () => {
  it('add up: received = completed + dropped + failed + in flight + queued, and what the source refused is apart', async () => {
    const { source, producer, route } = await running(
      from('test:in?live=true')
        .filter((exchange) => (exchange.body as number) % 3 !== 0, 'not-threes')
        .idempotent((exchange) => String(exchange.body), 100, 'byBody')
        .to('test:out')
        .queue(4)
        .concurrency(1)
        .redelivery({ attempts: 1, initialDelayMs: 0, jitter: 0 }),
    );
    producer('out').failNext = 2;
    // A live burst larger than the queue: some are dropped as queue-full; repeats, threes, two failures, and rejects.
    for (const body of [1, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14]) source('in').emit(body);
    source('in').reject('not-json');
    await settle();
    await settle();
    const add = (status: RouteStatus): number =>
      status.counters.completed + Object.values(status.counters.dropped).reduce((sum, count) => sum + count, 0) + status.counters.failed + status.inFlight + status.queueDepth;
    const status = route.status();
    expect(status.counters.received).toBe(add(status));
    expect(status.counters.dropped['queue-full']).toBeGreaterThan(0);
    expect(status.counters.failed).toBe(2);
    expect(status.counters.rejected).toEqual({ 'not-json': 1 });
  });
});
