import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parsePace, replayLines, type ReplayedLine, type ReplayOptions, type Sleep } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'livewall-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function recording(text: string): string {
  const file = join(dir, `recording-${++files}.ndjson`);
  writeFileSync(file, text);
  return file;
}

function options(file: string, extra: Partial<ReplayOptions> = {}): ReplayOptions {
  return { file, loop: false, startOffset: 0, ...extra };
}

/** Reads until `count` lines have come (then aborts, and expects the replay to stop by itself) or the replay ends. */
async function take(replay: ReplayOptions, count = Infinity, wait?: Sleep): Promise<ReplayedLine[]> {
  const controller = new AbortController();
  const lines: ReplayedLine[] = [];
  for await (const line of replayLines(replay, controller.signal, wait)) {
    lines.push(line);
    if (lines.length === count) controller.abort();
  }
  return lines;
}

const short = 'a\r\nb\r\n\r\nc\r\n';

describe('replayLines', () => {
  it('yields every line in order on pass 1, without line endings', async () => {
    const lines = await take(options(recording(short)));
    expect(lines).toEqual([
      { line: 'a', pass: 1, number: 1 },
      { line: 'b', pass: 1, number: 2 },
      { line: '', pass: 1, number: 3 },
      { line: 'c', pass: 1, number: 4 },
    ]);
  });

  it('reads a file without a final newline to its last line', async () => {
    expect((await take(options(recording('a\nb')))).map((line) => line.line)).toEqual(['a', 'b']);
  });

  it('starts again with pass 2 when looping, until aborted', async () => {
    const lines = await take(options(recording(short), { loop: true }), 10);
    expect(lines.map(({ line, pass }) => `${pass}:${line}`)).toEqual(['1:a', '1:b', '1:', '1:c', '2:a', '2:b', '2:', '2:c', '3:a', '3:b']);
  });

  it('skips startOffset lines of pass 1 only', async () => {
    const lines = await take(options(recording(short), { loop: true, startOffset: 2 }), 6);
    expect(lines.map(({ line, pass }) => `${pass}:${line}`)).toEqual(['1:', '1:c', '2:a', '2:b', '2:', '2:c']);
    const once = await take(options(recording(short), { startOffset: 3 }));
    expect(once).toEqual([{ line: 'c', pass: 1, number: 4 }]);
  });

  it('resumes a later pass after a given line (a replay picking up its place)', async () => {
    const lines = await take(options(recording(short), { loop: true, startPass: 3, startOffset: 1 }), 5);
    expect(lines.map(({ line, pass, number }) => `${pass}:${number}:${line}`)).toEqual(['3:2:b', '3:3:', '3:4:c', '4:1:a', '4:2:b']);
  });

  it('goes on with the next pass when it resumes after the last line of one', async () => {
    const lines = await take(options(recording(short), { loop: true, startPass: 2, startOffset: 4 }), 2);
    expect(lines.map(({ line, pass, number }) => `${pass}:${number}:${line}`)).toEqual(['3:1:a', '3:2:b']);
  });

  it('stops when aborted', async () => {
    expect(await take(options(recording(short), { loop: true }), 2)).toHaveLength(2);
    const controller = new AbortController();
    controller.abort();
    const replay = replayLines(options(recording(short), { loop: true }), controller.signal);
    expect(await replay.next()).toEqual({ done: true, value: undefined });
  });

  it('ends a looping replay of a file without events instead of spinning', async () => {
    expect(await take(options(recording('\n \n'), { loop: true }))).toEqual([
      { line: '', pass: 1, number: 1 },
      { line: ' ', pass: 1, number: 2 },
    ]);
  });

  it('fails on a missing file', async () => {
    await expect(take(options(join(dir, 'missing.ndjson')))).rejects.toThrow(/ENOENT/);
  });

  it('does not wait without a pace', async () => {
    const wait = vi.fn<Sleep>(async () => undefined);
    expect(await take(options(recording(short)), Infinity, wait)).toHaveLength(4);
    expect(wait).not.toHaveBeenCalled();
  });

  it('stops waiting for the next event when aborted', async () => {
    const controller = new AbortController();
    const replay = replayLines(options(recording(short), { pace: 0.001 }), controller.signal);
    const started = performance.now();
    const next = replay.next();
    setTimeout(() => controller.abort(), 50);
    expect(await next).toEqual({ done: true, value: undefined });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('replayLines with a pace', () => {
  // The real sleep comes from node:timers/promises, whose named import fake timers do not replace: the tests pass a
  // sleep made of the (faked) global setTimeout instead. Date is faked too, so the schedule runs on fake time.
  const fakeSleep: Sleep = (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** Real time passes for the file to be read; fake time does not move meanwhile. */
  async function untilWaiting(): Promise<void> {
    const started = performance.now();
    while (vi.getTimerCount() === 0) {
      if (performance.now() - started > 5000) throw new Error('the replay never started waiting');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function events(count: number): string {
    // A keep-alive after the 5th event: it is not paced and takes no slot.
    return Array.from({ length: count }, (_, index) => `{"n":${index + 1}}\n${index === 4 ? '\n' : ''}`).join('');
  }

  it('yields one event per 1/pace seconds of the clock', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const start = Date.now();
    const controller = new AbortController();
    const seen: { line: string; at: number }[] = [];
    const consumer = (async () => {
      for await (const { line } of replayLines(options(recording(events(100)), { pace: 10 }), controller.signal, fakeSleep)) {
        seen.push({ line, at: Date.now() - start });
      }
    })();

    await untilWaiting();
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    const firstSecond = seen.filter(({ line }) => line !== '');
    expect(firstSecond).toHaveLength(10);
    expect(firstSecond.map(({ at }) => at)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(seen.filter(({ line }) => line === '')).toEqual([{ line: '', at: 500 }]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(seen.filter(({ line }) => line !== '')).toHaveLength(20);
    expect(seen.at(-1)).toEqual({ line: '{"n":20}', at: 2000 });

    controller.abort();
    await consumer;
    expect(seen.filter(({ line }) => line !== '')).toHaveLength(20);
  });

  it('paces per minute too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const controller = new AbortController();
    let count = 0;
    const consumer = (async () => {
      for await (const _ of replayLines(options(recording(events(10)), { pace: parsePace('120/min')! }), controller.signal, fakeSleep)) count++;
    })();
    await untilWaiting();
    await vi.advanceTimersByTimeAsync(2000);
    expect(count).toBe(4);
    controller.abort();
    await consumer;
  });

  it('does not burst to catch up after the consumer stalled', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const controller = new AbortController();
    const replay = replayLines(options(recording(events(100)), { pace: 10 }), controller.signal, fakeSleep);
    const first = replay.next();
    await untilWaiting();
    await vi.advanceTimersByTimeAsync(100);
    expect((await first).value).toEqual({ line: '{"n":1}', pass: 1, number: 1 });

    // Nobody pulls for 5 s: 50 slots go by.
    await vi.advanceTimersByTimeAsync(5000);
    let count = 0;
    const consumer = (async () => {
      for await (const { line } of replay) if (line !== '') count++;
    })();
    await vi.advanceTimersByTimeAsync(1000);
    // About 10 in the next second (at most one interval is made up), not the 50 missed ones at once.
    expect(count).toBeGreaterThanOrEqual(10);
    expect(count).toBeLessThanOrEqual(12);
    controller.abort();
    await consumer;
  });
});

describe('parsePace', () => {
  it('reads events per second or per minute', () => {
    expect(parsePace('5/s')).toBe(5);
    expect(parsePace('120/min')).toBe(2);
    expect(parsePace('300/m')).toBe(5);
    expect(parsePace('30/minute')).toBe(0.5);
    expect(parsePace('2')).toBe(2);
    expect(parsePace(' 1.5 / sec ')).toBe(1.5);
    expect(parsePace('3/second')).toBe(3);
  });

  it('refuses anything else', () => {
    for (const text of ['0/s', '0', 'fast', '-1', '', '5/h', '5/', '/s', '1e3', '5 per second', '0.0']) {
      expect(parsePace(text), text).toBeUndefined();
    }
  });
});
