import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultComponents } from './components/index.js';
import { lintConfig, runLint } from './lint.js';

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
  '18:42: unknown expression "isPots"; known: isRejected, isPost, hasPictures, isMapped, meetsContract',
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
  '11:1: unknown field "colour" in the top level; expected one of broker, outbox, imageHosts, videoPreviews, shutdownTimeout, source, sources, feeds, deadLetter, ops, region, ownership, status, routes',
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
    expect(lintConfig(write('clean.yaml', CLEAN), {})).toEqual({ problems: [], routes: 4 });
  });

  it('reports a YAML syntax error once, and a file it cannot read', () => {
    const broken = write('broken.yaml', ['routes:', '  - route: { id: a', 'feeds: []']);
    expect(lintConfig(broken, {}).problems).toEqual([`${broken}:3:1: Flow map in block collection must be sufficiently indented and end with a }`]);
    const missing = join(dir, 'missing.yaml');
    expect(lintConfig(missing, {}).problems).toEqual([`${missing}: cannot read: ENOENT: no such file or directory, open '${missing}'`]);
  });

  it('passes the demo config when its password is set', () => {
    expect(lintConfig(DEMO, { LIVEWALL_PUBLISHER_PASSWORD: 'pw' })).toEqual({ problems: [], routes: 2 });
  });
});

describe('runLint', () => {
  it('writes one problem a line and returns 1, or one ok line and returns 0', () => {
    const output: string[] = [];
    const out = { write: (text: string) => output.push(text) };
    expect(runLint(write('config-at-fault.yaml', CONFIG_AT_FAULT), out, {})).toBe(1);
    expect(runLint(write('clean.yaml', CLEAN), out, {})).toBe(0);
    expect(output.join('').split('\n')).toEqual([...CONFIG_AT_FAULT_PROBLEMS.map((problem) => `${join(dir, 'config-at-fault.yaml')}:${problem}`), `${join(dir, 'clean.yaml')}: ok, 4 routes`, '']);
  });
});

describe('livewall-worker lint FILE (the built CLI)', () => {
  function lint(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    expect(existsSync(CLI), `${CLI} is built by npx tsc -b`).toBe(true);
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, 'lint', ...args], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      });
    });
  }

  it('prints each problem as file:line:column: message on stdout, nothing else, and exits 1', async () => {
    const file = write('routes-at-fault.yaml', ROUTES_AT_FAULT);
    expect(await lint([file])).toEqual({ code: 1, stdout: ROUTES_AT_FAULT_PROBLEMS.map((problem) => `${file}:${problem}\n`).join(''), stderr: '' });
  });

  it('prints one ok line and exits 0 for a clean file: the demo config, with its password set', async () => {
    expect(await lint([DEMO], { LIVEWALL_PUBLISHER_PASSWORD: 'pw' })).toEqual({ code: 0, stdout: `${DEMO}: ok, 2 routes\n`, stderr: '' });
  });

  it('exits 2 with the usage for anything but one file', async () => {
    const { code, stdout, stderr } = await lint([]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('livewall-worker lint FILE');
  });
});
