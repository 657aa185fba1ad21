import { ImageAllowList } from '@livewall/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { INVALID_UTF8, INVALID_UTF8_TEXT, withInvalidUtf8 } from '../../../../test/fuzz.js';
import { contractVerdict } from '../../pipeline/testing.js';
import { fakeClock, recordingSink, settle, testLogger, type FakeClock } from '../../components/testing.js';
import { xClient } from './client.js';
import { decodeXLine } from './decode.js';
import { FakeXServer, type StreamRefusal } from './fake-x-server.js';
import { streamX } from './stream.js';

const KEEP_ALIVE_MS = 30_000;

function tweet(id: string, text: string): string {
  return JSON.stringify({
    data: { id, text, author_id: '755109284', created_at: '2026-11-01T12:00:05.000Z', attachments: { media_keys: ['3_1'] }, edit_history_tweet_ids: [id] },
    includes: {
      media: [{ media_key: '3_1', type: 'photo', url: 'https://pbs.twimg.com/media/A.jpg', width: 480, height: 360, alt_text: 'a cat' }],
      users: [{ id: '755109284', name: 'Midnight Zoomies', username: 'midnightzoomies' }],
    },
    matching_rules: [{ id: '2116458874819690496', tag: 'cats' }],
  });
}

const OPERATIONAL_DISCONNECT = JSON.stringify({
  errors: [{ title: 'operational-disconnect', disconnect_type: 'OperationalDisconnect', detail: 'This stream has been disconnected for operational reasons.', type: 'https://api.twitter.com/2/problems/operational-disconnect' }],
});

/** What X sends when the app already has its one stream open: inside the stream, or as the body of a 429. */
const TOO_MANY_CONNECTIONS = {
  title: 'ConnectionException',
  detail: 'This stream is currently at the maximum allowed connection limit.',
  connection_issue: 'TooManyConnections',
  type: 'https://api.twitter.com/2/problems/streaming-connection',
};

