import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultComponents } from './components/index.js';
import { mockComponent, mockEndpoint, resetMocks } from './components/mock/index.js';
import { parseConfig, type WorkerConfig } from './config.js';
import type { RouteDefinition, StepDefinition } from './engine/definition.js';
import { Engine } from './engine/engine.js';
import { routeSignature } from './engine/reload.js';
import { systemClock } from './engine/types.js';
import { DEFAULT_WINDOW } from './amqp/window.js';
import { feedRoutes, sensitiveOf, sourceEndpoints, sourceRoutes } from './feeds.js';
import { appviewProfile, FakeAppview } from './sources/bluesky/fake-appview.js';
import { identityEvent, imagesPost } from './sources/bluesky/testing.js';
import { photoStatus } from './sources/mastodon/fake-statuses.js';

afterEach(() => resetMocks());

const SAMPLE = fileURLToPath(new URL('../../samples/x-cats.ndjson', import.meta.url));
const env = { X_TOKEN: 'secret-bearer' };

/** Two X feeds, one Bluesky, one Mastodon with two hashtags on two instances, one a local test server. */
function configText({ xKeywords = '[cat, kitten]', skyKeywords = '[cat, "#caturday"]', deadLetter = true } = {}): string {
  return [
    'broker: { url: "amqp://localhost:5672" }',
    'sources:',
    '  x: { tokenEnv: X_TOKEN }',
    '  bluesky: { cursorFile: state/bluesky.cursor }',
    '  mastodon: { instances: [mastodon.social, "http://127.0.0.1:1234"] }',
    'feeds:',
    `  - { name: cats, network: x, keywords: ${xKeywords} }`,
    '  - { name: dogs, network: x, keywords: [dog, puppy] }',
    `  - { name: sky-cats, network: bluesky, keywords: ${skyKeywords} }`,
    '  - { name: toot-cats, network: mastodon, keywords: [cats, "#Caturday"] }',
    ...(deadLetter ? ['deadLetter: file:rejected.ndjson'] : []),
  ].join('\n');
}

function configOf(text: string): WorkerConfig {
  return parseConfig(text, '/etc/livewall/worker.yaml', env);
}

/** A route's steps as short labels: `filter:post`, `to:hub:x`, a choice as its branches. */
function shape(steps: readonly StepDefinition[]): unknown[] {
  return steps.map((step) => {
    if (step.kind === 'to') return `to:${step.uri}`;
    if (step.kind === 'choice') return { choice: step.when.map((branch) => ({ [branch.name]: shape(branch.steps) })), otherwise: shape(step.otherwise) };
    if (step.kind === 'throttle' || step.kind === 'wireTap') return step.kind;
    return `${step.kind}:${step.name}`;
  });
}

/** Runs `config`'s routes (a Bluesky recording in `dir`, feeds to mock: topics) until the recording is played, then stops. */
async function playedToTheEnd(config: WorkerConfig, dir: string): Promise<Engine> {
  const engine = new Engine(defaultComponents().register(mockComponent), { baseDir: dir, clock: systemClock, log: pino({ level: 'silent' }), settings: {} });
  for (const route of feedRoutes(config, { producerUri: (topic) => `mock:${topic}` })) engine.add(route);
  const sourceDone = new Promise<void>((resolve) => engine.on('state', ({ route, state }: { route: string; state: string }) => route === 'source:bluesky' && state === 'completed' && resolve()));
  await engine.start();
  await sourceDone;
  await engine.stop(5000);
  return engine;
}

const byId = (routes: RouteDefinition[]): Map<string, RouteDefinition> => new Map(routes.map((route) => [route.id, route]));

const MASTODON_ENDPOINTS = [
  { id: 'source:mastodon:mastodon.social#cats', uri: 'mastodon:mastodon.social?tag=cats&sensitive=true' },
  { id: 'source:mastodon:mastodon.social#caturday', uri: 'mastodon:mastodon.social?tag=caturday&sensitive=true' },
  { id: 'source:mastodon:127.0.0.1:1234#cats', uri: 'mastodon:127.0.0.1:1234?tag=cats&scheme=http&sensitive=true' },
  { id: 'source:mastodon:127.0.0.1:1234#caturday', uri: 'mastodon:127.0.0.1:1234?tag=caturday&scheme=http&sensitive=true' },
];

