import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AddressCounts } from '../amqp/publisher.js';
import type { Engine } from '../engine/engine.js';
import type { RouteCounters, RouteState, RouteStatus } from '../engine/route.js';
import type { WorkerInfo } from './info.js';

/**
 * The worker's Prometheus metrics, read from the engine at scrape time.
 *
 * The engine already keeps every figure (route counters, queue depth, endpoint readiness), so the route metrics
 * hold no state of their own: each one's `collect()` takes the engine's snapshot, clears its label sets and fills
 * them again. That keeps the scrape equal to `/status`, and a route removed by a config reload simply has no label
 * sets at the next scrape. Counters stay `Counter`s (TYPE counter, so `rate()` and `increase()` treat them right):
 * `reset()` then `inc(value)` sets the cumulative figure, which only grows for as long as the route lives; a route
 * replaced by a reload starts again from 0, which Prometheus reads as a counter reset. Only the publish latency
 * histogram is fed from events (the engine keeps no latencies); its series for URIs no route sends to any more are
 * pruned at scrape time.
 *
 * The process's and Node's own metrics keep prom-client's standard names (`process_cpu_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, …), without the `livewall_` prefix, so that stock Node.js dashboards find them. A
 * gauge's name never ends in `_total` (that suffix says counter): prom-client's `nodejs_active_handles_total`,
 * `nodejs_active_requests_total` and `nodejs_active_resources_total` are left out, as they are the sums of
 * `nodejs_active_handles{type}` and the like.
 */

const PREFIX = 'livewall_';

/** 1 ms to 10 s: a local broker answers in milliseconds, a slow cross-region link in seconds. */
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every route state, so that `livewall_route_state` has a 0 for the states a route is not in. */
const ROUTE_STATES = Object.keys({
  stopped: true,
  starting: true,
  started: true,
  suspended: true,
  stopping: true,
  completed: true,
  failed: true,
} satisfies Record<RouteState, true>) as RouteState[];

/** A figure a component keeps itself, such as the amqp producer's reconnects, read at scrape time. */
export interface ExtraMetric {
  /** Without the `livewall_` prefix, e.g. `reconnects_total`. */
  name: string;
  help: string;
  /** `counter` for a cumulative figure that only grows (name it `…_total`); `gauge` for a level. */
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
  /** The current value of each label set; a label set not returned disappears from the scrape. */
  read(): Iterable<{ labels: Record<string, string>; value: number }>;
}

export interface MetricsOptions {
  /** Adds `livewall_build_info{version,region}` = 1. */
  info?: WorkerInfo;
  /** Figures the engine does not keep: see `reconnectsMetric`. */
  extraMetrics?: readonly ExtraMetric[];
  /** Routes stopped on purpose (a feed another worker owns), which `livewall_ready` leaves out as /readyz does. */
  held?: (routeId: string) => boolean;
  /**
   * Drops made outside a route's steps, added to `livewall_dropped_total{route,reason}`: the moderation gate's, right
   * before a feed's item is sent (hidden, blocked-author, overflow), under the feed's route.
   */
  extraDropped?: () => Iterable<{ route: string; reason: string; count: number }>;
}

