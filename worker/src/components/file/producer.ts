import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, Exchange, Logger, Producer } from '../../engine/types.js';
import type { FileProducerOptions } from './options.js';

interface PendingLine {
  text: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Appends each exchange's body as one line of newline-delimited JSON. One file handle; sends are queued and
 * written in order, in batches: whatever arrived while a write was under way goes out in the next single write
 * (and one fsync, when asked), so a dead-letter file keeps up with a burst without one syscall per line.
 */
export class FileProducer implements Producer {
  private handle: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  private readonly queue: PendingLine[] = [];
  /** The batch being written now. */
  private writing: PendingLine[] = [];
  /** Settles when the queue is empty and nothing is being written. */
  private draining: Promise<void> | undefined;
  /** No more sends: set when stop begins. */
  private stopped = false;
  /** The file is closed: set when stop ends. */
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly options: FileProducerOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Opens the file; also after a stop, as the route starts its producers again when it restarts. */
  async start(): Promise<void> {
    this.stopped = false;
    this.closed = false;
    await this.open();
  }

  send(exchange: Exchange): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`file: ${this.file} is closed: exchange ${exchange.id} was not written`));
    let text: string;
    try {
      text = `${lineOf(exchange.body)}\n`;
    } catch (error) {
      return Promise.reject(new Error(`file: exchange ${exchange.id} cannot be written to ${this.file}: ${messageOf(error)}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  ready(): boolean {
    return this.handle !== undefined && !this.stopped;
  }

  /** Writes what is queued (up to `timeoutMs`), then closes the file; what could not be written is abandoned. */
  async stop(timeoutMs: number): Promise<number> {
    this.stopped = true;
    if (this.draining) {
      const timeout = new AbortController();
      await Promise.race([this.draining, this.clock.sleep(timeoutMs, timeout.signal)]);
      timeout.abort();
    }
    const abandoned = this.writing.length + this.queue.length;
    for (const line of this.queue.splice(0)) line.reject(new Error(`file: ${this.file} closed before this line was written`));
    if (abandoned > 0) this.log.warn({ abandoned, timeoutMs }, 'file: closed with lines not yet written');
    const handle = this.handle;
    this.handle = undefined;
    this.closed = true;
    // A write still under way (a hung disk) must not hold up the stop: close once it returns, if it ever does.
    if (this.draining) void this.draining.then(() => handle?.close()).catch(() => undefined);
    else await handle?.close();
    return abandoned;
  }

  private open(): Promise<FileHandle> {
    if (this.handle) return Promise.resolve(this.handle);
    this.opening ??= (async () => {
      try {
        if (this.options.mkdirs) await mkdir(dirname(this.file), { recursive: true });
        const handle = await open(this.file, 'a');
        if (this.closed) {
          await handle.close();
          throw new Error('the producer has stopped');
        }
        this.handle = handle;
        this.log.debug({ file: this.file }, 'file: opened for appending');
        return this.handle;
      } catch (error) {
        const hint = !this.options.mkdirs && (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (its folder is missing and mkdirs=false)' : '';
        throw new Error(`file: cannot open ${this.file} for appending${hint}: ${messageOf(error)}`, { cause: error });
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /** Writes batches until the queue is empty; clears `draining` in the same step that finds it empty. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      this.writing = this.queue.splice(0);
      await this.write(this.writing);
      this.writing = [];
    }
    this.draining = undefined;
  }

  /** Settles every line of `batch`: resolved once written (and synced), or rejected with why not. */
  private async write(batch: PendingLine[]): Promise<void> {
    try {
      const handle = await this.open();
      try {
        await handle.appendFile(batch.map((line) => line.text).join(''));
        if (this.options.fsync) await handle.sync();
      } catch (error) {
        throw new Error(`file: cannot append to ${this.file}: ${messageOf(error)}`, { cause: error });
      }
      for (const line of batch) line.resolve();
    } catch (error) {
      for (const line of batch) line.reject(error as Error);
    }
  }
}

/**
 * A string body is taken to be a line of JSON already and written as it is, unless it holds a line break: then it
 * is written as a JSON string, so that one body stays one line. Anything else is written as its JSON.
 */
function lineOf(body: unknown): string {
  if (typeof body === 'string') return /[\r\n]/.test(body) ? JSON.stringify(body) : body;
  const json = JSON.stringify(body) as string | undefined;
  if (json === undefined) throw new Error(`a body of type ${typeof body} has no JSON form`);
  return json;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
