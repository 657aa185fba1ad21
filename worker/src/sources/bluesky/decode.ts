import type { Media, Post } from '../../post.js';
import { feedMatcher, type FeedKeywords } from './feeds.js';

/**
 * Decodes one message of Bluesky's Jetstream (`/subscribe?wantedCollections=app.bsky.feed.post`), the JSON
 * Jetstream makes of the firehose: `{did, time_us, kind: "commit" | "identity" | "account", commit?: {…}}`.
 *
 * Posts' authors are DIDs (`author.id`, and the handle until the route's `appview:` step looks them up); `identity`
 * events are kept for that step's cache. Every well-formed event carries `time_us`, the cursor a client resumes from, so `other` keeps it too. Anything
 * malformed is `invalid` with a short fixed reason that is used as a counter label, so it stays low-cardinality.
 */
export type BlueskyEvent =
  | { kind: 'post'; post: Post; timeUs: number }
  /** An account's handle changed: `handle` is the new one, as the relay verified it (`handle.invalid` when it did not). */
  | { kind: 'identity'; did: string; handle?: string; timeUs: number }
  | { kind: 'other'; timeUs: number }
  | { kind: 'invalid'; reason: string };

const POST_COLLECTION = 'app.bsky.feed.post';
/** did:plc and did:web (the two methods Bluesky allows), in the characters the DID syntax permits. */
const DID = /^did:(?:plc|web):[A-Za-z0-9._:%-]{1,2000}$/;
/** The atproto record-key syntax; `.` and `..` are reserved. */
const RECORD_KEY = /^(?!\.{1,2}$)[A-Za-z0-9._:~-]{1,512}$/;
/** A blob CID as the firehose writes it: CIDv1, base32 (`bafkrei…`). */
const BLOB_CID = /^b[a-z2-7]{20,200}$/;
/** RFC 3339 as atproto datetimes must be; Date.parse alone would take far more. */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** A post holds at most four images; more would be a malformed record. */
const MAX_IMAGES = 4;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** JSON can carry lone surrogates (`"\ud800"`); they would break whatever encodes the text as UTF-8 later. */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** The full-size image of blob `cid` of `did`, as Bluesky's CDN serves it (always re-encoded as JPEG). */
export function blueskyImageUrl(did: string, cid: string): string {
  return `https://cdn.bsky.app/img/feed_fullsize/plain/${did}/${cid}@jpeg`;
}

/**
 * The thumbnail of a full-size Bluesky CDN image URL (`feed_fullsize` → `feed_thumbnail`); any other URL is
 * returned as it is. The mapper derives thumbs per network: this is Bluesky's rule.
 */
