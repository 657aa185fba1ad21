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
  const points = [...text];
  if (points.length <= max) return text;
  return `${points.slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * Plain text: entities decoded, tags and control characters removed, whitespace runs within a line collapsed,
 * at most `max` code points.
 */
export function plainText(text: string, max: number): string {
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
