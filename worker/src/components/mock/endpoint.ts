import type { Exchange, Sink } from '../../engine/types.js';

/** What a test does to an exchange as it arrives: throw (or reject) to fail the send, or take time to slow it. */
export type ReceiveHook = (exchange: Exchange) => unknown;

interface Emit {
  body: unknown;
  headers: Record<string, unknown> | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A running `from: mock:NAME` consumer: where emits go, and how its run is finished. */
interface Attached {
  sink: Sink;
  live: boolean;
  finish: (error?: Error) => void;
}

/**
 * A named mock endpoint, after Camel's MockEndpoint: a `to` records what reaches it and can be told to fail or
 * lag; a `from` lets the test push messages into the route. Get one with `mockEndpoint(name)`.
 */
export class MockEndpoint {
  /** Exchanges whose send succeeded, in arrival order, each with a copy of its headers as they were on arrival. */
  readonly received: Exchange[] = [];
  /** Every send, including those that failed. */
  attempts = 0;
  private expected = 0;
  private hook: ReceiveHook | undefined;
  private readonly arrivalWatchers = new Set<() => void>();
  private attached: Attached | undefined;
  /** Emits made while no consumer runs, offered once one does. */
  private readonly waitingEmits: Emit[] = [];
  /** Serialises offers to a pausable route: each waits for the previous one to be taken. */
  private offering: Promise<void> = Promise.resolve();
  private ended: { error?: Error } | undefined;

  constructor(readonly name: string) {}

  bodies(): unknown[] {
    return this.received.map((exchange) => exchange.body);
  }

  /** Sets how many exchanges `assertIsSatisfied` waits for. */
  expectedCount(count: number): void {
    this.expected = count;
  }

  /** Resolves once at least the expected count has arrived; rejects after `timeoutMs`, saying what did arrive. */
  assertIsSatisfied(timeoutMs = 5000): Promise<void> {
    const expected = this.expected;
    if (this.received.length >= expected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.received.length < expected) return;
        clearTimeout(timer);
        this.arrivalWatchers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.arrivalWatchers.delete(check);
        reject(new Error(`mock:${this.name} expected at least ${expected} exchanges within ${timeoutMs} ms, but ${this.received.length} arrived${this.summary()}`));
      }, timeoutMs);
      this.arrivalWatchers.add(check);
    });
  }

  /** Runs `hook` on each exchange a producer sends here, before it counts as received. */
  whenAnyExchangeReceived(hook: ReceiveHook): void {
    this.hook = hook;
  }

  /** Forgets what arrived, the expectation, the hook and an ended consumer; emits still waiting are refused. */
  reset(): void {
    this.received.length = 0;
    this.attempts = 0;
    this.expected = 0;
    this.hook = undefined;
    this.ended = undefined;
    for (const emit of this.waitingEmits.splice(0)) emit.reject(new Error(`mock:${this.name} was reset before this emit was offered`));
  }

  /**
   * Pushes a message into the route reading `from: mock:NAME`; resolves when the route took it (the promise of
   * `sink.offer`). Emits made before the route's consumer runs wait for it, in order.
   */
  emit(body: unknown, headers?: Record<string, unknown>): Promise<void> {
    if (this.ended) return Promise.reject(new Error(`mock:${this.name} has ended: nothing more can be emitted`));
    return new Promise((resolve, reject) => {
      const emit = { body, headers, resolve, reject };
      if (this.attached) this.offer(this.attached, emit);
      else this.waitingEmits.push(emit);
    });
  }

  /** Finishes the consumer's run: the source has ended. */
  end(): void {
    this.ended ??= {};
    this.attached?.finish();
  }

  /** Makes the consumer's run throw `error`, as a source that failed (the route retries it). */
  fail(error: Error): void {
    this.ended ??= { error };
    this.attached?.finish(error);
  }

  /** For the mock producer: one send arriving. */
  async receive(exchange: Exchange): Promise<void> {
    await this.hook?.(exchange);
    this.received.push({ id: exchange.id, body: exchange.body, headers: { ...exchange.headers } });
    for (const watcher of [...this.arrivalWatchers]) watcher();
  }

  /** For the mock consumer: serves emits into `sink` until `end()`, `fail()` or `signal`. */
  serve(sink: Sink, live: boolean, signal: AbortSignal): Promise<void> {
    if (this.ended) return this.ended.error ? Promise.reject(this.ended.error) : Promise.resolve();
    if (this.attached) return Promise.reject(new Error(`mock:${this.name} already has a running consumer`));
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        signal.removeEventListener('abort', onAbort);
        this.attached = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onAbort = (): void => finish();
      const attached: Attached = { sink, live, finish };
      this.attached = attached;
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) return finish();
      for (const emit of this.waitingEmits.splice(0)) this.offer(attached, emit);
    });
  }

  private offer({ sink, live }: Attached, emit: Emit): void {
    const offered = live ? sink.offer(emit.body, emit.headers) : this.offering.then(() => sink.offer(emit.body, emit.headers));
    if (!live) this.offering = offered.catch(() => undefined);
    offered.then(emit.resolve, emit.reject);
  }

  private summary(): string {
    if (this.received.length === 0) return '';
    const shown = this.received.slice(0, 10).map((exchange) => {
      const json = JSON.stringify(exchange.body) ?? String(exchange.body);
      return json.length > 80 ? `${json.slice(0, 80)}…` : json;
    });
    return `: ${shown.join(', ')}${this.received.length > 10 ? `, and ${this.received.length - 10} more` : ''}`;
  }
}

const registry = new Map<string, MockEndpoint>();

/** The mock endpoint called `name`, made on first use: tests and `mock:NAME` URIs share it. */
export function mockEndpoint(name: string): MockEndpoint {
  let endpoint = registry.get(name);
  if (!endpoint) {
    endpoint = new MockEndpoint(name);
    registry.set(name, endpoint);
  }
  return endpoint;
}

/** Forgets every mock endpoint (call it between tests). */
export function resetMocks(): void {
  for (const endpoint of registry.values()) endpoint.reset();
  registry.clear();
}
