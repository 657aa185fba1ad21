import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImageAllowList } from '@livewall/contract';
import { INVALID_UTF8, INVALID_UTF8_TEXT, withInvalidUtf8 } from '../../../../test/fuzz.js';
import { freePort } from '../../../../test/ports.js';
import type { Consumer } from '../../engine/types.js';
import { FakeJetstream, type ScriptedEvent } from '../../sources/bluesky/fake-jetstream.js';
import { decodeJetstreamEvent } from '../../sources/bluesky/decode.js';
import { DID, imagesPost, scriptedEvents } from '../../sources/bluesky/testing.js';
import { contractVerdict } from '../../pipeline/testing.js';
import { endpointContext, fakeClock, recordingSink, testLogger, type FakeClock, type RecordingSink, type TestLogger } from '../testing.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { JetstreamConsumer } from './consumer.js';
import type { CursorStore } from '../../outbox/cursors.js';
import { CursorFile, JETSTREAM_CURSOR_KEY } from './cursor-file.js';
import { jetstreamComponent } from './index.js';
import { PUBLIC_JETSTREAMS, jetstreamOptions } from './options.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeJetstream(events: readonly ScriptedEvent[]): Promise<{ fake: FakeJetstream; url: string }> {
  const fake = new FakeJetstream(events);
  const url = await fake.listen();
  cleanups.push(() => fake.close());
  return { fake, url };
}

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'livewall-jetstream-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Running {
  sink: RecordingSink;
  clock: FakeClock;
  log: TestLogger;
  consumer: JetstreamConsumer;
  /** Aborts the consumer and resolves once its run has ended (cursor file written). */
  stop(): Promise<void>;
  /** Resolves with the wait before reconnect `count` once the consumer sleeps it (and with its log line's fields). */
  reconnecting(count?: number): Promise<Record<string, unknown>>;
}

const RECONNECTING = 'jetstream: connection lost; reconnecting';

function start(uri: string, options: { baseDir?: string; clock?: FakeClock; holdSettlement?: boolean; places?: CursorStore } = {}): Running {
  const clock = options.clock ?? fakeClock();
  const log = testLogger();
  const settings = options.places ? { cursors: options.places } : {};
  const consumer: Consumer = jetstreamComponent.createConsumer!(endpointContext(jetstreamComponent, uri, { clock, log, baseDir: options.baseDir ?? process.cwd(), settings }));
  const sink = recordingSink({ holdSettlement: options.holdSettlement ?? false });
  const controller = new AbortController();
  const run = consumer.run(sink, controller.signal);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    controller.abort();
    stopped ??= run;
    return stopped;
  };
  cleanups.push(stop);
  const reconnecting = async (count = 1): Promise<Record<string, unknown>> => {
    const lines = () => log.lines.filter((line) => line.message === RECONNECTING);
    await log.waitFor(() => lines().length >= count);
    const fields = lines()[count - 1]?.fields ?? {};
    // The connection has ended, so its watchdog sleeps no more: the sleep of that length is the backoff.
    await clock.whenSleeping(1, (ms) => ms === fields.retryInMs);
    return fields;
  };
  if (!(consumer instanceof JetstreamConsumer)) throw new Error('jetstream: made no JetstreamConsumer');
  return { sink, clock, log, consumer, stop, reconnecting };
}

/** The time_us of the events a `.seen` file keeps. */
const seenTimes = (text: string) => (JSON.parse(text) as { events: [string, number][] }).events.map(([, timeUs]) => timeUs);
const offeredTimes = (sink: RecordingSink) => sink.offers.map((offer) => offer.headers?.timeUs);
const timesOf = (events: readonly ScriptedEvent[]) => events.map((event) => event.time_us);
const SUBSCRIBE = '/subscribe?wantedCollections=app.bsky.feed.post';

