import { ImageAllowList } from '@livewall/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { INVALID_UTF8, INVALID_UTF8_TEXT, withInvalidUtf8 } from '../../../../test/fuzz.js';
import { contractVerdict } from '../../pipeline/testing.js';
import { decodeMastodonJson } from '../../sources/mastodon/decode.js';
import { FakeMastodon } from '../../sources/mastodon/fake-mastodon.js';
import { photoStatusWithId, sensitiveStatus, textStatus, type Status } from '../../sources/mastodon/fake-statuses.js';
import { endpointContext, fakeClock, recordingSink, settle, testLogger, type FakeClock, type RecordingSink, type TestLogger } from '../testing.js';
import { MastodonConsumer } from './consumer.js';
import { mastodonComponent } from './index.js';
import { mastodonOptions } from './options.js';
import { SseParser } from './sse.js';
import { compareStatusIds, newerPageMinId, parseLinkHeader } from './timeline.js';

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

function start(uri: string, clock: FakeClock = fakeClock(), log: TestLogger = testLogger()): { sink: RecordingSink; done: Promise<void>; log: TestLogger; consumer: MastodonConsumer } {
  const context = endpointContext(mastodonComponent, uri, { clock, log });
  const consumer = new MastodonConsumer(mastodonOptions(context), clock, log, () => 0.5);
  const sink = recordingSink();
  const abort = new AbortController();
  const done = consumer.run(sink, abort.signal);
  runs.push({ abort, done });
  return { sink, done, log, consumer };
}

/** What the feed route makes of an offered status: its text, and whether it meets the contract ('ok') or why not. */
function brokenTootVerdict(body: unknown): { text: string; verdict: string } {
  const event = decodeMastodonJson(body as string, '127.0.0.1', { feeds: ['toot-cats'] });
  if (event.kind !== 'post') throw new Error(`expected a post, got ${event.reason}`);
  return { text: event.post.text, verdict: contractVerdict(event.post, new ImageAllowList(['files.mastodon.social'])) };
}

const ids = (sink: RecordingSink): string[] => sink.offers.map((offer) => (JSON.parse(offer.body as string) as Status).id);
const INTERVAL = (ms: number) => ms === 30_000;
const IDLE_TIMEOUT = 45_000;
/** `count` photo statuses with ids of one length, ascending from `first`: a burst. */
const burst = (count: number, first = 1000): Status[] => Array.from({ length: count }, (_, i) => photoStatusWithId(`11337000000000${first + i}`));
const idsOf = (statuses: Status[]): string[] => statuses.map((status) => status.id);

