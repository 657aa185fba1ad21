import type { KeyExpression, Predicate, Splitter, Transform } from '../engine/definition.js';
import type { Exchange } from '../engine/types.js';

/**
 * Simple expressions, for the YAML form: a value read from the exchange — a header by name, or a field of the body
 * by dotted path (`author.handle`, `images.0.url`) — and, for predicates, a test of that value. When the value is a
 * list, `equals` and `in` hold if any element does (`{ field: feeds, equals: cats }` keeps posts matched to cats).
 */
export interface ValueSource {
  from: 'header' | 'field';
  /** The header's name, or the field's dotted path. */
  name: string;
}

export type Operand = string | number | boolean | null;

export type ValueTest = { equals: Operand } | { in: readonly Operand[] } | { exists: boolean };

export const FIELD_PATH = /^[^.\s]+(\.[^.\s]+)*$/;

/** The value at a dotted path; a digit segment indexes a list. Only own properties: `constructor` is not a field. */
export function readField(body: unknown, path: string): unknown {
  let value = body;
  for (const segment of path.split('.')) {
    if (Array.isArray(value) && /^\d+$/.test(segment)) value = value[Number(segment)];
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, segment)) value = (value as Record<string, unknown>)[segment];
    else return undefined;
  }
  return value;
}

function read(source: ValueSource, exchange: Exchange): unknown {
  return source.from === 'header' ? (Object.hasOwn(exchange.headers, source.name) ? exchange.headers[source.name] : undefined) : readField(exchange.body, source.name);
}

/** Names the function, as the builder names a step after its function: `header:feed=cats`. */
function named<F extends (...args: never[]) => unknown>(fn: F, name: string): F {
  return Object.defineProperty(fn, 'name', { value: name });
}

function label(source: ValueSource): string {
  return `${source.from}:${source.name}`;
}

function operandText(operand: Operand): string {
  return typeof operand === 'string' ? operand : JSON.stringify(operand);
}

export function simplePredicate(source: ValueSource, test: ValueTest): Predicate {
  const accepts = (value: unknown): boolean => {
    if ('exists' in test) return (value !== undefined && value !== null) === test.exists;
    const wanted: readonly unknown[] = 'equals' in test ? [test.equals] : test.in;
    const candidates = Array.isArray(value) ? value : [value];
    return candidates.some((candidate) => wanted.includes(candidate));
  };
  const name =
    'exists' in test
      ? `${label(source)} ${test.exists ? 'exists' : 'missing'}`
      : 'equals' in test
        ? `${label(source)}=${operandText(test.equals)}`
        : `${label(source)} in [${test.in.map(operandText).join(', ')}]`;
  return named((exchange: Exchange) => accepts(read(source, exchange)), name);
}

/** The value itself, as the new body. */
export function simpleTransform(source: ValueSource): Transform {
  return named((exchange: Exchange) => read(source, exchange), label(source));
}

/** The value's elements as parts; a value that is not a list fails the exchange (it is redelivered, then dead-lettered). */
export function simpleSplitter(source: ValueSource): Splitter {
  return named((exchange: Exchange) => {
    const value = read(source, exchange);
    if (!Array.isArray(value)) throw new Error(`split ${label(source)}: expected a list, found ${value === null ? 'null' : typeof value}`);
    return value;
  }, label(source));
}

/** The value as a key. An exchange without one is never taken for a duplicate: its key is its own id. */
export function simpleKey(source: ValueSource): KeyExpression {
  return named((exchange: Exchange) => {
    const value = read(source, exchange);
    if (value === undefined || value === null) return `exchange:${exchange.id}`;
    return typeof value === 'string' ? value : JSON.stringify(value);
  }, label(source));
}
