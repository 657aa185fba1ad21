import { describe, expect, it } from 'vitest';
import type { Component, EndpointUri } from './types.js';
import { parseDuration, parseRate, parseUri, resolveOptions, UriError } from './uri.js';

/** A component with one option of each type, shaped like `log:`. */
const log: Component = {
  scheme: 'log',
  doc: 'test',
  path: { doc: 'a logger name', required: true },
  options: {
    level: { type: 'enum', values: ['debug', 'info', 'warn'], default: 'info', doc: '' },
    showBody: { type: 'boolean', default: true, doc: '' },
    maxChars: { type: 'integer', default: 500, min: 1, max: 10_000, doc: '' },
    every: { type: 'duration', default: '10s', doc: '' },
    pace: { type: 'rate', doc: '' },
    prefix: { type: 'string', doc: '' },
    tag: { type: 'string', minLength: 1, doc: '' },
  },
};

function thrown(action: () => unknown): UriError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UriError);
    return error as UriError;
  }
  throw new Error('expected a UriError');
}

const resolve = (raw: string, component: Component = log) => resolveOptions(component, parseUri(raw));

describe('parseUri', () => {
  it('splits scheme, path and options', () => {
    expect(parseUri('replay:samples/x.ndjson?pace=5/s&loop=false')).toEqual({
      raw: 'replay:samples/x.ndjson?pace=5/s&loop=false',
      scheme: 'replay',
      path: 'samples/x.ndjson',
      options: { pace: '5/s', loop: 'false' },
    } satisfies EndpointUri);
  });

  it('keeps the slashes of an AMQP address as the path', () => {
    expect(parseUri('amqp:/topic/feed.cats')).toMatchObject({ scheme: 'amqp', path: '/topic/feed.cats', options: {} });
  });

  it('accepts an empty path, no options, and an option without a value as true', () => {
    expect(parseUri('log:')).toMatchObject({ scheme: 'log', path: '', options: {} });
    expect(parseUri('log:items?')).toMatchObject({ path: 'items', options: {} });
    expect(parseUri('log:items?showBody&&level=warn').options).toEqual({ showBody: 'true', level: 'warn' });
  });

  it('URL-decodes option names and values, and splits a value only at its first =', () => {
    expect(parseUri('stomp:/queue/x?selector=kind%3D%27cat%27%20AND%20n%3E1&a%2Bb=c=d').options).toEqual({
      selector: "kind='cat' AND n>1",
      'a+b': 'c=d',
    });
  });

  it('refuses an option given twice, naming it, even when spelled differently', () => {
    const error = thrown(() => parseUri('log:items?level=info&lev%65l=warn'));
    expect(error.option).toBe('level');
    expect(error.message).toBe('option "level" is given twice in log:items?level=info&lev%65l=warn');
  });

  it('refuses what is not a URI, with an example', () => {
    for (const raw of ['items', '1log:items', 'Log:items', '']) {
      expect(thrown(() => parseUri(raw)).message).toMatch(/is not an endpoint URI: expected scheme:path\?options, e\.g\. log:items$/);
    }
  });

  it('reports a malformed escape as a UriError naming the option and the URI', () => {
    const error = thrown(() => parseUri('log:items?prefix=100%'));
    expect(error.option).toBe('prefix');
    expect(error.message).toContain('log:items?prefix=100%');
  });

  it('takes names that objects inherit as options like any other', () => {
    expect(parseUri('log:items?constructor=1&toString=2').options).toEqual({ constructor: '1', toString: '2' });
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['250', 250],
    ['10s', 10_000],
    ['1.5s', 1500],
    [' 2 m ', 120_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 's', '-1s', '10 days', '1e3', '5/s'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('parseRate', () => {
  it.each([
    ['5/s', 5],
    ['5 / sec', 5],
    ['5', 5],
    ['0.5/s', 0.5],
    ['300/min', 5],
    ['120/m', 2],
    ['7200/h', 2],
  ])('%s is %d per second', (text, perSecond) => expect(parseRate(text)).toBe(perSecond));

  it.each(['', '0/s', '0', '-1/s', '5/day', '/s', 'fast'])('%j is not a rate', (text) => expect(parseRate(text)).toBeUndefined());
});

describe('resolveOptions', () => {
  it('fills in every default, converted to its type', () => {
    expect(resolve('log:items')).toEqual({ level: 'info', showBody: true, maxChars: 500, every: 10_000 });
  });

  it('converts what the URI gives', () => {
    expect(resolve('log:items?level=warn&showBody=false&maxChars=20&every=250ms&pace=300/min&prefix=a%20b')).toEqual({
      level: 'warn',
      showBody: false,
      maxChars: 20,
      every: 250,
      pace: 5,
      prefix: 'a b',
    });
  });

  it('refuses an unknown option, listing the ones the component takes', () => {
    const error = thrown(() => resolve('log:items?x=1'));
    expect(error.option).toBe('x');
    expect(error.message).toMatch(/^unknown option "x" for log:/);
    expect(error.message).toContain('level, showBody, maxChars, every, pace, prefix');
  });

  it('says when a component takes no options at all', () => {
    const bare: Component = { scheme: 'bare', doc: '', options: {} };
    expect(thrown(() => resolve('bare:x?y=1', bare)).message).toBe('unknown option "y" for bare: (it takes none)');
  });

  it('refuses names objects inherit, which no component declares', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const error = thrown(() => resolve(`log:items?${name}=1`));
      expect(error.option).toBe(name);
      expect(error.message).toMatch(new RegExp(`^unknown option "${name}" for log:`));
    }
  });

  it.each([
    ['showBody=yes', 'showBody', 'option showBody must be true or false, not "yes"'],
    ['maxChars=ten', 'maxChars', 'option maxChars must be a whole number, not "ten"'],
    ['maxChars=1.5', 'maxChars', 'option maxChars must be a whole number, not "1.5"'],
    ['maxChars=', 'maxChars', 'option maxChars must be a whole number, not ""'],
    ['maxChars=0', 'maxChars', 'option maxChars must be at least 1'],
    ['maxChars=10001', 'maxChars', 'option maxChars must be at most 10000'],
    ['every=soon', 'every', 'option every must be a duration such as 500ms or 10s, not "soon"'],
    ['pace=0/s', 'pace', 'option pace must be a rate such as 5/s or 300/min, not "0/s"'],
    ['level=loud', 'level', 'option level must be one of debug, info, warn, not "loud"'],
    ['tag=', 'tag', 'option tag must not be empty'],
  ])('names the option in a conversion error: %s', (query, option, message) => {
    const error = thrown(() => resolve(`log:items?${query}`));
    expect(error.option).toBe(option);
    expect(error.message).toBe(message);
  });

  it('refuses an integer without its digits, even one Number() would read', () => {
    for (const text of ['%20', '0x10', '1e3']) expect(thrown(() => resolve(`log:items?maxChars=${text}`)).option).toBe('maxChars');
  });

  it('takes every value of an enum', () => {
    for (const level of ['debug', 'info', 'warn']) expect(resolve(`log:items?level=${level}`).level).toBe(level);
  });

  it('requires the path when the component says so', () => {
    expect(thrown(() => resolve('log:')).message).toBe('log: needs a path: a logger name');
  });

  it('requires a required string option', () => {
    const topic: Component = { scheme: 'topic', doc: '', options: { name: { type: 'string', required: true, doc: '' } } };
    const error = thrown(() => resolve('topic:x', topic));
    expect(error.option).toBe('name');
    expect(error.message).toBe('topic: option name is required');
    expect(resolve('topic:x?name=cats', topic)).toEqual({ name: 'cats' });
  });
});

describe('redactUri', () => {
  it('hides the values of secret-looking options and keeps the rest', async () => {
    const { redactUri } = await import('./uri.js');
    expect(redactUri('stomp:/topic/feed.cats?host=h&passcode=s3cret&login=viewer')).toBe('stomp:/topic/feed.cats?host=h&passcode=***&login=viewer');
    expect(redactUri('x:stream?token=abc&password=p&apiKey=k&keepAliveTimeout=30s')).toBe('x:stream?token=***&password=***&apiKey=***&keepAliveTimeout=30s');
    expect(redactUri('log:items')).toBe('log:items');
  });
});
