import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRealDateTime } from './iso-time.js';

/** What the validator's timestamp check said before isRealDateTime: a real time is one that reads back unchanged. */
function readsBackUnchanged(value: string): boolean {
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 19) === value.slice(0, 19);
}

const two = (n: number): string => String(n).padStart(2, '0');
const SUFFIXES = ['Z', '.5Z', '.000Z', '.123456789Z'];

describe('isRealDateTime', () => {
  it('accepts real days and times of day', () => {
    for (const value of ['2026-11-01T12:00:05.000Z', '2028-02-29T23:59:59Z', '2000-02-29T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
      expect(isRealDateTime(value), value).toBe(true);
    }
  });

  it('refuses days and times that roll over, and what is not YYYY-MM-DDTHH:MM:SS', () => {
    for (const value of ['2026-02-29T12:00:00Z', '1900-02-29T12:00:00Z', '2026-04-31T12:00:00Z', '2026-13-01T12:00:00Z', '2026-00-10T12:00:00Z', '2026-11-00T12:00:00Z', '2026-11-01T24:00:00Z', '2026-11-01T23:60:00Z', '2026-11-01T23:59:60Z', '2026-11-01', '2026-11-01 12:00:00Z', '2026-1a-01T12:00:00Z', '']) {
      expect(isRealDateTime(value), value).toBe(false);
    }
  });

  it('agrees with Date.parse and toISOString on every month and day of leap and common years (ISO-8601 UTC strings)', () => {
    const years = ['0000', '0001', '0004', '0100', '0400', '1900', '1970', '1999', '2000', '2024', '2026', '2100', '2400', '9999'];
    for (const year of years) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const suffix of SUFFIXES) {
            const value = `${year}-${two(month)}-${two(day)}T12:00:00${suffix}`;
            expect(isRealDateTime(value), value).toBe(readsBackUnchanged(value));
          }
        }
      }
    }
  });

  it('agrees with Date.parse and toISOString on every hour, and minutes and seconds at the edges', () => {
    for (const date of ['2026-11-01', '2024-02-29', '2026-12-31']) {
      for (let hour = 0; hour <= 99; hour++) {
        for (const minute of [0, 30, 59, 60, 99]) {
          for (const second of [0, 59, 60, 99]) {
            const value = `${date}T${two(hour)}:${two(minute)}:${two(second)}Z`;
            expect(isRealDateTime(value), value).toBe(readsBackUnchanged(value));
          }
        }
      }
    }
  });

  it('agrees with Date.parse and toISOString on random ISO-8601 UTC strings (10,000 cases)', () => {
    const digits = (count: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: count, maxLength: count });
    fc.assert(
      fc.property(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), fc.constantFrom(...SUFFIXES), (year, month, day, hour, minute, second, suffix) => {
        const value = `${year}-${month}-${day}T${hour}:${minute}:${second}${suffix}`;
        expect(isRealDateTime(value)).toBe(readsBackUnchanged(value));
      }),
      { numRuns: 10_000 },
    );
  });
});