describe('jetstream: options', () => {
  it('defaults to the public instances, a 5 s rewind, a 30 s backoff, and a ping every 10 s with a 30 s idle timeout', () => {
    expect(jetstreamOptions(endpointContext(jetstreamComponent, 'jetstream:').options)).toEqual({
      endpoints: PUBLIC_JETSTREAMS, rewindMs: 5000, maxBackoffMs: 30_000, pingIntervalMs: 10_000, idleTimeoutMs: 30_000,
    });
  });

  it('refuses endpoints that are not WebSocket URLs, and unknown options', () => {
    const create = (uri: string) => jetstreamComponent.createConsumer!(endpointContext(jetstreamComponent, uri));
    expect(() => create('jetstream:?endpoints=https://jetstream1.us-east.bsky.network')).toThrow('jetstream: endpoint "https://jetstream1.us-east.bsky.network" is not a ws:// or wss:// URL');
    expect(() => create('jetstream:?endpoints=,')).toThrow('names no endpoint');
    expect(() => create('jetstream:?collections=app.bsky.feed.like')).toThrow('unknown option "collections"');
    expect(() => create('jetstream:?pingInterval=30s')).toThrow('option pingInterval (30000 ms) must be shorter than idleTimeout (30000 ms)');
    expect(() => create('jetstream:?pingInterval=10ms')).toThrow('option pingInterval must be at least 100ms');
  });

  it('backs off 1 s doubling to the maximum, ±20 %', () => {
    expect([0, 1, 2, 3, 10].map((failures) => jitteredBackoff(failures, 1000, 30_000, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 30_000]);
    expect(jitteredBackoff(0, 1000, 30_000, () => 0)).toBe(800);
    expect(jitteredBackoff(0, 1000, 30_000, () => 1)).toBe(1200);
    expect(jitteredBackoff(5, 1000, 3000, () => 1)).toBe(3000);
  });
});

describe('jetstream: reading', () => {
  it('offers every message as text, in order, with its time_us', async () => {
    const events = scriptedEvents(10);
    const { fake, url } = await fakeJetstream(events);
    const { sink } = start(`jetstream:?endpoints=${url}`);
    await sink.offered(10);
    expect(fake.requests).toEqual([SUBSCRIBE]);
    expect(offeredTimes(sink)).toEqual(timesOf(events));
    expect(sink.offers[0]).toEqual({ body: JSON.stringify(events[0]), headers: { timeUs: events[0]?.time_us, source: 'bluesky' } });
  });

  it('resumes after a drop from the cursor minus the rewind, with no gap and no repeat', async () => {
    const events = scriptedEvents(12);
    const { fake, url } = await fakeJetstream(events);
    fake.dropNextAfter(5);
    const { sink, clock, reconnecting } = start(`jetstream:?endpoints=${url}&rewind=3ms`);
    await sink.offered(5);
    const lost = await reconnecting();
    expect(lost).toMatchObject({ cause: 'lost', reason: 'closed with code 1011 (dropped by the test)', reconnects: 1, idleReconnects: 0 });
    await clock.advance(lost.retryInMs as number);
    await sink.offered(12);
    // The resume asked for 3 ms (3,000 µs) before the fifth event; the server sent events 2–12 again.
    expect(fake.cursorOf(1)).toBe((events[4]?.time_us ?? 0) - 3000);
    expect(offeredTimes(sink)).toEqual(timesOf(events));
  });

  it('reads a text frame of invalid UTF-8 with U+FFFD in its place, on the same connection, and goes on', async () => {
    const events = scriptedEvents(2);
    const { fake, url } = await fakeJetstream(events);
    const { sink, log } = start(`jetstream:?endpoints=${url}`);
    await sink.offered(2);
    const brokenText = { ...imagesPost, time_us: 1_725_911_100_000_000, commit: { ...imagesPost.commit, rkey: '3l3qo2broken', record: { ...imagesPost.commit.record, text: 'A #caturday cat BROKEN' } } };
    const next = { ...imagesPost, time_us: 1_725_911_100_001_000, commit: { ...imagesPost.commit, rkey: '3l3qo2next' } };
    fake.sendText(withInvalidUtf8(JSON.stringify(brokenText), 'BROKEN'));
    fake.sendText(INVALID_UTF8);
    fake.send(next);
    await sink.offered(5);

    expect(fake.requests).toEqual([SUBSCRIBE]);
    expect(log.lines.filter((line) => line.message === RECONNECTING)).toEqual([]);
    const [broken, garbage, good] = sink.offers.slice(2).map((offer) => decodeJetstreamEvent(offer.body as string, [{ name: 'sky-cats', keywords: ['cat'] }]));
    if (broken?.kind !== 'post' || good?.kind !== 'post') throw new Error(`expected two posts, got ${JSON.stringify([broken, good])}`);
    expect(broken.post.text).toBe(`A #caturday cat ${INVALID_UTF8_TEXT}`);
    expect(contractVerdict(broken.post, new ImageAllowList(['cdn.bsky.app']))).toBe('ok');
    expect(garbage).toEqual({ kind: 'invalid', reason: 'not-json' });
    expect(good.post.nativeId).toBe(`${DID}/3l3qo2next`);
  });

  it('fails over to the next endpoint when one refuses, after a backoff on the clock', async () => {
    const refusing = await fakeJetstream([]);
    refusing.fake.refuse = true;
    const events = scriptedEvents(3);
    const { fake, url } = await fakeJetstream(events);
    const { sink, clock } = start(`jetstream:?endpoints=${refusing.url},${url}`);
    await clock.whenSleeping();
    expect(clock.requested[0]).toBeGreaterThanOrEqual(800);
    expect(clock.requested[0]).toBeLessThanOrEqual(1200);
    expect(refusing.fake.requests).toEqual([SUBSCRIBE]);
    expect(fake.requests).toEqual([]);
    await clock.advance(clock.requested[0] ?? 0);
    await sink.offered(3);
    expect(fake.requests).toEqual([SUBSCRIBE]);
    expect(offeredTimes(sink)).toEqual(timesOf(events));
  });

  it('rotates through the endpoints, backing off 1 s doubling to maxBackoff while none answers', async () => {
    const first = await fakeJetstream([]);
    first.fake.refuse = true;
    const port = await freePort();
    const { clock } = start(`jetstream:?endpoints=${first.url},ws://127.0.0.1:${port}&maxBackoff=3s`);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await clock.whenSleeping();
      await clock.advance(clock.requested.at(-1) ?? 0);
    }
    await first.fake.whenRequested(3);
    const [a, b, c, d, e] = clock.requested as [number, number, number, number, number];
    expect(a).toBeGreaterThanOrEqual(800);
    expect(a).toBeLessThanOrEqual(1200);
    expect(b).toBeGreaterThanOrEqual(1600);
    expect(b).toBeLessThanOrEqual(2400);
    for (const capped of [c, d, e]) {
      expect(capped).toBeGreaterThanOrEqual(2400);
      expect(capped).toBeLessThanOrEqual(3000);
    }
    // Attempts 1, 3 and 5 went to the first endpoint; 2 and 4 to the closed port.
    expect(first.fake.requests).toHaveLength(3);
  });
});