describe('mastodon: options', () => {
  it('reads the instance from the path and the token from the environment', () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const context = endpointContext(mastodonComponent, 'mastodon:mastodon.social?tag=%23cats&tokenEnv=MASTODON_TEST_TOKEN&interval=1m');
    expect(mastodonOptions(context)).toEqual({
      baseUrl: 'https://mastodon.social', instance: 'mastodon.social', tag: 'cats', token: TOKEN, tokenEnv: 'MASTODON_TEST_TOKEN', intervalMs: 60_000, pagesPerPoll: 5, idleTimeoutMs: 45_000, sensitive: false,
    });
  });

  it('refuses what it cannot follow, saying what to write', () => {
    expect(() => endpointContext(mastodonComponent, 'mastodon:mastodon.social')).toThrow('mastodon: option tag is required');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:https://m.example/x?tag=cats'))).toThrow('write the host only');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:m.example?tag=a/b'))).toThrow('not a hashtag');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:m.example?tag=cats&tokenEnv=NOPE_NOT_SET'))).toThrow(
      'environment variable NOPE_NOT_SET (option tokenEnv) is empty or not set',
    );
    expect(() => endpointContext(mastodonComponent, 'mastodon:m.example?tag=cats&pagesPerPoll=0')).toThrow('option pagesPerPoll must be at least 1');
    expect(() => mastodonComponent.createConsumer!(endpointContext(mastodonComponent, 'mastodon:m.example?tag=cats&idleTimeout=500ms'))).toThrow('option idleTimeout must be at least 1s');
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

describe('mastodon: paging as Mastodon pages', () => {
  it('the fake answers since_id with the newest page, min_id with the page right after, max_id with older ones, and links both neighbours', async () => {
    const statuses = burst(45);
    const { port } = await fakeMastodon([...statuses, textStatus]);
    const base = `http://127.0.0.1:${port}/api/v1/timelines/tag/cats`;
    const id = (i: number): string => statuses[i]?.id ?? '';
    const page = async (query: string): Promise<{ ids: string[]; link: string | null }> => {
      const response = await fetch(`${base}?${query}`);
      return { ids: idsOf((await response.json()) as Status[]), link: response.headers.get('link') };
    };
    expect(await page(`only_media=true&since_id=${id(2)}&limit=3`)).toEqual({
      ids: [id(44), id(43), id(42)],
      link: `<${base}?limit=3&max_id=${id(42)}&only_media=true>; rel="next", <${base}?limit=3&min_id=${id(44)}&only_media=true>; rel="prev"`,
    });
    expect((await page(`only_media=true&min_id=${id(2)}&limit=3`)).ids).toEqual([id(5), id(4), id(3)]);
    // min_id wins over since_id; max_id bounds either.
    expect((await page(`min_id=${id(2)}&since_id=${id(30)}&limit=3`)).ids).toEqual([id(5), id(4), id(3)]);
    expect((await page(`only_media=true&min_id=${id(2)}&max_id=${id(5)}`)).ids).toEqual([id(4), id(3)]);
    expect((await page(`only_media=true&max_id=${id(5)}&limit=3`)).ids).toEqual([id(4), id(3), id(2)]);
    expect(await page(`only_media=true&min_id=${id(44)}`)).toEqual({ ids: [], link: null });
    // 20 without a limit, at most 40; only_media leaves out the status without media.
    expect((await page('')).ids).toHaveLength(20);
    expect((await page('limit=100')).ids).toHaveLength(40);
    expect((await page(`max_id=${id(0)}`)).ids).toEqual([textStatus.id]);
    expect((await page(`only_media=true&max_id=${id(0)}`)).ids).toEqual([]);
  });

  it('takes the newer page\'s min_id from the rel="prev" link, and nothing else', () => {
    const link = '<https://m.example/api/v1/timelines/tag/cats?limit=40&max_id=105&only_media=true>; rel="next", <https://m.example/api/v1/timelines/tag/cats?limit=40&min_id=144&only_media=true>; rel="prev"';
    expect(newerPageMinId(link)).toBe('144');
    expect(newerPageMinId('<https://m.example/x?min_id=9>; rel="next"')).toBeUndefined();
    expect(newerPageMinId('<https://m.example/x?since_id=9>; rel="prev"')).toBeUndefined();
    expect(newerPageMinId('<https://m.example/x?min_id=9%2F..%2F>; rel="prev"')).toBeUndefined();
    expect(newerPageMinId('</api/v1/timelines/tag/cats?min_id=12>; rel=prev')).toBe('12');
    expect(newerPageMinId(null)).toBeUndefined();
    expect(parseLinkHeader('<a>; rel="prev previous", <b>;rel=next; title="x"')).toEqual(new Map([['prev', 'a'], ['previous', 'a'], ['next', 'b']]));
  });
});

describe('mastodon: polling without a token', () => {
  it('offers media statuses oldest first, then only newer ones with min_id, every interval', async () => {
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
    expect(server.requests[1]?.query).toEqual({ only_media: 'true', min_id: '113370000000000004', limit: '40' });
    expect(ids(sink)).toEqual(['100', '101', '113370000000000010', '113370000000000011']);
    expect(server.requests.some((request) => request.path.includes('streaming'))).toBe(false);
  });

  it('offers a burst of 100 statuses between two polls once each, oldest first, page by page after the newest seen', async () => {
    const { server, port } = await fakeMastodon([photoStatusWithId('113370000000000999')]);
    const clock = fakeClock();
    const { sink } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http`, clock);
    await clock.whenSleeping(1, INTERVAL);
    const statuses = burst(100);
    for (const status of statuses) server.post(status);
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['113370000000000999', ...idsOf(statuses)]);
    // Pages of 40, 40 and 20, each starting where the last one's rel="prev" link said.
    expect(server.requests.slice(1).map((request) => request.query.min_id)).toEqual(['113370000000000999', statuses[39]?.id, statuses[79]?.id]);
    expect(server.requests.every((request) => request.query.since_id === undefined)).toBe(true);

    // A quiet poll is a single request.
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    expect(server.requests).toHaveLength(5);
    expect(server.requests[4]?.query.min_id).toBe(statuses[99]?.id);
    expect(sink.offers).toHaveLength(101);
  });

  it('reads at most pagesPerPoll pages a poll, says so, and the rest with the next poll, without duplicates', async () => {
    const { server, port } = await fakeMastodon([photoStatusWithId('113370000000000999')]);
    const clock = fakeClock();
    const { sink, log } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&pagesPerPoll=2`, clock);
    await clock.whenSleeping(1, INTERVAL);
    const statuses = burst(100);
    for (const status of statuses) server.post(status);
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['113370000000000999', ...idsOf(statuses.slice(0, 80))]);
    expect(server.requests).toHaveLength(3);
    const bounded = await log.waitFor((line) => line.message?.includes('the rest come with the next poll') === true);
    expect(bounded).toMatchObject({ level: 'warn', fields: { pages: 2, newestId: statuses[79]?.id } });

    // Two more arrive meanwhile: the next poll reads the rest of the burst, then them.
    const later = burst(2, 2000);
    for (const status of later) server.post(status);
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['113370000000000999', ...idsOf(statuses), ...idsOf(later)]);
    expect(new Set(ids(sink)).size).toBe(sink.offers.length);
    expect(server.requests.slice(3).map((request) => request.query.min_id)).toEqual([statuses[79]?.id]);
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

  it('reads a page with invalid UTF-8 with U+FFFD in its place, tries again after one that is not JSON, and goes on', async () => {
    const { server, port } = await fakeMastodon();
    const clock = fakeClock();
    const page = JSON.stringify([photoStatusWithId('102'), photoStatusWithId('101', { content: '<p>a cat BROKEN</p>' })]);
    server.canned.push({ status: 200, raw: withInvalidUtf8(page, 'BROKEN') });
    const { sink, log } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http`, clock);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['101', '102']);
    expect(brokenTootVerdict(sink.offers[0]?.body)).toEqual({ text: `a cat ${INVALID_UTF8_TEXT}`, verdict: 'ok' });

    server.canned.push({ status: 200, raw: INVALID_UTF8 });
    server.post(photoStatusWithId('103'));
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    const failed = await log.waitFor((line) => line.message === 'mastodon: polling failed; trying again');
    expect(failed.fields.reason).toMatch(/^the timeline was not JSON/);
    expect(ids(sink)).toEqual(['101', '102']);
    await clock.advance(30_000);
    await clock.whenSleeping(1, INTERVAL);
    expect(ids(sink)).toEqual(['101', '102', '103']);
    expect(server.requests[2]?.query.min_id).toBe('102');
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

  it('reads an update with invalid UTF-8 with U+FFFD in its place, counts one that is not JSON, and streams on', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon();
    const { sink, log } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`);
    await server.whenStreams(1);
    const update = (data: Uint8Array): Buffer => Buffer.concat([Buffer.from('event: update\ndata: '), data, Buffer.from('\n\n')]);
    server.writeRaw(update(withInvalidUtf8(JSON.stringify(photoStatusWithId('201', { content: '<p>a cat BROKEN</p>' })), 'BROKEN')));
    server.writeRaw(update(INVALID_UTF8));
    // Sent on the stream only, as the others: a status in the timeline could come first, with the backfill.
    server.writeRaw(update(Buffer.from(JSON.stringify(photoStatusWithId('202')))));
    await sink.offered(2);
    expect(ids(sink)).toEqual(['201', '202']);
    expect(brokenTootVerdict(sink.offers[0]?.body)).toEqual({ text: `a cat ${INVALID_UTF8_TEXT}`, verdict: 'ok' });
    expect(sink.rejects).toEqual([{ reason: 'bad-status', detail: undefined }]);
    expect(server.requests.filter((request) => request.path === '/api/v1/streaming/hashtag')).toHaveLength(1);
    expect(log.lines.filter((line) => line.message === 'mastodon: stream lost; connecting again')).toEqual([]);
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
    await clock.whenSleeping(1, (ms) => ms === 1000);
    expect(clock.requested.filter((ms) => ms !== IDLE_TIMEOUT)).toEqual([1000]);
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
    expect(backfills.map((request) => request.query.min_id)).toEqual([undefined, '200']);
  });

  it('drops a stream silent for idleTimeout, counts it, then reconnects and backfills what the silence hid', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon([photoStatusWithId('299')]);
    const clock = fakeClock();
    const { sink, log, consumer } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`, clock);
    // Streaming and backfilled at 0 s, the watchdog armed.
    await sink.offered(1);
    await clock.whenSleeping(1, (ms) => ms === IDLE_TIMEOUT);
    await clock.advance(30_000);
    // Any text is a sign of life, heartbeats included; the update shows the test that it was read.
    server.heartbeat();
    server.publish(photoStatusWithId('300'));
    await sink.offered(2);
    // 60 s after connecting but 30 s after it last spoke: kept.
    await clock.advance(30_000);
    expect(server.openStreams).toBe(1);
    expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });

    server.silence();
    server.publish(photoStatusWithId('301'));
    await clock.advance(14_999);
    expect(server.openStreams).toBe(1);
    await clock.advance(1);
    const lost = await log.waitFor((line) => line.message === 'mastodon: stream lost; connecting again');
    expect(lost.fields).toMatchObject({ cause: 'idle-timeout', reason: 'nothing, not even a heartbeat, for 45000 ms (idleTimeout)', retryInMs: 1000, reconnects: 1, idleReconnects: 1 });
    expect(consumer.stats()).toEqual({ reconnects: 1, idleReconnects: 1 });
    await clock.whenSleeping(1, (ms) => ms === 1000);
    await clock.advance(1000);
    await sink.offered(3);
    expect(ids(sink)).toEqual(['299', '300', '301']);
    const backfills = server.requests.filter((request) => request.path.startsWith('/api/v1/timelines'));
    expect(backfills.map((request) => request.query.min_id)).toEqual([undefined, '300']);
    expect(server.requests.filter((request) => request.path.includes('streaming'))).toHaveLength(2);
  });

  it('gives up a stream request that gets no answer within idleTimeout, and tries again', async () => {
    process.env.MASTODON_TEST_TOKEN = TOKEN;
    const { server, port } = await fakeMastodon();
    server.answerStreams = false;
    const clock = fakeClock();
    const { log, consumer } = start(`mastodon:127.0.0.1:${port}?tag=cats&scheme=http&tokenEnv=MASTODON_TEST_TOKEN`, clock);
    await server.waitForRequest((request) => request.path.includes('streaming'));
    await clock.whenSleeping(1, (ms) => ms === IDLE_TIMEOUT);
    await clock.advance(IDLE_TIMEOUT);
    const lost = await log.waitFor((line) => line.message === 'mastodon: stream lost; connecting again');
    expect(lost.fields).toMatchObject({ cause: 'failed', reason: 'no answer to the stream request within 45000 ms (idleTimeout)', retryInMs: 1000 });
    // It never opened: not a reconnect.
    expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });
    server.answerStreams = true;
    await clock.whenSleeping(1, (ms) => ms === 1000);
    await clock.advance(1000);
    await server.whenStreams(1);
    await log.waitFor((line) => line.message === 'mastodon: streaming');
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
