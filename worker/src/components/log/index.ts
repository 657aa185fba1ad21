import type { Component } from '../../engine/types.js';
import { logOptions, logOptionsSchema } from './options.js';
import { LogProducer } from './producer.js';

/** `log:NAME` — writes each exchange as a log line (a producer only). `--dry-run` puts it in place of brokers. */
export const logComponent: Component = {
  scheme: 'log',
  doc: 'Writes one structured log line per exchange, headers with secrets redacted; sends nothing anywhere.',
  options: logOptionsSchema,
  path: { doc: 'a logger name, e.g. log:items', required: true },
  createProducer(context) {
    return new LogProducer(context.uri.path, logOptions(context.options), context.log.child({ endpoint: context.uri.raw }));
  },
};
