import { describe, expect, it } from 'vitest';
import { amqpComponent } from '../components/amqp/index.js';
import { logComponent } from '../components/log/index.js';
import { replayComponent } from '../components/replay/index.js';
import { from, type RouteDefinition } from '../engine/definition.js';
import { ComponentRegistry } from '../engine/registry.js';
import type { Exchange, Producer } from '../engine/types.js';
import { parseUri } from '../engine/uri.js';
import { compileRoutes, type CompiledRoutes } from './compile-routes.js';
import { parseConfigFile } from './config-file.js';
import { FunctionRegistry } from './expressions.js';

function isPost(exchange: Exchange): boolean {
  return exchange.headers.kind === 'post';
}
function post(exchange: Exchange): unknown {
  return { post: exchange.body };
}
function isCats(exchange: Exchange): boolean {
  return exchange.headers.feed === 'cats';
}
function parts(exchange: Exchange): unknown[] {
  return exchange.body as unknown[];
}
function postId(exchange: Exchange): string {
  return String(exchange.body);
}

const functions = new FunctionRegistry()
  .predicate(isPost, 'posts only')
  .transform(post, 'the post')
  .predicate(isCats, 'the cats feed')
  .splitter(parts, 'the parts')
  .key(postId, 'the post id');

/** A registry of its own, so that messages listing the known schemes do not change as the worker gains more. */
const components = (): ComponentRegistry => new ComponentRegistry().register(replayComponent).register(amqpComponent).register(logComponent);

const exchange = (body: unknown, headers: Record<string, unknown> = {}): Exchange => ({ id: 'ex-1', body, headers });

function compile(lines: string[], options: { env?: NodeJS.ProcessEnv; functions?: FunctionRegistry; components?: ComponentRegistry } = {}): CompiledRoutes {
  const configFile = parseConfigFile(`${lines.join('\n')}\n`, 'routes.yaml');
  return compileRoutes(configFile, options.components ?? components(), options.functions ?? functions, options.env ?? {});
}

/** Compiles routes that have no problems. */
function routesOf(lines: string[], options: Parameters<typeof compile>[1] = {}): RouteDefinition[] {
  const { routes, problems } = compile(lines, options);
  expect(problems).toEqual([]);
  return routes;
}

function only(lines: string[], options: Parameters<typeof compile>[1] = {}): RouteDefinition {
  const routes = routesOf(lines, options);
  expect(routes).toHaveLength(1);
  return routes[0] as RouteDefinition;
}

/** A route from replay:x.ndjson whose step list is `steps` (one YAML line each); the first step is on line 5. */
function withSteps(...steps: string[]): string[] {
  return ['routes:', '  - route:', '      from:', '        uri: replay:x.ndjson', '        steps:', ...steps.map((step) => `          ${step}`)];
}

