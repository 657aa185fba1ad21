import { afterEach, describe, expect, it } from 'vitest';
import { FakeMastodon } from '../../sources/mastodon/fake-mastodon.js';
import { photoStatusWithId, sensitiveStatus, textStatus, type Status } from '../../sources/mastodon/fake-statuses.js';
import { endpointContext, fakeClock, recordingSink, settle, testLogger, type FakeClock, type RecordingSink, type TestLogger } from '../testing.js';
import { MastodonConsumer } from './consumer.js';
import { mastodonComponent } from './index.js';
import { mastodonOptions } from './options.js';
import { SseParser } from './sse.js';
import { compareStatusIds } from './timeline.js';

const TOKEN = 'sekrit-token-value';
const servers: FakeMastodon[] = [];
const runs: { abort: AbortController; done: Promise<unknown> }[] = [];
afterEach(async () => {
  for (const run of runs.splice(0)) {
    run.abort.abort();
    await run.done.catch(() => undefined);
  }
  await Promise.all(servers.splice(0).map((server) => server.close()));
  delete process.env.MASTODON_TEST_TOKEN;
});

async function fakeMastodon(statuses: Status[] = []): Promise<{ server: FakeMastodon; port: number }> {
  const server = new FakeMastodon(statuses);
  servers.push(server);
  return { server, port: await server.listen() };
}

function start(uri: string, clock: FakeClock = fakeClock(), log: TestLogger = testLogger()): { sink: RecordingSink; done: Promise<void>; log: TestLogger } {
  const context = endpointContext(mastodonComponent, uri, { clock, log });
  const consumer = new MastodonConsumer(mastodonOptions(context), clock, log, () => 0.5);
  const sink = recordingSink();
  const abort = new AbortController();
  const done = consumer.run(sink, abort.signal);
  runs.push({ abort, done });
  return { sink, done, log };
}

const ids = (sink: RecordingSink): string[] => sink.offers.map((offer) => (JSON.parse(offer.body as string) as Status).id);
const INTERVAL = (ms: number) => ms === 30_000;

describe('mastodon: options', () => {
  it('reads the instance from the path and the token from the environment', () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const context = endpointContext(mastodonComponent, 'mastodon:mastodon.social?tag=%23cats&tokenEnv=MASTODON_TEST_TOKEN&interval=1m');
    expect(mastodonOptions(context)).toEqual({
      baseUrl: 'https://mastodon.social', instance: 'mastodon.social', tag: 'cats', token: TOKEN, tokenEnv: 'MASTODON_TEST_TOKEN', intervalMs: 60_000, sensitive: false,
    });
  });

  it('refuses what it cannot follow, saying what to write', () => {
    expect(() => endpointContext(mastodonComponent, 'mastodon:mastodon.social')).toThrow('mastodon: option tag is required');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:https://m.example/x?tag=cats'))).toThrow('write the host only');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:m.example?tag=a/b'))).toThrow('not a hashtag');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:m.example?tag=cats&tokenEnv=NOPE_NOT_SET'))).toThrow(
      'environment variable NOPE_NOT_SET (option tokenEnv) is empty or not set',
    );
  });

  it('compares status ids as Mastodon orders them', () => {
    expect(['9', '113370000000000002', '10', '113370000000000001'].sort(compareStatusIds)).toEqual(['9', '10', '113370000000000001', '113370000000000002']);
  });
});

describe('mastodon: SSE', () => {
  it('joins chunks, ignores comments and other fields', () => {
    const parser = new SseParser();
    expect(parser.push(':)\nevent: upd')).toEqual([]);
    expect(parser.push('ate\r\ndata: {"a":\ndata: 1}\nid: 7\n:thump\n\nevent: delete\ndata: 12\n\n')).toEqual([
      { event: 'update', data: '{"a":\n1}' },
      { event: 'delete', data: '12' },
    ]);
  });
});

