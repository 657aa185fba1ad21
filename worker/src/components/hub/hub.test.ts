import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { from, type RouteBuilder } from '../../engine/definition.js';
import { Engine } from '../../engine/engine.js';
import { ComponentRegistry } from '../../engine/registry.js';
import { fakeClock, settle, testEndpoints } from '../../engine/testing.js';
import type { Component, Exchange } from '../../engine/types.js';
import { mockComponent, mockEndpoint, resetMocks } from '../mock/index.js';
import { hubComponent } from './index.js';

afterEach(() => resetMocks());

/**
 * An engine on a fake clock with `hub:` (its own hubs unless given), `mock:` for the readers' producers and `test:`
 * for the source the test drives.
 */
function hubEngine(hubs: Component = hubComponent()) {
  const clock = fakeClock();
  const endpoints = testEndpoints(clock);
  const registry = new ComponentRegistry().register(hubs).register(mockComponent).register(endpoints.component);
  const engine = new Engine(registry, { baseDir: '.', clock, log: pino({ level: 'silent' }), settings: {} });
  return { clock, engine, source: endpoints.source, producer: endpoints.producer };
}

const policy = { attempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 10_000, jitter: 0 };
const numbers = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

/** The source route: what the test emits on test:in, to hub:h. */
const sender = (): RouteBuilder => from('test:in').routeId('sender').redelivery(policy);

