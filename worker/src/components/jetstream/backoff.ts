const FIRST_MS = 1000;

/**
 * How long to wait before reconnect attempt `failures + 1`: 1 s doubling up to `maxMs`, each spread ±20 % so that
 * many workers cut off by the same Jetstream restart do not all come back in the same instant.
 */
export function reconnectDelay(failures: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, FIRST_MS * 2 ** Math.min(failures, 16));
  return Math.round(Math.min(maxMs, base * (0.8 + 0.4 * random())));
}
