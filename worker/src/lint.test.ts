import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultComponents } from './components/index.js';
import { expandFiles, lintConfig, parseProblem, runLint, withEnvFiles, type FileReport } from './lint.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));
/** The schemes an unknown-component message lists: whatever the worker registers. */
const KNOWN = defaultComponents()
  .list()
  .map((component) => `${component.scheme}:`)
  .join(', ');

/** Valid as a config: the problems are in what its feeds' routes are made of, and in its YAML route. */
const ROUTES_AT_FAULT = [
  'broker:', //                                                1
  '  url: amqp://localhost:5672', //                           2
  'sources:', //                                               3
  '  x:', //                                                   4
  '    replay: { file: x.ndjson }', //                         5
  'deadLetter: "log:dead?level=loud"', //                      6
  'feeds:', //                                                 7
  '  - name: cats', //                                         8
  '  - name: dogs', //                                         9
  '    deadLetter: lgo:dead', //                               10
  'routes:', //                                                11
  '  - route:', //                                             12
  '      id: feed:cats', //                                    13
  '      from:', //                                            14
  '        uri: replay:x.ndjson?pase=5/s', //                  15
  '        steps:', //                                         16
  '          - filtr: { expression: { ref: isPost } }', //     17
  '          - filter: { expression: { ref: isPots } }', //    18
  '          - throttle: { rate: 5, period: soon, mode: slow }', // 19
  '          - to: amqp:/topic/${LINT_TOPIC}', //              20
  '          - transform: { expression: { ref: post }, nmae: x }', // 21
  '          - wireTap: { uri: "lgo:tap" }', //                  22
  '          - to: { uri: log:out, parameters: { maxChars: 0 } }', // 23
  '  - route:', //                                             24
  '      id: copy', //                                         25
  '      from: { uri: "replay:x.ndjson" }', //                 26
  '  - route:', //                                             27
  '      id: copy', //                                         28
  '      from: { uri: "replay:x.ndjson" }', //                 29
];

const ROUTES_AT_FAULT_PROBLEMS = [
  '6:13: route feed:cats: option level must be one of debug, info, warn, not "loud"',
  `10:17: route feed:dogs: unknown component "lgo:" in lgo:dead; known: ${KNOWN}`,
  '13:11: route id "feed:cats" is taken by the feed at feeds[0]',
  '15:14: unknown option "pase" for replay:; it takes pace, loop, startOffset',
  '17:13: unknown step "filtr"; expected one of filter, transform, split, choice, idempotent, throttle, wireTap, to',
  '18:42: unknown expression "isPots"; known: isRejected, isIdentity, isPost, hasPictures, isMapped, meetsContract',
  '19:42: period must be a duration with a unit, such as 500ms or 10s, not "soon"',
  '19:54: mode must be one of delay, drop, not "slow"',
  '20:17: environment variable LINT_TOPIC is not set (used by routes[0].route.from.steps[3].to)',
  '21:53: unknown field "nmae" in routes[0].route.from.steps[4].transform; expected one of expression, name',
  `22:29: unknown component "lgo:" in lgo:tap; known: ${KNOWN}`,
  '23:57: option maxChars must be at least 1',
  '28:11: route id "copy" is taken by routes[1]',
];

/** Problems in the config itself and in a route, reported together in file order. */
const CONFIG_AT_FAULT = [
  'broker:', //                                                1
  '  url: amqp://localhost:5672', //                           2
  '  password: ${LINT_PASSWORD}', //                           3
  'sources:', //                                               4
  '  x:', //                                                   5
  '    replay: { file: x.ndjson,', //                          6
  '              pace: fast }', //                             7
  'routes:', //                                                8
  '  - route:', //                                             9
  '      from: { uri: "replay:y.ndjson", steps: [ { to: "log:out?showBody=maybe" } ] }', // 10
  'colour: blue', //                                           11
];

const CONFIG_AT_FAULT_PROBLEMS = [
  '3:13: environment variable LINT_PASSWORD is not set (used by broker.password)',
  '7:21: sources.x.replay.pace must be a rate such as 5/s or 120/min, not "fast"',
  '10:54: option showBody must be true or false, not "maybe"',
  '11:1: unknown field "colour" in the top level; expected one of broker, outbox, imageHosts, videoPreviews, shutdownTimeout, source, sources, feeds, deadLetter, ops, region, ownership, status, moderation, routes',
];

