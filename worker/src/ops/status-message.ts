import type { RouteState, RouteStatus } from '../engine/route.js';
import { systemClock, type Clock, type Logger } from '../engine/types.js';
import type { WorkerInfo } from './info.js';

/**
 * The status message the worker publishes every so often on a status topic, so that the page can say whether a
 * feed is flowing ("12 items a minute, last one 5 s ago") without asking the worker anything.
 */

/** How each feed's route is doing, as the page shows it. */
export interface FeedStatus {
  feed: string;
  route: string;
  state: RouteState;
  /** Items sent per minute, over the tracker's window (about the last minute). */
  itemsPerMinute: number;
  /** ISO time of the snapshot that first saw the latest items; absent until one is seen. */
  lastItemAt?: string;
}

export interface WorkerStatusMessage {
  v: 1;
  kind: 'worker-status';
  host: string;
  region?: string;
  version: string;
  /** ISO time the message was built. */
  at: string;
  /** The feeds this worker serves now. With ownership, a feed another worker owns is not among them. */
  feeds: FeedStatus[];
  /** This worker as a feed owner (`host:pid:random`), when it takes part in feed ownership. */
  instance?: string;
  /** Each configured feed's owner as this worker knows it: itself, another worker (it stands by), or nobody yet. */
  ownership?: FeedOwnerStatus[];
}

/** One feed's owner, as worker/src/ownership/ reports it. */
export interface FeedOwnerStatus {
  feed: string;
  /** This worker's part: owner, standby, claiming, yielding, listening, unmanaged, stopped. */
  role: string;
  /** Who owns the feed and where it runs. */
  owner?: { id: string; host: string; pid: number; region?: string };
  epoch: number;
  /** When this worker's role last changed. */
  since: string;
}

/** What the status message says about ownership: this worker, and every feed's owner. */
export interface OwnershipView {
  instance: { id: string };
  feeds: readonly FeedOwnerStatus[];
}

/** Roles in which a feed runs on this worker. */
const SERVING_ROLES: readonly string[] = ['owner', 'yielding', 'unmanaged'];

/** One route's rate, as `RateTracker.observe` reports it. */
export interface RouteRate {
  route: string;
  state: RouteState;
  itemsPerMinute: number;
  /** Epoch ms of the snapshot that first saw the latest items. */
  lastItemAt?: number;
}

export interface RateTrackerOptions {
  /** The span rates are computed over, in ms. Default 60 000: "items per minute" means the last minute. */
  windowMs?: number;
}

interface Sample {
  at: number;
  /** Items since tracking began, across restarts of the route. */
  total: number;
}

interface Tracked {
  /** The route's own counter at the last snapshot, to tell growth from a restart. */
  lastCount: number;
  samples: Sample[];
  lastItemAt?: number;
}

/**
 * Items per minute from successive snapshots of the routes' `completed` counters (exchanges that went through
 * every step: what was sent); pure, fed by whoever holds the clock. The rate is the growth between the newest
 * snapshot and the newest one at least `windowMs` older (or the oldest kept, early on). A counter that went down
 * means the route was replaced (a config reload) and counts again from 0, as Prometheus reads a counter reset. A
 * route that is no longer in the snapshot is forgotten.
 */
export class RateTracker {
  private readonly windowMs: number;
  private readonly routes = new Map<string, Tracked>();

  constructor(options: RateTrackerOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
  }

  observe(now: number, routes: readonly RouteStatus[]): RouteRate[] {
    const seen = new Set<string>();
    const rates = routes.map((route) => {
      seen.add(route.id);
      const count = route.counters.completed;
      let tracked = this.routes.get(route.id);
      if (!tracked) {
        tracked = { lastCount: count, samples: [{ at: now, total: 0 }] };
        this.routes.set(route.id, tracked);
      } else {
        const newest = tracked.samples[tracked.samples.length - 1] as Sample;
        const growth = count >= tracked.lastCount ? count - tracked.lastCount : count;
        tracked.lastCount = count;
        tracked.samples.push({ at: now, total: newest.total + growth });
        if (growth > 0) tracked.lastItemAt = now;
        // Keep one sample at or before the window's start, as the base the rate is measured from.
        while (tracked.samples.length > 2 && (tracked.samples[1] as Sample).at <= now - this.windowMs) tracked.samples.shift();
      }
      const rate: RouteRate = { route: route.id, state: route.state, itemsPerMinute: perMinute(tracked.samples) };
      if (tracked.lastItemAt !== undefined) rate.lastItemAt = tracked.lastItemAt;
      return rate;
    });
    for (const id of this.routes.keys()) if (!seen.has(id)) this.routes.delete(id);
    return rates;
  }
}

