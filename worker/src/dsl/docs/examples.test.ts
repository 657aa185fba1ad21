import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultComponents } from '../../components/index.js';
import { parseConfig } from '../../config.js';
import { feedRoutes } from '../../feeds.js';
import { compileRoutes } from '../compile-routes.js';
import { parseConfigFile } from '../config-file.js';
import { asMapping } from '../context.js';
import { defaultFunctions } from '../expressions.js';
import { fencedBlocks, type CodeBlock } from './markdown.js';
import { ROUTES_DOC } from './update-routes-doc.js';
import { exampleConfig } from './yaml-examples.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const WORKER_SRC = join(ROOT, 'worker/src');
const doc = readFileSync(ROUTES_DOC, 'utf8');

describe('the YAML examples in docs/routes.md', () => {
  const blocks = fencedBlocks(doc, 'yaml');

  it('are all found', () => {
    expect(blocks.length).toBe(doc.split('```yaml\n').length - 1);
  });

  const isFeeds = (block: CodeBlock): boolean => asMapping(parse(block.code))?.feeds !== undefined;

  it.each(blocks.filter(isFeeds).map((block) => [block.line, block] as const))('the feeds and sources at line %i make routes', (_, block) => {
    const text = `broker: { url: "amqp://localhost:5672" }\n${block.code}`;
    const config = parseConfig(text, `docs/routes.md:${block.line}`, { X_BEARER_TOKEN: 'token' });
    // The routes the table under the example lists.
    expect(feedRoutes(config).map((route) => route.id)).toEqual([
      ...config.feeds.map((feed) => `feed:${feed.name}`),
      ...['x', 'bluesky', 'mastodon'].filter((network) => config.feeds.some((feed) => feed.networks.includes(network as 'x'))).flatMap((network) =>
        network === 'mastodon' ? ['source:mastodon:mastodon.social#cats'] : [`source:${network}`],
      ),
    ]);
  });

  it.each(blocks.filter((block) => !isFeeds(block)).map((block) => [block.line, block] as const))('compile without a problem: the block at line %i', (_, block) => {
    const configFile = parseConfigFile(exampleConfig(block), `docs/routes.md:${block.line}`);
    const { routes, problems } = compileRoutes(configFile, defaultComponents(), defaultFunctions(), {});
    expect(problems).toEqual([]);
    expect(routes.length).toBeGreaterThan(0);
  });
});

describe('the feeds and sources example in docs/configuration.md', () => {
  it('is a valid config that makes a route per feed and per source', () => {
    const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    const [block] = fencedBlocks(doc, 'yaml').filter((candidate) => candidate.code.includes('sources:'));
    if (!block) throw new Error('docs/configuration.md has no yaml block with sources:');
    const config = parseConfig(`broker: { url: "amqp://localhost:5672" }\n${block.code}`, `docs/configuration.md:${block.line}`, { X_BEARER_TOKEN: 'token' });
    expect(feedRoutes(config).map((route) => route.id)).toEqual(['feed:cats', 'feed:dogs', 'feed:sky-cats', 'feed:toot-cats', 'feed:caturday', 'source:x', 'source:bluesky', 'source:mastodon:mastodon.social#cats', 'source:mastodon:mastodon.social#caturday']);
    expect(config.feeds.find((feed) => feed.name === 'dogs')?.rule).toBe('dog has:images -is:retweet lang:en');
  });

  it('has a feed from several networks that is a valid feed of those networks', () => {
    const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    const [block] = fencedBlocks(doc, 'yaml').filter((candidate) => candidate.code.includes('networks: [x, bluesky, mastodon]') && !candidate.code.includes('sources:'));
    if (!block) throw new Error('docs/configuration.md has no yaml block with a feed on several networks');
    const sources = 'sources: { x: {}, bluesky: {}, mastodon: { instances: [mastodon.social] } }';
    const config = parseConfig(`broker: { url: "amqp://localhost:5672" }\n${sources}\n${block.code}`, `docs/configuration.md:${block.line}`, { X_BEARER_TOKEN: 'token' });
    expect(config.feeds.map(({ name, networks }) => ({ name, networks }))).toEqual([{ name: 'caturday', networks: ['x', 'bluesky', 'mastodon'] }]);
    expect(feedRoutes(config).find((route) => route.id === 'feed:caturday')?.from).toBe('hub:x,bluesky,mastodon?live=true');
  });
});

