import { EventEmitter } from 'node:events';
import { redeliveryDelay, type RouteDefinition } from './definition.js';
import { BoundedQueue } from './queue.js';
import { redactUri } from './uri.js';
import { Settlement } from './settlement.js';
import type { ComponentRegistry, EndpointEnvironment } from './registry.js';
import { MemoryIdempotentRepository, type IdempotentRepositories } from './idempotent.js';
import { compileSteps, newExchange, producerUris, type Next } from './steps.js';
import type { Clock, Consumer, Exchange, Producer } from './types.js';

export type RouteState = 'stopped' | 'starting' | 'started' | 'suspended' | 'stopping' | 'completed' | 'failed';

export interface RouteCounters {
  /** Taken from the source into the queue. */
  received: number;
  /** Reached the end of the steps (each part of a split counts). */
  completed: number;
  /** Attempts that failed and were tried again. */
  redelivered: number;
  /** Failed every attempt; sent to the dead-letter endpoint when there is one. */
  failed: number;
  deadLettered: number;
  /** Received and then dropped, by reason: filter names, queue-full, duplicate, throttled. */
  dropped: Record<string, number>;
  /**
   * What the source refused before it became an exchange, by reason: malformed data (`not-json`), a stream's own
   * error messages (`stream-error:<problem>`). Never received, so in none of the counters above: for a route without
   * a split, received = completed + Σ dropped + failed + in flight + queued.
   */
  rejected: Record<string, number>;
}

export interface RouteStatus {
  id: string;
  state: RouteState;
  from: string;
  to: string[];
  counters: RouteCounters;
  inFlight: number;
  queueDepth: number;
  queueCapacity: number;
  lastError?: { message: string; at: string };
  nextRetryAt?: string;
  endpoints: { uri: string; ready: boolean; stats?: Readonly<Record<string, number>> }[];
  /** The source's own figures, when it keeps any (a live source's reconnects). */
  source?: { uri: string; stats: Readonly<Record<string, number>> };
}

/** Whether `work` settled within `ms`; the timer is cancelled either way, so it never holds the process open. */
export async function settledWithin(work: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  const cancel = new AbortController();
  const settled = work.then(
    () => true,
    () => true,
  );
  const timedOut = clock.sleep(Math.max(0, ms), cancel.signal).then(() => false);
  const result = await Promise.race([settled, timedOut]);
  cancel.abort();
  return result;
}

/** One attempt's exchange: as the source gave it, since steps may have replaced the body and headers of an earlier one. */
function attemptOf(original: Exchange): Exchange {
  return { id: original.id, body: original.body, headers: { ...original.headers }, settlement: original.settlement };
}

/** What a source's offer returns when it need not wait: one settled promise for all. */
const DONE: Promise<void> = Promise.resolve();

/** Backoff for supervised start and a failing source: 1 s doubling to 30 s. */
const RESTART_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000, 30_000];

/**
 * One running route: its source feeds a bounded queue; up to `concurrency` exchanges at once are taken from it and
 * run through the steps, with redelivery and a dead-letter endpoint for failures. Emits `state` on each state change and
 * `sent` ({ uri, ms }) for each completed send.
 */
export class Route extends EventEmitter {
  private state: RouteState = 'stopped';
  readonly counters: RouteCounters = { received: 0, completed: 0, redelivered: 0, failed: 0, deadLettered: 0, dropped: {}, rejected: {} };
  private queue: BoundedQueue<Exchange>;
  private readonly consumer: Consumer;
  private readonly producers = new Map<string, Producer>();
  private readonly deadLetter?: Producer;
  private readonly pipeline: Next;
  private inFlight = 0;
  private lastError?: { message: string; at: string };
  private nextRetryAt?: number;
  private stopping = new AbortController();
  private suspended = false;
  /**
   * While suspended: how many more exchanges may still be taken from the queue and held until resumed (the slots
   * that were free when the route was suspended, as workers already waiting on the queue would have taken them),
   * and those held.
   */
  private holdRoom = 0;
  private held: Exchange[] = [];
  /** Whether `fill` is running: a step that finishes at once calls it again, and the running loop goes on instead. */
  private filling = false;
  /** Resolves once the queue is closed and empty and nothing is in flight (what stop and a finished source wait for). */
  private drained: Promise<void> = Promise.resolve();
  private onDrained: () => void = () => undefined;
  private source?: Promise<void>;

