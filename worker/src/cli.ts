#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AmqpPublisher } from './amqp/publisher.js';
import { ConfigError, loadConfig, type WorkerConfig } from './config.js';
import { Worker } from './worker.js';

const USAGE = `usage: livewall-worker run --config FILE

  run      replay the configured source and publish its image posts to the broker
           --config FILE   the worker's YAML configuration (see worker/config/)

Environment: LOG_LEVEL (info), and any \${VAR} the config file names.
Exit codes: 0 done, 1 bad usage or config, 3 stopped with messages not yet confirmed by the broker.`;

/** Exit code when a shutdown had to abandon messages the broker had not confirmed. */
const EXIT_ABANDONED = 3;

async function run(config: WorkerConfig): Promise<number> {
  const log = pino({ name: 'livewall-worker', level: process.env.LOG_LEVEL ?? 'info' });
  const publisher = new AmqpPublisher(
    { url: config.broker.url, username: config.broker.username, password: config.broker.password },
    log.child({ component: 'amqp' }),
  );
  const worker = new Worker(config, publisher, log);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    log.info({ signal }, 'stopping: no new events; draining what was taken');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ config: config.file, broker: config.broker.url, feeds: config.feeds.map((feed) => feed.name), imageHosts: config.imageHostEntries }, 'starting');
  publisher.start();
  const report = setInterval(() => log.info({ ...worker.counters.snapshot(), amqp: publisher.stats }, 'progress'), 60_000);
  report.unref();
  try {
    await worker.run(stop.signal);
  } finally {
    clearInterval(report);
  }
  const abandoned = await publisher.close(config.shutdownTimeoutMs);
  await worker.drained();
  log.info({ ...worker.counters.snapshot(), abandoned }, abandoned > 0 ? 'stopped; some messages were not confirmed' : 'stopped');
  return abandoned > 0 ? EXIT_ABANDONED : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === 'help' ? 0 : 1;
  }
  let values: { config?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true }));
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
    config = loadConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  return run(config);
}

process.exitCode = await main(process.argv.slice(2));
