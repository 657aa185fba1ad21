import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type WorkerConfig } from './config.js';
import type { StepDefinition } from './engine/definition.js';
import { routeSignature } from './engine/reload.js';
import { feedRoutes, sensitiveOf, sourceEndpoints } from './feeds.js';
import { matchFeeds } from './sources/bluesky/feeds.js';
import { FeedDirectory } from './sources/feed-directory.js';
import { desiredRules } from './sources/x/rules.js';

/**
 * A feed on several networks (`networks: [x, bluesky, mastodon]`): how the config reads it, what lint says of it
 * (at file:line:column, naming the network), the one keyword list as each network's query, and the one feed route
 * that reads every network's hub.
 */

const env = { X_TOKEN: 'secret-bearer' };
const FILE = 'walls.yaml';

/** Live X, Bluesky and Mastodon sources, and the given feed lines. Line 6 is the first feed. */
function configText(...feeds: string[]): string {
  return [
    'broker: { url: "amqp://localhost:5672" }', //                         1
    'sources:', //                                                          2
    '  x: { tokenEnv: X_TOKEN }', //                                        3
    '  bluesky: { profiles: false }', //                                    4
    '  mastodon: { instances: [mastodon.social] }', //                      5
    'feeds:', //                                                            6
    ...feeds,
  ].join('\n');
}

const parsed = (text: string, environment: NodeJS.ProcessEnv = env): WorkerConfig => parseConfig(text, FILE, environment);

