/** Helpers for the moderation tests: the slow paths that the fast ones must decide exactly as. */
import { foldFully } from './words.js';

/**
 * The blocked-word matcher as first written, plainly: each text folded in full, split into words with regular
 * expressions in both readings (at every non-letter, and with punctuation inside a run of non-space characters
 * dropped), each position tried against the phrases starting with its word. `WordMatcher` must return what this does.
 */
export function referenceWordMatch(entries: readonly string[], texts: readonly string[]): string | undefined {
  const byFirstWord = new Map<string, string[][]>();
  for (const entry of entries) {
    const words = foldFully(entry).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (words[0] === undefined) continue;
    byFirstWord.set(words[0], [...(byFirstWord.get(words[0]) ?? []), words]);
  }
  for (const text of texts) {
    const folded = foldFully(text);
    const split = folded.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    const glued = folded
      .split(/\s+/u)
      .map((chunk) => chunk.replace(/[^\p{L}\p{N}]+/gu, ''))
      .filter(Boolean);
    for (const words of [split, glued]) {
      for (let at = 0; at < words.length; at++) {
        for (const phrase of byFirstWord.get(words[at] as string) ?? []) {
          if (phrase.every((word, offset) => words[at + offset] === word)) return phrase.join(' ');
        }
      }
    }
  }
  return undefined;
}
