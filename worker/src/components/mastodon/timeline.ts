/**
 * The REST side of the Mastodon API the source uses: one page of a tag timeline, where the next newer page starts,
 * and how to tell which of two status ids is newer.
 *
 * Mastodon pages by id: without a cursor a timeline answers its newest page; `since_id` also answers the newest
 * page, cut off at that id (so a burst larger than a page leaves a gap); `min_id` answers the page immediately
 * after that id. Every page is newest first, and its `Link` header names the page of older statuses
 * (`rel="next"`, `max_id`) and of newer ones (`rel="prev"`, `min_id`). Reading forward is therefore `min_id`,
 * then the `min_id` of each page's `rel="prev"` link. Mastodon's tag timeline sets it to the newest id shown;
 * servers that filter after paging may set it beyond the statuses shown, which is why the link is preferred.
 */

/** Statuses per page: Mastodon's maximum for timelines. */
export const PAGE_LIMIT = 40;
/** A poll that takes longer than this has failed. */
const REQUEST_TIMEOUT_MS = 30_000;
/** When a 429 comes without a usable X-RateLimit-Reset: Mastodon's rate-limit windows are 5 minutes. */
const DEFAULT_RATE_LIMIT_MS = 60_000;

/**
 * Mastodon ids are numeric strings that grow with time (snowflakes), too large for a JS number: the longer is the
 * newer, then the lexically greater. The same holds for the fixed-length flake ids of Pleroma and Akkoma.
 */
export function compareStatusIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export type TimelinePage =
  /** `newerMinId`: the `min_id` of the page's `rel="prev"` link, where the next newer page starts (absent on an empty page). */
  | { kind: 'ok'; statuses: unknown[]; newerMinId?: string }
  /** 429: wait until `resetAt` (epoch ms), or `waitMs` when the instance did not say. */
  | { kind: 'rate-limited'; resetAt?: number; waitMs: number }
  /** 5xx, a network error or a timeout: try again later. */
  | { kind: 'retry'; reason: string }
  /** Asking again will not help (401, 403, 404, 410, 422): the operator must act. */
  | { kind: 'refused'; reason: string };

export interface TimelineRequest {
  baseUrl: string;
  tag: string;
  /** The page immediately after this status id; without it, the newest page. */
  minId?: string;
  token?: string;
  signal: AbortSignal;
}

/** What Mastodon's status ids (and Pleroma's flake ids) look like; anything else is not used as a cursor. */
export const STATUS_ID = /^[A-Za-z0-9]{1,64}$/;

/** The URL of the tag timeline page immediately after `minId` (the newest page without it), statuses with media only. */
export function tagTimelineUrl(baseUrl: string, tag: string, minId?: string): string {
  const url = new URL(`/api/v1/timelines/tag/${encodeURIComponent(tag)}`, baseUrl);
  url.searchParams.set('only_media', 'true');
  if (minId !== undefined) url.searchParams.set('min_id', minId);
  url.searchParams.set('limit', String(PAGE_LIMIT));
  return url.toString();
}

/**
 * The targets of a `Link` header (RFC 8288) by relation: `<https://…?max_id=1>; rel="next", <…>; rel="prev"`.
 * A link with several relations (`rel="prev previous"`) is listed under each.
 */
export function parseLinkHeader(header: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const [, target, params] of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params ?? '');
    for (const relation of (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)) {
      if (relation !== '' && target !== undefined && !links.has(relation)) links.set(relation, target);
    }
  }
  return links;
}

/**
 * The `min_id` of the `rel="prev"` link (the newer page), when there is a usable one. Only the cursor is taken:
 * the next request goes to the configured instance, never to whatever host or scheme a link names (a proxy's
 * inner address, say), so a token is never sent elsewhere.
 */
export function newerPageMinId(linkHeader: string | null): string | undefined {
  const prev = linkHeader === null ? undefined : parseLinkHeader(linkHeader).get('prev');
  if (prev === undefined) return undefined;
  try {
    const minId = new URL(prev, 'http://relative.invalid').searchParams.get('min_id');
    return minId !== null && STATUS_ID.test(minId) ? minId : undefined;
  } catch {
    return undefined;
  }
}

export function requestHeaders(token: string | undefined, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept, 'user-agent': 'livewall-worker (mastodon source)' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return headers;
}

/** Fetches one page of the tag timeline, newest first as Mastodon sends it, and where the newer page starts. Never throws but on abort. */
export async function fetchTagTimeline(request: TimelineRequest): Promise<TimelinePage> {
  let response: Response;
  try {
    response = await fetch(tagTimelineUrl(request.baseUrl, request.tag, request.minId), {
      headers: requestHeaders(request.token, 'application/json'),
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (error) {
    return { kind: 'retry', reason: describeFetchError(error) };
  }
  if (response.status === 429) {
    await response.body?.cancel();
    const resetAt = Date.parse(response.headers.get('x-ratelimit-reset') ?? '');
    return Number.isNaN(resetAt) ? { kind: 'rate-limited', waitMs: DEFAULT_RATE_LIMIT_MS } : { kind: 'rate-limited', resetAt, waitMs: DEFAULT_RATE_LIMIT_MS };
  }
  if (!response.ok) {
    const detail = await errorText(response);
    const reason = `HTTP ${response.status}${detail ? ` (${detail})` : ''}`;
    return response.status >= 500 || response.status === 408 ? { kind: 'retry', reason } : { kind: 'refused', reason };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    return { kind: 'retry', reason: `the timeline was not JSON: ${describeFetchError(error)}` };
  }
  if (!Array.isArray(body)) return { kind: 'retry', reason: 'the timeline was not a JSON array' };
  const newerMinId = newerPageMinId(response.headers.get('link'));
  return newerMinId === undefined ? { kind: 'ok', statuses: body } : { kind: 'ok', statuses: body, newerMinId };
}

/** Mastodon's error body is `{"error": "..."}`; its first 200 characters say what went wrong. */
export async function errorText(response: Response): Promise<string> {
  try {
    const text = await response.text();
    const parsed: unknown = JSON.parse(text);
    const error = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).error : undefined;
    return (typeof error === 'string' ? error : text).slice(0, 200);
  } catch {
    return '';
  }
}

/** fetch's `TypeError: fetch failed` hides the useful part in `cause`. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
