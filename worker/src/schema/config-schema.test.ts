import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, type Document } from 'yaml';
import { defaultComponents } from '../components/index.js';
import { CONFIG_FIELDS } from '../config.js';
import { STEP_KINDS } from '../dsl/compile-steps.js';
import { fencedBlocks } from '../dsl/docs/markdown.js';
import { ROUTES_DOC } from '../dsl/docs/update-routes-doc.js';
import { exampleConfig } from '../dsl/docs/yaml-examples.js';
import { expandFiles, lintConfig } from '../lint.js';
import { configSchema, type JsonSchema } from './config-schema.js';
import { CONFIG_SCHEMA_FILE, configSchemaText } from './update-config-schema.js';

const REGENERATE = 'regenerate with: npx tsc -b && node worker/dist/schema/update-config-schema.js';
const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));
const schema = JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as JsonSchema;

describe('worker/config/schema.json', () => {
  it('is exactly what the generator writes from the option specs', () => {
    expect(readFileSync(CONFIG_SCHEMA_FILE, 'utf8') === configSchemaText(), REGENERATE).toBe(true);
  });

  it('is a valid draft-07 schema, in Ajv\'s strict mode (no unknown keyword, every keyword with its type)', () => {
    const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true });
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('lists the fields lint takes, the step kinds, and every option of every component', () => {
    const generated = configSchema();
    expect(Object.keys(generated.properties as object)).toEqual(CONFIG_FIELDS.top.filter((field) => field !== 'source'));
    const definitions = generated.definitions as Record<string, JsonSchema>;
    expect(Object.keys(((definitions.steps as { items: JsonSchema }).items.properties as object))).toEqual([...STEP_KINDS]);
    const parameters = (definitions.parameters as { allOf: { then: { properties: { parameters: { properties: object } } } }[] }).allOf;
    expect(parameters.map((scheme) => Object.keys(scheme.then.properties.parameters.properties))).toEqual(defaultComponents().list().map((component) => Object.keys(component.options)));
  });

  it('is named by the first line of every config in worker/config/', () => {
    const configs = expandFiles([join(CONFIG_DIR, '*.yaml')]);
    expect(configs.length).toBeGreaterThan(0);
    for (const { file } of configs) expect(readFileSync(file, 'utf8').split('\n')[0], file).toBe('# yaml-language-server: $schema=./schema.json');
  });
});

/**
 * The schema and lint agree on what a config file is: each example below is valid to both, or refused by both.
 * Only the shape is compared: lint also checks what a schema cannot know, so every example is linted as
 * `lint --skip-env-check` does, with its files in place, and none of them is at fault only in what lint alone sees —
 * an environment variable, a file, an option inside a URI's query, a name defined twice, settings that depend on each
 * other (ownership.lease and renew), or the value a `${VAR:-default}` stands for.
 */