describe('mastodon: polling without a token', () => {
  it('offers media statuses oldest first, then only newer ones with since_id, every interval', async () => {
    const { server, port } = await fakeMastodon([photoStatusWithId('100'), textStatus, photoStatusWithId('101'), sensitiveStatus]);
    const clock = fakeClock();
    const { sink } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http`, clock);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['100', '101']);
    expect(sink.rejects).toEqual([{ reason: 'sensitive', detail: undefined }]);
    expect(sink.offers[0]?.headers).toEqual({ source: 'mastodon', instance: '127.0.0.1', tag: 'cats' });
    expect(server.requests).toEqual([{ path: '/api/v1/timelines/tag/cats', query: { only_media: 'true', limit: '40' }, authorized: false }]);

    server.post(photoStatusWithId('113370000000000010'));
    server.post(photoStatusWithId('113370000000000011'));
    await clock.advance(29_999);
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    await clock.whenSleeping(1, INTERVAL);
    expect(server.requests[1]?.query).toEqual({ only_media: 'true', since_id: '113370000000000004', limit: '40' });
    expect(ids(sink)).toEqual(['100', '101', '113370000000000010', '113370000000000011']);
    expect(server.requests.some((request) => request.path.includes('streaming'))).toBe(false);
  });

  it('waits for X-RateLimit-Reset after a 429, and backs off after 5xx', async () => {
    const { server, port } = await fakeMastodon([photoStatusWithId('100')]);
    const clock = fakeClock(Date.parse('2024-10-28T10:00:00.000Z'));
    server.canned.push({ status: 429, headers: { 'x-ratelimit-reset': '2024-10-28T10:05:00.000Z' }, body: { error: 'Too many requests' } });
    server.canned.push({ status: 503, body: { error: 'down' } });
    const { sink, log } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http`, clock);
    await clock.whenSleeping(1, (ms) => ms === 300_000);
    expect(log.lines.some((line) => line.message?.includes('rate-limited'))).toBe(true);
    await clock.advance(299_999);
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    // The 503: the first retry waits 5 s doubled per failure, never less than the interval.
    await clock.whenSleeping(1, INTERVAL);
    expect(server.requests).toHaveLength(2);
    expect(sink.offers).toEqual([]);
    await clock.advance(30_000);
    await sink.offered(1);
    expect(ids(sink)).toEqual(['100']);
  });

  it('fails with what to do when the instance refuses the timeline', async () => {
    const { server, port } = await fakeMastodon();
    server.canned.push({ status: 422, body: { error: 'This method requires an authenticated user' } });
    const { done } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http`);
    await expect(done).rejects.toThrow(/refused the tag timeline for #cats: HTTP 422 \(This method requires an authenticated user\); .*set tokenEnv/);
  });
});

describe('mastodon: streaming with a token', () => {
  it('backfills, then offers updates as they come, ignoring heartbeats and other events', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon([photoStatusWithId('100')]);
    const log = testLogger();
    const { sink } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`, fakeClock(), log);
    await sink.offered(1);
    await server.whenStreams(1);
    server.heartbeat();
    server.publish(photoStatusWithId('101'));
    server.writeRaw('event: delete\ndata: 100\n\n');
    server.publish(photoStatusWithId('102'));
    await sink.offered(3);
    expect(ids(sink)).toEqual(['100', '101', '102']);
    expect(server.requests.map((request) => [request.path, request.query.tag ?? null, request.authorized])).toEqual([
      ['/api/v1/streaming/hashtag', 'cats', true],
      ['/api/v1/timelines/tag/cats', null, true],
    ]);
    expect(JSON.stringify(log.lines)).not.toContain(TOKEN);
  });

  it('reconnects after a drop with backoff, and backfills what it missed without duplicates', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon();
    const clock = fakeClock();
    const { sink } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`, clock);
    await server.whenStreams(1);
    await server.waitForRequest((request) => request.path.startsWith('/api/v1/timelines'));
    server.publish(photoStatusWithId('200'));
    await sink.offered(1);
    server.drop();
    await clock.whenSleeping(1);
    expect(clock.requested).toEqual([1000]);
    server.post(photoStatusWithId('201'));
    server.post(photoStatusWithId('202'));
    await clock.advance(1000);
    await sink.offered(3);
    await server.whenStreams(1);
    server.publish(photoStatusWithId('203'));
    await sink.offered(4);
    await settle();
    expect(ids(sink)).toEqual(['200', '201', '202', '203']);
    const backfills = server.requests.filter((request) => request.path.startsWith('/api/v1/timelines'));
    expect(backfills.map((request) => request.query.since_id)).toEqual([undefined, '200']);
  });

  it('fails with what to do when the token is refused', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon();
    const original = server.requests;
    const clock = fakeClock();
    // The fake accepts any Bearer token; an instance that refuses it answers 401 like the fake does without one.
    const context = endpointContext(mastodonComponent, `mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`, { clock });
    const consumer = new MastodonConsumer({ ...mastodonOptions(context), token: 'bad token' }, clock, testLogger());
    await expect(consumer.run(recordingSink(), new AbortController().signal)).rejects.toThrow(/refused the hashtag stream for #cats: HTTP 401.*check the token in MASTODON_TEST_TOKEN/);
    expect(original).toHaveLength(1);
  });
});