describe('sourceEndpoints', () => {
  it('reads each network over one connection, Mastodon over one per instance and hashtag', () => {
    const config = configOf(configText());
    expect(sourceEndpoints(config, config.sources.x!)).toEqual([{ id: 'source:x', uri: 'x:stream?tokenEnv=X_TOKEN' }]);
    expect(sourceEndpoints(config, config.sources.bluesky!)).toEqual([{ id: 'source:bluesky', uri: 'jetstream:?cursorFile=state%2Fbluesky.cursor' }]);
    expect(sourceEndpoints(config, config.sources.mastodon!)).toEqual(MASTODON_ENDPOINTS);
  });

  it('makes URIs the components take, with the section\'s options as written', () => {
    const config = configOf(configText());
    const components = defaultComponents();
    expect(components.check('jetstream:?cursorFile=state%2Fbluesky.cursor', 'consumer').options).toEqual({ cursorFile: 'state/bluesky.cursor' });
    for (const source of Object.values(config.sources)) {
      for (const { uri } of sourceEndpoints(config, source)) expect(() => components.check(uri, 'consumer')).not.toThrow();
    }
  });

  it('reads a recording instead, when the network has a replay', () => {
    const config = configOf(configText().replace('x: { tokenEnv: X_TOKEN }', 'x: { replay: { file: recordings/x.ndjson, pace: 2/s, loop: true } }'));
    expect(sourceEndpoints(config, config.sources.x!)).toEqual([{ id: 'source:x', uri: 'replay:/etc/livewall/recordings/x.ndjson?pace=2%2Fs&loop=true' }]);
  });
});

