import { readFileSync } from 'node:fs';
import { ImageAllowList, validateFeedItem } from '@livewall/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toFeedItem } from '../../pipeline/mapper.js';
import { decodeXLine } from './decode.js';

const recording = readFileSync(new URL('../../../../samples/x-cats.ndjson', import.meta.url), 'utf8')
  .split('\r\n')
  .filter((line) => line.trim() !== '');
const realEvents = recording.map((line) => JSON.parse(line) as Record<string, unknown>);
const imageHosts = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app']);

/** Replaces the value at a random path of a JSON value, the way a broken or hostile producer would. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const [step, ...rest] = path as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const index = step % value.length;
    return value.map((item, i) => (i === index ? mutate(item, rest, replacement) : item));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[step % keys.length] as string;
  return { ...(value as Record<string, unknown>), [key]: mutate((value as Record<string, unknown>)[key], rest, replacement) };
}

const hostile = fc.oneof(
  fc.jsonValue(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('javascript:alert(1)', 'http://pbs.twimg.com/x.jpg', 'https://evil.example/x.jpg', '<script>alert(1)</script>', '\ud800', 'x'.repeat(100_000), -1, 1e308, null),
);

/** Whatever a line decodes to, mapping it and checking the contract never throws, and what passes is safe. */
function survives(line: string): void {
  const event = decodeXLine(line);
  expect(['post', 'keep-alive', 'stream-error', 'invalid']).toContain(event.kind);
  if (event.kind !== 'post') return;
  const mapped = toFeedItem(event.post, 'cats', { imageHosts, videoPreviews: true, receivedAt: new Date(0) });
  if (!mapped.ok) return;
  const item = { ...mapped.item, publishedAt: new Date(0).toISOString() };
  const validation = validateFeedItem(item, imageHosts);
  if (!validation.ok) return;
  for (const image of item.images) {
    expect(new URL(image.url).protocol).toBe('https:');
    expect(['pbs.twimg.com', 'cdn.bsky.app']).toContain(new URL(image.url).hostname);
  }
  expect(item.text).not.toMatch(/<\/?[a-z!][^>]*>/i);
}

describe('decodeXLine and the mapper survive garbage', () => {
  it('random text, truncated and raw bytes (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue().map((value) => JSON.stringify(value) ?? ''), fc.constantFrom(...recording).chain((line) => fc.nat(line.length).map((cut) => line.slice(0, cut)))), (line) => {
        survives(line);
      }),
      { numRuns: 10_000 },
    );
  });

  it('real events with one field replaced by a wrong type, a hostile string or a huge one (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...realEvents), fc.array(fc.nat(50), { minLength: 1, maxLength: 6 }), hostile, (event, path, replacement) => {
        survives(JSON.stringify(mutate(event, path, replacement)));
      }),
      { numRuns: 10_000 },
    );
  });
});