/** A registry of its own (not prom-client's global one) with the engine's metrics and the process's. */
export function createMetrics(engine: Engine, options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name);
  }

  routeCounter(registry, engine, 'received_total', 'Exchanges taken from the source into the route queue.', 'received');
  routeCounter(registry, engine, 'sent_total', 'Exchanges that went through every step of the route, so reached each of its to endpoints (the engine counter completed).', 'completed');
  routeCounter(registry, engine, 'redelivered_total', 'Attempts that failed and were tried again.', 'redelivered');
  routeCounter(registry, engine, 'failed_total', 'Exchanges that failed every attempt.', 'failed');
  routeCounter(registry, engine, 'dead_lettered_total', 'Failed exchanges the dead-letter endpoint accepted.', 'deadLettered');

  routeReasons(registry, engine, 'dropped_total', 'Exchanges received and then dropped, by reason: filter:<name>, queue-full, duplicate, throttled, …; for a feed, also what the moderation gate kept off the broker (hidden, blocked-author, overflow)', 'dropped', options.extraDropped);
  routeReasons(registry, engine, 'source_rejected_total', "What a route's source refused before it became an exchange, by reason: malformed data (not-json), a stream's error messages (stream-error:<problem>), …", 'rejected');

  routeGauge(registry, engine, 'in_flight', 'Exchanges being processed now.', (route) => route.inFlight);
  routeGauge(registry, engine, 'queue_depth', 'Exchanges waiting in the route queue.', (route) => route.queueDepth);
  routeGauge(registry, engine, 'queue_capacity', 'Size of the route queue; beyond it a live source drops.', (route) => route.queueCapacity);

  new Gauge({
    name: `${PREFIX}route_state`,
    help: 'Route lifecycle: 1 for the state the route is in, 0 for the others.',
    labelNames: ['route', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const route of engine.status()) {
        for (const state of ROUTE_STATES) this.set({ route: route.id, state }, route.state === state ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: `${PREFIX}endpoint_ready`,
    help: 'Whether a route endpoint is connected (1) or not (0).',
    labelNames: ['route', 'uri'],
    registers: [registry],
    collect() {
      this.reset();
      for (const route of engine.status()) {
        for (const endpoint of route.endpoints) this.set({ route: route.id, uri: endpoint.uri }, endpoint.ready ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: `${PREFIX}ready`,
    help: 'Whether every route is started with its endpoints connected, but those a feed owned elsewhere holds back (what /readyz answers).',
    registers: [registry],
    collect() {
      this.set(engine.ready(options.held) ? 1 : 0);
    },
  });

  publishLatency(registry, engine);

  if (options.info) {
    const { version, region = '' } = options.info;
    new Gauge({ name: `${PREFIX}build_info`, help: 'Always 1; the labels say which worker this is.', labelNames: ['version', 'region'], registers: [registry] }).set({ version, region }, 1);
  }

  for (const extra of options.extraMetrics ?? []) extraMetric(registry, extra);
  return registry;
}

/** `livewall_reconnects_total{endpoint}`, read from the producers that count their reconnects (amqp:). */
export function reconnectsMetric(read: () => Iterable<{ endpoint: string; reconnects: number }>): ExtraMetric {
  return {
    name: 'reconnects_total',
    help: 'Times an endpoint re-established its connection after losing it.',
    type: 'counter',
    labelNames: ['endpoint'],
    *read() {
      for (const { endpoint, reconnects } of read()) yield { labels: { endpoint }, value: reconnects };
    },
  };
}

/** `livewall_feed_role{feed,role}`: 1 for this worker's part in each feed's ownership (owner, standby, …). */
export function ownershipMetric(read: () => Iterable<{ feed: string; role: string }>): ExtraMetric {
  return {
    name: 'feed_role',
    help: "This worker's part in each feed's ownership: 1 for the role it has (owner: the feed runs here; standby: another worker owns it).",
    type: 'gauge',
    labelNames: ['feed', 'role'],
    *read() {
      for (const { feed, role } of read()) yield { labels: { feed, role }, value: 1 };
    },
  };
}

/** One feed's publishing, as the publisher counts it for the feed's address: see `feedPublishingMetrics`. */
export interface FeedPublishing extends AddressCounts {
  feed: string;
}

const OUTCOMES = ['accepted', 'released', 'rejected', 'modified'] as const;

/**
 * The broker's word on each feed's items, per feed, from `read` (one entry per feed this worker has published to or
 * declared since its connection opened):
 * - `livewall_amqp_outcomes_total{feed,outcome}`: the AMQP outcome of each delivery (`accepted`, `released`,
 *   `rejected`, `modified`); every outcome has a series from the feed's first appearance, 0 until it happens;
 * - `livewall_amqp_resent_total{feed}`: items sent again after a disconnect or a released/modified outcome;
 * - `livewall_last_published_timestamp_seconds{feed}`: when the broker last accepted one of its items, absent until
 *   it first does (a worker standing by for a feed has none).
 */
export function feedPublishingMetrics(read: () => Iterable<FeedPublishing>): ExtraMetric[] {
  return [
    {
      name: 'amqp_outcomes_total',
      help: "The broker's outcome for each item sent to a feed's address: accepted, released, rejected or modified (released and modified ones are sent again).",
      type: 'counter',
      labelNames: ['feed', 'outcome'],
      *read() {
        for (const feed of read()) for (const outcome of OUTCOMES) yield { labels: { feed: feed.feed, outcome }, value: feed[outcome] };
      },
    },
    {
      name: 'amqp_resent_total',
      help: "Items of a feed sent again: after a reconnect (the broker had not settled them) or a released or modified outcome.",
      type: 'counter',
      labelNames: ['feed'],
      *read() {
        for (const feed of read()) yield { labels: { feed: feed.feed }, value: feed.resent };
      },
    },
    {
      name: 'last_published_timestamp_seconds',
      help: 'Unix time the broker last accepted an item of the feed; no series until it first does after the worker started.',
      type: 'gauge',
      labelNames: ['feed'],
      *read() {
        for (const feed of read()) if (feed.lastAcceptedAt !== undefined) yield { labels: { feed: feed.feed }, value: feed.lastAcceptedAt / 1000 };
      },
    },
  ];
}

/** How a Bluesky post's author came out, as the `appview:` endpoints count them (their stats' keys). */
const PROFILE_OUTCOMES = { hit: 'hit', resolved: 'resolved', unknown: 'unknown', late: 'late', failed: 'failed', rateLimited: 'rate-limited' } as const;

/**
 * Each feed's posts and items per network (ops/network-counts.ts): `livewall_feed_received_total{feed,network}` and
 * `livewall_feed_sent_total{feed,network}`, so that a feed on several networks shows what each brings.
 */
export function networkCountsMetrics(read: () => Iterable<{ feed: string; network: string; received: number; sent: number }>): ExtraMetric[] {
  const labelNames = ['feed', 'network'] as const;
  const figure = (name: 'received' | 'sent') =>
    function* () {
      for (const { feed, network, ...figures } of read()) yield { labels: { feed, network }, value: figures[name] };
    };
  return [
    { name: 'feed_received_total', help: "A feed's posts from each of its networks (matched its keywords or rule), before its own steps.", type: 'counter', labelNames, read: figure('received') },
    { name: 'feed_sent_total', help: "A feed's items from each of its networks that went through every step of its route to its topic (or pending queue).", type: 'counter', labelNames, read: figure('sent') },
  ];
}

/**
 * Bluesky authors' profiles, summed over the `appview:` endpoints' stats that `read` gives:
 * - `livewall_bluesky_profiles_total{outcome}`: posts by how their author came out: `hit` (from the cache),
 *   `resolved` (looked up in time), `unknown` (the AppView has no such account), and the misses that went out with the
 *   DID: `late` (past maxWait), `failed`, `rate-limited`. The hit ratio is hit over the sum;
 * - `livewall_bluesky_profile_lookups_total` (getProfiles requests) and `livewall_bluesky_profile_lookup_errors_total{reason}`
 *   (`failed`, `rate-limited`: an HTTP 429);
 * - `livewall_bluesky_profile_cache_entries`: profiles cached now.
 */
export function blueskyProfilesMetrics(read: () => Iterable<Readonly<Record<string, number>>>): ExtraMetric[] {
  const sum = (key: string): number => {
    let value = 0;
    for (const stats of read()) value += stats[key] ?? 0;
    return value;
  };
  return [
    {
      name: 'bluesky_profiles_total',
      help: "Bluesky posts by how their author's handle and name came out: hit (cache), resolved (AppView, in time), unknown (no such account); late, failed, rate-limited: shown as the DID.",
      type: 'counter',
      labelNames: ['outcome'],
      *read() {
        for (const [key, outcome] of Object.entries(PROFILE_OUTCOMES)) yield { labels: { outcome }, value: sum(key) };
      },
    },
    {
      name: 'bluesky_profile_lookups_total',
      help: "Requests to the AppView's app.bsky.actor.getProfiles (up to 25 authors each).",
      type: 'counter',
      labelNames: [],
      *read() {
        yield { labels: {}, value: sum('lookups') };
      },
    },
    {
      name: 'bluesky_profile_lookup_errors_total',
      help: 'getProfiles requests that failed (network, timeout, HTTP error) or were refused by the rate limit (HTTP 429).',
      type: 'counter',
      labelNames: ['reason'],
      *read() {
        yield { labels: { reason: 'failed' }, value: sum('lookupsFailed') };
        yield { labels: { reason: 'rate-limited' }, value: sum('lookupsRateLimited') };
      },
    },
    { name: 'bluesky_profile_cache_entries', help: 'Bluesky profiles cached now.', type: 'gauge', labelNames: [], *read() { yield { labels: {}, value: sum('cached') }; } },
  ];
}

/** The durable outbox's level, age and drops (`livewall_outbox_*`), from `read` (one entry per outbox). */
export function outboxMetrics(read: () => Iterable<{ depth: number; oldestAgeMs: number; droppedFull: number; droppedExpired: number }>): ExtraMetric[] {
  const total = (pick: (stats: { depth: number; oldestAgeMs: number; droppedFull: number; droppedExpired: number }) => number, max = false): number => {
    let value = 0;
    for (const stats of read()) value = max ? Math.max(value, pick(stats)) : value + pick(stats);
    return value;
  };
  return [
    { name: 'outbox_depth', help: 'Messages in the durable outbox the broker has not accepted yet.', type: 'gauge', labelNames: [], *read() { yield { labels: {}, value: total((stats) => stats.depth) }; } },
    {
      name: 'outbox_oldest_age_seconds',
      help: 'Age of the oldest message waiting in the outbox (0 when empty): how far behind the broker is.',
      type: 'gauge',
      labelNames: [],
      *read() {
        yield { labels: {}, value: total((stats) => stats.oldestAgeMs, true) / 1000 };
      },
    },
    {
      name: 'outbox_dropped_total',
      help: 'Messages the outbox dropped, oldest first: full (past maxItems) or expired (past maxAge).',
      type: 'counter',
      labelNames: ['reason'],
      *read() {
        yield { labels: { reason: 'full' }, value: total((stats) => stats.droppedFull) };
        yield { labels: { reason: 'expired' }, value: total((stats) => stats.droppedExpired) };
      },
    },
  ];
}

type CounterName = Exclude<keyof RouteCounters, 'dropped' | 'rejected'>;

/** A counter per route and reason, from one of the engine's by-reason counters. */
function routeReasons(registry: Registry, engine: Engine, name: string, help: string, counter: 'dropped' | 'rejected', extra?: () => Iterable<{ route: string; reason: string; count: number }>): void {
  new Counter({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['route', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const route of engine.status()) {
        for (const [reason, count] of Object.entries(route.counters[counter])) this.inc({ route: route.id, reason }, count);
      }
      for (const { route, reason, count } of extra?.() ?? []) if (count > 0) this.inc({ route, reason }, count);
    },
  });
}

function routeCounter(registry: Registry, engine: Engine, name: string, help: string, counter: CounterName): void {
  new Counter({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['route'],
    registers: [registry],
    collect() {
      this.reset();
      for (const route of engine.status()) this.inc({ route: route.id }, route.counters[counter]);
    },
  });
}

function routeGauge(registry: Registry, engine: Engine, name: string, help: string, value: (route: RouteStatus) => number): void {
  new Gauge({
    name: `${PREFIX}${name}`,
    help,
    labelNames: ['route'],
    registers: [registry],
    collect() {
      this.reset();
      for (const route of engine.status()) this.set({ route: route.id }, value(route));
    },
  });
}

/**
 * Fed by the engine's `sent` events, which carry the URI but not the route: hence per URI. A URI that no route
 * sends to any more (removed by a reload) loses its series at the next scrape.
 */
function publishLatency(registry: Registry, engine: Engine): void {
  const observed = new Set<string>();
  const histogram = new Histogram({
    name: `${PREFIX}publish_latency_seconds`,
    help: 'Time from handing an exchange to an endpoint until it had it (for a broker: accepted), by endpoint URI.',
    labelNames: ['uri'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
    collect() {
      const live = new Set(engine.status().flatMap((route) => route.endpoints.map((endpoint) => endpoint.uri)));
      for (const uri of observed) {
        if (live.has(uri)) continue;
        this.remove({ uri });
        observed.delete(uri);
      }
    },
  });
  engine.on('sent', ({ uri, ms }: { uri: string; ms: number }) => {
    observed.add(uri);
    histogram.observe({ uri }, ms / 1000);
  });
}

function extraMetric(registry: Registry, extra: ExtraMetric): void {
  const config = { name: `${PREFIX}${extra.name}`, help: extra.help, labelNames: extra.labelNames, registers: [registry] };
  if (extra.type === 'counter') {
    new Counter({
      ...config,
      collect() {
        this.reset();
        for (const { labels, value } of extra.read()) this.inc(labels, value);
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        this.reset();
        for (const { labels, value } of extra.read()) this.set(labels, value);
      },
    });
  }
}
