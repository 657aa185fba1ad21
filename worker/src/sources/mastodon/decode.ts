import type { Media, Post } from '../../post.js';
import { decodeEntities } from '../../pipeline/text.js';

/**
 * Decodes one Mastodon Status entity (`GET /api/v1/timelines/tag/TAG`, or the `update` event of the hashtag
 * stream) into a Post. Anything unusable is `invalid` with a short fixed reason that is used as a counter label,
 * so it stays low-cardinality.
 *
 * Reblogs are skipped (`reblog`): a tag timeline carries the original status itself when it has the tag, so
 * unwrapping the boost would show the same picture twice, under the booster's timestamp. Sensitive statuses (media
 * behind a content warning) are decoded with `sensitive` set: each feed's `sensitive:` setting decides, as for the
 * other networks' flags.
 */
export type MastodonEvent = { kind: 'post'; post: Post } | { kind: 'invalid'; reason: string };

export interface MastodonDecodeOptions {
  /** The feeds the post belongs to (the route knows; a status does not). Default none. */
  feeds?: string[];
}

/** Mastodon ids are numeric strings; other servers of the API (Pleroma, Akkoma) use alphanumeric flake ids. */
const STATUS_ID = /^[A-Za-z0-9]{1,64}$/;
/** `user` on its own instance, `user@domain` for a remote one. */
const ACCT = /^[A-Za-z0-9_.-]{1,64}(?:@[A-Za-z0-9.-]{1,253})?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;
const MEDIA_KINDS: Record<string, Media['kind']> = { image: 'photo', gifv: 'gif', video: 'video' };
/** Mastodon allows four attachments; more would be a malformed entity. */
const MAX_MEDIA = 4;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The URL when it is an absolute https URL, else undefined. */
function httpsUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function dimension(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

const BREAK = /<br\s*\/?>/gi;
const PARAGRAPH = /<\/p>\s*<p(?:\s[^>]*)?>/gi;
const SCRIPT = /<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const TAG = /<\/?[a-z!][^>]*>/gi;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function stripTags(text: string): string {
  let previous: string;
  let stripped = text;
  // Removing one tag can join the halves of another ("<<b>b>"): repeat until nothing changes.
  do {
    previous = stripped;
    stripped = stripped.replace(TAG, '');
  } while (stripped !== previous);
  return stripped;
}

/**
 * Mastodon's status HTML as plain text: paragraphs and `<br>` become line breaks, every tag goes (the hidden
 * `invisible` spans of a shortened link keep their text, so links come out whole), entities are decoded.
 * Text that only looks like a tag once decoded (`&lt;b&gt;`) is removed too: the feed item's text must hold none.
 */
export function htmlToText(html: string): string {
  const lines = html
    .replace(/[\r\n]+/g, ' ')
    .replace(SCRIPT, '')
    .replace(PARAGRAPH, '\n\n')
    .replace(BREAK, '\n');
  return stripTags(decodeEntities(stripTags(lines)))
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function decodeMedia(raw: unknown): Media | undefined {
  if (!isRecord(raw)) return undefined;
  const kind = typeof raw.type === 'string' ? MEDIA_KINDS[raw.type] : undefined;
  if (!kind) return undefined;
  const media: Media = { kind };
  if (kind === 'photo') {
    const url = httpsUrl(raw.url);
    if (!url) return undefined;
    media.url = url;
    // The small copy Mastodon made is the tile's thumbnail; the mapper falls back to `url` when it cannot be used.
    const previewUrl = httpsUrl(raw.preview_url);
    if (previewUrl) media.previewUrl = previewUrl;
  } else {
    const previewUrl = httpsUrl(raw.preview_url);
    if (!previewUrl) return undefined;
    media.previewUrl = previewUrl;
  }
  const alt = optionalString(raw.description);
  if (alt) media.alt = alt.replace(LONE_SURROGATE, '\uFFFD');
  const original = isRecord(raw.meta) && isRecord(raw.meta.original) ? raw.meta.original : {};
  const width = dimension(original.width);
  const height = dimension(original.height);
  if (width && height) {
    media.width = width;
    media.height = height;
  }
  return media;
}

/**
 * `value` is a parsed Status entity; `instance` is the host it came from (`mastodon.social`), which completes the
 * handles of its local accounts (`acct` `alice` → `alice@mastodon.social`).
 */
export function decodeMastodonStatus(value: unknown, instance: string, options: MastodonDecodeOptions = {}): MastodonEvent {
  if (!isRecord(value)) return { kind: 'invalid', reason: 'not-an-object' };
  if (value.reblog !== undefined && value.reblog !== null) return { kind: 'invalid', reason: 'reblog' };
  if (typeof value.id !== 'string' || !STATUS_ID.test(value.id)) return { kind: 'invalid', reason: 'bad-id' };
  const url = httpsUrl(value.url) ?? httpsUrl(value.uri);
  if (!url) return { kind: 'invalid', reason: 'bad-url' };
  if (typeof value.created_at !== 'string' || !DATETIME.test(value.created_at) || Number.isNaN(Date.parse(value.created_at))) {
    return { kind: 'invalid', reason: 'bad-created-at' };
  }
  if (typeof value.content !== 'string') return { kind: 'invalid', reason: 'bad-content' };
  const account = value.account;
  if (!isRecord(account) || typeof account.acct !== 'string' || !ACCT.test(account.acct)) return { kind: 'invalid', reason: 'no-author' };

  const attachments = Array.isArray(value.media_attachments) ? value.media_attachments : [];
  if (attachments.length > MAX_MEDIA) return { kind: 'invalid', reason: 'too-many-media' };
  const media = attachments.map(decodeMedia).filter((decoded): decoded is Media => decoded !== undefined);

  const handle = account.acct.includes('@') ? account.acct : `${account.acct}@${instance}`;
  const post: Post = {
    network: 'mastodon',
    nativeId: value.id,
    url,
    author: { handle },
    text: htmlToText(value.content),
    createdAt: new Date(value.created_at).toISOString(),
    media,
    feeds: [...(options.feeds ?? [])],
  };
  // The author's own flag (a content warning on the media); the instance's moderators' later actions are not in it.
  if (value.sensitive === true) post.sensitive = { reasons: ['sensitive'] };
  const name = optionalString(account.display_name);
  if (name) post.author.name = name.replace(LONE_SURROGATE, '\uFFFD');
  // A status and its author live on one instance; the contract refuses a profile link elsewhere, so the post keeps
  // its picture and loses only the link that does not fit.
  const authorUrl = httpsUrl(account.url);
  if (authorUrl && new URL(authorUrl).hostname === new URL(url).hostname) post.author.url = authorUrl;
  return { kind: 'post', post };
}

/** The same for a status as JSON text: how the `mastodon:` source offers it, and how a recording holds it. */
export function decodeMastodonJson(text: string, instance: string, options: MastodonDecodeOptions = {}): MastodonEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not-json' };
  }
  return decodeMastodonStatus(value, instance, options);
}
