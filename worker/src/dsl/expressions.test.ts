import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import type { Exchange } from '../engine/types.js';
import { defaultFunctions, FunctionRegistry } from './expressions.js';

function isCat(exchange: Exchange): boolean {
  return exchange.body === 'cat';
}

describe('FunctionRegistry', () => {
  it('registers each function under its name with its kind, and finds it only as that kind', () => {
    const functions = new FunctionRegistry().predicate(isCat, 'cats only').key((exchange) => exchange.id, 'the exchange id', 'exchangeId');
    expect(functions.get('isCat', 'predicate')).toBe(isCat);
    expect(functions.get('isCat', 'key')).toBeUndefined();
    expect(functions.lookup('exchangeId')?.kind).toBe('key');
    expect(functions.names()).toEqual(['isCat', 'exchangeId']);
    expect(functions.names('predicate')).toEqual(['isCat']);
    expect(functions.list().map(({ name, kind, doc }) => ({ name, kind, doc }))).toEqual([
      { name: 'isCat', kind: 'predicate', doc: 'cats only' },
      { name: 'exchangeId', kind: 'key', doc: 'the exchange id' },
    ]);
  });

  it('refuses a name twice, and names a YAML ref could not spell', () => {
    expect(() => new FunctionRegistry().predicate(isCat, '').transform(isCat, '')).toThrow('expression isCat is registered twice');
    expect(() => new FunctionRegistry().predicate(() => true, 'anonymous')).toThrow('expression name "" must match');
    expect(() => new FunctionRegistry().predicate(isCat, '', 'is cat')).toThrow('expression name "is cat" must match');
  });
});

describe('defaultFunctions', () => {
  it('offers the feed pipeline, each piece registered under its own function name', () => {
    const functions = defaultFunctions();
    expect(functions.list().map(({ name, kind }) => `${kind} ${name}`)).toEqual([
      'transform decodeX',
      'transform decodeBluesky',
      'transform decodeMastodon',
      'predicate isRejected',
      'transform rejection',
      'predicate isIdentity',
      'predicate isPost',
      'transform post',
      'predicate hasPictures',
      'splitter byFeed',
      'transform feedItem',
      'predicate isMapped',
      'transform stamp',
      'predicate meetsContract',
      'key itemKey',
    ]);
    for (const { name, fn } of functions.list()) expect(fn.name).toBe(name);
  });

  it('is signed with the config settings its functions read, and unsigned without a config', () => {
    const demo = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
    const config = loadConfig(demo, { LIVEWALL_PUBLISHER_PASSWORD: 'pw' });
    expect(defaultFunctions().signature).toBeUndefined();
    expect(defaultFunctions(config).signature).toBe(defaultFunctions(config).signature);
    expect(defaultFunctions({ ...config, videoPreviews: false }).signature).not.toBe(defaultFunctions(config).signature);
  });
});
