import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { brokerProfile } from '@livewall/contract';
import { defaultComponents } from './components/index.js';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { PROFILES } from './config-sources.js';
import { dryRunRoute } from './dsl/dry-run.js';
import { loadRoutes } from './dsl/load.js';
import type { RouteDefinition } from './engine/definition.js';
import { Engine } from './engine/engine.js';
import { applyRoutes } from './engine/reload.js';
import type { RouteState } from './engine/route.js';
import { newExchange } from './engine/steps.js';
import { systemClock, type Logger, type Producer } from './engine/types.js';
import { feedOfRoute, feedRoutes } from './feeds.js';
import { threadsFromEnv } from './image-check/pool.js';
import { ImageCheckService } from './image-check/service.js';
import type { WorkerInfo } from './ops/info.js';
import { amqpAddresses, amqpConnections, outboxStats } from './components/amqp/index.js';
import { SqliteCursors } from './outbox/cursors.js';
import { RECENT_PER_ADDRESS } from './outbox/outbox.js';
import { recentlyPut } from './outbox/recent.js';
import { blueskyProfilesMetrics, createMetrics, feedPublishingMetrics, networkCountsMetrics, outboxMetrics, ownershipMetric, reconnectsMetric, type FeedPublishing } from './ops/metrics.js';
import { NetworkCounts } from './ops/network-counts.js';
import { startOpsServer, StartupError, type OpsServer } from './ops/server.js';
import { startStatusPublisher, statusBuilder, type StatusPublisher } from './ops/status-message.js';
import { LeaseChannel } from './ownership/channel.js';
import { ownerIdentity, Ownership } from './ownership/coordinator.js';
import { LeaseCursors } from './ownership/cursors.js';
import { PublishedItems } from './published.js';
import { settleFor } from './ownership/lease.js';
import { FeedDirectory } from './sources/feed-directory.js';
import { feedsToModerate } from './moderation/config.js';
import { ModerationBook } from './moderation/rules.js';
import { LiveModeration } from './moderation/live.js';
import { serialized, watchConfig } from './watch.js';

export interface RunOptions {
  /** Send to log: instead of the broker. */
  dryRun: boolean;
  /** Reload the config file when it changes. */
  watch: boolean;
  /** Claim every feed at once, even from a live owner, which drains and yields (see ownership/). */
  takeover?: boolean;
}

/** Exit code when a shutdown had to abandon messages the broker had not confirmed. */
export const EXIT_ABANDONED = 3;
const FINISHED: readonly RouteState[] = ['completed', 'stopped', 'failed'];

/** The worker's version, from its package.json. */
export function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

/**
 * Every route a config defines: the feeds' routes (see feeds.ts), then the YAML `routes:`; in a dry run, broker
 * endpoints become log:, and a feed's items are written as `tap` prints them. `directory` is the running worker's
 * view of the feeds and `moderation` its feeds' moderation rules, which a reload updates in place; `networkCounts`
 * where the feed routes count each network's posts.
 */
export function routesOf(config: WorkerConfig, options: { dryRun: boolean; directory?: FeedDirectory; moderation?: ModerationBook; networkCounts?: NetworkCounts; imageCheck?: ImageCheckService }): RouteDefinition[] {
  const feeds = feedRoutes(config, { ...(options.dryRun ? { producerUri: (topic: string) => `log:${topic}?format=item` } : {}), ...(options.directory ? { directory: options.directory } : {}), ...(options.moderation ? { moderation: options.moderation } : {}), ...(options.networkCounts ? { networkCounts: options.networkCounts } : {}), ...(options.imageCheck ? { imageCheck: options.imageCheck } : {}) });
  const routes = loadRoutes(config, defaultComponents());
  return [...feeds, ...(options.dryRun ? routes.map(dryRunRoute) : routes)];
}

