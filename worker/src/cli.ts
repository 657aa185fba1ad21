#!/usr/bin/env node
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { defaultComponents } from './components/index.js';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { Engine } from './engine/engine.js';
import type { RouteState } from './engine/route.js';
import { systemClock } from './engine/types.js';
import { feedRoute } from './feeds.js';

const USAGE = `usage: livewall-worker run --config FILE [--dry-run]

  run      run the configured feeds: each is a route from its source to its topic on the broker
           --config FILE   the worker's YAML configuration (see worker/config/)
           --dry-run       send to log: instead of the broker, to try a feed without touching production

Environment: LOG_LEVEL (info), and any \${VAR} the config file names.
Exit codes: 0 done, 1 bad usage or config, 3 stopped with messages not yet confirmed by the broker.`;

/** Exit code when a shutdown had to abandon messages the broker had not confirmed. */
const EXIT_ABANDONED = 3;
const FINISHED: readonly RouteState[] = ['completed', 'stopped', 'failed'];

async function run(config: WorkerConfig, dryRun: boolean): Promise<number> {
  const log = pino({ name: 'livewall-worker', level: process.env.LOG_LEVEL ?? 'info' });
  const engine = new Engine(defaultComponents(), {
    baseDir: dirname(config.file),
    clock: systemClock,
    log,
    settings: { amqp: config.broker },
  });
  for (const feed of config.feeds) {
    engine.add(feedRoute(config, feed, dryRun ? { producerUri: (topic) => `log:${topic}` } : {}));
  }
  // One line per state change; never one per message at info level.
  engine.on('state', ({ route, state, previous }) => log.info({ route, state, previous }, `route ${route} ${state}`));
  engine.on('retry', ({ route, error, delayMs }) => log.warn({ route, err: error, retryInMs: delayMs }, `route ${route} retrying`));

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    log.info({ signal }, 'stopping: no new events; draining what was taken');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ config: config.file, broker: dryRun ? 'dry run: log:' : config.broker.url, feeds: config.feeds.map((feed) => feed.name), imageHosts: config.imageHostEntries }, 'starting');
  const finished = new Promise<void>((resolve) => {
    const check = (): void => {
      if (engine.list().every((route) => FINISHED.includes(route.status().state))) resolve();
    };
    engine.on('state', check);
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const report = setInterval(() => log.info({ routes: engine.status().map(({ id, state, counters, inFlight, queueDepth }) => ({ id, state, counters, inFlight, queueDepth })) }, 'progress'), 60_000);
  report.unref();

  await engine.start();
  await finished;
  clearInterval(report);
  const abandoned = await engine.stop(config.shutdownTimeoutMs);
  const routes = Object.fromEntries(engine.status().map((route) => [route.id, route.counters]));
  log.info({ routes, abandoned }, abandoned > 0 ? 'stopped; some messages were not confirmed' : 'stopped');
  return abandoned > 0 ? EXIT_ABANDONED : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === 'help' ? 0 : 1;
  }
  let values: { config?: string; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, 'dry-run': { type: 'boolean' } }, strict: true }));
  } catch (error) {
    process.stderr.write(`livewall-worker: ${(error as Error).message}\n${USAGE}\n`);
    return 1;
  }
  if (!values.config) {
    process.stderr.write(`livewall-worker run: --config FILE is required\n`);
    return 1;
  }
  let config: WorkerConfig;
  try {
    config = loadConfig(values.config, process.env, { requireBroker: !values['dry-run'] });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  return run(config, values['dry-run'] ?? false);
}

process.exitCode = await main(process.argv.slice(2));
