import type { DropPolicy } from './queue.js';
import type { Exchange } from './types.js';

/**
 * Routes as data: what the TypeScript builder and the YAML form both compile to, and what the runtime runs.
 * Functions appear where Camel has expressions; the YAML form names them from a registry.
 */

/** Keeps the exchange when true; a string is a drop, counted under that reason. */
export type Predicate = (exchange: Exchange) => boolean | string;
export type Transform = (exchange: Exchange) => unknown;
export type Splitter = (exchange: Exchange) => Iterable<unknown>;
export type KeyExpression = (exchange: Exchange) => string;

export type StepDefinition =
  | { kind: 'filter'; name: string; predicate: Predicate }
  | { kind: 'transform'; name: string; fn: Transform }
  | { kind: 'split'; name: string; fn: Splitter }
  | { kind: 'choice'; when: { name: string; predicate: Predicate; steps: StepDefinition[] }[]; otherwise: StepDefinition[] }
  | { kind: 'idempotent'; name: string; key: KeyExpression; window: number }
  | { kind: 'throttle'; rate: number; period: number; mode: 'delay' | 'drop' }
  | { kind: 'wireTap'; uri: string; maxInFlight: number }
  | { kind: 'to'; uri: string };

export interface RedeliveryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Each delay is multiplied by a random factor in [1 - jitter, 1]. */
  jitter: number;
}

export interface RouteDefinition {
  id: string;
  from: string;
  steps: StepDefinition[];
  /** The bounded queue between the source and the steps. */
  queue: { capacity: number; dropPolicy: DropPolicy };
  /** Exchanges processed at once: enough to keep a pipelined producer busy. Order is kept up to the first `to`. */
  concurrency: number;
  redelivery: RedeliveryPolicy;
  /** Where an exchange goes after its last failed attempt; without one it is dropped (and counted). */
  deadLetter?: string;
  /**
   * What the route was made from, for config reloads: a route whose signature is unchanged keeps running.
   * Without one, the definition itself is compared (functions by name).
   */
  signature?: string;
  /**
   * When the route starts relative to the others (Camel's startupOrder): lower first, and stopped last. Routes
   * that read from another route's output start before it, so that nothing is sent before they listen, and stop
   * after it, so that what it drains still has somewhere to go. Default 0.
   */
  startupOrder?: number;
}

export const DEFAULT_REDELIVERY: RedeliveryPolicy = { attempts: 3, initialDelayMs: 200, maxDelayMs: 10_000, multiplier: 2, jitter: 0.5 };

/** The delay before attempt `attempt` + 1 (attempt counts from 1). */
export function redeliveryDelay(policy: RedeliveryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  return Math.round(exponential * (1 - policy.jitter * random()));
}

/** A chain of steps, shared by routes and by choice branches. */
class Steps<Self> {
  protected readonly steps: StepDefinition[] = [];

  protected self(): Self {
    return this as unknown as Self;
  }

  /** Keeps exchanges for which `predicate` is true; a false or a string result drops it, counted by reason. */
  filter(predicate: Predicate, name = predicate.name || 'filter'): Self {
    this.steps.push({ kind: 'filter', name, predicate });
    return this.self();
  }

  /** Replaces the body with what `fn` returns (it may also set headers). */
  transform(fn: Transform, name = fn.name || 'transform'): Self {
    this.steps.push({ kind: 'transform', name, fn });
    return this.self();
  }

  /** Sends each part `fn` returns through the rest of the route as an exchange of its own. */
  split(fn: Splitter, name = fn.name || 'split'): Self {
    this.steps.push({ kind: 'split', name, fn });
    return this.self();
  }

  /** Content-based router: the first `when` whose predicate holds takes the exchange, else `otherwise`. */
  choice(build: (choice: ChoiceBuilder) => ChoiceBuilder): Self {
    const choice = build(new ChoiceBuilder());
    this.steps.push(choice.definition());
    return this.self();
  }