describe('feedRoutes', () => {
  it('makes a route per feed, then the source routes that feed them', () => {
    const routes = feedRoutes(configOf(configText()));
    expect(routes.map(({ id, from, startupOrder }) => ({ id, from, startupOrder }))).toEqual([
      { id: 'feed:cats', from: 'hub:x?live=true', startupOrder: undefined },
      { id: 'feed:dogs', from: 'hub:x?live=true', startupOrder: undefined },
      { id: 'feed:sky-cats', from: 'hub:bluesky?live=true', startupOrder: undefined },
      { id: 'feed:toot-cats', from: 'hub:mastodon?live=true', startupOrder: undefined },
      { id: 'source:x', from: 'x:stream?tokenEnv=X_TOKEN', startupOrder: 1 },
      { id: 'source:bluesky', from: 'jetstream:?cursorFile=state%2Fbluesky.cursor', startupOrder: 1 },
      ...MASTODON_ENDPOINTS.map(({ id, uri }) => ({ id, from: uri, startupOrder: 1 })),
    ]);
  });

  it('decodes in the source routes, and sends rejected events to the dead letter when there is one', () => {
    const routes = byId(feedRoutes(configOf(configText())));
    const rejected = { choice: [{ rejected: ['transform:rejection', 'to:file:rejected.ndjson'] }], otherwise: [] };
    const sourceSteps = (network: string) => ['transform:decode', rejected, 'filter:post', 'transform:post', 'filter:pictures', `to:hub:${network}`];
    expect(shape(routes.get('source:x')!.steps)).toEqual(sourceSteps('x'));
    // Bluesky's authors get their handles and names from the AppView, whose cache identity events keep up to date.
    expect(shape(routes.get('source:bluesky')!.steps)).toEqual([
      'transform:decode',
      rejected,
      { choice: [{ identity: ['to:appview:'] }], otherwise: [] },
      'filter:post',
      'transform:post',
      'filter:pictures',
      'to:appview:',
      'to:hub:bluesky',
    ]);
    expect(shape(routes.get('source:mastodon:127.0.0.1:1234#cats')!.steps)).toEqual(sourceSteps('mastodon'));
    expect(shape(routes.get('feed:sky-cats')!.steps)).toEqual([
      'filter:feed',
      'transform:count-received',
      'transform:feed',
      'filter:sensitive',
      'filter:moderation',
      'transform:map',
      'filter:mapped',
      'transform:stamp',
      'filter:contract',
      'idempotent:id',
      'to:amqp:/topic/feed.sky-cats',
      'transform:count-sent',
    ]);
    expect(routes.get('feed:sky-cats')!.deadLetter).toBe('file:rejected.ndjson');
    // A source route's own failures have nowhere else to go: only its rejected events are dead-lettered.
    expect(routes.get('source:x')!.deadLetter).toBeUndefined();

    const withoutDeadLetter = byId(feedRoutes(configOf(configText({ deadLetter: false }))));
    expect(shape(withoutDeadLetter.get('source:x')!.steps)).toEqual(['transform:decode', 'filter:post', 'transform:post', 'filter:pictures', 'to:hub:x']);
    expect(withoutDeadLetter.get('feed:cats')).not.toHaveProperty('deadLetter');
  });

  it("looks Bluesky authors up as sources.bluesky.profiles says: on live by default, off with false, on for a replay that asks", () => {
    const blueskySteps = (section: string) => shape(byId(feedRoutes(configOf(configText({ deadLetter: false }).replace('bluesky: { cursorFile: state/bluesky.cursor }', `bluesky: ${section}`)))).get('source:bluesky')!.steps);
    const appview = (uri: string) => ['transform:decode', { choice: [{ identity: [`to:${uri}`] }], otherwise: [] }, 'filter:post', 'transform:post', 'filter:pictures', `to:${uri}`, 'to:hub:bluesky'];
    const withoutProfiles = ['transform:decode', 'filter:post', 'transform:post', 'filter:pictures', 'to:hub:bluesky'];
    expect(blueskySteps('{ profiles: { url: "http://127.0.0.1:2583", maxWait: 200ms } }')).toEqual(appview('appview:?url=http%3A%2F%2F127.0.0.1%3A2583&maxWait=200ms'));
    expect(blueskySteps('{ profiles: false }')).toEqual(withoutProfiles);
    expect(blueskySteps('{ replay: { file: sky.ndjson } }')).toEqual(withoutProfiles);
    expect(blueskySteps('{ replay: { file: sky.ndjson }, profiles: true }')).toEqual(appview('appview:'));
  });

  it('has the feeds of a recording hold its source back instead of dropping', () => {
    const config = configOf(configText().replace('x: { tokenEnv: X_TOKEN }', 'x: { replay: { file: x.ndjson } }'));
    const routes = byId(feedRoutes(config));
    expect(routes.get('feed:cats')!.from).toBe('hub:x');
    expect(routes.get('feed:dogs')!.from).toBe('hub:x');
    expect(routes.get('feed:sky-cats')!.from).toBe('hub:bluesky?live=true');
  });

  it('sends to the producer URI it is given', () => {
    const routes = byId(feedRoutes(configOf(configText()), { producerUri: (topic) => `log:${topic}` }));
    expect(shape(routes.get('feed:dogs')!.steps).at(-2)).toBe('to:log:/topic/feed.dogs');
  });

  it('keeps as many items in flight as the publisher\'s window, so a slow link does not cap a feed', () => {
    const routes = byId(feedRoutes(configOf(configText())));
    expect(routes.get('feed:cats')!.concurrency).toBe(DEFAULT_WINDOW);
    const narrow = byId(feedRoutes(configOf(configText().replace('broker: { url: "amqp://localhost:5672" }', 'broker: { url: "amqp://localhost:5672", window: 40 }'))));
    expect(narrow.get('feed:cats')!.concurrency).toBe(40);
    expect(narrow.get('feed:sky-cats')!.concurrency).toBe(40);
  });

  it('makes no source route for a network without feeds', () => {
    const config = configOf(configText());
    expect(sourceRoutes({ ...config, feeds: config.feeds.filter((feed) => !feed.networks.includes('bluesky')) }, 'bluesky')).toEqual([]);
    expect(sourceRoutes({ ...config, sources: { x: config.sources.x! } }, 'bluesky')).toEqual([]);
  });
});

