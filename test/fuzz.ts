/**
 * Replaces the value at a pseudo-random path of a JSON value (each step picks an array index or object key modulo
 * its size), the way a broken or hostile producer would: what the property tests feed the decoders. An
 * `undefined` replacement deletes the field once the value is serialised.
 */
export function mutateAt(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const [step, ...rest] = path as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const index = step % value.length;
    return value.map((item, i) => (i === index ? mutateAt(item, rest, replacement) : item));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[step % keys.length] as string;
  return { ...(value as Record<string, unknown>), [key]: mutateAt((value as Record<string, unknown>)[key], rest, replacement) };
}
