/**
 * docs/environment.md lists every environment variable livewall's programs read, and nothing else. The variables are
 * collected from the sources themselves — scripts/, web/server/, worker/src/, worker/config/, activemq/,
 * docker-compose.yml and the Dockerfile, tests left out — so a variable added anywhere without a row, or a row left
 * behind by a variable nothing reads any more, fails here with the files and lines to look at.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOC = 'docs/environment.md';

/** Variables the doc may name although no source reads them: each is named in the README or another doc instead. */
const NAMED_IN_OTHER_DOCS: Record<string, string> = {
  LIVEWALL_TLS_PEMCFG: "the amqps acceptor an operator adds to broker.xml, shown in the README's TLS section",
  MASTODON_TOKEN: "the example name for sources.mastodon.tokenEnv, which has no default",
};

/** Every file under `dir` (relative to the root), skipping dependencies and build output. */
function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!['node_modules', 'dist', 'dist-server'].includes(entry.name)) files.push(...walk(path));
    } else if (entry.isFile()) {
      files.push(path);
    }
  }
  return files;
}

const isTest = (file: string): boolean => /\.test\.ts$/.test(file);

/** The files whose variables the doc must cover: the programs, their scripts and their configuration; no tests. */
function sourceFiles(): string[] {
  return [
    ...walk('scripts'),
    ...walk('web/server').filter((file) => file.endsWith('.ts') && !isTest(file)),
    ...walk('worker/src').filter((file) => file.endsWith('.ts') && !isTest(file)),
    ...walk('worker/config').filter((file) => /\.ya?ml$/.test(file)),
    ...walk('activemq'),
    'docker-compose.yml',
    'Dockerfile',
  ].sort();
}

interface Source {
  file: string;
  text: string;
}

function readSources(): Source[] {
  return sourceFiles()
    .map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }))
    .filter(({ text }) => !text.includes('\0'));
}

/** name → where it is read ("file:line"); a name ending in `_` is a prefix that a script completes at run time. */
type Found = Map<string, string[]>;

function add(found: Found, name: string, file: string, text: string, index: number): void {
  const line = text.slice(0, index).split('\n').length;
  const at = `${file}:${line}`;
  const places = found.get(name) ?? [];
  if (!places.includes(at)) places.push(at);
  found.set(name, places);
}

function matchAll(found: Found, source: Source, pattern: RegExp, group = 1): void {
  for (const match of source.text.matchAll(pattern)) add(found, match[group] as string, source.file, source.text, match.index);
}

const isShell = ({ file, text }: Source): boolean => file.endsWith('.sh') || /^#!.*\b(?:ba)?sh\b/.test(text);
const isScript = ({ file }: Source): boolean => /\.(?:ts|mts|mjs|js)$/.test(file);

/** Every environment variable the sources read, set or hand to the programs they start. */
function collect(sources: Source[]): Found {
  const found: Found = new Map();
  for (const source of sources) {
    // livewall's own, wherever they are written: code, scripts, configs, comments.
    matchAll(found, source, /\bLIVEWALL_[A-Z0-9_]+/g, 0);
    if (isScript(source)) {
      // process.env.NAME, env.NAME, env['NAME'], and const { NAME: x } = process.env.
      matchAll(found, source, /\benv\.([A-Z][A-Z0-9_]*)\b/g);
      matchAll(found, source, /\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g);
      for (const match of source.text.matchAll(/\{([^{}]*)\}\s*=\s*process\.env\b/g)) {
        const keys = match[1] as string;
        for (const key of keys.matchAll(/(?:^|[{,])\s*([A-Z][A-Z0-9_]*)\s*(?=[:,}]|$)/g)) add(found, key[1] as string, source.file, source.text, match.index);
      }
      // An option that names an environment variable, with a default name (the X source's tokenEnv).
      matchAll(found, source, /\b\w*Env:\s*\{[^{}]*\bdefault:\s*'([A-Z][A-Z0-9_]*)'/g);
    }
    if (isShell(source)) {
      // What a script exports to the programs it starts.
      for (const match of source.text.matchAll(/^[ \t]*export[ \t]+(.*)$/gm)) {
        const words = (match[1] as string).replace(/'[^']*'|"[^"]*"/g, '');
        for (const word of words.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)(?==|\s|$)/g)) add(found, word[1] as string, source.file, source.text, match.index);
      }
    }
    if (/(?:^|\/)Dockerfile$/.test(source.file)) {
      for (const match of source.text.matchAll(/^ENV[ \t]+(.*)$/gm)) {
        for (const name of (match[1] as string).matchAll(/([A-Z_][A-Z0-9_]*)=/g)) add(found, name[1] as string, source.file, source.text, match.index);
      }
    }
    if (source.file.startsWith('worker/config/')) {
      // ${NAME} and ${NAME:-default} in a worker config.
      matchAll(found, source, /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g);
    }
    if (source.file === 'docker-compose.yml') collectComposeEnvironment(found, source);
  }
  return found;
}

