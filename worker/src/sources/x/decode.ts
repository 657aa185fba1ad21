import { isRealDateTime } from '@livewall/contract';
import type { Media, Post } from '../../post.js';

/**
 * Decodes one line of the X API v2 filtered stream (`GET /2/tweets/search/stream` with
 * `expansions=attachments.media_keys,author_id`), the same for the live stream and a recording of it.
 *
 * A line is a JSON object, an empty keep-alive, or an error object the stream sends before it disconnects.
 * Anything else is `invalid` with a short reason that is used as a counter label, so it stays low-cardinality.
 */
export type XStreamEvent =
  | { kind: 'post'; post: Post }
  | { kind: 'keep-alive' }
  /** `problem` is one of STREAM_PROBLEMS (a counter label); `title` and `detail` are X's words, cut short, for logs. */
  | { kind: 'stream-error'; problem: StreamProblem; title: string; detail: string }
  | { kind: 'invalid'; reason: string };

/**
 * The specific problems X names in a stream error: the `connection_issue` of a ConnectionException, the
 * `disconnect_type` of an operational disconnect (X API v2's ConnectionExceptionProblem and
 * OperationalDisconnectProblem).
 */
const SPECIFIC_PROBLEMS = [
  'TooManyConnections',
  'ProvisioningSubscription',
  'RuleConfigurationIssue',
  'RulesInvalidIssue',
  'OperationalDisconnect',
  'UpstreamOperationalDisconnect',
  'ForceDisconnect',
  'UpstreamUncleanDisconnect',
  'SlowReader',
  'InternalError',
  'ClientApplicationStateDegraded',
  'InvalidRules',
] as const;
/** Titles that only say which kind of error it is. */
const GENERIC_TITLES = ['ConnectionException', 'operational-disconnect'] as const;

/**
 * What an X stream error is, as a counter label: the specific problem when X names one, else the kind its title
 * gives, else `unknown`. A fixed set, so that whatever a stream sends, the labels of /metrics stay bounded.
 */
export const STREAM_PROBLEMS = [...SPECIFIC_PROBLEMS, ...GENERIC_TITLES, 'unknown'] as const;
export type StreamProblem = (typeof STREAM_PROBLEMS)[number];

const SPECIFIC: ReadonlySet<string> = new Set(SPECIFIC_PROBLEMS);
const GENERIC: ReadonlySet<string> = new Set(GENERIC_TITLES);
/** The fields that name the specific problem: X's documented ones, and `message`, which some errors carry instead. */
const PROBLEM_FIELDS = ['connection_issue', 'disconnect_type', 'message'] as const;
/** An X problem object on its own, not wrapped in `errors` (how a ConnectionException can come): its `type`. */
const PROBLEM_TYPE = /^https:\/\/api\.(?:twitter|x)\.com\/2\/problems\//;
/** X's own words in a log line: enough to read, not enough to flood the log. */
const MAX_LOGGED_CHARS = 300;

/** The counter label for X's problem object `error` (from the stream, or the body of an error status). */
export function streamProblem(error: Record<string, unknown>): StreamProblem {
  for (const field of PROBLEM_FIELDS) {
    const value = error[field];
    if (typeof value === 'string' && SPECIFIC.has(value)) return value as StreamProblem;
  }
  return typeof error.title === 'string' && GENERIC.has(error.title) ? (error.title as StreamProblem) : 'unknown';
}

function streamError(error: Record<string, unknown>): XStreamEvent {
  return {
    kind: 'stream-error',
    problem: streamProblem(error),
    title: (optionalString(error.title) ?? 'unknown error').slice(0, MAX_LOGGED_CHARS),
    detail: (optionalString(error.detail) ?? optionalString(error.message) ?? '').slice(0, MAX_LOGGED_CHARS),
  };
}

interface XMedia {
  media_key?: unknown;
  type?: unknown;
  url?: unknown;
  preview_image_url?: unknown;
  alt_text?: unknown;
  width?: unknown;
  height?: unknown;
}

interface XUser {
  id?: unknown;
  username?: unknown;
  name?: unknown;
}

