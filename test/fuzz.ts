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

/**
 * Bytes that are not UTF-8: two that never occur in it (0xff, 0xfe), a space, and a 4-byte character cut after its
 * second byte. A receiver that decodes as the WHATWG Encoding standard says reads them as INVALID_UTF8_TEXT.
 */
export const INVALID_UTF8 = Uint8Array.from([0xff, 0xfe, 0x20, 0xf0, 0x9f]);
export const INVALID_UTF8_TEXT = '\uFFFD\uFFFD \uFFFD';

/** `text` as UTF-8 with its first `marker` replaced by INVALID_UTF8: a good event with broken bytes inside one string. */
export function withInvalidUtf8(text: string, marker: string): Buffer {
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`withInvalidUtf8: ${JSON.stringify(marker)} is not in the text`);
  return Buffer.concat([Buffer.from(text.slice(0, at), 'utf8'), INVALID_UTF8, Buffer.from(text.slice(at + marker.length), 'utf8')]);
}

/** One change to a byte: overwrite it, insert one before it, or delete it (`at` modulo the length). */
export interface ByteEdit {
  kind: 'set' | 'insert' | 'delete';
  at: number;
  byte: number;
}

/**
 * `text` as UTF-8 bytes with `edits` applied, then decoded again as a receiver would (invalid sequences as U+FFFD):
 * what a broken link or producer makes of a real event, including halves of multi-byte characters.
 */
export function mutateBytes(text: string, edits: readonly ByteEdit[]): string {
  const bytes = [...Buffer.from(text, 'utf8')];
  for (const { kind, at, byte } of edits) {
    if (kind === 'insert') {
      bytes.splice(at % (bytes.length + 1), 0, byte & 0xff);
    } else if (bytes.length > 0) {
      const index = at % bytes.length;
      if (kind === 'set') bytes[index] = byte & 0xff;
      else bytes.splice(index, 1);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
