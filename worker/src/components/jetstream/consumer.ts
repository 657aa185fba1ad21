import WebSocket from 'ws';
import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { CursorFile } from './cursor-file.js';
import { subscribeUrl, type JetstreamOptions } from './options.js';
import { SeenEvents, eventKey } from './seen.js';

/** How long the WebSocket handshake may take before the endpoint counts as down. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Jetstream messages are a few KB; anything near this is not one. */
const MAX_MESSAGE_BYTES = 1 << 20;

/** Why one connection ended, and whether it got as far as the WebSocket handshake. */
interface Ended {
  opened: boolean;
  reason: Error;
}

function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * Reads Bluesky's Jetstream and offers each message's text, with its `timeUs`. A live source: Jetstream does not
 * wait. When a connection is lost it reconnects after 1 s doubling to `maxBackoff` (jitter, on the route's clock),
 * each time to the next endpoint of the list, asking for events from the last offered time_us minus `rewind`,
 * and skips the ones it already offered. The cursor survives a restart when `cursorFile` is set; a restart
 * forgets what it offered, so it may offer again up to `rewind` (plus the last second) of events: item ids are
 * stable (`bluesky:<did>/<rkey>`) for whoever needs exactly once.
 */
export class JetstreamConsumer implements Consumer {
  readonly live = true;
  private cursorUs: number | undefined;
  private readonly seen: SeenEvents;
  private readonly cursorFile: CursorFile | undefined;

  constructor(
    private readonly options: JetstreamOptions,
    cursorPath: string | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    // Twice the rewind: another instance's time_us for the same event may differ from the one remembered.
    this.seen = new SeenEvents(2 * options.rewindMs * 1000);
    this.cursorFile = cursorPath === undefined ? undefined : new CursorFile(cursorPath, clock, log);
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    if (this.cursorUs === undefined && this.cursorFile) this.cursorUs = await this.cursorFile.read();
    let endpointIndex = 0;
    /** Attempts in a row that did not get as far as a handshake. */
    let failures = 0;
    try {
      while (!signal.aborted) {
        const endpoint = this.options.endpoints[endpointIndex % this.options.endpoints.length] as string;
        const resumeFrom = this.cursorUs === undefined ? undefined : Math.max(1, this.cursorUs - this.options.rewindMs * 1000);
        const ended = await this.readUntilLost(subscribeUrl(endpoint, resumeFrom), sink, signal);
        if (signal.aborted) break;
        await this.cursorFile?.flush();
        if (ended.opened) failures = 0;
        endpointIndex++;
        const delay = jitteredBackoff(failures++, 1000, this.options.maxBackoffMs);
        const next = this.options.endpoints[endpointIndex % this.options.endpoints.length];
        this.log.warn({ jetstream: endpoint, reason: ended.reason.message, next, retryInMs: delay, failures }, 'jetstream: connection lost; reconnecting');
        await this.clock.sleep(delay, signal);
      }
    } finally {
      await this.cursorFile?.flush();
    }
  }

  /** One connection, until it closes or `signal` aborts; never rejects. */
  private readUntilLost(url: string, sink: Sink, signal: AbortSignal): Promise<Ended> {
    return new Promise((resolve) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, maxPayload: MAX_MESSAGE_BYTES });
      } catch (error) {
        resolve({ opened: false, reason: error as Error });
        return;
      }
      let opened = false;
      let failure: Error | undefined;
      const stop = (): void => socket.terminate();
      signal.addEventListener('abort', stop, { once: true });
      socket.on('open', () => {
        opened = true;
        this.log.info({ jetstream: url }, 'jetstream: connected');
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) sink.reject('binary-message', 'Jetstream sent a binary frame: is compression on at the endpoint?');
        else this.deliver(sink, textOf(data));
      });
      socket.on('unexpected-response', (_request, response) => {
        failure = new Error(`${url} answered HTTP ${response.statusCode ?? '?'} instead of a WebSocket`);
        socket.terminate();
      });
      socket.on('error', (error) => {
        failure ??= error;
      });
      socket.on('close', (code, reason) => {
        signal.removeEventListener('abort', stop);
        resolve({ opened, reason: failure ?? new Error(`closed with code ${code}${reason.length > 0 ? ` (${reason.toString()})` : ''}`) });
      });
    });
  }

  private deliver(sink: Sink, text: string): void {
    const event = eventKey(text);
    if (event) {
      if (this.seen.repeat(event.key, event.timeUs)) return;
      this.cursorUs = Math.max(this.cursorUs ?? 0, event.timeUs);
      this.cursorFile?.update(this.cursorUs);
    }
    sink.offer(text, { timeUs: event?.timeUs, source: 'bluesky' }).catch((error: unknown) => {
      this.log.warn({ timeUs: event?.timeUs, reason: (error as Error).message }, 'jetstream: the route refused a message');
    });
  }
}