describe('compileRoutes: a YAML route is the route the builder makes', () => {
  it('compiles every step and setting to exactly the builder\'s definition, refs to the registered functions', () => {
    const yaml = only([
      'routes:',
      '  - route:',
      '      id: cats-to-log',
      '      from:',
      '        uri: replay:../../samples/x-cats.ndjson',
      '        parameters: { pace: 5/s, loop: true }',
      '        steps:',
      '          - filter: { expression: { ref: isPost } }',
      '          - transform: { expression: { ref: post } }',
      '          - choice:',
      '              when:',
      '                - expression: { ref: isCats }',
      '                  steps: [ { to: "log:cats" } ]',
      '              otherwise:',
      '                steps: [ { to: "log:other" } ]',
      '          - split: { expression: { ref: parts } }',
      '          - idempotent: { key: { ref: postId }, window: 500 }',
      '          - throttle: { rate: 10, period: 2s, mode: drop }',
      '          - wireTap: { uri: "log:tap", maxInFlight: 10 }',
      '          - to: { uri: "amqp:/topic/feed.cats" }',
      '          - to: log:done',
      '      errorHandler:',
      '        redelivery: { attempts: 5, initialDelay: 100ms, maxDelay: 1m, multiplier: 3, jitter: 0.25 }',
      '        deadLetter: "log:dead-letters"',
      '      queue: { capacity: 50, dropPolicy: drop-newest }',
      '      concurrency: 8',
    ]);
    const built = from('replay:../../samples/x-cats.ndjson?pace=5/s&loop=true')
      .routeId('cats-to-log')
      .filter(isPost)
      .transform(post)
      .choice((choice) => choice.when(isCats, (branch) => branch.to('log:cats')).otherwise((branch) => branch.to('log:other')))
      .split(parts)
      .idempotent(postId, 500)
      .throttle(10, 2000, 'drop')
      .wireTap('log:tap', 10)
      .to('amqp:/topic/feed.cats')
      .to('log:done')
      .redelivery({ attempts: 5, initialDelayMs: 100, maxDelayMs: 60_000, multiplier: 3, jitter: 0.25 })
      .deadLetter('log:dead-letters')
      .queue(50, 'drop-newest')
      .concurrency(8)
      .build();
    expect(yaml).toEqual(built);
  });

  it('takes the builder\'s defaults for what it leaves out: id from the URI, step options, queue, redelivery', () => {
    const yaml = only([
      'routes:',
      '  - route:',
      '      from:',
      '        uri: replay:x.ndjson',
      '        steps:',
      '          - idempotent: { key: { ref: postId } }',
      '          - throttle: { rate: 5 }',
      '          - wireTap: log:tap',
      '          - to: log:out',
      '      errorHandler:',
      '        redelivery: { attempts: 7 }',
      '      queue: { dropPolicy: drop-newest }',
    ]);
    const built = from('replay:x.ndjson').idempotent(postId).throttle(5).wireTap('log:tap').to('log:out').redelivery({ attempts: 7 }).queue(1000, 'drop-newest').build();
    expect(yaml).toEqual(built);
  });

  it('names steps and branches as written, and nests choices in branches', () => {
    const yaml = only(
      withSteps(
        '- filter: { expression: { ref: isPost }, name: posts }',
        '- transform: { expression: { ref: post }, name: unwrap }',
        '- split: { expression: { ref: parts }, name: pieces }',
        '- idempotent: { key: { ref: postId }, name: seen }',
        '- choice:',
        '    when:',
        '      - name: cats',
        '        expression: { ref: isCats }',
        '        steps:',
        '          - choice:',
        '              when: [ { expression: { ref: isPost }, steps: [ { to: log:cat-posts } ] } ]',
        '          - to: log:cats',
      ),
    );
    const built = from('replay:x.ndjson')
      .filter(isPost, 'posts')
      .transform(post, 'unwrap')
      .split(parts, 'pieces')
      .idempotent(postId, 10_000, 'seen')
      .choice((choice) => choice.when(isCats, (branch) => branch.choice((inner) => inner.when(isPost, (deep) => deep.to('log:cat-posts'))).to('log:cats'), 'cats'))
      .build();
    expect(yaml).toEqual(built);
  });

  it('compiles routes in the order written, next to feeds with other ids', () => {
    const routes = routesOf(['feeds:', '  - name: cats', 'routes:', '  - route: { id: a, from: { uri: "replay:a" } }', '  - route: { id: b, from: { uri: "replay:b" } }']);
    expect(routes.map((route) => route.id)).toEqual(['a', 'b']);
  });

  it('expands ${VAR} in URIs, parameters, ids and values, as in the rest of the config', () => {
    const yaml = only(
      [
        'routes:',
        '  - route:',
        '      id: ${ROUTE_ID}',
        '      from:',
        '        uri: replay:${RECORDING:-x.ndjson}',
        '        parameters: { pace: "${PACE}" }',
        '        steps:',
        '          - filter: { expression: { header: feed, equals: "${FEED}" } }',
        '          - to: amqp:/topic/feed.${FEED}',
      ],
      { env: { ROUTE_ID: 'r1', PACE: '3/s', FEED: 'dogs' } },
    );
    expect(yaml.id).toBe('r1');
    expect(yaml.from).toBe('replay:x.ndjson?pace=3/s');
    expect(yaml.steps[1]).toEqual({ kind: 'to', uri: 'amqp:/topic/feed.dogs' });
    const filter = yaml.steps[0] as Extract<RouteDefinition['steps'][number], { kind: 'filter' }>;
    expect(filter.predicate(exchange({}, { feed: 'dogs' }))).toBe(true);
  });

  it('merges parameters into the URI\'s own options, escaping only what would end a value early', () => {
    const sent: Producer = { start: async () => undefined, send: async () => undefined, ready: () => true, stop: async () => 0 };
    const components = new ComponentRegistry().register({
      scheme: 'echo',
      doc: 'a test endpoint with a string option',
      options: { text: { type: 'string', doc: 'any text' }, count: { type: 'integer', doc: 'a number' } },
      createProducer: () => sent,
      createConsumer: () => ({ live: false, run: async () => undefined }),
    });
    const yaml = only(['routes:', '  - route:', '      from:', '        uri: "echo:in?count=2"', '        parameters: { text: "a&b=c 100%/s" }'], { components });
    expect(yaml.from).toBe('echo:in?count=2&text=a%26b=c%20100%25/s');
    expect(parseUri(yaml.from).options).toEqual({ count: '2', text: 'a&b=c 100%/s' });
  });

  it('compiles simple expressions: header and field tests as predicates, values as keys, bodies and parts', () => {
    const yaml = only(
      withSteps(
        '- filter: { expression: { header: feed, equals: cats } }',
        '- filter: { expression: { field: post.feeds, in: [cats, dogs] } }',
        '- filter: { expression: { field: post.deleted, exists: false } }',
        '- idempotent: { key: { field: post.id } }',
        '- transform: { expression: { field: post } }',
        '- split: { expression: { field: images } }',
      ),
    );
    const [byHeader, byField, notDeleted, idempotent, transform, split] = yaml.steps as [
      Extract<RouteDefinition['steps'][number], { kind: 'filter' }>,
      Extract<RouteDefinition['steps'][number], { kind: 'filter' }>,
      Extract<RouteDefinition['steps'][number], { kind: 'filter' }>,
      Extract<RouteDefinition['steps'][number], { kind: 'idempotent' }>,
      Extract<RouteDefinition['steps'][number], { kind: 'transform' }>,
      Extract<RouteDefinition['steps'][number], { kind: 'split' }>,
    ];
    const body = { post: { id: 'x:1', feeds: ['birds', 'dogs'] }, images: ['a', 'b'] };
    expect(byHeader.name).toBe('header:feed=cats');
    expect(byHeader.predicate(exchange(body, { feed: 'cats' }))).toBe(true);
    expect(byHeader.predicate(exchange(body, { feed: 'dogs' }))).toBe(false);
    expect(byField.name).toBe('field:post.feeds in [cats, dogs]');
    expect(byField.predicate(exchange(body))).toBe(true);
    expect(notDeleted.predicate(exchange(body))).toBe(true);
    expect(idempotent.key(exchange(body))).toBe('x:1');
    expect(transform.fn(exchange(body))).toEqual(body.post);
    expect([...split.fn(exchange(body))]).toEqual(['a', 'b']);
  });

  it('signs each route with the functions\' settings, so that a reload notices when they change', () => {
    const lines = ['routes:', '  - route: { id: a, from: { uri: "replay:a", steps: [ { filter: { expression: { ref: isPost } } } ] } }'];
    const signed = (settings: string): string | undefined => {
      const registry = new FunctionRegistry(settings).predicate(isPost, 'posts only');
      return only(lines, { functions: registry }).signature;
    };
    expect(signed('videoPreviews=true')).toBeDefined();
    expect(signed('videoPreviews=true')).toBe(signed('videoPreviews=true'));
    expect(signed('videoPreviews=false')).not.toBe(signed('videoPreviews=true'));
  });

  it('has nothing to do without a routes key, and leaves syntax errors to report as they are', () => {
    expect(compile(['feeds:', '  - name: cats'])).toEqual({ routes: [], problems: [] });
    expect(compile(['routes:', '  - route: { id: a', 'feeds: []']).problems).toEqual(['routes.yaml:3:1: Flow map in block collection must be sufficiently indented and end with a }']);
  });
});

