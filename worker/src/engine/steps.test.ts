import { describe, expect, it } from 'vitest';
import { from, type RouteBuilder } from './definition.js';
import { settle, testEngine } from './testing.js';
import type { Exchange } from './types.js';

/** A started engine running the one route `builder` describes, on a fake clock, with `test:` endpoints. */
async function running(builder: RouteBuilder) {
  const harness = testEngine();
  const route = harness.engine.add(builder.build());
  await harness.engine.start();
  return { ...harness, route };
}

const body = (exchange: Exchange) => exchange.body as Record<string, unknown>;

describe('filter', () => {
  it('keeps what the predicate accepts; drops are counted by the filter name or by the reason it returns', async () => {
    const { source, producer, route } = await running(
      from('test:in')
        .filter(function even(exchange) {
          return (exchange.body as number) % 2 === 0;
        })
        .filter((exchange) => (exchange.body === 4 ? 'no-fours' : true))
        .to('test:out'),
    );
    source('in').emitAll([1, 2, 3, 4, 5, 6]);
    await settle();
    expect(producer('out').bodies()).toEqual([2, 6]);
    expect(route.status().counters).toEqual({ received: 6, completed: 2, redelivered: 0, failed: 0, deadLettered: 0, dropped: { 'filter:even': 3, 'no-fours': 1 }, rejected: {} });
  });

  it('treats anything but true as a drop', async () => {
    const { source, producer, route } = await running(from('test:in').filter((exchange) => exchange.body as boolean, 'truthy').to('test:out'));
    source('in').emitAll([true, 1, 'yes', false]);
    await settle();
    expect(producer('out').bodies()).toEqual([true]);
    expect(route.status().counters.dropped).toEqual({ 'filter:truthy': 2, yes: 1 });
  });
});

describe('transform', () => {
  it('replaces the body with what the function returns, awaited, and keeps the headers it sets', async () => {
    const { source, producer } = await running(
      from('test:in')
        .transform((exchange) => {
          exchange.headers.length = String(exchange.body).length;
          return { text: exchange.body };
        })
        .transform(async (exchange) => ({ ...body(exchange), upper: String(body(exchange).text).toUpperCase() }))
        .to('test:out'),
    );
    source('in').emit('cat', { feed: 'cats' });
    await settle();
    expect(producer('out').received.map(({ body, headers }) => ({ body, headers }))).toEqual([
      { body: { text: 'cat', upper: 'CAT' }, headers: { feed: 'cats', length: 3 } },
    ]);
  });
});

describe('steps that throw or return a promise-like', () => {
  it('fails the exchange when a predicate or transform throws, as when it rejects: it is tried again', async () => {
    let throws = 2;
    const { clock, source, producer, route } = await running(
      from('test:in')
        .filter(() => {
          if (throws-- > 0) throw new Error('not yet');
          return true;
        })
        .transform((exchange) => {
          if (exchange.body === 'bad') throw new Error('bad body');
          return exchange.body;
        })
        .to('test:out')
        .redelivery({ attempts: 3, initialDelayMs: 100, jitter: 0 })
        .concurrency(1),
    );
    // x: the filter throws twice, the third attempt goes through; bad: the transform throws on every attempt.
    source('in').emitAll(['x', 'bad']);
    await clock.advance(1000);
    expect(producer('out').bodies()).toEqual(['x']);
    expect(route.status().counters).toMatchObject({ received: 2, completed: 1, failed: 1, redelivered: 4 });
  });

  it('awaits any thenable a transform returns, not only promises', async () => {
    const { source, producer } = await running(
      from('test:in')
        .transform((exchange) => ({ then: (resolve: (value: unknown) => void) => resolve(`${String(exchange.body)}!`) }))
        .to('test:out'),
    );
    source('in').emit('cat');
    await settle();
    expect(producer('out').bodies()).toEqual(['cat!']);
  });
});

