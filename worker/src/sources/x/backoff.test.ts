import { describe, expect, it } from 'vitest';
import { ReconnectBackoff, type FailureClass } from './backoff.js';

const NOW = 1_800_000_000_000;

/** The waits after `count` failures of `kind` in a row. */
function waits(backoff: ReconnectBackoff, kind: FailureClass, count: number, resetAtMs?: number): number[] {
  return Array.from({ length: count }, () => backoff.next(kind, NOW, resetAtMs));
}

describe('X reconnect backoff', () => {
  it('network errors: linear, 250 ms more each time, capped at 16 s', () => {
    const sequence = waits(new ReconnectBackoff(), 'network', 70);
    expect(sequence.slice(0, 6)).toEqual([250, 500, 750, 1000, 1250, 1500]);
    expect(sequence.slice(60)).toEqual([15_250, 15_500, 15_750, 16_000, 16_000, 16_000, 16_000, 16_000, 16_000, 16_000]);
  });

  it('HTTP errors: exponential from 5 s, capped at 320 s', () => {
    expect(waits(new ReconnectBackoff(), 'http', 10)).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 320_000, 320_000, 320_000]);
    // However long it goes on.
    expect(waits(new ReconnectBackoff(), 'http', 100).at(-1)).toBe(320_000);
  });

  it('429: from 60 s doubling, capped at 15 min', () => {
    expect(waits(new ReconnectBackoff(), 'rate-limit', 7)).toEqual([60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000]);
  });

  it('429: waits until x-rate-limit-reset when that is later than the doubling, never past 15 min', () => {
    const backoff = new ReconnectBackoff();
    expect(backoff.next('rate-limit', NOW, NOW + 90_000)).toBe(90_000);
    // The doubling (120 s) is later than this reset: the doubling wins.
    expect(backoff.next('rate-limit', NOW, NOW + 30_000)).toBe(120_000);
    // A reset already past (clocks differ): the doubling.
    expect(backoff.next('rate-limit', NOW, NOW - 5000)).toBe(240_000);
    // A reset hours away (a wrong clock, a broken proxy) does not stall the source for hours.
    expect(backoff.next('rate-limit', NOW, NOW + 6 * 3_600_000)).toBe(900_000);
  });

  it('counts each class on its own', () => {
    const backoff = new ReconnectBackoff();
    expect([
      backoff.next('network', NOW),
      backoff.next('network', NOW),
      backoff.next('http', NOW),
      backoff.next('rate-limit', NOW),
      backoff.next('network', NOW),
      backoff.next('http', NOW),
      backoff.next('rate-limit', NOW),
    ]).toEqual([250, 500, 5000, 60_000, 750, 10_000, 120_000]);
  });

  it('a connection that got through starts every class again from its first wait', () => {
    const backoff = new ReconnectBackoff();
    waits(backoff, 'network', 5);
    waits(backoff, 'http', 5);
    waits(backoff, 'rate-limit', 5);
    backoff.reset();
    expect([backoff.next('network', NOW), backoff.next('http', NOW), backoff.next('rate-limit', NOW)]).toEqual([250, 5000, 60_000]);
    expect(waits(backoff, 'http', 3)).toEqual([10_000, 20_000, 40_000]);
  });
});
