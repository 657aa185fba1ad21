import type { RouteDefinition } from './definition.js';
import { byStartupOrder, startedOrRetrying, type Engine } from './engine.js';

/** What a route was made from: its explicit signature, else the definition with functions named. */
export function routeSignature(definition: RouteDefinition): string {
  if (definition.signature !== undefined) return definition.signature;
  return JSON.stringify(definition, (_, value: unknown) => (typeof value === 'function' ? `fn:${(value as { name: string }).name}` : value));
}

export interface ReloadResult {
  added: string[];
  removed: string[];
  replaced: string[];
  unchanged: string[];
  /** Exchanges abandoned while draining the routes that were removed or replaced. */
  abandoned: number;
}

/**
 * Brings the engine's routes in line with `next`: routes that are gone are drained and removed, new ones are added
 * and started, changed ones are drained and replaced, and the rest keep running untouched. `mayStart` holds back a
 * new or replaced route that must not run yet (feed ownership: a feed another worker owns); it is added stopped.
 */
export async function applyRoutes(engine: Engine, next: readonly RouteDefinition[], drainTimeoutMs: number, mayStart: (definition: RouteDefinition) => boolean = () => true): Promise<ReloadResult> {
  const result: ReloadResult = { added: [], removed: [], replaced: [], unchanged: [], abandoned: 0 };
  const wanted = new Map(next.map((definition) => [definition.id, definition]));
  // Routes that go are drained in reverse startup order, so that a route feeding another drains into it first.
  for (const group of byStartupOrder(engine.list()).reverse()) {
    for (const route of group) {
      const definition = wanted.get(route.id);
      if (!definition) {
        result.abandoned += await engine.remove(route.id, drainTimeoutMs);
        result.removed.push(route.id);
      } else if (routeSignature(definition) !== routeSignature(route.definition)) {
        result.abandoned += await engine.remove(route.id, drainTimeoutMs);
        result.replaced.push(route.id);
      } else {
        result.unchanged.push(route.id);
        wanted.delete(route.id);
      }
    }
  }
  // New routes start in startup order. One whose endpoints cannot connect yet retries in the background: the reload
  // does not wait for it.
  for (const group of byStartupOrder([...wanted.values()].map((definition) => ({ definition })))) {
    await Promise.all(
      group.map(({ definition }) => {
        if (!result.replaced.includes(definition.id)) result.added.push(definition.id);
        const route = engine.add(definition);
        return mayStart(definition) ? startedOrRetrying(route) : undefined;
      }),
    );
  }
  return result;
}
