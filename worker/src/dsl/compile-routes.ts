import { Checker, type Path } from '../config.js';
import type { RouteDefinition } from '../engine/definition.js';
import type { ComponentRegistry } from '../engine/registry.js';
import { feedRouteId } from '../feeds.js';
import { compileRoute } from './compile-route.js';
import type { ConfigFile } from './config-file.js';
import { asMapping, type CompileContext } from './context.js';
import type { FunctionRegistry } from './expressions.js';

export interface CompiledRoutes {
  /** The routes without problems, in the order written. */
  routes: RouteDefinition[];
  /** Every problem, as `file:line:column: message`. */
  problems: string[];
}

/** The route ids the config's feeds take (`feed:<name>`), with the feed's index. */
function feedIds(feeds: unknown): Map<string, number> {
  const ids = new Map<string, number>();
  if (!Array.isArray(feeds)) return ids;
  feeds.forEach((feed, index) => {
    const name = asMapping(feed)?.name;
    if (typeof name === 'string' && !ids.has(feedRouteId(name))) ids.set(feedRouteId(name), index);
  });
  return ids;
}

/**
 * The routes of a config file's `routes:` list, in the shape of Camel's YAML DSL, compiled to the same
 * RouteDefinitions the route builder makes. Names (`ref`) resolve in `functions`, URIs are checked against
 * `components`, and `${VAR}` expands from `env` as in the rest of the config (`checkEnv` as Checker.checkEnv).
 * Every problem is collected.
 */
export function compileRoutes(configFile: ConfigFile, components: ComponentRegistry, functions: FunctionRegistry, env: NodeJS.ProcessEnv = process.env, { checkEnv = true }: { checkEnv?: boolean } = {}): CompiledRoutes {
  if (configFile.problems.length > 0) return { routes: [], problems: [...configFile.problems] };
  const root = asMapping(configFile.doc.toJS());
  if (root?.routes === undefined) return { routes: [], problems: [] };
  const check = new Checker(configFile.file, configFile.doc, configFile.lines, env);
  check.checkEnv = checkEnv;
  const context: CompileContext = { check, components, functions };

  const list = check.list(root.routes, ['routes']);
  const feeds = feedIds(root.feeds);
  if (Array.isArray(root.routes) && list.length === 0 && feeds.size === 0) check.problem(['routes'], 'routes must list at least one route (or feeds a feed)');

  const routes: RouteDefinition[] = [];
  const taken = new Map<string, number>();
  list.forEach((entry, index) => {
    const path: Path = ['routes', index];
    const item = check.object(entry, path, ['route']);
    if (!item) return;
    if (item.route === undefined) {
      check.problem(path, 'a routes entry is - route: { id, from: { uri, steps }, ... }');
      return;
    }
    const before = check.problems.length;
    const { id, definition } = compileRoute(context, item.route, [...path, 'route']);
    if (id !== undefined) {
      const explicit = asMapping(item.route)?.id !== undefined;
      const at = explicit ? [...path, 'route', 'id'] : [...path, 'route'];
      const named = explicit ? `route id "${id}"` : `route id "${id}" (its from URI; give the route an id)`;
      const feed = feeds.get(id);
      const other = taken.get(id);
      if (feed !== undefined) check.problem(at, `${named} is taken by the feed at feeds[${feed}]`);
      else if (other !== undefined) check.problem(at, `${named} is taken by routes[${other}]`);
      else taken.set(id, index);
    }
    if (definition && check.problems.length === before) routes.push(definition);
  });
  return { routes, problems: [...check.problems] };
}
