import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compareStatusIds } from '../../components/mastodon/timeline.js';
import type { Status } from './fake-statuses.js';

/** One request as the fake saw it. The token itself is never kept: only whether one came. */
export interface RecordedRequest {
  path: string;
  query: Record<string, string>;
  authorized: boolean;
}

/** A canned answer for the next timeline request, instead of the timeline. */
export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** The body's bytes exactly, instead of `body` as JSON: broken UTF-8, say. */
  raw?: Uint8Array;
}

/** Statuses per page when a request names no limit, and the most it may ask for: Mastodon's for timelines. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 40;
/** The query parameters Mastodon's tag timeline carries over into its `Link` header. */
const LINK_PARAMS = ['limit', 'local', 'only_media'];

/**
 * A Mastodon instance on localhost speaking the parts of the real API livewall uses: the tag timeline
 * (`GET /api/v1/timelines/tag/:tag`) paged as Mastodon pages it, and the hashtag stream
 * (`GET /api/v1/streaming/hashtag?tag=`, Server-Sent Events, 401 without a Bearer token).
 *
 * Paging, after Mastodon's `Paginable`: every page is newest first, `limit` statuses (20 when not given, at most
 * 40). `max_id` keeps statuses older than it; `since_id` newer than it, but the page is still the newest one (a
 * burst larger than a page leaves a gap); `min_id` (which wins over `since_id`) answers the page immediately after
 * it. A page that is not empty has a `Link` header: `rel="next"` with `max_id` = its oldest id, `rel="prev"` with
 * `min_id` = its newest, each keeping `limit`, `local` and `only_media` (in that order, as Rails sorts them).
 *
 * For the watchdog's tests it can let its open streams go silent (`silence()`) or leave stream requests without
 * an answer (`answerStreams`).
 */
export class FakeMastodon {
  readonly requests: RecordedRequest[] = [];
  /** Answers for the next timeline requests, in order, before the timeline itself. */
  readonly canned: CannedResponse[] = [];
  /** While false, stream requests get no answer at all, not even headers (a stalled proxy); `drop()` ends them. */
  answerStreams = true;
  private readonly statuses: Status[] = [];
  private readonly streams = new Set<ServerResponse>();
  /** Open streams that get nothing more: see `silence()`. */
  private readonly silenced = new Set<ServerResponse>();
  /** Stream requests left unanswered: see `answerStreams`. */
  private readonly unanswered = new Set<ServerResponse>();
  private readonly server: Server = createServer((request, response) => this.handle(request, response));
  private readonly watchers: { done: () => boolean; resolve: () => void }[] = [];

