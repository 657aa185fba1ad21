import { afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../engine/types.js';
import { endpointContext, fakeClock, recordingSink, settle, type FakeClock } from '../testing.js';
import { mockComponent, mockEndpoint, resetMocks } from './index.js';

afterEach(() => resetMocks());

function producer(uri: string, clock: FakeClock = fakeClock()) {
  return mockComponent.createProducer!(endpointContext(mockComponent, uri, { clock }));
}

function consumer(uri: string) {
  return mockComponent.createConsumer!(endpointContext(mockComponent, uri));
}

let exchanges = 0;
const exchange = (body: unknown, headers: Record<string, unknown> = {}): Exchange => ({ id: `ex-${++exchanges}`, body, headers });

describe('mock: producer', () => {
  it('records what arrives, in order, as copies the route can no longer change', async () => {
    const out = producer('mock:out');
    await out.start();
    const first = exchange({ n: 1 }, { feed: 'cats' });
    await out.send(first);
    await out.send(exchange({ n: 2 }));
    first.headers.feed = 'dogs';
    const endpoint = mockEndpoint('out');
    expect(endpoint.bodies()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(endpoint.received[0]).toEqual({ id: first.id, body: { n: 1 }, headers: { feed: 'cats' } });
    expect(endpoint.attempts).toBe(2);
    expect(out.ready()).toBe(true);
    expect(await out.stop(1000)).toBe(0);
  });

  it('satisfies an expectation once enough have arrived, including ones still to come', async () => {
    const out = producer('mock:out');
    const endpoint = mockEndpoint('out');
    endpoint.expectedCount(3);
    const satisfied = endpoint.assertIsSatisfied(1000);
    for (const n of [1, 2, 3]) await out.send(exchange({ n }));
    await satisfied;
    await endpoint.assertIsSatisfied(0);
  });

  it('fails an expectation after the timeout, saying how many arrived and what', async () => {
    await producer('mock:out').send(exchange({ n: 1 }));
    const endpoint = mockEndpoint('out');
    endpoint.expectedCount(3);
    await expect(endpoint.assertIsSatisfied(20)).rejects.toThrow('mock:out expected at least 3 exchanges within 20 ms, but 1 arrived: {"n":1}');
    mockEndpoint('empty').expectedCount(1);
    await expect(mockEndpoint('empty').assertIsSatisfied(20)).rejects.toThrow(/^mock:empty expected at least 1 exchanges within 20 ms, but 0 arrived$/);
  });

  it('rejects the first failFirst sends with "mock failure", then receives', async () => {
    const out = producer('mock:out?failFirst=2');
    await expect(out.send(exchange(1))).rejects.toThrow(/^mock failure$/);
    await expect(out.send(exchange(2))).rejects.toThrow('mock failure');
    await out.send(exchange(3));
    expect(mockEndpoint('out').bodies()).toEqual([3]);
    expect(mockEndpoint('out').attempts).toBe(3);
  });

  it('makes each send wait the delay on the route clock', async () => {
    const clock = fakeClock();
    const out = producer('mock:out?delay=2s', clock);
    let done = false;
    const sending = out.send(exchange(1)).then(() => (done = true));
    await clock.whenSleeping();
    expect(clock.requested).toEqual([2000]);
    await clock.advance(1999);
    expect(done).toBe(false);
    expect(mockEndpoint('out').received).toHaveLength(0);
    await clock.advance(1);
    await sending;
    expect(mockEndpoint('out').bodies()).toEqual([1]);
  });

  it('answers ready() as the URI says', () => {
    expect(producer('mock:down?ready=false').ready()).toBe(false);
  });

  it('lets a hook fail a send (not received) or slow it down', async () => {
    const out = producer('mock:out');
    const endpoint = mockEndpoint('out');
    endpoint.whenAnyExchangeReceived((arriving) => {
      if (arriving.body === 'bad') throw new Error('refused by the far end');
    });
    await expect(out.send(exchange('bad'))).rejects.toThrow('refused by the far end');
    await out.send(exchange('good'));
    expect(endpoint.bodies()).toEqual(['good']);

    let release: () => void = () => {};
    endpoint.whenAnyExchangeReceived(() => new Promise<void>((resolve) => (release = resolve)));
    let done = false;
    const slow = out.send(exchange('slow')).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    release();
    await slow;
    expect(endpoint.bodies()).toEqual(['good', 'slow']);
  });

  it('waits on stop for sends under way, up to the timeout, and counts those left', async () => {
    const clock = fakeClock();
    const out = producer('mock:out?delay=10s', clock);
    void out.send(exchange(1));
    await clock.whenSleeping();
    const stopping = out.stop(1000);
    await clock.whenSleeping(2);
    await clock.advance(1000);
    expect(await stopping).toBe(1);
    await clock.advance(9000);
    expect(await out.stop(1000)).toBe(0);
  });

  it('stops waiting as soon as the last send is done', async () => {
    const clock = fakeClock();
    const out = producer('mock:out?delay=1s', clock);
    const sending = out.send(exchange(1));
    await clock.whenSleeping();
    const stopping = out.stop(60_000);
    await clock.advance(1000);
    await sending;
    expect(await stopping).toBe(0);
  });

  it('forgets everything on reset() and resetMocks()', async () => {
    const out = producer('mock:out');
    const endpoint = mockEndpoint('out');
    endpoint.whenAnyExchangeReceived(() => {
      throw new Error('no');
    });
    endpoint.expectedCount(5);
    endpoint.reset();
    await out.send(exchange(1));
    expect(endpoint.bodies()).toEqual([1]);
    await endpoint.assertIsSatisfied(0);
    resetMocks();
    expect(mockEndpoint('out')).not.toBe(endpoint);
    expect(mockEndpoint('out').received).toEqual([]);
    await out.send(exchange(2));
    expect(mockEndpoint('out').bodies()).toEqual([2]);
  });
});

describe('mock: consumer', () => {
  it('offers what the test emits, in order, including emits made before it ran, until end()', async () => {
    const source = consumer('mock:in');
    expect(source.live).toBe(false);
    const endpoint = mockEndpoint('in');
    const early = endpoint.emit({ n: 1 }, { feed: 'cats' });
    const sink = recordingSink();
    const running = source.run(sink, new AbortController().signal);
    await early;
    await endpoint.emit({ n: 2 });
    endpoint.end();
    await running;
    expect(sink.offers).toEqual([
      { body: { n: 1 }, headers: { feed: 'cats' } },
      { body: { n: 2 }, headers: undefined },
    ]);
    await expect(endpoint.emit({ n: 3 })).rejects.toThrow('mock:in has ended: nothing more can be emitted');
  });

  it('as a pausable source, offers the next emit only once the route took the previous one', async () => {
    const endpoint = mockEndpoint('in');
    const sink = recordingSink({ gated: true });
    const running = consumer('mock:in').run(sink, new AbortController().signal);
    const first = endpoint.emit(1);
    const second = endpoint.emit(2);
    await sink.offered(1);
    await settle();
    expect(sink.offers).toHaveLength(1);
    sink.release();
    await first;
    await sink.offered(2);
    sink.release();
    await second;
    endpoint.end();
    await running;
  });

  it('with live=true, is live and offers every emit at once', async () => {
    const source = consumer('mock:in?live=true');
    expect(source.live).toBe(true);
    const sink = recordingSink({ gated: true });
    const running = source.run(sink, new AbortController().signal);
    void mockEndpoint('in').emit(1);
    void mockEndpoint('in').emit(2);
    await sink.offered(2);
    expect(sink.waiting).toBe(2);
    mockEndpoint('in').end();
    await running;
  });

  it('ends its run when the signal aborts, and serves again on the next run', async () => {
    const source = consumer('mock:in');
    const controller = new AbortController();
    const first = source.run(recordingSink(), controller.signal);
    controller.abort();
    await first;
    const sink = recordingSink();
    const second = source.run(sink, new AbortController().signal);
    await mockEndpoint('in').emit('again');
    mockEndpoint('in').end();
    await second;
    expect(sink.offers.map((offer) => offer.body)).toEqual(['again']);
  });

  it('makes the run throw on fail(error), as a failed source', async () => {
    const running = consumer('mock:in').run(recordingSink(), new AbortController().signal);
    mockEndpoint('in').fail(new Error('stream broke'));
    await expect(running).rejects.toThrow('stream broke');
  });
});

describe('mock: options', () => {
  it('refuses unknown options and bad values as the engine reports them', () => {
    expect(() => endpointContext(mockComponent, 'mock:x?fail=1')).toThrow('unknown option "fail" for mock:; it takes failFirst, delay, ready, live');
    expect(() => endpointContext(mockComponent, 'mock:x?failFirst=-1')).toThrow('option failFirst must be at least 0');
    expect(() => endpointContext(mockComponent, 'mock:x?delay=soon')).toThrow('option delay must be a duration such as 500ms or 10s, not "soon"');
    expect(() => endpointContext(mockComponent, 'mock:')).toThrow('mock: needs a path');
  });
});
