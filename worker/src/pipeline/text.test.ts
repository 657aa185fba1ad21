import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntities, plainText, truncate } from './text.js';

describe('decodeEntities', () => {
  it('decodes the named entities X uses', () => {
    expect(decodeEntities('Tea &amp; naps')).toBe('Tea & naps');
    expect(decodeEntities('I &lt;3 my cat')).toBe('I <3 my cat');
    expect(decodeEntities('fed -&gt; happy')).toBe('fed -> happy');
    expect(decodeEntities('&quot;meow&quot; &apos;purr&#39;')).toBe('"meow" \'purr\'');
    expect(decodeEntities('a&nbsp;b')).toBe('a\u00a0b');
    expect(decodeEntities('&AMP; &Lt;')).toBe('& <');
  });

  it('decodes numeric entities, decimal and hex', () => {
    expect(decodeEntities('&#128049;')).toBe('🐱');
    expect(decodeEntities('&#x1F431;')).toBe('🐱');
    expect(decodeEntities('&#X1f431;')).toBe('🐱');
    expect(decodeEntities('&#65;&#x42;')).toBe('AB');
  });

  it('decodes once: an escaped entity stays an entity', () => {
    expect(decodeEntities('&amp;lt;b&amp;gt;')).toBe('&lt;b&gt;');
  });

  it('keeps unknown entities and code points that are not characters as text', () => {
    for (const text of ['&bogus;', '&#0;', '&#xD800;', '&#55357;', '&#xDFFF;', '&#x110000;', '&#1114112;', '& amp;', '&amp', 'AT&T']) {
      expect(decodeEntities(text), text).toBe(text);
    }
    expect(decodeEntities('&bogus; &amp; &#0;')).toBe('&bogus; & &#0;');
  });
});

describe('truncate', () => {
  it('keeps text within the limit unchanged', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('', 3)).toBe('');
  });

  it('cuts to max code points, the last one an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    const cut = truncate('🐱'.repeat(10), 5);
    expect(cut).toBe('🐱🐱🐱🐱…');
    expect([...cut]).toHaveLength(5);
    // Never splits a surrogate pair.
    expect(truncate('a🐱🐱🐱', 3)).toBe('a🐱…');
  });

  it('does not leave a space before the ellipsis', () => {
    expect(truncate('ab   cdef', 4)).toBe('ab…');
  });
});

describe('plainText', () => {
  it('decodes entities', () => {
    expect(plainText('I &lt;3 my cat &amp; her box', 500)).toBe('I <3 my cat & her box');
  });

  it('strips tags, also escaped ones and ones hidden inside others', () => {
    expect(plainText('so <b>bold</b> move', 500)).toBe('so bold move');
    expect(plainText('<script>alert(1)</script>hi', 500)).toBe('alert(1)hi');
    expect(plainText('&lt;script&gt;alert(1)&lt;/script&gt;', 500)).toBe('alert(1)');
    expect(plainText('<<b>b>hi<</b>/b>', 500)).toBe('hi');
    expect(plainText('<<<b>b>b>x', 500)).toBe('x');
    expect(plainText('<!-- x -->ok', 500)).toBe('ok');
    // Not tags: a < that does not start one stays.
    expect(plainText('1 < 2 > 0 and I <3 you', 500)).toBe('1 < 2 > 0 and I <3 you');
    const markup = /<\/?[a-z!][^>]*>/i;
    for (const text of ['<<b>b>', '<<<a>a>a>', '&lt;<b>b&gt;', '<scr<b>ipt>', '<<!b>!b>']) {
      expect(plainText(text, 500), text).not.toMatch(markup);
    }
  });

  it('turns control characters into spaces and lone surrogates into U+FFFD', () => {
    expect(plainText('a\u0000b\u0007c\u001bd\u007fe', 500)).toBe('a b c d e');
    expect(plainText('one\r\ntwo', 500)).toBe('one\ntwo');
    expect(plainText('lone \ud83d and \udc31', 500)).toBe('lone \ufffd and \ufffd');
    expect(plainText('pair 🐱', 500)).toBe('pair 🐱');
  });

  it('collapses whitespace within a line and trims', () => {
    expect(plainText('  a \t\u00a0 b  \n   c  ', 500)).toBe('a b\nc');
    expect(plainText('a&nbsp;&nbsp;b', 500)).toBe('a b');
    expect(plainText('para one\n\npara two', 500)).toBe('para one\n\npara two');
    expect(plainText(' \t\n ', 500)).toBe('');
  });

  it('cuts to max code points after cleaning', () => {
    // 600 characters of source, 500 once entities are decoded.
    expect(plainText('&amp;'.repeat(100) + 'a'.repeat(400), 500)).toBe('&'.repeat(100) + 'a'.repeat(400));
    const long = plainText('🐱'.repeat(600), 500);
    expect([...long]).toHaveLength(500);
    expect(long.endsWith('🐱…')).toBe(true);
  });
});

describe('plainText on random text', () => {
  /** plainText as a chain of regex passes, as it was written before its one-pass check for text that is already plain. */
  // eslint-disable-next-line no-control-regex
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  const TAG = /<\/?[a-z!][^>]*>/gi;
  function byRegexes(text: string, max: number): string {
    let previous: string;
    let plain = decodeEntities(text);
    do {
      previous = plain;
      plain = plain.replace(TAG, '');
    } while (plain !== previous);
    plain = plain.replace(LONE_SURROGATE, '\ufffd').replace(CONTROL, ' ').replace(/[ \t\u00a0]+/g, ' ').replace(/ *\n */g, '\n').trim();
    const points = [...plain];
    return points.length <= max ? plain : `${points.slice(0, max - 1).join('').trimEnd()}…`;
  }
  // Mostly plain characters and spaces, so that plain text (the one-pass path) and its near misses come up often.
  const unit = fc.oneof(
    { arbitrary: fc.constantFrom('a', 'b', 'z', '1', '.', ';', '#', '🐱', 'é'), weight: 5 },
    { arbitrary: fc.constantFrom(' ', '\n'), weight: 3 },
    fc.constantFrom('\t', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u0000', '\u0007', '\u007f', '&', '&amp;', '&lt;', '<', '>', '/', '!', '\ud83d', '\udc31'),
  );

  it('gives what the regex passes gave (20,000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 })), fc.constantFrom(3, 8, 500), (text, max) => {
        expect(plainText(text, max), JSON.stringify(text)).toBe(byRegexes(text, max));
      }),
      { numRuns: 20_000 },
    );
  });
});