/** Holds back every send to mock:NAME (a producer that stopped answering) until `release()`. */
function heldBack(name: string): { release(): void } {
  const waiting: (() => void)[] = [];
  mockEndpoint(name).whenAnyExchangeReceived(() => new Promise<void>((resolve) => waiting.push(resolve)));
  return {
    release: () => {
      mockEndpoint(name).whenAnyExchangeReceived(() => undefined);
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe('hub: component', () => {
  it('hands every exchange to every reader, in order', async () => {
    const { engine, source } = hubEngine();
    engine.add(from('hub:h').routeId('reader-a').to('mock:a').build());
    engine.add(from('hub:h?live=true').routeId('reader-b').to('mock:b').build());
    const sending = engine.add(sender().to('hub:h').build());
    await engine.start();

    source('in').emitAll(numbers(50));
    mockEndpoint('a').expectedCount(50);
    mockEndpoint('b').expectedCount(50);
    await mockEndpoint('a').assertIsSatisfied();
    await mockEndpoint('b').assertIsSatisfied();
    await settle();

    expect(mockEndpoint('a').bodies()).toEqual(numbers(50));
    expect(mockEndpoint('b').bodies()).toEqual(numbers(50));
    expect(sending.status().counters).toMatchObject({ received: 50, completed: 50, redelivered: 0, failed: 0 });
    expect(sending.status().endpoints).toEqual([{ uri: 'hub:h', ready: true, stats: { delivered: 50, readers: 2 } }]);
    for (const id of ['reader-a', 'reader-b']) expect(engine.route(id)?.status().counters).toMatchObject({ received: 50, completed: 50, dropped: {} });
    await engine.stop(1000);
  });

  it('lets one route read several hubs: every exchange of each, once, in the order they arrive', async () => {
    const { engine, source } = hubEngine();
    engine.add(from('hub:x,bluesky,mastodon?live=true').routeId('wall').to('mock:wall').build());
    engine.add(from('hub:bluesky').routeId('sky-only').to('mock:sky').build());
    for (const network of ['x', 'bluesky', 'mastodon']) engine.add(from(`test:${network}`).routeId(`source:${network}`).to(`hub:${network}`).build());
    await engine.start();

    const arrivals = ['x:1', 'bluesky:1', 'bluesky:2', 'mastodon:1', 'x:2', 'mastodon:2', 'bluesky:3', 'x:3'];
    for (const post of arrivals) {
      source(post.split(':')[0] as string).emit(post);
      mockEndpoint('wall').expectedCount(arrivals.indexOf(post) + 1);
      await mockEndpoint('wall').assertIsSatisfied();
    }
    await settle();
    expect(mockEndpoint('wall').bodies()).toEqual(arrivals);
    // Another reader of one of the hubs still gets that hub's exchanges.
    expect(mockEndpoint('sky').bodies()).toEqual(['bluesky:1', 'bluesky:2', 'bluesky:3']);
    expect(engine.route('wall')?.status().counters).toMatchObject({ received: 8, completed: 8 });
    await engine.stop(1000);
  });

  it('refuses a sender that names several hubs, and an empty hub name', () => {
    const { engine } = hubEngine();
    expect(() => engine.add(sender().to('hub:x,bluesky').build())).toThrow('hub: a route sends to one hub, not "x,bluesky"');
    expect(() => engine.add(from('hub:x,,bluesky').routeId('reader').to('mock:a').build())).toThrow('hub: "x,,bluesky" names an empty hub; write hub:x or hub:x,bluesky');
  });

  it('gives each reader the sender\'s headers as its own copy', async () => {
    const { engine, source } = hubEngine();
    const readerA = engine.add(from('hub:h').routeId('reader-a').to('mock:a').build());
    engine.add(
      from('hub:h')
        .routeId('reader-b')
        .transform((exchange: Exchange) => {
          exchange.headers.seenBy = 'b';
          return exchange.body;
        })
        .to('mock:b')
        .build(),
    );
    engine.add(
      sender()
        .transform((exchange: Exchange) => {
          exchange.headers.network = 'x';
          return exchange.body;
        })
        .to('hub:h')
        // What the sender does to its headers after the hub is not what a reader that has yet to take them sees.
        .transform((exchange: Exchange) => {
          exchange.headers.network = 'changed-after-the-hub';
          exchange.headers.after = true;
          return exchange.body;
        })
        .to('mock:sent')
        .build(),
    );
    await engine.start();
    readerA.suspend();

    source('in').emit('post', { pass: 1 });
    mockEndpoint('b').expectedCount(1);
    mockEndpoint('sent').expectedCount(1);
    await mockEndpoint('b').assertIsSatisfied();
    await mockEndpoint('sent').assertIsSatisfied();
    expect(mockEndpoint('a').received).toEqual([]);
    readerA.resume();
    mockEndpoint('a').expectedCount(1);
    await mockEndpoint('a').assertIsSatisfied();

    expect(mockEndpoint('a').received.map((exchange) => exchange.headers)).toEqual([{ pass: 1, network: 'x' }]);
    expect(mockEndpoint('b').received.map((exchange) => exchange.headers)).toEqual([{ pass: 1, network: 'x', seenBy: 'b' }]);
    expect(mockEndpoint('sent').received.map((exchange) => exchange.headers)).toEqual([{ pass: 1, network: 'changed-after-the-hub', after: true }]);
    await engine.stop(1000);
  });

  it('rejects a send no route reads, so that the sender redelivers and counts the failure', async () => {
    const { clock, engine, source } = hubEngine();
    const sending = engine.add(sender().to('hub:h').build());
    await engine.start();

    source('in').emit('nobody listens');
    await clock.advance(300);
    expect(sending.status()).toMatchObject({
      counters: { received: 1, completed: 0, redelivered: 2, failed: 1 },
      lastError: { message: 'no route reads from hub:h' },
      endpoints: [{ uri: 'hub:h', ready: true, stats: { delivered: 0, readers: 0 } }],
    });

    // A reader that comes before the redelivery (a reload replacing the feed route) gets the exchange.
    source('in').emit('a reader comes');
    await settle();
    expect(sending.status().counters).toMatchObject({ received: 2, redelivered: 3 });
    const reader = engine.add(from('hub:h').routeId('reader').to('mock:late').build());
    await reader.start();
    await clock.advance(100);
    expect(mockEndpoint('late').bodies()).toEqual(['a reader comes']);
    expect(sending.status().counters).toMatchObject({ received: 2, completed: 1, redelivered: 3, failed: 1 });
    await engine.stop(1000);
  });

  it('lets a live reader that falls behind drop from its own queue, without holding up the sender or the other reader', async () => {
    const { engine, source } = hubEngine();
    const slow = engine.add(from('hub:h?live=true').routeId('slow').queue(1).concurrency(1).to('mock:slow').build());
    const fast = engine.add(from('hub:h?live=true').routeId('fast').to('mock:fast').build());
    const sending = engine.add(sender().queue(1).concurrency(1).to('hub:h').build());
    await engine.start();
    const stuck = heldBack('slow');

    source('in').emitAll(numbers(10));
    mockEndpoint('fast').expectedCount(10);
    await mockEndpoint('fast').assertIsSatisfied();
    await settle();

    expect(mockEndpoint('fast').bodies()).toEqual(numbers(10));
    expect(source('in').waiting).toBe(false);
    expect(sending.status().counters).toMatchObject({ received: 10, completed: 10, failed: 0 });
    // 1 is being sent, the queue of one keeps the newest: 2 to 9 were dropped.
    expect(slow.status()).toMatchObject({ inFlight: 1, queueDepth: 1, counters: { received: 10, dropped: { 'queue-full': 8 } } });
    expect(fast.status().counters).toMatchObject({ received: 10, completed: 10, dropped: {} });

    stuck.release();
    mockEndpoint('slow').expectedCount(2);
    await mockEndpoint('slow').assertIsSatisfied();
    expect(mockEndpoint('slow').bodies()).toEqual([1, 10]);
    await engine.stop(1000);
  });

  it('lets a reader that is not live hold the sender back, and with it the other readers, losing nothing', async () => {
    const { engine, source } = hubEngine();
    const slow = engine.add(from('hub:h').routeId('slow').queue(1).concurrency(1).to('mock:slow').build());
    engine.add(from('hub:h').routeId('fast').to('mock:fast').build());
    const sending = engine.add(sender().queue(1).concurrency(1).to('hub:h').build());
    await engine.start();
    const stuck = heldBack('slow');

    source('in').emitAll(numbers(10));
    await settle();
    // slow: 1 in flight, 2 queued, the offer of 3 waits for room; so the send of 3 waits, 4 waits in the sender's
    // queue and the source's offer of 5 waits too. The fast reader has had 1 to 3, no further.
    expect(slow.status()).toMatchObject({ inFlight: 1, queueDepth: 1, counters: { received: 2, dropped: {} } });
    expect(source('in').waiting).toBe(true);
    expect(source('in').accepted).toBe(4);
    expect(mockEndpoint('fast').bodies()).toEqual([1, 2, 3]);
    expect(sending.status().counters).toMatchObject({ received: 4, completed: 2 });

    stuck.release();
    mockEndpoint('slow').expectedCount(10);
    mockEndpoint('fast').expectedCount(10);
    await mockEndpoint('slow').assertIsSatisfied();
    await mockEndpoint('fast').assertIsSatisfied();
    await settle();
    expect(mockEndpoint('slow').bodies()).toEqual(numbers(10));
    expect(mockEndpoint('fast').bodies()).toEqual(numbers(10));
    expect(slow.status().counters).toMatchObject({ received: 10, completed: 10, dropped: {} });
    expect(sending.status().counters).toMatchObject({ received: 10, completed: 10, failed: 0 });
    await engine.stop(1000);
  });

  it('with one reader, hands over at once while it has room, waits when it has none, and settles each message once the reader is done', async () => {
    const { engine, source } = hubEngine();
    const reader = engine.add(from('hub:h').routeId('reader').queue(2).concurrency(1).to('mock:r').build());
    const sending = engine.add(sender().queue(1).concurrency(1).to('hub:h').build());
    await engine.start();
    const stuck = heldBack('r');

    source('in').emitAll(numbers(10));
    await settle();
    // The reader: 1 in flight, 2 and 3 queued; the sender's send of 4 waits for room, 5 waits in its queue.
    expect(reader.status()).toMatchObject({ inFlight: 1, queueDepth: 2, counters: { received: 3 } });
    expect(sending.status().counters).toMatchObject({ received: 5, completed: 3 });
    expect(source('in').waiting).toBe(true);
    expect(source('in').settled).toEqual([]);

    stuck.release();
    mockEndpoint('r').expectedCount(10);
    await mockEndpoint('r').assertIsSatisfied();
    await settle();
    expect(mockEndpoint('r').bodies()).toEqual(numbers(10));
    expect(source('in').settled).toEqual(numbers(10));
    expect(reader.status().counters).toMatchObject({ received: 10, completed: 10, dropped: {} });
    expect(sending.status().counters).toMatchObject({ received: 10, completed: 10, failed: 0 });
    expect(sending.status().endpoints).toEqual([{ uri: 'hub:h', ready: true, stats: { delivered: 10, readers: 1 } }]);
    await engine.stop(1000);
  });

  it('keeps the hubs of one component instance to itself: two workers in one process never share', async () => {
    const one = hubEngine();
    const two = hubEngine();
    one.engine.add(from('hub:h').routeId('reader').to('mock:one').build());
    const oneSender = one.engine.add(sender().to('hub:h').build());
    const twoSender = two.engine.add(sender().to('hub:h').build());
    await one.engine.start();
    await two.engine.start();

    one.source('in').emit('for one');
    two.source('in').emit('for two');
    await two.clock.advance(300);
    await one.clock.advance(300);

    expect(mockEndpoint('one').bodies()).toEqual(['for one']);
    expect(oneSender.status().counters).toMatchObject({ completed: 1, failed: 0 });
    expect(twoSender.status()).toMatchObject({ counters: { completed: 0, failed: 1 }, lastError: { message: 'no route reads from hub:h' } });
    await one.engine.stop(1000);
    await two.engine.stop(1000);
  });

  it('shares hubs between the engines of one component instance', async () => {
    const hubs = hubComponent();
    const one = hubEngine(hubs);
    const two = hubEngine(hubs);
    one.engine.add(from('hub:h').routeId('reader').to('mock:one').build());
    two.engine.add(sender().to('hub:h').build());
    await one.engine.start();
    await two.engine.start();

    two.source('in').emit('across');
    mockEndpoint('one').expectedCount(1);
    await mockEndpoint('one').assertIsSatisfied();
    expect(mockEndpoint('one').bodies()).toEqual(['across']);
    await two.engine.stop(1000);
    await one.engine.stop(1000);
  });
});

describe('hub: settlement', () => {
  it('tells the source a message was dealt with only once every reader has dealt with it', async () => {
    const { engine, source } = hubEngine();
    const slow = heldBack('slow');
    engine.add(from('hub:h').routeId('reader-fast').to('mock:fast').build());
    engine.add(from('hub:h').routeId('reader-slow').to('mock:slow').build());
    engine.add(sender().to('hub:h').build());
    await engine.start();
    source('in').emitAll([1, 2]);
    await settle();
    // The sender is done with both and the fast reader sent both; the slow one still holds them.
    expect(mockEndpoint('fast').bodies()).toEqual([1, 2]);
    expect(source('in').settled).toEqual([]);
    slow.release();
    await settle();
    expect(source('in').settled).toEqual([1, 2]);
  });
});