  constructor(statuses: Status[] = []) {
    for (const status of statuses) this.post(status);
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Adds a status to the timeline without streaming it (as if it came while nobody listened). */
  post(status: Status): void {
    this.statuses.push(status);
    this.statuses.sort((a, b) => compareStatusIds(b.id, a.id));
  }

  /** Adds a status to the timeline and sends it to every open stream as an `update` event. */
  publish(status: Status): void {
    this.post(status);
    this.writeRaw(`event: update\ndata: ${JSON.stringify(status)}\n\n`);
  }

  /** The comment line Mastodon's streaming server sends every 15 s to keep a connection open (the fake: on call). */
  heartbeat(): void {
    this.writeRaw(':thump\n');
  }

  /** Any other SSE text (or bytes, broken UTF-8 included), verbatim, to every open stream that is not silenced. */
  writeRaw(text: string | Uint8Array): void {
    for (const stream of this.streams) if (!this.silenced.has(stream)) stream.write(text);
  }

  /**
   * The open streams go silent: they stay open, but nothing more reaches them, not even heartbeats, as behind a
   * proxy that stopped forwarding or on a half-open TCP connection. Streams opened later are served as usual.
   */
  silence(): void {
    for (const stream of this.streams) this.silenced.add(stream);
  }

  /** Cuts every open stream (and unanswered stream request), as a restart or a network cut would. */
  drop(): void {
    for (const stream of [...this.streams, ...this.unanswered]) stream.destroy();
    this.streams.clear();
    this.silenced.clear();
    this.unanswered.clear();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Resolves once a recorded request matches. */
  waitForRequest(match: (request: RecordedRequest) => boolean): Promise<RecordedRequest> {
    return this.when(() => this.requests.some(match)).then(() => this.requests.find(match) as RecordedRequest);
  }

  /** Resolves once `count` streams are open. */
  whenStreams(count: number): Promise<void> {
    return this.when(() => this.streams.size >= count);
  }

  private when(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ done, resolve }));
  }

  private changed(): void {
    for (const watcher of this.watchers.filter((w) => w.done())) {
      this.watchers.splice(this.watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const authorized = /^Bearer \S+$/.test(request.headers.authorization ?? '');
    this.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), authorized });
    try {
      const tag = /^\/api\/v1\/timelines\/tag\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && tag) return this.timeline(url, request.headers.host ?? '127.0.0.1', response);
      if (request.method === 'GET' && url.pathname === '/api/v1/streaming/hashtag') return this.stream(authorized, response);
      json(response, 404, { error: 'Record not found' });
    } finally {
      this.changed();
    }
  }

  private timeline(url: URL, host: string, response: ServerResponse): void {
    const canned = this.canned.shift();
    if (canned?.raw) {
      response.writeHead(canned.status, { 'content-type': 'application/json; charset=utf-8', ...canned.headers });
      return void response.end(canned.raw);
    }
    if (canned) return json(response, canned.status, canned.body ?? { error: 'canned' }, canned.headers);
    const query = url.searchParams;
    const page = this.page(query);
    const headers: Record<string, string> = {};
    const newest = page[0];
    const oldest = page.at(-1);
    if (newest && oldest) {
      const link = (cursor: 'max_id' | 'min_id', id: string): string => {
        const params: [string, string][] = [[cursor, id]];
        for (const name of LINK_PARAMS) {
          const value = query.get(name);
          if (value !== null) params.push([name, value]);
        }
        params.sort(([a], [b]) => (a < b ? -1 : 1));
        return `http://${host}${url.pathname}?${new URLSearchParams(params).toString()}`;
      };
      headers.link = `<${link('max_id', oldest.id)}>; rel="next", <${link('min_id', newest.id)}>; rel="prev"`;
    }
    json(response, 200, page, headers);
  }

  /** One page of the timeline, newest first, as Mastodon's `to_a_paginated_by_id` cuts it. */
  private page(query: URLSearchParams): Status[] {
    const given = query.get('limit');
    // Rails' to_i: leading digits, else 0.
    const limit = given === null ? DEFAULT_LIMIT : Math.min(MAX_LIMIT, Math.abs(Number.parseInt(given, 10) || 0));
    const [maxId, sinceId, minId] = ['max_id', 'since_id', 'min_id'].map((name) => query.get(name) || undefined);
    const candidates = this.statuses
      .filter((status) => query.get('only_media') !== 'true' || (Array.isArray(status.media_attachments) && status.media_attachments.length > 0))
      .filter((status) => maxId === undefined || compareStatusIds(status.id, maxId) < 0);
    if (minId !== undefined) {
      const after = candidates.filter((status) => compareStatusIds(status.id, minId) > 0);
      return after.slice(Math.max(0, after.length - limit));
    }
    return candidates.filter((status) => sinceId === undefined || compareStatusIds(status.id, sinceId) > 0).slice(0, limit);
  }

  private stream(authorized: boolean, response: ServerResponse): void {
    if (!authorized) return json(response, 401, { error: 'Error: Missing access token' });
    if (!this.answerStreams) {
      this.unanswered.add(response);
      response.on('close', () => this.unanswered.delete(response));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'transfer-encoding': 'chunked' });
    // Mastodon's streaming server opens with this comment, then sends `:thump` every 15 s (the fake: `heartbeat()`).
    response.write(':)\n');
    this.streams.add(response);
    response.on('close', () => {
      this.streams.delete(response);
      this.silenced.delete(response);
      this.changed();
    });
  }
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}