describe('jetstream: idle watchdog', () => {
  const PING_MS = 10_000;

  it('pings a quiet connection every pingInterval and keeps it while pongs come back', async () => {
    const { fake, url } = await fakeJetstream(scriptedEvents(2));
    const { sink, clock, log, consumer } = start(`jetstream:?endpoints=${url}`);
    await sink.offered(2);
    // 90 s without a message: three idle timeouts, but every ping is answered.
    for (let ping = 1; ping <= 9; ping++) {
      await clock.advance(PING_MS);
      await Promise.race([fake.whenPinged(ping), log.waitFor((line) => line.message === RECONNECTING)]);
      expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });
    }
    expect(fake.requests).toEqual([SUBSCRIBE]);
    expect(fake.openConnections).toBe(1);
    expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });
  });

  it('takes messages as signs of life when pings go unanswered, and drops the connection once they stop', async () => {
    const events = scriptedEvents(6);
    const { fake, url } = await fakeJetstream(events.slice(0, 1));
    fake.answerPings = false;
    const { sink, clock, consumer, reconnecting } = start(`jetstream:?endpoints=${url}`);
    await sink.offered(1);
    for (let next = 1; next < events.length; next++) {
      await clock.advance(20_000);
      fake.send(events[next] as ScriptedEvent);
      await sink.offered(next + 1);
    }
    await fake.whenPinged(10);
    // 100 s without a pong, never 30 s without a message.
    expect(fake.requests).toHaveLength(1);
    await clock.advance(29_999);
    expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });
    await clock.advance(1);
    expect(await reconnecting()).toMatchObject({ cause: 'idle-timeout', reconnects: 1, idleReconnects: 1 });
  });

  it('drops a connection gone silent (no message, no pong) after idleTimeout and fails over with backoff, resuming from the cursor', async () => {
    const events = scriptedEvents(4);
    const silent = await fakeJetstream(events.slice(0, 3));
    const other = await fakeJetstream(events.slice(0, 3));
    const { sink, clock, consumer, reconnecting } = start(`jetstream:?endpoints=${silent.url},${other.url}`);
    await sink.offered(3);
    silent.fake.silence();
    await clock.advance(PING_MS);
    await silent.fake.whenPinged(1);
    await clock.advance(PING_MS);
    await silent.fake.whenPinged(2);
    await clock.advance(PING_MS - 1);
    expect(silent.fake.openConnections).toBe(1);
    expect(consumer.stats()).toEqual({ reconnects: 0, idleReconnects: 0 });
    await clock.advance(1);
    const lost = await reconnecting();
    expect(lost).toMatchObject({
      cause: 'idle-timeout',
      reason: 'neither a message nor a pong for 30000 ms (idleTimeout)',
      next: other.url,
      failures: 1,
      reconnects: 1,
      idleReconnects: 1,
    });
    // The connection was open, so the backoff starts again at 1 s (±20 %).
    expect(lost.retryInMs).toBeGreaterThanOrEqual(800);
    expect(lost.retryInMs).toBeLessThanOrEqual(1200);
    expect(consumer.stats()).toEqual({ reconnects: 1, idleReconnects: 1 });
    expect(other.fake.requests).toEqual([]);
    await clock.advance(lost.retryInMs as number);
    await other.fake.whenRequested(1);
    expect(other.fake.cursorOf(0)).toBe((events[2]?.time_us ?? 0) - 5_000_000);
    // The rewound events are repeats, skipped; the next one is new.
    other.fake.send(events[3] as ScriptedEvent);
    await sink.offered(4);
    expect(offeredTimes(sink)).toEqual(timesOf(events));
  });
});

