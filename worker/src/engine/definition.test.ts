import { describe, expect, it } from 'vitest';
import { DEFAULT_REDELIVERY, from, redeliveryDelay, type RedeliveryPolicy, type RouteDefinition } from './definition.js';
import type { Exchange } from './types.js';

function hasPictures(exchange: Exchange): boolean {
  return exchange.headers.pictures === true;
}
function toFeedItem(exchange: Exchange): unknown {
  return { item: exchange.body };
}
function pictures(exchange: Exchange): unknown[] {
  return exchange.body as unknown[];
}
function postId(exchange: Exchange): string {
  return String(exchange.body);
}
function isCat(exchange: Exchange): boolean {
  return exchange.headers.kind === 'cat';
}

describe('the route builder', () => {
  it('records every step, in order, as data', () => {
    const definition = from('replay:x.ndjson?pace=5/s')
      .routeId('cats')
      .filter(hasPictures)
      .transform(toFeedItem)
      .split(pictures)
      .choice((choice) => choice.when(isCat, (branch) => branch.to('log:cats')).otherwise((branch) => branch.filter(hasPictures, 'other').to('log:other')))
      .idempotent(postId, 500)
      .throttle(5, 2000, 'drop')
      .wireTap('log:tap', 10)
      .to('amqp:/topic/feed.cats')
      .deadLetter('log:dead')
      .redelivery({ attempts: 5, initialDelayMs: 100 })
      .queue(50, 'drop-newest')
      .concurrency(8)
      .build();

    expect(definition).toEqual({
      id: 'cats',
      from: 'replay:x.ndjson?pace=5/s',
      steps: [
        { kind: 'filter', name: 'hasPictures', predicate: hasPictures },
        { kind: 'transform', name: 'toFeedItem', fn: toFeedItem },
        { kind: 'split', name: 'pictures', fn: pictures },
        {
          kind: 'choice',
          when: [{ name: 'isCat', predicate: isCat, steps: [{ kind: 'to', uri: 'log:cats' }] }],
          otherwise: [
            { kind: 'filter', name: 'other', predicate: hasPictures },
            { kind: 'to', uri: 'log:other' },
          ],
        },
        { kind: 'idempotent', name: 'postId', key: postId, window: 500 },
        { kind: 'throttle', rate: 5, period: 2000, mode: 'drop' },
        { kind: 'wireTap', uri: 'log:tap', maxInFlight: 10 },
        { kind: 'to', uri: 'amqp:/topic/feed.cats' },
      ],
      queue: { capacity: 50, dropPolicy: 'drop-newest' },
      concurrency: 8,
      redelivery: { ...DEFAULT_REDELIVERY, attempts: 5, initialDelayMs: 100 },
      deadLetter: 'log:dead',
    } satisfies RouteDefinition);
  });

  it('has defaults: id from the URI, queue 1000 drop-oldest, concurrency 256, default redelivery, no dead letter', () => {
    expect(from('log:x').build()).toEqual({
      id: 'log:x',
      from: 'log:x',
      steps: [],
      queue: { capacity: 1000, dropPolicy: 'drop-oldest' },
      concurrency: 256,
      redelivery: { attempts: 3, initialDelayMs: 200, maxDelayMs: 10_000, multiplier: 2, jitter: 0.5 },
    } satisfies RouteDefinition);
  });

  it('names anonymous steps by kind, choice branches by position, and defaults each step option', () => {
    const definition = from('a:b')
      .filter(() => true)
      .transform(() => 1)
      .split(() => [])
      .idempotent(() => 'k')
      .throttle(3)
      .wireTap('log:tap')
      .choice((choice) => choice.when(() => true, (branch) => branch).when(() => false, (branch) => branch))
      .queue(5)
      .build();
    expect(definition.steps.map((step) => ('name' in step ? step.name : step.kind))).toEqual(['filter', 'transform', 'split', 'idempotent', 'throttle', 'wireTap', 'choice']);
    expect(definition.steps[3]).toMatchObject({ window: 10_000 });
    expect(definition.steps[4]).toEqual({ kind: 'throttle', rate: 3, period: 1000, mode: 'delay' });
    expect(definition.steps[5]).toEqual({ kind: 'wireTap', uri: 'log:tap', maxInFlight: 1000 });
    const choice = definition.steps[6];
    expect(choice?.kind === 'choice' && choice.when.map((branch) => branch.name)).toEqual(['when-1', 'when-2']);
    expect(choice?.kind === 'choice' && choice.otherwise).toEqual([]);
    expect(definition.queue).toEqual({ capacity: 5, dropPolicy: 'drop-oldest' });
  });

  it('merges redelivery settings over what was set before', () => {
    expect(from('a:b').redelivery({ attempts: 1 }).redelivery({ jitter: 0 }).build().redelivery).toEqual({ ...DEFAULT_REDELIVERY, attempts: 1, jitter: 0 });
    expect(DEFAULT_REDELIVERY.attempts).toBe(3);
  });

  it('builds the same definition twice and keeps steps added later out of the first', () => {
    const builder = from('a:b').to('log:one');
    const first = builder.build();
    builder.to('log:two');
    expect(first.steps).toEqual([{ kind: 'to', uri: 'log:one' }]);
    expect(builder.build().steps).toHaveLength(2);
  });
});

describe('redeliveryDelay', () => {
  const policy: RedeliveryPolicy = { attempts: 10, initialDelayMs: 200, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 };

  it('grows exponentially from the initial delay up to the cap, without jitter when random gives 0', () => {
    expect([1, 2, 3, 4, 5, 9].map((attempt) => redeliveryDelay(policy, attempt, () => 0))).toEqual([200, 400, 800, 1000, 1000, 1000]);
  });

  it('takes off at most the jitter fraction when random gives 1', () => {
    expect([1, 2, 3, 4].map((attempt) => redeliveryDelay(policy, attempt, () => 1))).toEqual([100, 200, 400, 500]);
  });

  it('stays within [delay × (1 − jitter), delay] for any random value', () => {
    for (let i = 0; i <= 10; i++) {
      const delay = redeliveryDelay(policy, 3, () => i / 10);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it('is the plain exponential with no jitter', () => {
    expect(redeliveryDelay({ ...policy, jitter: 0 }, 2, Math.random)).toBe(400);
  });

  it('honours another multiplier', () => {
    expect([1, 2, 3].map((attempt) => redeliveryDelay({ ...policy, multiplier: 3, maxDelayMs: 10_000 }, attempt, () => 0))).toEqual([200, 600, 1800]);
  });
});