describe('the schema and lint agree', () => {
  let dir: string;
  let validate: ValidateFunction;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'livewall-schema-'));
    // The recordings the examples play: lint checks that a file the config reads is there.
    for (const recording of ['x.ndjson', 'y.ndjson']) writeFileSync(join(dir, recording), '');
    validate = new Ajv({ allowUnionTypes: true, allErrors: true }).compile(schema);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What lint and the schema say of a config's text: its problems (none when valid) and the schema's errors. */
  function verdicts(name: string, text: string, file = join(dir, name)): { lint: string[]; schema: string[] } {
    if (file.startsWith(dir)) writeFileSync(file, text);
    const schemaErrors = validate(parseDocument(text).toJS()) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
    return { lint: lintConfig(file, {}, { checkEnv: false }).problems, schema: schemaErrors };
  }

  it.each(expandFiles([join(CONFIG_DIR, '*.yaml')]).map(({ file }) => [file]))('on a config shipped in worker/config/: %s is valid', (file) => {
    expect(verdicts('', readFileSync(file, 'utf8'), file)).toEqual({ lint: [], schema: [] });
  });

  const broker = 'broker: { url: "amqp://localhost:5672" }\n';
  it.each(fencedBlocks(readFileSync(ROUTES_DOC, 'utf8'), 'yaml').map((block) => [block.line, block] as const))('on the YAML example at line %i of docs/routes.md: valid', (line, block) => {
    expect(verdicts(`routes-md-${line}.yaml`, `${broker}${exampleConfig(block)}`)).toEqual({ lint: [], schema: [] });
  });

  /** A valid config that uses every section, most settings and each kind of step: the base of the edits below. */
  const FULL = `
broker:
  url: [amqps://a.example:5671, amqps://b.example:5671]
  username: publisher
  password: \${LIVEWALL_PUBLISHER_PASSWORD}
  idleTimeout: 10s
  window: 2000
  profile: \${LIVEWALL_BROKER_PROFILE:-artemis}
outbox: { file: state/outbox.db, maxItems: 1000, maxAge: 7d }
imageHosts: [media.example.org, "http://localhost:8080"]
videoPreviews: false
shutdownTimeout: 15
sources:
  x:
    replay:
      file: x.ndjson
      pace: 2/s
      loop: true
      startOffset: 3
      restamp: true
      rewriteMedia: { from: "https://pbs.twimg.com/media/", to: "http://localhost:8080/media/" }
  bluesky: { endpoints: [wss://jetstream2.us-east.bsky.network], cursorFile: state/bluesky.cursor, rewind: 5s }
  mastodon: { instances: [mastodon.social, "http://127.0.0.1:4000"], interval: 30s, pagesPerPoll: 5, sensitive: false }
feeds:
  - { name: cats, keywords: [cat], rule: "cat has:images", deadLetter: "file:dead.ndjson" }
  - { name: sky-cats, network: bluesky, keywords: [cat] }
  - { name: toot-cats, network: mastodon, keywords: ["#cats"] }
deadLetter: log:dead
ops: { port: "\${LIVEWALL_OPS_PORT:-9464}", host: 127.0.0.1 }
region: local
ownership: { lease: 5s, renew: 1s }
status: { topic: /topic/status.workers, interval: 5s, enabled: true }
routes:
  - route:
      id: all-to-log
      from:
        uri: replay:x.ndjson
        parameters: { pace: 5/s, loop: true }
        steps:
          - transform: { expression: { ref: decodeX } }
          - filter: { expression: { ref: hasPictures }, name: pictures }
          - filter: { expression: { header: lang, in: [en, de] } }
          - choice:
              when:
                - expression: { field: author.handle, equals: cat }
                  steps: [ { to: log:cats } ]
              otherwise: { steps: [ { to: "log:other?level=debug" } ] }
          - idempotent: { key: { field: id }, window: 1000 }
          - throttle: { rate: 5, period: 1s, mode: drop }
          - wireTap: { uri: log:tap, maxInFlight: 10 }
          - to: { uri: log:out, parameters: { maxChars: 200, showBody: true } }
      errorHandler:
        redelivery: { attempts: 3, initialDelay: 100ms, maxDelay: 2s, multiplier: 2, jitter: 0.2 }
        deadLetter: "file:route-dead.ndjson"
      queue: { capacity: 100, dropPolicy: drop-newest }
      concurrency: 4
  - route:
      from: { uri: "replay:y.ndjson", steps: [ { split: { expression: { ref: byFeed } } }, { to: "\${OUT:-log:y}" } ] }
`;

  it('on a config that uses every section and each kind of step: valid', () => {
    expect(verdicts('full.yaml', FULL)).toEqual({ lint: [], schema: [] });
  });

  type Path = (string | number)[];
  const STEPS: Path = ['routes', 0, 'route', 'from', 'steps'];
  const step = (index: number, ...rest: Path): Path => [...STEPS, index, ...rest];
  /** FULL with a value set (or, with `undefined`, taken away) at each path. */
  const edited = (...edits: [Path, unknown][]): string => {
    const doc: Document = parseDocument(FULL);
    for (const [path, value] of edits) {
      if (value === undefined) doc.deleteIn(path);
      else doc.setIn(path, doc.createNode(value));
    }
    return doc.toString();
  };

  const INVALID: [string, [Path, unknown][]][] = [
    // Unknown fields
    ['an unknown top-level field', [[['colour'], 'blue']]],
    ['an unknown field in a feed', [[['feeds', 0, 'title'], 'Cats']]],
    ['an unknown field in a replay', [[['sources', 'x', 'replay', 'speed'], 'fast']]],
    ['an unknown setting of a live source', [[['sources', 'bluesky', 'colour'], 'blue']]],
    ['an unknown kind of step', [[step(0), { filtr: { expression: { ref: 'isPost' } } }]]],
    ['an unknown field in a step', [[step(1, 'filter', 'nmae'), 'x']]],
    ['an unknown field in a route', [[['routes', 0, 'route', 'colour'], 'blue']]],
    ['an unknown parameter of a component', [[step(7, 'to', 'parameters', 'colour'), 'red']]],
    ['two kinds in one step', [[step(7), { to: 'log:out', filter: { expression: { ref: 'isPost' } } }]]],
    ['the old source: section', [[['source'], { replay: { file: 'x.ndjson' } }]]],
    // Wrong types
    ['a boolean that is a string', [[['videoPreviews'], 'yes']]],
    ['a window that is not a number', [[['broker', 'window'], 'ten']]],
    ['keywords that are not a list', [[['feeds', 0, 'keywords'], 'cat']]],
    ['feeds that are not a list', [[['feeds'], 'cats']]],
    ['an outbox maxItems that is not a number', [[['outbox', 'maxItems'], 'many']]],
    ['a replay loop that is not a boolean', [[['sources', 'x', 'replay', 'loop'], 'yes']]],
    ['a region that is a list', [[['region'], ['a', 'b']]]],
    ['a concurrency that is not a number', [[['routes', 0, 'route', 'concurrency'], 'many']]],
    ['a step that is a string', [[step(0), 'to log:x']]],
    ['a parameter that is a mapping', [[step(7, 'to', 'parameters', 'maxChars'), { a: 1 }]]],
    // Bad enumerations
    ['an unknown broker profile', [[['broker', 'profile'], 'kafka']]],
    ['an unknown network', [[['feeds', 1, 'network'], 'myspace']]],
    ['an unknown throttle mode', [[step(5, 'throttle', 'mode'), 'slow']]],
    ['an unknown drop policy', [[['routes', 0, 'route', 'queue', 'dropPolicy'], 'random']]],
    ['an option value a component does not take', [[step(7, 'to', 'parameters', 'showBody'), 'maybe']]],
    ['an unknown named expression', [[step(1, 'filter', 'expression', 'ref'), 'isPots']]],
    ['a named expression of the wrong kind', [[step(1, 'filter', 'expression', 'ref'), 'decodeX']]],
    // Missing required settings
    ['no broker', [[['broker'], undefined]]],
    ['no broker url', [[['broker', 'url'], undefined]]],
    ['a feed without a name', [[['feeds', 1, 'name'], undefined]]],
    ['an outbox without a file', [[['outbox', 'file'], undefined]]],
    ['a replay without a file', [[['sources', 'x', 'replay', 'file'], undefined]]],
    ['a rewriteMedia without to', [[['sources', 'x', 'replay', 'rewriteMedia', 'to'], undefined]]],
    ['ops without a port', [[['ops', 'port'], undefined]]],
    ['neither feeds nor routes', [[['feeds'], undefined], [['routes'], undefined]]],
    ['a route without from', [[['routes', 0, 'route', 'from'], undefined]]],
    ['a throttle without a rate', [[step(5, 'throttle', 'rate'), undefined]]],
    ['a filter without an expression', [[step(1, 'filter', 'expression'), undefined]]],
    ['a choice without when', [[step(3, 'choice', 'when'), undefined]]],
    ['an endpoint without a uri', [[step(6, 'wireTap', 'uri'), undefined]]],
    // Bad URLs and URIs
    ['a broker url that is not amqp', [[['broker', 'url'], 'http://localhost:8161']]],
    ['a live source URL of the wrong scheme', [[['sources', 'x'], { baseUrl: 'ftp://api.x.example' }]]],
    ['a Mastodon instance with a path', [[['sources', 'mastodon', 'instances', 0], 'https://mastodon.social/about']]],
    ['an unknown component', [[step(7, 'to', 'uri'), 'lgo:out']]],
    ['a component that cannot be used in to', [[step(7, 'to', 'uri'), 'replay:x.ndjson']]],
    ['a component that cannot be used in from', [[['routes', 0, 'route', 'from', 'uri'], 'amqp:/topic/feed.cats']]],
    ['a dead letter that is not a URI', [[['deadLetter'], 'nowhere']]],
    ['a feed dead letter of an unknown component', [[['feeds', 0, 'deadLetter'], 'lgo:dead']]],
    // Bad values
    ['a duration that is not one', [[['shutdownTimeout'], 'soon']]],
    ['a route duration without its unit', [[step(5, 'throttle', 'period'), 1000]]],
    ['a live source duration without its unit', [[['sources', 'bluesky', 'rewind'], 5]]],
    ['a pace that is not a rate', [[['sources', 'x', 'replay', 'pace'], 'fast']]],
    ['a feed name with capitals', [[['feeds', 0, 'name'], 'Cats']]],
    ['a status topic outside /topic/status.', [[['status', 'topic'], '/topic/feed.cats']]],
    ['a port out of range', [[['ops', 'port'], 70000]]],
    ['a window out of range', [[['broker', 'window'], 0]]],
    ['a jitter above 1', [[['routes', 0, 'route', 'errorHandler', 'redelivery', 'jitter'], 2]]],
    ['an option below its minimum', [[step(7, 'to', 'parameters', 'maxChars'), 0]]],
    ['an empty step name', [[step(1, 'filter', 'name'), ' ']]],
    // Settings that exclude each other
    ['a live setting beside a replay', [[['sources', 'x', 'keepAliveTimeout'], '30s']]],
    ['an X rule on a Bluesky feed', [[['feeds', 1, 'rule'], 'cat']]],
    ['an expression with two sources', [[step(2, 'filter', 'expression', 'ref'), 'isPost']]],
    ['a ref with a test', [[step(1, 'filter', 'expression', 'equals'), true]]],
    ['a predicate without its test', [[step(2, 'filter', 'expression', 'in'), undefined]]],
    ['a transform with a test', [[step(0, 'transform', 'expression'), { field: 'text', equals: 'x' }]]],
  ];

  it.each(INVALID)('on %s: both refuse it', (name, edits) => {
    const { lint, schema: errors } = verdicts(`${name.replaceAll(/\W+/g, '-')}.yaml`, edited(...edits));
    expect({ lint: lint.length > 0, schema: errors.length > 0 }, JSON.stringify({ lint, schema: errors }, null, 1)).toEqual({ lint: true, schema: true });
  });
});
