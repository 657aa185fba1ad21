import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { from } from '../../engine/definition.js';
import { Engine } from '../../engine/engine.js';
import { ComponentRegistry } from '../../engine/registry.js';
import { FeedDirectory, type DirectoryFeed } from '../../sources/feed-directory.js';
import { FakeXServer } from '../../sources/x/fake-x-server.js';
import { mockComponent, mockEndpoint, resetMocks } from '../mock/index.js';
import { endpointContext, fakeClock, recordingSink, testLogger, type LogLine, type TestLogger } from '../testing.js';
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

describe('x: component in a route', () => {
  afterEach(() => resetMocks());

  it('shows an error sent inside the stream in the route\'s status, logs it once per problem, never the token, and streams on', async () => {
    const clock = fakeClock();
    const log = testLogger();
    const engine = new Engine(new ComponentRegistry().register(xComponent).register(mockComponent), { baseDir: '.', clock, log, settings: { xFeeds: feeds } });
    engine.add(from(`x:stream?baseUrl=${encodeURIComponent(baseUrl)}&tokenEnv=${TOKEN_ENV}`).routeId('source:x').to('mock:x-lines').build());
    await engine.start();
    // X's answer to a second stream of the same app, sent inside the stream: twice, the link getting through in between.
    const tooMany = JSON.stringify({
      title: 'ConnectionException',
      detail: 'This stream is currently at the maximum allowed connection limit.',
      connection_issue: 'TooManyConnections',
      type: 'https://api.twitter.com/2/problems/streaming-connection',
    });
    for (const count of [1, 2]) {
      const connection = await server.connection(count);
      await connection.write(`${tooMany}\r\n`);
      // The HTTP class, from 5 s again each time: the stream had got through.
      await clock.whenSleeping(1, (ms) => ms === 5000);
      await clock.advance(5000);
    }
    const third = await server.connection(3);
    const lines = mockEndpoint('x-lines');
    lines.expectedCount(1);
    await third.write('{"data":{"id":"1","text":"t","author_id":"2","created_at":"2026-11-01T12:00:05.000Z"}}\r\n');
    await lines.assertIsSatisfied();

    const [status] = engine.status();
    // The stream's error messages are not items: counted apart, so the counters add up.
    expect(status?.counters).toMatchObject({ received: 1, dropped: {}, rejected: { 'stream-error:TooManyConnections': 2 } });
    expect(status?.source).toEqual({ uri: expect.stringMatching(/^x:stream\?/), stats: { reconnects: 2, network: 0, http: 2, rateLimited: 0 } });
    const errors = log.lines.filter((line) => line.message === 'x: the stream sent an error');
    expect(errors.map((line) => [line.level, line.fields.problem, line.fields.title])).toEqual([
      ['warn', 'TooManyConnections', 'ConnectionException'],
      ['debug', 'TooManyConnections', 'ConnectionException'],
    ]);
    expect(log.lines.filter((line) => line.message === 'x: stream lost; connecting again').map((line) => line.fields.reason)).toEqual([
      'stream error TooManyConnections (ConnectionException): This stream is currently at the maximum allowed connection limit.',
      'stream error TooManyConnections (ConnectionException): This stream is currently at the maximum allowed connection limit.',
    ]);
    expect(server.connections.map((connection) => connection.authorization)).toEqual(['Bearer secret-bearer', 'Bearer secret-bearer', 'Bearer secret-bearer']);
    await engine.stop(1000);
    expect(JSON.stringify(log.lines)).not.toContain('secret-bearer');
    expect(JSON.stringify(engine.status())).not.toContain('secret-bearer');
  });
});

