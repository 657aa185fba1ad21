import { describe, expect, it } from 'vitest';
import { matchFeeds } from './feeds.js';

const cats = [{ name: 'cats', keywords: ['cat'] }];

describe('matchFeeds', () => {
  it.each([
    ['Cat!', true],
    ['my CAT.', true],
    ['#cat', true],
    ['#Cat pics', true],
    ['(cat)', true],
    ['catalog', false],
    ['bobcat', false],
    ['cat_lover', false],
    ['#caturday', false],
    ['concatenate', false],
    ['', false],
  ])('cat in %j: %s', (text, matches) => {
    expect(matchFeeds(text, cats)).toEqual(matches ? ['cats'] : []);
  });

  it('a #hashtag keyword matches the hashtag only, whole', () => {
    const feeds = [{ name: 'caturday', keywords: ['#caturday'] }];
    expect(matchFeeds('Happy #Caturday!', feeds)).toEqual(['caturday']);
    expect(matchFeeds('happy caturday', feeds)).toEqual([]);
    expect(matchFeeds('#caturdays', feeds)).toEqual([]);
    expect(matchFeeds('##caturday', feeds)).toEqual([]);
  });

  it('knows word boundaries in every script, and folds case beyond ASCII', () => {
    const feeds = [
      { name: 'katzen', keywords: ['Kätzchen'] },
      { name: 'neko', keywords: ['кошка'] },
    ];
    expect(matchFeeds('Ein KÄTZCHEN!', feeds)).toEqual(['katzen']);
    expect(matchFeeds('Kätzchenbilder', feeds)).toEqual([]);
    expect(matchFeeds('моя Кошка спит', feeds)).toEqual(['neko']);
    expect(matchFeeds('кошками', feeds)).toEqual([]);
    // NFD text (a + combining diaeresis) matches an NFC keyword.
    expect(matchFeeds('ein Ka\u0308tzchen', feeds)).toEqual(['katzen']);
  });

  it('matches phrases over any whitespace, and takes keywords literally', () => {
    expect(matchFeeds('a black\n cat', [{ name: 'noir', keywords: ['black cat'] }])).toEqual(['noir']);
    expect(matchFeeds('c++ rocks', [{ name: 'cpp', keywords: ['c++'] }])).toEqual(['cpp']);
    expect(matchFeeds('cxx rocks', [{ name: 'cpp', keywords: ['c.+'] }])).toEqual([]);
  });

  it('returns each matching feed once, in the order given; empty keywords match nothing', () => {
    const feeds = [
      { name: 'dogs', keywords: ['dog', 'puppy'] },
      { name: 'empty', keywords: ['', '  ', '#'] },
      { name: 'cats', keywords: ['cat', '#caturday'] },
    ];
    expect(matchFeeds('cat and dog and puppy #caturday', feeds)).toEqual(['dogs', 'cats']);
  });
});
