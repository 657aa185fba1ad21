/**
 * What the built CLI writes where: its log as readable lines on a terminal (or with LOG_FORMAT=pretty) and JSON lines
 * anywhere else, a dry run's items as `tap` prints them, and a LOG_FORMAT it does not take refused in one line.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prettyItem } from './item-line.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const recording = fileURLToPath(new URL('../../samples/x-cats.ndjson', import.meta.url));
const demo = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));
/** util-linux's script(1) runs a command on a pseudo-terminal: how a test is a person at a terminal. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'livewall-cli-output-'));
  config = join(dir, 'dry.yaml');
  // The bundled recording, once and fast; a dry run needs no broker.
  writeFileSync(config, `broker: { url: "amqp://localhost:5672" }
sources:
  x:
    replay: { file: ${JSON.stringify(recording)}, pace: 1000/s }
feeds:
  - name: cats
    network: x
    keywords: [cat]
`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI to its end with only PATH and `env` in its environment (none of the developer's LOG_ settings). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const TIME = String.raw`\[\d\d:\d\d:\d\d\.\d{3}\]`;
const args = (): string[] => ['run', '--config', config, '--dry-run'];

describe('run --dry-run', () => {
  it('logs JSON lines when piped: each feed item whole, its message the item as tap prints it, and "stopped" last', { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await run(args());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const records = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { msg: string; item?: { feed: string } });
    const items = records.filter((record) => record.item !== undefined);
    expect(items.length).toBeGreaterThan(10);
    for (const record of items) {
      expect(record.item).toMatchObject({ feed: 'cats' });
      expect(record.msg).toBe(`/topic/feed.cats  ${prettyItem(record.item)}`);
    }
    expect(records.at(-1)).toMatchObject({ name: 'livewall-worker', msg: 'stopped' });
  });

  it('writes readable lines with LOG_FORMAT=pretty, each item just as tap prints it, and "stopped" last although it exits at once', { timeout: 30_000 }, async () => {
    const [json, pretty] = await Promise.all([run(args()), run(args(), { LOG_FORMAT: 'pretty' })]);
    expect({ code: pretty.code, stderr: pretty.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = pretty.stdout.trimEnd().split('\n');
    const itemLines = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; item?: unknown })
      .filter((record) => record.item !== undefined)
      .map((record) => record.msg);
    expect(lines.filter((line) => line.startsWith('/topic/feed.cats  ')).sort()).toEqual(itemLines.sort());
    expect(lines.filter((line) => !line.startsWith('/topic/feed.cats  ')).every((line) => new RegExp(`^${TIME} (INFO|WARN): `).test(line))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${TIME} INFO: route feed:cats started \\{"route":"feed:cats","state":"started","previous":"starting"\\}$`)));
    expect(lines.at(-1)).toMatch(new RegExp(`^${TIME} INFO: stopped \\{"routes":`));
    expect(pretty.stdout).not.toContain('\u001b[');
  });
});

describe.skipIf(!hasScript)('on a terminal', () => {
  /** The command's output as a pseudo-terminal shows it (script(1) reports the command's exit status as its own). */
  function onTerminal(env: Record<string, string>): Promise<{ code: number; output: string }> {
    const command = [process.execPath, cli, ...args()].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
    return new Promise((resolve) => {
      execFile('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH, SHELL: '/bin/sh', ...env }, timeout: 30_000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code) : 0, output: stdout.replaceAll('\r\n', '\n') }),
      );
    });
  }

  it('writes readable lines in colour without being asked, and without colour with NO_COLOR', { timeout: 30_000 }, async () => {
    const [colour, plain] = await Promise.all([onTerminal({}), onTerminal({ NO_COLOR: '1' })]);
    expect(colour.code).toBe(0);
    expect(colour.output).toContain('\u001b[');
    expect(colour.output).not.toContain('{"level"');
    expect(colour.output).toContain('/topic/feed.cats  ');
    expect(plain.code).toBe(0);
    expect(plain.output).not.toContain('\u001b[');
    expect(plain.output.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^${TIME} INFO: stopped `));
  });

  it('logs JSON lines there too with LOG_FORMAT=json', { timeout: 30_000 }, async () => {
    const { code, output } = await onTerminal({ LOG_FORMAT: 'json' });
    expect(code).toBe(0);
    expect(JSON.parse(output.trimEnd().split('\n').at(-1) as string)).toMatchObject({ msg: 'stopped' });
  });
});

describe('LOG_FORMAT', () => {
  it('refuses a value it does not take in one line, exit 1, for every command that logs', { timeout: 30_000 }, async () => {
    const env = { LOG_FORMAT: 'xml' };
    const results = await Promise.all([
      run(args(), env),
      run(['tap', 'cats', '--port', '1'], env),
      run(['record', '--config', demo, '--source', 'x', '--feed', 'cats', '--out', join(dir, 'out.ndjson')], env),
    ]);
    for (const result of results) expect(result).toEqual({ code: 1, stdout: '', stderr: 'livewall-worker: LOG_FORMAT must be one of pretty, json, not "xml"\n' });
  });
});
