/**
 * The REST side of the Mastodon API the source uses: one page of a tag timeline, and how to tell which of two
 * status ids is newer.
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
  | { kind: 'ok'; statuses: unknown[] }
  /** 429: wait until `resetAt` (epoch ms), or `waitMs` when the instance did not say. */
  | { kind: 'rate-limited'; resetAt?: number; waitMs: number }
  /** 5xx, a network error or a timeout: try again later. */
  | { kind: 'retry'; reason: string }
  /** Asking again will not help (401, 403, 404, 410, 422): the operator must act. */
  | { kind: 'refused'; reason: string };

export interface TimelineRequest {
  baseUrl: string;
  tag: string;
  sinceId?: string;
  token?: string;
  signal: AbortSignal;
}

/** The URL of the tag timeline page after `sinceId`, statuses with media only. */
export function tagTimelineUrl(baseUrl: string, tag: string, sinceId?: string): string {
  const url = new URL(`/api/v1/timelines/tag/${encodeURIComponent(tag)}`, baseUrl);
  url.searchParams.set('only_media', 'true');
  if (sinceId !== undefined) url.searchParams.set('since_id', sinceId);
  url.searchParams.set('limit', String(PAGE_LIMIT));
  return url.toString();
}

export function requestHeaders(token: string | undefined, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept, 'user-agent': 'livewall-worker (mastodon source)' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return headers;
}

/** Fetches one page of the tag timeline, newest first as Mastodon sends it. Never throws but on abort. */
export async function fetchTagTimeline(request: TimelineRequest): Promise<TimelinePage> {
  let response: Response;
  try {
    response = await fetch(tagTimelineUrl(request.baseUrl, request.tag, request.sinceId), {
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
  return { kind: 'ok', statuses: body };
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
