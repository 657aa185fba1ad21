import { BROKER_PROFILE_NAMES, FEED_NAME, NETWORKS, type Network } from '@livewall/contract';
import { MAX_WINDOW } from '../amqp/window.js';
import { defaultComponents } from '../components/index.js';
import { CONFIG_FIELDS, MODERATION_MODES } from '../config.js';
import { SENSITIVE_MEDIA } from '../post.js';
import { IMAGE_CHECK_DEFAULTS, IMAGE_CHECK_FIELDS, ON_ERROR } from '../image-check/config.js';
import { RISKY_CLASSES } from '../image-check/classes.js';
import { LIVE, liveOptions, MASTODON_INSTANCE, PROFILES, REPLAY_FIELDS } from '../config-sources.js';
import { EXPRESSION_SOURCES, EXPRESSION_TESTS } from '../dsl/compile-expression.js';
import { DROP_POLICIES, ERROR_HANDLER_FIELDS, FROM_FIELDS, QUEUE_FIELDS, REDELIVERY_FIELDS, ROUTE_FIELDS } from '../dsl/compile-route.js';
import { OTHERWISE_FIELDS, STEP_FIELDS, STEP_KINDS, THROTTLE_MODES, WHEN_FIELDS } from '../dsl/compile-steps.js';
import { ENDPOINT_FIELDS } from '../dsl/endpoint.js';
import { defaultFunctions, type ExpressionKind, type FunctionRegistry } from '../dsl/expressions.js';
import { FIELD_PATH } from '../dsl/simple.js';
import type { ComponentRegistry } from '../engine/registry.js';
import type { Component, OptionSpec } from '../engine/types.js';

/**
 * The JSON Schema (draft-07) of the worker's config file, for editors (yaml-language-server reads the
 * `# yaml-language-server: $schema=./schema.json` line of worker/config/*.yaml) and other tools. It is made from what
 * lint reads: the config's field lists (CONFIG_FIELDS, REPLAY_FIELDS, the route and step fields), the components and
 * their options from the ComponentRegistry, and the named expressions from the FunctionRegistry. The fields of each
 * section are typed by those lists, so a field lint takes and the schema lacks does not compile.
 *
 * It checks the shape: unknown fields, types, enumerations, required settings, URI schemes, formats such as
 * durations. What it cannot check, lint does: the environment (`${VAR}` stands for any value here), files, a URI's own
 * options, names defined twice, settings that depend on each other across sections.
 */

/** One node of a JSON Schema. */
export type JsonSchema = { [keyword: string]: unknown };

/** The schemas of a section's fields, one for each name of its field list. */
type Fields<List extends readonly string[]> = Record<List[number], JsonSchema>;

const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });

/** A value with `${VAR}` or `${VAR:-default}` in it: known only with the environment, which lint checks. */
const ENV = ref('env');

/** Lint reads a string setting from a string or a number (`region: 5` is "5"). */
const TEXT = ref('text');

/** A value as written, or one that takes it from the environment. */
function orEnv(...schemas: JsonSchema[]): JsonSchema {
  return { anyOf: [...schemas, ENV] };
}

/** `schema` with a description; a reference is wrapped, since draft-07 ignores whatever stands beside a `$ref`. */
function described(description: string, schema: JsonSchema): JsonSchema {
  return '$ref' in schema ? { description, allOf: [schema] } : { description, ...schema };
}

/** A mapping of exactly these fields. */
function mapping(properties: Record<string, JsonSchema>, required: string[] = [], extra: JsonSchema = {}): JsonSchema {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false, ...extra };
}

const list = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, ...extra });

/** Durations outside routes and URIs: `500ms`, `10s`, `2m`, `12h`, `7d`; a bare number is seconds. */
const CONFIG_DURATION = ref('configDuration');

/** Durations in routes and in the sources' sections: the unit is required (`500ms`, `10s`, `2m`, `1h`). */
const DURATION_WITH_UNIT = ref('duration');

/** A whole number in a route: written as a number or as digits. */
function routeInteger(min: number, max?: number): JsonSchema {
  return orEnv({ type: 'integer', minimum: min, ...(max === undefined ? {} : { maximum: max }) }, { type: 'string', pattern: '^\\s*-?\\d+\\s*$' });
}

