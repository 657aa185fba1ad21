import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import type { MastodonOptions } from './options.js';
import { SseParser } from './sse.js';
import { PAGE_LIMIT, STATUS_ID, compareStatusIds, describeFetchError, errorText, fetchTagTimeline, requestHeaders, type TimelinePage } from './timeline.js';

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

/** An answer that retrying will not change: the route sees the source fail, with what the operator can do. */
class RefusedError extends Error {}

/**
 * Why one stream connection ended. `cause` is a fixed word for logs: `failed` (it never opened: an HTTP error or
 * no answer), `lost` (the instance or the network ended it), `idle-timeout` (silent longer than idleTimeout).
 */
interface StreamEnd {
  cause: 'failed' | 'lost' | 'idle-timeout';
  reason: string;
}

/** What one poll is for: the words of the warning when it stops at pagesPerPoll with more to read. */
type PollPurpose = 'poll' | 'backfill';

/**
 * Follows one hashtag of one instance and offers each status once, oldest first, as its JSON text (the same text a
 * recording holds, so `decodeMastodonJson` decodes the live source and a replay alike), with headers
 * `{source: 'mastodon', instance, tag}`.
 *
 * Without a token it polls the tag timeline every interval: the first poll reads the newest page (the source
 * starts at now, not at the tag's beginning); each later one reads forward from the newest status seen, page by
 * page (`min_id`, then each page's `rel="prev"` link), up to `pagesPerPoll` pages, the rest left to the next poll,
 * so a burst larger than a page is offered whole, oldest first. With a token it reads the hashtag stream (SSE); on
 * every (re)connect it first polls once, so that statuses posted while it was away are not lost; ids already
 * offered are left out. A stream silent (not even a heartbeat) for `idleTimeout` is dropped and made again. A live
 * source: it never waits for the route.
 */
export class MastodonConsumer implements Consumer {
  readonly live = true;
  /** The newest status id seen (or the newest page's `min_id` cursor): where the next poll reads from. */
  private newestId: string | undefined;
  private readonly offered = new Set<string>();
  private readonly figures = { reconnects: 0, idleReconnects: 0 };

  constructor(
    private readonly options: MastodonOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  run(sink: Sink, signal: AbortSignal): Promise<void> {
    return this.options.token === undefined ? this.pollForever(sink, signal) : this.streamForever(sink, signal);
  }

  /**
   * Streaming: `reconnects`, streams lost after they had opened (each followed by a new connection), and
   * `idleReconnects`, those of them the idle timeout ended. The same shape as a producer's stats.
   */
  stats(): Readonly<Record<string, number>> {
    return { ...this.figures };
  }

  private async pollForever(sink: Sink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const page = await this.poll(sink, signal, 'poll');
      if (signal.aborted) break;
      let waitMs = this.options.intervalMs;
      if (page.kind === 'ok') failures = 0;
      else if (page.kind === 'rate-limited') waitMs = this.rateLimitWait(page);
      else waitMs = Math.max(this.options.intervalMs, jitteredBackoff(failures++, POLL_RETRY_FIRST_MS, POLL_RETRY_MAX_MS, this.random));
      if (page.kind === 'retry') this.log.warn({ tag: this.options.tag, reason: page.reason, retryInMs: waitMs, failures }, 'mastodon: polling failed; trying again');
      await this.clock.sleep(waitMs, signal);
    }
  }

  /**
   * Offers what came since the newest status seen, oldest first: the page right after it, then each newer page
   * its `rel="prev"` link names, while pages come full, at most `pagesPerPoll` of them. Before any status was
   * seen, the newest page only. Returns the last page's outcome; throws when the instance refuses.
   */
  private async poll(sink: Sink, signal: AbortSignal, purpose: PollPurpose): Promise<TimelinePage> {
    for (let pages = 1; ; pages++) {
      const minId = this.newestId;
      const page = await fetchTagTimeline({ ...this.options, signal, ...(minId === undefined ? {} : { minId }) });
      if (page.kind === 'refused') throw new RefusedError(this.refusal('the tag timeline', page.reason));
      if (page.kind === 'rate-limited') this.log.warn({ tag: this.options.tag, retryInMs: this.rateLimitWait(page) }, 'mastodon: rate-limited (429); waiting for the limit to reset');
      if (page.kind !== 'ok') return page;
      for (const status of [...page.statuses].reverse()) this.offer(sink, status);
      if (page.newerMinId !== undefined) this.advance(page.newerMinId);
      // A short page is the newest; so is any page before a status was seen. No progress: do not ask again.
      if (minId === undefined || page.statuses.length < PAGE_LIMIT || this.newestId === minId) return page;
      if (pages >= this.options.pagesPerPoll) {
        this.log.warn(
          { tag: this.options.tag, pages, newestId: this.newestId },
          purpose === 'poll'
            ? 'mastodon: more statuses than pagesPerPoll pages since the last poll; the rest come with the next poll (raise pagesPerPoll or shorten interval)'
            : 'mastodon: backfill stopped at pagesPerPoll pages; newer statuses posted while away are skipped (raise pagesPerPoll)',
        );
        return page;
      }
    }
  }

