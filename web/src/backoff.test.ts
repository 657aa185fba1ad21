import { describe, expect, it } from 'vitest';
import { reconnectDelay } from './backoff.js';

const policy = { baseMs: 1_000, capMs: 30_000 };

describe('reconnectDelay', () => {
  it('doubles per attempt within [step/2, step]', () => {
    expect(reconnectDelay(1, () => 0, policy)).toBe(500);
    expect(reconnectDelay(1, () => 0.999999, policy)).toBe(1_000);
    expect(reconnectDelay(2, () => 0, policy)).toBe(1_000);
    expect(reconnectDelay(3, () => 0.5, policy)).toBe(3_000);
    expect(reconnectDelay(5, () => 0, policy)).toBe(8_000);
  });

  it('is capped', () => {
    expect(reconnectDelay(6, () => 0.999999, policy)).toBe(30_000);
    expect(reconnectDelay(50, () => 0.999999, policy)).toBe(30_000);
    expect(reconnectDelay(1e9, () => 0, policy)).toBe(15_000);
  });

  it('spreads clients out (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(4)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(4_000);
      expect(delay).toBeLessThanOrEqual(8_000);
    }
  });

  it('treats attempt 0 or less like the first', () => {
    expect(reconnectDelay(0, () => 0, policy)).toBe(500);
  });
});
