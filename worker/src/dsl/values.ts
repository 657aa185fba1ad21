import type { Checker, Path } from '../config.js';
import { parseDuration } from '../engine/uri.js';

/**
 * Readers for the scalar settings of a YAML route. Each returns the value, or undefined when it is absent (the
 * builder's default applies) or wrong (a problem is reported at the value). Strings may use `${VAR}`.
 */

function nameOf(path: Path): string {
  return String([...path].reverse().find((part) => typeof part === 'string') ?? 'value');
}

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The text of a scalar after `${VAR}` expansion; numbers and booleans as written. Undefined (reported) otherwise. */
function scalarText(check: Checker, value: unknown, path: Path): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return check.problem(path, `${nameOf(path)} needs a value`);
  if (typeof value !== 'string') return check.problem(path, `${nameOf(path)} must be a single value, not ${Array.isArray(value) ? 'a list' : 'a mapping'}`);
  return check.string(value, path, { required: true });
}

/**
 * Milliseconds from `200ms`, `10s`, `2m`, `1h`. The unit is required: the config's other durations read a bare
 * number as seconds, URI options read it as milliseconds, and a route should not leave the reader guessing.
 */
export function readDuration(check: Checker, value: unknown, path: Path): number | undefined {
  if (value === undefined) return undefined;
  const text = scalarText(check, value, path);
  if (text === undefined) return undefined;
  const ms = /[a-z]\s*$/.test(text) ? parseDuration(text) : undefined;
  if (ms === undefined) return check.problem(path, `${nameOf(path)} must be a duration with a unit, such as 500ms or 10s, not ${shown(value)}`);
  return ms;
}

export function readInteger(check: Checker, value: unknown, path: Path, range: { min: number; max?: number }): number | undefined {
  if (value === undefined) return undefined;
  const text = scalarText(check, value, path);
  if (text === undefined) return undefined;
  const number = /^\s*-?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  const bounds = range.max === undefined ? `at least ${range.min}` : `from ${range.min} to ${range.max}`;
  if (!Number.isSafeInteger(number) || number < range.min || (range.max !== undefined && number > range.max)) {
    return check.problem(path, `${nameOf(path)} must be a whole number ${bounds}, not ${shown(value)}`);
  }
  return number;
}

export function readNumber(check: Checker, value: unknown, path: Path, range: { min: number; max?: number }): number | undefined {
  if (value === undefined) return undefined;
  const text = scalarText(check, value, path);
  if (text === undefined) return undefined;
  const number = /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  const bounds = range.max === undefined ? `at least ${range.min}` : `from ${range.min} to ${range.max}`;
  if (Number.isNaN(number) || number < range.min || (range.max !== undefined && number > range.max)) {
    return check.problem(path, `${nameOf(path)} must be a number ${bounds}, not ${shown(value)}`);
  }
  return number;
}

export function readEnum<Value extends string>(check: Checker, value: unknown, path: Path, values: readonly Value[]): Value | undefined {
  if (value === undefined) return undefined;
  const text = scalarText(check, value, path);
  if (text === undefined) return undefined;
  if (!(values as readonly string[]).includes(text)) return check.problem(path, `${nameOf(path)} must be one of ${values.join(', ')}, not ${shown(value)}`);
  return text as Value;
}
