/**
 * Helpers for the engine's own tests: a clock the test moves by hand, and a `test:` component whose sources and
 * producers the test drives and inspects by name. Nothing outside tests imports this file.
 */
import { pino } from 'pino';
import { Engine } from './engine.js';
import { ComponentRegistry } from './registry.js';
import type { Clock, Component, Consumer, Exchange, Producer, Sink } from './types.js';

/** Lets every promise callback that is ready run before the test goes on. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface FakeClock extends Clock {
  /** Moves time on by `ms`, waking due sleeps in time order and letting each one's work run before the next. */
  advance(ms: number): Promise<void>;
  /** How many sleeps are waiting for time to move. */
  readonly sleeping: number;
  /**
   * Resolves once at least `count` sleeps (of those `which` accepts, by length) are waiting: how a test knows the
   * code under test got there.
   */
  whenSleeping(count?: number, which?: (ms: number) => boolean): Promise<void>;
  /** The length of every sleep asked for so far, in order. */
  readonly requested: number[];
}

interface Sleeper {
  ms: number;
  due: number;
  order: number;
  wake: () => void;
}

/** The one fake clock of the worker's tests (engine, components, ops). */
export function fakeClock(start = 0): FakeClock {
  let now = start;
  let order = 0;
  const sleepers = new Set<Sleeper>();
  const watchers: { count: number; which: (ms: number) => boolean; resolve: () => void }[] = [];
  const requested: number[] = [];
  const waitingFor = (which: (ms: number) => boolean): number => [...sleepers].filter((sleeper) => which(sleeper.ms)).length;
  function notify(): void {
    for (const watcher of watchers.filter((w) => waitingFor(w.which) >= w.count)) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
  }
  return {
    now: () => now,
    requested,
    get sleeping() {
      return sleepers.size;
    },
    sleep(ms, signal) {
      requested.push(ms);
      // Like setTimeout: a sleep of nothing still lets the caller's turn end, but needs no time to pass.
      if (signal?.aborted || ms <= 0) return settle();
      return new Promise((resolve) => {
        const sleeper: Sleeper = { ms, due: now + ms, order: order++, wake };
        function wake(): void {
          sleepers.delete(sleeper);
          signal?.removeEventListener('abort', wake);
          resolve();
        }
        sleepers.add(sleeper);
        signal?.addEventListener('abort', wake, { once: true });
        notify();
      });
    },
    whenSleeping(count = 1, which = () => true) {
      if (waitingFor(which) >= count) return Promise.resolve();
      return new Promise((resolve) => watchers.push({ count, which, resolve }));
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await settle();
        const next = [...sleepers].filter((s) => s.due <= target).sort((a, b) => a.due - b.due || a.order - b.order)[0];
        if (!next) break;
        now = Math.max(now, next.due);
        next.wake();
      }
      now = target;
      await settle();
    },
  };
}

/** A source the test feeds: it offers what `emit` gave it, in order, until `end()`; `fail()` makes its run throw. */
export class TestSource implements Consumer {
  live = false;
  /** Offers whose promise resolved: the route took them, or (pausable) there was room. */
  accepted = 0;
  /** Times the route ran it: a failed source is run again. */
  runs = 0;
  /** Bodies the route has dealt with for good (Sink.offer's `settled`), in the order it said so. */
  readonly settled: unknown[] = [];
  private readonly backlog: ({ body: unknown; headers?: Record<string, unknown> } | { reject: string })[] = [];
  private offering = false;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;

  emit(body: unknown, headers?: Record<string, unknown>): void {
    this.backlog.push(headers ? { body, headers } : { body });
    this.wake?.();
  }

  /** Has the source skip something as malformed, in turn with what it emits. */
  reject(reason: string): void {
    this.backlog.push({ reject: reason });
    this.wake?.();
  }

  emitAll(bodies: unknown[]): void {
    for (const body of bodies) this.emit(body);
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Makes the run throw `error` at its next turn; what was emitted and not yet offered waits for the next run. */
  fail(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  /** True while an offer waits for the route (a pausable source held back). */
  get waiting(): boolean {
    return this.offering;
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    this.runs += 1;
    for (;;) {
      if (this.failure) {
        const failure = this.failure;
        this.failure = undefined;
        throw failure;
      }
      if (signal.aborted) return;
      const next = this.backlog.shift();
      if (next && 'reject' in next) {
        sink.reject(next.reject);
        continue;
      }
      if (next) {
        this.offering = true;
        const body = next.body;
        await sink.offer(body, next.headers, () => this.settled.push(body));
        this.offering = false;
        this.accepted += 1;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done);
      });
    }
  }
}

