import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import type { RouteStatus } from '../engine/route.js';
import type { Logger } from '../engine/types.js';
import type { WorkerInfo } from './info.js';

/**
 * The worker's operations endpoints, for probes, Prometheus and people:
 *
 * - `GET /healthz` — 200 `ok` while the process runs (liveness).
 * - `GET /readyz` — 200 when every route is started with its endpoints connected (but those held back because
 *   another worker owns their feed), else 503 with the routes that are not and why (readiness).
 * - `GET /status` — the worker and every route's state and counters, the broker connections the routes' amqp:
 *   endpoints share, who owns each feed, and each feed's figures per network, as JSON.
 * - `GET /metrics` — Prometheus text.
 *
 * Plain `node:http`: four fixed GET paths need no router, middleware or body parsing, and the worker stays free of
 * a web framework. Requests are not logged (probes and scrapes come every few seconds); failures are.
 */

export interface OpsServerOptions {
  /** 0 picks a free port; `OpsServer.port` reports the real one. */
  port: number;
  /** The address to listen on. Default 127.0.0.1: these endpoints have no authentication, so expose them on purpose. */
  host?: string;
  engine: Engine;
  /** From `createMetrics`. */
  registry: Registry;
  log: Logger;
  info: WorkerInfo;
  /** The connections amqp: endpoints share, with the figures of each connection as a whole, shown in /status. */
  amqpConnections?: () => unknown;
  /** Feed ownership (worker/src/ownership/): who owns each feed and where it runs, shown in /status. */
  ownership?: () => unknown;
  /** The moderation log and gate (worker/src/moderation/): the log's state, each feed's takedowns and drops, shown in /status. */
  moderation?: () => unknown;
  /** Each feed's figures per network (ops/network-counts.ts), shown in /status as `networks`. */
  networks?: () => unknown;
  /** Routes stopped on purpose (a feed another worker owns): /readyz leaves them out, so a standby worker is ready. */
  held?: (routeId: string) => boolean;
  /** The ownership role of a managed route's feed (`listening`: not known yet), named in /readyz's reasons. */
  roleOf?: (routeId: string) => string | undefined;
}

export interface OpsServer {
  readonly port: number;
  /** Stops listening and closes open connections (scrapers keep theirs alive). */
  close(): Promise<void>;
}

/** Why a route is not ready: what `/readyz` answers with 503. */
export interface RouteNotReady {
  id: string;
  state: RouteStatus['state'];
  lastError?: RouteStatus['lastError'];
  nextRetryAt?: string;
  /** Only the endpoints that are not connected. */
  endpoints: RouteStatus['endpoints'];
  /** Where the route's feed ownership stands: `listening` while who owns it is not known (the broker not reached). */
  ownership?: string;
}

type Handler = (response: ServerResponse) => Promise<void> | void;

/** A problem the operator fixes before the worker can start: reported as one line, exit 1, never a stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Listens on `host:port`; rejects (naming the address) when it cannot. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { engine, registry, log, info } = options;
  const host = options.host ?? '127.0.0.1';

  const handlers: Record<string, Handler> = {
    '/healthz': (response) => send(response, 200, 'text/plain; charset=utf-8', 'ok\n'),
    '/readyz': (response) => {
      const held = options.held ?? (() => false);
      const ready = engine.ready(held);
      const body = ready ? { ready } : { ready, ...whyNotReady(engine.status().filter((route) => !held(route.id)), options.roleOf) };
      sendJson(response, ready ? 200 : 503, body);
    },
    '/status': (response) => {
      const body = { version: info.version, host: info.host, region: info.region, uptimeSeconds: Math.round(process.uptime()), routes: engine.status(), ...(options.amqpConnections ? { amqpConnections: options.amqpConnections() } : {}), ...(options.ownership ? { ownership: options.ownership() } : {}), ...(options.moderation ? { moderation: options.moderation() } : {}), ...(options.networks ? { networks: options.networks() } : {}) };
      sendJson(response, 200, body);
    },
    '/metrics': async (response) => send(response, 200, registry.contentType, await registry.metrics()),
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      log.error({ err: error.message, path: request.url }, 'ops endpoint failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://ops').pathname;
    const handler = handlers[path];
    if (!handler) return send(response, 404, 'text/plain; charset=utf-8', `not found; try ${Object.keys(handlers).join(', ')}\n`);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    await handler(response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EADDRINUSE' ? ': another program (another worker?) listens there; set ops.port (LIVEWALL_OPS_PORT in the demo config) to a free port' : '';
      reject(new StartupError(`ops server cannot listen on ${host}:${options.port}: ${error.message}${hint}`));
    });
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port }, `ops endpoints on http://${host}:${port}/ (healthz, readyz, status, metrics)`);

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The routes that are not started with every endpoint connected, and why; or that there are no routes at all. */
function whyNotReady(routes: RouteStatus[], roleOf?: (routeId: string) => string | undefined): { reason?: string; routes: RouteNotReady[] } {
  if (routes.length === 0) return { reason: 'no routes', routes: [] };
  const notReady = routes
    .map((route) => ({ route, endpoints: route.endpoints.filter((endpoint) => !endpoint.ready) }))
    .filter(({ route, endpoints }) => route.state !== 'started' || endpoints.length > 0)
    .map(({ route, endpoints }) => {
      const entry: RouteNotReady = { id: route.id, state: route.state, endpoints };
      if (route.lastError) entry.lastError = route.lastError;
      if (route.nextRetryAt) entry.nextRetryAt = route.nextRetryAt;
      const role = roleOf?.(route.id);
      if (role) entry.ownership = role;
      return entry;
    });
  return { routes: notReady };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  // Node leaves the body out of the response to a HEAD request by itself.
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(body);
}
