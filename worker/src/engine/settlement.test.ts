import { describe, expect, it } from 'vitest';
import { Settlement, Watermark } from './settlement.js';

describe('Settlement', () => {
  it('settles once the first holder and every retained one have let go, each only once', () => {
    let settled = 0;
    const settlement = new Settlement(() => (settled += 1));
    const a = settlement.retain();
    const b = settlement.retain();
    settlement.release();
    a();
    a();
    expect(settled).toBe(0);
    b();
    expect(settled).toBe(1);
  });
});

describe('Watermark', () => {
  it('advances to the highest position below which everything settled, whatever order they settle in', () => {
    const seen: number[] = [];
    const watermark = new Watermark<number>((position) => seen.push(position));
    const [first, second, third, fourth] = [10, 20, 30, 40].map((position) => watermark.track(position)) as (() => void)[];
    third?.();
    second?.();
    expect(seen).toEqual([]);
    first?.();
    expect(seen).toEqual([30]);
    fourth?.();
    fourth?.();
    expect(seen).toEqual([30, 40]);
    expect(watermark.pending).toBe(0);
  });

  it('keeps count across its compactions: 5,000 positions settled newest first within blocks of 7', () => {
    const seen: number[] = [];
    const watermark = new Watermark<number>((position) => seen.push(position));
    const settle = Array.from({ length: 5000 }, (_, index) => watermark.track(index + 1));
    for (let block = 0; block < 5000; block += 7) {
      for (let index = Math.min(block + 6, 4999); index >= block; index--) settle[index]?.();
    }
    expect(seen.at(-1)).toBe(5000);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen).toHaveLength(Math.ceil(5000 / 7));
    expect(watermark.pending).toBe(0);
  });

  it('tells who waits once every position tracked so far has settled', async () => {
    const watermark = new Watermark<number>(() => undefined);
    await watermark.whenSettled();
    const [first, second] = [1, 2].map((position) => watermark.track(position)) as (() => void)[];
    let settled = false;
    const waiting = watermark.whenSettled().then(() => (settled = true));
    second?.();
    await Promise.resolve();
    expect(settled).toBe(false);
    first?.();
    await waiting;
    expect(settled).toBe(true);
  });
});
