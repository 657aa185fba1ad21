import { parseDuration, type Checker, type Path } from '../config.js';
import { RISKY_CLASSES, type RiskyClass } from './classes.js';

/** What a feed does with an item whose picture could not be checked (fetch refused, timeout, undecodable): drop or pass it. */
export const ON_ERROR = ['drop', 'pass'] as const;
export type OnError = (typeof ON_ERROR)[number];

/** A feed's `imageCheck:`: each picture classified before its item is published (image-check/README in docs/configuration.md). */
export interface ImageCheckConfig {
  /** An item with a picture whose probability for a class reaches that class's threshold is flagged. */
  thresholds: Partial<Record<RiskyClass, number>>;
  onError: OnError;
  /** The most an item waits for its verdict (fetch and classification of all its pictures), then onError decides. */
  timeoutMs: number;
  /** A thumbnail larger than this many bytes is refused. */
  maxBytes: number;
  /** A picture declaring more than this many pixels (width × height, read from its header) is refused undecoded. */
  maxPixels: number;
  /**
   * Pictures from this machine (localhost, 127.x.x.x, [::1]) may come over plain http: for a local demo, whose web
   * server has no certificate. Traffic that never leaves the machine has nobody in the middle to keep out; every
   * other host stays https only.
   */
  loopbackHttp: boolean;
}

/** The fields of `imageCheck:` (also the config schema's). */
export const IMAGE_CHECK_FIELDS = ['enabled', 'thresholds', 'onError', 'timeout', 'maxBytes', 'maxPixels', 'loopbackHttp'] as const;

/** What `enabled` takes besides true and false: words an environment variable can hold (`${VAR:-off}`). */
const ON = ['true', 'on', 'yes'];
const OFF = ['false', 'off', 'no'];

export const IMAGE_CHECK_DEFAULTS: ImageCheckConfig = {
  thresholds: { Porn: 0.7, Hentai: 0.7, Sexy: 0.9 },
  onError: 'drop',
  timeoutMs: 2000,
  maxBytes: 2 * 1024 * 1024,
  // 4096 × 4096: far above any thumbnail, far below what would take the worker's memory (a decoded pixel is 3–4 bytes).
  maxPixels: 4096 * 4096,
  loopbackHttp: false,
};

/**
 * Reads a feed's `imageCheck:`: absent or false is off; true or a mapping is on, the mapping's fields over the defaults
 * (thresholds as written replace the default ones: a class left out is not checked), unless its `enabled` is false or
 * off — read and checked all the same, so that turning it on from the environment meets no surprise. Problems go to
 * `check` at their file:line:column.
 */
export function parseImageCheck(check: Checker, value: unknown, path: Path): ImageCheckConfig | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  if (value === true) return { ...IMAGE_CHECK_DEFAULTS };
  const label = path.map((part) => (typeof part === 'number' ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[');
  const node = check.object(value, path, IMAGE_CHECK_FIELDS);
  if (!node) return undefined;
  const config: ImageCheckConfig = { ...IMAGE_CHECK_DEFAULTS };
  if (node.thresholds !== undefined) {
    const thresholds = check.object(node.thresholds, [...path, 'thresholds'], RISKY_CLASSES) ?? {};
    config.thresholds = {};
    for (const name of RISKY_CLASSES) {
      const threshold = thresholds[name];
      if (threshold === undefined) continue;
      if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) check.problem([...path, 'thresholds', name], `${label}.thresholds.${name} must be a probability above 0 and at most 1, such as 0.7`);
      else config.thresholds[name] = threshold;
    }
    if (Object.keys(thresholds).length === 0) check.problem([...path, 'thresholds'], `${label}.thresholds must set at least one of ${RISKY_CLASSES.join(', ')}`);
  }
  const onError = check.string(node.onError, [...path, 'onError'], { required: false });
  if (onError !== undefined) {
    if ((ON_ERROR as readonly string[]).includes(onError)) config.onError = onError as OnError;
    else check.problem([...path, 'onError'], `${label}.onError must be drop or pass, not ${JSON.stringify(onError)}`);
  }
  const timeoutText = check.string(node.timeout, [...path, 'timeout'], { required: false });
  if (timeoutText !== undefined) {
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined || timeoutMs < 50 || timeoutMs > 60_000) check.problem([...path, 'timeout'], `${label}.timeout must be a duration from 50ms to 60s, such as 2s, not ${JSON.stringify(timeoutText)}`);
    else config.timeoutMs = timeoutMs;
  }
  for (const [key, min] of [['maxBytes', 1024], ['maxPixels', 224 * 224]] as const) {
    const count = node[key];
    if (count === undefined) continue;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < min) check.problem([...path, key], `${label}.${key} must be a whole number, at least ${min}`);
    else config[key] = count;
  }
  if (node.loopbackHttp !== undefined) config.loopbackHttp = check.boolean(node.loopbackHttp, [...path, 'loopbackHttp'], false);
  return isEnabled(check, node.enabled, [...path, 'enabled'], label) ? config : undefined;
}

function isEnabled(check: Checker, value: unknown, path: Path, label: string): boolean {
  if (value === undefined || value === true) return true;
  if (value === false) return false;
  // A string as the config's others are: ${VAR} and ${VAR:-default} from the environment.
  const word = typeof value === 'string' ? check.string(value, path, { required: false })?.trim().toLowerCase() : undefined;
  if (word !== undefined && ON.includes(word)) return true;
  if (word !== undefined && OFF.includes(word)) return false;
  if (word !== undefined || typeof value !== 'string') check.problem(path, `${label}.enabled must be true or false (or on, off), not ${JSON.stringify(word ?? value)}`);
  return false;
}
