import { ConfigError, type WorkerConfig } from '../config.js';
import type { RouteDefinition } from '../engine/definition.js';
import type { ComponentRegistry } from '../engine/registry.js';
import { compileRoutes } from './compile-routes.js';
import { readConfigFile } from './config-file.js';
import { defaultFunctions } from './expressions.js';

/**
 * The routes a loaded config's `routes:` list defines, for `run`: compiled against the worker's components and
 * built-in functions (which read their settings from `config`). Throws ConfigError listing every problem.
 */
export function loadRoutes(config: WorkerConfig, components: ComponentRegistry, env: NodeJS.ProcessEnv = process.env): RouteDefinition[] {
  const { routes, problems } = compileRoutes(readConfigFile(config.file), components, defaultFunctions(config), env);
  if (problems.length > 0) throw new ConfigError(problems);
  return routes;
}