const MEDIA_KINDS: Record<string, Media['kind']> = { photo: 'photo', video: 'video', animated_gif: 'gif' };
const NUMERIC_ID = /^\d{1,25}$/;
/** How X writes `created_at`, and `toISOString` too: such a time of a real day needs no parsing and formatting. */
const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const USERNAME = /^\w{1,50}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalDimension(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function decodeMedia(raw: XMedia): Media | undefined {
  const kind = typeof raw.type === 'string' ? MEDIA_KINDS[raw.type] : undefined;
  if (!kind) return undefined;
  const media: Media = { kind };
  const url = optionalString(raw.url);
  const previewUrl = optionalString(raw.preview_image_url);
  const alt = optionalString(raw.alt_text);
  const width = optionalDimension(raw.width);
  const height = optionalDimension(raw.height);
  if (url) media.url = url;
  if (previewUrl) media.previewUrl = previewUrl;
  if (alt) media.alt = alt;
  if (width) media.width = width;
  if (height) media.height = height;
  return media;
}

export function decodeXLine(line: string): XStreamEvent {
  if (line.trim() === '') return { kind: 'keep-alive' };
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: 'not-json' };
  }
  if (!isRecord(event)) return { kind: 'invalid', reason: 'not-an-object' };

  const data = event.data;
  if (data === undefined && Array.isArray(event.errors)) {
    const first: unknown = event.errors[0];
    return streamError(isRecord(first) ? first : {});
  }
  if (data === undefined && typeof event.type === 'string' && PROBLEM_TYPE.test(event.type)) return streamError(event);
  if (!isRecord(data)) return { kind: 'invalid', reason: 'no-data' };
  if (typeof data.id !== 'string' || !NUMERIC_ID.test(data.id)) return { kind: 'invalid', reason: 'bad-id' };
  if (typeof data.text !== 'string') return { kind: 'invalid', reason: 'bad-text' };
  if (typeof data.created_at !== 'string') return { kind: 'invalid', reason: 'bad-created-at' };
  let createdAt: string = data.created_at;
  if (!(CANONICAL_TIME.test(createdAt) && isRealDateTime(createdAt))) {
    const time = Date.parse(createdAt);
    if (Number.isNaN(time)) return { kind: 'invalid', reason: 'bad-created-at' };
    createdAt = new Date(time).toISOString();
  }

  const includes = isRecord(event.includes) ? event.includes : {};
  let author: XUser | undefined;
  if (Array.isArray(includes.users)) {
    for (const user of includes.users as unknown[]) {
      if (isRecord(user) && user.id === data.author_id) {
        author = user;
        break;
      }
    }
  }
  if (!author || typeof author.username !== 'string' || !USERNAME.test(author.username)) return { kind: 'invalid', reason: 'no-author' };

  const mediaByKey = new Map<string, XMedia>();
  if (Array.isArray(includes.media)) {
    for (const media of includes.media as unknown[]) {
      if (isRecord(media) && typeof media.media_key === 'string') mediaByKey.set(media.media_key, media);
    }
  }
  const attachments = isRecord(data.attachments) ? data.attachments : {};
  const mediaKeys = Array.isArray(attachments.media_keys) ? attachments.media_keys : [];
  const media: Media[] = [];
  for (const key of mediaKeys) {
    const raw = typeof key === 'string' ? mediaByKey.get(key) : undefined;
    const decoded = raw && decodeMedia(raw);
    if (decoded) media.push(decoded);
  }

  // Each matching rule's tag once, in order.
  const feeds: string[] = [];
  if (Array.isArray(event.matching_rules)) {
    for (const rule of event.matching_rules as unknown[]) {
      if (isRecord(rule) && typeof rule.tag === 'string' && !feeds.includes(rule.tag)) feeds.push(rule.tag);
    }
  }

  const post: Post = {
    network: 'x',
    nativeId: data.id,
    url: `https://x.com/${author.username}/status/${data.id}`,
    // The account id too: a moderation rule may name it, and it stays when the handle changes.
    author: { id: String(data.author_id), handle: author.username, url: `https://x.com/${author.username}` },
    text: data.text,
    createdAt,
    media,
    feeds,
  };
  const name = optionalString(author.name);
  if (name) post.author.name = name;
  // X's own guess (the account's settings, reports); absent, as in posts fetched without the field, is not flagged.
  if (data.possibly_sensitive === true) post.sensitive = { reasons: ['possibly_sensitive'] };
  return { kind: 'post', post };
}
