import { reconnectDelay, type BackoffPolicy } from '../backoff.js';

/**
 * How an unattended screen recovers from what the page cannot: an uncaught error reloads it after a wait that grows
 * with each crash in a row (a page that fails at every start must not hammer the server), and a new build of the
 * page, noticed by polling /version.json, reloads it once at a quiet moment. Both keep their memory in
 * sessionStorage, which survives the reload, and read it back as untrusted input.
 */

/** The wait before reloading after crash 1, 2, 3…: 2 s, 4 s, 8 s… up to 5 minutes, with jitter (reconnectDelay). */
export const CRASH_POLICY: BackoffPolicy = { baseMs: 2_000, capMs: 300_000 };
/** A page that ran this long since its last crash starts counting again from the first. */
export const CRASH_STABLE_MS = 10 * 60 * 1000;
/** A new build waits at most this long for a quiet moment before the page reloads anyway. */
export const RELOAD_DEADLINE_MS = 10 * 60 * 1000;

export const CRASHES_KEY = 'livewall:screen:crashes';
export const RELOADED_FOR_KEY = 'livewall:screen:reloaded-for';

export interface Crashes {
  /** Crashes in a row, each within CRASH_STABLE_MS of the one before. */
  count: number;
  /** When the last one was (epoch ms). */
  lastAt: number;
}

/** The crash record kept in storage; anything unreadable counts as none. */
export function parseCrashes(saved: string | null): Crashes {
  try {
    const value = JSON.parse(saved ?? 'null') as Partial<Crashes> | null;
    const { count, lastAt } = value ?? {};
    if (Number.isInteger(count) && count! >= 0 && count! < 1_000 && Number.isFinite(lastAt)) return { count: count!, lastAt: lastAt! };
  } catch {
    // Unreadable: as if there were none.
  }
  return { count: 0, lastAt: 0 };
}

/** Records one more crash at `now` and says how long to wait before reloading. */
export function nextCrash(before: Crashes, now: number, random: () => number = Math.random): { crashes: Crashes; delayMs: number } {
  const inARow = now - before.lastAt < CRASH_STABLE_MS && before.lastAt <= now ? before.count + 1 : 1;
  return { crashes: { count: inARow, lastAt: now }, delayMs: reconnectDelay(inARow, random, CRASH_POLICY) };
}

/** A build id as /version.json gives it (vite.config.ts writes it), or undefined for anything else. */
export function parseVersion(value: unknown): string | undefined {
  const build = (value as { build?: unknown } | null)?.build;
  return typeof build === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(build) ? build : undefined;
}

/**
 * Whether the page, built as `own`, should reload for the build the server now serves. Not for the build it already
 * reloaded for once (`reloadedFor`): a server that serves a new /version.json with the old page (a half-finished
 * deployment, a stale cache in front) would otherwise make it reload for ever.
 */
export function shouldReload(own: string, served: string | undefined, reloadedFor: string | null): boolean {
  return served !== undefined && served !== own && served !== reloadedFor;
}