function problemsOf(text: string, environment: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfig(text, FILE, environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const WALL = '  - { name: caturday, networks: [x, bluesky, mastodon], keywords: [caturday, cats] }';

describe('a feed on several networks: the config', () => {
  it('reads networks: as a list, in the order written, beside feeds that keep network:', () => {
    const config = parsed(configText(WALL, '  - { name: dogs, network: bluesky, keywords: [dog] }', '  - { name: birds, keywords: [bird] }'));
    expect(config.feeds.map(({ name, networks, networksKey }) => ({ name, networks, networksKey }))).toEqual([
      { name: 'caturday', networks: ['x', 'bluesky', 'mastodon'], networksKey: 'networks' },
      { name: 'dogs', networks: ['bluesky'], networksKey: 'network' },
      // Neither key: X, as before.
      { name: 'birds', networks: ['x'], networksKey: 'network' },
    ]);
    expect(parsed(configText('  - { name: two, networks: [mastodon, x], keywords: [cats] }')).feeds[0]?.networks).toEqual(['mastodon', 'x']);
  });

  it('reports each wrong network where it is written', () => {
    expect(problemsOf(configText('  - { name: caturday, networks: [x, tiktok], keywords: [cats] }'))).toEqual([`${FILE}:7:37: feeds[0].networks[1] must be x, bluesky or mastodon, not "tiktok"`]);
    expect(problemsOf(configText('  - { name: caturday, networks: [bluesky, x, bluesky], keywords: [cats] }'))).toEqual([`${FILE}:7:46: feeds[0].networks names bluesky twice`]);
    expect(problemsOf(configText('  - { name: caturday, networks: [], keywords: [cats] }'))).toEqual([`${FILE}:7:33: feeds[0].networks must name at least one of x, bluesky, mastodon`]);
    expect(problemsOf(configText('  - { name: caturday, networks: bluesky, keywords: [cats] }'))).toEqual([`${FILE}:7:33: feeds[0].networks must be a list`]);
    expect(problemsOf(configText('  - { name: caturday, network: x, networks: [x, bluesky], keywords: [cats] }'))).toEqual([
      `${FILE}:7:35: feeds[0] names both network and networks: keep networks (a list of one or more)`,
    ]);
  });

  it('says which network a keyword, a rule or a missing token belongs to', () => {
    // "cat food" suits X and Bluesky, but Mastodon follows hashtags.
    expect(problemsOf(configText('  - { name: caturday, networks: [x, bluesky, mastodon], keywords: [cats, "cat food"] }'))).toEqual([
      `${FILE}:7:74: feed caturday is on mastodon, and Mastodon follows hashtags: "cat food" is not one (letters, digits and _ only)`,
    ]);
    // An X rule stands in for the keywords on X only: Bluesky still needs keywords.
    expect(problemsOf(configText('  - { name: caturday, networks: [x, bluesky], rule: "cats has:images" }'))).toEqual([`${FILE}:7:5: feed caturday reads the live bluesky source, so it needs keywords`]);
    expect(problemsOf(configText('  - { name: caturday, networks: [bluesky, mastodon], keywords: [cats], rule: "cats has:images" }'))).toEqual([
      `${FILE}:7:78: feeds[0].rule is an X stream rule; feed caturday is on bluesky, mastodon`,
    ]);
    // The X token, with no sources.x section: reported at the feed's x.
    const withoutX = ['broker: { url: "amqp://localhost:5672" }', 'sources:', '  bluesky: { profiles: false }', 'feeds:', '  - { name: caturday, networks: [bluesky, x], keywords: [cats] }'].join('\n');
    expect(problemsOf(withoutX, {})).toEqual([`${FILE}:5:43: environment variable X_BEARER_TOKEN is not set; the live x source needs it (feeds caturday), or give sources.x a replay`]);
  });

  it('shows sensitive posts for all its networks only when the feed says so (the older Mastodon option is for Mastodon feeds alone)', () => {
    const legacy = configText(WALL).replace('mastodon: { instances: [mastodon.social] }', 'mastodon: { instances: [mastodon.social], sensitive: true }');
    expect(sensitiveOf(parsed(legacy), { networks: ['x', 'bluesky', 'mastodon'] })).toBe('drop');
    expect(sensitiveOf(parsed(legacy), { networks: ['mastodon'] })).toBe('show');
    expect(sensitiveOf(parsed(legacy), { networks: ['x', 'mastodon'], sensitive: 'show' })).toBe('show');
  });
});

describe('a feed on several networks: one keyword list, each network its own query', () => {
  const config = parsed(configText(WALL, '  - { name: dogs, network: x, keywords: [dog] }'));
  const directory = new FeedDirectory(config.feeds);

  it('X: one stream rule for the feed, made from the keywords and tagged with its name', () => {
    expect(desiredRules(directory.of('x'))).toEqual([
      { value: '(caturday OR cats) has:images -is:retweet', tag: 'caturday' },
      { value: '(dog) has:images -is:retweet', tag: 'dogs' },
    ]);
  });

  it('Bluesky: the same words, matched as whole words and hashtags in the text', () => {
    const bluesky = directory.of('bluesky');
    expect(bluesky.map((feed) => feed.name)).toEqual(['caturday']);
    expect(matchFeeds('Happy #Caturday from the sofa', bluesky)).toEqual(['caturday']);
    expect(matchFeeds('Two CATS asleep', bluesky)).toEqual(['caturday']);
    expect(matchFeeds('catsup on fries', bluesky)).toEqual([]);
  });

  it('Mastodon: each keyword a hashtag timeline on each instance', () => {
    expect(sourceEndpoints(config, config.sources.mastodon!).map((endpoint) => endpoint.id)).toEqual(['source:mastodon:mastodon.social#caturday', 'source:mastodon:mastodon.social#cats']);
  });

  it("an X rule of the feed's own is X's alone", () => {
    const withRule = new FeedDirectory(parsed(configText('  - { name: caturday, networks: [x, bluesky], keywords: [cats], rule: "cats has:images lang:en" }')).feeds);
    expect(directory.of('x')[0]).not.toHaveProperty('rule');
    expect(withRule.of('x')).toEqual([{ name: 'caturday', network: 'x', keywords: ['cats'], rule: 'cats has:images lang:en' }]);
    expect(withRule.of('bluesky')).toEqual([{ name: 'caturday', network: 'bluesky', keywords: ['cats'] }]);
  });

  it('a reload that adds a network to a feed changes only that network for the sources (X reconciles, Bluesky matches anew)', () => {
    const growing = new FeedDirectory(parsed(configText('  - { name: caturday, networks: [x], keywords: [cats] }')).feeds);
    const changes: string[] = [];
    growing.on('change', (network) => changes.push(network));
    expect(growing.update(parsed(configText('  - { name: caturday, networks: [x, bluesky], keywords: [cats] }')).feeds)).toEqual(['bluesky']);
    expect(changes).toEqual(['bluesky']);
  });
});

describe('a feed on several networks: its routes', () => {
  const shape = (steps: readonly StepDefinition[]): string[] => steps.map((step) => (step.kind === 'to' ? `to:${step.uri}` : `${step.kind}:${'name' in step ? step.name : ''}`));

  it('is one feed route reading the hubs of all its networks, and each network keeps its source route', () => {
    const routes = feedRoutes(parsed(configText(WALL)));
    expect(routes.map((route) => route.id)).toEqual(['feed:caturday', 'source:x', 'source:bluesky', 'source:mastodon:mastodon.social#caturday', 'source:mastodon:mastodon.social#cats']);
    const feed = routes[0]!;
    expect(feed.from).toBe('hub:x,bluesky,mastodon?live=true');
    expect(shape(feed.steps)).toEqual(['filter:feed', 'transform:count-received', 'transform:feed', 'filter:sensitive', 'filter:moderation', 'transform:map', 'filter:mapped', 'transform:stamp', 'filter:contract', 'idempotent:id', 'to:amqp:/topic/feed.caturday', 'transform:count-sent']);
    for (const source of routes.slice(1)) expect(source.steps.at(-1)).toMatchObject({ kind: 'to', uri: `hub:${source.id.split(':')[1]}` });
  });

  it('keeps running when its networks change, and a one-network feed\'s route stays as it was', () => {
    const signature = (text: string, id: string) => routeSignature(feedRoutes(parsed(text)).find((route) => route.id === id)!);
    const before = configText('  - { name: caturday, networks: [x, bluesky], keywords: [cats] }', '  - { name: dogs, network: x, keywords: [dog] }');
    const after = configText('  - { name: caturday, networks: [x, bluesky, mastodon], keywords: [cats] }', '  - { name: dogs, network: x, keywords: [dog] }');
    // The feed reads every hub and the sources hand it only its networks' posts: the route is not replaced.
    expect(signature(after, 'feed:caturday')).toBe(signature(before, 'feed:caturday'));
    expect(feedRoutes(parsed(before)).find((route) => route.id === 'feed:caturday')?.from).toBe('hub:x,bluesky,mastodon?live=true');
    expect(signature(after, 'feed:dogs')).toBe(signature(before, 'feed:dogs'));
    // The X and Bluesky sources read on untouched: no reconnect, no rewind.
    expect(signature(after, 'source:x')).toBe(signature(before, 'source:x'));
    expect(signature(after, 'source:bluesky')).toBe(signature(before, 'source:bluesky'));
    // `network: x` reads X's hub alone, as it always did; `networks: [x]` is ready for more.
    const one = (feed: string) => feedRoutes(parsed(configText(feed)))[0]?.from;
    expect(one('  - { name: dogs, network: x, keywords: [dog] }')).toBe('hub:x?live=true');
    expect(one('  - { name: dogs, networks: [x], keywords: [dog] }')).toBe('hub:x,bluesky,mastodon?live=true');
  });
});
