import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import type { FileConsumerOptions } from './options.js';

/** How often a following reader looks for new lines at the end of the file. */
const FOLLOW_POLL_MS = 500;
const CHUNK_BYTES = 64 * 1024;

/**
 * Reads newline-delimited JSON, one message per line, waiting for the route to have room before reading on: a
 * file can wait, so the consumer is not live. A line that is not JSON is counted and skipped; blank lines are
 * skipped silently. With `follow`, it waits at the end for more lines (a line counts once its newline is there).
 */
export class FileConsumer implements Consumer {
  readonly live = false;

  constructor(
    private readonly file: string,
    private readonly options: FileConsumerOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.file, 'r');
    } catch (error) {
      throw new Error(`file: cannot read ${this.file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      await this.read(handle, sink, signal);
    } finally {
      await handle.close();
    }
  }

  private async read(handle: FileHandle, sink: Sink, signal: AbortSignal): Promise<void> {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let decoder = new StringDecoder('utf8');
    let offset = 0;
    let partial = '';
    let lineNumber = 0;
    while (!signal.aborted) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const lines = (partial + decoder.write(chunk.subarray(0, bytesRead))).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (signal.aborted) return;
          await this.deliver(line, ++lineNumber, sink);
        }
      } else if (!this.options.follow) {
        const last = partial + decoder.end();
        if (last !== '' && !signal.aborted) await this.deliver(last, lineNumber + 1, sink);
        return;
      } else {
        if ((await handle.stat()).size < offset) {
          this.log.warn({ file: this.file, offset }, 'file: the file got shorter; reading it again from the top');
          decoder = new StringDecoder('utf8');
          offset = 0;
          partial = '';
          lineNumber = 0;
          continue;
        }
        await this.clock.sleep(FOLLOW_POLL_MS, signal);
      }
    }
  }

  private async deliver(line: string, lineNumber: number, sink: Sink): Promise<void> {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      sink.reject('not-json', `${this.file}:${lineNumber}`);
      return;
    }
    await sink.offer(body, { line: lineNumber, file: this.file });
  }
}
