import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { ITEM_FIELD } from './item-line.js';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How a command logs: the lowest level written, readable lines or JSON lines, and whether in colour. */
export interface LogSettings {
  level: string;
  format: LogFormat;
  color: boolean;
}

function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

/**
 * A command's log settings from its environment, and whether its log goes to a terminal: LOG_LEVEL (else
 * `fallbackLevel`); LOG_FORMAT `pretty` or `json`, and when unset readable lines on a terminal and JSON lines
 * anywhere else (a file, a pipe, a log collector); colour only on a terminal, and never with NO_COLOR. A value it
 * does not know gives the message to print instead.
 */
export function logSettings(env: NodeJS.ProcessEnv, terminal: boolean, fallbackLevel: string): LogSettings | { error: string } {
  const level = env.LOG_LEVEL?.trim() || fallbackLevel;
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(level)) return { error: `LOG_LEVEL must be one of ${levels.join(', ')}, not ${JSON.stringify(level)}` };
  const asked = env.LOG_FORMAT?.trim().toLowerCase() || undefined;
  if (asked !== undefined && !isLogFormat(asked)) return { error: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, not ${JSON.stringify(env.LOG_FORMAT)}` };
  const format = asked ?? (terminal ? 'pretty' : 'json');
  return { level, format, color: format === 'pretty' && terminal && !env.NO_COLOR };
}

export interface LoggerOptions extends LogSettings {
  /** The logger's name, in each JSON line. */
  name: string;
  /** The file descriptor written to: 1 (stdout) or 2 (stderr). */
  fd: number;
  /** Readable lines end with the record's fields (the default); false for a command whose messages say it all. */
  fields?: boolean;
}

/**
 * A command's logger, pino, in the format its settings say. Written synchronously either way: a command exits as soon
 * as it is done (the worker even sooner, on a second signal or the stop deadline), and its last lines ('stopped',
 * with what was abandoned) must not be lost. Nothing logs a line per message at info level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const out = pino.destination({ dest: options.fd, sync: true });
  return pino({ name: options.name, level: options.level }, options.format === 'json' ? out : prettyLines(out, options));
}

/**
 * Each JSON line pino writes, as a readable line (time, level, message, then the fields on the same line) written at
 * once to `out`. A record that holds a feed item (ITEM_FIELD) is just its message, the item's line as `tap` prints it.
 */
function prettyLines(out: DestinationStream, options: LoggerOptions): DestinationStream {
  const line = prettyFactory({
    colorize: options.color,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    // Fields on the message's line; without them, the line ends where the message does (singleLine would not end it).
    singleLine: options.fields !== false,
    hideObject: options.fields === false,
  });
  return {
    write(json: string): void {
      const record = JSON.parse(json) as Record<string, unknown>;
      const item = record[ITEM_FIELD];
      out.write(typeof item === 'object' && item !== null ? `${String(record.msg)}\n` : line(record));
    },
  };
}
