import type { OptionValues, OptionsSchema } from '../../engine/types.js';

export const logLevels = ['debug', 'info', 'warn'] as const;
export type LogLevel = (typeof logLevels)[number];

/** The options of `log:`, as docs, lint and the runtime read them. */
export const logOptionsSchema = {
  level: { type: 'enum', values: logLevels, default: 'info', doc: 'Level of the line written for each exchange.' },
  showBody: { type: 'boolean', default: true, doc: 'Include the body, as JSON text, in each line.' },
  maxChars: { type: 'integer', default: 500, min: 1, doc: 'The body JSON is cut to this many characters.' },
} as const satisfies OptionsSchema;

export interface LogOptions {
  level: LogLevel;
  showBody: boolean;
  maxChars: number;
}

/** The checked values, typed; resolveOptions has filled in every default. */
export function logOptions(values: OptionValues): LogOptions {
  return { level: values.level as LogLevel, showBody: values.showBody === true, maxChars: values.maxChars as number };
}