const CLEAN = [
  'broker: { url: "amqp://localhost:5672" }',
  'sources: { x: { replay: { file: x.ndjson, pace: 2/s } } }',
  'deadLetter: log:dead',
  'feeds: [ { name: cats }, { name: dogs } ]',
  'routes:',
  '  - route:',
  '      id: all-to-log',
  '      from: { uri: "replay:x.ndjson", steps: [ { transform: { expression: { ref: decodeX } } }, { to: log:all } ] }',
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'livewall-lint-'));
  // The recordings the configs below play: lint checks that a file the config reads is there.
  for (const recording of ['x.ndjson', 'y.ndjson']) writeFileSync(join(dir, recording), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('lintConfig', () => {
  it('reports a file the config reads that is not there, and a file it writes that has no place to go, at the setting', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const file = write('files.yaml', [
      'broker: { url: "amqp://localhost:5672", password: x }', //      1
      'outbox: { file: a-file/outbox.db }', //                          2
      'sources:', //                                                    3
      '  x: { replay: { file: does-not-exist.ndjson } }', //            4
      '  bluesky:', //                                                  5
      '    cursorFile: a-file/bluesky.cursor', //                       6
      'feeds:', //                                                      7
      '  - { name: cats, network: x, deadLetter: "file:a-file/dead.ndjson" }', // 8
      '  - { name: sky, network: bluesky, keywords: [cat] }', //       9
      'deadLetter: file:fresh/folders/are/made/dead.ndjson', //       10
    ]);
    expect(lintConfig(file, {}).problems).toEqual([
      `${file}:2:17: outbox.file: cannot create ${join(dir, 'a-file/outbox.db')}: ${blocker} is a file, not a directory`,
      `${file}:4:24: sources.x.replay.file: no such file ${join(dir, 'does-not-exist.ndjson')}`,
      `${file}:6:17: sources.bluesky.cursorFile: cannot create ${join(dir, 'a-file/bluesky.cursor')}: ${blocker} is a file, not a directory`,
      `${file}:8:43: feeds.0.deadLetter: cannot create ${join(dir, 'a-file/dead.ndjson')}: ${blocker} is a file, not a directory`,
    ]);
  });

  it('checks the URIs of the feeds\' routes at the settings they come from, and every problem of the YAML routes', () => {
    const file = write('routes-at-fault.yaml', ROUTES_AT_FAULT);
    expect(lintConfig(file, {}).problems).toEqual(ROUTES_AT_FAULT_PROBLEMS.map((problem) => `${file}:${problem}`));
  });

  it('reports the config\'s own problems with the routes\', in file order, requiring the broker settings', () => {
    const file = write('config-at-fault.yaml', CONFIG_AT_FAULT);
    expect(lintConfig(file, {}).problems).toEqual(CONFIG_AT_FAULT_PROBLEMS.map((problem) => `${file}:${problem}`));
  });

  it('counts a route per feed, per source and per YAML route', () => {
    expect(lintConfig(write('clean.yaml', CLEAN), {})).toEqual({ problems: [], feeds: 2, routes: 4 });
  });

  it('reports a YAML syntax error once, and a file it cannot read', () => {
    const broken = write('broken.yaml', ['routes:', '  - route: { id: a', 'feeds: []']);
    expect(lintConfig(broken, {}).problems).toEqual([`${broken}:3:1: Flow map in block collection must be sufficiently indented and end with a }`]);
    const missing = join(dir, 'missing.yaml');
    expect(lintConfig(missing, {}).problems).toEqual([`${missing}: cannot read: ENOENT: no such file or directory, open '${missing}'`]);
  });

  it('passes the demo config when its password is set', () => {
    expect(lintConfig(DEMO, { LIVEWALL_PUBLISHER_PASSWORD: 'pw' })).toEqual({ problems: [], feeds: 1, routes: 2 });
  });
});

