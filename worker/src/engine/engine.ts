import { EventEmitter } from 'node:events';
import type { RouteDefinition } from './definition.js';
import type { ComponentRegistry, EndpointEnvironment } from './registry.js';
import { Route, type RouteStatus } from './route.js';

/**
 * The routes of one worker process: built from definitions, started and stopped together or one by one.
 * Re-emits every route's `state`, `retry` and `sent` events.
 */
export class Engine extends EventEmitter {
  private readonly routes = new Map<string, Route>();

  constructor(
    readonly registry: ComponentRegistry,
    private readonly environment: EndpointEnvironment,
  ) {
    super();
  }

  /** Builds a route; throws (with the URI or option at fault) when an endpoint cannot be made. */
  add(definition: RouteDefinition): Route {
    if (this.routes.has(definition.id)) throw new Error(`route ${definition.id} is defined twice`);
    const route = new Route(definition, this.registry, this.environment);
    for (const event of ['state', 'retry', 'sent']) route.on(event, (payload) => this.emit(event, payload));
    this.routes.set(definition.id, route);
    return route;
  }

  route(id: string): Route | undefined {
    return this.routes.get(id);
  }

  list(): Route[] {
    return [...this.routes.values()];
  }

  /**
   * Starts every route; a route whose endpoints cannot connect keeps retrying in the background. Resolves once each
   * route has started or is retrying, so an unreachable broker holds up neither the caller nor its shutdown.
   */
  async start(): Promise<void> {
    for (const routes of byStartupOrder(this.list())) await Promise.all(routes.map((route) => startedOrRetrying(route)));
  }

  /**
   * Stops every route within `timeoutMs`, in reverse startup order (each group drains into the routes that are still
   * running); resolves with how many exchanges were abandoned in all.
   */
  async stop(timeoutMs: number): Promise<number> {
    const clock = this.environment.clock;
    const deadline = clock.now() + timeoutMs;
    let abandoned = 0;
    for (const routes of byStartupOrder(this.list()).reverse()) {
      const counts = await Promise.all(routes.map((route) => route.stop(Math.max(0, deadline - clock.now()))));
      abandoned += counts.reduce((sum, count) => sum + count, 0);
    }
    return abandoned;
  }

  /** Stops one route and forgets it (a config reload replaces it). */
  async remove(id: string, timeoutMs: number): Promise<number> {
    const route = this.routes.get(id);
    if (!route) return 0;
    const abandoned = await route.stop(timeoutMs);
    route.removeAllListeners();
    this.routes.delete(id);
    return abandoned;
  }

  /**
   * Every route started and its endpoints connected. Routes `held` names are stopped on purpose (feed ownership: a
   * feed another worker owns) and do not count.
   */
  ready(held: (routeId: string) => boolean = () => false): boolean {
    return this.routes.size > 0 && this.list().every((route) => held(route.id) || route.ready());
  }

  status(): RouteStatus[] {
    return this.list().map((route) => route.status());
  }
}

/** Routes grouped by startupOrder, lowest first; each group keeps the order the routes were added in. */
export function byStartupOrder<T extends { definition: RouteDefinition }>(routes: readonly T[]): T[][] {
  const groups = new Map<number, T[]>();
  for (const route of routes) {
    const order = route.definition.startupOrder ?? 0;
    groups.set(order, [...(groups.get(order) ?? []), route]);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** Resolves once `route` has started, or has failed to and retries in the background. */
export function startedOrRetrying(route: Route): Promise<void> {
  return new Promise((resolve, reject) => {
    const retrying = (): void => resolve();
    route.once('retry', retrying);
    route.start().then(
      () => {
        route.off('retry', retrying);
        resolve();
      },
      (error: unknown) => {
        route.off('retry', retrying);
        reject(error);
      },
    );
  });
}
