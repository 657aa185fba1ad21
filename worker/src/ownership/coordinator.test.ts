import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedItem } from '@livewall/contract';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { longRecording } from '../../../test/worker.js';
import { defaultComponents } from '../components/index.js';
import { parseConfig, type WorkerConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/types.js';
import { fakeClock, testEndpoints, type FakeClock } from '../engine/testing.js';
import { feedRoutes } from '../feeds.js';
import { FeedDirectory } from '../sources/feed-directory.js';
import type { LeaseBus, LeaseBusEvents } from './channel.js';
import { Ownership } from './coordinator.js';
import { feedItemKey, PublishedItems } from '../published.js';
import { LeaseCursors, PUBLISHED } from './cursors.js';
import type { LeaseMessage } from './messages.js';

/**
 * Two workers with the same config on one fake clock and an in-memory broker that behaves as Artemis does for the
 * lease addresses: every subscriber gets what is sent, a new subscription first gets the last 16 messages, and the
 * channel's hello comes back after them. The routes are the real feed and replay routes; only the broker producer
 * is a test one, so what each worker published can be compared line by line with the recording.
 */
class FakeLeaseBroker {
  private readonly kept = new Map<string, LeaseMessage[]>();
  readonly buses = new Set<FakeBus>();

  publish(message: LeaseMessage): void {
    const kept = [...(this.kept.get(message.feed) ?? []), message].slice(-16);
    this.kept.set(message.feed, kept);
    for (const bus of this.buses) bus.deliver(message);
  }

  replay(feed: string): LeaseMessage[] {
    return this.kept.get(feed) ?? [];
  }
}

class FakeBus extends EventEmitter<LeaseBusEvents> implements LeaseBus {
  private readonly watching = new Set<string>();
  private up = false;
  /** Feeds whose subscription the test holds back (a slow link), and what to do once it lets them go. */
  private readonly held = new Map<string, (() => void)[]>();

  constructor(private readonly broker: FakeLeaseBroker) {
    super();
    broker.buses.add(this);
  }

  /** Later, as a network would: in order, after whatever runs now. */
  private later(deliver: () => void): void {
    setImmediate(() => {
      if (this.up) deliver();
    });
  }

  deliver(message: LeaseMessage): void {
    if (this.watching.has(message.feed)) this.later(() => this.emit('message', message));
  }

  private subscribe(feed: string): void {
    const held = this.held.get(feed);
    if (held) {
      held.push(() => this.subscribe(feed));
      return;
    }
    for (const message of this.broker.replay(feed)) this.later(() => this.emit('message', message));
    this.later(() => this.emit('synced', feed));
  }

  hold(feed: string): void {
    this.held.set(feed, []);
  }

  letGo(feed: string): void {
    const waiting = this.held.get(feed) ?? [];
    this.held.delete(feed);
    for (const subscribe of waiting) subscribe();
  }

  start(): void {
    this.up = true;
    for (const feed of this.watching) this.subscribe(feed);
  }

  watch(feed: string): void {
    this.watching.add(feed);
    if (this.up) this.subscribe(feed);
  }

  unwatch(feed: string): void {
    this.watching.delete(feed);
  }

  send(message: LeaseMessage): boolean {
    if (!this.up) return false;
    this.broker.publish(message);
    return true;
  }

  async close(): Promise<void> {
    this.up = false;
    this.broker.buses.delete(this);
  }
}

const log = pino({ level: 'silent' });
const START = Date.parse('2025-01-01T00:00:00Z');
let dir: string;
let recording: { file: string; ids: string[] };
let baseConfig: WorkerConfig;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-ownership-'));
  recording = await longRecording(dir, 'cats', 200);
  baseConfig = parseConfig(
    `broker: { url: "amqp://localhost:1" }
imageHosts: [http://localhost:8080]
sources:
  x:
    replay:
      file: ${recording.file}
      pace: 20/s
      rewriteMedia: { from: "https://pbs.twimg.com/media/", to: "http://localhost:8080/demo/media/" }
feeds:
  - name: cats
`,
    join(dir, 'worker.yaml'),
    {},
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One worker: its engine with the config's feed and replay routes, its ownership, and what it published. */
async function startWorker(clock: FakeClock, broker: FakeLeaseBroker, host: string, takeover: boolean, options: { config?: WorkerConfig; hold?: string; log?: Logger } = {}) {
  const config = options.config ?? baseConfig;
  const endpoints = testEndpoints(clock);
  const cursors = new LeaseCursors();
  const publishedItems = new PublishedItems();
  const engine = new Engine(defaultComponents().register(endpoints.component), { baseDir: dir, clock, log, settings: { cursors, feeds: new FeedDirectory(config.feeds), idempotent: publishedItems } });
  for (const route of feedRoutes(config, { producerUri: (topic) => `test:${topic}` })) engine.add(route);
  const bus = new FakeBus(broker);
  if (options.hold) bus.hold(options.hold);
  const ownership = new Ownership({
    engine,
    bus,
    cursors,
    published: publishedItems,
    me: { id: `${host}:1:aaaaaa`, host, pid: 1 },
    feeds: config.feeds,
    timings: { leaseMs: 1000, renewMs: 200, settleMs: 300 },
    takeover,
    baseDir: dir,
    drainTimeoutMs: 5000,
    clock,
    log: options.log ?? log,
    tickMs: 50,
  });
  await ownership.start();
  let ticking = true;
  const worker = {
    engine,
    ownership,
    bus,
    publishedItems,
    /** What of this worker waits on the fake clock when it has nothing to do: its ownership ticker, its replay. */
    parked: () => (ticking ? 1 : 0) + (engine.route('source:x')?.status().state === 'started' ? 1 : 0),
    /** Gone without a word: no more renewals, no release. */
    async halt() {
      ticking = false;
      running.delete(worker);
      await ownership.halt();
    },
    role: () => ownership.status().feeds[0]?.role,
    published: (feed = 'cats') => endpoints.producer(`/topic/feed.${feed}`).delivered.map((item) => (item as FeedItem).id),
    /** A clean stop: the routes drain, then the feed is released. */
    async stop() {
      ticking = false;
      running.delete(worker);
      await ownership.halt();
      await engine.stop(5000);
      await ownership.release();
    },
  };
  running.add(worker);
  return worker;
}

/** The workers a test started and has not stopped: `pass` lets fake time go on only once each of them is idle. */
const running = new Set<{ parked(): number }>();

// The replay paces itself by Date.now() and sleeps on the clock: both follow the fake time.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

/** Two workers on one broker: the first owns the feed, the second stands by. */
async function ownerAndStandby() {
  const clock = fakeClock(START);
  const broker = new FakeLeaseBroker();
  const owner = await startWorker(clock, broker, 'server', false);
  await until(clock, 'the first worker owns the feed', () => owner.role() === 'owner');
  const standby = await startWorker(clock, broker, 'laptop', false);
  await until(clock, 'the second worker stands by', () => standby.role() === 'standby');
  return { clock, broker, owner, standby };
}

/**
 * Lets `ms` of fake time pass in steps of 50 ms. Each step waits until every running worker is idle again — its
 * ownership ticker and its replay asleep on the clock, so the replay's file reads are done — and the lease messages
 * in flight are delivered, however long that takes in real time: fake time never runs ahead of the work.
 */
async function pass(clock: FakeClock, ms: number): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += 50) {
    vi.setSystemTime(clock.now() + 50);
    await clock.advance(50);
    const parked = [...running].reduce((sum, worker) => sum + worker.parked(), 0);
    // The cap only stops a wrong count from hanging the test; it is never what a step waits for.
    await Promise.race([clock.whenSleeping(parked), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  }
}

async function until(clock: FakeClock, what: string, condition: () => boolean, maxMs = 30_000): Promise<void> {
  for (let elapsed = 0; !condition(); elapsed += 50) {
    if (elapsed > maxMs) throw new Error(`${what}: not within ${maxMs} ms of fake time`);
    await pass(clock, 50);
  }
}

describe('Ownership', () => {
  it('takeover and hand-back during a replay: each item published once, by one worker at a time, in order', async () => {
    const clock = fakeClock(START);
    const broker = new FakeLeaseBroker();
    const first = await startWorker(clock, broker, 'server', false);
    await until(clock, 'the first worker owns the feed', () => first.role() === 'owner');
    expect(first.engine.status().map((route) => [route.id, route.state])).toEqual([
      ['feed:cats', 'started'],
      ['source:x', 'started'],
    ]);
    await until(clock, 'the first worker published a third', () => first.published().length >= 40);

    const taker = await startWorker(clock, broker, 'laptop', true);
    await until(clock, 'the taker owns the feed', () => taker.role() === 'owner');
    expect(first.role()).toBe('standby');
    // The yielding worker reads no stream at all any more.
    expect(first.engine.status().map((route) => route.state)).toEqual(['stopped', 'stopped']);
    expect(first.ownership.status().feeds[0]?.owner?.host).toBe('laptop');
    const beforeTakeover = first.published().length;
    await until(clock, 'the taker published', () => taker.published().length >= 40);
    expect(first.published()).toHaveLength(beforeTakeover);

    await taker.stop();
    await until(clock, 'the first worker owns the feed again', () => first.role() === 'owner', 5000);
    await until(clock, 'the recording is done', () => first.engine.route('source:x')?.status().state === 'completed');
    await pass(clock, 500);

    const all = [...first.published().slice(0, beforeTakeover), ...taker.published(), ...first.published().slice(beforeTakeover)];
    // Nothing missing, nothing twice: each worker went on exactly where the other stopped.
    expect(all).toEqual(recording.ids);
    await first.stop();
  });

  it('a yield and a release hand over the ids the feed published last, which the next owner will not publish again', async () => {
    const clock = fakeClock(START);
    const broker = new FakeLeaseBroker();
    const first = await startWorker(clock, broker, 'server', false);
    await until(clock, 'the first worker published', () => first.published().length >= 20);
    const taker = await startWorker(clock, broker, 'laptop', true);
    await until(clock, 'the taker runs the feed', () => taker.engine.route('feed:cats')?.status().state === 'started');
    const handed = (kind: string) => broker.replay('cats').filter((message) => message.kind === kind).at(-1)?.cursors?.[PUBLISHED];
    // The newest 100 (in order), as the yield went out: after the drain, so the last one is the last published.
    expect(handed('yield')).toEqual(first.published().slice(-100));
    const taken = taker.publishedItems.repository('feed:cats/id', 10_000);
    expect(first.published().slice(-100).every((id) => !taken.add(feedItemKey('cats', id)))).toBe(true);
    await until(clock, 'the taker published', () => taker.published().length >= 10);
    await taker.stop();
    expect(handed('release')).toEqual([...first.published(), ...taker.published()].slice(-100));
    await until(clock, 'the first worker runs the feed again', () => first.engine.route('feed:cats')?.status().state === 'started', 5000);
    expect(taker.published().every((id) => !first.publishedItems.repository('feed:cats/id', 10_000).add(feedItemKey('cats', id)))).toBe(true);
    await first.stop();
  });

  it('an owner that dies without a word: the standby takes the feed once the lease runs out, from the last renewed place', async () => {
    const clock = fakeClock(START);
    const broker = new FakeLeaseBroker();
    const dying = await startWorker(clock, broker, 'server', false);
    await until(clock, 'the first worker owns the feed', () => dying.role() === 'owner');
    const standby = await startWorker(clock, broker, 'laptop', false);
    await until(clock, 'the second worker stands by', () => standby.role() === 'standby');
    expect(standby.engine.status().map((route) => route.state)).toEqual(['stopped', 'stopped']);
    await until(clock, 'the first worker published a while', () => dying.published().length >= 60);

    // Gone: no more renewals, no release, nothing more published.
    await dying.halt();
    await dying.bus.close();
    const published = dying.published().length;
    await dying.engine.stop(0);

    await until(clock, 'the standby owns the feed', () => standby.role() === 'owner', 3000);
    await until(clock, 'the recording is done', () => standby.engine.route('source:x')?.status().state === 'completed');
    await pass(clock, 500);
    const seen = new Set([...dying.published().slice(0, published), ...standby.published()]);
    expect(recording.ids.filter((id) => !seen.has(id))).toEqual([]);
    // What the dead worker published after its last renewal (200 ms at 20 lines a second) comes twice.
    const twice = dying.published().slice(0, published).filter((id) => standby.published().includes(id));
    expect(twice.length).toBeLessThanOrEqual(8);
    await standby.stop();
  });

  it('a network\'s source waits until each of its feeds here is decided, so that none misses the start', async () => {
    const clock = fakeClock(START);
    const broker = new FakeLeaseBroker();
    const config = { ...baseConfig, feeds: [...baseConfig.feeds, { name: 'dogs', networks: ['x' as const], networksKey: 'network' as const, keywords: [], index: 1 }] };
    const worker = await startWorker(clock, broker, 'server', false, { config, hold: 'dogs' });
    await until(clock, 'cats is owned', () => worker.ownership.status().feeds[0]?.role === 'owner');
    await pass(clock, 3000);
    expect(worker.engine.status().map((route) => [route.id, route.state])).toEqual([
      ['feed:cats', 'started'],
      ['feed:dogs', 'stopped'],
      ['source:x', 'stopped'],
    ]);
    expect(worker.ownership.mayRun('source:x')).toBe(false);
    expect(worker.ownership.waiting()).toBe(true);

    worker.bus.letGo('dogs');
    await until(clock, 'the source runs', () => worker.engine.route('source:x')?.status().state === 'started');
    expect(worker.ownership.status().feeds.map((feed) => feed.role)).toEqual(['owner', 'owner']);
    await until(clock, 'the recording is done', () => worker.engine.route('source:x')?.status().state === 'completed');
    await pass(clock, 500);
    expect(worker.published('cats')).toEqual(recording.ids);
    await worker.stop();
  });

  it('a feed whose lease channel the broker refuses runs here without coordination, and the log says what the broker lacks', async () => {
    const clock = fakeClock(START);
    const lines: { level: number; msg: string }[] = [];
    const captured = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const worker = await startWorker(clock, new FakeLeaseBroker(), 'server', false, { log: captured, hold: 'cats' });
    worker.bus.emit('refused', 'cats', 'amqp:not-found: no lease channel', 'declare the feed cats on the broker');
    await until(clock, 'the feed runs', () => worker.engine.route('feed:cats')?.status().state === 'started');
    expect(worker.role()).toBe('unmanaged');
    expect(lines.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual([
      'ownership: the broker refuses the lease channel of feed cats; the feed runs here without coordination until the worker restarts. For ownership, declare the feed cats on the broker',
    ]);
    await worker.stop();
  });

  it('a standby worker holds back the routes of a reload until it owns the feed', async () => {
    const { clock, owner, standby } = await ownerAndStandby();
    expect(standby.ownership.isManaged('feed:cats')).toBe(true);
    expect(standby.ownership.isManaged('source:x')).toBe(true);
    expect(standby.ownership.isManaged('my-route')).toBe(false);
    expect(standby.ownership.mayRun('feed:cats')).toBe(false);
    expect(standby.ownership.mayRun('source:x')).toBe(false);
    expect(owner.ownership.mayRun('feed:cats')).toBe(true);
    expect(standby.ownership.waiting()).toBe(true);
    expect(owner.ownership.waiting()).toBe(false);

    // A feed the reload adds is claimed; nobody owns it, so it is this worker's.
    standby.ownership.claimNew([...baseConfig.feeds, { name: 'dogs', networks: ['x' as const] }]);
    await until(clock, 'the new feed is owned', () => standby.ownership.status().feeds.find((feed) => feed.feed === 'dogs')?.role === 'owner');
    expect(standby.ownership.mayRun('source:x')).toBe(true);
    standby.ownership.releaseGone(baseConfig.feeds);
    expect(standby.ownership.status().feeds.map((feed) => feed.feed)).toEqual(['cats']);
    await owner.stop();
    await standby.stop();
  });

  it('a feed that gains or loses a network keeps its lease; its owner runs the sources of every network it is on', async () => {
    const clock = fakeClock(START);
    const broker = new FakeLeaseBroker();
    const owner = await startWorker(clock, broker, 'server', false);
    await until(clock, 'the worker owns the feed', () => owner.role() === 'owner');
    const before = owner.ownership.status().feeds[0];

    owner.ownership.claimNew([{ name: 'cats', networks: ['x', 'bluesky', 'mastodon'] }]);
    await pass(clock, 3000);
    expect(owner.ownership.status().feeds).toEqual([before]);
    for (const source of ['source:x', 'source:bluesky', 'source:mastodon:mastodon.social#cats']) {
      expect(owner.ownership.isManaged(source)).toBe(true);
      expect(owner.ownership.mayRun(source)).toBe(true);
    }

    owner.ownership.claimNew([{ name: 'cats', networks: ['bluesky'] }]);
    await pass(clock, 3000);
    expect(owner.ownership.status().feeds).toEqual([before]);
    expect(owner.ownership.isManaged('source:x')).toBe(false);
    expect(owner.ownership.mayRun('source:bluesky')).toBe(true);
    await owner.stop();
  });

  it('a standby worker of a feed on several networks reads none of their sources', async () => {
    const { clock, owner, standby } = await ownerAndStandby();
    for (const worker of [owner, standby]) worker.ownership.claimNew([{ name: 'cats', networks: ['x', 'bluesky'] }]);
    await pass(clock, 3000);
    expect(standby.role()).toBe('standby');
    for (const source of ['source:x', 'source:bluesky']) {
      expect(standby.ownership.mayRun(source)).toBe(false);
      expect(standby.ownership.standingBy(source)).toBe(true);
      expect(owner.ownership.mayRun(source)).toBe(true);
    }
    await owner.stop();
    await standby.stop();
  });
});
