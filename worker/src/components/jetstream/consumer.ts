import WebSocket from 'ws';
import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { Watermark } from '../../engine/settlement.js';
import type { CursorStore } from '../../outbox/cursors.js';
import { CursorFile, JETSTREAM_CURSOR_KEY } from './cursor-file.js';
import { SeenFile } from './seen-file.js';
import { subscribeUrl, type JetstreamOptions } from './options.js';
import { SeenEvents, eventKey } from './seen.js';

/** How long the WebSocket handshake may take before the endpoint counts as down. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Jetstream messages are a few KB; anything near this is not one. */
const MAX_MESSAGE_BYTES = 1 << 20;
/** At a stop, how long the source waits for what it offered to be dealt with before it keeps its place as it is. */
const STOP_SETTLE_MS = 10_000;

/**
 * Why one connection ended. `cause` is a fixed word for logs: `failed` (no WebSocket handshake), `lost` (closed
 * or cut after opening), `idle-timeout` (neither a message nor a pong for idleTimeout).
 */
interface Ended {
  cause: 'failed' | 'lost' | 'idle-timeout';
  reason: Error;
}

/** A message's text; invalid UTF-8 becomes U+FFFD (the frames are not validated, see readUntilLost). */
function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/**
 * Reads Bluesky's Jetstream and offers each message's text, with its `timeUs`. A live source: Jetstream does not
 * wait. When a connection is lost it reconnects after 1 s doubling to `maxBackoff` (jitter, on the route's clock),
 * each time to the next endpoint of the list, asking for events from the last offered time_us minus `rewind`,
 * and skips the ones it already offered. A connection that goes silent (half-open TCP, a proxy that stopped
 * forwarding) is noticed by pinging it every `pingInterval`: neither a message nor a pong for `idleTimeout` ends
 * it like any other loss.
 *
 * The place survives a restart when `cursorFile` is set: the file holds the time up to which every event was dealt
 * with (with an outbox: is in it), written once a second and, at a stop, once what was offered is dealt with (or
 * after STOP_SETTLE_MS). Beside it (`<cursorFile>.seen`, seen-file.ts) a stop keeps the events dealt with by then,
 * so that a restart, which rewinds, skips them as a reconnect does: a clean stop repeats nothing. The same place is
 * one of the worker's places (settings.cursors, JETSTREAM_CURSOR_KEY): kept beside the outbox, and handed from one
 * owner of the feeds to the next, with the ids the feeds published (ownership/), and a start resumes from the one
 * held there first. After a crash the restart offers again what came after `place − rewind`; the feeds'
 * de-duplication, seeded from what the outbox took (outbox/recent.ts) or from the previous owner's ids, publishes
 * none of it twice (docs/operations.md, What repeats, says what is left).
 */
export class JetstreamConsumer implements Consumer {
  readonly live = true;
  private cursorUs: number | undefined;
  private readonly seen: SeenEvents;
  private readonly cursorFile: CursorFile | undefined;
  private readonly seenFile: SeenFile | undefined;
  /** Per run: a stop that abandoned messages leaves them unsettled for good, and the next run starts afresh. */
  private settledUs: Watermark<number> | undefined;
  /** The time up to which every event offered was dealt with. */
  private settledUpToUs: number | undefined;
  private readonly figures = { reconnects: 0, idleReconnects: 0 };

  constructor(
    private readonly options: JetstreamOptions,
    cursorPath: string | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Where the worker's sources keep their places (settings.cursors): beside the outbox, handed between owners. */
    private readonly places?: CursorStore,
  ) {
    // Twice the rewind: another instance's time_us for the same event may differ from the one remembered.
    this.seen = new SeenEvents(2 * options.rewindMs * 1000);
    this.cursorFile = cursorPath === undefined ? undefined : new CursorFile(cursorPath, clock, log);
    this.seenFile = cursorPath === undefined ? undefined : new SeenFile(`${cursorPath}.seen`, log);
  }

