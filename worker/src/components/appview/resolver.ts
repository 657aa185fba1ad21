import { jitteredBackoff } from '../../engine/backoff.js';
import type { Clock, Logger } from '../../engine/types.js';
import { ProfileCache, type Profile } from './cache.js';
import { getProfiles, type ProfilesAnswer } from './get-profiles.js';
import { MAX_ACTORS_PER_REQUEST, type AppviewOptions } from './options.js';

/**
 * How a post's author came out: `hit` from the cache; `resolved` by a lookup in time; `unknown` to the AppView
 * (deleted, taken down, not indexed yet); or the DID, because the lookup was `late` (past maxWait), `failed`, or the
 * AppView's rate limit holds requests back (`rate-limited`).
 */
export type AuthorOutcome = 'hit' | 'resolved' | 'unknown' | 'late' | 'failed' | 'rate-limited';
export const AUTHOR_OUTCOMES: readonly AuthorOutcome[] = ['hit', 'resolved', 'unknown', 'late', 'failed', 'rate-limited'];

export interface Resolution {
  outcome: AuthorOutcome;
  /** What the wall shows; absent: the DID. */
  profile?: Profile;
}

/** `profile` with the handle of an identity event newer than it, when there is one. */
function withIdentity(profile: Profile | undefined, identity: Pending['identity']): Profile | undefined {
  if (profile === undefined || identity === undefined) return profile;
  const { handle: _answered, ...rest } = profile;
  return identity.handle === undefined ? rest : { ...rest, handle: identity.handle };
}

/** An account the AppView does not know is asked about again after this long (it may be new), at most the TTL. */
const UNKNOWN_TTL_MS = 60_000;
/** A 429 without a reset time: wait this long. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
/**
 * Requests out at once. The others' authors wait in the queue and go together once one returns: under load batches
 * grow rather than requests multiply, which keeps a busy wall within the AppView's rate limit; a second one in flight
 * keeps one slow answer from holding up every new author.
 */
const MAX_REQUESTS_IN_FLIGHT = 2;
/** After a failed request, the next waits 1 s, doubling to this (jittered). */
const MAX_FAILURE_BACKOFF_MS = 30_000;

interface Pending {
  promise: Promise<Resolution>;
  settle(resolution: Resolution): void;
  /** Set by an identity event that came while the lookup was out: it is newer than the answer. */
  identity?: { handle: string | undefined };
}

/** The resolver's own figures: its requests and the cache. */
export interface ResolverFigures {
  /** getProfiles requests made, and of them those that failed or were refused by the rate limit (HTTP 429). */
  lookups: number;
  lookupsFailed: number;
  lookupsRateLimited: number;
  /** Identity events that changed the handle of a cached profile. */
  identityUpdates: number;
}

/**
 * Bluesky DIDs → profiles, the way Bluesky's own clients get them: from the cache, else from the AppView's
 * getProfiles, asked for the authors gathered over `batchWindow` (at most 25 a request). A lookup is never waited
 * for longer than `maxWait`; its late answer still fills the cache. After a 429 (or an answer that leaves no requests
 * in the window) no request goes out before the AppView's reset time, and after a failure not before a backoff:
 * meanwhile authors are answered at once, without a profile. Times are the route's clock; the AppView's reset time
 * is wall-clock time, which the route's clock is outside tests.
 */
export class ProfileResolver {
  readonly figures: ResolverFigures = { lookups: 0, lookupsFailed: 0, lookupsRateLimited: 0, identityUpdates: 0 };
  private readonly cache: ProfileCache;
  /** Every DID being looked up (queued or in a request), with what its waiting posts wait on. */
  private readonly pending = new Map<string, Pending>();
  /** DIDs not yet in a request, in the order they were asked for. */
  private queued: string[] = [];
  private batchScheduled = false;
  private requestsInFlight = 0;
  /** No request before this time (epoch ms), because of `blockedBy`. */
  private blockedUntil = 0;
  private blockedBy: 'rate-limited' | 'failed' = 'failed';
  private failuresInARow = 0;
  private stopping = new AbortController();

  constructor(
    private readonly options: AppviewOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.cache = new ProfileCache(options.cacheSize, options.cacheTtlMs, () => clock.now());
  }

  /** Profiles cached now (expired ones included until they are asked for or pushed out). */
  get cached(): number {
    return this.cache.count;
  }

  /** Posts' authors waiting for a lookup now. */
  get waiting(): number {
    return this.pending.size;
  }

  /** The profile of `did`: at once when cached or while requests are held back, else within maxWait. */
  resolve(did: string): Resolution | Promise<Resolution> {
    const cached = this.cache.get(did);
    if (cached !== undefined) return cached === null ? { outcome: 'hit' } : { outcome: 'hit', profile: cached };
    if (this.clock.now() < this.blockedUntil) return { outcome: this.blockedBy };
    const lookup = this.lookup(did);
    const timeUp = new AbortController();
    const late = this.clock.sleep(this.options.maxWaitMs, timeUp.signal).then((): Resolution => ({ outcome: 'late' }));
    return Promise.race([lookup, late]).finally(() => timeUp.abort());
  }

