import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutateAt } from '../../../../test/fuzz.js';
import { decodeJetstreamEvent } from './decode.js';
import { realEvents } from './testing.js';

const hostileValue = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    'javascript:alert(1)',
    'http://cdn.bsky.app/x.jpg',
    'https://evil.example/x.jpg',
    '//evil.example',
    'did:plc:x/../../evil.example',
    'bafkrei/../../evil',
    '\ud800',
    '\udfff\ud800',
    'x'.repeat(100_000),
    '2024-09-09T19:46:02.102Z',
    -1,
    0,
    1e308,
    Number.MAX_SAFE_INTEGER,
    null,
    { $link: 'bafkreibjfgx2gprinfvicegelk5kosd6y2frmqpqzwqkg7usac74l3t2v4' },
  ),
);

/** A real event with up to three values replaced or deleted anywhere in it. */
const mutatedEvent = fc
  .tuple(fc.constantFrom(...realEvents), fc.array(fc.tuple(fc.array(fc.nat(), { maxLength: 8 }), hostileValue), { minLength: 1, maxLength: 3 }))
  .map(([event, changes]) => JSON.stringify(changes.reduce<unknown>((value, [path, replacement]) => mutateAt(value, path, replacement), event)) ?? '');

const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.jsonValue().map((value) => JSON.stringify(value) ?? ''),
  mutatedEvent,
  // Truncated real events, and ones with a lone surrogate escaped into them.
  fc.constantFrom(...realEvents.map((event) => JSON.stringify(event))).chain((line) => fc.nat(line.length).map((cut) => line.slice(0, cut))),
  fc.constantFrom(...realEvents.map((event) => JSON.stringify(event))).chain((line) =>
    fc.nat(line.length).map((at) => `${line.slice(0, at)}\\ud83d${line.slice(at)}`),
  ),
);

describe('decodeJetstreamEvent survives garbage', () => {
  it('never throws; every post has https URLs and only cdn.bsky.app images (10,000 cases)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const event = decodeJetstreamEvent(text);
        expect(['post', 'identity', 'other', 'invalid']).toContain(event.kind);
        if (event.kind === 'invalid') {
          expect(event.reason).toMatch(/^[a-z-]{3,20}$/);
          return;
        }
        expect(Number.isSafeInteger(event.timeUs) && event.timeUs > 0).toBe(true);
        if (event.kind !== 'post') return;
        const { post } = event;
        expect(new URL(post.url).protocol).toBe('https:');
        expect(new URL(post.url).hostname).toBe('bsky.app');
        expect(new URL(post.author.url ?? '').hostname).toBe('bsky.app');
        expect(Number.isNaN(Date.parse(post.createdAt))).toBe(false);
        expect(post.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
        for (const media of post.media) {
          const url = new URL(media.url ?? '');
          expect(url.protocol).toBe('https:');
          expect(url.hostname).toBe('cdn.bsky.app');
          expect(url.pathname.startsWith('/img/feed_fullsize/plain/did:')).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