describe('lintConfig with checkEnv off (lint --skip-env-check)', () => {
  it('passes the demo config in an empty environment', () => {
    expect(lintConfig(DEMO, {}, { checkEnv: false })).toEqual({ problems: [], feeds: 1, routes: 2 });
  });

  it('drops only the problems of missing variables: a setting whose value is unknown goes unchecked', () => {
    const routes = write('routes-at-fault.yaml', ROUTES_AT_FAULT);
    expect(lintConfig(routes, {}, { checkEnv: false }).problems).toEqual(ROUTES_AT_FAULT_PROBLEMS.filter((problem) => !problem.includes('LINT_TOPIC')).map((problem) => `${routes}:${problem}`));
    const config = write('config-at-fault.yaml', CONFIG_AT_FAULT);
    expect(lintConfig(config, {}, { checkEnv: false }).problems).toEqual(CONFIG_AT_FAULT_PROBLEMS.slice(1).map((problem) => `${config}:${problem}`));
  });

  it('does not ask for a live source\'s token variable', () => {
    const file = write('live.yaml', ['broker: { url: "amqp://localhost:5672" }', 'feeds: [ { name: cats, keywords: [cat] } ]']);
    expect(lintConfig(file, {}).problems).toEqual([`${file}:2:10: environment variable X_BEARER_TOKEN is not set; the live x source needs it (feeds cats), or give sources.x a replay`]);
    expect(lintConfig(file, {}, { checkEnv: false })).toEqual({ problems: [], feeds: 1, routes: 2 });
  });
});

describe('parseProblem', () => {
  it('takes a problem line apart: position and message, or the message alone', () => {
    expect(parseProblem('a:b.yaml', 'a:b.yaml:6:13: environment variable X is not set: see docs')).toEqual({ line: 6, column: 13, message: 'environment variable X is not set: see docs' });
    expect(parseProblem('a.yaml', 'a.yaml: cannot read: ENOENT')).toEqual({ message: 'cannot read: ENOENT' });
  });
});

describe('expandFiles', () => {
  it('expands globs in name order, keeps plain names as they are, names each file once, and marks a glob that matches nothing', () => {
    const folder = mkdtempSync(join(dir, 'globs-'));
    for (const name of ['b.yaml', 'a.yaml', 'c.yml', 'odd[1].yaml']) writeFileSync(join(folder, name), '');
    expect(expandFiles(['*.yaml', 'c.yml', 'a.yaml', 'none/*.yaml', 'missing.yaml', 'odd[1].yaml'], folder)).toEqual([
      { file: 'a.yaml' },
      { file: 'b.yaml' },
      { file: 'odd[1].yaml' },
      { file: 'c.yml' },
      { file: 'none/*.yaml', unmatched: true },
      { file: 'missing.yaml' },
    ]);
    // An absolute glob gives absolute names.
    expect(expandFiles([join(folder, '*.y{a,}ml')], '/')).toEqual(['a.yaml', 'b.yaml', 'c.yml', 'odd[1].yaml'].map((name) => ({ file: join(folder, name) })));
  });
});