  /**
   * `reconnects`, connections lost after they had opened (each followed by a new one), and `idleReconnects`, those
   * of them the idle timeout ended. The same shape as a producer's stats.
   */
  stats(): Readonly<Record<string, number>> {
    return { ...this.figures };
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    // The place the worker holds (this source's own, or one handed over by the previous owner of the feeds) wins;
    // else the file's, at the first start.
    const place = this.places?.get(JETSTREAM_CURSOR_KEY);
    if (this.cursorUs === undefined && this.cursorFile) {
      this.cursorUs = await this.cursorFile.read();
      for (const [key, timeUs] of (await this.seenFile?.read()) ?? []) this.seen.repeat(key, timeUs);
    }
    if (typeof place === 'number' && Number.isSafeInteger(place)) this.cursorUs = place;
    const file = this.cursorFile;
    const places = this.places;
    this.settledUs = (file || places) && new Watermark<number>((timeUs) => {
      this.settledUpToUs = timeUs;
      file?.update(timeUs);
      places?.set(JETSTREAM_CURSOR_KEY, timeUs);
    });
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
        if (ended.cause !== 'failed') {
          failures = 0;
          this.figures.reconnects++;
        }
        if (ended.cause === 'idle-timeout') this.figures.idleReconnects++;
        endpointIndex++;
        const delay = jitteredBackoff(failures++, 1000, this.options.maxBackoffMs);
        const next = this.options.endpoints[endpointIndex % this.options.endpoints.length];
        this.log.warn(
          { jetstream: endpoint, cause: ended.cause, reason: ended.reason.message, next, retryInMs: delay, failures, ...this.figures },
          'jetstream: connection lost; reconnecting',
        );
        await this.clock.sleep(delay, signal);
      }
    } finally {
      await this.keepPlace();
    }
  }

  /** At a stop: once what was offered is dealt with, writes the cursor and the events seen up to it. */
  private async keepPlace(): Promise<void> {
    const settled = this.settledUs;
    if (!settled) return;
    const waited = new AbortController();
    await Promise.race([settled.whenSettled(), this.clock.sleep(STOP_SETTLE_MS, waited.signal)]);
    waited.abort();
    await this.cursorFile?.flush();
    const upTo = this.settledUpToUs;
    if (upTo !== undefined) await this.seenFile?.write(this.seen.upTo(upTo));
  }

  /** One connection, until it closes, goes silent, or `signal` aborts; never rejects. */
  private readUntilLost(url: string, sink: Sink, signal: AbortSignal): Promise<Ended> {
    return new Promise((resolve) => {
      let socket: WebSocket;
      try {
        // A text frame that is not UTF-8 would make ws close the connection (1007), and the resume would bring the
        // same frame again, forever: take its text with U+FFFD in place of the broken bytes, and let the decoder judge.
        socket = new WebSocket(url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, maxPayload: MAX_MESSAGE_BYTES, skipUTF8Validation: true });
      } catch (error) {
        resolve({ cause: 'failed', reason: error as Error });
        return;
      }
      let opened = false;
      let idle = false;
      let failure: Error | undefined;
      /** When the last message or pong came: what the idle watchdog reads. */
      let lastHeardAt = this.clock.now();
      const closed = new AbortController();
      const stop = (): void => socket.terminate();
      signal.addEventListener('abort', stop, { once: true });
      socket.on('open', () => {
        opened = true;
        lastHeardAt = this.clock.now();
        this.log.info({ jetstream: url }, 'jetstream: connected');
        void this.silenceOver(socket, () => lastHeardAt, closed.signal).then((silent) => {
          if (!silent) return;
          idle = true;
          failure = new Error(`neither a message nor a pong for ${this.options.idleTimeoutMs} ms (idleTimeout)`);
          socket.terminate();
        });
      });
      socket.on('message', (data, isBinary) => {
        lastHeardAt = this.clock.now();
        if (isBinary) sink.reject('binary-message', 'Jetstream sent a binary frame: is compression on at the endpoint?');
        else this.deliver(sink, textOf(data));
      });
      socket.on('pong', () => {
        lastHeardAt = this.clock.now();
      });
      socket.on('unexpected-response', (_request, response) => {
        failure = new Error(`${url} answered HTTP ${response.statusCode ?? '?'} instead of a WebSocket`);
        socket.terminate();
      });
      socket.on('error', (error) => {
        failure ??= error;
      });
      socket.on('close', (code, reason) => {
        closed.abort();
        signal.removeEventListener('abort', stop);
        resolve({
          cause: idle ? 'idle-timeout' : opened ? 'lost' : 'failed',
          reason: failure ?? new Error(`closed with code ${code}${reason.length > 0 ? ` (${reason.toString()})` : ''}`),
        });
      });
    });
  }

  /**
   * Pings `socket` every pingInterval while it is open, and resolves true once nothing (no message, no pong) was
   * heard for idleTimeout, or false once `closed` aborts. One sleep at a time on the route's clock: what is heard
   * meanwhile only moves the next deadline.
   */
  private async silenceOver(socket: WebSocket, lastHeardAt: () => number, closed: AbortSignal): Promise<boolean> {
    const { pingIntervalMs, idleTimeoutMs } = this.options;
    let nextPingAt = this.clock.now() + pingIntervalMs;
    while (!closed.aborted) {
      const now = this.clock.now();
      const deadline = lastHeardAt() + idleTimeoutMs;
      if (now >= deadline) return true;
      if (now >= nextPingAt) {
        if (socket.readyState === WebSocket.OPEN) socket.ping();
        nextPingAt = now + pingIntervalMs;
      }
      await this.clock.sleep(Math.min(nextPingAt, deadline) - now, closed);
    }
    return false;
  }

  private deliver(sink: Sink, text: string): void {
    const event = eventKey(text);
    if (event) {
      if (this.seen.repeat(event.key, event.timeUs)) return;
      this.cursorUs = Math.max(this.cursorUs ?? 0, event.timeUs);
    }
    // The file keeps the time up to which every event has been dealt with (with an outbox: is in it), so a crash
    // makes a restart read again what was still in memory.
    const settled = event && this.settledUs ? this.settledUs.track(event.timeUs) : undefined;
    sink.offer(text, { timeUs: event?.timeUs, source: 'bluesky' }, settled).catch((error: unknown) => {
      this.log.warn({ timeUs: event?.timeUs, reason: (error as Error).message }, 'jetstream: the route refused a message');
    });
  }
}