/** The keys of each service's `environment:` mapping. */
function collectComposeEnvironment(found: Found, source: Source): void {
  let indent: number | undefined;
  let offset = 0;
  for (const line of source.text.split('\n')) {
    const depth = line.length - line.trimStart().length;
    if (indent !== undefined && line.trim() !== '' && depth <= indent) indent = undefined;
    const key = /^\s+([A-Z_][A-Z0-9_]*):/.exec(line);
    if (indent !== undefined && key) add(found, key[1] as string, source.file, source.text, offset);
    if (/^\s+environment:\s*$/.test(line)) indent = depth;
    offset += line.length + 1;
  }
}

const ENV_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:_\*)?$/;
const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);

interface Doc {
  /** The names the doc gives a row or a list entry of their own: first cells of table rows, heads of list items. */
  defined: Set<string>;
  /** Every variable-like name the doc mentions in backticks anywhere (with an underscore, or defined). */
  named: Set<string>;
  /** Table rows: their cells. */
  rows: { line: number; cells: string[] }[];
  /** Table header rows. */
  headers: string[];
}

function readDoc(text: string): Doc {
  const defined = new Set<string>();
  const named = new Set<string>();
  const rows: Doc['rows'] = [];
  const headers: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (!line.startsWith('|')) return;
    const cells = line.slice(1, line.endsWith('|') ? -1 : undefined).split('|').map((cell) => cell.trim());
    if (cells.every((cell) => /^-+$/.test(cell))) {
      headers.push(lines[index - 1] ?? '');
      return;
    }
    if (/^\s*\|\s*-/.test(lines[index + 1] ?? '')) return;
    rows.push({ line: index + 1, cells });
    for (const name of backticked(cells[0] ?? '')) if (ENV_NAME.test(name)) defined.add(name);
  });
  // List items (indented lines continue one): the names before the first ": ".
  const items: string[] = [];
  for (const line of lines) {
    if (line.startsWith('- ')) items.push(line);
    else if (/^ {2}\S/.test(line) && items.length > 0) items.push(`${items.pop() as string} ${line.trim()}`);
    else items.push('');
  }
  for (const item of items.filter((text) => text.startsWith('- '))) {
    for (const name of backticked(item.split(': ')[0] ?? '')) if (ENV_NAME.test(name)) defined.add(name);
  }
  for (const name of backticked(text)) if (ENV_NAME.test(name) && (name.includes('_') || defined.has(name))) named.add(name);
  for (const name of defined) named.add(name);
  return { defined, named, rows, headers };
}

const sources = readSources();
const found = collect(sources);
const docText = readFileSync(join(root, DOC), 'utf8');
const doc = readDoc(docText);
const where = (name: string): string => `${name}: ${(found.get(name) ?? []).slice(0, 4).join(', ')}${(found.get(name) ?? []).length > 4 ? ', …' : ''}`;

