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
}

/** The fields of `imageCheck:` (also the config schema's). */
export const IMAGE_CHECK_FIELDS = ['thresholds', 'onError', 'timeout', 'maxBytes', 'maxPixels'] as const;

export const IMAGE_CHECK_DEFAULTS: ImageCheckConfig = {
  thresholds: { Porn: 0.7, Hentai: 0.7, Sexy: 0.9 },
  onError: 'drop',
  timeoutMs: 2000,
  maxBytes: 2 * 1024 * 1024,
  // 4096 × 4096: far above any thumbnail, far below what would take the worker's memory (a decoded pixel is 3–4 bytes).
  maxPixels: 4096 * 4096,
};

/**
 * Reads a feed's `imageCheck:`: absent or false is off; true or a mapping is on, the mapping's fields over the defaults
 * (thresholds as written replace the default ones: a class left out is not checked). Problems go to `check` at their
 * file:line:column.
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
  return config;
}
