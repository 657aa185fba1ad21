/**
 * X's reconnect guidance for the filtered stream, one class per kind of failure, each with its own count of
 * failures in a row; a connection that got through resets them all.
 * - network: the connection failed or broke (or went silent): linear, +250 ms a time, up to 16 s;
 * - http: X answered with an error status, or sent an error inside the stream: exponential from 5 s up to 320 s;
 * - rate-limit: 429: exponential from 60 s (up to 15 min), or until `x-rate-limit-reset` when that is later, but
 *   never past 15 min: X's rate windows are 15 minutes, so a reset further off is a clock or a header gone wrong, and
 *   would otherwise stall the source for as long as it says.
 */
export type FailureClass = 'network' | 'http' | 'rate-limit';

const NETWORK_STEP_MS = 250;
const NETWORK_MAX_MS = 16_000;
const HTTP_FIRST_MS = 5000;
const HTTP_MAX_MS = 320_000;
const RATE_LIMIT_FIRST_MS = 60_000;
const RATE_LIMIT_MAX_MS = 15 * 60_000;

export class ReconnectBackoff {
  private readonly failures: Record<FailureClass, number> = { network: 0, http: 0, 'rate-limit': 0 };

  /** The wait before the next attempt after a failure of `kind`; `resetAtMs` is when a rate limit lifts. */
  next(kind: FailureClass, now: number, resetAtMs?: number): number {
    const failures = ++this.failures[kind];
    switch (kind) {
      case 'network':
        return Math.min(NETWORK_MAX_MS, NETWORK_STEP_MS * failures);
      case 'http':
        return Math.min(HTTP_MAX_MS, HTTP_FIRST_MS * 2 ** Math.min(failures - 1, 16));
      case 'rate-limit': {
        const doubling = Math.min(RATE_LIMIT_MAX_MS, RATE_LIMIT_FIRST_MS * 2 ** Math.min(failures - 1, 16));
        return resetAtMs === undefined ? doubling : Math.min(RATE_LIMIT_MAX_MS, Math.max(doubling, resetAtMs - now));
      }
    }
  }

  /** A connection got through: every class starts again from its first delay. */
  reset(): void {
    this.failures.network = 0;
    this.failures.http = 0;
    this.failures['rate-limit'] = 0;
  }
}
