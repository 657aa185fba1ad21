/**
 * A stand-in for the X API v2 filtered stream, for tests: the rules endpoints (with `dry_run` and X's error
 * format; a value containing `INVALID` is refused) and `GET /2/tweets/search/stream`, whose connections the test
 * scripts: chunks split anywhere, keep-alives, silence, an error payload, a 429, a 503, a dropped socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamRule } from './rules.js';

export interface RulesCall {
  method: string;
  query: Record<string, string>;
  body: unknown;
}

/** What the next stream request gets instead of a stream. */
export type StreamRefusal = { status: number; headers?: Record<string, string>; body?: unknown } | 'drop';

/** One open stream connection. */
export interface StreamConnection {
  /** Sends bytes as they are (a string as UTF-8), resolving once they are handed to the socket. */
  write(chunk: string | Buffer): Promise<void>;
  /** Ends the response cleanly. */
  end(): void;
  /** Drops the socket. */
  destroy(): void;
  readonly closed: Promise<void>;
  readonly authorization: string | undefined;
  readonly query: Record<string, string>;
}

export class FakeXServer {
  rules: StreamRule[] = [];
  readonly rulesCalls: RulesCall[] = [];
  /** Every stream request, refused or not. */
  streamRequests = 0;
  /** Stream requests answered with a stream. */
  readonly connections: StreamConnection[] = [];
  private readonly refusals: StreamRefusal[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private nextRuleId = 1_000_000_000_000_000_000n;
  private readonly server: Server = createServer((request, response) => void this.handle(request, response));

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next stream requests are refused, in this order. */
  refuseNext(...refusals: StreamRefusal[]): void {
    this.refusals.push(...refusals);
  }

  /** Resolves with the `count`-th stream connection (1-based) once it is open. */
  async connection(count: number): Promise<StreamConnection> {
    if (this.connections.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.connections[count - 1]!;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    if (url.pathname === '/2/tweets/search/stream') return this.stream(request, response, query);
    if (url.pathname === '/2/tweets/search/stream/rules') {
      const text = await readBody(request);
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      this.rulesCalls.push({ method: request.method ?? '', query, body });
      if (request.method === 'GET') return json(response, 200, this.listRules());
      if (request.method === 'POST') return this.updateRules(response, body as RulesBody, query.dry_run === 'true');
    }
    json(response, 404, { title: 'Not Found Error', detail: `no route ${request.method} ${url.pathname}`, type: 'about:blank', status: 404 });
  }

  private listRules(): unknown {
    const meta = { sent: new Date().toISOString(), result_count: this.rules.length };
    return this.rules.length === 0 ? { meta } : { data: this.rules, meta };
  }

  private updateRules(response: ServerResponse, body: RulesBody, dryRun: boolean): void {
    const sent = new Date().toISOString();
    if (body.delete) {
      const ids = new Set(body.delete.ids);
      const before = this.rules.length;
      if (!dryRun) this.rules = this.rules.filter((rule) => !ids.has(rule.id));
      const deleted = dryRun ? ids.size : before - this.rules.length;
      return json(response, 200, { meta: { sent, summary: { deleted, not_deleted: ids.size - deleted } } });
    }
    const add = body.add ?? [];
    // X's error objects differ by problem type: an invalid rule has details, a duplicate names the existing id.
    const errors = add.flatMap((rule): Record<string, unknown>[] => {
      if (rule.value.includes('INVALID')) {
        return [{ value: rule.value, details: ['Reference to invalid operator \'INVALID\'. Operator is not available in current product or product packaging.'], title: 'Invalid Rule', type: 'https://api.twitter.com/2/problems/invalid-rules' }];
      }
      if (this.rules.some((existing) => existing.value === rule.value)) {
        return [{ value: rule.value, id: this.rules.find((existing) => existing.value === rule.value)!.id, title: 'DuplicateRule', type: 'https://api.twitter.com/2/problems/duplicate-rules' }];
      }
      return [];
    });
    if (errors.length > 0) {
      const summary = { created: 0, not_created: add.length, valid: add.length - errors.length, invalid: errors.length };
      return json(response, 400, { errors, meta: { sent, summary } });
    }
    const created = add.map((rule) => ({ id: String(this.nextRuleId++), value: rule.value, ...(rule.tag === undefined ? {} : { tag: rule.tag }) }));
    if (!dryRun) this.rules.push(...created);
    json(response, 200, { data: created, meta: { sent, summary: { created: dryRun ? 0 : created.length, not_created: 0, valid: created.length, invalid: 0 } } });
  }

  private stream(request: IncomingMessage, response: ServerResponse, query: Record<string, string>): void {
    this.streamRequests += 1;
    const refusal = this.refusals.shift();
    if (refusal === 'drop') {
      request.socket.destroy();
      return;
    }
    if (refusal) {
      response.writeHead(refusal.status, { 'content-type': 'application/json', ...refusal.headers });
      response.end(JSON.stringify(refusal.body ?? { title: 'Service Unavailable', detail: 'Service Unavailable', type: 'about:blank', status: refusal.status }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders();
    const closed = new Promise<void>((resolve) => response.on('close', resolve));
    this.connections.push({
      write: (chunk) => new Promise<void>((resolve) => response.write(chunk, () => resolve())),
      end: () => response.end(),
      destroy: () => request.socket.destroy(),
      closed,
      authorization: request.headers.authorization,
      query,
    });
    for (const waiter of this.waiters.filter((w) => this.connections.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

interface RulesBody {
  add?: { value: string; tag?: string }[];
  delete?: { ids: string[] };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
