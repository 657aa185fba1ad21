import type { OptionValues, OptionsSchema } from '../../engine/types.js';

/** The options of `file:`, as docs, lint and the runtime read them. */
export const fileOptionsSchema = {
  mkdirs: { type: 'boolean', default: true, doc: 'Producer: create the file\'s missing parent folders on start.' },
  fsync: { type: 'boolean', default: false, doc: 'Producer: fsync after each write batch, so a send resolves only once the lines are on disk.' },
  follow: { type: 'boolean', default: false, doc: 'Consumer: at the end of the file, wait for more lines (like tail -f) instead of ending.' },
} as const satisfies OptionsSchema;

export interface FileProducerOptions {
  mkdirs: boolean;
  fsync: boolean;
}

export interface FileConsumerOptions {
  follow: boolean;
}

/** The checked values, typed; resolveOptions has filled in every default. */
export function fileOptions(values: OptionValues): FileProducerOptions & FileConsumerOptions {
  return { mkdirs: values.mkdirs === true, fsync: values.fsync === true, follow: values.follow === true };
}
