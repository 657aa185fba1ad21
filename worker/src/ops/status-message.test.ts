import { describe, expect, it } from 'vitest';
import { fakeClock, settle, testLogger } from '../components/testing.js';
import type { RouteState, RouteStatus } from '../engine/route.js';
import { RateTracker, startStatusPublisher, statusBuilder, statusMessage } from './status-message.js';

function route(id: string, completed: number, state: RouteState = 'started'): RouteStatus {
  return {
    id,
    state,
    from: 'idle:',
    to: ['log:items'],
    counters: { received: completed, completed, redelivered: 0, failed: 0, deadLettered: 0, dropped: {}, rejected: {} },
    inFlight: 0,
    queueDepth: 0,
    queueCapacity: 1000,
    endpoints: [{ uri: 'log:items', ready: true }],
  };
}

const SECOND = 1000;

describe('RateTracker', () => {
  it('reports 0 and no last item until a second snapshot shows growth', () => {
    const tracker = new RateTracker();
    expect(tracker.observe(0, [route('feed:cats', 40)])).toEqual([{ route: 'feed:cats', state: 'started', itemsPerMinute: 0 }]);
    expect(tracker.observe(10 * SECOND, [route('feed:cats', 40)])).toEqual([{ route: 'feed:cats', state: 'started', itemsPerMinute: 0 }]);
    expect(tracker.observe(20 * SECOND, [route('feed:cats', 45)])).toEqual([{ route: 'feed:cats', state: 'started', itemsPerMinute: 15, lastItemAt: 20 * SECOND }]);
  });

  it('measures over the last minute once it has seen one', () => {
    const tracker = new RateTracker({ windowMs: 60 * SECOND });
    // 10 items every 10 s for a minute and a half, then 40 in the next 10 s.
    let rate = tracker.observe(0, [route('r', 0)]);
    for (let tick = 1; tick <= 9; tick++) rate = tracker.observe(tick * 10 * SECOND, [route('r', tick * 10)]);
    expect(rate[0]?.itemsPerMinute).toBe(60);
    rate = tracker.observe(100 * SECOND, [route('r', 130)]);
    // The last minute: 5 ticks of 10 and one of 40.
    expect(rate[0]?.itemsPerMinute).toBe(90);
  });

  it('falls to 0 a window after the items stop, and keeps when the last one was seen', () => {
    const tracker = new RateTracker({ windowMs: 30 * SECOND });
    tracker.observe(0, [route('r', 0)]);
    tracker.observe(10 * SECOND, [route('r', 5)]);
    let rate = tracker.observe(20 * SECOND, [route('r', 5)]);
    expect(rate[0]).toEqual({ route: 'r', state: 'started', itemsPerMinute: 15, lastItemAt: 10 * SECOND });
    tracker.observe(30 * SECOND, [route('r', 5)]);
    rate = tracker.observe(40 * SECOND, [route('r', 5, 'suspended')]);
    expect(rate[0]).toEqual({ route: 'r', state: 'suspended', itemsPerMinute: 0, lastItemAt: 10 * SECOND });
  });

  it('reads a counter that went down as a route replaced by a reload, counting from 0 again', () => {
    const tracker = new RateTracker();
    tracker.observe(0, [route('r', 100)]);
    tracker.observe(30 * SECOND, [route('r', 130)]);
    const rate = tracker.observe(60 * SECOND, [route('r', 6)]);
    expect(rate[0]).toMatchObject({ itemsPerMinute: 36, lastItemAt: 60 * SECOND });
  });

  it('forgets a route that left the snapshot, so that one coming back does not show a burst', () => {
    const tracker = new RateTracker();
    tracker.observe(0, [route('a', 0), route('b', 0)]);
    tracker.observe(10 * SECOND, [route('a', 10)]);
    expect(tracker.observe(20 * SECOND, [route('a', 20), route('b', 500)])).toEqual([
      { route: 'a', state: 'started', itemsPerMinute: 60, lastItemAt: 20 * SECOND },
      { route: 'b', state: 'started', itemsPerMinute: 0 },
    ]);
  });
});