describe('docs/environment.md', () => {
  test('the collector sees what the programs read (it has not gone blind to a moved file)', () => {
    for (const name of ['LOG_LEVEL', 'LOG_FORMAT', 'NO_COLOR', 'X_BEARER_TOKEN', 'LIVEWALL_STOMP_TCP_PORT', 'LIVEWALL_TAP_PASSCODE', 'LIVEWALL_WEB_PORT', 'LIVEWALL_AMQP_URL', 'LIVEWALL_PROXY_BIND', 'LIVEWALL_CLUSTER_USER', 'LIVEWALL_HA_', 'BENCH_STOMP_URL', 'CHROMIUM', 'RABBITMQ_NODENAME', 'ARTEMIS_USER', 'NODE_ENV']) {
      expect(found.has(name), `${name} is not found in the sources any more: is the collector still looking in the right files?`).toBe(true);
    }
    // Tests are not programs: a variable only a test reads is not collected.
    expect(found.has('LIVEWALL_TEST_X_TOKEN')).toBe(false);
    expect(sources.some(({ file }) => isTest(file))).toBe(false);
  });

  test('the collector recognises each way a variable is read, set or handed on', () => {
    const samples: Source[] = [
      { file: 'worker/src/a.ts', text: "const a = process.env.ONE_A; const b = env.ONE_B?.trim(); const c = env['ONE_C'];\nconst { ONE_D: d, ONE_E } = process.env;\nconst o = { tokenEnv: { type: 'string', default: 'ONE_F', doc: 'x' } };" },
      { file: 'scripts/b', text: '#!/usr/bin/env bash\nport=${LIVEWALL_SAMPLE_PORT:-1}\nexport TWO_A=$x TWO_B="a B c" TWO_C\nmsg="set LIVEWALL_SAMPLE_$(echo x)_PORT"' },
      { file: 'worker/config/c.yaml', text: 'broker:\n  url: ${THREE_A:-amqp://x}\n  password: ${THREE_B}' },
      { file: 'Dockerfile', text: 'FROM node\nENV FOUR_A=production FOUR_B=1' },
      { file: 'docker-compose.yml', text: 'services:\n  web:\n    environment:\n      FIVE_A: "1"\n      FIVE_B: ${X:?x}\n    ports:\n      - "80:80"\n' },
    ];
    const names = [...collect(samples).keys()].sort();
    expect(names).toEqual(['FIVE_A', 'FIVE_B', 'FOUR_A', 'FOUR_B', 'LIVEWALL_SAMPLE_', 'LIVEWALL_SAMPLE_PORT', 'ONE_A', 'ONE_B', 'ONE_C', 'ONE_D', 'ONE_E', 'ONE_F', 'THREE_A', 'THREE_B', 'TWO_A', 'TWO_B', 'TWO_C']);
  });

  test('every variable a program reads has a row (or an entry in the internal list)', () => {
    const missing = [...found.keys()].filter((name) => !name.endsWith('_') && !doc.defined.has(name)).sort();
    expect(missing, `${DOC} has no row for these variables; add one to the table of the program that reads them:\n  ${missing.map(where).join('\n  ')}\n`).toEqual([]);
  });

  test('every variable prefix a script completes at run time is documented as a pattern (PREFIX…_*)', () => {
    const prefixes = [...found.keys()].filter((name) => name.endsWith('_'));
    const patterns = [...doc.defined].filter((name) => name.endsWith('_*'));
    const missing = prefixes.filter((prefix) => !patterns.some((pattern) => pattern.startsWith(prefix))).sort();
    expect(missing, `${DOC} has no pattern (e.g. \`${missing[0] ?? 'PREFIX_'}*\`) for these names built at run time:\n  ${missing.map(where).join('\n  ')}\n`).toEqual([]);
  });

  test('every variable the doc names is still read somewhere (no stale rows)', () => {
    const otherDocs = ['README.md', ...walk('docs').filter((file) => file.endsWith('.md') && file !== DOC)].map((file) => readFileSync(join(root, file), 'utf8')).join('\n');
    const mentioned = (name: string, text: string): boolean => new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(text);
    const stale = [...doc.named]
      .filter((name) => {
        if (name.endsWith('_*')) {
          const stem = name.slice(0, -1);
          return ![...found.keys()].some((read) => read.startsWith(stem) || stem.startsWith(read));
        }
        if (found.has(name) || sources.some(({ text }) => mentioned(name, text))) return false;
        return !(name in NAMED_IN_OTHER_DOCS && mentioned(name, otherDocs));
      })
      .sort();
    expect(stale, `${DOC} names variables that no program reads any more (nor, for ${Object.keys(NAMED_IN_OTHER_DOCS).join(', ')}, any other doc); remove them or fix the name:\n  ${stale.join('\n  ')}\n`).toEqual([]);
  });

  test('each table is variable | default | what it does, one row per line', () => {
    expect(doc.headers.length).toBeGreaterThanOrEqual(10);
    for (const header of doc.headers) expect(header).toBe('| variable | default | what it does |');
    const broken = doc.rows.filter(({ cells }) => cells.length !== 3).map(({ line }) => `${DOC}:${line}`);
    expect(broken, 'rows with other than 3 cells (a | inside a cell?)').toEqual([]);
  });

  // Its links and headings are checked with the rest of docs/ by test/docs.test.ts.
});
