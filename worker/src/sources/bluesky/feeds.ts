/**
 * Which feeds a post belongs to, by keyword. Jetstream, unlike X's filtered stream, sends every post, so the
 * worker matches them itself: case-insensitively, on whole words and hashtags, in any script.
 */

export interface FeedKeywords {
  name: string;
  /** `cat` matches the word or the hashtag ("Cat!", "#cat", not "catalog"); `#caturday` matches the hashtag only. */
  keywords: readonly string[];
}

/** Letters, digits, combining marks and `_` make up a word (and a hashtag), in every script. */
const WORD_CHAR = '[\\p{L}\\p{N}\\p{M}_]';
const WORD_CHAR_OR_HASH = '[\\p{L}\\p{N}\\p{M}_#]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One keyword as a pattern: its words may be separated by any whitespace, and it must not touch a word on either side. */
function keywordPattern(keyword: string): string | undefined {
  const normalised = keyword.normalize('NFC').trim();
  if (normalised === '' || normalised === '#') return undefined;
  const body = normalised.split(/\s+/u).map(escapeRegExp).join('\\s+');
  // A hashtag keyword must not be the tail of a longer one (`a#caturday`); a word may follow its `#`.
  const before = normalised.startsWith('#') ? `(?<!${WORD_CHAR_OR_HASH})` : `(?<!${WORD_CHAR})`;
  return `${before}${body}(?!${WORD_CHAR})`;
}

const compiled = new WeakMap<readonly FeedKeywords[], (text: string) => string[]>();

/** A matcher for `feeds`, compiled once (and cached per feeds array, so the route can pass the same list each time). */
export function feedMatcher(feeds: readonly FeedKeywords[]): (text: string) => string[] {
  const cached = compiled.get(feeds);
  if (cached) return cached;
  const patterns = feeds.flatMap((feed) => {
    const alternatives = feed.keywords.map(keywordPattern).filter((pattern): pattern is string => pattern !== undefined);
    return alternatives.length === 0 ? [] : [{ name: feed.name, pattern: new RegExp(alternatives.join('|'), 'iu') }];
  });
  const matcher = (text: string): string[] => {
    const normalised = text.normalize('NFC');
    return [...new Set(patterns.filter((feed) => feed.pattern.test(normalised)).map((feed) => feed.name))];
  };
  compiled.set(feeds, matcher);
  return matcher;
}

/** The names of the feeds (in the order given, each once) whose keywords `text` contains. */
export function matchFeeds(text: string, feeds: readonly FeedKeywords[]): string[] {
  return feedMatcher(feeds)(text);
}
