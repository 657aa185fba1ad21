/**
 * The engine's vocabulary, after Apache Camel: a Component turns a URI (`scheme:path?options`) into an Endpoint;
 * an Endpoint makes a Consumer (a source a route reads `from`) or a Producer (where it sends `to`); an Exchange
 * travels a Route's steps. The engine imports no protocol library: components do.
 */

import type { Settlement } from './settlement.js';

/** One message on its way through a route. */
export interface Exchange<Body = unknown> {
  /** Unique within the process, for logs and de-duplication keys. */
  readonly id: string;
  body: Body;
  /** Metadata steps and endpoints read and write: `feed`, `messageId`, `receivedAt`, `error`, … */
  headers: Record<string, unknown>;
  /** Set when the source wants to hear that the message was dealt with for good (see settlement.ts). */
  settlement?: Settlement;
}

/** Time, injectable so that pacing, throttling and backoff can be tested on a fake clock. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};

/** A parsed endpoint URI: `replay:samples/x.ndjson?pace=5/s` → scheme `replay`, path `samples/x.ndjson`. */
export interface EndpointUri {
  readonly raw: string;
  readonly scheme: string;
  readonly path: string;
  /** Raw option strings, before the component's schema checks and converts them. */
  readonly options: Readonly<Record<string, string>>;
}

/** One option a component accepts, with its documentation and default: lint, docs and runtime read the same spec. */
export type OptionSpec =
  /** `minLength`: shorter values (the empty string, with 1) are refused. */
  | { type: 'string'; doc: string; default?: string; required?: boolean; minLength?: number }
  | { type: 'integer'; doc: string; default?: number; min?: number; max?: number }
  | { type: 'boolean'; doc: string; default?: boolean }
  /** `500ms`, `10s`, `2m`: milliseconds. */
  | { type: 'duration'; doc: string; default?: string }
  /** `5/s`, `300/min`: per second. */
  | { type: 'rate'; doc: string; default?: string }
  | { type: 'enum'; doc: string; values: readonly string[]; default?: string }
  /** An absolute URL with one of `schemes` (`https`, `http`). */
  | { type: 'url'; doc: string; schemes: readonly string[]; default?: string };

export type OptionsSchema = Readonly<Record<string, OptionSpec>>;

/** Option values after checking: strings, numbers (integer, duration in ms, rate per s) and booleans. */
export type OptionValues = Readonly<Record<string, string | number | boolean | undefined>>;

/** What the engine hands a component to build an endpoint. */
export interface EndpointContext {
  uri: EndpointUri;
  options: OptionValues;
  /** Folder that relative paths in URIs are resolved against (the config file's). */
  baseDir: string;
  clock: Clock;
  log: Logger;
  /** Settings a component needs beyond its URI (broker URL and credentials, image hosts), from the config. */
  settings: Readonly<Record<string, unknown>>;
}

/** Where a consumer hands what it read. */
export interface Sink {
  /**
   * Offers one message to the route. A pausable source awaits the promise: it resolves when the route's queue has
   * room. A live source need not wait: when the queue is full, the route's drop policy applies (and is counted).
   * `settled`, for sources with a cursor, is called once the message is dealt with for good: sent (or in the
   * outbox), filtered out, dead-lettered or dropped — never for a message a stop abandoned.
   */
  offer(body: unknown, headers?: Record<string, unknown>, settled?: () => void): Promise<void>;
  /**
   * Offers one message only if that needs no waiting (a pausable route's queue has room; a live route never waits),
   * and says whether it did: false means nothing was offered, and `offer` is the way. Lets a sender that can go on at
   * once (the hub) skip a promise per message.
   */
  tryOffer?(body: unknown, headers?: Record<string, unknown>, settled?: () => void): boolean;
  /** Counts something the source itself had to skip (malformed input), by a short fixed reason. */
  reject(reason: string, detail?: string): void;
}

export interface Consumer {
  /** Live sources are never paused (live APIs disconnect slow readers); others wait for room. */
  readonly live: boolean;
  /** Reads until the source ends or `signal` aborts. Throwing means the source failed; the route retries it. */
  run(sink: Sink, signal: AbortSignal): Promise<void>;
  /** Figures the source keeps about itself (reconnects), shown in `/status` and `/metrics` as a producer's are. */
  stats?(): Readonly<Record<string, number>>;
}

export interface Producer {
  /** Connects, when there is anything to connect to. Throwing means "not yet": the route retries with backoff. */
  start(): Promise<void>;
  /** Sends one exchange; resolves when the far end has it (for a broker: accepted), rejects when it refused. */
  send(exchange: Exchange): Promise<void>;
  /**
   * Sends as `send` does, but returns nothing when the exchange is already where it goes (no waiting): the `to` step
   * then goes on without a promise. Optional; throwing is failing.
   */
  sendNow?(exchange: Exchange): void | Promise<void>;
  /** True while connected (or when there is nothing to connect); `/readyz` reads this. */
  ready(): boolean;
  /** Figures the producer keeps about itself (reconnects, outcomes), shown in `/status` and `/metrics`. */
  stats?(): Readonly<Record<string, number>>;
  /** Waits up to `timeoutMs` for what is in flight, then closes. Resolves with how many were abandoned. */
  stop(timeoutMs: number): Promise<number>;
}

/** A URI scheme. It registers with its options schema; unknown options are errors. */
export interface Component {
  readonly scheme: string;
  /** One line for docs and lint messages. */
  readonly doc: string;
  readonly options: OptionsSchema;
  /** Whether the path part is required, and what it means (for docs). */
  readonly path?: { doc: string; required: boolean };
  createConsumer?(context: EndpointContext): Consumer;
  createProducer?(context: EndpointContext): Producer;
}

/** The subset of pino's logger the engine and components use. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