const servers: FakeXServer[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Streams from a fresh fake X on a fake clock; the test's afterEach stops it. */
async function streaming(clock: FakeClock = fakeClock(), ...refusals: StreamRefusal[]) {
  const server = new FakeXServer();
  servers.push(server);
  server.refuseNext(...refusals);
  const client = xClient('test-token', await server.listen());
  const sink = recordingSink();
  const log = testLogger();
  const abort = new AbortController();
  const done = streamX(client, sink, abort.signal, { clock, log, keepAliveTimeoutMs: KEEP_ALIVE_MS });
  stops.push(async () => {
    abort.abort();
    await done;
  });
  /** Resolves once the code under test waits `ms` to reconnect. */
  const reconnectWait = (ms: number) => clock.whenSleeping(1, (sleep) => sleep === ms);
  return { server, sink, log, clock, reconnectWait };
}

describe('x stream: reading', () => {
  it('asks for media, authors and times with the bearer token', async () => {
    const { server } = await streaming();
    const connection = await server.connection(1);
    expect(connection.authorization).toBe('Bearer test-token');
    expect(connection.query).toEqual({
      expansions: 'attachments.media_keys,author_id',
      'media.fields': 'url,preview_image_url,type,width,height,alt_text',
      'user.fields': 'username,name',
      'tweet.fields': 'created_at,possibly_sensitive',
    });
  });

  it('offers objects split across chunks whole and in order, exact text, no keep-alives', async () => {
    const { server, sink } = await streaming();
    const connection = await server.connection(1);
    const lines = [tweet('1001', 'first 🐈 cat'), tweet('1002', 'zweite Katze – ü'), tweet('1003', 'third: "quoted" \\ slash')];
    const wire = Buffer.from(`\r\n${lines[0]}\r\n\r\n${lines[1]}\r\n\r\n\r\n${lines[2]}\r\n\r\n`, 'utf8');
    // Cut everywhere: inside keys, inside the 4-byte cat emoji, between \r and \n.
    const emoji = wire.indexOf(Buffer.from('🐈'));
    const cuts = [...new Set([1, 2, 40, emoji + 1, emoji + 3, wire.indexOf('\r\n', 50) + 1, 700, 701, 1300, wire.length - 1])].sort((a, b) => a - b);
    let start = 0;
    for (const cut of [...cuts, wire.length]) {
      await connection.write(wire.subarray(start, cut));
      await settle();
      start = cut;
    }
    await sink.offered(3);
    await settle();
    expect(sink.offers.map((offer) => offer.body)).toEqual(lines);
    expect(sink.offers.map((offer) => offer.headers)).toEqual(lines.map(() => ({ receivedAt: 0, source: 'x' })));
    const posts = sink.offers.map((offer) => decodeXLine(offer.body as string));
    expect(posts.map((event) => (event.kind === 'post' ? [event.post.nativeId, event.post.text, event.post.feeds] : event))).toEqual([
      ['1001', 'first 🐈 cat', ['cats']],
      ['1002', 'zweite Katze – ü', ['cats']],
      ['1003', 'third: "quoted" \\ slash', ['cats']],
    ]);
  });
});

/** How many times a sleep of the keep-alive timeout was asked for: the request's deadline, then each (re)arming of the watchdog. */
const watchdogSleeps = (clock: FakeClock): number => clock.requested.filter((ms) => ms === KEEP_ALIVE_MS).length;

/** Resolves once the stream has read what the fake sent and armed its watchdog again; real time passes for the socket, fake time does not. */
async function rearmed(clock: FakeClock, before: number): Promise<void> {
  const started = performance.now();
  while (watchdogSleeps(clock) <= before) {
    if (performance.now() - started > 5000) throw new Error('the keep-alive did not arm the watchdog again');
    await settle();
  }
}

describe('x stream: bytes that are not UTF-8', () => {
  it('offers a line with invalid UTF-8 with U+FFFD in its place, a line of nothing else as text, and goes on', async () => {
    const { server, sink, log } = await streaming();
    const connection = await server.connection(1);
    const crlf = Buffer.from('\r\n');
    await connection.write(Buffer.concat([withInvalidUtf8(tweet('1001', 'a cat BROKEN'), 'BROKEN'), crlf, INVALID_UTF8, crlf, Buffer.from(tweet('1002', 'next cat')), crlf]));
    await sink.offered(3);

    const [broken, garbage, next] = sink.offers.map((offer) => decodeXLine(offer.body as string));
    if (broken?.kind !== 'post' || next?.kind !== 'post') throw new Error(`expected two posts, got ${JSON.stringify([broken, next])}`);
    expect(broken.post.text).toBe(`a cat ${INVALID_UTF8_TEXT}`);
    expect(contractVerdict(broken.post, new ImageAllowList(['pbs.twimg.com']))).toBe('ok');
    expect(garbage).toEqual({ kind: 'invalid', reason: 'not-json' });
    expect(next.post.nativeId).toBe('1002');
    expect(server.streamRequests).toBe(1);
    expect(log.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });
});

describe('x stream: reconnecting', () => {
  it('stays on its one connection while keep-alives come every 20 s, for four times the keep-alive timeout; then silence reconnects', async () => {
    const { server, clock, log, reconnectWait } = await streaming();
    const first = await server.connection(1);
    await log.waitFor((line) => line.message === 'x: stream connected');
    for (let beat = 1; beat <= 6; beat++) {
      await clock.advance(20_000);
      const before = watchdogSleeps(clock);
      await first.write('\r\n');
      await rearmed(clock, before);
    }
    expect(clock.now()).toBe(4 * KEEP_ALIVE_MS);
    expect(server.streamRequests).toBe(1);
    expect(log.lines.filter((line) => line.message === 'x: stream lost; connecting again')).toEqual([]);

    // The last keep-alive came at 120 s: the watchdog gives up 30 s later, not before.
    await clock.advance(KEEP_ALIVE_MS - 1);
    expect(server.streamRequests).toBe(1);
    await clock.advance(1);
    await first.closed;
    await reconnectWait(250);
    await clock.advance(250);
    await server.connection(2);
    expect(server.streamRequests).toBe(2);
  });

  it('reconnects after silence longer than the keep-alive timeout, linear 250 ms', async () => {
    const { server, clock, log, reconnectWait } = await streaming();
    const first = await server.connection(1);
    await log.waitFor((line) => line.message === 'x: stream connected');
    await clock.advance(KEEP_ALIVE_MS - 1);
    expect(server.streamRequests).toBe(1);
    await clock.advance(1);
    await first.closed;
    await reconnectWait(250);
    expect(log.lines.find((line) => line.message === 'x: stream lost; connecting again')?.fields).toMatchObject({ failureClass: 'network', retryInMs: 250 });
    await clock.advance(250);
    await server.connection(2);
  });

  it('reports an error sent inside the stream, warns once per title, and reconnects after 5 s', async () => {
    const { server, clock, sink, log, reconnectWait } = await streaming();
    const first = await server.connection(1);
    await first.write(`${OPERATIONAL_DISCONNECT}\r\n`);
    first.end();
    await reconnectWait(5000);
    expect(sink.rejects).toEqual([{ reason: 'stream-error:OperationalDisconnect', detail: 'This stream has been disconnected for operational reasons.' }]);
    expect(sink.offers).toEqual([]);
    await clock.advance(5000);
    const second = await server.connection(2);
    await log.waitFor((line) => line.message === 'x: stream connected' && log.lines.filter((l) => l.message === 'x: stream connected').length === 2);
    await second.write(`${OPERATIONAL_DISCONNECT}\r\n`);
    // The connection got through in between, so the backoff starts again at 5 s.
    await reconnectWait(5000);
    expect(sink.rejects).toHaveLength(2);
    expect(log.lines.filter((line) => line.message === 'x: the stream sent an error').map((line) => line.level)).toEqual(['warn', 'debug']);
  });

  it('counts errors with titles of its own under one label, and warns about them once', async () => {
    const { server, clock, sink, log, reconnectWait } = await streaming();
    const titles = ['<script>alert(1)</script>', 'made-up', 'x'.repeat(5000)];
    for (const [index, title] of titles.entries()) {
      const connection = await server.connection(index + 1);
      await connection.write(`${JSON.stringify({ errors: [{ title, detail: 'hostile' }] })}\r\n`);
      await reconnectWait(5000);
      await clock.advance(5000);
    }
    await server.connection(4);
    expect(sink.rejects.map((reject) => reject.reason)).toEqual(['stream-error:unknown', 'stream-error:unknown', 'stream-error:unknown']);
    const warnings = log.lines.filter((line) => line.message === 'x: the stream sent an error');
    expect(warnings.map((line) => [line.level, line.fields.problem])).toEqual([['warn', 'unknown'], ['debug', 'unknown'], ['debug', 'unknown']]);
    expect(warnings[2]?.fields.title).toHaveLength(300);
  });

  it('names the problem of a 429 TooManyConnections in the log, and waits as for a 429', async () => {
    const { server, log, reconnectWait } = await streaming(fakeClock(), { status: 429, body: TOO_MANY_CONNECTIONS });
    await reconnectWait(60_000);
    expect(server.streamRequests).toBe(1);
    const lost = await log.waitFor((line) => line.message === 'x: stream lost; connecting again');
    expect(lost.fields).toMatchObject({ failureClass: 'rate-limit', retryInMs: 60_000, reason: expect.stringContaining('(TooManyConnections)') });
  });

  it('waits for x-rate-limit-reset after a 429 when that is later than 60 s', async () => {
    const start = 1_800_000_000_000;
    const clock = fakeClock(start);
    const { server, reconnectWait } = await streaming(clock, {
      status: 429,
      headers: { 'x-rate-limit-limit': '50', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(start / 1000 + 90) },
      body: { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
    });
    await reconnectWait(90_000);
    expect(server.streamRequests).toBe(1);
    await clock.advance(89_999);
    expect(server.streamRequests).toBe(1);
    await clock.advance(1);
    await server.connection(1);
    expect(server.streamRequests).toBe(2);
  });

  it('backs off exponentially from 5 s after a 503, and 60 s then 120 s after 429s without a reset', async () => {
    const { server, clock, log, reconnectWait } = await streaming(fakeClock(), { status: 503 }, { status: 503 }, { status: 429 }, { status: 429 });
    for (const wait of [5000, 10_000, 60_000, 120_000]) {
      await reconnectWait(wait);
      await clock.advance(wait);
    }
    await server.connection(1);
    const waits = log.lines.filter((line) => line.message === 'x: stream lost; connecting again').map((line) => [line.fields.failureClass, line.fields.retryInMs]);
    expect(waits).toEqual([['http', 5000], ['http', 10_000], ['rate-limit', 60_000], ['rate-limit', 120_000]]);
  });

  it('backs off linearly, 250 ms more each time, when the socket is dropped before an answer', async () => {
    const { server, clock, log, reconnectWait } = await streaming(fakeClock(), 'drop', 'drop', 'drop');
    for (const wait of [250, 500, 750]) {
      await reconnectWait(wait);
      await clock.advance(wait);
    }
    await server.connection(1);
    expect(server.streamRequests).toBe(4);
    const waits = log.lines.filter((line) => line.message === 'x: stream lost; connecting again').map((line) => line.fields.retryInMs);
    expect(waits).toEqual([250, 500, 750]);
  });
});
