import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, Logger } from '../../engine/types.js';

const WRITE_EVERY_MS = 1000;

/**
 * The key of Jetstream's place (a time_us) among the sources' places (settings.cursors): kept there beside the
 * outbox, and handed from one owner of the Bluesky feeds to the next (ownership/).
 */
export const JETSTREAM_CURSOR_KEY = 'jetstream:bluesky';

/**
 * The Jetstream cursor (a time_us) kept in a file, so a restart resumes where the last run stopped. Written
 * atomically (a temporary file renamed over it) at most once a second, and once more on `flush`.
 */
export class CursorFile {
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private written: number | undefined;
  private pending: number | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The cursor the file holds, or undefined when there is none (or it cannot be read, which is logged). */
  async read(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ cursorFile: this.path, reason: (error as Error).message }, 'jetstream: cannot read the cursor file; reading live');
      }
      return undefined;
    }
    const cursor = /^\s*(\d{1,16})\s*$/.exec(text)?.[1];
    if (cursor === undefined || !Number.isSafeInteger(Number(cursor))) {
      this.log.warn({ cursorFile: this.path }, 'jetstream: the cursor file does not hold a time_us; reading live (delete or fix the file)');
      return undefined;
    }
    this.written = Number(cursor);
    return this.written;
  }

  /** Records `cursor`; writes it now if the last write is a second old, else leaves it for the next. */
  update(cursor: number): void {
    this.pending = cursor;
    if (this.clock.now() - this.lastWriteAt >= WRITE_EVERY_MS) this.write();
  }

  /** Writes what `update` left pending, and waits for every write. */
  async flush(): Promise<void> {
    this.write();
    await this.writing;
  }

  private write(): void {
    const cursor = this.pending;
    if (cursor === undefined || cursor === this.written) return;
    this.lastWriteAt = this.clock.now();
    this.written = cursor;
    this.writing = this.writing.then(async () => {
      const temporary = `${this.path}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(temporary, `${cursor}\n`);
        await rename(temporary, this.path);
      } catch (error) {
        this.log.warn({ cursorFile: this.path, reason: (error as Error).message }, 'jetstream: cannot write the cursor file; a restart would resume from an older cursor');
      }
    });
  }
}