  private rateLimitWait(page: Extract<TimelinePage, { kind: 'rate-limited' }>): number {
    const untilReset = page.resetAt === undefined ? page.waitMs : page.resetAt - this.clock.now();
    return Math.min(RATE_LIMIT_MAX_MS, Math.max(this.options.intervalMs, untilReset));
  }

  private async streamForever(sink: Sink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let end: StreamEnd;
      try {
        end = await this.streamUntilLost(sink, signal, () => {
          failures = 0;
        });
      } catch (error) {
        if (error instanceof RefusedError) throw error;
        end = { cause: 'failed', reason: describeFetchError(error) };
      }
      if (signal.aborted) break;
      if (end.cause !== 'failed') this.figures.reconnects++;
      if (end.cause === 'idle-timeout') this.figures.idleReconnects++;
      const delay = jitteredBackoff(failures++, STREAM_RETRY_FIRST_MS, STREAM_RETRY_MAX_MS, this.random);
      this.log.warn(
        { tag: this.options.tag, cause: end.cause, reason: end.reason, retryInMs: delay, failures, ...this.figures },
        'mastodon: stream lost; connecting again',
      );
      await this.clock.sleep(delay, signal);
    }
  }

  /**
   * One connection to the hashtag stream; resolves with why it ended. The idle watchdog runs from the request on
   * (an instance that never answers is given up too), paused while the backfill runs.
   */
  private async streamUntilLost(sink: Sink, signal: AbortSignal, connected: () => void): Promise<StreamEnd> {
    const url = new URL('/api/v1/streaming/hashtag', this.options.baseUrl);
    url.searchParams.set('tag', this.options.tag);
    /** Aborted by the idle watchdog: drops this connection only. */
    const connection = new AbortController();
    const ended = new AbortController();
    let lastHeardAt = this.clock.now();
    let backfilling = false;
    let opened = false;
    let idle = false;
    void this.silenceOver(() => (backfilling ? this.clock.now() : lastHeardAt), AbortSignal.any([signal, ended.signal])).then((silent) => {
      if (!silent) return;
      idle = true;
      connection.abort();
    });
    try {
      const response = await fetch(url, { headers: requestHeaders(this.options.token, 'text/event-stream'), signal: AbortSignal.any([signal, connection.signal]) });
      lastHeardAt = this.clock.now();
      if (!response.ok || !response.body) {
        const reason = `HTTP ${response.status}${await errorText(response).then((text) => (text ? ` (${text})` : ''))}`;
        if (response.status === 401 || response.status === 403 || response.status === 404) throw new RefusedError(this.refusal('the hashtag stream', reason));
        return { cause: 'failed', reason };
      }
      opened = true;
      connected();
      this.log.info({ tag: this.options.tag, instance: this.options.instance }, 'mastodon: streaming');
      // The stream is open, so nothing new is missed while the backfill runs: it waits in the socket.
      backfilling = true;
      const backfill = await this.poll(sink, signal, 'backfill');
      backfilling = false;
      lastHeardAt = this.clock.now();
      if (backfill.kind !== 'ok') this.log.warn({ tag: this.options.tag, outcome: backfill.kind }, 'mastodon: backfill failed; statuses posted while away may be missing');

      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        // Any text is a sign of life, the `:thump` heartbeats included.
        lastHeardAt = this.clock.now();
        for (const event of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          if (event.event === 'update') this.offer(sink, parseStatus(event.data));
        }
      }
      return { cause: 'lost', reason: 'the instance ended the stream' };
    } catch (error) {
      if (error instanceof RefusedError) throw error;
      if (idle && !opened) return { cause: 'failed', reason: `no answer to the stream request within ${this.options.idleTimeoutMs} ms (idleTimeout)` };
      if (idle) return { cause: 'idle-timeout', reason: `nothing, not even a heartbeat, for ${this.options.idleTimeoutMs} ms (idleTimeout)` };
      return { cause: opened ? 'lost' : 'failed', reason: describeFetchError(error) };
    } finally {
      ended.abort();
    }
  }

  /** Resolves true once `lastHeardAt` is `idleTimeout` old, or false once `until` aborts. */
  private async silenceOver(lastHeardAt: () => number, until: AbortSignal): Promise<boolean> {
    const timeoutMs = this.options.idleTimeoutMs;
    while (!until.aborted) {
      const silentFor = this.clock.now() - lastHeardAt();
      if (silentFor >= timeoutMs) return true;
      // One sleep per timeout, not one per chunk: data that came meanwhile only moves the next deadline.
      await this.clock.sleep(timeoutMs - silentFor, until);
    }
    return false;
  }

  /** Offers a status not offered before, and moves the cursor on. */
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
    this.advance(id);
  }

  /** Moves the cursor to `id` if that is newer. */
  private advance(id: string): void {
    if (this.newestId === undefined || compareStatusIds(id, this.newestId) > 0) this.newestId = id;
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