/** What a test producer was sent: a snapshot taken at the call, with the fake time it came. */
export interface Sent {
  body: unknown;
  headers: Record<string, unknown>;
  at: number;
}

/** A producer that records every send; the test makes sends fail, wait (`hold`) or starts fail. */
export class TestProducer implements Producer {
  readonly received: Sent[] = [];
  /** Bodies of the sends that resolved. */
  readonly delivered: unknown[] = [];
  /** The next this many sends reject. */
  failNext = 0;
  failAlways = false;
  /** Sends wait until `release()`: a slow far end, or (never released) one that never answers. */
  hold = false;
  /** The next this many `start()` calls reject. */
  startFailures = 0;
  /** Calls to `start()`, the failed ones included. */
  starts = 0;
  stopped = false;
  private started = false;
  private readonly held: (() => void)[] = [];
  private readonly watchers: { count: number; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    private readonly clock: Clock,
  ) {}

  bodies(): unknown[] {
    return this.received.map((sent) => sent.body);
  }

  /** Sends waiting on `hold`. */
  get pending(): number {
    return this.held.length;
  }

  /** Resolves once at least `count` sends were made. */
  whenReceived(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ count, resolve }));
  }

  /** Lets the oldest `count` held sends resolve. */
  release(count = Infinity): void {
    for (const done of this.held.splice(0, count)) done();
  }

  async start(): Promise<void> {
    this.starts += 1;
    if (this.startFailures > 0) {
      this.startFailures -= 1;
      throw new Error(`${this.name} refused the connection`);
    }
    this.started = true;
  }

  async send(exchange: Exchange): Promise<void> {
    this.received.push({ body: exchange.body, headers: { ...exchange.headers }, at: this.clock.now() });
    for (const watcher of this.watchers.filter((w) => this.received.length >= w.count)) {
      this.watchers.splice(this.watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
    if (this.failAlways || this.failNext > 0) {
      this.failNext = Math.max(0, this.failNext - 1);
      throw new Error(`${this.name} refused ${JSON.stringify(exchange.body)}`);
    }
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    this.delivered.push(exchange.body);
  }

  ready(): boolean {
    return this.started && !this.stopped;
  }

  async stop(): Promise<number> {
    this.stopped = true;
    return this.held.length;
  }
}

/**
 * `test:NAME` endpoints, one source and one producer per name, made when a route asks for them (producers also
 * when the test does, to set them up first). `test:NAME?live=true` is a live source.
 */
export function testEndpoints(clock: Clock): { component: Component; source(name: string): TestSource; producer(name: string): TestProducer } {
  const sources = new Map<string, TestSource>();
  const producers = new Map<string, TestProducer>();
  const source = (name: string): TestSource => {
    if (!sources.has(name)) sources.set(name, new TestSource());
    return sources.get(name) as TestSource;
  };
  const producer = (name: string): TestProducer => {
    if (!producers.has(name)) producers.set(name, new TestProducer(name, clock));
    return producers.get(name) as TestProducer;
  };
  const component: Component = {
    scheme: 'test',
    doc: 'Sources and producers a test drives by name.',
    options: { live: { type: 'boolean', default: false, doc: 'A live source: never paused; overflow is dropped.' } },
    path: { doc: 'a name', required: true },
    createConsumer(context) {
      const created = source(context.uri.path);
      created.live = context.options.live === true;
      return created;
    },
    createProducer: (context) => producer(context.uri.path),
  };
  return { component, source, producer };
}

/** An engine on a fake clock with the `test:` component, and the handles a test needs. */
export function testEngine(): { clock: FakeClock; engine: Engine; source(name: string): TestSource; producer(name: string): TestProducer } {
  const clock = fakeClock();
  const endpoints = testEndpoints(clock);
  const engine = new Engine(new ComponentRegistry().register(endpoints.component), { baseDir: '.', clock, log: pino({ level: 'silent' }), settings: {} });
  return { clock, engine, source: endpoints.source, producer: endpoints.producer };
}