describe('split', () => {
  it('sends each part on as an exchange of its own, in order, with the headers of the whole', async () => {
    // One at a time: with more, the parts of one exchange and the next interleave at the `to`.
    const { source, producer, route } = await running(
      from('test:in')
        .split((exchange) => String(exchange.body).split(','))
        .to('test:out')
        .concurrency(1),
    );
    source('in').emit('a,b,c', { feed: 'cats' });
    source('in').emit('d');
    await settle();
    expect(producer('out').bodies()).toEqual(['a', 'b', 'c', 'd']);
    expect(producer('out').received.map((sent) => sent.headers)).toEqual(Array(4).fill({ feed: 'cats' }).fill({}, 3));
    // Completed counts what went through every step: each part.
    expect(route.status().counters).toMatchObject({ received: 2, completed: 4 });
  });

  it('sends the next part only once the one before it was sent', async () => {
    const { source, producer } = await running(from('test:in').split((exchange) => exchange.body as number[]).to('test:out').concurrency(1));
    producer('out').hold = true;
    source('in').emit([1, 2, 3]);
    await settle();
    expect(producer('out').bodies()).toEqual([1]);
    producer('out').release();
    await settle();
    expect(producer('out').bodies()).toEqual([1, 2]);
  });

  it('filters each part on its own', async () => {
    const { source, producer, route } = await running(
      from('test:in')
        .split((exchange) => exchange.body as number[])
        .filter((exchange) => (exchange.body as number) > 1, 'big')
        .to('test:out'),
    );
    source('in').emit([1, 2, 3]);
    await settle();
    expect(producer('out').bodies()).toEqual([2, 3]);
    expect(route.status().counters).toMatchObject({ completed: 2, dropped: { 'filter:big': 1 } });
  });
});

describe('choice', () => {
  const kind = (exchange: Exchange) => body(exchange).kind;

  it('sends each exchange down the first branch that matches, else otherwise, then on after the choice', async () => {
    const { source, producer } = await running(
      from('test:in')
        .choice((choice) =>
          choice
            .when((exchange) => kind(exchange) === 'cat', (branch) => branch.to('test:cats'))
            .when((exchange) => kind(exchange) !== 'dog', (branch) => branch.transform((exchange) => ({ ...body(exchange), pet: true })).to('test:pets'))
            .otherwise((branch) => branch.to('test:other')),
        )
        .to('test:all'),
    );
    source('in').emitAll([{ kind: 'cat' }, { kind: 'bird' }, { kind: 'dog' }]);
    await settle();
    expect(producer('cats').bodies()).toEqual([{ kind: 'cat' }]);
    expect(producer('pets').bodies()).toEqual([{ kind: 'bird', pet: true }]);
    expect(producer('other').bodies()).toEqual([{ kind: 'dog' }]);
    expect(producer('all').bodies()).toEqual([{ kind: 'cat' }, { kind: 'bird', pet: true }, { kind: 'dog' }]);
  });

  it('takes a predicate that returns a reason as no match, drops nothing, and without otherwise goes straight on', async () => {
    const { source, producer, route } = await running(
      from('test:in')
        .choice((choice) => choice.when((exchange) => (kind(exchange) === 'cat' ? true : 'not-a-cat'), (branch) => branch.to('test:cats')))
        .to('test:all'),
    );
    source('in').emitAll([{ kind: 'dog' }, { kind: 'cat' }]);
    await settle();
    expect(producer('cats').bodies()).toEqual([{ kind: 'cat' }]);
    expect(producer('all').bodies()).toEqual([{ kind: 'dog' }, { kind: 'cat' }]);
    expect(route.status().counters.dropped).toEqual({});
  });

  it('filters within a branch', async () => {
    const { source, producer, route } = await running(
      from('test:in')
        .choice((choice) =>
          choice.when((exchange) => kind(exchange) === 'cat', (branch) => branch.filter((exchange) => body(exchange).ok === true, 'ok').to('test:cats')),
        )
        .to('test:all'),
    );
    source('in').emitAll([{ kind: 'cat', ok: false }, { kind: 'cat', ok: true }]);
    await settle();
    expect(producer('cats').bodies()).toEqual([{ kind: 'cat', ok: true }]);
    expect(producer('all').bodies()).toEqual([{ kind: 'cat', ok: true }]);
    expect(route.status().counters.dropped).toEqual({ 'filter:ok': 1 });
  });
});