  /** Drops an exchange whose key was seen among the last `window` keys. */
  idempotent(key: KeyExpression, window = 10_000, name = key.name || 'idempotent'): Self {
    this.steps.push({ kind: 'idempotent', name, key, window });
    return this.self();
  }

  /** At most `rate` exchanges per `periodMs`; past that, wait (`delay`) or drop. */
  throttle(rate: number, periodMs = 1000, mode: 'delay' | 'drop' = 'delay'): Self {
    this.steps.push({ kind: 'throttle', rate, period: periodMs, mode });
    return this.self();
  }

  /** A copy to `uri` that never blocks the route: when the tap falls behind, copies are dropped and counted. */
  wireTap(uri: string, maxInFlight = 1000): Self {
    this.steps.push({ kind: 'wireTap', uri, maxInFlight });
    return this.self();
  }

  /** Sends to `uri` and waits until it has the exchange; the route continues after it. */
  to(uri: string): Self {
    this.steps.push({ kind: 'to', uri });
    return this.self();
  }

  /** The steps so far, as data. */
  stepDefinitions(): StepDefinition[] {
    return [...this.steps];
  }
}

export class ChoiceBuilder {
  private readonly branches: { name: string; predicate: Predicate; steps: StepDefinition[] }[] = [];
  private otherwiseSteps: StepDefinition[] = [];

  when(predicate: Predicate, build: (branch: BranchBuilder) => BranchBuilder, name = predicate.name || `when-${this.branches.length + 1}`): ChoiceBuilder {
    this.branches.push({ name, predicate, steps: build(new BranchBuilder()).stepDefinitions() });
    return this;
  }

  otherwise(build: (branch: BranchBuilder) => BranchBuilder): ChoiceBuilder {
    this.otherwiseSteps = build(new BranchBuilder()).stepDefinitions();
    return this;
  }

  definition(): StepDefinition {
    return { kind: 'choice', when: this.branches, otherwise: this.otherwiseSteps };
  }
}

export class BranchBuilder extends Steps<BranchBuilder> {}

export class RouteBuilder extends Steps<RouteBuilder> {
  private readonly settings: Omit<RouteDefinition, 'from' | 'steps'>;

  constructor(private readonly fromUri: string) {
    super();
    this.settings = {
      id: fromUri,
      queue: { capacity: 1000, dropPolicy: 'drop-oldest' },
      concurrency: 256,
      redelivery: DEFAULT_REDELIVERY,
    };
  }

  routeId(id: string): RouteBuilder {
    this.settings.id = id;
    return this;
  }

  /** The queue between the source and the steps, and what a live source's overflow drops. */
  queue(capacity: number, dropPolicy: DropPolicy = 'drop-oldest'): RouteBuilder {
    this.settings.queue = { capacity, dropPolicy };
    return this;
  }

  concurrency(count: number): RouteBuilder {
    this.settings.concurrency = count;
    return this;
  }

  redelivery(policy: Partial<RedeliveryPolicy>): RouteBuilder {
    this.settings.redelivery = { ...this.settings.redelivery, ...policy };
    return this;
  }

  deadLetter(uri: string): RouteBuilder {
    this.settings.deadLetter = uri;
    return this;
  }

  /** Marks what the route was built from (see RouteDefinition.signature). */
  signature(signature: string): RouteBuilder {
    this.settings.signature = signature;
    return this;
  }

  /** Starts after routes with a lower order, and stops before them (see RouteDefinition.startupOrder). */
  startupOrder(order: number): RouteBuilder {
    this.settings.startupOrder = order;
    return this;
  }

  build(): RouteDefinition {
    return { ...this.settings, from: this.fromUri, steps: this.stepDefinitions() };
  }
}

/** Starts a route: `from('replay:x.ndjson?pace=5/s').filter(hasPictures).transform(toFeedItem).to('amqp:/topic/feed.cats')`. */
export function from(uri: string): RouteBuilder {
  return new RouteBuilder(uri);
}
