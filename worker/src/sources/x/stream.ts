import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ApiResponseError, ETwitterStreamEvent, type TweetStream } from 'twitter-api-v2';
import type { Clock, Logger, Sink } from '../../engine/types.js';
import type { XClient } from './client.js';
import { ReconnectBackoff, type FailureClass } from './backoff.js';
import { decodeXLine, streamProblem, type StreamProblem, type XStreamEvent } from './decode.js';

/** What each post brings along: its images (and video previews), its author, its time, whether X thinks it sensitive. */
export const X_STREAM_PARAMS = {
  expansions: 'attachments.media_keys,author_id',
  'media.fields': 'url,preview_image_url,type,width,height,alt_text',
  'user.fields': 'username,name',
  'tweet.fields': 'created_at,possibly_sensitive',
};

export interface XStreamOptions {
  clock: Clock;
  log: Logger;
  /** Silence (not even a keep-alive) longer than this means the connection is dead. X sends one every ~20 s. */
  keepAliveTimeoutMs: number;
  /** Called each time a connection got through (tests count on it; `/status` may too). */
  onConnected?: () => void;
  /** Called each time the stream ended or was refused, with the class that sets the wait before the next try. */
  onLost?: (failureClass: FailureClass) => void;
}

/** Why one connection ended. */
type ConnectionEnd =
  | { kind: 'aborted' }
  | { kind: 'network'; reason: string }
  | { kind: 'stalled' }
  | Extract<XStreamEvent, { kind: 'stream-error' }>
  | { kind: 'http'; status: number; reason: string; resetAtMs?: number };

/**
 * Reads the filtered stream until `signal` aborts, offering each data line as the exact JSON text X sent
 * (`{ receivedAt, source: 'x' }`), to be decoded by the route with `decodeXLine` like a recording. Keep-alives
 * are not offered. twitter-api-v2 makes the request (auth, error statuses); its own reconnect and keep-alive
 * timer are off: reconnects follow X's classes (see ReconnectBackoff) on `clock`.
 */
export async function streamX(client: XClient, sink: Sink, signal: AbortSignal, options: XStreamOptions): Promise<void> {
  const { clock, log } = options;
  const backoff = new ReconnectBackoff();
  /** Stream problems already logged as warnings: each is warned about once, then counted quietly (and logged at debug). */
  const warned = new Set<StreamProblem>();
  while (!signal.aborted) {
    const end = await connectOnce(client, sink, signal, options, () => {
      backoff.reset();
      log.info({}, 'x: stream connected');
      options.onConnected?.();
    });
    if (end.kind === 'aborted' || signal.aborted) break;
    if (end.kind === 'stream-error') {
      // Counted by the problem, a label from a fixed set; X's own title and detail go only to the log.
      sink.reject(`stream-error:${end.problem}`, end.detail);
      const level = warned.has(end.problem) ? 'debug' : 'warn';
      warned.add(end.problem);
      log[level]({ problem: end.problem, title: end.title, detail: end.detail }, 'x: the stream sent an error');
    }
    const kind = failureClass(end);
    options.onLost?.(kind);
    const delay = backoff.next(kind, clock.now(), end.kind === 'http' ? end.resetAtMs : undefined);
    log.warn({ reason: describeEnd(end), failureClass: kind, retryInMs: delay }, 'x: stream lost; connecting again');
    await clock.sleep(delay, signal);
  }
}

function failureClass(end: Exclude<ConnectionEnd, { kind: 'aborted' }>): FailureClass {
  switch (end.kind) {
    case 'network':
    case 'stalled':
      return 'network';
    case 'stream-error':
      // X sends these (operational-disconnect, TooManyConnections) before closing: a server-side condition.
      return 'http';
    case 'http':
      return end.status === 429 ? 'rate-limit' : 'http';
  }
}

function describeEnd(end: Exclude<ConnectionEnd, { kind: 'aborted' }>): string {
  switch (end.kind) {
    case 'network':
      return end.reason;
    case 'stalled':
      return 'no data, not even a keep-alive, within the keep-alive timeout';
    case 'stream-error':
      return `stream error ${end.problem} (${end.title})${end.detail ? `: ${end.detail}` : ''}`;
    case 'http':
      return end.reason;
  }
}

