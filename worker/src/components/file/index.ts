import { resolve } from 'node:path';
import type { Component, EndpointContext } from '../../engine/types.js';
import { FileConsumer } from './consumer.js';
import { fileOptions, fileOptionsSchema } from './options.js';
import { FileProducer } from './producer.js';

/** The file a URI names; a relative path is taken from the config file's folder. */
function fileOf(context: EndpointContext): string {
  return resolve(context.baseDir, context.uri.path);
}

/**
 * `file:PATH` — newline-delimited JSON. As a producer it appends one line per exchange (a dead-letter file:
 * `file:dead-letters.ndjson`); as a consumer it reads one message per line, at the pace the route takes them.
 */
export const fileComponent: Component = {
  scheme: 'file',
  doc: 'Appends exchanges to, or reads them from, a file of newline-delimited JSON.',
  options: fileOptionsSchema,
  path: { doc: 'the file, relative to the config file\'s folder, e.g. file:dead-letters.ndjson', required: true },
  createProducer(context) {
    const file = fileOf(context);
    return new FileProducer(file, fileOptions(context.options), context.clock, context.log.child({ endpoint: context.uri.raw }));
  },
  createConsumer(context) {
    const file = fileOf(context);
    return new FileConsumer(file, fileOptions(context.options), context.clock, context.log.child({ endpoint: context.uri.raw }));
  },
};