describe('idempotent', () => {
  it('drops a key seen among the last `window` keys and forgets the oldest beyond it', async () => {
    const { source, producer, route } = await running(
      from('test:in')
        .idempotent((exchange) => String(exchange.body), 2)
        .to('test:out'),
    );
    // a, b | a: seen | c: forgets a | a: new again, forgets b | c: seen | b: new again
    source('in').emitAll(['a', 'b', 'a', 'c', 'a', 'c', 'b']);
    await settle();
    expect(producer('out').bodies()).toEqual(['a', 'b', 'c', 'a', 'b']);
    expect(route.status().counters).toMatchObject({ received: 7, completed: 5, dropped: { duplicate: 2 } });
  });

  it('forgets a key whose processing failed, so its redelivery goes through; a later duplicate is dropped', async () => {
    const { clock, source, producer, route } = await running(
      from('test:in')
        .idempotent((exchange) => String(exchange.body))
        .to('test:out')
        .redelivery({ attempts: 2, initialDelayMs: 100, jitter: 0 }),
    );
    producer('out').failNext = 1;
    source('in').emit('k');
    await settle();
    await clock.advance(100);
    expect(producer('out').received.map(({ body, at }) => ({ body, at }))).toEqual([
      { body: 'k', at: 0 },
      { body: 'k', at: 100 },
    ]);
    expect(producer('out').delivered).toEqual(['k']);
    source('in').emit('k');
    await settle();
    expect(producer('out').delivered).toEqual(['k']);
    expect(route.status().counters).toMatchObject({ received: 2, completed: 1, redelivered: 1, failed: 0, dropped: { duplicate: 1 } });
  });
});

describe('throttle', () => {
  it('delay mode: spaces exchanges to `rate` per period, in order', async () => {
    const { clock, source, producer, route } = await running(from('test:in').throttle(2, 1000).to('test:out'));
    source('in').emitAll([1, 2, 3, 4, 5, 6]);
    await settle();
    expect(producer('out').bodies()).toEqual([1, 2]);
    await clock.advance(999);
    expect(producer('out').bodies()).toEqual([1, 2]);
    await clock.advance(1);
    expect(producer('out').bodies()).toEqual([1, 2, 3, 4]);
    await clock.advance(1000);
    expect(producer('out').received.map(({ body, at }) => [body, at])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1000],
      [4, 1000],
      [5, 2000],
      [6, 2000],
    ]);
    expect(route.status().counters).toMatchObject({ completed: 6, dropped: {} });
  });

  it('delay mode: the window slides, so one exchange a second later waits only for the oldest to age out', async () => {
    const { clock, source, producer } = await running(from('test:in').throttle(2, 1000).to('test:out'));
    source('in').emit(1);
    await clock.advance(600);
    source('in').emitAll([2, 3]);
    await clock.advance(1000);
    expect(producer('out').received.map(({ at }) => at)).toEqual([0, 600, 1000]);
  });

  it('drop mode: drops what goes over the rate, counted as throttled, and lets exchanges through again next period', async () => {
    const { clock, source, producer, route } = await running(from('test:in').throttle(2, 1000, 'drop').to('test:out'));
    source('in').emitAll([1, 2, 3, 4, 5]);
    await settle();
    expect(producer('out').bodies()).toEqual([1, 2]);
    await clock.advance(1000);
    source('in').emitAll([6, 7, 8]);
    await settle();
    expect(producer('out').received.map(({ body, at }) => [body, at])).toEqual([
      [1, 0],
      [2, 0],
      [6, 1000],
      [7, 1000],
    ]);
    expect(route.status().counters).toMatchObject({ received: 8, completed: 4, dropped: { throttled: 4 } });
  });
});

