import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldText, WordMatcher } from './words.js';

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
