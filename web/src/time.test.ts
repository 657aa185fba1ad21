import { describe, expect, it } from 'vitest';
import { formatRelative } from './time.js';

const now = Date.parse('2026-03-10T12:00:00.000Z');
const ago = (ms: number): string => new Date(now - ms).toISOString();

describe('formatRelative', () => {
  it.each([
    [0, 'just now'],
    [9_999, 'just now'],
    [10_000, '10s ago'],
    [59_999, '59s ago'],
    [60_000, '1m ago'],
    [59 * 60_000, '59m ago'],
    [60 * 60_000, '1h ago'],
    [23 * 3_600_000 + 59 * 60_000, '23h ago'],
    [24 * 3_600_000, '1d ago'],
    [6 * 86_400_000, '6d ago'],
  ])('%i ms ago is %j', (ms, text) => {
    expect(formatRelative(ago(ms), now)).toBe(text);
  });

  it('shows the date after a week', () => {
    expect(formatRelative('2026-03-01T08:00:00.000Z', now)).toBe('2026-03-01');
  });

  it('calls a post from slightly in the future (clock skew) "just now"', () => {
    expect(formatRelative(new Date(now + 90_000).toISOString(), now)).toBe('just now');
  });

  it('accepts numbers and dates, and gives nothing for garbage', () => {
    expect(formatRelative(now - 120_000, now)).toBe('2m ago');
    expect(formatRelative(new Date(now - 3 * 3_600_000), now)).toBe('3h ago');
    expect(formatRelative('not a date', now)).toBe('');
  });
});
