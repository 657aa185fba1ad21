/** Reconnect delays: exponential steps, capped, with jitter so that many tabs do not return in lock-step. */
export interface BackoffPolicy {
  /** The first step, in ms. */
  baseMs: number;
  /** The largest step, in ms. */
  capMs: number;
}

export const RECONNECT_POLICY: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

/**
 * How long to wait before reconnect attempt `attempt` (1 = the first retry after a failure): a step of
 * base·2^(attempt−1), at most cap, of which a random half is taken off ("equal jitter"), so the wait lies in
 * [step/2, step]. `random` returns a number in [0, 1), like Math.random.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random, policy: BackoffPolicy = RECONNECT_POLICY): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 30));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + (r * step) / 2);
}
