import { describe, expect, it } from 'vitest';
import { screenModeWanted } from './mode.js';

describe('screenModeWanted', () => {
  it('follows the URL first, then the server’s setting', () => {
    expect(screenModeWanted('', false)).toBe(false);
    expect(screenModeWanted('', true)).toBe(true);
    expect(screenModeWanted('?screen', false)).toBe(true);
    expect(screenModeWanted('?screen=1', false)).toBe(true);
    expect(screenModeWanted('?mode=screen', false)).toBe(true);
    expect(screenModeWanted('?feed=cats&screen', false)).toBe(true);
    expect(screenModeWanted('?mode=normal', true)).toBe(false);
    expect(screenModeWanted('?screen=off', true)).toBe(false);
    expect(screenModeWanted('?screen=0', true)).toBe(false);
    expect(screenModeWanted('?mode=other', true)).toBe(true);
    expect(screenModeWanted('?mode=other', false)).toBe(false);
  });
});