  /**
   * Jetstream's identity event: a cached profile takes the new handle (none, or an invalid one: the DID), and so
   * does the answer to a lookup already out, which may predate it. An account neither cached nor looked up is left
   * to its first post.
   */
  identity(did: string, handle: string | undefined): void {
    const pending = this.pending.get(did);
    if (pending) pending.identity = { handle };
    if (this.cache.updateHandle(did, handle) || pending) this.figures.identityUpdates++;
  }

  /** Starts (again) after a stop. */
  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
  }

  /** Ends the batch wait and the requests in flight: their posts go on without a profile. */
  stop(): void {
    this.stopping.abort();
    this.queued = [];
    for (const [did, pending] of this.pending) {
      this.pending.delete(did);
      pending.settle({ outcome: 'failed' });
    }
  }

  private lookup(did: string): Promise<Resolution> {
    const existing = this.pending.get(did);
    if (existing) return existing.promise;
    let settle: (resolution: Resolution) => void = () => undefined;
    const promise = new Promise<Resolution>((resolve) => (settle = resolve));
    this.pending.set(did, { promise, settle });
    this.queued.push(did);
    if (this.queued.length >= MAX_ACTORS_PER_REQUEST) this.sendBatches();
    else if (!this.batchScheduled) {
      this.batchScheduled = true;
      void this.clock.sleep(this.options.batchWindowMs, this.stopping.signal).then(() => {
        this.batchScheduled = false;
        if (!this.stopping.signal.aborted) this.sendBatches();
      });
    }
    return promise;
  }

  /** Sends what is queued, 25 DIDs a request, as far as MAX_REQUESTS_IN_FLIGHT allows; the rest when one returns. */
  private sendBatches(): void {
    while (this.queued.length > 0 && this.requestsInFlight < MAX_REQUESTS_IN_FLIGHT) {
      const dids = this.queued.splice(0, MAX_ACTORS_PER_REQUEST);
      if (this.clock.now() < this.blockedUntil) {
        this.settleAll(dids, { outcome: this.blockedBy });
        continue;
      }
      this.requestsInFlight++;
      void this.request(dids).finally(() => {
        this.requestsInFlight--;
        if (!this.stopping.signal.aborted) this.sendBatches();
      });
    }
  }

  private async request(dids: string[]): Promise<void> {
    this.figures.lookups++;
    const answer = await getProfiles(this.options.url, dids, this.options.requestTimeoutMs, this.clock.now(), this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    if (answer.ok) {
      this.failuresInARow = 0;
      for (const did of dids) {
        const profile = withIdentity(answer.profiles.get(did), this.pending.get(did)?.identity);
        this.cache.set(did, profile ?? null, profile ? undefined : Math.min(UNKNOWN_TTL_MS, this.options.cacheTtlMs));
        this.settle(did, profile ? { outcome: 'resolved', profile } : { outcome: 'unknown' });
      }
      // The last request the window allows: the next must wait for the reset.
      if (answer.rateLimit?.remaining === 0 && answer.rateLimit.resetAt !== undefined) this.holdBack('rate-limited', answer.rateLimit.resetAt, answer);
      return;
    }
    if (answer.status === 429) {
      this.figures.lookupsRateLimited++;
      this.holdBack('rate-limited', answer.rateLimit?.resetAt ?? this.clock.now() + DEFAULT_RATE_LIMIT_WAIT_MS, answer);
      return this.settleAll(dids, { outcome: 'rate-limited' });
    }
    this.figures.lookupsFailed++;
    this.holdBack('failed', this.clock.now() + jitteredBackoff(this.failuresInARow++, 1000, MAX_FAILURE_BACKOFF_MS), answer);
    this.settleAll(dids, { outcome: 'failed' });
  }

  private holdBack(cause: 'rate-limited' | 'failed', until: number, answer: ProfilesAnswer): void {
    if (until <= this.blockedUntil) return;
    this.blockedUntil = until;
    this.blockedBy = cause;
    const resumeAt = new Date(until).toISOString();
    const reason = answer.ok ? 'no requests left in the rate-limit window' : answer.reason;
    this.log.warn(
      { appView: this.options.url, cause, reason, resumeAt, ...this.figures },
      cause === 'rate-limited'
        ? "appview: the AppView's rate limit holds back profile lookups; Bluesky authors show as DIDs until it resets"
        : 'appview: a profile lookup failed; Bluesky authors show as DIDs until the next one after a backoff',
    );
  }

  private settleAll(dids: readonly string[], resolution: Resolution): void {
    for (const did of dids) this.settle(did, resolution);
  }

  private settle(did: string, resolution: Resolution): void {
    const pending = this.pending.get(did);
    this.pending.delete(did);
    pending?.settle(resolution);
  }
}