describe('compileRoutes: every problem, at the node at fault', () => {
  /** One route per problem, or a few that cannot hide each other; the comments are the line numbers. */
  const BAD = [
    'feeds:', //                                                                  1
    '  - name: cats', //                                                          2
    'routes:', //                                                                 3
    '  - route:', //                                                              4
    '      id: first', //                                                         5
    '      retries: 3', //                                                        6
    '      from:', //                                                             7
    '        uri: replay:x.ndjson', //                                            8
    '        steps:', //                                                          9
    '          - filtr: { expression: { ref: isPost } }', //                      10
    '          - filter: { expression: { ref: isPots } }', //                     11
    '          - split: { expression: { ref: isPost } }', //                      12
    '          - transform: { expresion: { ref: post } }', //                     13
    '          - to: lgo:out', //                                                 14
    '          - to: "log:out?levle=info"', //                                    15
    '          - wireTap: { uri: "log:tap", parameters: { level: loud } }', //    16
    '          - to: { uri: "log:x", parameters: { colour: red } }', //           17
    '          - to: amqp:/topic/${TOPIC}', //                                    18
    '          - throttle: { rate: 0, period: 1000, mode: slowly }', //           19
    '          - filter: { expression: { header: feed } }', //                    20
    '          - idempotent: { key: { field: id, equals: 1 } }', //               21
    '          - filter: { expression: { ref: isPost } }', //                     22
    '            to: log:x', //                                                   23
    '      errorHandler:', //                                                     24
    '        redelivery: { attempts: 0, initialDelay: soon, jitter: 2 }', //      25
    '        deadLetter: "log:dead?maxChars=lots"', //                            26
    '      queue: { capacity: 10, dropPolicy: drop-all }', //                     27
    '      concurrency: many', //                                                 28
    '  - route:', //                                                              29
    '      id: first', //                                                         30
    '      from: { uri: "replay:y.ndjson", parameters: { pace: fast } }', //      31
    '  - route:', //                                                              32
    '      id: feed:cats', //                                                     33
    '      from: { uri: "replay:z.ndjson?loop=true", parameters: { loop: false } }', // 34
    '  - route:', //                                                              35
    '      id: no-source', //                                                     36
    '  - from: { uri: "replay:w.ndjson" }', //                                    37
  ];

  it('reports each at file:line:column, all of them, and compiles none of the routes that have one', () => {
    const { routes, problems } = compile(BAD);
    expect(routes).toEqual([]);
    expect(problems).toEqual([
      'routes.yaml:6:7: unknown field "retries" in routes[0].route; expected one of id, from, errorHandler, queue, concurrency',
      'routes.yaml:10:13: unknown step "filtr"; expected one of filter, transform, split, choice, idempotent, throttle, wireTap, to',
      'routes.yaml:11:42: unknown expression "isPots"; known: isPost, isCats',
      'routes.yaml:12:41: expression "isPost" is a predicate, but split takes a splitter; known: parts',
      'routes.yaml:13:26: unknown field "expresion" in routes[0].route.from.steps[3].transform; expected one of expression, name',
      'routes.yaml:13:24: transform needs an expression, e.g. { ref: NAME } or { header: NAME }',
      'routes.yaml:14:17: unknown component "lgo:" in lgo:out; known: replay:, amqp:, log:',
      'routes.yaml:15:17: unknown option "levle" for log:; it takes level, showBody, maxChars, format',
      'routes.yaml:16:61: option level must be one of debug, info, warn, not "loud"',
      'routes.yaml:17:47: unknown option "colour" for log:; it takes level, showBody, maxChars, format',
      'routes.yaml:18:17: environment variable TOPIC is not set (used by routes[0].route.from.steps[8].to)',
      'routes.yaml:19:31: rate must be a whole number at least 1, not 0',
      'routes.yaml:19:42: period must be a duration with a unit, such as 500ms or 10s, not 1000',
      'routes.yaml:19:54: mode must be one of delay, drop, not "slowly"',
      'routes.yaml:20:35: filter takes a predicate: add equals, in or exists to header: feed',
      'routes.yaml:21:45: equals makes a predicate, but idempotent key takes a key: write field alone',
      'routes.yaml:22:13: a step has one kind, not filter and to: start a new "- " item for each step',
      'routes.yaml:25:33: attempts must be a whole number at least 1, not 0',
      'routes.yaml:25:50: initialDelay must be a duration with a unit, such as 500ms or 10s, not "soon"',
      'routes.yaml:25:64: jitter must be a number from 0 to 1, not 2',
      'routes.yaml:26:21: option maxChars must be a whole number, not "lots"',
      'routes.yaml:27:42: dropPolicy must be one of drop-oldest, drop-newest, not "drop-all"',
      'routes.yaml:28:20: concurrency must be a whole number at least 1, not "many"',
      'routes.yaml:31:59: option pace must be a rate such as 5/s or 300/min, not "fast"',
      'routes.yaml:30:11: route id "first" is taken by routes[0]',
      'routes.yaml:34:63: option "loop" is given both in the URI and in parameters',
      'routes.yaml:33:11: route id "feed:cats" is taken by the feed at feeds[0]',
      'routes.yaml:36:7: a route needs from: { uri: SCHEME:PATH, steps: [...] }',
      'routes.yaml:37:5: unknown field "from" in routes[4]; expected one of route',
      'routes.yaml:37:5: a routes entry is - route: { id, from: { uri, steps }, ... }',
    ]);
  });

  it('names the kind of a misplaced ref, and lists the names that fit', () => {
    const { problems } = compile(withSteps('- idempotent: { key: { ref: post } }', '- filter: { expression: { ref: postId } }'));
    expect(problems).toEqual([
      'routes.yaml:6:39: expression "post" is a transform, but idempotent key takes a key; known: postId',
      'routes.yaml:7:42: expression "postId" is a key, but filter takes a predicate; known: isPost, isCats',
    ]);
  });

  it('checks the shape of expressions: one source, one test, values of the right kind', () => {
    const { problems } = compile(
      withSteps(
        '- filter: { expression: { ref: isPost, header: feed } }',
        '- filter: { expression: { ref: isPost, equals: 1 } }',
        '- filter: { expression: { header: feed, equals: a, exists: true } }',
        '- filter: { expression: { header: feed, in: [] } }',
        '- filter: { expression: { field: "a..b", exists: yes } }',
        '- filter: { expression: { header: feed, equals: [a] } }',
        '- filter: { expression: { headr: feed } }',
        '- filter: {}',
      ),
    );
    expect(problems).toEqual([
      'routes.yaml:6:35: an expression takes one of ref, header or field, not ref and header',
      'routes.yaml:7:50: a ref takes no equals: the named function is the whole expression',
      'routes.yaml:8:35: a predicate takes one of equals, in or exists, not equals and exists',
      'routes.yaml:9:55: in must be a list of one value or more',
      'routes.yaml:10:44: field must be a dotted path into the body, e.g. author.handle, not "a..b"',
      'routes.yaml:11:59: equals must be a single value (a string, number, true, false or null)',
      'routes.yaml:12:37: unknown field "headr" in routes[0].route.from.steps[6].filter.expression; expected one of ref, header, field, equals, in, exists',
      'routes.yaml:12:35: an expression takes one of ref, header or field',
      'routes.yaml:13:21: filter needs an expression, e.g. { ref: NAME } or { header: NAME, equals: VALUE }',
    ]);
  });

  it('checks choices, step lists and steps that are not mappings', () => {
    const { problems } = compile(
      withSteps(
        '- choice: { otherwise: { steps: [ { to: log:x } ] } }',
        '- choice: { when: [ { steps: [ { to: lgo:x } ] } ] }',
        '- to',
        '- choice: { when: [ { expression: { ref: isCats }, steps: { to: log:x } } ] }',
      ),
    );
    expect(problems).toEqual([
      'routes.yaml:6:21: choice needs at least one when',
      'routes.yaml:7:31: when needs an expression, e.g. { ref: NAME } or { header: NAME, equals: VALUE }',
      'routes.yaml:7:48: unknown component "lgo:" in lgo:x; known: replay:, amqp:, log:',
      'routes.yaml:8:13: a step is a mapping from its kind to its settings, e.g. - to: log:items; expected one of filter, transform, split, choice, idempotent, throttle, wireTap, to',
      'routes.yaml:9:69: routes[0].route.from.steps[3].choice.when[0].steps must be a list',
    ]);
  });

  it('points at the route when an id taken twice is its from URI, and says to give it an id', () => {
    const { problems } = compile(['routes:', '  - route: { from: { uri: "replay:a" } }', '  - route: { from: { uri: "replay:a" } }']);
    expect(problems).toEqual(['routes.yaml:3:12: route id "replay:a" (its from URI; give the route an id) is taken by routes[0]']);
  });

  it('wants a list of routes, and at least one route when there are no feeds', () => {
    expect(compile(['routes:', '  route: { from: { uri: "replay:a" } }']).problems).toEqual(['routes.yaml:2:3: routes must be a list']);
    expect(compile(['routes: []']).problems).toEqual(['routes.yaml:1:9: routes must list at least one route (or feeds a feed)']);
    expect(compile(['feeds: [ { name: cats } ]', 'routes: []']).problems).toEqual([]);
  });

  it('rejects a URI source that cannot be read from, and a target that cannot be sent to', () => {
    const { problems } = compile(['routes:', '  - route:', '      from: { uri: "log:in", steps: [ { to: "replay:out" } ] }']);
    expect(problems).toEqual(['routes.yaml:3:20: log: cannot be used in from (log:in)', 'routes.yaml:3:45: replay: cannot be used in to (replay:out)']);
  });
});
