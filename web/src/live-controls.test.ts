import { describe, expect, it } from 'vitest';
import { newPosts, pauseLabel } from './live-controls.js';

describe('the pause button and the pill', () => {
  it('label the waiting posts', () => {
    expect(pauseLabel(false, 7)).toBe('Pause');
    expect(pauseLabel(true, 0)).toBe('Resume');
    expect(pauseLabel(true, 3)).toBe('Resume (3 new)');
    expect(newPosts(1)).toBe('1 new post');
    expect(newPosts(12)).toBe('12 new posts');
  });
});
