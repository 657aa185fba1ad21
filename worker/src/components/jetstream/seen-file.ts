import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../engine/types.js';

/** One event a stopped source had dealt with: its key (seen.ts) and time_us. */
export type SeenEntry = readonly [key: string, timeUs: number];

/**
 * The events the source had dealt with when it last stopped, beside the cursor file (`<cursorFile>.seen`, JSON
 * `{"v":1,"events":[[key, time_us], …]}`), so that the next start, which rewinds, skips them as it would have
 * skipped them had it not stopped. Written atomically (a temporary file renamed over it) at a stop; a crash leaves
 * the one from the last stop, whose events are older than the cursor's rewind and so skip nothing.
 */
export class SeenFile {
  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /** The events the file holds; none when there is no file or it cannot be read (which is logged). */
  async read(): Promise<SeenEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ seenFile: this.path, reason: (error as Error).message }, 'jetstream: cannot read the events seen before the last stop; a rewind may repeat them');
      return [];
    }
    try {
      const { v, events } = JSON.parse(text) as { v?: unknown; events?: unknown };
      if (v === 1 && Array.isArray(events)) {
        return events.filter((entry): entry is SeenEntry => Array.isArray(entry) && typeof entry[0] === 'string' && Number.isSafeInteger(entry[1]));
      }
    } catch {
      // Reported below, as any other content.
    }
    this.log.warn({ seenFile: this.path }, 'jetstream: the file of events seen before the last stop is not one; a rewind may repeat them (delete it)');
    return [];
  }

  async write(events: Iterable<SeenEntry>): Promise<void> {
    const temporary = `${this.path}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(temporary, JSON.stringify({ v: 1, events: [...events] }));
      await rename(temporary, this.path);
    } catch (error) {
      this.log.warn({ seenFile: this.path, reason: (error as Error).message }, 'jetstream: cannot keep the events seen before this stop; the next start may repeat its rewind');
    }
  }
}
