import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Exchange, Producer } from '../../engine/types.js';
import { endpointContext, fakeClock, recordingSink, settle, type FakeClock } from '../testing.js';
import { fileComponent } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'livewall-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

let folders = 0;
/** A fresh folder per test, standing for the config file's folder. */
function baseDir(): string {
  const folder = join(dir, `case-${++folders}`);
  mkdirSync(folder);
  return folder;
}

function producer(uri: string, base: string, clock: FakeClock = fakeClock()): Producer {
  return fileComponent.createProducer!(endpointContext(fileComponent, uri, { baseDir: base, clock }));
}

function consumer(uri: string, base: string, clock: FakeClock = fakeClock()) {
  return fileComponent.createConsumer!(endpointContext(fileComponent, uri, { baseDir: base, clock }));
}

let exchanges = 0;
const exchange = (body: unknown): Exchange => ({ id: `ex-${++exchanges}`, body, headers: {} });

/** The prototype every FileHandle shares, to watch or stall its writes. */
async function fileHandlePrototype(): Promise<{ sync: () => Promise<void>; appendFile: (data: string) => Promise<void> }> {
  const handle = await open(join(dir, 'probe'), 'a');
  await handle.close();
  return Object.getPrototypeOf(handle) as { sync: () => Promise<void>; appendFile: (data: string) => Promise<void> };
}

