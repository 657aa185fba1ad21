import type { OptionValues, OptionsSchema } from '../../engine/types.js';

export const logLevels = ['debug', 'info', 'warn'] as const;
export type LogLevel = (typeof logLevels)[number];
export const logFormats = ['exchange', 'item'] as const;
export type LogFormat = (typeof logFormats)[number];

/** The options of `log:`, as docs, lint and the runtime read them. */
export const logOptionsSchema = {
  level: { type: 'enum', values: logLevels, default: 'info', doc: 'Level of the line written for each exchange.' },
  showBody: { type: 'boolean', default: true, doc: 'Include the body, as JSON text, in each line.' },
  maxChars: { type: 'integer', default: 500, min: 1, doc: 'The body JSON is cut to this many characters.' },
  format: {
    type: 'enum',
    values: logFormats,
    default: 'exchange',
    doc: "`exchange`: the headers and the body as JSON text. `item`: the body is a feed item, written whole (as `item`), and the message is the name and the item's line as `tap` prints it, all a terminal shows; `run --dry-run` writes a feed's items this way.",
  },
} as const satisfies OptionsSchema;

export interface LogOptions {
  level: LogLevel;
  showBody: boolean;
  maxChars: number;
  format: LogFormat;
}

/** The checked values, typed; resolveOptions has filled in every default. */
export function logOptions(values: OptionValues): LogOptions {
  return { level: values.level as LogLevel, showBody: values.showBody === true, maxChars: values.maxChars as number, format: values.format as LogFormat };
}