describe('the cross-region example in docs/regions.md', () => {
  it('is a valid broker and outbox section', () => {
    const doc = readFileSync(join(ROOT, 'docs/regions.md'), 'utf8');
    const [block] = fencedBlocks(doc, 'yaml').filter((candidate) => candidate.code.includes('outbox:'));
    if (!block) throw new Error('docs/regions.md has no yaml block with outbox:');
    const config = parseConfig(`${block.code}\nfeeds:\n  - name: cats\n    keywords: [cat]\n`, `docs/regions.md:${block.line}`, { X_BEARER_TOKEN: 'token', LIVEWALL_PUBLISHER_PASSWORD: 'pw' });
    expect(config.broker).toMatchObject({ url: 'amqps://broker-a.example:5671', failover: ['amqps://broker-b.example:5671'], idleTimeoutMs: 10_000, window: 2000 });
    expect(config.outbox).toEqual({ file: '/var/lib/livewall/outbox.db', maxItems: 100_000, maxAgeMs: 7 * 24 * 3600 * 1000 });
  });
});

/**
 * Type-checks TypeScript examples as modules in worker/src/, against the real sources, without writing a file. The
 * first example stands alone; the others continue it (its imports and functions), as the page says.
 */
function typeErrors(blocks: CodeBlock[]): string[] {
  const configFile = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'worker/tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!configFile) throw new Error('cannot read worker/tsconfig.json');
  const { rootDir: _rootDir, outDir: _outDir, ...compilerOptions } = configFile.options;
  // The contract from its source, as vitest reads it: no build needed.
  const options: ts.CompilerOptions = { ...compilerOptions, noEmit: true, composite: false, declaration: false, incremental: false, paths: { '@livewall/contract': [join(ROOT, 'contract/src/index.ts')] } };

  const [first, ...rest] = blocks;
  if (!first) return ['docs/routes.md has no ts example'];
  const files = new Map<string, { code: string; block: CodeBlock; offset: number }>();
  for (const block of blocks) {
    const standalone = block === first || /^import /m.test(block.code);
    const code = standalone ? block.code : `${first.code}\n${block.code}`;
    files.set(join(WORKER_SRC, `routes-md-example-${block.line}.ts`), { code, block, offset: standalone ? 0 : first.code.split('\n').length });
  }
  expect(rest.length).toBeGreaterThan(0);

  const host = ts.createCompilerHost(options, true);
  const readSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) => {
    const file = files.get(name);
    return file ? ts.createSourceFile(name, file.code, language, true) : readSourceFile(name, language, onError, create);
  };
  host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
  host.readFile = (name) => files.get(name)?.code ?? ts.sys.readFile(name);
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });

  // Only the examples: the sources they import are checked by tsc -b, and checking them again here is slow.
  const examples = [...files.keys()].map((name) => program.getSourceFile(name) as ts.SourceFile);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...examples.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])];
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file && files.get(diagnostic.file.fileName);
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    if (!file) return `${diagnostic.file.fileName}:${line + 1}:${character + 1}: ${message}`;
    const inBlock = line - file.offset;
    const where = inBlock < 0 ? `the first example, line ${first.line + 1 + line}` : `line ${file.block.line + 1 + inBlock}`;
    return `docs/routes.md ${where} (example at line ${file.block.line}): ${message}`;
  });
}

describe('the TypeScript examples in docs/routes.md', () => {
  it('type-check against the worker\'s sources, and a wrong one beside them does not', { timeout: 60_000 }, () => {
    const blocks = fencedBlocks(doc, 'ts');
    expect(blocks.length).toBe(doc.split('```ts\n').length - 1);
    // Checked in the same program, which is most of the cost: proof that a mistake in an example is caught.
    const wrong = { line: 1000, code: "from('replay:x.ndjson').filter(decodeX).thottle(5);" };
    expect(typeErrors([...blocks, wrong])).toEqual([
      expect.stringMatching(/^docs\/routes\.md line 1001 \(example at line 1000\): Argument of type .* is not assignable/),
      expect.stringMatching(/^docs\/routes\.md line 1001 \(example at line 1000\): Property 'thottle' does not exist/),
    ]);
  });
});