/** One connection, from the request until it ends; resolves (never rejects) with why it ended. */
async function connectOnce(
  client: XClient,
  sink: Sink,
  signal: AbortSignal,
  options: XStreamOptions,
  connected: () => void,
): Promise<ConnectionEnd> {
  const { clock, log, keepAliveTimeoutMs } = options;
  const stream = client.searchStream({ ...X_STREAM_PARAMS, autoConnect: false });
  const opening: Promise<ConnectionEnd | undefined> = stream.connect({ autoReconnect: false, keepAliveTimeout: 'disable' }).then(
    () => undefined,
    (error: unknown) => requestFailure(error, clock.now()),
  );
  // The request cannot be cancelled before X answers: give up on it on abort or after the keep-alive timeout,
  // and close whatever it turns into later.
  const givingUp = new AbortController();
  const failure = await Promise.race([
    opening,
    clock.sleep(keepAliveTimeoutMs, AbortSignal.any([signal, givingUp.signal])).then((): 'gave-up' => 'gave-up'),
  ]);
  givingUp.abort();
  if (failure === 'gave-up') {
    void opening.then((late) => late === undefined && stream.destroy());
    return signal.aborted ? { kind: 'aborted' } : { kind: 'network', reason: 'X did not answer the stream request within the keep-alive timeout' };
  }
  if (failure !== undefined) return failure;
  if (signal.aborted) {
    stream.destroy();
    return { kind: 'aborted' };
  }
  connected();
  return readUntilEnd(stream, sink, signal, clock, log, keepAliveTimeoutMs);
}

/** A failed stream request: an error status from X, or no answer at all. */
function requestFailure(error: unknown, now: number): ConnectionEnd {
  if (error instanceof ApiResponseError) {
    const reset = Number(error.headers['x-rate-limit-reset']);
    // X refuses a second stream with 429 and the same problem object it sends in a stream: name the problem.
    const body: unknown = error.data;
    const problem = typeof body === 'object' && body !== null && !Array.isArray(body) ? streamProblem(body as Record<string, unknown>) : 'unknown';
    const end: ConnectionEnd = { kind: 'http', status: error.code, reason: problem === 'unknown' ? error.message : `${error.message} (${problem})` };
    if (error.code === 429 && Number.isFinite(reset) && reset > 0) end.resetAtMs = Math.max(now, reset * 1000);
    return end;
  }
  const cause = (error as { error?: Error }).error;
  return { kind: 'network', reason: cause?.message ?? (error as Error).message };
}

function readUntilEnd(stream: TweetStream, sink: Sink, signal: AbortSignal, clock: Clock, log: Logger, keepAliveTimeoutMs: number): Promise<ConnectionEnd> {
  // twitter-api-v2 parses the body itself (and decodes each chunk on its own, which breaks a character split
  // across chunks); the exact text of each line is needed, so the body is read here, from the response it keeps.
  const body = (stream as unknown as { res: Readable }).res;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let watchdog = new AbortController();
  return new Promise((resolve) => {
    let ended = false;
    const finish = (end: ConnectionEnd): void => {
      if (ended) return;
      ended = true;
      watchdog.abort();
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
      resolve(end);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const arm = (): void => {
      watchdog.abort();
      const current = new AbortController();
      watchdog = current;
      void clock.sleep(keepAliveTimeoutMs, current.signal).then(() => {
        if (!current.signal.aborted) finish({ kind: 'stalled' });
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on(ETwitterStreamEvent.ConnectionError, (error: Error) => finish({ kind: 'network', reason: error.message }));
    stream.on(ETwitterStreamEvent.ConnectionClosed, () => finish({ kind: 'network', reason: 'X closed the stream' }));
    body.on('data', (chunk: Buffer) => {
      if (ended) return;
      arm();
      pending += decoder.write(chunk);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        // A bare line is a keep-alive: it proves the connection lives (the watchdog is re-armed) and nothing more.
        if (line.trim() === '') continue;
        const event = decodeXLine(line);
        if (event.kind === 'stream-error') return finish({ kind: 'stream-error', problem: event.problem, title: event.title, detail: event.detail });
        sink.offer(line, { receivedAt: clock.now(), source: 'x' }).catch((error: unknown) => {
          log.warn({ reason: (error as Error).message }, 'x: the route refused a message');
        });
      }
    });
    arm();
  });
}
