import type { Network } from '@livewall/contract';
import { Checker, ConfigError, parseConfig, type Path, type WorkerConfig } from './config.js';
import { defaultComponents } from './components/index.js';
import { compileRoutes } from './dsl/compile-routes.js';
import { readConfigFile, type ConfigFile } from './dsl/config-file.js';
import { defaultFunctions } from './dsl/expressions.js';
import type { ComponentRegistry } from './engine/registry.js';
import { producerUris } from './engine/steps.js';
import { feedRouteId, feedRoutes } from './feeds.js';

export interface LintReport {
  /** Every problem as `file:line:column: message`, in file order, each once. */
  problems: string[];
  /** The routes the file defines: one per feed, one per source, and each of `routes:`. */
  routes: number;
}

/**
 * The URIs of the feeds' routes, checked against the registry. The config wrote none of them whole (they are made
 * from `sources:`, the feed's name and the dead-letter settings), so each problem points at the setting it came from.
 */
function feedRouteProblems(configFile: ConfigFile, config: WorkerConfig, components: ComponentRegistry, env: NodeJS.ProcessEnv): string[] {
  const check = new Checker(configFile.file, configFile.doc, configFile.lines, env);
  const checked = new Set<string>();
  for (const definition of feedRoutes(config)) {
    const feed = config.feeds.find((candidate) => feedRouteId(candidate.name) === definition.id);
    const network = definition.id.startsWith('source:') ? (definition.id.split(':')[1] as Network) : undefined;
    const sourceAt: Path = network === undefined ? ['sources'] : config.sources[network]?.replay ? ['sources', network, 'replay', 'file'] : ['sources', network];
    const deadLetterAt: Path = feed?.deadLetter !== undefined ? ['feeds', feed.index, 'deadLetter'] : ['deadLetter'];
    const endpoints: { uri: string; role: 'consumer' | 'producer'; at: Path }[] = [
      { uri: definition.from, role: 'consumer', at: feed ? ['feeds', feed.index, 'network'] : sourceAt },
      ...producerUris(definition.steps).map((uri) => ({ uri, role: 'producer' as const, at: feed ? ['feeds', feed.index, 'name'] : uri === config.deadLetter ? deadLetterAt : sourceAt })),
      ...(definition.deadLetter === undefined ? [] : [{ uri: definition.deadLetter, role: 'producer' as const, at: deadLetterAt }]),
    ];
    for (const { uri, role, at } of endpoints) {
      if (checked.has(`${role} ${uri}`)) continue;
      checked.add(`${role} ${uri}`);
      try {
        components.check(uri, role);
      } catch (error) {
        check.problem(at, `route ${definition.id}: ${(error as Error).message}`);
      }
    }
  }
  return check.problems;
}

/** Sorts `file:line:column: message` lines by position; lines without one (an unreadable file) come first. */
function inFileOrder(file: string, problems: string[]): string[] {
  const position = (problem: string): [number, number] => {
    const match = /^(\d+):(\d+): /.exec(problem.slice(file.length + 1));
    return match ? [Number(match[1]), Number(match[2])] : [0, 0];
  };
  return [...new Set(problems)].sort((a, b) => {
    const [lineA, columnA] = position(a);
    const [lineB, columnB] = position(b);
    return lineA - lineB || columnA - columnB;
  });
}

/**
 * Everything `run` would check before starting, without starting anything: the config (with the broker settings
 * required), the YAML routes, and every URI of every route against the components.
 */
export function lintConfig(file: string, env: NodeJS.ProcessEnv = process.env, components: ComponentRegistry = defaultComponents()): LintReport {
  const configFile = readConfigFile(file);
  if (configFile.problems.length > 0) return { problems: configFile.problems, routes: 0 };
  const problems: string[] = [];
  let config: WorkerConfig | undefined;
  try {
    config = parseConfig(configFile.text, file, env, { requireBroker: true, checkFiles: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const compiled = compileRoutes(configFile, components, defaultFunctions(config), env);
  problems.push(...compiled.problems);
  if (config) problems.push(...feedRouteProblems(configFile, config, components, env));
  return { problems: inFileOrder(file, problems), routes: (config ? feedRoutes(config).length : 0) + compiled.routes.length };
}

/** `livewall-worker lint FILE`: the problems, one a line, or `FILE: ok, N routes`. Returns the exit code. */
export function runLint(file: string, out: { write(text: string): unknown }, env: NodeJS.ProcessEnv = process.env): number {
  const { problems, routes } = lintConfig(file, env);
  if (problems.length > 0) {
    out.write(`${problems.join('\n')}\n`);
    return 1;
  }
  out.write(`${file}: ok, ${routes} route${routes === 1 ? '' : 's'}\n`);
  return 0;
}
