import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import type { MastodonOptions } from './options.js';
import { SseParser } from './sse.js';
import { compareStatusIds, describeFetchError, errorText, fetchTagTimeline, requestHeaders, type TimelinePage } from './timeline.js';

/** Polling after errors: from 5 s doubling to 5 min (never sooner than the interval). */
const POLL_RETRY_FIRST_MS = 5000;
const POLL_RETRY_MAX_MS = 300_000;
/** Reconnecting a stream: from 1 s doubling to 60 s. */
const STREAM_RETRY_FIRST_MS = 1000;
const STREAM_RETRY_MAX_MS = 60_000;
/** The longest a 429 makes the source wait, whatever X-RateLimit-Reset says (clocks differ). */
const RATE_LIMIT_MAX_MS = 15 * 60_000;
/** Status ids remembered to leave out duplicates when a backfill overlaps the stream. */
const REMEMBERED_IDS = 2000;
const STATUS_ID = /^[A-Za-z0-9]{1,64}$/;

/** An answer that retrying will not change: the route sees the source fail, with what the operator can do. */
class RefusedError extends Error {}

/**
 * Follows one hashtag of one instance and offers each status once, oldest first, as its JSON text (the same text a
 * recording holds, so `decodeMastodonJson` decodes the live source and a replay alike), with headers
 * `{source: 'mastodon', instance, tag}`.
 *
 * Without a token it polls the tag timeline every interval (`since_id` = the newest status seen). With one it
 * reads the hashtag stream (SSE); on every (re)connect it first polls once, so that statuses posted while it was
 * away are not lost; ids already offered are left out. A live source: it never waits for the route.
 */
export class MastodonConsumer implements Consumer {
  readonly live = true;
  private sinceId: string | undefined;
  private readonly offered = new Set<string>();

  constructor(
    private readonly options: MastodonOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  run(sink: Sink, signal: AbortSignal): Promise<void> {
    return this.options.token === undefined ? this.pollForever(sink, signal) : this.streamForever(sink, signal);
  }

  private async pollForever(sink: Sink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const page = await this.poll(sink, signal);
      if (signal.aborted) break;
      let waitMs = this.options.intervalMs;
      if (page.kind === 'ok') failures = 0;
      else if (page.kind === 'rate-limited') waitMs = this.rateLimitWait(page);
      else waitMs = Math.max(this.options.intervalMs, jitteredBackoff(failures++, POLL_RETRY_FIRST_MS, POLL_RETRY_MAX_MS, this.random));
      if (page.kind === 'retry') this.log.warn({ tag: this.options.tag, reason: page.reason, retryInMs: waitMs, failures }, 'mastodon: polling failed; trying again');
      await this.clock.sleep(waitMs, signal);
    }
  }

  /** One page of the tag timeline after the newest status seen, offered oldest first. Throws when refused. */
  private async poll(sink: Sink, signal: AbortSignal): Promise<TimelinePage> {
    const page = await fetchTagTimeline({ ...this.options, signal, ...(this.sinceId === undefined ? {} : { sinceId: this.sinceId }) });
    if (page.kind === 'refused') throw new RefusedError(this.refusal('the tag timeline', page.reason));
    if (page.kind === 'rate-limited') this.log.warn({ tag: this.options.tag, retryInMs: this.rateLimitWait(page) }, 'mastodon: rate-limited (429); waiting for the limit to reset');
    if (page.kind === 'ok') {
      for (const status of [...page.statuses].reverse()) this.offer(sink, status);
    }
    return page;
  }

  private rateLimitWait(page: Extract<TimelinePage, { kind: 'rate-limited' }>): number {
    const untilReset = page.resetAt === undefined ? page.waitMs : page.resetAt - this.clock.now();
    return Math.min(RATE_LIMIT_MAX_MS, Math.max(this.options.intervalMs, untilReset));
  }

  private async streamForever(sink: Sink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let reason: string;
      try {
        reason = await this.streamUntilLost(sink, signal, () => {
          failures = 0;
        });
      } catch (error) {
        if (error instanceof RefusedError) throw error;
        reason = describeFetchError(error);
      }
      if (signal.aborted) break;
      const delay = jitteredBackoff(failures++, STREAM_RETRY_FIRST_MS, STREAM_RETRY_MAX_MS, this.random);
      this.log.warn({ tag: this.options.tag, reason, retryInMs: delay, failures }, 'mastodon: stream lost; connecting again');
      await this.clock.sleep(delay, signal);
    }
  }

  /** One connection to the hashtag stream; resolves with why it ended. */
  private async streamUntilLost(sink: Sink, signal: AbortSignal, connected: () => void): Promise<string> {
    const url = new URL('/api/v1/streaming/hashtag', this.options.baseUrl);
    url.searchParams.set('tag', this.options.tag);
    const response = await fetch(url, { headers: requestHeaders(this.options.token, 'text/event-stream'), signal });
    if (!response.ok || !response.body) {
      const reason = `HTTP ${response.status}${await errorText(response).then((text) => (text ? ` (${text})` : ''))}`;
      if (response.status === 401 || response.status === 403 || response.status === 404) throw new RefusedError(this.refusal('the hashtag stream', reason));
      return reason;
    }
    connected();
    this.log.info({ tag: this.options.tag, instance: this.options.instance }, 'mastodon: streaming');
    // The stream is open, so nothing new is missed while the backfill runs: it waits in the socket.
    const backfill = await this.poll(sink, signal);
    if (backfill.kind !== 'ok') this.log.warn({ tag: this.options.tag, outcome: backfill.kind }, 'mastodon: backfill failed; statuses posted while away may be missing');

    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        if (event.event === 'update') this.offer(sink, parseStatus(event.data));
      }
    }
    return 'the instance ended the stream';
  }

  /** Offers a status not offered before, and moves since_id on. */
  private offer(sink: Sink, status: unknown): void {
    const record = typeof status === 'object' && status !== null && !Array.isArray(status) ? (status as Record<string, unknown>) : undefined;
    const id = record?.id;
    if (!record || typeof id !== 'string' || !STATUS_ID.test(id)) return sink.reject('bad-status');
    if (this.offered.has(id)) return;
    this.remember(id);
    if (record.sensitive === true && !this.options.sensitive) return sink.reject('sensitive');
    const headers = { source: 'mastodon', instance: this.options.instance, tag: this.options.tag };
    sink.offer(JSON.stringify(record), headers).catch((error: unknown) => {
      this.log.warn({ tag: this.options.tag, statusId: id, reason: (error as Error).message }, 'mastodon: the route refused a status');
    });
  }

  private remember(id: string): void {
    this.offered.add(id);
    if (this.offered.size > REMEMBERED_IDS) this.offered.delete(this.offered.values().next().value as string);
    if (this.sinceId === undefined || compareStatusIds(id, this.sinceId) > 0) this.sinceId = id;
  }

  private refusal(what: string, reason: string): string {
    const { baseUrl, tag, tokenEnv } = this.options;
    const hint = tokenEnv === undefined
      ? 'the instance may not serve public timelines without a login: set tokenEnv'
      : `check the token in ${tokenEnv} (a user access token with read:statuses)`;
    return `mastodon: ${baseUrl} refused ${what} for #${tag}: ${reason}; ${hint}`;
  }
}

/** The status of an `update` event. The SSE data is the status JSON; the WebSocket API wraps it in a string again. */
function parseStatus(data: string): unknown {
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'string' ? JSON.parse(parsed) : parsed;
  } catch {
    return undefined;
  }
}
