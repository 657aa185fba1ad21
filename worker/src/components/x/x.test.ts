import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeXServer } from '../../sources/x/fake-x-server.js';
import { endpointContext, fakeClock, recordingSink, testLogger } from '../testing.js';
import { xComponent, XStreamConsumer } from './index.js';

const TOKEN_ENV = 'LIVEWALL_TEST_X_TOKEN';
const feeds = [{ name: 'cats', keywords: ['cat', 'kitten', '#caturday'] }];

let server: FakeXServer;
let baseUrl: string;
beforeEach(async () => {
  server = new FakeXServer();
  baseUrl = await server.listen();
  process.env[TOKEN_ENV] = 'secret-bearer';
});
afterEach(async () => {
  delete process.env[TOKEN_ENV];
  await server.close();
});

function consumer(settings: Record<string, unknown> = { xFeeds: feeds }, log = testLogger()) {
  const context = endpointContext(xComponent, `x:stream?baseUrl=${encodeURIComponent(baseUrl)}&tokenEnv=${TOKEN_ENV}`, { settings, clock: fakeClock(), log });
  return xComponent.createConsumer!(context) as XStreamConsumer;
}

describe('x: component', () => {
  it('names the missing environment variable, never a token', async () => {
    delete process.env[TOKEN_ENV];
    await expect(consumer().run(recordingSink(), new AbortController().signal)).rejects.toThrow(`x: environment variable ${TOKEN_ENV} is not set`);
    expect(server.rulesCalls).toEqual([]);
  });

  it('refuses other paths and a missing xFeeds setting', async () => {
    expect(() => xComponent.createConsumer!(endpointContext(xComponent, 'x:sample'))).toThrow('x: unknown path "sample"');
    await expect(consumer({}).run(recordingSink(), new AbortController().signal)).rejects.toThrow('x: the xFeeds setting must list the feeds');
  });

  it('reconciles rules on start, streams, and applies changed feeds without reconnecting', async () => {
    const log = testLogger();
    const source = consumer({ xFeeds: feeds }, log);
    const abort = new AbortController();
    const sink = recordingSink();
    const done = source.run(sink, abort.signal);
    const connection = await server.connection(1);
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([{ value: '(cat OR kitten OR #caturday) has:images -is:retweet', tag: 'cats' }]);
    expect(connection.authorization).toBe('Bearer secret-bearer');

    await source.reconcile([...feeds, { name: 'dogs', keywords: ['dog'] }]);
    expect(server.rules.map((rule) => rule.tag)).toEqual(['cats', 'dogs']);
    await connection.write('{"data":{"id":"1","text":"t","author_id":"2","created_at":"2026-11-01T12:00:05.000Z"}}\r\n');
    await sink.offered(1);
    expect(server.streamRequests).toBe(1);
    expect(server.connections).toHaveLength(1);

    abort.abort();
    await done;
    await connection.closed;
    expect(JSON.stringify(log.lines)).not.toContain('secret-bearer');
  });
});
