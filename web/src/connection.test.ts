import { describe, expect, it } from 'vitest';
import { unescapeHeader } from './connection.js';

describe('unescapeHeader', () => {
  it('undoes STOMP 1.2 header escapes', () => {
    expect(unescapeHeader('Security Error occurred\\c User name [viewer] or password is invalid')).toBe(
      'Security Error occurred: User name [viewer] or password is invalid',
    );
    expect(unescapeHeader('a\\nb\\\\c\\rd')).toBe('a\nb\\c\rd');
    expect(unescapeHeader('plain text')).toBe('plain text');
  });
});