describe('the Mastodon source routes', () => {
  /** What a source route's decode step makes of a status the mastodon: source offered. */
  function decodedBy(config: WorkerConfig, status: Record<string, unknown>): unknown {
    const [route] = sourceRoutes(config, 'mastodon');
    const decode = route!.steps[0] as Extract<StepDefinition, { kind: 'transform' }>;
    return decode.fn({ id: 'ex-1', body: JSON.stringify(status), headers: { instance: 'mastodon.social', tag: 'cats' } });
  }

  it('are offered the statuses marked sensitive too, and decode them flagged: the feed routes decide', () => {
    const sensitive = { ...photoStatus, sensitive: true, spoiler_text: 'vet visit' };
    const config = configOf(configText());
    expect(sourceEndpoints(config, config.sources.mastodon!)[0]!.uri).toBe('mastodon:mastodon.social?tag=cats&sensitive=true');
    expect(decodedBy(config, sensitive)).toMatchObject({ kind: 'post', post: { nativeId: photoStatus.id, feeds: ['toot-cats'], sensitive: { reasons: ['sensitive'] } } });
  });
});

describe("a feed's sensitive setting", () => {
  const feedWith = (setting: string, sources = '  mastodon: { instances: [mastodon.social] }') =>
    configOf(['broker: { url: "amqp://localhost:5672" }', 'sources:', sources, 'feeds:', `  - { name: toot-cats, network: mastodon, keywords: [cats]${setting} }`].join('\n'));

  it('is drop unless the feed says show; the older sources.mastodon.sensitive: true still shows on Mastodon feeds that say nothing', () => {
    const legacy = '  mastodon: { instances: [mastodon.social], sensitive: true }';
    expect(sensitiveOf(feedWith(''), { networks: ['mastodon'] })).toBe('drop');
    expect(sensitiveOf(feedWith(', sensitive: show'), { networks: ['mastodon'], sensitive: 'show' })).toBe('show');
    expect(sensitiveOf(feedWith('', legacy), { networks: ['mastodon'] })).toBe('show');
    expect(sensitiveOf(feedWith('', legacy), { networks: ['mastodon'], sensitive: 'drop' })).toBe('drop');
    expect(sensitiveOf(feedWith('', legacy), { networks: ['x'] })).toBe('drop');
    expect(feedWith(', sensitive: show').feeds[0]!.sensitive).toBe('show');
  });

  it('changes the feed route\'s signature: a reload that changes it rebuilds the route', () => {
    const [drop] = feedRoutes(feedWith(''));
    const [show] = feedRoutes(feedWith(', sensitive: show'));
    expect(routeSignature(drop!)).not.toBe(routeSignature(show!));
  });

  it('drops posts flagged sensitive from a feed by default, counted as sensitive:<network> and before its author is counted, and shows them where the feed says show', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'livewall-sensitive-'));
    const labelled = (values: string[]) => ({ $type: 'com.atproto.label.defs#selfLabels', values: values.map((val) => ({ val })) });
    // Each post by its own author but the second and third, by one: at one post per author, the feed that drops the
    // second still has room for the third.
    const post = (index: number, labels?: unknown, author = index) => ({
      ...imagesPost,
      did: `did:plc:sensitive${author}aaaaaaaaaaaaaa`,
      time_us: imagesPost.time_us + index,
      commit: { ...imagesPost.commit, rkey: `3l3qo2vuow${index}ab`, record: { ...imagesPost.commit.record, ...(labels ? { labels } : {}) } },
    });
    const events = [post(0), post(1, labelled(['porn'])), post(2, labelled(['!no-unauthenticated']), 1), post(3, labelled(['graphic-media'])), post(4)];
    try {
      writeFileSync(join(dir, 'sky.ndjson'), `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
      const config = parseConfig(
        [
          'broker: { url: "amqp://localhost:5672" }',
          'sources:',
          '  bluesky: { replay: { file: sky.ndjson }, profiles: false }',
          'moderation: { perAuthor: { posts: 1, per: 10m } }',
          'feeds:',
          '  - { name: sky-cats, network: bluesky, keywords: ["#caturday"] }',
          '  - { name: sky-all, network: bluesky, keywords: ["#caturday"], sensitive: show }',
        ].join('\n'),
        join(dir, 'worker.yaml'),
        {},
      );
      const engine = await playedToTheEnd(config, dir);

      const rkeys = (topic: string) => mockEndpoint(topic).received.map((exchange) => (exchange.body as { id: string }).id.slice(-4, -2));
      expect(rkeys('/topic/feed.sky-cats')).toEqual(['w0', 'w2', 'w4']);
      expect(rkeys('/topic/feed.sky-all')).toEqual(['w0', 'w1', 'w3', 'w4']);
      expect(engine.route('feed:sky-cats')!.status().counters.dropped).toEqual({ 'sensitive:bluesky': 2 });
      expect(engine.route('feed:sky-all')!.status().counters.dropped).toEqual({ 'author-rate': 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('route signatures', () => {
  const signatures = (text: string): Map<string, string> => new Map(feedRoutes(configOf(text)).map((route) => [route.id, routeSignature(route)]));

  it('leave the keywords out: a reload that changes only keywords keeps every connection open', () => {
    const before = signatures(configText());
    const after = signatures(configText({ xKeywords: '[cat, kitten, tabby]', skyKeywords: '["#caturday"]' }));
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [id, signature] of before) expect(after.get(id), id).toBe(signature);
  });

  it('change with the recording a source plays, and with the dead letter', () => {
    const replay = (file: string) => configText().replace('x: { tokenEnv: X_TOKEN }', `x: { replay: { file: ${file} } }`);
    const a = signatures(replay('a.ndjson'));
    const b = signatures(replay('b.ndjson'));
    expect(b.get('source:x')).not.toBe(a.get('source:x'));
    expect(b.get('source:bluesky')).toBe(a.get('source:bluesky'));
    // The feed routes read the hub either way.
    expect(b.get('feed:cats')).toBe(a.get('feed:cats'));

    const withoutDeadLetter = signatures(configText({ deadLetter: false }));
    const withDeadLetter = signatures(configText());
    expect(withoutDeadLetter.get('source:x')).not.toBe(withDeadLetter.get('source:x'));
    expect(withoutDeadLetter.get('feed:cats')).not.toBe(withDeadLetter.get('feed:cats'));
  });

  it('change for a feed route that goes from a live source to a recording', () => {
    const live = signatures(configText());
    const recorded = signatures(configText().replace('x: { tokenEnv: X_TOKEN }', 'x: { replay: { file: x.ndjson } }'));
    expect(recorded.get('feed:cats')).not.toBe(live.get('feed:cats'));
    expect(recorded.get('feed:sky-cats')).toBe(live.get('feed:sky-cats'));
  });
});

describe('feed and source routes running together', () => {
  it('hand every post of a recording to each feed it matched, and to no other', async () => {
    const config = parseConfig(
      [
        'broker: { url: "amqp://localhost:5672" }',
        'sources:',
        `  x: { replay: { file: ${SAMPLE} } }`,
        'feeds:',
        '  - { name: cats, network: x }',
        '  - { name: dogs, network: x }',
      ].join('\n'),
      'worker.yaml',
      {},
    );
    const engine = new Engine(defaultComponents().register(mockComponent), { baseDir: '.', clock: systemClock, log: pino({ level: 'silent' }), settings: {} });
    for (const route of feedRoutes(config, { producerUri: (topic) => `mock:${topic}` })) engine.add(route);
    const sourceDone = new Promise<void>((resolve) => engine.on('state', ({ route, state }: { route: string; state: string }) => route === 'source:x' && state === 'completed' && resolve()));
    await engine.start();
    await sourceDone;
    expect(await engine.stop(5000)).toBe(0);

    const [cats, dogs, source] = ['feed:cats', 'feed:dogs', 'source:x'].map((id) => engine.route(id)!.status().counters);
    const items = (topic: string) => mockEndpoint(topic).received.map((exchange) => exchange.body as { feed: string; id: string });
    expect(source!.completed).toBeGreaterThan(40);
    // Every post with pictures reached both feed routes; each kept its own.
    for (const feed of [cats!, dogs!]) expect(feed.received).toBe(source!.completed);
    expect(items('/topic/feed.cats')).toHaveLength(cats!.completed);
    expect(items('/topic/feed.dogs')).toHaveLength(dogs!.completed);
    expect(cats!.completed + (cats!.dropped['other-feed'] ?? 0)).toBe(source!.completed);
    expect(dogs!.completed).toBeGreaterThan(0);
    expect(items('/topic/feed.cats').every((item) => item.feed === 'cats')).toBe(true);
    expect(items('/topic/feed.dogs').every((item) => item.feed === 'dogs')).toBe(true);
    // A post that matched both feeds is an item of each.
    const catIds = new Set(items('/topic/feed.cats').map((item) => item.id));
    expect(items('/topic/feed.dogs').some((item) => catIds.has(item.id))).toBe(true);
  });
});

describe('a Bluesky recording played with profiles on', () => {
  it("publishes its posts in order, each author with the handle and display name the AppView gives, or the newer handle of an identity event", async () => {
    const alice = 'did:plc:aliceaaaaaaaaaaaaaaaaaaa';
    const bob = 'did:plc:bobaaaaaaaaaaaaaaaaaaaaa';
    const post = (author: string, index: number) => ({ ...imagesPost, did: author, time_us: imagesPost.time_us + index, commit: { ...imagesPost.commit, rkey: `3l3qo2vuow${index}ab` } });
    const renamed = { ...identityEvent, did: alice, time_us: imagesPost.time_us + 3, identity: { ...identityEvent.identity, did: alice, handle: 'alice.example.com' } };
    const events = [post(alice, 0), post(bob, 1), post(alice, 2), renamed, post(alice, 4), post(bob, 5)];
    const dir = mkdtempSync(join(tmpdir(), 'livewall-sky-replay-'));
    const appview = new FakeAppview([appviewProfile(alice, 'alice.bsky.social', 'Alice'), appviewProfile(bob, 'handle.invalid', 'Bob')]);
    try {
      writeFileSync(join(dir, 'sky.ndjson'), `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
      const url = await appview.listen();
      const config = parseConfig(
        ['broker: { url: "amqp://localhost:5672" }', 'sources:', `  bluesky: { replay: { file: sky.ndjson }, profiles: { url: "${url}", maxWait: 5s } }`, 'feeds:', '  - { name: sky-cats, network: bluesky, keywords: ["#caturday"] }'].join('\n'),
        join(dir, 'worker.yaml'),
        {},
      );
      const engine = await playedToTheEnd(config, dir);

      const items = mockEndpoint('/topic/feed.sky-cats').received.map((exchange) => exchange.body as { id: string; author: unknown });
      const aliceAs = (handle: string) => ({ handle, name: 'Alice', url: `https://bsky.app/profile/${handle}` });
      const bobAuthor = { handle: bob, name: 'Bob', url: `https://bsky.app/profile/${bob}` };
      // The identity event came while the lookup was out: it is newer than the AppView's answer.
      expect(items.map((item) => item.author)).toEqual([aliceAs('alice.example.com'), bobAuthor, aliceAs('alice.example.com'), aliceAs('alice.example.com'), bobAuthor]);
      expect(items.map((item) => item.id)).toEqual([0, 1, 2, 4, 5].map((index) => `bluesky:${index % 2 === 0 ? alice : bob}/3l3qo2vuow${index}ab`));
      // Every post came within one batch window: one request for both authors.
      expect(appview.requests).toEqual([[alice, bob]]);
      const source = engine.route('source:bluesky')!.status();
      expect(source.counters.dropped).toEqual({ identity: 1 });
      expect(source.endpoints.find((endpoint) => endpoint.uri.startsWith('appview:'))?.stats).toMatchObject({ resolved: 5, hit: 0, lookups: 1, identityUpdates: 1, cached: 2 });
    } finally {
      await appview.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
