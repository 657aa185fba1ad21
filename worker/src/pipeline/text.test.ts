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