/** Each configured feed's publishing: the figures of its topic's address, for a feed sent to or declared already. */
function feedPublishing(config: WorkerConfig): FeedPublishing[] {
  const profile = brokerProfile(config.broker.profile);
  const addresses = amqpAddresses();
  return config.feeds.flatMap(({ name }) => {
    const stats = addresses.get(profile.amqpTarget(name));
    return stats ? [{ feed: name, ...stats }] : [];
  });
}

/** A route that reads from a hub runs as long as the routes that feed it: it never completes by itself. */
function readsHub(definition: RouteDefinition): boolean {
  return definition.from.startsWith('hub:');
}

/** Resolves once no outbox holds an item, or on `stop`. */
async function outboxEmptied(log: Logger, stop: AbortSignal): Promise<void> {
  const waiting = (): number => outboxStats().reduce((sum, stats) => sum + stats.depth, 0);
  if (waiting() === 0) return;
  log.info({ waiting: waiting() }, 'sources finished; waiting for the outbox to reach the broker (a signal stops now and keeps it)');
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (waiting() === 0) done();
    }, 100);
    const done = (): void => {
      clearInterval(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    stop.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs a worker until its routes complete or a signal stops it: the engine with the config's routes, the ops
 * endpoint, the status publisher and, with `watch`, config reloads. Resolves with the exit code.
 */
export async function runWorker(initial: WorkerConfig, options: RunOptions, log: Logger, stop: AbortSignal): Promise<number> {
  let config = initial;
  // Checked before anything starts: a bad value stops the worker here, even if no feed checks images yet.
  const threads = startupCheck(() => threadsFromEnv(process.env.LIVEWALL_IMAGE_CHECK_THREADS));
  const components = defaultComponents();
  // The feeds as sources read them while running: a reload updates it, and X reconciles its rules on the change.
  const directory = new FeedDirectory(config.feeds);
  // Each feed's moderation rules as its route reads them: a reload swaps them without restarting a route.
  const moderation = new ModerationBook(config.moderation, feedsToModerate(config));
  // Each feed's figures per network, kept across the reloads that replace its route.
  const networkCounts = new NetworkCounts();
  // The outbox file, relative to the config as the amqp: component opens it (not in a dry run, which sends nothing there).
  const outboxFile = config.outbox && !options.dryRun ? resolve(dirname(config.file), config.outbox.file) : undefined;
  // Sources keep their place beside the outbox.
  const cursors = outboxFile === undefined ? undefined : new SqliteCursors(outboxFile);
  // The feeds' de-duplication outlives their routes, and starts from what the outbox took before this process.
  const profile = brokerProfile(config.broker.profile);
  // A feed in approval mode puts its items on its pending queue: those count as published too.
  const published = new PublishedItems((feed) => (outboxFile ? [profile.moderation.pendingAmqpTarget(feed), profile.amqpTarget(feed)].flatMap((address) => recentlyPut(outboxFile, address, RECENT_PER_ADDRESS)) : []));
  // With a broker, each feed runs where its owner is (ownership/), and the sources' places go with it.
  const leaseCursors = options.dryRun ? undefined : new LeaseCursors(cursors);
  // Live takedowns: kept beside the outbox, read from the moderation log (broker.stomp), applied right before every send.
  const live = new LiveModeration(config, { dryRun: options.dryRun, ...(outboxFile ? { stateFile: outboxFile } : {}), clock: systemClock, log });
  live.start();
  // One image classifier for every feed that checks pictures, loaded now rather than by the first item.
  const imageCheck = new ImageCheckService({ classifier: { threads } });
  if (config.feeds.some((feed) => feed.imageCheck)) {
    const loading = Date.now();
    await imageCheck.start().then(
      () => log.info({ ms: Date.now() - loading, threads: imageCheck.threads }, 'image classifier loaded'),
      (error: Error) => log.error({ error: error.message }, "image classifier did not load; items to check meet their feed's onError"),
    );
  }
  const engine = new Engine(components, {
    baseDir: dirname(config.file),
    clock: systemClock,
    log,
    settings: { amqp: config.broker, publishGate: live.gate, feeds: directory, idempotent: published, ...(config.outbox ? { outbox: config.outbox } : {}), ...(leaseCursors ? { cursors: leaseCursors } : {}) },
  });
  for (const route of routesOf(config, { ...options, directory, moderation, networkCounts, imageCheck })) engine.add(route);
  // One line per state change; never one per message at info level.
  engine.on('state', ({ route, state, previous }) => log.info({ route, state, previous }, `route ${route} ${state}`));
  engine.on('retry', ({ route, error, delayMs }) => log.warn({ route, err: error, retryInMs: delayMs }, `route ${route} retrying`));

  const info: WorkerInfo = { version: version(), host: hostname(), ...(config.region ? { region: config.region } : {}) };
  const { leaseMs, renewMs } = config.ownership;
  const ownership =
    leaseCursors &&
    new Ownership({
      engine,
      bus: new LeaseChannel({ urls: [config.broker.url, ...(config.broker.failover ?? [])], profile: config.broker.profile, username: config.broker.username, password: config.broker.password, idleTimeoutMs: config.broker.idleTimeoutMs, containerId: `livewall-owner-${process.pid}` }, log),
      cursors: leaseCursors,
      published,
      me: ownerIdentity(info.host, config.region),
      feeds: config.feeds,
      timings: { leaseMs, renewMs, settleMs: settleFor(renewMs) },
      takeover: options.takeover ?? false,
      baseDir: dirname(config.file),
      drainTimeoutMs: config.shutdownTimeoutMs,
      clock: systemClock,
      log,
      // Routes between states while ownership starts or stops them: decide whether the worker is done only after.
      onSettled: () => check(),
    });
  // A standby worker's feed and source routes are stopped on purpose: readiness leaves them out. A route whose
  // ownership is not decided yet (the broker was never reached) is not held: the worker is not ready.
  const held = ownership && ((routeId: string): boolean => ownership.isManaged(routeId) && !ownership.mayRun(routeId) && ownership.standingBy(routeId));
  let ops: OpsServer | undefined;
  if (config.ops) {
    const reconnects = reconnectsMetric(() =>
      engine.status().flatMap((route) =>
        [...route.endpoints, ...(route.source ? [route.source] : [])].flatMap(({ uri, stats }) => (stats?.reconnects === undefined ? [] : [{ endpoint: uri, reconnects: stats.reconnects }])),
      ),
    );
    // The appview: endpoints' figures (Bluesky authors' profiles), from the source routes that send to one.
    const profiles = blueskyProfilesMetrics(() => engine.status().flatMap((route) => route.endpoints.flatMap(({ uri, stats }) => (uri.startsWith(`${PROFILES.scheme}:`) && stats ? [stats] : []))));
    ops = await startOpsServer({ port: config.ops.port, host: config.ops.host, engine, registry: createMetrics(engine, { info, extraMetrics: [reconnects, ...profiles, ...feedPublishingMetrics(() => feedPublishing(config)), ...(config.outbox ? outboxMetrics(outboxStats) : []), ...(ownership ? [ownershipMetric(() => ownership.status().feeds)] : []), ...networkCountsMetrics(() => networkCounts.entries()), ...imageCheck.metrics()], ...(held ? { held } : {}), extraDropped: () => live.dropped() }), log, info, amqpConnections, moderation: () => live.status(), networks: () => networkCounts.status(), ...(ownership ? { ownership: () => ownership.status(), held, roleOf: (routeId: string) => ownership.roleOf(routeId) } : {}) });
    log.info({ url: `http://${config.ops.host}:${ops.port}/` }, 'ops endpoint listening (/healthz, /readyz, /status, /metrics)');
  }

  let status: { publisher: StatusPublisher; producer: Producer } | undefined;
  if (config.status.enabled && !options.dryRun) {
    const producer = components.producer(`amqp:${config.status.topic}`, { baseDir: dirname(config.file), clock: systemClock, log, settings: { amqp: config.broker } });
    await producer.start();
    const publisher = startStatusPublisher({
      intervalMs: config.status.intervalMs,
      build: statusBuilder(engine, info, feedOfRoute, systemClock, ownership && (() => ownership.status())),
      send: (message) => producer.send(newExchange(message, { messageId: `status:${info.host}:${message.at}` })),
      log,
    });
    status = { publisher, producer };
  }

  let stopWatching: (() => void) | undefined;
  if (options.watch) {
    const reload = serialized(async () => {
      let next: WorkerConfig;
      let routes: RouteDefinition[];
      try {
        next = loadConfig(config.file, process.env, { requireBroker: !options.dryRun });
        routes = routesOf(next, { ...options, directory, moderation, networkCounts, imageCheck });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        log.error({ config: config.file, problems: error.problems }, 'config changed but is invalid; the running routes carry on');
        return;
      }
      // First the feeds (X reconciles its rules while streaming), then the routes that changed.
      directory.update(next.feeds);
      moderation.update(next.moderation, feedsToModerate(next));
      live.setFeeds(next.feeds.map((feed) => feed.name));
      // New feeds are claimed like the first ones; a feed's routes start only where it is owned.
      ownership?.claimNew(next.feeds);
      const result = await applyRoutes(engine, routes, next.shutdownTimeoutMs, (definition) => !ownership?.isManaged(definition.id) || ownership.mayRun(definition.id));
      ownership?.releaseGone(next.feeds);
      networkCounts.retain(next.feeds);
      config = next;
      log.info({ config: config.file, ...result }, 'config reloaded');
    });
    stopWatching = watchConfig(config.file, reload);
  }

  log.info(
    { config: config.file, broker: options.dryRun ? 'dry run: log:' : config.broker.url, routes: engine.list().map((route) => route.id), imageHosts: config.imageHostEntries },
    'starting',
  );
  let started = false;
  let check = (): void => undefined;
  const finished = new Promise<void>((resolve) => {
    check = (): void => {
      // With --watch the worker runs until stopped: a reload may bring new routes. Before every route has started,
      // one not started yet is 'stopped' too.
      // A feed owned elsewhere may still come here: a standby worker waits for it.
      if (options.watch || !started || ownership?.waiting()) return;
      const sources = engine.list().filter((route) => !readsHub(route.definition));
      if (sources.length > 0 && sources.every((route) => FINISHED.includes(route.status().state))) resolve();
    };
    engine.on('state', check);
    stop.addEventListener('abort', () => resolve(), { once: true });
  });
  const report = setInterval(() => log.info({ routes: engine.status().map(({ id, state, counters, inFlight, queueDepth }) => ({ id, state, counters, inFlight, queueDepth })) }, 'progress'), 60_000);
  report.unref();

  await (ownership ? ownership.start() : engine.start());
  started = true;
  check();
  await finished;
  // Sources that ran to their end (a replay) leave their items in the outbox: the job is done once the broker has
  // them. A signal meanwhile stops at once, and what is left waits in the outbox for the next start.
  if (config.outbox && !stop.aborted) await outboxEmptied(log, stop);
  clearInterval(report);
  stopWatching?.();
  await status?.publisher.stop();
  await ownership?.halt();
  const abandoned = await engine.stop(config.shutdownTimeoutMs);
  // Drained: the feeds go to whoever claims them next, from where their sources got to.
  await ownership?.release();
  await status?.producer.stop(1000);
  await live.stop();
  await imageCheck.stop();
  cursors?.close();
  await ops?.close();
  const routes = Object.fromEntries(engine.status().map((route) => [route.id, route.counters]));
  log.info({ routes, abandoned }, abandoned > 0 ? 'stopped; some messages were not confirmed' : 'stopped');
  return abandoned > 0 ? EXIT_ABANDONED : 0;
}

/** Runs a check of the worker's settings; what it throws becomes a StartupError (`run` prints it and exits 1). */
function startupCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new StartupError((error as Error).message);
  }
}
