import { describe, expect, it } from 'vitest';
import { qrPath } from './qr.js';

/** The dark modules of a qrPath, as a set of "col,row". */
function modules(d: string): Set<string> {
  return new Set([...d.matchAll(/M(\d+) (\d+)h1v1h-1z/g)].map((match) => `${match[1]},${match[2]}`));
}

describe('qrPath', () => {
  it('draws a QR code with its finder patterns, inside a quiet zone of four modules', () => {
    const { size, d } = qrPath('https://example.org/caturday');
    // 28 bytes at level M need version 3 (29 modules; version 2 holds 26); plus 4 on each side.
    expect(size).toBe(29 + 8);
    const dark = modules(d);
    const far = 4 + 29 - 7;
    expect(d.replace(/M\d+ \d+h1v1h-1z/g, '')).toBe('');
    for (const [x, y] of [
      [4, 4],
      [far, 4],
      [4, far],
    ] as const) {
      // A finder pattern: a dark 7×7 ring, a light ring inside it, a dark 3×3 centre.
      for (let i = 0; i < 7; i++) {
        for (const [col, row] of [
          [x + i, y],
          [x + i, y + 6],
          [x, y + i],
          [x + 6, y + i],
        ]) expect(dark.has(`${col},${row}`), `${col},${row}`).toBe(true);
      }
      expect(dark.has(`${x + 1},${y + 1}`)).toBe(false);
      for (let i = 2; i < 5; i++) for (let j = 2; j < 5; j++) expect(dark.has(`${x + i},${y + j}`)).toBe(true);
    }
    // Nothing dark in the quiet zone.
    for (const key of dark) {
      const [col, row] = key.split(',').map(Number) as [number, number];
      expect(col >= 4 && col < size - 4 && row >= 4 && row < size - 4, key).toBe(true);
    }
  });

  it('grows with the text it holds, and differs for different texts', () => {
    expect(qrPath(`https://example.org/${'x'.repeat(200)}`).size).toBeGreaterThan(qrPath('https://example.org/').size);
    expect(qrPath('https://example.org/a').d).not.toBe(qrPath('https://example.org/b').d);
  });
});
