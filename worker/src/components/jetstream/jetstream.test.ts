import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../../test/ports.js';
import type { Consumer } from '../../engine/types.js';
import { FakeJetstream, type ScriptedEvent } from '../../sources/bluesky/fake-jetstream.js';
import { scriptedEvents } from '../../sources/bluesky/testing.js';
import { endpointContext, fakeClock, recordingSink, testLogger, type FakeClock, type RecordingSink } from '../testing.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { CursorFile } from './cursor-file.js';
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
  /** Aborts the consumer and resolves once its run has ended (cursor file written). */
  stop(): Promise<void>;
}

function start(uri: string, options: { baseDir?: string; clock?: FakeClock } = {}): Running {
  const clock = options.clock ?? fakeClock();
  const consumer: Consumer = jetstreamComponent.createConsumer!(endpointContext(jetstreamComponent, uri, { clock, baseDir: options.baseDir ?? process.cwd() }));
  const sink = recordingSink();
  const controller = new AbortController();
  const run = consumer.run(sink, controller.signal);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    controller.abort();
    stopped ??= run;
    return stopped;
  };
  cleanups.push(stop);
  return { sink, clock, stop };
}

const offeredTimes = (sink: RecordingSink) => sink.offers.map((offer) => offer.headers?.timeUs);
const timesOf = (events: readonly ScriptedEvent[]) => events.map((event) => event.time_us);
const SUBSCRIBE = '/subscribe?wantedCollections=app.bsky.feed.post';

describe('jetstream: options', () => {
  it('defaults to the public instances, a 5 s rewind and a 30 s backoff', () => {
    expect(jetstreamOptions(endpointContext(jetstreamComponent, 'jetstream:').options)).toEqual({ endpoints: PUBLIC_JETSTREAMS, rewindMs: 5000, maxBackoffMs: 30_000 });
  });

  it('refuses endpoints that are not WebSocket URLs, and unknown options', () => {
    const create = (uri: string) => jetstreamComponent.createConsumer!(endpointContext(jetstreamComponent, uri));
    expect(() => create('jetstream:?endpoints=https://jetstream1.us-east.bsky.network')).toThrow('jetstream: endpoint "https://jetstream1.us-east.bsky.network" is not a ws:// or wss:// URL');
    expect(() => create('jetstream:?endpoints=,')).toThrow('names no endpoint');
    expect(() => create('jetstream:?collections=app.bsky.feed.like')).toThrow('unknown option "collections"');
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
    const { sink, clock } = start(`jetstream:?endpoints=${url}&rewind=3ms`);
    await sink.offered(5);
    await clock.whenSleeping();
    await clock.advance(clock.requested.at(-1) ?? 0);
    await sink.offered(12);
    // The resume asked for 3 ms (3,000 µs) before the fifth event; the server sent events 2–12 again.
    expect(fake.cursorOf(1)).toBe((events[4]?.time_us ?? 0) - 3000);
    expect(offeredTimes(sink)).toEqual(timesOf(events));
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

describe('jetstream: cursor file', () => {
  it('keeps the last offered time_us, and a restart resumes from it minus the rewind', async () => {
    const dir = await temporaryDir();
    const events = scriptedEvents(6);
    const { fake, url } = await fakeJetstream(events);
    const uri = `jetstream:?endpoints=${url}&cursorFile=state/bluesky.cursor&rewind=1ms`;

    const first = start(uri, { baseDir: dir });
    await first.sink.offered(6);
    await first.stop();
    const last = events[5]?.time_us ?? 0;
    expect(await readFile(join(dir, 'state/bluesky.cursor'), 'utf8')).toBe(`${last}\n`);

    const second = start(uri, { baseDir: dir });
    await second.sink.offered(2);
    expect(fake.cursorOf(1)).toBe(last - 1000);
    // A restart forgets what it offered: the rewound event comes again (at least once, never a gap).
    expect(offeredTimes(second.sink)).toEqual([events[4]?.time_us, last]);
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