function routeNumber(min: number, max?: number): JsonSchema {
  return orEnv({ type: 'number', minimum: min, ...(max === undefined ? {} : { maximum: max }) }, { type: 'string', pattern: '^\\s*-?\\d+(\\.\\d+)?\\s*$' });
}

const oneOfValues = (values: readonly string[]): JsonSchema => orEnv({ enum: [...values] });

/** A step's or a branch's name: what its drops are counted under. */
const NAME = described('what the step\'s drops are counted under and logs call it', { anyOf: [{ type: 'string', pattern: '\\S' }, { type: 'number' }] });

/**
 * An option of a component, as a value in `parameters` (`inSection` false) or in a network's `sources:` section. Both
 * are turned into the URI's text (numbers and booleans as written) and checked as the component checks its URI. A
 * section's durations need their unit (a bare number elsewhere in the config is seconds, in a URI milliseconds), and a
 * section's string option may be a list (joined with commas).
 */
function optionSchema(spec: OptionSpec, inSection: boolean): JsonSchema {
  const minLength = 'minLength' in spec && spec.minLength !== undefined ? { minLength: spec.minLength } : {};
  const value = ((): JsonSchema => {
    switch (spec.type) {
      case 'string':
        return inSection ? { anyOf: [{ type: 'string', ...minLength }, { type: 'number' }, list(TEXT)] } : { anyOf: [{ type: 'string', ...minLength }, { type: 'number' }, { type: 'boolean' }] };
      case 'boolean':
        return orEnv({ type: 'boolean' }, { enum: ['true', 'false'] });
      case 'integer':
        return orEnv({ type: 'integer', ...(spec.min === undefined ? {} : { minimum: spec.min }), ...(spec.max === undefined ? {} : { maximum: spec.max }) }, { type: 'string', pattern: '^-?\\d+$' });
      case 'duration':
        return inSection ? DURATION_WITH_UNIT : orEnv({ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min|h)?\\s*$' });
      case 'rate':
        return orEnv({ type: 'number', exclusiveMinimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(/\\s*(s|sec|m|min|h))?\\s*$' });
      case 'enum':
        return oneOfValues(spec.values);
      case 'url':
        return orEnv({ type: 'string', pattern: `^(${spec.schemes.join('|')})://[^/?#]` });
    }
  })();
  return { description: spec.doc, ...(spec.default === undefined ? {} : { default: spec.default }), ...value };
}

function schemes(components: readonly Component[], role: 'consumer' | 'producer'): string[] {
  return components.filter((component) => (role === 'consumer' ? component.createConsumer : component.createProducer)).map((component) => component.scheme);
}

/** An endpoint URI of one of the schemes that can play `role`: `log:items`, `amqp:/topic/feed.cats?durable=true`. */
function uri(components: readonly Component[], role: 'consumer' | 'producer'): JsonSchema {
  const known = schemes(components, role);
  return described(`an endpoint URI, SCHEME:PATH?OPTIONS, of ${known.map((scheme) => `${scheme}:`).join(', ')}`, orEnv({ type: 'string', pattern: `^\\s*(${known.join('|')}):` }));
}

/** What each scheme's `parameters` may hold: its component's options. */
function parametersOf(components: readonly Component[]): JsonSchema {
  return {
    allOf: components.map((component) => ({
      if: { type: 'object', properties: { uri: { type: 'string', pattern: `^\\s*${component.scheme}:` } }, required: ['uri'] },
      then: { type: 'object', properties: { parameters: mapping(Object.fromEntries(Object.entries(component.options).map(([name, spec]) => [name, optionSchema(spec, false)]))) } },
    })),
  };
}

/**
 * An endpoint: its URI alone, or `{ uri, parameters }` (the URI's options as a mapping) with `extra` fields besides
 * (a route's `steps`, a wire tap's `maxInFlight`).
 */
function endpoint(role: 'consumer' | 'producer', extra: Record<string, JsonSchema> = {}): JsonSchema {
  const fields: Fields<typeof ENDPOINT_FIELDS> = { uri: ref(`${role}Uri`), parameters: described("the URI's options, as a mapping", { type: 'object' }) };
  return { anyOf: [ref(`${role}Uri`), mapping({ ...fields, ...extra }, ['uri'], { allOf: [ref('parameters')] })] };
}

const EXPRESSION_KINDS: readonly ExpressionKind[] = ['predicate', 'transform', 'splitter', 'key'];

/** An expression of `kind`: `{ ref: NAME }`, or `{ header: NAME }` / `{ field: a.b }`, with a test for a predicate. */
function expression(functions: FunctionRegistry, kind: ExpressionKind): JsonSchema {
  const tests = EXPRESSION_TESTS.map((test) => ({ required: [test] }));
  const fields: Fields<typeof EXPRESSION_SOURCES> & Fields<typeof EXPRESSION_TESTS> = {
    ref: described(`a named ${kind}`, oneOfValues(functions.names(kind))),
    header: described('reads a header', { anyOf: [{ type: 'string', pattern: '\\S' }, { type: 'number' }] }),
    field: described('reads a dotted path into the body, e.g. author.handle', { anyOf: [{ type: 'string', pattern: FIELD_PATH.source }, { type: 'number' }] }),
    equals: { type: ['string', 'number', 'boolean', 'null'] },
    in: list({ type: ['string', 'number', 'boolean', 'null'] }, { minItems: 1 }),
    exists: { type: 'boolean' },
  };
  const sources = EXPRESSION_SOURCES.map((source) => ({ required: [source] }));
  const shape =
    kind === 'predicate'
      ? { anyOf: [{ required: ['ref'], not: { anyOf: tests } }, { not: { required: ['ref'] }, oneOf: tests }] }
      : { not: { anyOf: tests } };
  return mapping(fields, [], { oneOf: sources, ...shape });
}

function steps(): JsonSchema {
  const settings: { [Kind in (typeof STEP_KINDS)[number]]: JsonSchema } = {
    filter: mapping({ expression: ref('predicate'), name: NAME } satisfies Fields<typeof STEP_FIELDS.filter>, ['expression']),
    transform: mapping({ expression: ref('transform'), name: NAME } satisfies Fields<typeof STEP_FIELDS.transform>, ['expression']),
    split: mapping({ expression: ref('splitter'), name: NAME } satisfies Fields<typeof STEP_FIELDS.split>, ['expression']),
    choice: mapping(
      {
        when: list(mapping({ expression: ref('predicate'), steps: ref('steps'), name: NAME } satisfies Fields<typeof WHEN_FIELDS>, ['expression']), { minItems: 1 }),
        otherwise: mapping({ steps: ref('steps') } satisfies Fields<typeof OTHERWISE_FIELDS>),
      } satisfies Fields<typeof STEP_FIELDS.choice>,
      ['when'],
    ),
    idempotent: mapping({ key: ref('key'), window: routeInteger(1), name: NAME } satisfies Fields<typeof STEP_FIELDS.idempotent>, ['key']),
    throttle: mapping({ rate: routeInteger(1), period: DURATION_WITH_UNIT, mode: oneOfValues(THROTTLE_MODES) } satisfies Fields<typeof STEP_FIELDS.throttle>, ['rate']),
    wireTap: endpoint('producer', { maxInFlight: routeInteger(1) } satisfies Fields<typeof STEP_FIELDS.wireTap>),
    to: endpoint('producer'),
  };
  return list({
    description: `a step: one of ${STEP_KINDS.join(', ')}, with its settings`,
    type: 'object',
    properties: settings,
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
  });
}

function route(): JsonSchema {
  const redelivery: Fields<typeof REDELIVERY_FIELDS> = { attempts: routeInteger(1), initialDelay: DURATION_WITH_UNIT, maxDelay: DURATION_WITH_UNIT, multiplier: routeNumber(1), jitter: routeNumber(0, 1) };
  const errorHandler: Fields<typeof ERROR_HANDLER_FIELDS> = { redelivery: mapping(redelivery), deadLetter: endpoint('producer') };
  const queue: Fields<typeof QUEUE_FIELDS> = { capacity: routeInteger(1), dropPolicy: oneOfValues(DROP_POLICIES) };
  const fields: Fields<typeof ROUTE_FIELDS> = {
    id: described('the route\'s id (default: its from URI); not feed:NAME, which a feed takes', { anyOf: [{ type: 'string', pattern: '\\S' }, { type: 'number' }] }),
    from: endpoint('consumer', { steps: ref('steps') } satisfies Fields<typeof FROM_FIELDS>),
    errorHandler: mapping(errorHandler),
    queue: mapping(queue),
    concurrency: routeInteger(1),
  };
  return mapping({ route: mapping(fields, ['from']) }, ['route']);
}

/** A network's section of `sources:`: the live source's settings, or a `replay:` of a recording instead. */
function source(network: Network, components: ComponentRegistry): JsonSchema {
  const component = components.get(LIVE[network].scheme) as Component;
  const replay: Fields<typeof REPLAY_FIELDS> = {
    file: described('the recording, relative to this file', TEXT),
    pace: described('events per second: 5/s or 120/min; unset plays as fast as the feeds take them', orEnv({ type: 'number', exclusiveMinimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(/\\s*(s|sec|second|m|min|minute))?\\s*$' })),
    loop: { type: 'boolean' },
    startOffset: described('lines of the first pass to skip', { type: 'integer', minimum: 0 }),
    restamp: described('each pass looks new: fresh timestamps, and ids of its own after the first', { type: 'boolean' }),
    rewriteMedia: mapping({ from: TEXT, to: TEXT }, ['from', 'to']),
  };
  const sectionOnly: Record<string, JsonSchema> =
    network === 'mastodon'
      ? { instances: described('the instances whose hashtag timelines are followed: mastodon.social, or http://host:port', list(orEnv({ type: 'string', pattern: MASTODON_INSTANCE.source }))) }
      : network === 'bluesky'
        ? { [PROFILES.key]: profiles(components) }
        : {};
  const live = Object.fromEntries(liveOptions(network, component).map(([name, spec]) => [name, optionSchema(spec, true)]));
  return described(`where the ${network} feeds read from: the live ${component.scheme}: source, or a recording (replay)`, {
    ...mapping({ replay: mapping(replay, ['file']), ...sectionOnly, ...live }),
    // A replay stands for the live source: no live setting beside it (Bluesky's profiles apply to both).
    dependencies: { replay: network === 'bluesky' ? { propertyNames: { enum: ['replay', PROFILES.key] } } : { maxProperties: 1 } },
  });
}

/** `sources.bluesky.profiles`: false, true, or the options of the `appview:` step. */
function profiles(components: ComponentRegistry): JsonSchema {
  const component = components.get(PROFILES.scheme) as Component;
  const options = Object.fromEntries(Object.entries(component.options).map(([name, spec]) => [name, optionSchema(spec, true)]));
  return described("authors' handles and display names from Bluesky's AppView: false keeps DIDs (default: on live, off for a replay)", { anyOf: [{ type: 'boolean' }, mapping(options)] });
}

/** The schema of a worker config file, from the registries lint uses. */
export function configSchema(components: ComponentRegistry = defaultComponents(), functions: FunctionRegistry = defaultFunctions()): JsonSchema {
  const all = components.list();
  const broker: Fields<typeof CONFIG_FIELDS.broker> = {
    url: described('the broker, amqp://host:5672 or amqps://; a list: the first, then the ones to fail over to in turn', {
      anyOf: [ref('amqpUrl'), list(ref('amqpUrl'), { minItems: 1 })],
    }),
    username: TEXT,
    password: described('write ${LIVEWALL_PUBLISHER_PASSWORD} rather than the password', TEXT),
    idleTimeout: described('at least 1s', CONFIG_DURATION),
    window: described('messages in flight to the broker at most', { type: 'integer', minimum: 1, maximum: MAX_WINDOW }),
    profile: described('which kind of broker this is', oneOfValues(BROKER_PROFILE_NAMES)),
    stomp: described("the broker's STOMP port, stomp://host:61613, where the worker reads the moderation log (same login); without it only the takedowns kept in the outbox file apply", orEnv({ type: 'string', pattern: '^stomp://[^/]+/?$' })),
  };
  const feed: Fields<typeof CONFIG_FIELDS.feed> = {
    name: described('the feed: its topic is /topic/feed.NAME', orEnv({ type: 'string', pattern: FEED_NAME.source }, { type: 'integer', minimum: 0 })),
    network: described('the one network the feed reads (default x); or write networks', oneOfValues(NETWORKS)),
    networks: described('the networks the feed reads, each once: their items go to its one topic in the order they arrive', list(oneOfValues(NETWORKS), { minItems: 1, uniqueItems: true })),
    keywords: described("what the live sources match for this feed, one list for all its networks (X: its stream rule; Bluesky: words and hashtags in the text; Mastodon: hashtags)", list(TEXT)),
    rule: described("X only: a stream rule of your own, instead of the one made from the keywords (the feed's other networks match the keywords)", TEXT),
    deadLetter: described("where the feed's items go after their last failed attempt", ref('producerUri')),
    moderation: described("the feed's moderation rules, added to the global ones, and its mode", ref('feedModeration')),
    sensitive: described('posts their network flags as sensitive (X possibly_sensitive, Bluesky adult/graphic self-labels, Mastodon sensitive): drop (default) or show', oneOfValues(SENSITIVE_MEDIA)),
    imageCheck: described('classify each picture (nsfwjs) before the item is published: true for the defaults, or the settings; off when not set', { anyOf: [{ type: 'boolean' }, ref('imageCheck')] }),
  };
  const probability = { type: 'number', exclusiveMinimum: 0, maximum: 1 };
  const imageCheck: Record<(typeof IMAGE_CHECK_FIELDS)[number], JsonSchema> = {
    thresholds: described(`an item with a picture whose probability for a class reaches its threshold is dropped (approval mode: goes to the pending queue); a class not listed is not checked (default ${JSON.stringify(IMAGE_CHECK_DEFAULTS.thresholds)})`, { ...mapping(Object.fromEntries(RISKY_CLASSES.map((name) => [name, probability]))), minProperties: 1 }),
    onError: described('an item whose picture could not be checked (fetch refused, too large, timeout): drop (default) or pass', oneOfValues(ON_ERROR)),
    timeout: described('the most an item waits for its verdict, 50ms to 60s (default 2s)', CONFIG_DURATION),
    maxBytes: described(`a thumbnail larger than this is refused (default ${IMAGE_CHECK_DEFAULTS.maxBytes})`, { type: 'integer', minimum: 1024 }),
    maxPixels: described(`a picture declaring more pixels (width × height, from its header) is refused undecoded (default ${IMAGE_CHECK_DEFAULTS.maxPixels})`, { type: 'integer', minimum: 224 * 224 }),
    enabled: described('false or off: the check is off, its settings kept (also as a string, on or off, e.g. ${VAR:-off}, to turn it on from the environment); default true', { anyOf: [{ type: 'boolean' }, { type: 'string' }] }),
    loopbackHttp: described('true: pictures from this machine (localhost, 127.x.x.x, [::1]) may come over plain http, for a local demo; every other host stays https only (default false)', { type: 'boolean' }),
  };
  const outbox: Fields<typeof CONFIG_FIELDS.outbox> = {
    file: described('the SQLite file (relative to this file), or :memory:', TEXT),
    maxItems: { type: 'integer', minimum: 1 },
    maxAge: CONFIG_DURATION,
  };
  const ownership: Fields<typeof CONFIG_FIELDS.ownership> = {
    lease: described('how long a feed\'s lease lasts unrenewed; at least three times renew', CONFIG_DURATION),
    renew: described('how often the lease is renewed; at least 100ms', CONFIG_DURATION),
  };
  const ops: Fields<typeof CONFIG_FIELDS.ops> = {
    port: described('0 picks a free one', orEnv({ type: 'integer', minimum: 0, maximum: 65535 }, { type: 'string', pattern: '^\\s*\\d+\\s*$' })),
    host: described('default 127.0.0.1', TEXT),
  };
  const status: Fields<typeof CONFIG_FIELDS.status> = {
    topic: orEnv({ type: 'string', pattern: '^/topic/status\\.' }),
    interval: CONFIG_DURATION,
    enabled: { type: 'boolean' },
  };
  const authors = (what: string): JsonSchema => described(what, mapping({ x: described('handles or ids', list(TEXT)), bluesky: described('handles or DIDs', list(TEXT)), mastodon: described('user@instance', list(TEXT)) }));
  const moderation: Fields<typeof CONFIG_FIELDS.moderation> = {
    blockedWords: described("words and phrases whose posts are dropped (text and images' alt text): whole words, in any case, with accents, look-alike letters and zero-width characters folded", list(TEXT)),
    blockedAuthors: authors('authors whose posts are dropped'),
    allowedAuthors: authors('authors whose posts always pass the rules'),
    profanity: described("the stock English profanity filter (obscenity); default on", { type: 'boolean' }),
    perAuthor: described('at most this many posts of one author per feed in a sliding window (default 3 per 10m); false for no limit', {
      anyOf: [{ const: false }, mapping({ posts: { type: 'integer', minimum: 1 }, per: CONFIG_DURATION }, ['posts', 'per'])],
    }),
  };
  const feedModeration: Fields<typeof CONFIG_FIELDS.feedModeration> = {
    ...moderation,
    mode: described("auto (default): what passes the rules goes to the feed's topic; manual: to its pending queue, for a moderator to approve (allowed authors go straight to the topic)", oneOfValues(MODERATION_MODES)),
  };
  // `source` is known to lint only to say that it is now `sources`.
  const top: Record<Exclude<(typeof CONFIG_FIELDS.top)[number], 'source'>, JsonSchema> = {
    broker: described('the AMQP 1.0 broker the feeds publish to', mapping(broker, ['url'])),
    outbox: described('the durable outbox between the routes and the broker', mapping(outbox, ['file'])),
    imageHosts: described('image hosts allowed besides pbs.twimg.com and cdn.bsky.app: host names, or https or loopback origins', list(TEXT)),
    videoPreviews: { type: 'boolean' },
    shutdownTimeout: described('how long a stop drains what was taken (default 10s)', CONFIG_DURATION),
    sources: described("where each network's feeds read from", mapping(Object.fromEntries(NETWORKS.map((network) => [network, source(network, components)])))),
    feeds: described("each feed is a route from its networks' sources to its topic", list(mapping(feed, ['name'], {
      // network or networks, not both; a rule needs X among them.
      not: { required: ['network', 'networks'] },
      if: { required: ['rule'] },
      then: { properties: { network: orEnv({ const: 'x' }), networks: { type: 'array', contains: { const: 'x' } } } },
    }))),
    deadLetter: described("where a feed's items go after their last failed attempt (a feed may name its own)", ref('producerUri')),
    ops: described('/healthz, /readyz, /status and /metrics', mapping(ops, ['port'])),
    region: described('where this worker runs, shown in its status messages', TEXT),
    ownership: mapping(ownership),
    status: described('the status messages the page shows', mapping(status)),
    moderation: described("every feed's moderation rules (a feed's own add to them)", ref('moderation')),
    routes: described('routes of your own, after Camel\'s YAML DSL (docs/routes.md)', list(route())),
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'livewall worker config',
    description: 'Generated from the worker\'s option specs by worker/src/schema/update-config-schema.ts; `livewall-worker lint` checks what a schema cannot (the environment, files, URI options).',
    ...mapping(top, ['broker']),
    // At least one feed, or a route.
    anyOf: [{ required: ['feeds'], properties: { feeds: { type: 'array', minItems: 1 } } }, { required: ['routes'], properties: { routes: { type: 'array', minItems: 1 } } }],
    definitions: {
      env: described('takes its value from the environment: ${VAR} or ${VAR:-default}', { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}' }),
      text: { type: ['string', 'number'] },
      amqpUrl: orEnv({ type: 'string', pattern: '^amqps?://[^/]+' }),
      consumerUri: uri(all, 'consumer'),
      producerUri: uri(all, 'producer'),
      parameters: parametersOf(all),
      moderation: mapping(moderation),
      feedModeration: mapping(feedModeration),
      imageCheck: mapping(imageCheck),
      configDuration: orEnv({ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$' }),
      duration: orEnv({ type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min|h)\\s*$' }),
      ...Object.fromEntries(EXPRESSION_KINDS.map((kind) => [kind, expression(functions, kind)])),
      steps: steps(),
    },
  };
}