describe('runLint', () => {
  function lintOutput(run: Parameters<typeof runLint>[0]): { code: number; output: string } {
    const output: string[] = [];
    const code = runLint(run, { write: (text: string) => output.push(text) });
    return { code, output: output.join('') };
  }

  it('writes every problem of every file one a line, an ok line for a clean file, and returns 1', () => {
    const atFault = write('config-at-fault.yaml', CONFIG_AT_FAULT);
    const clean = write('clean.yaml', CLEAN);
    const routes = write('routes-at-fault.yaml', ROUTES_AT_FAULT);
    expect(lintOutput({ patterns: [atFault, clean, routes], env: {} })).toEqual({
      code: 1,
      output: [...CONFIG_AT_FAULT_PROBLEMS.map((problem) => `${atFault}:${problem}`), `${clean}: ok, 2 feeds (4 routes)`, ...ROUTES_AT_FAULT_PROBLEMS.map((problem) => `${routes}:${problem}`), ''].join('\n'),
    });
  });

  it('returns 0 when every file is clean', () => {
    expect(lintOutput({ patterns: [write('clean.yaml', CLEAN), DEMO], env: {}, checkEnv: false })).toEqual({ code: 0, output: `${join(dir, 'clean.yaml')}: ok, 2 feeds (4 routes)\n${DEMO}: ok, 1 feed (2 routes)\n` });
  });

  it('names a glob that matches nothing, and returns 1', () => {
    const pattern = join(dir, 'nothing-here/*.yaml');
    expect(lintOutput({ patterns: [pattern, write('clean.yaml', CLEAN)], env: {} })).toEqual({ code: 1, output: `${pattern}: no file matches this pattern\n${join(dir, 'clean.yaml')}: ok, 2 feeds (4 routes)\n` });
  });

  it('writes one JSON document with format json: each file with its problems and routes, and the count', () => {
    const atFault = write('config-at-fault.yaml', CONFIG_AT_FAULT);
    const clean = write('clean.yaml', CLEAN);
    const missing = join(dir, 'missing.yaml');
    const { code, output } = lintOutput({ patterns: [atFault, clean, missing], env: {}, format: 'json' });
    expect(code).toBe(1);
    expect(output.endsWith('}\n') && output.indexOf('\n') === output.length - 1).toBe(true);
    expect(JSON.parse(output)).toEqual({
      files: [
        {
          file: atFault,
          ok: false,
          problems: [
            { line: 3, column: 13, message: 'environment variable LINT_PASSWORD is not set (used by broker.password)' },
            { line: 7, column: 21, message: 'sources.x.replay.pace must be a rate such as 5/s or 120/min, not "fast"' },
            { line: 10, column: 54, message: 'option showBody must be true or false, not "maybe"' },
            { line: 11, column: 1, message: expect.stringMatching(/^unknown field "colour" in the top level/) as unknown },
          ],
          feeds: 0,
          routes: 0,
        },
        { file: clean, ok: true, problems: [], feeds: 2, routes: 4 },
        { file: missing, ok: false, problems: [{ message: `cannot read: ENOENT: no such file or directory, open '${missing}'` }], feeds: 0, routes: 0 },
      ],
      problems: 5,
    });
    expect(JSON.parse(lintOutput({ patterns: [clean], env: {}, format: 'json' }).output)).toEqual({ files: [{ file: clean, ok: true, problems: [], feeds: 2, routes: 4 }], problems: 0 });
  });
});

describe('withEnvFiles', () => {
  it('adds the variables of dotenv files that the environment lacks, a later file winning, without touching process.env', () => {
    const first = join(dir, 'first.env');
    const second = join(dir, 'second.env');
    writeFileSync(first, '# the broker\nLIVEWALL_PUBLISHER_PASSWORD=from-first\nA="quoted value"\nB=1\n');
    writeFileSync(second, 'export B=2\nC=3\n');
    expect(withEnvFiles([first, second], { C: 'from-env' })).toEqual({ LIVEWALL_PUBLISHER_PASSWORD: 'from-first', A: 'quoted value', B: '2', C: 'from-env' });
    expect(process.env.LIVEWALL_PUBLISHER_PASSWORD).toBeUndefined();
    expect(() => withEnvFiles([join(dir, 'none.env')], {})).toThrow(`cannot read --env-file ${join(dir, 'none.env')}: ENOENT`);
  });
});

