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

const NOT_ASCII = /[\u0080-\uffff]/;

/** Text as the matcher compares it: compatibility forms and accents undone, format characters gone, lower case, look-alikes folded. */
export function foldText(text: string): string {
  // ASCII has no compatibility forms, accents, format characters or look-alikes: lower case is all its folding.
  return NOT_ASCII.test(text) ? foldFully(text) : text.toLowerCase();
}

/** foldText without its shortcut for ASCII. */
export function foldFully(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .toLowerCase()
    .replace(CONFUSABLE, (letter) => CONFUSABLES[letter] as string);
}

/** How the readings below see a code point of folded text: part of a word (a letter or digit), white space, or other. */
const WORD = 1;
const SPACE = 2;
const OTHER = 3;
/** Each code point's kind, found once with the same Unicode classes as the matcher's definition (0: not yet). */
const bmpKinds = new Uint8Array(0x10000);
const astralKinds = new Map<number, number>();

function classify(codePoint: number): number {
  const character = String.fromCodePoint(codePoint);
  return /[\p{L}\p{N}]/u.test(character) ? WORD : /\s/u.test(character) ? SPACE : OTHER;
}

function kindOf(codePoint: number): number {
  if (codePoint < 0x10000) {
    const kind = bmpKinds[codePoint] as number;
    return kind !== 0 ? kind : (bmpKinds[codePoint] = classify(codePoint));
  }
  let kind = astralKinds.get(codePoint);
  if (kind === undefined) astralKinds.set(codePoint, (kind = classify(codePoint)));
  return kind;
}

/**
 * The words of a text, folded, in two readings: split at every character that is not a letter or digit
 * (`well-known` → `well`, `known`), and with punctuation inside a run of non-space characters dropped
 * (`s.e.x` → `sex`). A blocked word or phrase matches either reading. The second reading is given only when it
 * differs from the first: when a run of non-space characters holds more than one word.
 */
export function wordsOf(text: string): string[][] {
  const folded = foldText(text);
  // One pass: the first reading's words, and for each the run of non-space characters (chunk) it is in.
  const split: string[] = [];
  const chunks: number[] = [];
  let chunk = 0;
  let start = -1;
  let glued = false;
  const endWord = (end: number) => {
    if (chunks.length > 0 && chunks[chunks.length - 1] === chunk) glued = true;
    split.push(folded.slice(start, end));
    chunks.push(chunk);
    start = -1;
  };
  for (let at = 0; at < folded.length; ) {
    const codePoint = folded.codePointAt(at) as number;
    const kind = kindOf(codePoint);
    if (kind === WORD) {
      if (start < 0) start = at;
    } else {
      if (start >= 0) endWord(at);
      if (kind === SPACE) chunk++;
    }
    at += codePoint > 0xffff ? 2 : 1;
  }
  if (start >= 0) endWord(folded.length);
  if (!glued) return [split];
  // The second reading: the words of one chunk glued together.
  const gluedWords: string[] = [];
  split.forEach((word, index) => {
    if (index > 0 && chunks[index] === chunks[index - 1]) gluedWords[gluedWords.length - 1] += word;
    else gluedWords.push(word);
  });
  return [split, gluedWords];
}

/**
 * A compiled list of blocked words and phrases: built once per rules change, asked once per text. Each word of a text
 * costs one map lookup (of the phrases starting with it), however many words are blocked.
 */
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
