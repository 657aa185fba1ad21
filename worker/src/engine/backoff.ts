/**
 * How long to wait after `failures` failed attempts in a row: `firstMs` doubling up to `maxMs`, each spread ±20 %
 * so that many clients cut off by the same restart do not all come back in the same instant. The components'
 * reconnect loops share it.
 */
export function jitteredBackoff(failures: number, firstMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.min(failures, 20));
  return Math.round(Math.min(maxMs, base * (0.8 + 0.4 * random())));
}
