import { describe, expect, it } from 'vitest';
import type { Exchange } from '../../engine/types.js';
import { endpointContext, testLogger } from '../testing.js';
import { logComponent } from './index.js';

function logProducer(uri: string) {
  const log = testLogger();
  const producer = logComponent.createProducer!(endpointContext(logComponent, uri, { log }));
  return { producer, log };
}

const exchange = (body: unknown, headers: Record<string, unknown> = {}): Exchange => ({ id: 'ex-1', body, headers });

describe('log:', () => {
  it('writes one info line per exchange, named by the path, bound to the endpoint, with the body as JSON text', async () => {
    const { producer, log } = logProducer('log:items');
    await producer.start();
    await producer.send(exchange({ id: 'x:1', images: ['a'] }, { feed: 'cats' }));
    await producer.send(exchange('plain'));
    expect(log.lines).toEqual([
      { level: 'info', message: 'items', fields: { endpoint: 'log:items', exchangeId: 'ex-1', headers: { feed: 'cats' }, body: '{"id":"x:1","images":["a"]}' } },
      { level: 'info', message: 'items', fields: { endpoint: 'log:items', exchangeId: 'ex-1', headers: {}, body: '"plain"' } },
    ]);
  });

  it('writes at the level asked for', async () => {
    for (const level of ['debug', 'warn'] as const) {
      const { producer, log } = logProducer(`log:items?level=${level}`);
      await producer.send(exchange(1));
      expect(log.lines.map((line) => line.level)).toEqual([level]);
    }
  });

  it('leaves the body out with showBody=false', async () => {
    const { producer, log } = logProducer('log:items?showBody=false');
    await producer.send(exchange({ secretish: 1 }));
    expect(log.lines[0]?.fields).not.toHaveProperty('body');
  });

  it('cuts the body JSON to maxChars and says how long it was', async () => {
    const { producer, log } = logProducer('log:items?maxChars=10');
    await producer.send(exchange({ text: 'a'.repeat(100) }));
    await producer.send(exchange('short'));
    expect(log.lines[0]?.fields).toMatchObject({ body: '{"text":"a', bodyChars: 111 });
    expect(log.lines[1]?.fields.body).toBe('"short"');
    expect(log.lines[1]?.fields).not.toHaveProperty('bodyChars');
  });

  it('defaults to maxChars 500', async () => {
    const { producer, log } = logProducer('log:items');
    await producer.send(exchange('b'.repeat(1000)));
    expect(log.lines[0]?.fields.body).toHaveLength(500);
  });

  it('never writes a secret header, however it is spelled or nested', async () => {
    const { producer, log } = logProducer('log:items');
    const headers = {
      password: 'p1',
      accessToken: 't1',
      CLIENT_SECRET: 's1',
      Authorization: 'Bearer a1',
      broker: { url: 'amqp://x', passcode: 'kept', credentials: [{ apiToken: 't2' }] },
      feed: 'cats',
      error: new Error('boom'),
    };
    await producer.send(exchange({}, headers));
    const written = log.lines[0]?.fields.headers;
    expect(written).toEqual({
      password: '[redacted]',
      accessToken: '[redacted]',
      CLIENT_SECRET: '[redacted]',
      Authorization: '[redacted]',
      broker: { url: 'amqp://x', passcode: 'kept', credentials: [{ apiToken: '[redacted]' }] },
      feed: 'cats',
      error: 'boom',
    });
    expect(JSON.stringify(written)).not.toMatch(/p1|t1|s1|a1|t2/);
    expect(headers.password).toBe('p1');
  });

  it('describes a body JSON cannot hold instead of failing the exchange', async () => {
    const { producer, log } = logProducer('log:items');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await producer.send(exchange(circular));
    await producer.send(exchange(undefined));
    expect(log.lines.map((line) => line.fields.body)).toEqual([expect.stringMatching(/^\[not JSON: .*circular/i), '[undefined]']);
  });

  it('writes a feed item whole, its message the name and the item as tap prints it, with format=item', async () => {
    const { producer, log } = logProducer('log:/topic/feed.cats?format=item');
    const item = { id: 'x:1', createdAt: '2026-05-01T12:34:56Z', author: { handle: 'cat' }, images: [{ url: 'a' }], text: 'a\nloaf', url: 'https://x.com/cat/1' };
    await producer.send(exchange(item, { feed: 'cats', password: 'p' }));
    expect(log.lines).toEqual([
      {
        level: 'info',
        message: '/topic/feed.cats  12:34:56  @cat  [1 image]  a loaf  https://x.com/cat/1',
        fields: { endpoint: 'log:/topic/feed.cats?format=item', exchangeId: 'ex-1', headers: { feed: 'cats', password: '[redacted]' }, item },
      },
    ]);
    const { producer: bodiless, log: bodilessLog } = logProducer('log:/topic/feed.cats?format=item&showBody=false');
    await bodiless.send(exchange(item));
    expect(bodilessLog.lines[0]?.fields).not.toHaveProperty('item');
  });

  it('is always ready and abandons nothing', async () => {
    const { producer } = logProducer('log:items');
    expect(producer.ready()).toBe(true);
    expect(await producer.stop(1000)).toBe(0);
  });

  it('is a producer only', () => {
    expect(logComponent.createConsumer).toBeUndefined();
  });

  it('refuses unknown options, bad values and a missing name as the engine reports them', () => {
    expect(() => endpointContext(logComponent, 'log:items?colour=red')).toThrow('unknown option "colour" for log:; it takes level, showBody, maxChars, format');
    expect(() => endpointContext(logComponent, 'log:items?level=error')).toThrow('option level must be one of debug, info, warn, not "error"');
    expect(() => endpointContext(logComponent, 'log:items?maxChars=0')).toThrow('option maxChars must be at least 1');
    expect(() => endpointContext(logComponent, 'log:')).toThrow('log: needs a path');
  });
});
