import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The README and docs/ stay true: every link they make goes to a file (and heading) that exists, and every command
 * they show names a script that is there, a subcommand it has and options it takes — the worker's against its own
 * `--help`. The README stays the front door: the two commands come first.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const cli = join(root, 'worker/dist/cli.js');

const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped (but - and _), spaces to dashes. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown file offers: its headings' slugs (repeats numbered as GitHub does). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Text outside fenced code blocks, where links live. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** Relative link targets of a Markdown file: `[text](target)` and `<img src="target">`. */
function links(text: string): string[] {
  const body = prose(text).replace(/`[^`\n]*`/g, '');
  const markdown = [...body.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] as string);
  const html = [...body.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
  return [...markdown, ...html].filter((target) => !/^[a-z]+:/i.test(target));
}

/** The commands a file shows: lines of its code blocks, and inline code, that start with a script or the worker. */
function commands(text: string): string[] {
  const fencedLines = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].flatMap((block) => (block[1] as string).split('\n'));
  const inline = [...prose(text).matchAll(/`([^`\n]+)`/g)].map((match) => match[1] as string);
  const start = /^(?:[A-Z_]+=\S*\s+)*(\.\/scripts\/|scripts\/|node worker\/dist\/cli\.js\b|npx livewall-worker\b|livewall-worker\b)/;
  return [...fencedLines, ...inline].map((line) => line.trim()).filter((line) => start.test(line));
}

const helpCache = new Map<string, Promise<string>>();
/** `livewall-worker SUB --help`, as the built CLI prints it. */
function workerHelp(subcommand: string): Promise<string> {
  let help = helpCache.get(subcommand);
  if (!help) {
    help = run(process.execPath, [cli, subcommand, '--help']).then(({ stdout }) => stdout);
    helpCache.set(subcommand, help);
  }
  return help;
}

