import type { Path } from '../config.js';
import { from, type RedeliveryPolicy, type RouteBuilder, type RouteDefinition } from '../engine/definition.js';
import { routeSignature } from '../engine/reload.js';
import { compileSteps } from './compile-steps.js';
import type { CompileContext } from './context.js';
import { compileEndpoint } from './endpoint.js';
import { readDuration, readEnum, readInteger, readNumber } from './values.js';

/** The settings of a route and of its parts, as lint accepts them and config/schema.json lists them. */
export const ROUTE_FIELDS = ['id', 'from', 'errorHandler', 'queue', 'concurrency'] as const;
/** A route's `from` is an endpoint with the route's steps besides. */
export const FROM_FIELDS = ['steps'] as const;
export const ERROR_HANDLER_FIELDS = ['redelivery', 'deadLetter'] as const;
export const REDELIVERY_FIELDS = ['attempts', 'initialDelay', 'maxDelay', 'multiplier', 'jitter'] as const;
export const QUEUE_FIELDS = ['capacity', 'dropPolicy'] as const;
export const DROP_POLICIES = ['drop-oldest', 'drop-newest'] as const;

/** The builder's defaults, read from the builder itself so that they are written down once. */
const DEFAULTS = from('defaults:').build();

export interface CompiledRoute {
  /** The route's id (its `id`, else its from URI), when it could be read. */
  id?: string;
  /** The definition, when the route had no problem. */
  definition?: RouteDefinition;
}

/** `errorHandler: { redelivery: { attempts, initialDelay, maxDelay, multiplier, jitter }, deadLetter: URI }`. */
function compileErrorHandler(context: CompileContext, node: unknown, path: Path, builder: RouteBuilder): void {
  const { check } = context;
  const fields = check.object(node, path, ERROR_HANDLER_FIELDS);
  if (!fields) return;
  if (fields.redelivery !== undefined) {
    const at = [...path, 'redelivery'];
    const redelivery = check.object(fields.redelivery, at, REDELIVERY_FIELDS);
    if (redelivery) {
      const policy: Partial<RedeliveryPolicy> = {
        attempts: readInteger(check, redelivery.attempts, [...at, 'attempts'], { min: 1 }),
        initialDelayMs: readDuration(check, redelivery.initialDelay, [...at, 'initialDelay']),
        maxDelayMs: readDuration(check, redelivery.maxDelay, [...at, 'maxDelay']),
        multiplier: readNumber(check, redelivery.multiplier, [...at, 'multiplier'], { min: 1 }),
        jitter: readNumber(check, redelivery.jitter, [...at, 'jitter'], { min: 0, max: 1 }),
      };
      builder.redelivery(Object.fromEntries(Object.entries(policy).filter(([, value]) => value !== undefined)));
    }
  }
  if (fields.deadLetter !== undefined) {
    const { uri } = compileEndpoint(context, fields.deadLetter, [...path, 'deadLetter'], 'producer');
    if (uri !== undefined) builder.deadLetter(uri);
  }
}

/**
 * One `route:` of the config's `routes:` list, compiled through the route builder:
 * `{ id, from: { uri, parameters, steps }, errorHandler, queue: { capacity, dropPolicy }, concurrency }`.
 */
export function compileRoute(context: CompileContext, node: unknown, path: Path): CompiledRoute {
  const { check } = context;
  const before = check.problems.length;
  const fields = check.object(node, path, ROUTE_FIELDS);
  if (!fields) return {};
  if (fields.from === undefined) check.problem(path, 'a route needs from: { uri: SCHEME:PATH, steps: [...] }');
  const source = fields.from === undefined ? { fields: {} } : compileEndpoint(context, fields.from, [...path, 'from'], 'consumer', FROM_FIELDS);
  const builder = from(source.uri ?? '');

  const id = check.string(fields.id, [...path, 'id'], { required: false });
  if (id?.trim() === '') check.problem([...path, 'id'], 'id must not be empty');
  else if (id !== undefined) builder.routeId(id);

  compileSteps(context, source.fields.steps, [...path, 'from', 'steps'], builder);
  if (fields.errorHandler !== undefined) compileErrorHandler(context, fields.errorHandler, [...path, 'errorHandler'], builder);

  if (fields.queue !== undefined) {
    const queue = check.object(fields.queue, [...path, 'queue'], QUEUE_FIELDS);
    if (queue) {
      const capacity = readInteger(check, queue.capacity, [...path, 'queue', 'capacity'], { min: 1 });
      const dropPolicy = readEnum(check, queue.dropPolicy, [...path, 'queue', 'dropPolicy'], DROP_POLICIES);
      builder.queue(capacity ?? DEFAULTS.queue.capacity, dropPolicy);
    }
  }
  const concurrency = readInteger(check, fields.concurrency, [...path, 'concurrency'], { min: 1 });
  if (concurrency !== undefined) builder.concurrency(concurrency);

  const routeId = id?.trim() ? id : source.uri;
  if (check.problems.length > before) return routeId === undefined ? {} : { id: routeId };
  // The functions' settings are part of what the route is: a reload that changes them must replace it.
  if (context.functions.signature !== undefined) {
    builder.signature(`${routeSignature(builder.build())}\nfunctions: ${context.functions.signature}`);
  }
  return { id: routeId, definition: builder.build() };
}
