import { describe, expect, it } from 'vitest';
import { CRASH_POLICY, CRASH_STABLE_MS, nextCrash, parseCrashes, parseVersion, shouldReload } from './recovery.js';

const top = (): number => 0.999_999;

describe('the reload after a crash', () => {
  it('waits longer after each crash in a row, up to the cap, with jitter within each step', () => {
    let crashes = parseCrashes(null);
    const waits: number[] = [];
    for (let n = 0; n < 10; n++) {
      const next = nextCrash(crashes, 1_000_000 + n * 1_000, top);
      crashes = next.crashes;
      waits.push(next.delayMs);
    }
    expect(waits.slice(0, 5)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(waits.at(-1)).toBe(CRASH_POLICY.capMs);
    expect(crashes.count).toBe(10);
    // Equal jitter: at least half the step.
    expect(nextCrash({ count: 2, lastAt: 0 }, 1, () => 0).delayMs).toBe(4_000);
  });

  it('counts from the first again after a page ran for CRASH_STABLE_MS, and ignores a record from the future', () => {
    expect(nextCrash({ count: 6, lastAt: 0 }, CRASH_STABLE_MS, top)).toEqual({ crashes: { count: 1, lastAt: CRASH_STABLE_MS }, delayMs: 2_000 });
    expect(nextCrash({ count: 6, lastAt: 5_000 }, 1_000, top).crashes.count).toBe(1);
    expect(nextCrash({ count: 6, lastAt: 0 }, CRASH_STABLE_MS - 1, top).crashes.count).toBe(7);
  });

  it('reads anything unreadable in storage as no crashes', () => {
    for (const saved of ['', 'null', '{', '[]', '{"count":-1,"lastAt":0}', '{"count":1.5,"lastAt":0}', '{"count":"3","lastAt":0}', '{"count":3}', '{"count":1e9,"lastAt":0}']) {
      expect(parseCrashes(saved), saved).toEqual({ count: 0, lastAt: 0 });
    }
    expect(parseCrashes('{"count":3,"lastAt":42}')).toEqual({ count: 3, lastAt: 42 });
  });
});

describe('a new build', () => {
  it('reads the build id of /version.json and refuses anything else', () => {
    expect(parseVersion({ build: '20261207T214700Z-1a2b3c4d' })).toBe('20261207T214700Z-1a2b3c4d');
    for (const bad of [null, 'x', [], {}, { build: 1 }, { build: '' }, { build: 'a b' }, { build: '<script>' }, { build: 'x'.repeat(101) }]) expect(parseVersion(bad)).toBeUndefined();
  });

  it('reloads for a build other than its own, but only once for the same one', () => {
    expect(shouldReload('a', 'b', null)).toBe(true);
    expect(shouldReload('a', 'a', null)).toBe(false);
    expect(shouldReload('a', undefined, null)).toBe(false);
    // It reloaded for b and still runs a: the server serves the new version.json with the old page. Not again for b…
    expect(shouldReload('a', 'b', 'b')).toBe(false);
    // …but for c, the next release, yes.
    expect(shouldReload('a', 'c', 'b')).toBe(true);
  });
});
