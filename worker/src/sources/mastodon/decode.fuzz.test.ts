import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutateAt } from '../../../../test/fuzz.js';
import { decodeMastodonJson, decodeMastodonStatus } from './decode.js';
import { realStatuses } from './fake-statuses.js';


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

function survives(value: unknown): void {
  const event = decodeMastodonStatus(value, 'mastodon.social', { sensitive: true });
  expect(['post', 'invalid']).toContain(event.kind);
  if (event.kind !== 'post') return;
  expect(new URL(event.post.url).protocol).toBe('https:');
  expect(event.post.text).not.toMatch(TAG);
  for (const media of event.post.media) {
    const url = media.url ?? media.previewUrl;
    expect(url && new URL(url).protocol).toBe('https:');
  }
}

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