describe('statusMessage', () => {
  const feedOf = (routeId: string): string | undefined => (routeId.startsWith('feed:') ? routeId.slice('feed:'.length) : undefined);

  it('lists the routes that carry a feed, with the worker’s identity and the time', () => {
    const message = statusMessage({ version: '1.2.3', host: 'worker-1', region: 'eu-west' }, Date.parse('2025-01-01T12:00:00Z'), [
      { route: 'feed:cats', state: 'started', itemsPerMinute: 12.5, lastItemAt: Date.parse('2025-01-01T11:59:50Z') },
      { route: 'housekeeping', state: 'started', itemsPerMinute: 3 },
      { route: 'feed:dogs', state: 'starting', itemsPerMinute: 0 },
    ], feedOf);
    expect(message).toEqual({
      v: 1,
      kind: 'worker-status',
      host: 'worker-1',
      region: 'eu-west',
      version: '1.2.3',
      at: '2025-01-01T12:00:00.000Z',
      feeds: [
        { feed: 'cats', route: 'feed:cats', state: 'started', itemsPerMinute: 12.5, lastItemAt: '2025-01-01T11:59:50.000Z' },
        { feed: 'dogs', route: 'feed:dogs', state: 'starting', itemsPerMinute: 0 },
      ],
    });
  });

  it('with ownership: lists only the feeds served here, and says who owns every feed and where it runs', () => {
    const me = { id: 'worker-1:10:abc', host: 'worker-1', pid: 10, region: 'eu-west' };
    const other = { id: 'laptop:20:def', host: 'laptop', pid: 20, region: 'home' };
    const message = statusMessage({ version: '1.2.3', host: 'worker-1', region: 'eu-west' }, 0, [
      { route: 'feed:cats', state: 'started', itemsPerMinute: 12 },
      { route: 'feed:dogs', state: 'stopped', itemsPerMinute: 0 },
    ], feedOf, {
      instance: me,
      feeds: [
        { feed: 'cats', role: 'owner', owner: me, epoch: 3, since: '1970-01-01T00:00:00.000Z' },
        { feed: 'dogs', role: 'standby', owner: other, epoch: 5, since: '1970-01-01T00:00:00.000Z' },
      ],
    });
    expect(message.feeds).toEqual([{ feed: 'cats', route: 'feed:cats', state: 'started', itemsPerMinute: 12 }]);
    expect(message.instance).toBe('worker-1:10:abc');
    expect(message.ownership).toEqual([
      { feed: 'cats', role: 'owner', owner: me, epoch: 3, since: '1970-01-01T00:00:00.000Z' },
      { feed: 'dogs', role: 'standby', owner: other, epoch: 5, since: '1970-01-01T00:00:00.000Z' },
    ]);
  });

  it('leaves the region out when the worker has none', () => {
    expect(statusMessage({ version: '1.2.3', host: 'worker-1' }, 0, [], feedOf)).not.toHaveProperty('region');
  });

  it('is built from the engine on each call, with rates since the calls before', () => {
    const clock = { now: () => Date.parse('2025-01-01T12:00:00Z'), sleep: async () => undefined };
    let routes = [route('feed:cats', 10), route('replay-check', 3)];
    const build = statusBuilder({ status: () => routes }, { version: '1.2.3', host: 'worker-1' }, feedOf, clock);
    expect(build().feeds).toEqual([{ feed: 'cats', route: 'feed:cats', state: 'started', itemsPerMinute: 0 }]);

    const later = Date.parse('2025-01-01T12:00:30Z');
    clock.now = () => later;
    routes = [route('feed:cats', 25), route('replay-check', 3)];
    expect(build()).toEqual({
      v: 1,
      kind: 'worker-status',
      host: 'worker-1',
      version: '1.2.3',
      at: '2025-01-01T12:00:30.000Z',
      feeds: [{ feed: 'cats', route: 'feed:cats', state: 'started', itemsPerMinute: 30, lastItemAt: '2025-01-01T12:00:30.000Z' }],
    });
  });
});

describe('startStatusPublisher', () => {
  it('publishes at once and then every interval', async () => {
    const clock = fakeClock(0);
    const sentAt: number[] = [];
    const publisher = startStatusPublisher({ intervalMs: 1000, clock, log: testLogger(), build: () => clock.now(), send: async (at) => void sentAt.push(at) });
    await settle();
    expect(sentAt).toEqual([0]);
    await clock.advance(999);
    expect(sentAt).toEqual([0]);
    await clock.advance(1);
    expect(sentAt).toEqual([0, 1000]);
    await clock.advance(3000);
    expect(sentAt).toEqual([0, 1000, 2000, 3000, 4000]);

    await publisher.stop();
    await clock.advance(5000);
    expect(sentAt).toHaveLength(5);
  });

  it('never overlaps sends: a slow one moves the next to the first tick after it', async () => {
    const clock = fakeClock(0);
    const sentAt: number[] = [];
    let inFlight = 0;
    let finishSend = (): void => undefined;
    const publisher = startStatusPublisher({
      intervalMs: 1000,
      clock,
      log: testLogger(),
      build: () => clock.now(),
      send: (at) => {
        sentAt.push(at);
        inFlight += 1;
        expect(inFlight).toBe(1);
        return new Promise<void>((resolve) => (finishSend = resolve)).then(() => void (inFlight -= 1));
      },
    });
    await settle();
    await clock.advance(2500);
    expect(sentAt).toEqual([0]);

    finishSend();
    await settle();
    await clock.advance(499);
    expect(sentAt).toEqual([0]);
    await clock.advance(1);
    expect(sentAt).toEqual([0, 3000]);

    // stop waits for the send in progress.
    let stopped = false;
    const stopping = publisher.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    finishSend();
    await stopping;
    expect(sentAt).toEqual([0, 3000]);
  });

  it('logs a failing send once per streak of failures, and once when it works again', async () => {
    const clock = fakeClock(0);
    const log = testLogger();
    const outcomes = ['fail', 'fail', 'fail', 'ok', 'ok', 'fail', 'fail'];
    let attempts = 0;
    const publisher = startStatusPublisher({
      intervalMs: 1000,
      clock,
      log,
      build: () => ({ v: 1 }),
      send: async () => {
        if (outcomes[attempts++] === 'fail') throw new Error('link down');
      },
    });
    await settle();
    await clock.advance(6000);
    await publisher.stop();
    expect(attempts).toBe(7);
    expect(log.lines.map((line) => [line.level, line.fields])).toEqual([
      ['warn', { err: 'link down' }],
      ['info', { failures: 3, failingForMs: 3000 }],
      ['warn', { err: 'link down' }],
    ]);
  });

  it('counts a message that cannot be built as a failed publish and keeps going', async () => {
    const clock = fakeClock(0);
    const log = testLogger();
    const sent: unknown[] = [];
    let builds = 0;
    const publisher = startStatusPublisher({
      intervalMs: 1000,
      clock,
      log,
      build: () => {
        if (builds++ === 0) throw new Error('no status yet');
        return builds;
      },
      send: async (message) => void sent.push(message),
    });
    await settle();
    await clock.advance(1000);
    await publisher.stop();
    expect(sent).toEqual([2]);
    expect(log.lines.map((line) => line.level)).toEqual(['warn', 'info']);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => startStatusPublisher({ intervalMs: 0, clock: fakeClock(0), log: testLogger(), build: () => 1, send: async () => undefined })).toThrow('more than 0 ms');
  });
});
