import { describe, expect, it } from 'vitest';
import type { Exchange } from '../engine/types.js';
import { readField, simpleKey, simplePredicate, simpleSplitter, simpleTransform } from './simple.js';

const post = { id: 'x:1', author: { handle: 'cat' }, feeds: ['cats', 'dogs'], images: [{ url: 'https://a/1.jpg' }], likes: 0, deleted: null };
const exchange = (body: unknown = post, headers: Record<string, unknown> = { feed: 'cats', pass: 2 }): Exchange => ({ id: 'ex-7', body, headers });

describe('readField', () => {
  it('follows a dotted path through objects and, with digits, lists', () => {
    expect(readField(post, 'author.handle')).toBe('cat');
    expect(readField(post, 'images.0.url')).toBe('https://a/1.jpg');
    expect(readField(post, 'feeds.1')).toBe('dogs');
  });

  it('is undefined off the end, through scalars, and for properties the object only inherits', () => {
    expect(readField(post, 'author.name')).toBeUndefined();
    expect(readField(post, 'id.length')).toBeUndefined();
    expect(readField(post, 'images.x')).toBeUndefined();
    expect(readField(post, 'constructor')).toBeUndefined();
    expect(readField('text', 'length')).toBeUndefined();
  });
});

describe('simple predicates', () => {
  it('equals compares with the type written: 2 is not "2"', () => {
    expect(simplePredicate({ from: 'header', name: 'pass' }, { equals: 2 })(exchange())).toBe(true);
    expect(simplePredicate({ from: 'header', name: 'pass' }, { equals: '2' })(exchange())).toBe(false);
    expect(simplePredicate({ from: 'field', name: 'likes' }, { equals: 0 })(exchange())).toBe(true);
  });

  it('holds for a list when any element matches, for equals and in alike', () => {
    expect(simplePredicate({ from: 'field', name: 'feeds' }, { equals: 'dogs' })(exchange())).toBe(true);
    expect(simplePredicate({ from: 'field', name: 'feeds' }, { in: ['birds', 'cats'] })(exchange())).toBe(true);
    expect(simplePredicate({ from: 'field', name: 'feeds' }, { in: ['birds'] })(exchange())).toBe(false);
    expect(simplePredicate({ from: 'header', name: 'feed' }, { in: ['cats', 'dogs'] })(exchange())).toBe(true);
  });

  it('exists is false for missing and null values', () => {
    expect(simplePredicate({ from: 'field', name: 'author' }, { exists: true })(exchange())).toBe(true);
    expect(simplePredicate({ from: 'field', name: 'deleted' }, { exists: true })(exchange())).toBe(false);
    expect(simplePredicate({ from: 'header', name: 'error' }, { exists: false })(exchange())).toBe(true);
    expect(simplePredicate({ from: 'header', name: 'toString' }, { exists: true })(exchange())).toBe(false);
  });

  it('is named after what it tests: the step name, and the drop reason filter:<name>', () => {
    expect(simplePredicate({ from: 'header', name: 'feed' }, { equals: 'cats' }).name).toBe('header:feed=cats');
    expect(simplePredicate({ from: 'field', name: 'likes' }, { equals: 0 }).name).toBe('field:likes=0');
    expect(simplePredicate({ from: 'field', name: 'feeds' }, { in: ['a', 1] }).name).toBe('field:feeds in [a, 1]');
    expect(simplePredicate({ from: 'field', name: 'id' }, { exists: false }).name).toBe('field:id missing');
  });
});

describe('simple values', () => {
  it('as a key: strings as they are, other values as JSON, and a missing one never a duplicate', () => {
    expect(simpleKey({ from: 'field', name: 'id' })(exchange())).toBe('x:1');
    expect(simpleKey({ from: 'field', name: 'author' })(exchange())).toBe('{"handle":"cat"}');
    expect(simpleKey({ from: 'field', name: 'nope' })(exchange())).toBe('exchange:ex-7');
    expect(simpleKey({ from: 'header', name: 'feed' }).name).toBe('header:feed');
  });

  it('as a body, and as parts: a value that is not a list fails the exchange, saying what it found', () => {
    expect(simpleTransform({ from: 'field', name: 'author' })(exchange())).toEqual({ handle: 'cat' });
    expect([...simpleSplitter({ from: 'field', name: 'feeds' })(exchange())]).toEqual(['cats', 'dogs']);
    expect(() => simpleSplitter({ from: 'field', name: 'author' })(exchange())).toThrow('split field:author: expected a list, found object');
    expect(() => simpleSplitter({ from: 'field', name: 'deleted' })(exchange())).toThrow('split field:deleted: expected a list, found null');
  });
});
