import { readFileSync } from 'node:fs';
import { ImageAllowList, validateFeedItem } from '@livewall/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutateAt } from '../../../../test/fuzz.js';
import { toFeedItem } from '../../pipeline/mapper.js';
import { decodeXLine } from './decode.js';

const recording = readFileSync(new URL('../../../../samples/x-cats.ndjson', import.meta.url), 'utf8')
  .split('\r\n')
  .filter((line) => line.trim() !== '');
const realEvents = recording.map((line) => JSON.parse(line) as Record<string, unknown>);
const imageHosts = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app']);


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
        survives(JSON.stringify(mutateAt(event, path, replacement)));
      }),
      { numRuns: 10_000 },
    );
  });
});
