import type { Profile } from './cache.js';

/**
 * One `app.bsky.actor.getProfiles` request to an AppView: `GET {url}/xrpc/app.bsky.actor.getProfiles?actors=A&actors=B`
 * (at most 25 actors), answered `{profiles: [{did, handle, displayName, avatar, …}]}`. An actor the AppView does not
 * know is simply absent from the list. The answer is untrusted: a handle is kept only when it has the atproto
 * handle syntax (a handle that failed verification reads `handle.invalid`, and is dropped, so the DID is shown).
 */
export type ProfilesAnswer =
  | { ok: true; profiles: Map<string, Profile>; rateLimit?: RateLimit }
  | { ok: false; reason: string; status?: number; rateLimit?: RateLimit };

/** The AppView's rate-limit headers: no request before `resetAt` (epoch ms) when `remaining` is 0 or it answered 429. */
export interface RateLimit {
  remaining?: number;
  resetAt?: number;
}

/** The atproto handle syntax (https://atproto.com/specs/handle), and a length the contract's author fields take. */
const HANDLE = /^(?=.{1,100}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const INVALID_HANDLE = 'handle.invalid';
/** A display name is at most 64 graphemes; anything far longer is not one, and is left out rather than cut. */
const MAX_DISPLAY_NAME_CHARS = 640;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A handle as the wall shows it: lower case, or undefined when it is not a verified, well-formed handle. */
export function verifiedHandle(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const handle = value.toLowerCase();
  return handle !== INVALID_HANDLE && HANDLE.test(handle) ? handle : undefined;
}

function profileOf(value: Record<string, unknown>): Profile {
  const profile: Profile = {};
  const handle = verifiedHandle(value.handle);
  if (handle !== undefined) profile.handle = handle;
  // Untrusted text: the mapper cleans it as it cleans every name (control characters, markup, length).
  if (typeof value.displayName === 'string' && value.displayName.trim() !== '' && value.displayName.length <= MAX_DISPLAY_NAME_CHARS) profile.displayName = value.displayName;
  return profile;
}

/** `ratelimit-remaining` and `ratelimit-reset` (unix seconds), or `retry-after` (seconds or an HTTP date). */
export function rateLimitOf(headers: Headers, now: number): RateLimit | undefined {
  const rateLimit: RateLimit = {};
  const remaining = Number(headers.get('ratelimit-remaining') ?? Number.NaN);
  if (Number.isInteger(remaining) && remaining >= 0) rateLimit.remaining = remaining;
  const reset = Number(headers.get('ratelimit-reset') ?? Number.NaN);
  if (Number.isFinite(reset) && reset > 0) rateLimit.resetAt = reset * 1000;
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    const at = /^\s*\d+(?:\.\d+)?\s*$/.test(retryAfter) ? now + seconds * 1000 : Date.parse(retryAfter);
    if (Number.isFinite(at)) rateLimit.resetAt = Math.max(rateLimit.resetAt ?? 0, at);
  }
  return rateLimit.remaining === undefined && rateLimit.resetAt === undefined ? undefined : rateLimit;
}

/** The request URL for `dids`. */
export function getProfilesUrl(base: string, dids: readonly string[]): string {
  return `${base}/xrpc/app.bsky.actor.getProfiles?${dids.map((did) => `actors=${encodeURIComponent(did)}`).join('&')}`;
}

/** Asks `base` for the profiles of `dids`; never rejects: a failure is an answer with its reason. */
export async function getProfiles(base: string, dids: readonly string[], timeoutMs: number, now: number, signal: AbortSignal): Promise<ProfilesAnswer> {
  let response: Response;
  try {
    response = await fetch(getProfilesUrl(base, dids), { headers: { accept: 'application/json' }, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  } catch (error) {
    const cause = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (requestTimeout)` : ((error as { cause?: Error }).cause ?? (error as Error)).message;
    return { ok: false, reason: cause };
  }
  const rateLimit = rateLimitOf(response.headers, now);
  const limited = rateLimit ? { rateLimit } : {};
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = isRecord(body) && typeof body.message === 'string' ? `: ${body.message.slice(0, 200)}` : '';
    return { ok: false, reason: `HTTP ${response.status}${message}`, status: response.status, ...limited };
  }
  if (!isRecord(body) || !Array.isArray(body.profiles)) return { ok: false, reason: 'the answer is not {profiles: [...]}', ...limited };
  const asked = new Set(dids);
  const profiles = new Map<string, Profile>();
  for (const entry of body.profiles) {
    if (isRecord(entry) && typeof entry.did === 'string' && asked.has(entry.did)) profiles.set(entry.did, profileOf(entry));
  }
  return { ok: true, profiles, ...limited };
}
