const FIRST_MS = 1000;
const MAX_MS = 30_000;

/**
 * How long to wait before reconnect attempt `failures + 1`: 1 s doubling to 30 s, each spread ±20 % so that many
 * workers cut off by the same broker restart do not all come back in the same instant.
 */
export function reconnectDelay(failures: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** Math.min(failures, 16));
  return Math.round(Math.min(MAX_MS, base * (0.8 + 0.4 * random())));
}
