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
}

/**
 * A Mastodon instance on localhost speaking the parts of the real API livewall uses: the tag timeline
 * (`GET /api/v1/timelines/tag/:tag` with since_id, only_media and limit, newest first, at most 40) and the hashtag
 * stream (`GET /api/v1/streaming/hashtag?tag=`, Server-Sent Events, 401 without a Bearer token).
 */
export class FakeMastodon {
  readonly requests: RecordedRequest[] = [];
  /** Answers for the next timeline requests, in order, before the timeline itself. */
  readonly canned: CannedResponse[] = [];
  private readonly statuses: Status[] = [];
  private readonly streams = new Set<ServerResponse>();
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
    for (const stream of this.streams) stream.write(`event: update\ndata: ${JSON.stringify(status)}\n\n`);
  }

  /** The comment line Mastodon's streaming server sends to keep a connection open. */
  heartbeat(): void {
    for (const stream of this.streams) stream.write(':thump\n');
  }

  /** Any other SSE text, verbatim. */
  writeRaw(text: string): void {
    for (const stream of this.streams) stream.write(text);
  }

  /** Cuts every open stream, as a restart or a network cut would. */
  drop(): void {
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
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
      if (request.method === 'GET' && tag) return this.timeline(url.searchParams, response);
      if (request.method === 'GET' && url.pathname === '/api/v1/streaming/hashtag') return this.stream(authorized, response);
      json(response, 404, { error: 'Record not found' });
    } finally {
      this.changed();
    }
  }

  private timeline(query: URLSearchParams, response: ServerResponse): void {
    const canned = this.canned.shift();
    if (canned) return json(response, canned.status, canned.body ?? { error: 'canned' }, canned.headers);
    const sinceId = query.get('since_id');
    const limit = Math.min(40, Math.max(1, Number(query.get('limit') ?? 20) || 20));
    const statuses = this.statuses
      .filter((status) => query.get('only_media') !== 'true' || (Array.isArray(status.media_attachments) && status.media_attachments.length > 0))
      .filter((status) => !sinceId || compareStatusIds(status.id, sinceId) > 0)
      .slice(0, limit);
    json(response, 200, statuses);
  }

  private stream(authorized: boolean, response: ServerResponse): void {
    if (!authorized) return json(response, 401, { error: 'Error: Missing access token' });
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'transfer-encoding': 'chunked' });
    response.write(':)\n');
    this.streams.add(response);
    response.on('close', () => {
      this.streams.delete(response);
      this.changed();
    });
  }
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}