describe('file: producer', () => {
  it('appends one JSON line per exchange, in order, to a path relative to the config folder, making its folders', async () => {
    const base = baseDir();
    const file = producer('file:out/dead/letters.ndjson', base);
    await file.start();
    expect(file.ready()).toBe(true);
    await file.send(exchange({ id: 'x:1', n: 1 }));
    expect(readFileSync(join(base, 'out/dead/letters.ndjson'), 'utf8')).toBe('{"id":"x:1","n":1}\n');
    await file.send(exchange('{"already":"json"}'));
    await file.send(exchange([1, 2]));
    expect(readFileSync(join(base, 'out/dead/letters.ndjson'), 'utf8')).toBe('{"id":"x:1","n":1}\n{"already":"json"}\n[1,2]\n');
    expect(await file.stop(1000)).toBe(0);
  });

  it('appends to what the file held, and takes an absolute path as it is', async () => {
    const target = join(baseDir(), 'kept.ndjson');
    writeFileSync(target, '{"old":true}\n');
    const file = producer(`file:${target}`, '/nonexistent');
    await file.start();
    await file.send(exchange({ new: true }));
    await file.stop(1000);
    expect(readFileSync(target, 'utf8')).toBe('{"old":true}\n{"new":true}\n');
  });

  it('keeps a burst of sends in order, writing them in batches with one fsync per batch', async () => {
    const base = baseDir();
    const prototype = await fileHandlePrototype();
    const sync = vi.spyOn(prototype, 'sync');
    const file = producer('file:burst.ndjson?fsync=true', base);
    await file.start();
    await Promise.all(Array.from({ length: 100 }, (_, n) => file.send(exchange({ n }))));
    const lines = readFileSync(join(base, 'burst.ndjson'), 'utf8').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(sync.mock.calls.length).toBeGreaterThan(0);
    expect(sync.mock.calls.length).toBeLessThan(100);
    await file.stop(1000);
  });

  it('does not fsync unless asked', async () => {
    const sync = vi.spyOn(await fileHandlePrototype(), 'sync');
    const file = producer('file:plain.ndjson', baseDir());
    await file.send(exchange(1));
    await file.stop(1000);
    expect(sync).not.toHaveBeenCalled();
  });

  it('writes a string body with a line break as a JSON string, so one body stays one line', async () => {
    const base = baseDir();
    const file = producer('file:text.ndjson', base);
    await file.send(exchange('first\nsecond'));
    await file.stop(1000);
    expect(readFileSync(join(base, 'text.ndjson'), 'utf8')).toBe('"first\\nsecond"\n');
  });

  it('refuses a body with no JSON form, and goes on with the next', async () => {
    const base = baseDir();
    const file = producer('file:odd.ndjson', base);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad = exchange(circular);
    await expect(file.send(bad)).rejects.toThrow(`file: exchange ${bad.id} cannot be written to ${join(base, 'odd.ndjson')}: Converting circular`);
    await expect(file.send(exchange(undefined))).rejects.toThrow('a body of type undefined has no JSON form');
    await file.send(exchange({ ok: 1 }));
    await file.stop(1000);
    expect(readFileSync(join(base, 'odd.ndjson'), 'utf8')).toBe('{"ok":1}\n');
  });

  it('fails to start, naming the file, when its folder is missing and mkdirs=false', async () => {
    const base = baseDir();
    const file = producer('file:missing/x.ndjson?mkdirs=false', base);
    await expect(file.start()).rejects.toThrow(`file: cannot open ${join(base, 'missing/x.ndjson')} for appending (its folder is missing and mkdirs=false): ENOENT`);
    expect(file.ready()).toBe(false);
  });

  it('writes everything queued before closing on stop, then refuses sends', async () => {
    const base = baseDir();
    const file = producer('file:stop.ndjson', base);
    await file.start();
    const sends = Array.from({ length: 20 }, (_, n) => file.send(exchange(n)));
    expect(await file.stop(1000)).toBe(0);
    await Promise.all(sends);
    expect(readFileSync(join(base, 'stop.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(20);
    expect(file.ready()).toBe(false);
    await expect(file.send(exchange(99))).rejects.toThrow('is closed');
  });

  it('starts again after a stop, as a restarted route does', async () => {
    const base = baseDir();
    const file = producer('file:restart.ndjson', base);
    await file.start();
    await file.send(exchange(1));
    await file.stop(1000);
    await file.start();
    expect(file.ready()).toBe(true);
    await file.send(exchange(2));
    await file.stop(1000);
    expect(readFileSync(join(base, 'restart.ndjson'), 'utf8')).toBe('1\n2\n');
  });

  it('gives up on a stuck write after the stop timeout and counts what it abandoned', async () => {
    const prototype = await fileHandlePrototype();
    let unstick: () => void = () => {};
    vi.spyOn(prototype, 'appendFile').mockImplementation(() => new Promise<void>((resolve) => (unstick = resolve)));
    const clock = fakeClock();
    const file = producer('file:stuck.ndjson', baseDir(), clock);
    await file.start();
    const first = file.send(exchange(1));
    await settle();
    const queued = [file.send(exchange(2)), file.send(exchange(3))].map((send) => send.then(() => 'written', (error: Error) => error.message));
    const stopping = file.stop(5000);
    await clock.whenSleeping();
    expect(clock.requested).toEqual([5000]);
    await clock.advance(5000);
    expect(await stopping).toBe(3);
    expect(await Promise.all(queued)).toEqual([expect.stringMatching(/closed before this line was written$/), expect.stringMatching(/closed before this line was written$/)]);
    unstick();
    await first;
  });
});

describe('file: consumer', () => {
  it('offers each JSON line in order with its line number and file, counting lines that are not JSON', async () => {
    const base = baseDir();
    writeFileSync(join(base, 'in.ndjson'), '{"n":1}\r\n\nnot json\n  \n"text"\n[3]');
    const sink = recordingSink();
    const source = consumer('file:in.ndjson', base);
    expect(source.live).toBe(false);
    await source.run(sink, new AbortController().signal);
    const file = join(base, 'in.ndjson');
    expect(sink.offers).toEqual([
      { body: { n: 1 }, headers: { line: 1, file } },
      { body: 'text', headers: { line: 5, file } },
      { body: [3], headers: { line: 6, file } },
    ]);
    expect(sink.rejects).toEqual([{ reason: 'not-json', detail: `${file}:3` }]);
  });

  it('waits for the route to take each line before reading on', async () => {
    const base = baseDir();
    writeFileSync(join(base, 'slow.ndjson'), '1\n2\n3\n');
    const sink = recordingSink({ gated: true });
    const running = consumer('file:slow.ndjson', base).run(sink, new AbortController().signal);
    for (let taken = 1; taken <= 3; taken++) {
      await sink.offered(taken);
      await settle();
      expect(sink.offers).toHaveLength(taken);
      expect(sink.waiting).toBe(1);
      sink.release();
    }
    await running;
    expect(sink.offers.map((offer) => offer.body)).toEqual([1, 2, 3]);
  });

  it('reads lines longer than a read chunk with multi-byte characters across the chunk boundary', async () => {
    const base = baseDir();
    const long = 'é'.repeat(70_000);
    writeFileSync(join(base, 'long.ndjson'), `${JSON.stringify({ a: 'x', long })}\n${JSON.stringify({ b: long })}\n`);
    const sink = recordingSink();
    await consumer('file:long.ndjson', base).run(sink, new AbortController().signal);
    expect(sink.offers.map((offer) => offer.body)).toEqual([{ a: 'x', long }, { b: long }]);
    expect(sink.rejects).toEqual([]);
  });

  it('stops between lines when aborted', async () => {
    const base = baseDir();
    writeFileSync(join(base, 'many.ndjson'), '1\n2\n3\n4\n');
    const controller = new AbortController();
    const sink = recordingSink({ gated: true });
    const running = consumer('file:many.ndjson', base).run(sink, controller.signal);
    await sink.offered(2 - 1);
    controller.abort();
    sink.release();
    await running;
    expect(sink.offers.map((offer) => offer.body)).toEqual([1]);
  });

  it('fails, naming the file, when there is no file', async () => {
    const base = baseDir();
    await expect(consumer('file:none.ndjson', base).run(recordingSink(), new AbortController().signal)).rejects.toThrow(
      `file: cannot read ${join(base, 'none.ndjson')}: ENOENT`,
    );
  });

  it('with follow=true, waits at the end for more lines and takes a line once its newline is written', async () => {
    const base = baseDir();
    const path = join(base, 'tail.ndjson');
    writeFileSync(path, '{"n":1}\n');
    const clock = fakeClock();
    const controller = new AbortController();
    const sink = recordingSink();
    const running = consumer('file:tail.ndjson?follow=true', base, clock).run(sink, controller.signal);
    await sink.offered(1);
    await clock.whenSleeping();
    appendFileSync(path, '{"n":2}\n{"n":');
    await clock.advance(500);
    await sink.offered(2);
    await clock.whenSleeping();
    expect(sink.offers).toHaveLength(2);
    appendFileSync(path, '3}\n');
    await clock.advance(500);
    await sink.offered(3);
    expect(sink.offers.map((offer) => offer.body)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(sink.offers[2]?.headers).toEqual({ line: 3, file: path });
    await clock.whenSleeping();
    controller.abort();
    await running;
    expect(clock.requested.every((ms) => ms === 500)).toBe(true);
  });

  it('with follow=true, reads from the top again when the file is truncated', async () => {
    const base = baseDir();
    const path = join(base, 'rotated.ndjson');
    writeFileSync(path, '{"n":1}\n{"n":2}\n');
    const clock = fakeClock();
    const controller = new AbortController();
    const sink = recordingSink();
    const running = consumer('file:rotated.ndjson?follow=true', base, clock).run(sink, controller.signal);
    await sink.offered(2);
    await clock.whenSleeping();
    writeFileSync(path, '{"n":3}\n');
    await clock.advance(500);
    await sink.offered(3);
    expect(sink.offers[2]).toEqual({ body: { n: 3 }, headers: { line: 1, file: path } });
    controller.abort();
    await running;
  });
});

describe('file: round trip and options', () => {
  it('reads back what the producer wrote', async () => {
    const base = baseDir();
    const bodies = [{ id: 'x:1', images: ['https://pbs.twimg.com/media/a.jpg'] }, 'x'.repeat(3), 42, null];
    const out = producer('file:dead-letters.ndjson', base);
    for (const body of bodies) await out.send(exchange(typeof body === 'string' ? JSON.stringify(body) : body));
    await out.stop(1000);
    const sink = recordingSink();
    await consumer('file:dead-letters.ndjson', base).run(sink, new AbortController().signal);
    expect(sink.offers.map((offer) => offer.body)).toEqual(bodies);
  });

  it('refuses unknown options and bad values as the engine reports them', () => {
    expect(() => endpointContext(fileComponent, 'file:x.ndjson?append=true')).toThrow('unknown option "append" for file:; it takes mkdirs, fsync, follow');
    expect(() => endpointContext(fileComponent, 'file:x.ndjson?follow=yes')).toThrow('option follow must be true or false, not "yes"');
    expect(() => endpointContext(fileComponent, 'file:')).toThrow('file: needs a path');
  });
});