export function blueskyThumb(url: string): string {
  return url.replace(/^https:\/\/cdn\.bsky\.app\/img\/feed_fullsize\//, 'https://cdn.bsky.app/img/feed_thumbnail/');
}

/** The images of a post's embed: `app.bsky.embed.images`, or the media half of `app.bsky.embed.recordWithMedia`. */
function embeddedImages(embed: unknown): unknown[] {
  if (!isRecord(embed)) return [];
  if (embed.$type === 'app.bsky.embed.images') return Array.isArray(embed.images) ? embed.images : [];
  if (embed.$type === 'app.bsky.embed.recordWithMedia') return embeddedImages(embed.media);
  return [];
}

/**
 * The self-label values that mark adult or graphic media (`gore` on older posts); others, such as
 * `!no-unauthenticated`, say nothing about the media.
 */
const SENSITIVE_LABELS = new Set(['porn', 'sexual', 'nudity', 'graphic-media', 'gore']);

/**
 * The sensitive values among a record's self-labels (`{$type: "com.atproto.label.defs#selfLabels", values: [{val}]}`),
 * each once. Jetstream carries the author's own labels only, not those Bluesky's moderation services apply later.
 */
function sensitiveSelfLabels(labels: unknown): string[] {
  if (!isRecord(labels) || labels.$type !== 'com.atproto.label.defs#selfLabels' || !Array.isArray(labels.values)) return [];
  const values = labels.values.map((label: unknown) => (isRecord(label) ? label.val : undefined));
  return [...new Set(values.filter((value): value is string => typeof value === 'string' && SENSITIVE_LABELS.has(value)))];
}

function decodeImage(did: string, raw: unknown): Media | undefined {
  if (!isRecord(raw) || !isRecord(raw.image)) return undefined;
  const blob = raw.image;
  // Current blobs link their CID as `ref.$link`; records written before 2023 carry a bare `cid`.
  const cid = isRecord(blob.ref) ? blob.ref.$link : blob.cid;
  if (typeof cid !== 'string' || !BLOB_CID.test(cid)) return undefined;
  const media: Media = { kind: 'photo', url: blueskyImageUrl(did, cid) };
  if (typeof raw.alt === 'string' && raw.alt.trim() !== '') media.alt = wellFormed(raw.alt);
  if (isRecord(raw.aspectRatio)) {
    // An aspect ratio, not pixels; the page only uses the proportion to lay out tiles before images load.
    const width = positiveInteger(raw.aspectRatio.width);
    const height = positiveInteger(raw.aspectRatio.height);
    if (width && height) Object.assign(media, { width, height });
  }
  return media;
}

/**
 * Decodes one Jetstream message. With `feeds`, the post's `feeds` are those whose keywords its text matches
 * (see feeds.ts); without, they are left empty for the route to fill.
 */
export function decodeJetstreamEvent(text: string, feeds: readonly FeedKeywords[] = []): BlueskyEvent {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not-json' };
  }
  if (!isRecord(event)) return { kind: 'invalid', reason: 'not-an-object' };
  const timeUs = positiveInteger(event.time_us);
  if (timeUs === undefined) return { kind: 'invalid', reason: 'no-time' };
  if (typeof event.did !== 'string' || !DID.test(event.did)) return { kind: 'invalid', reason: 'bad-did' };
  const did = event.did;

  if (event.kind === 'identity') {
    const identity = isRecord(event.identity) ? event.identity : {};
    return typeof identity.handle === 'string' ? { kind: 'identity', did, handle: identity.handle, timeUs } : { kind: 'identity', did, timeUs };
  }
  if (event.kind !== 'commit') return { kind: 'other', timeUs };
  const commit = event.commit;
  if (!isRecord(commit)) return { kind: 'invalid', reason: 'bad-commit' };
  if (commit.collection !== POST_COLLECTION || commit.operation !== 'create') return { kind: 'other', timeUs };
  if (typeof commit.rkey !== 'string' || !RECORD_KEY.test(commit.rkey)) return { kind: 'invalid', reason: 'bad-rkey' };
  const rkey = commit.rkey;
  const record = commit.record;
  if (!isRecord(record) || typeof record.text !== 'string') return { kind: 'invalid', reason: 'bad-record' };

  const createdAt =
    typeof record.createdAt === 'string' && DATETIME.test(record.createdAt) && !Number.isNaN(Date.parse(record.createdAt))
      ? new Date(record.createdAt).toISOString()
      : new Date(Math.floor(timeUs / 1000)).toISOString();
  const media = embeddedImages(record.embed)
    .slice(0, MAX_IMAGES)
    .map((image) => decodeImage(did, image))
    .filter((image): image is Media => image !== undefined);
  const postText = wellFormed(record.text);

  const post: Post = {
    network: 'bluesky',
    nativeId: `${did}/${rkey}`,
    url: `https://bsky.app/profile/${did}/post/${rkey}`,
    // Jetstream carries the DID only: the route's appview: step looks up the handle and display name.
    author: { id: did, handle: did, url: `https://bsky.app/profile/${did}` },
    text: postText,
    createdAt,
    media,
    feeds: feeds.length === 0 ? [] : feedMatcher(feeds)(postText),
  };
  const labels = sensitiveSelfLabels(record.labels);
  if (labels.length > 0) post.sensitive = { reasons: labels };
  return { kind: 'post', post, timeUs };
}
