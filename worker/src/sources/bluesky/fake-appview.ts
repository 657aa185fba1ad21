/**
 * A Bluesky AppView just big enough for tests of the appview: component: an HTTP server on 127.0.0.1 that answers
 * `GET /xrpc/app.bsky.actor.getProfiles?actors=A&actors=B` as the public AppView does — `{profiles: [...]}` in its
 * profileViewDetailed shape, actors it does not know simply absent, more than 25 actors refused with 400, and the
 * rate-limit headers (`ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` in unix seconds,
 * `ratelimit-policy`) on every answer. On command it answers 429 until a reset time, fails with a 5xx, or holds
 * answers back until the test releases them (a slow AppView). It records the actors of every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A profile as getProfiles answers it (app.bsky.actor.defs#profileViewDetailed). */
export type AppviewProfile = { did: string; handle: string; displayName?: string; [field: string]: unknown };

/** A real-looking profile of `did`: `handle` (`handle.invalid` for one that failed verification) and `displayName`. */
export function appviewProfile(did: string, handle: string, displayName?: string): AppviewProfile {
  return {
    did,
    handle,
    ...(displayName === undefined ? {} : { displayName }),
    avatar: `https://cdn.bsky.app/img/avatar/plain/${did}/bafkreihagr2cmvl2jt4mgx3sppwe2it3fwolkrbtjrhcnwjk4jdijhsoze@jpeg`,
    associated: { lists: 0, feedgens: 0, starterPacks: 0, labeler: false },
    labels: [],
    createdAt: '2023-04-12T04:53:57.057Z',
    description: 'Cats, mostly.',
    indexedAt: '2024-09-09T19:46:02.102Z',
    followersCount: 1234,
    followsCount: 56,
    postsCount: 789,
  };
}

const LIMIT = 3000;

export class FakeAppview {
  /** The profiles it knows, by DID. */
  readonly profiles = new Map<string, AppviewProfile>();
  /** The actors of every getProfiles request, in order. */
  readonly requests: string[][] = [];
  /** Set: every request is answered 429 until this unix time (seconds), which `ratelimit-reset` says. */
  rateLimitedUntil: number | undefined;
  /** Set: the next requests are answered with this status (500, 502, 503). */
  failWith: number | undefined;
  /** While true, answers wait for `release()`. */
  holding = false;
  private readonly held: (() => void)[] = [];
  private readonly server: Server;
  private readonly requestWatchers: { count: number; resolve: () => void }[] = [];

  constructor(profiles: readonly AppviewProfile[] = []) {
    for (const profile of profiles) this.profiles.set(profile.did, profile);
    this.server = createServer((request, response) => this.answer(request, response));
  }

  /** Starts listening; resolves with the base URL to give the component (`http://127.0.0.1:PORT`). */
  listen(): Promise<string> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}`)));
  }

  /** Sends the answers held back so far, and answers at once from now on. */
  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  /** Resolves once `count` requests have come. */
  whenRequested(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.requestWatchers.push({ count, resolve }));
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET' || url.pathname !== '/xrpc/app.bsky.actor.getProfiles') {
      json(response, 404, { error: 'MethodNotImplemented', message: 'Method Not Implemented' });
      return;
    }
    const actors = url.searchParams.getAll('actors');
    this.requests.push(actors);
    for (const watcher of this.requestWatchers.filter((w) => this.requests.length >= w.count)) {
      this.requestWatchers.splice(this.requestWatchers.indexOf(watcher), 1);
      watcher.resolve();
    }
    const now = Math.floor(Date.now() / 1000);
    if (this.rateLimitedUntil !== undefined && now < this.rateLimitedUntil) {
      json(response, 429, { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }, rateLimitHeaders(0, this.rateLimitedUntil));
      return;
    }
    const send = (): void => {
      const headers = rateLimitHeaders(LIMIT - this.requests.length, now + 300);
      if (this.failWith !== undefined) json(response, this.failWith, { error: 'InternalServerError', message: 'Internal Server Error' }, headers);
      else if (actors.length === 0) json(response, 400, { error: 'InvalidRequest', message: 'Error: Params must have the property "actors"' }, headers);
      else if (actors.length > 25) json(response, 400, { error: 'InvalidRequest', message: 'Error: params/actors must NOT have more than 25 items' }, headers);
      else json(response, 200, { profiles: actors.flatMap((actor) => this.profiles.get(actor) ?? []) }, headers);
    };
    if (this.holding) this.held.push(send);
    else send();
  }
}

function rateLimitHeaders(remaining: number, reset: number): Record<string, string> {
  return { 'ratelimit-limit': String(LIMIT), 'ratelimit-remaining': String(remaining), 'ratelimit-reset': String(reset), 'ratelimit-policy': `${LIMIT};w=300` };
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}