describe('wireTap', () => {
  it('sends a copy without waiting for the tap: a tap that never answers holds nothing up', async () => {
    const { source, producer, route } = await running(from('test:in').wireTap('test:tap', 2).to('test:out'));
    producer('tap').hold = true;
    source('in').emitAll([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    await settle();
    expect(producer('out').delivered).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    // Beyond maxInFlight copies waiting on the tap, copies are dropped.
    expect(producer('tap').bodies()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(route.status().counters).toMatchObject({ completed: 5, dropped: { 'wiretap-overflow': 3 } });

    producer('tap').release();
    await settle();
    source('in').emit({ n: 6 });
    await settle();
    expect(producer('tap').bodies()).toEqual([{ n: 1 }, { n: 2 }, { n: 6 }]);
  });

  it('taps a copy of the body, so later steps changing it in place do not change the copy', async () => {
    const { source, producer } = await running(
      from('test:in')
        .wireTap('test:tap')
        .transform((exchange) => Object.assign(body(exchange), { changed: true }))
        .to('test:out'),
    );
    source('in').emit({ n: 1 }, { feed: 'cats' });
    await settle();
    expect(producer('out').bodies()).toEqual([{ n: 1, changed: true }]);
    expect(producer('tap').received.map(({ body, headers }) => ({ body, headers }))).toEqual([{ body: { n: 1 }, headers: { feed: 'cats' } }]);
  });

  it('counts a failed copy and goes on', async () => {
    const { source, producer, route } = await running(from('test:in').wireTap('test:tap').to('test:out'));
    producer('tap').failAlways = true;
    source('in').emitAll([1, 2]);
    await settle();
    expect(producer('out').delivered).toEqual([1, 2]);
    expect(route.status().counters).toMatchObject({ completed: 2, failed: 0, dropped: { 'wiretap-failed': 2 } });
  });
});

describe('to', () => {
  it('waits for the producer before the route goes on, and reports how long the send took', async () => {
    const { clock, engine, source, producer, route } = await running(from('test:in').to('test:first').to('test:second'));
    const sent: unknown[] = [];
    engine.on('sent', (event) => sent.push(event));
    producer('first').hold = true;
    source('in').emit(1);
    await settle();
    expect(producer('first').bodies()).toEqual([1]);
    expect(producer('second').bodies()).toEqual([]);
    expect(route.status()).toMatchObject({ inFlight: 1, counters: { completed: 0 } });

    await clock.advance(30);
    producer('first').release();
    await settle();
    expect(producer('second').bodies()).toEqual([1]);
    expect(route.status()).toMatchObject({ inFlight: 0, counters: { completed: 1 } });
    expect(sent).toEqual([
      { route: route.id, uri: 'test:first', ms: 30 },
      { route: route.id, uri: 'test:second', ms: 0 },
    ]);
  });

  it('keeps the source order up to the first to, many exchanges at once', async () => {
    const { source, producer } = await running(
      from('test:in')
        .filter((exchange) => (exchange.body as number) % 3 !== 0)
        .transform(async (exchange) => (exchange.body as number) * 10)
        .to('test:out')
        .concurrency(16),
    );
    producer('out').hold = true;
    source('in').emitAll(Array.from({ length: 30 }, (_, index) => index + 1));
    await settle();
    expect(producer('out').bodies()).toEqual(
      Array.from({ length: 30 }, (_, index) => index + 1)
        .filter((n) => n % 3 !== 0)
        .slice(0, 16)
        .map((n) => n * 10),
    );
  });
});
