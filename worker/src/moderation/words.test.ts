import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceWordMatch } from './testing.js';
import { foldFully, foldText, WordMatcher } from './words.js';

const BLOCKED = ['ass', 'sex', 'spam link', 'casino'];
const matcher = new WordMatcher(BLOCKED);

/** Ways people dress a word up to get it past a filter; each keeps the word the same to a reader. */
const LOOK_ALIKES: Record<string, string> = { a: 'а', e: 'е', o: 'о', c: 'с', p: 'р', x: 'х', i: 'і', s: 'ѕ' };
const accents = ['\u0301', '\u0300', '\u0308', '\u0302'];
const evasion = fc.constantFrom<(letter: string) => string>(
  (letter) => letter.toUpperCase(),
  (letter) => letter + (accents[letter.charCodeAt(0) % accents.length] as string),
  (letter) => LOOK_ALIKES[letter] ?? letter,
  (letter) => String.fromCharCode(letter.charCodeAt(0) - 0x61 + 0xff41),
  (letter) => `${letter}\u200d`,
  (letter) => `${letter}\u200b`,
  (letter) => `${letter}.`,
  (letter) => `${letter}-`,
  (letter) => letter,
);

function disguise(word: string, evasions: ((letter: string) => string)[]): string {
  return [...word].map((letter, index) => (letter === ' ' ? ' ' : (evasions[index % evasions.length] as (letter: string) => string)(letter))).join('').replace(/[.-]+(\s|$)/gu, '$1');
}

describe('WordMatcher', () => {
  it('finds a blocked word or phrase whatever case, accents, look-alikes, fullwidth forms, zero-width characters and inner punctuation dress it in', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BLOCKED), fc.array(evasion, { minLength: 1, maxLength: 6 }), fc.constantFrom('', 'look: ', 'so much '), fc.constantFrom('', '!', ' today', ', really'), (word, evasions, before, after) => {
        expect(matcher.match(`${before}${disguise(word, evasions)}${after}`)).toBe(foldText(word));
      }),
    );
  });

  it('does not block a benign word that contains a blocked one (Scunthorpe)', () => {
    for (const text of ['Scunthorpe', 'a classic cat', 'assassin', 'Sussex', 'bass guitar', 'essex', 'casinos nearby? no', 'spamming links']) {
      expect(matcher.match(text), text).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.constantFrom(...BLOCKED.filter((word) => !word.includes(' '))), fc.stringMatching(/^[a-z]{1,4}$/), fc.boolean(), (word, extra, before) => {
        const longer = before ? `${extra}${word}` : `${word}${extra}`;
        fc.pre(!BLOCKED.includes(longer));
        expect(matcher.match(`my ${longer} today`)).toBeUndefined();
      }),
    );
  });

  it('matches a phrase only as its words in order', () => {
    expect(matcher.match('click this SPAM   link now')).toBe('spam link');
    expect(matcher.match('link spam')).toBeUndefined();
    expect(matcher.match('spam, and a link')).toBeUndefined();
  });

  it('reads alt text as any other text, and matches nothing when nothing is blocked', () => {
    expect(matcher.match('a cat', 'cat on a cаsino table')).toBe('casino');
    expect(new WordMatcher([]).match('sex')).toBeUndefined();
  });
});

describe('WordMatcher, fast path against the plain one', () => {
  /** Pieces of text the matcher treats specially: separators of every kind, look-alikes, marks, astral letters, emoji, lone surrogates. */
  const odd = ['', ' ', '  ', '\t', '\n', '\u00a0', '\u3000', '.', '-', "'", '#', '@', '!?', '\u200b', '\u200d', '\u00ad', '\u0301', 'ß', 'İ', 'ﬁ', 'ｘ', '𝐒', '𠀀', '🐱', '🧶📦', '\ud800', '\udc00', 'é', 'а', 'ѕ', 'ο', '1', '٣'];
  const letters = (alphabet: string, maxLength: number) => fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength }).map((chosen) => chosen.join(''));
  const blocked = fc.array(fc.oneof(fc.constantFrom(...BLOCKED, 'ß', 'straße', 'ﬁsh', 'été', 'one two three', '𝐒ex', 'c4t', '٣'), letters('abcdeé', 4), fc.tuple(letters('abc', 3), letters('abc', 3)).map((words) => words.join(' '))), { minLength: 1, maxLength: 8 });
  const piece = (entries: string[]) =>
    fc.oneof(
      fc.constantFrom(...entries),
      fc.constantFrom(...entries).chain((entry) => fc.array(evasion, { minLength: 1, maxLength: 4 }).map((evasions) => disguise(entry, evasions))),
      fc.constantFrom(...odd),
      letters('abcABC0é', 5),
      fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 4 }).map((codes) => String.fromCodePoint(...codes)),
    );
  const texts = (entries: string[]) => fc.array(fc.array(piece(entries), { maxLength: 12 }).map((pieces) => pieces.join('')), { minLength: 1, maxLength: 3 });

  it('returns what the plain matcher returns (the same first word or phrase, or none) on texts made of blocked words, evasions and odd characters', () => {
    let matched = 0;
    fc.assert(
      fc.property(blocked.chain((entries) => fc.tuple(fc.constant(entries), texts(entries))), ([entries, someTexts]) => {
        const expected = referenceWordMatch(entries, someTexts);
        expect(new WordMatcher(entries).match(...someTexts)).toBe(expected);
        if (expected !== undefined) matched++;
      }),
      { numRuns: 500 },
    );
    // Both outcomes were tried many times.
    expect(matched).toBeGreaterThan(100);
    expect(matched).toBeLessThan(400);
  }, 60_000);

  it('folds ASCII text as the full fold does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), (text) => {
        expect(foldText(text)).toBe(foldFully(text));
      }),
    );
  });
});