/** What is wrong with one command, or nothing. */
async function checkCommand(command: string): Promise<string[]> {
  const words = command
    .replace(/\s+#.*$/, '')
    .replace(/^(?:[A-Z_]+=\S*\s+)*/, '')
    .split(/\s+/);
  const problems: string[] = [];
  const options = words.filter((word) => /^--[a-z][a-z-]*/.test(word)).map((word) => word.replace(/[=\]|,].*$/, ''));
  if (/^(\.\/)?scripts\//.test(words[0] as string)) {
    let path = (words[0] as string).replace(/^\.\//, '');
    if (path.includes('*')) {
      // A pattern in prose (`scripts/bench-*.mjs`) must match something.
      const pattern = new RegExp(`^${path.split('/').at(-1)!.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
      const folder = join(root, dirname(path));
      return existsSync(folder) && readdirSync(folder).some((name) => pattern.test(name)) ? [] : [`${words[0]} matches no file`];
    }
    if (!existsSync(join(root, path))) return [`${words[0]} does not exist`];
    // A folder named in prose (`scripts/rabbitmq/`) is a path, not a command.
    if (statSync(join(root, path)).isDirectory()) return [];
    // scripts/broker --broker rabbitmq hands everything to the RabbitMQ node's script.
    if (path === 'scripts/broker' && words.join(' ').includes('--broker rabbitmq')) path = 'scripts/rabbitmq/broker';
    const script = join(root, path);
    if (!script.endsWith('.mjs')) {
      try {
        accessSync(script, constants.X_OK);
      } catch {
        problems.push(`${words[0]} is not executable`);
      }
    }
    // A script's options may be parsed by the helpers it runs: scripts/bench-wan.mjs for scripts/bench wan.
    const helpers = readdirSync(dirname(script)).filter((name) => name.startsWith(`${script.split('/').at(-1)}-`));
    const own = readFileSync(script, 'utf8');
    const source = [own, ...helpers.map((name) => readFileSync(join(dirname(script), name), 'utf8'))].join('\n');
    // A subcommand (scripts/broker stop, scripts/broker-ha kill primary) is one of the script's case arms.
    const subcommand = words.slice(1).find((word, index) => !word.startsWith('-') && words[index]?.startsWith('--') !== true);
    if (subcommand && /^[a-z][a-z|-]*$/.test(subcommand) && !script.endsWith('.mjs') && !/\/(test|start|setup)$/.test(script)) {
      for (const name of subcommand.split('|')) {
        if (!new RegExp(`(^|[\\s|(])${name}(\\)|\\|)`, 'm').test(own)) problems.push(`${words[0]} has no subcommand "${name}"`);
      }
    }
    // scripts/test passes vitest's options on; the rest take only what they parse themselves.
    if (!/\/test$/.test(script)) for (const option of options) if (!source.includes(option)) problems.push(`${words[0]} takes no ${option}`);
    return problems;
  }
  const rest = words[0] === 'node' ? words.slice(2) : words[0] === 'npx' ? words.slice(2) : words.slice(1);
  const subcommand = rest[0];
  if (subcommand === undefined || subcommand.startsWith('-')) return subcommand === '--version' || subcommand === '--help' || subcommand === undefined ? [] : [`livewall-worker takes no ${subcommand}`];
  if (!['run', 'lint', 'tap', 'record', 'moderate'].includes(subcommand)) return [`livewall-worker has no command "${subcommand}"`];
  const help = await workerHelp(subcommand);
  for (const option of options) if (!help.includes(option)) problems.push(`livewall-worker ${subcommand} takes no ${option}`);
  return problems;
}

describe('README.md and docs/', () => {
  it.each(docs)('%s: every relative link goes to a file (and a heading) that exists', (file) => {
    const broken: string[] = [];
    for (const target of links(read(file))) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURIComponent(path));
      if (!existsSync(resolved)) broken.push(`${target}: no ${relative(root, resolved)}`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${target}: ${relative(root, resolved)} has no heading #${anchor}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(docs)('%s: every command it shows names a script, subcommand and options that exist', { timeout: 30_000 }, async (file) => {
    const problems: string[] = [];
    for (const command of new Set(commands(read(file)))) for (const problem of await checkCommand(command)) problems.push(`${command}: ${problem}`);
    expect(problems).toEqual([]);
  });

  it('the checks can fail: a link to a missing file, a missing heading, an unknown option', async () => {
    expect(links('see [x](docs/nowhere.md) and <img src="a.png"> but not `[y](z.md)` or [w](https://example.com)')).toEqual(['docs/nowhere.md', 'a.png']);
    expect(anchors(join(root, 'README.md')).has('troubleshooting')).toBe(true);
    expect(await checkCommand('node worker/dist/cli.js run --config demo.yaml --wacth')).toEqual(['livewall-worker run takes no --wacth']);
    expect(await checkCommand('node worker/dist/cli.js serve')).toEqual(['livewall-worker has no command "serve"']);
    expect(await checkCommand('scripts/broker restart')).toEqual(['scripts/broker has no subcommand "restart"']);
    expect(await checkCommand('./scripts/start --brokers rabbitmq')).toEqual(['./scripts/start takes no --brokers']);
    expect(await checkCommand('scripts/nothing')).toEqual(['scripts/nothing does not exist']);
    expect(await checkCommand('scripts/nothing-*.mjs')).toEqual(['scripts/nothing-*.mjs matches no file']);
  });

  it('the README is the front door: what livewall is, a picture and the two commands come before anything else', () => {
    const lines = read('README.md').split('\n');
    const firstScreen = lines.slice(0, 45).join('\n');
    expect(firstScreen).toMatch(/!\[[^\]]+\]\(docs\/[^)]+\.png\)/);
    expect(firstScreen).toMatch(/^\.\/scripts\/start$/m);
    expect(firstScreen).toMatch(/^\.\/scripts\/test$/m);
    // Depth lives in docs/: the README stays short enough to read.
    expect(lines.length).toBeLessThan(200);
  });
});
