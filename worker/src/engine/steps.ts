import type { StepDefinition } from './definition.js';
import type { IdempotentRepository } from './idempotent.js';
import type { Clock, Exchange, Producer } from './types.js';

/**
 * Runs an exchange through the rest of the route. A step that does not wait (a filter, a transform that returns a
 * value) runs the next one at once and passes on its result: an exchange costs a promise only where something
 * waits, which is most of the engine's own cost per message otherwise. A step throws (or rejects) to fail it.
 */
export type Next = (exchange: Exchange) => void | Promise<void>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}

/** What compiled steps need from their route. */
export interface StepContext {
  clock: Clock;
  /** The producer for a `to` or `wireTap` URI; the route made and started it. */
  producer(uri: string): Producer;
  /** Counts a dropped exchange by reason. */
  drop(reason: string): void;
  /** Reports how long a send took, per URI (the publish latency histogram). */
  sent(uri: string, ms: number): void;
  /** Aborts waits when the route stops. */
  signal: AbortSignal;
  /** The repository of the route's `idempotent` step called `name` (see idempotent.ts). */
  repository(name: string, window: number): IdempotentRepository;
}

let exchangeCounter = 0;

/** A new exchange; `split` and `wireTap` make copies this way. */
export function newExchange(body: unknown, headers: Record<string, unknown> = {}): Exchange {
  exchangeCounter += 1;
  return { id: `ex-${exchangeCounter}`, body, headers };
}

/** Compiles steps into one function that runs an exchange through them and then through `last`. */
export function compileSteps(steps: readonly StepDefinition[], context: StepContext, last: Next): Next {
  return steps.reduceRight<Next>((next, step) => compileStep(step, context, next), last);
}

function compileStep(step: StepDefinition, context: StepContext, next: Next): Next {
  switch (step.kind) {
    case 'filter':
      return (exchange) => {
        const verdict = step.predicate(exchange);
        if (verdict === true) return next(exchange);
        context.drop(typeof verdict === 'string' ? verdict : `filter:${step.name}`);
      };

    case 'transform':
      return (exchange) => {
        const body = step.fn(exchange);
        if (isThenable(body)) {
          return Promise.resolve(body).then((awaited) => {
            exchange.body = awaited;
            return next(exchange);
          });
        }
        exchange.body = body;
        return next(exchange);
      };

    case 'split':
      return async (exchange) => {
        // In order, each part through the rest of the route; one failing part fails the whole exchange.
        for (const part of step.fn(exchange)) {
          const child = newExchange(part, { ...exchange.headers });
          // The parts settle with the whole: the source hears of it when the whole exchange is done.
          if (exchange.settlement) child.settlement = exchange.settlement;
          await next(child);
        }
      };

    case 'choice': {
      const branches = step.when.map((branch) => ({ predicate: branch.predicate, run: compileSteps(branch.steps, context, next) }));
      const otherwise = compileSteps(step.otherwise, context, next);
      return (exchange) => {
        const branch = branches.find((candidate) => candidate.predicate(exchange) === true);
        return (branch ? branch.run : otherwise)(exchange);
      };
    }

    case 'idempotent': {
      const repository = context.repository(step.name, step.window);
      return (exchange) => {
        const key = step.key(exchange);
        if (!repository.add(key)) {
          context.drop('duplicate');
          return;
        }
        // Not done after all when the rest fails: a redelivery of the same key must get through.
        const forget = (error: unknown): never => {
          repository.remove(key);
          throw error;
        };
        let done: void | Promise<void>;
        try {
          done = next(exchange);
        } catch (error) {
          return forget(error);
        }
        if (done === undefined) return;
        return done.then(undefined, forget);
      };
    }

    case 'throttle': {
      const passed: number[] = [];
      let turn: Promise<void> = Promise.resolve();
      return async (exchange) => {
        // One at a time through the gate, so waiting exchanges keep their order.
        const gate = turn.then(async () => {
          for (;;) {
            const now = context.clock.now();
            while (passed.length > 0 && (passed[0] as number) <= now - step.period) passed.shift();
            if (passed.length < step.rate) {
              passed.push(now);
              return true;
            }
            if (step.mode === 'drop' || context.signal.aborted) return false;
            await context.clock.sleep((passed[0] as number) + step.period - now, context.signal);
          }
        });
        turn = gate.then(() => undefined);
        if (await gate) return next(exchange);
        context.drop('throttled');
      };
    }

    case 'wireTap': {
      let inFlight = 0;
      return (exchange) => {
        if (inFlight >= step.maxInFlight) {
          context.drop('wiretap-overflow');
        } else {
          inFlight += 1;
          const copy = newExchange(structuredClone(exchange.body), { ...exchange.headers });
          const started = context.clock.now();
          context
            .producer(step.uri)
            .send(copy)
            .then(
              () => context.sent(step.uri, context.clock.now() - started),
              () => context.drop('wiretap-failed'),
            )
            .finally(() => {
              inFlight -= 1;
            });
        }
        return next(exchange);
      };
    }

    case 'to':
      return (exchange) => {
        const producer = context.producer(step.uri);
        const started = context.clock.now();
        // A producer that was done at once (a hub whose readers had room) costs no promise.
        const sending = producer.sendNow ? producer.sendNow(exchange) : producer.send(exchange);
        if (sending === undefined) {
          context.sent(step.uri, context.clock.now() - started);
          return next(exchange);
        }
        return sending.then(() => {
          context.sent(step.uri, context.clock.now() - started);
          return next(exchange);
        });
      };
  }
}

/** Every URI a list of steps sends to, branches included. */
export function producerUris(steps: readonly StepDefinition[]): string[] {
  const uris: string[] = [];
  for (const step of steps) {
    if (step.kind === 'to' || step.kind === 'wireTap') uris.push(step.uri);
    if (step.kind === 'choice') {
      for (const branch of step.when) uris.push(...producerUris(branch.steps));
      uris.push(...producerUris(step.otherwise));
    }
  }
  return [...new Set(uris)];
}