describe('jetstream: cursor file', () => {
  it('keeps the last offered time_us, and a restart resumes from it minus the rewind, skipping what it offered before the stop', async () => {
    const dir = await temporaryDir();
    const [next, ...events] = scriptedEvents(7).reverse();
    events.reverse();
    const { fake, url } = await fakeJetstream(events);
    const uri = `jetstream:?endpoints=${url}&cursorFile=state/bluesky.cursor&rewind=1ms`;

    const first = start(uri, { baseDir: dir });
    await first.sink.offered(6);
    await first.stop();
    const last = events[5]?.time_us ?? 0;
    expect(await readFile(join(dir, 'state/bluesky.cursor'), 'utf8')).toBe(`${last}\n`);

    const second = start(uri, { baseDir: dir });
    await fake.whenRequested(2);
    expect(fake.cursorOf(1)).toBe(last - 1000);
    // The rewound events come again, and are skipped as a reconnect would skip them: only the new one is offered.
    fake.send(next as ScriptedEvent);
    await second.sink.offered(1);
    expect(offeredTimes(second.sink)).toEqual([next?.time_us]);
  });

  it('after a crash (no stop: the events seen are not kept) a restart offers the rewound events again', async () => {
    const dir = await temporaryDir();
    const events = scriptedEvents(6);
    const { fake, url } = await fakeJetstream(events);
    const uri = `jetstream:?endpoints=${url}&cursorFile=cursor&rewind=1ms`;
    const first = start(uri, { baseDir: dir });
    await first.sink.offered(6);
    await first.stop();
    await rm(join(dir, 'cursor.seen'));
    const second = start(uri, { baseDir: dir });
    await second.sink.offered(2);
    expect(fake.cursorOf(1)).toBe((events[5]?.time_us ?? 0) - 1000);
    expect(offeredTimes(second.sink)).toEqual([events[4]?.time_us, events[5]?.time_us]);
  });

  it('writes only the time up to which every event was dealt with (with an outbox: is in it)', async () => {
    const dir = await temporaryDir();
    const events = scriptedEvents(4);
    const { url } = await fakeJetstream(events);
    const first = start(`jetstream:?endpoints=${url}&cursorFile=cursor`, { baseDir: dir, holdSettlement: true });
    await first.sink.offered(4);
    // The route has dealt with the first, second and fourth; the third still waits in a queue, and never leaves it.
    for (const index of [0, 1, 3]) first.sink.held[index]?.();
    // A stop waits a while (10 s) for it, then keeps the place as it is.
    let stopped = false;
    void first.stop().then(() => (stopped = true));
    while (!stopped) await first.clock.advance(1000);
    expect(first.clock.now()).toBeGreaterThanOrEqual(10_000);
    expect(await readFile(join(dir, 'cursor'), 'utf8')).toBe(`${events[1]?.time_us ?? 0}\n`);
    expect(seenTimes(await readFile(join(dir, 'cursor.seen'), 'utf8'))).toEqual(timesOf(events.slice(0, 2)));
  });

  it('at a stop, keeps its place once what it offered is dealt with', async () => {
    const dir = await temporaryDir();
    const events = scriptedEvents(3);
    const { url } = await fakeJetstream(events);
    // Pings of another length than the stop's wait (10 s), which is the one sleep of 10 s.
    const first = start(`jetstream:?endpoints=${url}&cursorFile=cursor&pingInterval=1s&idleTimeout=3s`, { baseDir: dir, holdSettlement: true });
    await first.sink.offered(3);
    first.sink.held[0]?.();
    const stopped = first.stop();
    await first.clock.whenSleeping(1, (ms) => ms === 10_000);
    // The route drains after its source stopped: the rest is dealt with then.
    first.sink.held[2]?.();
    first.sink.held[1]?.();
    await stopped;
    expect(await readFile(join(dir, 'cursor'), 'utf8')).toBe(`${events[2]?.time_us ?? 0}\n`);
    expect(seenTimes(await readFile(join(dir, 'cursor.seen'), 'utf8'))).toEqual(timesOf(events));
  });

  it("keeps its place among the worker's places too, and starts from the one held there (handed over by the feeds' previous owner) rather than its file's", async () => {
    const dir = await temporaryDir();
    const events = scriptedEvents(6);
    const { fake, url } = await fakeJetstream(events);
    const held = new Map<string, unknown>();
    const places: CursorStore = { get: (key) => held.get(key), set: (key, value) => held.set(key, value), close: () => undefined };
    const uri = `jetstream:?endpoints=${url}&cursorFile=cursor&rewind=1ms`;
    const first = start(uri, { baseDir: dir, places });
    await first.sink.offered(6);
    await first.stop();
    expect(held.get(JETSTREAM_CURSOR_KEY)).toBe(events[5]?.time_us);
    // The place the previous owner of the feeds handed over.
    held.set(JETSTREAM_CURSOR_KEY, events[2]?.time_us);
    start(uri, { baseDir: dir, places });
    await fake.whenRequested(2);
    expect(fake.cursorOf(1)).toBe((events[2]?.time_us ?? 0) - 1000);
  });

  it('reads live, and says so, when the cursor file holds no time_us', async () => {
    const dir = await temporaryDir();
    await writeFile(join(dir, 'cursor'), 'yesterday\n');
    const { fake, url } = await fakeJetstream(scriptedEvents(1));
    const log = testLogger();
    const consumer = jetstreamComponent.createConsumer!(endpointContext(jetstreamComponent, `jetstream:?endpoints=${url}&cursorFile=cursor`, { baseDir: dir, clock: fakeClock(), log }));
    const sink = recordingSink();
    const controller = new AbortController();
    const run = consumer.run(sink, controller.signal);
    cleanups.push(() => {
      controller.abort();
      return run;
    });
    await sink.offered(1);
    expect(fake.requests).toEqual([SUBSCRIBE]);
    await log.waitFor((line) => line.message?.includes('does not hold a time_us') === true);
  });

  it('writes at most once a second, atomically', async () => {
    const dir = await temporaryDir();
    const path = join(dir, 'cursor');
    const clock = fakeClock(10_000);
    const cursor = new CursorFile(path, clock, testLogger());
    cursor.update(100);
    cursor.update(200);
    await vi.waitFor(async () => expect(await readFile(path, 'utf8')).toBe('100\n'));
    await clock.advance(1000);
    cursor.update(300);
    await vi.waitFor(async () => expect(await readFile(path, 'utf8')).toBe('300\n'));
    cursor.update(400);
    await cursor.flush();
    expect(await readFile(path, 'utf8')).toBe('400\n');
    expect(await new CursorFile(path, clock, testLogger()).read()).toBe(400);
  });
});