describe('x: component with the worker\'s feed directory', () => {
  const cats: DirectoryFeed = { name: 'cats', network: 'x', keywords: ['cat'] };
  const dogs: DirectoryFeed = { name: 'dogs', network: 'x', keywords: ['dog', 'puppy'] };
  const skyCats: DirectoryFeed = { name: 'sky-cats', network: 'bluesky', keywords: ['cat'] };
  const rule = (keywords: string): string => `(${keywords}) has:images -is:retweet`;
  const anotherTools = { id: '42', value: 'from:someone has:images', tag: 'another-tool' };
  const tweet = (id: string, tag: string): string =>
    `{"data":{"id":"${id}","text":"t","author_id":"2","created_at":"2026-11-01T12:00:05.000Z"},"matching_rules":[{"id":"1","tag":"${tag}"}]}\r\n`;

  const isReconcile = (line: LogLine): boolean => line.message === 'x: stream rules reconciled';
  /** Resolves once a reconcile of these feeds (by name, in order) has been logged. */
  const reconciled = (log: TestLogger, feeds: string[]) => log.waitFor((line) => isReconcile(line) && JSON.stringify(line.fields.feeds) === JSON.stringify(feeds));
  const isRefusal = (line: LogLine): boolean => line.message === 'x: the changed feeds could not be applied to the stream rules; the previous rules stay';
  /** Resolves once `count` reconciles have been logged in all, done or refused, the one at start included. */
  const reconciles = (log: TestLogger, count: number) => log.waitFor(() => log.lines.filter((line) => isReconcile(line) || isRefusal(line)).length >= count);

  async function streaming(directory: FeedDirectory) {
    const log = testLogger();
    const source = consumer({ feeds: directory }, log);
    const abort = new AbortController();
    const sink = recordingSink();
    const done = source.run(sink, abort.signal);
    const connection = await server.connection(1);
    return {
      log,
      sink,
      connection,
      async stop() {
        abort.abort();
        await done;
      },
    };
  }

  it('reads the feeds of its network from the directory', async () => {
    server.rules = [anotherTools];
    const { stop } = await streaming(new FeedDirectory([cats, skyCats, dogs]));
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([
      { value: anotherTools.value, tag: 'another-tool' },
      { value: rule('cat'), tag: 'cats' },
      { value: rule('dog OR puppy'), tag: 'dogs' },
    ]);
    await stop();
  });

  it('refuses a directory without feeds on x, naming the network', async () => {
    await expect(consumer({ feeds: new FeedDirectory([skyCats]) }).run(recordingSink(), new AbortController().signal)).rejects.toThrow('x: no feed of the config is on network x');
    expect(server.rulesCalls).toEqual([]);
  });

  it('applies a change of the directory to the rules while streaming: only the difference, on the open stream', async () => {
    server.rules = [anotherTools];
    const directory = new FeedDirectory([cats, dogs, skyCats]);
    const { log, sink, connection, stop } = await streaming(directory);
    const [catsId] = server.rules.filter((existing) => existing.tag === 'cats').map((existing) => existing.id);
    const before = server.rulesCalls.length;

    // A change on another network leaves the rules alone.
    directory.update([cats, dogs, { ...skyCats, keywords: ['kitten'] }]);
    const kittens = { ...cats, keywords: ['cat', 'kitten'] };
    const fish: DirectoryFeed = { name: 'fish', network: 'x', keywords: ['fish', 'goldfish'] };
    directory.update([kittens, dogs, fish, skyCats]);
    await reconciled(log, ['cats', 'dogs', 'fish']);

    const added = [
      { value: rule('cat OR kitten'), tag: 'cats' },
      { value: rule('fish OR goldfish'), tag: 'fish' },
    ];
    expect(server.rulesCalls.slice(before)).toEqual([
      { method: 'GET', query: {}, body: undefined },
      { method: 'POST', query: { dry_run: 'true' }, body: { add: added } },
      { method: 'POST', query: {}, body: { delete: { ids: [catsId] } } },
      { method: 'POST', query: {}, body: { add: added } },
    ]);
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([{ value: anotherTools.value, tag: 'another-tool' }, { value: rule('dog OR puppy'), tag: 'dogs' }, ...added]);

    await connection.write(tweet('1', 'fish'));
    await sink.offered(1);
    expect(server.streamRequests).toBe(1);
    expect(server.connections).toHaveLength(1);
    expect(sink.rejects).toEqual([]);
    await stop();
  });

  it('deletes the rule of a feed removed from the config, and only that one', async () => {
    server.rules = [anotherTools];
    const directory = new FeedDirectory([cats, dogs]);
    const { log, stop } = await streaming(directory);
    const [dogsId] = server.rules.filter((existing) => existing.tag === 'dogs').map((existing) => existing.id);
    const before = server.rulesCalls.length;

    directory.update([cats]);
    await reconciled(log, ['cats']);
    expect(server.rulesCalls.slice(before)).toEqual([
      { method: 'GET', query: {}, body: undefined },
      { method: 'POST', query: {}, body: { delete: { ids: [dogsId] } } },
    ]);
    expect(server.rules.map(({ tag }) => tag)).toEqual(['another-tool', 'cats']);
    expect(server.streamRequests).toBe(1);
    await stop();
  });

  it('applies changes that come quickly one after the other, one at a time', async () => {
    const directory = new FeedDirectory([cats]);
    const { log, sink, stop } = await streaming(directory);
    const before = server.rulesCalls.length;

    directory.update([cats, dogs]);
    directory.update([{ ...cats, keywords: ['kitten'] }, dogs]);
    await reconciles(log, 3);

    // The first reconcile already saw the last change; the second found nothing left to do.
    expect(server.rulesCalls.slice(before).map(({ method, query }) => `${method}${query.dry_run ? ' dry_run' : ''}`)).toEqual(['GET', 'POST dry_run', 'POST', 'POST', 'GET']);
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([
      { value: rule('kitten'), tag: 'cats' },
      { value: rule('dog OR puppy'), tag: 'dogs' },
    ]);
    expect(sink.rejects).toEqual([]);
    await stop();
  });

  it('counts a change X refuses, keeps the rules it had and the stream it has', async () => {
    const directory = new FeedDirectory([cats]);
    const { log, sink, connection, stop } = await streaming(directory);
    const rulesBefore = [...server.rules];
    const before = server.rulesCalls.length;

    directory.update([{ ...cats, rule: 'cat INVALID' }]);
    await log.waitFor((line) => line.level === 'error' && isRefusal(line));

    expect(sink.rejects).toEqual([
      { reason: 'rules-refused', detail: expect.stringContaining('x: X refused the stream rules: Invalid Rule: "cat INVALID"') },
    ]);
    expect(server.rulesCalls.slice(before).map(({ method, query }) => `${method}${query.dry_run ? ' dry_run' : ''}`)).toEqual(['GET', 'POST dry_run']);
    expect(server.rules).toEqual(rulesBefore);
    await connection.write(tweet('2', 'cats'));
    await sink.offered(1);
    expect(server.streamRequests).toBe(1);
    await stop();
  });

  it('applies a change that came while the rules were first reconciled, before it streams', async () => {
    const directory = new FeedDirectory([cats]);
    const log = testLogger();
    const abort = new AbortController();
    const done = consumer({ feeds: directory }, log).run(recordingSink(), abort.signal);
    // The first reconcile has read the feeds and is waiting for X.
    directory.update([cats, dogs]);

    await server.connection(1);
    expect(server.rules.map((existing) => existing.tag)).toEqual(['cats', 'dogs']);
    abort.abort();
    await done;
  });
});