  constructor(
    readonly definition: RouteDefinition,
    registry: ComponentRegistry,
    private readonly environment: EndpointEnvironment,
  ) {
    super();
    this.queue = new BoundedQueue(definition.queue.capacity, definition.queue.dropPolicy);
    const routeEnvironment = { ...environment, log: environment.log.child({ route: definition.id }) };
    this.consumer = registry.consumer(definition.from, routeEnvironment);
    for (const uri of producerUris(definition.steps)) this.producers.set(uri, registry.producer(uri, routeEnvironment));
    if (definition.deadLetter) this.deadLetter = registry.producer(definition.deadLetter, routeEnvironment);
    this.pipeline = compileSteps(
      definition.steps,
      {
        clock: environment.clock,
        producer: (uri) => this.producers.get(uri) as Producer,
        drop: (reason) => this.drop(reason),
        sent: (uri, ms) => this.emit('sent', { route: this.id, uri: this.redacted(uri), ms }),
        signal: this.stopping.signal,
        // Whoever runs the engine may keep the repositories (by `<route id>/<step name>`); else each step has its own.
        repository: (name, window) => (environment.settings.idempotent as IdempotentRepositories | undefined)?.repository(`${definition.id}/${name}`, window) ?? new MemoryIdempotentRepository(window),
      },
      // Reaching the end of the steps is what `completed` counts: a filtered exchange never gets here.
      () => {
        this.counters.completed += 1;
      },
    );
  }

  get id(): string {
    return this.definition.id;
  }

  /** Each producer URI with its secrets masked, worked out once rather than for every `sent` event. */
  private readonly redactedUris = new Map<string, string>();

  private redacted(uri: string): string {
    let redacted = this.redactedUris.get(uri);
    if (redacted === undefined) this.redactedUris.set(uri, (redacted = redactUri(uri)));
    return redacted;
  }

