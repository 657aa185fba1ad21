/**
 * Whole-word matching of the operator's blocked words and phrases, after folding what people use to slip a word
 * past a filter: case, accents, fullwidth and other compatibility forms (NFKD), zero-width and other format
 * characters, look-alike letters of other scripts, and punctuation inside a word (`s.e.x`, `s-e-x`). A word is
 * matched whole, so a blocked `ass` does not block `classic` or `assassin`.
 */

/** Letters of other scripts that look like Latin ones (Cyrillic, Greek), folded to the Latin letter they imitate. */
const CONFUSABLES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ї: 'i', ј: 'j', ѕ: 's', ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ӏ: 'l',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ς: 'c', ω: 'w',
  ı: 'i', ł: 'l', ø: 'o', đ: 'd', ß: 'ss', æ: 'ae', œ: 'oe',
};
const CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');

/** Text as the matcher compares it: compatibility forms and accents undone, format characters gone, lower case, look-alikes folded. */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .toLowerCase()
    .replace(CONFUSABLE, (letter) => CONFUSABLES[letter] as string);
}

/**
 * The words of a text, folded, in two readings: split at every character that is not a letter or digit
 * (`well-known` → `well`, `known`), and with punctuation inside a run of non-space characters dropped
 * (`s.e.x` → `sex`). A blocked word or phrase matches either reading.
 */
export function wordsOf(text: string): string[][] {
  const folded = foldText(text);
  const split = folded.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const glued = folded
    .split(/\s+/u)
    .map((chunk) => chunk.replace(/[^\p{L}\p{N}]+/gu, ''))
    .filter(Boolean);
  return glued.length === split.length && glued.every((word, index) => word === split[index]) ? [split] : [split, glued];
}

/** A compiled list of blocked words and phrases: built once per rules change, asked once per text. */
export class WordMatcher {
  /** Each phrase's words, by its first word (a single word is a phrase of one). */
  private readonly byFirstWord = new Map<string, string[][]>();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const words = foldText(entry).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
      const first = words[0];
      if (first === undefined) continue;
      const phrases = this.byFirstWord.get(first) ?? [];
      phrases.push(words);
      this.byFirstWord.set(first, phrases);
    }
  }

  get size(): number {
    return this.byFirstWord.size;
  }

  /** The first blocked word or phrase the texts contain, as folded; undefined when they contain none. */
  match(...texts: readonly string[]): string | undefined {
    if (this.byFirstWord.size === 0) return undefined;
    for (const text of texts) {
      for (const words of wordsOf(text)) {
        for (let at = 0; at < words.length; at++) {
          for (const phrase of this.byFirstWord.get(words[at] as string) ?? []) {
            if (phrase.every((word, offset) => words[at + offset] === word)) return phrase.join(' ');
          }
        }
      }
    }
    return undefined;
  }
}
