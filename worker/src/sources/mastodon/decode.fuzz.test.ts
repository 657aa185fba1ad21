import { ImageAllowList } from '@livewall/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutateAt, mutateBytes, type ByteEdit } from '../../../../test/fuzz.js';
import { contractVerdict } from '../../pipeline/testing.js';
import { decodeMastodonJson, decodeMastodonStatus, type MastodonEvent } from './decode.js';
import { realStatuses } from './fake-statuses.js';

const imageHosts = new ImageAllowList(['files.mastodon.social']);

const hostile = fc.oneof(
  fc.jsonValue(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    'javascript:alert(1)',
    'http://mastodon.social/@a/1',
    '<script>alert(1)</script>',
    '&lt;b&gt;x&lt;/b&gt;',
    '<<b>b>',
    '\ud800',
    'x'.repeat(100_000),
    -1,
    1e308,
    null,
    [],
    {},
  ),
);

const TAG = /<\/?[a-z!][^>]*>/i;

/** Whatever a status decodes to is a post or a short fixed reason; a post has https URLs and no markup, and mapping it never throws. */
function decodedSafely(event: MastodonEvent): void {
  expect(['post', 'invalid']).toContain(event.kind);
  if (event.kind !== 'post') {
    expect(event.reason).toMatch(/^[a-z-]{3,20}$/);
    return;
  }
  expect(new URL(event.post.url).protocol).toBe('https:');
  expect(event.post.text).not.toMatch(TAG);
  for (const media of event.post.media) {
    for (const url of [media.url, media.previewUrl]) if (url !== undefined) expect(new URL(url).protocol).toBe('https:');
    expect(media.url ?? media.previewUrl).toBeDefined();
  }
  expect(typeof contractVerdict({ ...event.post, feeds: ['cats'] }, imageHosts)).toBe('string');
}

function survives(value: unknown): void {
  decodedSafely(decodeMastodonStatus(value, 'mastodon.social'));
}

/** The real statuses as the wire carries them: JSON text. */
const rawStatuses = realStatuses.map((status) => JSON.stringify(status));
const byteEdit: fc.Arbitrary<ByteEdit> = fc.record({ kind: fc.constantFrom('set', 'insert', 'delete'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });

describe('decodeMastodonStatus survives garbage', () => {
  it('random JSON values and text (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }).map((text) => ({ ...realStatuses[0], content: text }))), (value) => {
        survives(value);
        expect(() => decodeMastodonJson(JSON.stringify(value) ?? '', 'mastodon.social')).not.toThrow();
      }),
      { numRuns: 10_000 },
    );
  });

  it('real statuses with one value replaced anywhere (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...realStatuses), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), hostile, (status, path, replacement) => {
        survives(mutateAt(status, path, replacement));
      }),
      { numRuns: 10_000 },
    );
  });

  it('raw JSON text of real statuses, cut short or with bytes changed, inserted or deleted (10,000 cases)', () => {
    // Cut at a byte, as a broken connection would: halves of multi-byte characters become U+FFFD.
    const truncated = fc.constantFrom(...rawStatuses).chain((text) => {
      const bytes = Buffer.from(text, 'utf8');
      return fc.nat(bytes.length).map((cut) => bytes.subarray(0, cut).toString('utf8'));
    });
    const mutated = fc.tuple(fc.constantFrom(...rawStatuses), fc.array(byteEdit, { minLength: 1, maxLength: 8 })).map(([text, edits]) => mutateBytes(text, edits));
    let posts = 0;
    fc.assert(
      fc.property(fc.oneof(truncated, mutated), (text) => {
        const event = decodeMastodonJson(text, 'mastodon.social');
        decodedSafely(event);
        if (event.kind === 'post') posts++;
      }),
      { numRuns: 10_000 },
    );
    // The mutations must not all break the JSON: some land in text and still decode, the harder case (about 1 in 10;
    // a floor of half that, so no seed fails it).
    expect(posts).toBeGreaterThan(500);
  });

  it('HTML made of tags, entities and text never leaves a tag behind (10,000 cases)', () => {
    const piece = fc.oneof(
      fc.constantFrom('<p>', '</p>', '<br>', '<br />', '<a href="https://x.example">', '</a>', '<span class="invisible">', '</span>', '<', '>', '&lt;', '&gt;', '&amp;', '&#60;', '&#x3c;', '<script>', '</script>', 'b', '/', ' ', '!'),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')), (content) => {
        survives({ ...realStatuses[0], content });
      }),
      { numRuns: 10_000 },
    );
  });
});
