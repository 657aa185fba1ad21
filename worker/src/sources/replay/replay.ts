import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReplayOptions {
  /** A recording: newline-delimited raw events as the live source sent them. */
  file: string;
  /** Events per second; undefined plays as fast as the reader takes them. Keep-alive lines are not paced. */
  pace?: number;
  /** Start again from the top at the end of the file. */
  loop: boolean;
  /** Skip this many lines of the first pass. */
  startOffset: number;
  /** The number of the first pass (a replay resuming where it was); default 1. */
  startPass?: number;
}

export interface ReplayedLine {
  line: string;
  /** 1 for the first pass through the file, 2 for the second, and so on. */
  pass: number;
  /** The line's number in the file, from 1. */
  number: number;
}

/** Waits `ms` milliseconds, or less when `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

const realSleep: Sleep = (ms, signal) => sleep(ms, undefined, { signal }).then(
  () => undefined,
  () => undefined,
);

/**
 * Plays a recording line by line. The consumer pulls, so a slow pipeline pauses the replay instead of piling up
 * lines: a replay can wait, unlike a live stream. `wait` is replaceable for tests (fake timers do not reach the
 * `node:timers/promises` import).
 */
export async function* replayLines(options: ReplayOptions, signal: AbortSignal, wait: Sleep = realSleep): AsyncGenerator<ReplayedLine> {
  const interval = options.pace ? 1000 / options.pace : 0;
  let due = Date.now();
  const firstPass = options.startPass ?? 1;
  for (let pass = firstPass; !signal.aborted; pass++) {
    const lines = createInterface({ input: createReadStream(options.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let index = 0;
    // Events in the file, skipped ones too: a pass that resumed after its last line does not end a loop.
    let events = 0;
    try {
      for await (const line of lines) {
        if (signal.aborted) return;
        index += 1;
        if (pass === firstPass && index <= options.startOffset) {
          if (line.trim() !== '') events++;
          continue;
        }
        if (line.trim() !== '') {
          events++;
          if (interval > 0) {
            // Pace against a schedule rather than sleeping a fixed time per event, so the rate does not drift.
            due = Math.max(due + interval, Date.now() - interval);
            const delay = due - Date.now();
            if (delay > 0) await wait(delay, signal);
            if (signal.aborted) return;
          }
        }
        yield { line, pass, number: index };
      }
    } finally {
      lines.close();
    }
    if (!options.loop || events === 0) return;
  }
}

/** Parses a pace such as `5/s`, `300/min` or `2` (per second). */
export function parsePace(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?\s*$/.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  if (!(count > 0)) return undefined;
  return match[2]?.startsWith('m') ? count / 60 : count;
}
