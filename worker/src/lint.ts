import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { Network } from '@livewall/contract';
import { globSync, isDynamicPattern } from 'tinyglobby';
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
  /** The feeds the file configures. */
  feeds: number;
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

/** One problem of a file: where it is (absent when it is the whole file's: it cannot be read) and what. */
export interface Problem {
  line?: number;
  column?: number;
  message: string;
}

/** A problem line of `file`, `file:line:column: message` or `file: message`, taken apart. */
export function parseProblem(file: string, text: string): Problem {
  const rest = text.startsWith(`${file}:`) ? text.slice(file.length + 1) : text;
  const match = /^(\d+):(\d+): ([\s\S]*)$/.exec(rest);
  return match ? { line: Number(match[1]), column: Number(match[2]), message: match[3] as string } : { message: rest.replace(/^ /, '') };
}

/** Sorts `file:line:column: message` lines by position; lines without one (an unreadable file) come first. */
function inFileOrder(file: string, problems: string[]): string[] {
  const position = (problem: string): [number, number] => {
    const { line = 0, column = 0 } = parseProblem(file, problem);
    return [line, column];
  };
  return [...new Set(problems)].sort((a, b) => {
    const [lineA, columnA] = position(a);
    const [lineB, columnB] = position(b);
    return lineA - lineB || columnA - columnB;
  });
}

export interface LintOptions {
  /** Whether a `${VAR}` the environment lacks is a problem (default); false for lint --skip-env-check. */
  checkEnv?: boolean;
  components?: ComponentRegistry;
}

/**
 * Everything `run` would check before starting, without starting anything: the config (with the broker settings
 * required), the YAML routes, and every URI of every route against the components.
 */
export function lintConfig(file: string, env: NodeJS.ProcessEnv = process.env, { checkEnv = true, components = defaultComponents() }: LintOptions = {}): LintReport {
  const configFile = readConfigFile(file);
  if (configFile.problems.length > 0) return { problems: configFile.problems, feeds: 0, routes: 0 };
  const problems: string[] = [];
  let config: WorkerConfig | undefined;
  try {
    config = parseConfig(configFile.text, file, env, { requireBroker: true, checkFiles: true, checkEnv });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const compiled = compileRoutes(configFile, components, defaultFunctions(config), env, { checkEnv });
  problems.push(...compiled.problems);
  if (config) problems.push(...feedRouteProblems(configFile, config, components, env));
  return { problems: inFileOrder(file, problems), feeds: config?.feeds.length ?? 0, routes: (config ? feedRoutes(config).length : 0) + compiled.routes.length };
}

/**
 * The files the command line names: each argument a file, or a glob (quoted, so that the shell leaves it) that
 * expands to the files it matches, in name order. A file named twice is linted once; an argument that is an existing
 * file is that file, whatever characters its name has. `unmatched`: a glob that matches no file.
 */
export function expandFiles(patterns: readonly string[], cwd: string = process.cwd()): { file: string; unmatched?: true }[] {
  const seen = new Set<string>();
  const targets: { file: string; unmatched?: true }[] = [];
  for (const pattern of patterns) {
    const glob = isDynamicPattern(pattern) && !existsSync(resolve(cwd, pattern));
    const files = glob ? globSync(pattern, { cwd, onlyFiles: true, expandDirectories: false, absolute: isAbsolute(pattern) }).sort() : [pattern];
    if (files.length === 0) targets.push({ file: pattern, unmatched: true });
    for (const file of files) {
      if (seen.has(resolve(cwd, file))) continue;
      seen.add(resolve(cwd, file));
      targets.push({ file });
    }
  }
  return targets;
}

/** What `lint --format json` prints for one file. `feeds` and `routes`: what it defines, when it has no problem. */
export interface FileReport {
  file: string;
  ok: boolean;
  problems: Problem[];
  feeds: number;
  routes: number;
}

export interface LintRun extends LintOptions {
  /** Files and globs, as the command line gives them. */
  patterns: readonly string[];
  env?: NodeJS.ProcessEnv;
  format?: 'text' | 'json';
}

/** Lints each file `patterns` names; a glob that matches nothing is a problem of its own. */
export function lintFiles({ patterns, env = process.env, ...options }: Omit<LintRun, 'format'>): FileReport[] {
  return expandFiles(patterns).map(({ file, unmatched }) => {
    const { problems, feeds, routes } = unmatched ? { problems: [`${file}: no file matches this pattern`], feeds: 0, routes: 0 } : lintConfig(file, env, options);
    return { file, ok: problems.length === 0, problems: problems.map((problem) => parseProblem(file, problem)), feeds, routes };
  });
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** What a clean file defines: `2 feeds (3 routes)`, or `3 routes` for a file of routes only. */
function summary(feeds: number, routes: number): string {
  return feeds > 0 ? `${count(feeds, 'feed')} (${count(routes, 'route')})` : count(routes, 'route');
}

/** A problem as lint's text output writes it. */
function problemLine(file: string, { line, column, message }: Problem): string {
  return line === undefined ? `${file}: ${message}` : `${file}:${line}:${column}: ${message}`;
}

/**
 * `livewall-worker lint FILE|GLOB...`: every problem of every file, one a line as `file:line:column: message`, or
 * `FILE: ok, N feeds (M routes)` for a clean file; with format json, one document: `{ files: [FileReport...], problems: N }`.
 * Returns the exit code: 1 when any file has a problem (a glob that matches nothing is one), else 0.
 */
export function runLint({ format = 'text', ...run }: LintRun, out: { write(text: string): unknown }): number {
  const files = lintFiles(run);
  const problems = files.reduce((count, file) => count + file.problems.length, 0);
  if (format === 'json') {
    out.write(`${JSON.stringify({ files, problems })}\n`);
  } else {
    const lines = files.flatMap(({ file, problems, feeds, routes }) => (problems.length > 0 ? problems.map((problem) => problemLine(file, problem)) : [`${file}: ok, ${summary(feeds, routes)}`]));
    out.write(`${lines.join('\n')}\n`);
  }
  return problems > 0 ? 1 : 0;
}

/**
 * The environment lint reads `${VAR}` from: this process's, with the variables of each `--env-file` (dotenv format)
 * that it lacks, as `node --env-file` does (a later file's value wins over an earlier one's). The process's own
 * environment is left as it is. Throws when a file cannot be read.
 */
export function withEnvFiles(files: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const fromFiles: NodeJS.ProcessEnv = {};
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read --env-file ${file}: ${(error as Error).message}`, { cause: error });
    }
    Object.assign(fromFiles, parseEnv(text));
  }
  return { ...fromFiles, ...env };
}
