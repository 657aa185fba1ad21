/** Turns what a network calls text into the contract's plain text. */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: '\u00a0' };
const TAG = /<\/?[a-z!][^>]*>/gi;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Decodes the HTML entities X and Mastodon use in text. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+\d*);/gi, (entity, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return safeCodePoint(parseInt(lower.slice(2), 16)) ?? entity;
    if (lower.startsWith('#') && lower !== '#39') return safeCodePoint(parseInt(lower.slice(1), 10)) ?? entity;
    return ENTITIES[lower] ?? entity;
  });
}

function safeCodePoint(code: number): string | undefined {
  if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return String.fromCodePoint(code);
}

/** Cuts to `max` code points, ending with an ellipsis when anything was cut. */
export function truncate(text: string, max: number): string {
  // At most `max` UTF-16 units is at most `max` code points: no need to split the text into them.
  if (text.length <= max) return text;
  const points = [...text];
  if (points.length <= max) return text;
  return `${points.slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * Whether `text` is already plain, so that the passes of `plainText` would leave it as it is: no `&` (entities) or
 * `<` (tags), no control character, tab, no-break space or lone surrogate, no run of spaces, no space next to a
 * newline, nothing to trim at either end. One pass over the UTF-16 units; most posts' text is plain.
 */
function isPlain(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const c = text.charCodeAt(index);
    if (c >= 0x20 && c < 0x7f) {
      if (c === 0x26 || c === 0x3c) return false;
      if (c === 0x20) {
        const next = text.charCodeAt(index + 1);
        if (next === 0x20 || next === 0x0a) return false;
      }
    } else if (c === 0x0a) {
      if (text.charCodeAt(index + 1) === 0x20) return false;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is a pair; any other surrogate stands alone.
      const next = text.charCodeAt(index + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      index++;
    } else if (c < 0x20 || c === 0x7f || c === 0xa0) {
      return false;
    }
  }
  return text.trim().length === text.length;
}

/**
 * Plain text: entities decoded, tags and control characters removed, whitespace runs within a line collapsed,
 * at most `max` code points.
 */
export function plainText(text: string, max: number): string {
  if (isPlain(text)) return truncate(text, max);
  let previous: string;
  let plain = decodeEntities(text);
  // Removing one tag can join the halves of another ("<<b>b>"): repeat until nothing changes.
  do {
    previous = plain;
    plain = plain.replace(TAG, '');
  } while (plain !== previous);
  plain = plain.replace(LONE_SURROGATE, '\ufffd').replace(CONTROL, ' ').replace(/[ \t\u00a0]+/g, ' ').replace(/ *\n */g, '\n').trim();
  return truncate(plain, max);
}
