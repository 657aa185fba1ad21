/** Header names whose values are never written to a log, at any depth. */
const SECRET = /password|token|secret|authorization/i;

export const REDACTED = '[redacted]';

/**
 * A copy of `headers` fit for a log line: values under a secret-looking name are replaced, errors become their
 * message, and nested plain objects and arrays are walked, so a secret cannot hide one level down.
 */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return redactObject(headers, new Set());
}

/** `ancestors` holds the objects above this one, to cut reference cycles. */
function redactObject(object: Record<string, unknown>, ancestors: Set<object>): Record<string, unknown> {
  ancestors.add(object);
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(object)) copy[name] = SECRET.test(name) ? REDACTED : redactValue(value, ancestors);
  ancestors.delete(object);
  return copy;
}

function redactValue(value: unknown, ancestors: Set<object>): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[circular]';
  if (Array.isArray(value)) {
    ancestors.add(value);
    const copy = value.map((item: unknown) => redactValue(item, ancestors));
    ancestors.delete(value);
    return copy;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return redactObject(value as Record<string, unknown>, ancestors);
}