describe('livewall-worker lint FILE|GLOB... (the built CLI)', () => {
  function lint(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    expect(existsSync(CLI), `${CLI} is built by npx tsc -b`).toBe(true);
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, 'lint', ...args], { env: { PATH: process.env.PATH, ...env }, ...(cwd ? { cwd } : {}) }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      });
    });
  }

  it('prints each problem as file:line:column: message on stdout, nothing else, and exits 1', async () => {
    const file = write('routes-at-fault.yaml', ROUTES_AT_FAULT);
    expect(await lint([file])).toEqual({ code: 1, stdout: ROUTES_AT_FAULT_PROBLEMS.map((problem) => `${file}:${problem}\n`).join(''), stderr: '' });
  });

  it('prints one ok line and exits 0 for a clean file: the demo config, with its password set', async () => {
    expect(await lint([DEMO], { LIVEWALL_PUBLISHER_PASSWORD: 'pw' })).toEqual({ code: 0, stdout: `${DEMO}: ok, 1 feed (2 routes)\n`, stderr: '' });
  });

  it('lints several files and quoted globs, expanded by itself relative to where it runs, reporting every problem of every file', async () => {
    const folder = mkdtempSync(join(dir, 'cli-'));
    writeFileSync(join(folder, 'x.ndjson'), '');
    writeFileSync(join(folder, 'a.yaml'), `${CLEAN.join('\n')}\n`);
    writeFileSync(join(folder, 'b.yaml'), `${CONFIG_AT_FAULT.join('\n')}\n`);
    writeFileSync(join(folder, 'y.ndjson'), '');
    const result = await lint(['*.yaml', DEMO, '*.yml'], { LIVEWALL_PUBLISHER_PASSWORD: 'pw' }, folder);
    expect(result).toEqual({
      code: 1,
      stdout: ['a.yaml: ok, 2 feeds (4 routes)', ...CONFIG_AT_FAULT_PROBLEMS.map((problem) => `b.yaml:${problem}`), `${DEMO}: ok, 1 feed (2 routes)`, '*.yml: no file matches this pattern', ''].join('\n'),
      stderr: '',
    });
    // A file named twice, by name and by a glob, is linted once.
    expect(await lint(['a.yaml', '[a].yaml'], {}, folder)).toEqual({ code: 0, stdout: 'a.yaml: ok, 2 feeds (4 routes)\n', stderr: '' });
  });

  it('passes the demo config in a fresh shell with --skip-env-check, or with its password from --env-file', async () => {
    expect(await lint([DEMO])).toMatchObject({ code: 1, stdout: expect.stringContaining('LIVEWALL_PUBLISHER_PASSWORD is not set') as unknown });
    expect(await lint(['--skip-env-check', DEMO])).toEqual({ code: 0, stdout: `${DEMO}: ok, 1 feed (2 routes)\n`, stderr: '' });
    const envFile = join(dir, 'demo.env');
    writeFileSync(envFile, 'LIVEWALL_PUBLISHER_PASSWORD=pw\n');
    expect(await lint(['--env-file', envFile, DEMO])).toEqual({ code: 0, stdout: `${DEMO}: ok, 1 feed (2 routes)\n`, stderr: '' });
  });

  it('prints one JSON document with --format json, and exits as the text output does', async () => {
    const file = write('config-at-fault.yaml', CONFIG_AT_FAULT);
    const failed = await lint(['--format', 'json', file, DEMO], { LIVEWALL_PUBLISHER_PASSWORD: 'pw' });
    expect({ code: failed.code, stderr: failed.stderr }).toEqual({ code: 1, stderr: '' });
    const report = JSON.parse(failed.stdout) as { files: FileReport[]; problems: number };
    expect(report.problems).toBe(CONFIG_AT_FAULT_PROBLEMS.length);
    expect(report.files.map(({ file, ok, feeds, routes }) => ({ file, ok, feeds, routes }))).toEqual([
      { file, ok: false, feeds: 0, routes: 0 },
      { file: DEMO, ok: true, feeds: 1, routes: 2 },
    ]);
    expect(report.files[0]?.problems[0]).toEqual({ line: 3, column: 13, message: 'environment variable LINT_PASSWORD is not set (used by broker.password)' });
    const passed = await lint(['--format=json', '--skip-env-check', DEMO]);
    expect({ code: passed.code, report: JSON.parse(passed.stdout) as unknown }).toEqual({ code: 0, report: { files: [{ file: DEMO, ok: true, problems: [], feeds: 1, routes: 2 }], problems: 0 } });
  });

  it('exits 2 with its usage for no file, or an unknown format or option', async () => {
    for (const [args, message] of [
      [[], 'lint: name a config file or more'],
      [['--format', 'xml', DEMO], 'lint: --format must be text or json, not xml'],
      [['--strict', DEMO], "Unknown option '--strict'"],
    ] as const) {
      const { code, stdout, stderr } = await lint([...args]);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toContain(message);
      expect(stderr).toContain('usage: livewall-worker lint [--format text|json] [--skip-env-check] [--env-file FILE]... FILE|GLOB...');
    }
  });

  it('fails on an --env-file it cannot read, naming it, before linting anything', async () => {
    const missing = join(dir, 'none.env');
    const { code, stdout, stderr } = await lint(['--env-file', missing, DEMO]);
    expect(stdout).toBe('');
    expect(stderr).toContain(missing);
    // Node itself looks for --env-file among a script's arguments too and, when that file is missing, exits 9 before
    // the script runs (nodejs/node#54232); where it does not, lint says so with its usage and exits 2.
    expect([2, 9]).toContain(code);
    if (code === 2) expect(stderr).toContain(`lint: cannot read --env-file ${missing}: ENOENT`);
  });

  it('prints its help with --help, exit 0', async () => {
    const { code, stdout } = await lint(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: livewall-worker lint .*\n\ncheck config files/);
    for (const option of ['--format json', '--skip-env-check', '--env-file FILE']) expect(stdout).toContain(option);
  });
});
