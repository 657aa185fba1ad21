import fc from 'fast-check';
import { englishDataset, englishRecommendedTransformers, RegExpMatcher, SyntaxKind, type Node } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { ProfanityFilter } from './profanity.js';

const filter = new ProfanityFilter();
/** The slow path: obscenity as the rules used it before. */
const obscenity = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
const { blacklistedTerms, whitelistedTerms = [] } = englishDataset.build();

/** obscenity's own transformed text, from its (private) applyTransformers: what ProfanityFilter.transformed must equal. */
function obscenityTransformed(text: string): string {
  const internals = obscenity as unknown as { applyTransformers(input: string, transformers: unknown): [number[], string]; blacklistMatcherTransformers: unknown };
  return internals.applyTransformers(text, internals.blacklistMatcherTransformers)[1];
}

/**
 * Every character that obscenity's character transformers turn into each letter: `a` from `A`, `4`, `@`, `ａ`, `🅰`…
 * (asked of the transformers themselves, over the BMP and the blocks of enclosed and mathematical letters).
 */
const disguises = new Map<number, string[]>();
const mappers = (englishRecommendedTransformers.blacklistMatcherTransformers ?? []).flatMap((transformer) => ('transform' in transformer ? [transformer.transform] : []));
for (const [from, to] of [[0, 0xd7ff], [0xe000, 0xffff], [0x1d400, 0x1d7ff], [0x1f100, 0x1f1ff]] as const) {
  for (let codePoint = from; codePoint <= to; codePoint++) {
    let char: number | undefined = codePoint;
    for (const mapper of mappers) char = char === undefined ? undefined : mapper(char);
    if (char === undefined || char === codePoint) continue;
    disguises.set(char, [...(disguises.get(char) ?? [String.fromCodePoint(char)]), String.fromCodePoint(codePoint)]);
  }
}

/** A letter as someone dodging the filter writes it: itself, in a look-alike or leet form, or repeated. */
const letter = (char: number) =>
  fc.tuple(fc.constantFrom(...(disguises.get(char) ?? [String.fromCodePoint(char)])), fc.constantFrom(1, 1, 1, 2, 3)).map(([form, times]) => form.repeat(times));

/** A text one of the dataset's patterns matches (before the whitelist): each optional part taken or not, wildcards any letter. */
const patternText = fc.constantFrom(...blacklistedTerms.map((term) => term.pattern.nodes)).chain((nodes) =>
  fc.tuple(
    ...nodes.map((node: Node) => {
      if (node.kind === SyntaxKind.Literal) return fc.tuple(...node.chars.map(letter)).map((forms) => forms.join(''));
      if (node.kind === SyntaxKind.Wildcard) return fc.constantFrom('a', 'x', '*', ' ', '0');
      const child = node.childNode;
      return fc.oneof(fc.constant(''), child.kind === SyntaxKind.Literal ? fc.tuple(...child.chars.map(letter)).map((forms) => forms.join('')) : fc.constantFrom('u', '*'));
    }),
  ).map((parts) => parts.join('')),
);

/** Around it: nothing, a space, letters that break a word boundary, punctuation, the whitelist's words, ordinary text. */
const context = fc.constantFrom('', ' ', 'a', 'sc', 'x', 'ing', '.', '!', '🐱', 'my cat ', ' is here', ...whitelistedTerms.map((term) => ` ${term} `));
const text = fc.array(fc.oneof(patternText, context, fc.constantFrom(...whitelistedTerms), fc.string({ maxLength: 6 })), { maxLength: 6 }).map((parts) => parts.join(''));

describe('ProfanityFilter', () => {
  it('decides as obscenity on texts made of the dataset\'s words in look-alike, leet and repeated letters, next to the whitelist\'s words', () => {
    let profane = 0;
    fc.assert(
      fc.property(text, (sample) => {
        expect(filter.transformed(sample)).toBe(obscenityTransformed(sample));
        const expected = obscenity.hasMatch(sample);
        expect(filter.hasMatch(sample)).toBe(expected);
        if (expected) profane++;
      }),
      { numRuns: 3000 },
    );
    // Both answers were tried many times.
    expect(profane).toBeGreaterThan(500);
    expect(profane).toBeLessThan(2500);
  }, 60_000);

  it('decides as obscenity on random text, astral characters and lone surrogates included', () => {
    const anyText = fc.array(fc.oneof(fc.integer({ min: 0, max: 0x10ffff }), fc.integer({ min: 0x20, max: 0x7e })), { maxLength: 40 }).map((codes) => String.fromCodePoint(...codes));
    fc.assert(
      fc.property(anyText, (sample) => {
        expect(filter.transformed(sample)).toBe(obscenityTransformed(sample));
        expect(filter.hasMatch(sample)).toBe(obscenity.hasMatch(sample));
      }),
      { numRuns: 1000 },
    );
  });

  it('finds each pattern of the dataset written plainly, and spares the whitelist (Scunthorpe)', () => {
    for (const term of blacklistedTerms) {
      const plain = term.pattern.nodes.map((node) => (node.kind === SyntaxKind.Literal ? String.fromCodePoint(...node.chars) : '')).join('');
      expect(filter.hasMatch(`so ${plain} today`), plain).toBe(obscenity.hasMatch(`so ${plain} today`));
    }
    for (const sample of ['what the fuck', 'sh1t happens', 'fuuuuck', 'b1tch', 'a$$hole', 'ＦＵＣＫ']) expect(filter.hasMatch(sample), sample).toBe(true);
    for (const sample of ['Scunthorpe', 'assassin', 'a classic cat', 'title', 'cocktail', 'my cat, asleep on the grass', '']) expect(filter.hasMatch(sample), sample).toBe(false);
  });
});