function perMinute(samples: readonly Sample[]): number {
  const base = samples[0] as Sample;
  const newest = samples[samples.length - 1] as Sample;
  if (newest.at <= base.at) return 0;
  const rate = ((newest.total - base.total) / (newest.at - base.at)) * 60_000;
  return Math.round(rate * 10) / 10;
}

/**
 * The message for the routes that carry a feed. `feedOf` names a route's feed (routes for feeds are called
 * `feed:<name>`), or returns undefined for a route that carries none. With `ownership`, only the feeds this worker
 * serves are in `feeds` (the page reads who serves a feed from there), and `ownership` says who owns every one.
 */
export function statusMessage(info: WorkerInfo, now: number, rates: readonly RouteRate[], feedOf: (routeId: string) => string | undefined, ownership?: OwnershipView): WorkerStatusMessage {
  const feeds: FeedStatus[] = [];
  const serving = ownership && new Set(ownership.feeds.filter((entry) => SERVING_ROLES.includes(entry.role)).map((entry) => entry.feed));
  for (const rate of rates) {
    const feed = feedOf(rate.route);
    if (feed === undefined || (serving && !serving.has(feed))) continue;
    const entry: FeedStatus = { feed, route: rate.route, state: rate.state, itemsPerMinute: rate.itemsPerMinute };
    if (rate.lastItemAt !== undefined) entry.lastItemAt = new Date(rate.lastItemAt).toISOString();
    feeds.push(entry);
  }
  const message: WorkerStatusMessage = { v: 1, kind: 'worker-status', host: info.host, version: info.version, at: new Date(now).toISOString(), feeds };
  if (info.region !== undefined) message.region = info.region;
  if (ownership) {
    message.instance = ownership.instance.id;
    message.ownership = ownership.feeds.map((entry) => ({ ...entry }));
  }
  return message;
}

/**
 * What `startStatusPublisher` calls on each tick: the message for the engine's routes now, with rates measured
 * since the previous calls.
 */
export function statusBuilder(
  engine: { status(): RouteStatus[] },
  info: WorkerInfo,
  feedOf: (routeId: string) => string | undefined,
  clock: Clock = systemClock,
  ownership?: () => OwnershipView,
): () => WorkerStatusMessage {
  const tracker = new RateTracker();
  return () => {
    const now = clock.now();
    return statusMessage(info, now, tracker.observe(now, engine.status()), feedOf, ownership?.());
  };
}

export interface StatusPublisherOptions<Message> {
  /** Time between two publishes, in ms; the first goes out at once. */
  intervalMs: number;
  /** Publishes one message; rejects when it could not. */
  send: (message: Message) => Promise<void>;
  /** Builds the message to publish now. */
  build: () => Message;
  clock?: Clock;
  log: Logger;
}

export interface StatusPublisher {
  /** Stops publishing; resolves once a send in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Publishes `build()` at once and then every `intervalMs`, one send at a time: a send that takes longer than the
 * interval delays the next one to the next tick rather than overlapping it. A failing send is logged once when a
 * streak of failures begins and once when sending works again, not on every tick.
 */
export function startStatusPublisher<Message>(options: StatusPublisherOptions<Message>): StatusPublisher {
  const { intervalMs, send, build, log } = options;
  const clock = options.clock ?? systemClock;
  if (!(intervalMs > 0)) throw new Error(`status publish interval must be more than 0 ms, not ${intervalMs}`);
  const stopping = new AbortController();

  /** Resolves when the publisher stops: a send the broker never answers (it is down) must not hold the stop. */
  const stopped = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

  async function publishOnce(streak: { failures: number; since?: number }): Promise<void> {
    try {
      await Promise.race([send(build()), stopped]);
      if (streak.failures > 0) {
        log.info({ failures: streak.failures, failingForMs: clock.now() - (streak.since as number) }, 'status messages are being published again');
      }
      streak.failures = 0;
    } catch (error) {
      if (streak.failures === 0) {
        streak.since = clock.now();
        log.warn({ err: (error as Error).message ?? String(error) }, 'cannot publish the status message; trying on every tick, logging again once it works');
      }
      streak.failures += 1;
    }
  }

  async function run(): Promise<void> {
    const streak = { failures: 0 };
    let due = clock.now();
    while (!stopping.signal.aborted) {
      await publishOnce(streak);
      // The next tick after now: ticks missed while a slow send was in progress are skipped, not made up.
      const now = clock.now();
      due += intervalMs * Math.max(1, Math.ceil((now - due) / intervalMs));
      await clock.sleep(due - now, stopping.signal);
    }
  }

  const running = run();
  return {
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}
