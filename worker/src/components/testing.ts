/**
 * Helpers for component tests: build an endpoint context exactly as the engine does (parseUri, then
 * resolveOptions), a clock the test moves by hand, a logger that keeps its lines, and a sink that records offers.
 */
import { parseUri, resolveOptions } from '../engine/uri.js';
import { systemClock, type Component, type EndpointContext, type Logger, type Sink } from '../engine/types.js';

/** The context the engine would hand `component` for `raw`; throws the engine's UriError for a bad URI. */
export function endpointContext(component: Component, raw: string, overrides: Partial<Omit<EndpointContext, 'uri' | 'options'>> = {}): EndpointContext {
  const uri = parseUri(raw);
  if (uri.scheme !== component.scheme) throw new Error(`${raw} is not a ${component.scheme}: URI`);
  return { uri, options: resolveOptions(component, uri), baseDir: process.cwd(), clock: systemClock, log: testLogger(), settings: {}, ...overrides };
}

export { fakeClock, settle, type FakeClock } from '../engine/testing.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string | undefined;
  /** The child bindings merged with the line's own object. */
  fields: Record<string, unknown>;
}

export interface TestLogger extends Logger {
  /** Every line written through this logger or any of its children. */
  readonly lines: LogLine[];
  /** Resolves with the first line (already written or still to come) that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine>;
}

export function testLogger(): TestLogger {
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  function make(bindings: Record<string, unknown>): TestLogger {
    const write = (level: LogLine['level']) => (object: object, message?: string) => {
      const line: LogLine = { level, message, fields: { ...bindings, ...object } };
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    };
    return {
      lines,
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
      waitFor(match) {
        const line = lines.find(match);
        if (line) return Promise.resolve(line);
        return new Promise((resolve) => waiters.push({ match, resolve }));
      },
    };
  }
  return make({});
}

export interface RecordingSink extends Sink {
  offers: { body: unknown; headers: Record<string, unknown> | undefined }[];
  rejects: { reason: string; detail: string | undefined }[];
  /** Resolves once at least `count` offers have been made, or once one body `count` accepts has been offered. */
  offered(count: number | ((body: unknown) => boolean)): Promise<void>;
  /** With `holdSettlement`: the `settled` callbacks of the offers, in order, for the test to call. */
  held: (() => void)[];
}

/**
 * A sink that records what it is given. With `gated`, each offer's promise stays open until `release()` (the
 * route's queue being full), so a test can see whether a consumer waits for room.
 */
export function recordingSink(options: { gated?: boolean; holdSettlement?: boolean } = {}): RecordingSink & { release(): void; readonly waiting: number } {
  const offers: RecordingSink['offers'] = [];
  const held: (() => void)[] = [];
  const rejects: RecordingSink['rejects'] = [];
  const gates: (() => void)[] = [];
  const watchers: { done: () => boolean; resolve: () => void }[] = [];
  return {
    offers,
    rejects,
    held,
    get waiting() {
      return gates.length;
    },
    offer(body, headers, settled) {
      offers.push({ body, headers });
      // Unless held, the route deals with each message at once (as a filter or an outbox put would).
      if (settled) {
        if (options.holdSettlement) held.push(settled);
        else settled();
      }
      for (const watcher of watchers.filter((w) => w.done())) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
      if (!options.gated) return Promise.resolve();
      return new Promise((resolve) => gates.push(resolve));
    },
    reject(reason, detail) {
      rejects.push({ reason, detail });
    },
    offered(count) {
      const done = typeof count === 'number' ? () => offers.length >= count : () => offers.some((offer) => count(offer.body));
      if (done()) return Promise.resolve();
      return new Promise((resolve) => watchers.push({ done, resolve }));
    },
    release() {
      gates.shift()?.();
    },
  };
}