  /** Starts the producers (retrying with backoff until they connect), then the source. Resolves once started. */
  async start(): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'completed' && this.state !== 'failed') return;
    this.stopping = new AbortController();
    this.queue = new BoundedQueue(this.definition.queue.capacity, this.definition.queue.dropPolicy);
    this.setState('starting');
    const producers = [...this.producers.values(), ...(this.deadLetter ? [this.deadLetter] : [])];
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await Promise.all(producers.map((producer) => producer.start()));
        this.nextRetryAt = undefined;
        break;
      } catch (error) {
        this.retryLater(error, attempt, 'cannot start its endpoints');
        await this.environment.clock.sleep((this.nextRetryAt as number) - this.environment.clock.now(), this.stopping.signal);
      }
    }
    if (this.stopping.signal.aborted) return;
    this.drained = new Promise((resolve) => (this.onDrained = resolve));
    this.fill();
    this.source = this.runSource();
    this.setState('started');
  }

  /** Stops taking from the queue; a pausable source then waits, a live one's overflow is dropped. */
  suspend(): void {
    if (this.state !== 'started') return;
    this.suspended = true;
    this.holdRoom = this.definition.concurrency - this.inFlight;
    this.setState('suspended');
  }

  resume(): void {
    if (this.state !== 'suspended') return;
    this.resume_();
    this.setState('started');
  }

  /**
   * Stops the source, finishes what was taken from it (queued and in flight) until `timeoutMs` passes, then
   * stops the producers. Resolves with how many exchanges were abandoned.
   */
  async stop(timeoutMs: number): Promise<number> {
    if (this.state === 'stopped' || this.state === 'stopping') return 0;
    const deadline = this.environment.clock.now() + timeoutMs;
    this.setState('stopping');
    this.stopping.abort();
    this.resume_();
    this.queue.close();
    // The source has the same deadline as the exchanges in flight: one that already ended is itself waiting for them.
    const drained = await settledWithin(Promise.all([this.source, this.drained]), deadline - this.environment.clock.now(), this.environment.clock);
    let abandoned = drained ? 0 : this.queue.drain().length + this.inFlight;
    const remaining = Math.max(0, deadline - this.environment.clock.now());
    const producers = [...this.producers.values(), ...(this.deadLetter ? [this.deadLetter] : [])];
    const producerAbandoned = await Promise.all(producers.map((producer) => producer.stop(remaining)));
    // What a producer abandoned was in flight in a worker too: count the larger of the two views.
    abandoned = Math.max(abandoned, producerAbandoned.reduce((sum, count) => sum + count, 0));
    this.setState('stopped');
    return abandoned;
  }

  /** True once started with every endpoint ready. */
  ready(): boolean {
    return this.state === 'started' && [...this.producers.values()].every((producer) => producer.ready());
  }

  status(): RouteStatus {
    const status: RouteStatus = {
      id: this.id,
      state: this.state,
      from: redactUri(this.definition.from),
      to: [...this.producers.keys()].map(redactUri),
      counters: { ...this.counters, dropped: { ...this.counters.dropped }, rejected: { ...this.counters.rejected } },
      inFlight: this.inFlight,
      queueDepth: this.queue.depth,
      queueCapacity: this.queue.capacity,
      endpoints: [...this.producers].map(([raw, producer]) => {
        const uri = redactUri(raw);
        const stats = producer.stats?.();
        return stats ? { uri, ready: producer.ready(), stats } : { uri, ready: producer.ready() };
      }),
    };
    const sourceStats = this.consumer.stats?.();
    if (sourceStats) status.source = { uri: status.from, stats: sourceStats };
    if (this.lastError) status.lastError = this.lastError;
    if (this.nextRetryAt !== undefined) status.nextRetryAt = new Date(this.nextRetryAt).toISOString();
    return status;
  }

  private resume_(): void {
    if (!this.suspended) return;
    this.suspended = false;
    // What was taken while suspended goes first, in the order taken (it is in flight already).
    for (const exchange of this.held.splice(0)) this.run(exchange);
    this.fill();
  }

  private setState(state: RouteState): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('state', { route: this.id, state, previous });
  }

  private drop(reason: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
  }

  private retryLater(error: unknown, attempt: number, what: string): void {
    const delay = RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)] as number;
    this.lastError = { message: `${what}: ${(error as Error).message ?? String(error)}`, at: new Date(this.environment.clock.now()).toISOString() };
    this.nextRetryAt = this.environment.clock.now() + delay;
    this.emit('retry', { route: this.id, error: this.lastError.message, delayMs: delay });
  }

  /** Runs the source; restarts it with backoff when it fails, until the route stops. */
  private async runSource(): Promise<void> {
    const sink = {
      tryOffer: (body: unknown, headers: Record<string, unknown> = {}, settled?: () => void): boolean => {
        if (this.consumer.live) {
          sink.offer(body, headers, settled);
          return true;
        }
        if (this.stopping.signal.aborted) return true;
        const exchange = newExchange(body, headers);
        if (settled) exchange.settlement = new Settlement(settled);
        if (!this.queue.tryPut(exchange)) return false;
        this.counters.received += 1;
        return true;
      },
      // Not async: a pausable source's offer that finds room (the common case) costs no promise of its own.
      offer: (body: unknown, headers: Record<string, unknown> = {}, settled?: () => void): Promise<void> => {
        const exchange = newExchange(body, headers);
        if (settled) exchange.settlement = new Settlement(settled);
        if (this.consumer.live) {
          this.counters.received += 1;
          const { dropped } = this.queue.offer(exchange);
          if (dropped) {
            this.drop('queue-full');
            // Dropped by policy is dealt with (and counted); refused by a stopping route is not.
            if (!this.stopping.signal.aborted) dropped.settlement?.release();
          }
          return DONE;
        }
        if (this.stopping.signal.aborted) return DONE;
        if (this.queue.tryPut(exchange)) {
          this.counters.received += 1;
          return DONE;
        }
        return this.queue.put(exchange).then(() => {
          if (!this.stopping.signal.aborted) this.counters.received += 1;
        });
      },
      reject: (reason: string) => {
        this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
      },
    };
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.consumer.run(sink, this.stopping.signal);
        if (!this.stopping.signal.aborted) {
          // The source ended (a replay without loop): finish the queue, then the route is complete.
          this.queue.close();
          await this.drained;
          if (!this.stopping.signal.aborted) this.setState('completed');
        }
        return;
      } catch (error) {
        this.retryLater(error, attempt, 'source failed');
        await this.environment.clock.sleep((this.nextRetryAt as number) - this.environment.clock.now(), this.stopping.signal);
        this.nextRetryAt = undefined;
      }
    }
  }

  /**
   * Starts exchanges from the queue while fewer than `concurrency` are in flight; an exchange that finishes starts
   * the next, and with the queue empty the queue calls this again when an exchange arrives. No worker waits on a
   * promise per exchange: steps that never wait (a source route handing posts to a hub with room) run within the
   * source's offer, and an exchange that waits (a publish) costs one `then` here.
   */
  private fill(): void {
    if (this.filling) return;
    this.filling = true;
    try {
      const { concurrency } = this.definition;
      while (this.inFlight < concurrency) {
        if (this.suspended) {
          // As a worker that was already waiting on the queue: it takes the next exchange and holds it until resumed.
          if (this.holdRoom === 0) break;
          const exchange = this.queue.poll();
          if (exchange === undefined) break;
          this.holdRoom -= 1;
          this.inFlight += 1;
          this.held.push(exchange);
          continue;
        }
        const exchange = this.queue.poll();
        if (exchange === undefined) break;
        this.inFlight += 1;
        this.run(exchange);
      }
    } finally {
      this.filling = false;
    }
    if (this.inFlight === 0 && this.queue.finished) this.onDrained();
    else if (this.inFlight < this.definition.concurrency) this.queue.whenAdded(this.filler);
  }

  private readonly filler = (): void => this.fill();

  /**
   * One exchange (counted in flight) through the steps, with redelivery, then the dead-letter endpoint. The first
   * attempt runs as far as the steps go without waiting.
   */
  private run(original: Exchange): void {
    let done: void | Promise<void>;
    try {
      done = this.pipeline(attemptOf(original));
    } catch (error) {
      void this.redeliver(original, error, 1).then((dealtWith) => this.finish(original, dealtWith));
      return;
    }
    if (done === undefined) {
      this.finish(original, true);
      return;
    }
    done.then(
      () => this.finish(original, true),
      (error: unknown) => this.redeliver(original, error, 1).then((dealtWith) => this.finish(original, dealtWith)),
    );
  }

  /** An exchange is done with: released to its source unless a stop cut it short (false), and the next one started. */
  private finish(exchange: Exchange, dealtWith: boolean): void {
    this.inFlight -= 1;
    if (dealtWith) exchange.settlement?.release();
    this.fill();
  }

  /** After attempt `failed` failed with `error`: the attempts the policy has left, then the dead-letter endpoint. */
  private async redeliver(original: Exchange, error: unknown, failed: number): Promise<boolean> {
    const policy = this.definition.redelivery;
    for (let attempt = failed; ; ) {
      if (attempt < policy.attempts && !this.stopping.signal.aborted) {
        this.counters.redelivered += 1;
        await this.environment.clock.sleep(redeliveryDelay(policy, attempt), this.stopping.signal);
        if (!this.stopping.signal.aborted) {
          attempt += 1;
          try {
            const done = this.pipeline(attemptOf(original));
            if (done !== undefined) await done;
            return true;
          } catch (again) {
            error = again;
            continue;
          }
        }
      }
      // A failure because the route is stopping is not the message's fault: its source must offer it again.
      const dealtWith = !this.stopping.signal.aborted;
      await this.giveUp(original, error as Error, attempt);
      return dealtWith;
    }
  }

  private async giveUp(exchange: Exchange, error: Error, attempts: number): Promise<void> {
    this.counters.failed += 1;
    this.lastError = { message: error.message, at: new Date(this.environment.clock.now()).toISOString() };
    if (!this.deadLetter) return;
    const dead = newExchange(exchange.body, { ...exchange.headers, error: error.message, attempts, route: this.id, failedAt: this.lastError.at });
    try {
      await this.deadLetter.send(dead);
      this.counters.deadLettered += 1;
    } catch (deadError) {
      this.drop('dead-letter-failed');
      this.emit('retry', { route: this.id, error: `dead-letter endpoint failed: ${(deadError as Error).message}`, delayMs: 0 });
    }
  }
}
