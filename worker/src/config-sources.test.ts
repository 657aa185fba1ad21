import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mastodonInstance, mastodonTag } from './config-sources.js';
import { ConfigError, parseConfig, type WorkerConfig } from './config.js';

const env = { X_TOKEN: 'secret-bearer' };

/** A valid config with a live source for each network; the line numbers the tests use are those of this text. */
const BASE = [
  'broker:', //                                                  1
  '  url: amqp://localhost:5672', //                             2
  'sources:', //                                                 3
  '  x:', //                                                     4
  '    tokenEnv: X_TOKEN', //                                    5
  '  bluesky:', //                                               6
  '    cursorFile: state/bluesky.cursor', //                     7
  '  mastodon:', //                                              8
  '    instances: [mastodon.social, "http://127.0.0.1:1234"]', //9
  'feeds:', //                                                   10
  '  - { name: cats, network: x, keywords: [cat, kitten] }', //  11
  '  - { name: sky-cats, network: bluesky, keywords: [cat] }', //12
  '  - name: toot-cats', //                                      13
  '    network: mastodon', //                                    14
  '    keywords:', //                                            15
  '      - cats', //                                             16
  '      - "#Caturday"', //                                      17
];

/** BASE with line `n` (1-based) replaced by `replacement` (several lines, or none). */
function edit(edits: Record<number, string[]>): string {
  return BASE.flatMap((line, index) => edits[index + 1] ?? [line]).join('\n') + '\n';
}

function parsed(text: string, environment: NodeJS.ProcessEnv = env): WorkerConfig {
  return parseConfig(text, 'feeds.yaml', environment);
}

function problemsOf(text: string, environment: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfig(text, 'feeds.yaml', environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the sources: section', () => {
  it('reads a live source per network: its component options, and Mastodon\'s instances', () => {
    const config = parsed(edit({}));
    expect(config.sources).toEqual({
      x: { network: 'x', options: { tokenEnv: 'X_TOKEN' }, instances: [] },
      // The live Bluesky source looks authors up unless its section says profiles: false.
      bluesky: { network: 'bluesky', options: { cursorFile: 'state/bluesky.cursor' }, instances: [], profiles: {} },
      mastodon: { network: 'mastodon', options: {}, instances: ['mastodon.social', 'http://127.0.0.1:1234'] },
    });
    expect(config.feeds.map(({ name, networks, keywords }) => ({ name, network: networks.join(','), keywords }))).toEqual([
      { name: 'cats', network: 'x', keywords: ['cat', 'kitten'] },
      { name: 'sky-cats', network: 'bluesky', keywords: ['cat'] },
      { name: 'toot-cats', network: 'mastodon', keywords: ['cats', '#Caturday'] },
    ]);
  });

  it('reads a network no feed uses, and leaves out one without section or feeds', () => {
    const config = parsed(edit({ 12: [], 13: [], 14: [], 15: [], 16: [], 17: [] }));
    expect(Object.keys(config.sources)).toEqual(['x', 'bluesky', 'mastodon']);
    expect(Object.keys(parsed(edit({ 6: [], 7: [], 8: [], 9: [], 12: [], 13: [], 14: [], 15: [], 16: [], 17: [] })).sources)).toEqual(['x']);
  });

  it('takes X\'s token from the variable tokenEnv names, and says where it is named when it is not set', () => {
    expect(parsed(edit({})).sources.x?.options).toEqual({ tokenEnv: 'X_TOKEN' });
    expect(problemsOf(edit({}), {})).toEqual([
      'feeds.yaml:5:15: environment variable X_TOKEN is not set; the live x source needs it (feeds cats), or give sources.x a replay',
    ]);
    expect(problemsOf(edit({}), { X_TOKEN: '' })).toHaveLength(1);
  });

  it('wants X_BEARER_TOKEN for a live X source with no section, pointing at the first X feed\'s network', () => {
    const noSection = edit({ 4: [], 5: [], 11: ['  - { name: cats, network: x, keywords: [cat, kitten] }', '  - { name: dogs, network: x, keywords: [dog] }'] });
    expect(parsed(noSection, { X_BEARER_TOKEN: 'secret' }).sources.x).toEqual({ network: 'x', options: {}, instances: [] });
    expect(problemsOf(noSection, {})).toEqual([
      'feeds.yaml:9:28: environment variable X_BEARER_TOKEN is not set; the live x source needs it (feeds cats, dogs), or give sources.x a replay',
    ]);
  });

  it('checks no token for a network no feed reads, nor for a recording', () => {
    expect(parsed(edit({ 11: [] }), {}).sources.x).toEqual({ network: 'x', options: { tokenEnv: 'X_TOKEN' }, instances: [] });
    expect(parsed(edit({ 5: ['    replay: { file: x.ndjson }'] }), {}).sources.x).toEqual({
      network: 'x',
      options: {},
      instances: [],
      replay: { file: resolve('x.ndjson'), loop: false, startOffset: 0, restamp: false },
    });
  });

  it('joins a YAML list into the comma-separated URI option', () => {
    const config = parsed(edit({ 7: ['    endpoints:', '      - wss://jetstream1.example', '      - wss://jetstream2.example', '    rewind: 10s'] }));
    expect(config.sources.bluesky?.options).toEqual({ endpoints: 'wss://jetstream1.example,wss://jetstream2.example', rewind: '10s' });
    expect(parsed(edit({ 7: ['    endpoints: wss://one.example'] })).sources.bluesky?.options).toEqual({ endpoints: 'wss://one.example' });
  });

  it('writes a YAML boolean as the URI option it stands for', () => {
    expect(parsed(edit({ 9: ['    instances: [mastodon.social]', '    sensitive: true'] })).sources.mastodon?.options).toEqual({ sensitive: 'true' });
    expect(parsed(edit({ 9: ['    instances: [mastodon.social]', '    sensitive: false'] })).sources.mastodon?.options).toEqual({ sensitive: 'false' });
  });

  it('reports an unknown key under a network where the key is, with the keys the component knows', () => {
    expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', '    token: abc'] }))).toEqual([
      'feeds.yaml:6:5: unknown field "token" in sources.x; expected one of replay, baseUrl, tokenEnv, keepAliveTimeout, tagPrefix',
    ]);
    expect(problemsOf(edit({ 3: ['sources:', '  twitter: {}'] }))).toEqual([
      'feeds.yaml:4:3: unknown field "twitter" in sources; expected one of x, bluesky, mastodon',
    ]);
  });

  it('has the component check the values, as it will when the route is built, at the value', () => {
    expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', '    keepAliveTimeout: soon'] }))).toEqual([
      'feeds.yaml:6:23: sources.x: option keepAliveTimeout must be a duration such as 500ms or 10s, not "soon"',
    ]);
    expect(problemsOf(edit({ 9: ['    instances: [mastodon.social]', '    sensitive: maybe'] }))).toEqual([
      'feeds.yaml:10:16: sources.mastodon: option sensitive must be true or false, not "maybe"',
    ]);
    expect(parsed(edit({ 5: ['    tokenEnv: X_TOKEN', '    keepAliveTimeout: 45s'] })).sources.x?.options).toEqual({ tokenEnv: 'X_TOKEN', keepAliveTimeout: '45s' });
  });

  it('wants an http or https URL for the X API: a host and port alone, or another scheme, is refused at the value', () => {
    for (const [value, column] of [['127.0.0.1:27001', 14], ['ftp://x.example', 14], ['https://', 14]] as const) {
      expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', `    baseUrl: ${value}`] })), value).toEqual([
        `feeds.yaml:6:${column}: sources.x: option baseUrl must be an https:// or http:// URL, not "${value}"`,
      ]);
    }
    expect(parsed(edit({ 5: ['    tokenEnv: X_TOKEN', '    baseUrl: http://127.0.0.1:27001'] })).sources.x?.options).toEqual({ tokenEnv: 'X_TOKEN', baseUrl: 'http://127.0.0.1:27001' });
  });

  it('refuses an empty tagPrefix, which would claim every tagged rule on the stream (other tools\' too) as livewall\'s', () => {
    expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', '    tagPrefix: ""'] }))).toEqual(['feeds.yaml:6:16: sources.x: option tagPrefix must not be empty']);
    expect(parsed(edit({ 5: ['    tokenEnv: X_TOKEN', '    tagPrefix: wall-'] })).sources.x?.options).toEqual({ tokenEnv: 'X_TOKEN', tagPrefix: 'wall-' });
  });

  it('wants a unit on a duration: a bare number would be seconds elsewhere in the file, milliseconds in the URI', () => {
    expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', '    keepAliveTimeout: 30'] }))).toEqual([
      'feeds.yaml:6:23: sources.x.keepAliveTimeout must be a duration with a unit, such as 500ms or 10s, not 30',
    ]);
    expect(problemsOf(edit({ 9: ['    instances: [mastodon.social]', '    interval: ${POLL:-30}'] }))).toEqual([
      'feeds.yaml:10:15: sources.mastodon.interval must be a duration with a unit, such as 500ms or 10s, not 30',
    ]);
  });

  it("reads Bluesky's profiles: the appview: options, true for the defaults, false for none; a replay only when asked", () => {
    const bluesky = (lines: string[]) => parsed(edit({ 7: lines })).sources.bluesky;
    expect(bluesky(['    profiles: { url: "http://127.0.0.1:2583", maxWait: 200ms, cacheSize: 500 }'])?.profiles).toEqual({ url: 'http://127.0.0.1:2583', maxWait: '200ms', cacheSize: '500' });
    expect(bluesky(['    profiles: true'])?.profiles).toEqual({});
    expect(bluesky(['    profiles: false'])).not.toHaveProperty('profiles');
    expect(bluesky(['    replay: { file: sky.ndjson }'])).not.toHaveProperty('profiles');
    expect(bluesky(['    replay: { file: sky.ndjson }', '    profiles: { maxWait: 1s }'])).toMatchObject({ replay: { file: resolve('sky.ndjson') }, profiles: { maxWait: '1s' } });
    expect(problemsOf(edit({ 7: ['    profiles: { url: "ftp://appview.example", maxWait: 500, cacheTtl: soon, size: 5 }'] }))).toEqual([
      'feeds.yaml:7:77: unknown field "size" in sources.bluesky.profiles; expected one of url, maxWait, batchWindow, cacheSize, cacheTtl, requestTimeout',
      'feeds.yaml:7:56: sources.bluesky.profiles.maxWait must be a duration with a unit, such as 500ms or 10s, not 500',
      'feeds.yaml:7:22: sources.bluesky.profiles: option url must be an https:// or http:// URL, not "ftp://appview.example"',
    ]);
  });

  it('refuses a replay together with a live setting, at the live key', () => {
    expect(problemsOf(edit({ 5: ['    tokenEnv: X_TOKEN', '    replay: { file: x.ndjson }'] }))).toEqual([
      'feeds.yaml:5:5: sources.x has a replay, so the live setting tokenEnv would not be used; remove one of them',
    ]);
  });

  it('wants Mastodon instances, each a host or a test server\'s http://host:port', () => {
    expect(problemsOf(edit({ 9: ['    interval: 1m'] }))).toEqual([
      'feeds.yaml:9:5: sources.mastodon.instances must list at least one instance (e.g. mastodon.social) for the Mastodon feeds',
    ]);
    expect(problemsOf(edit({ 8: [], 9: [] }))).toEqual([
      'feeds.yaml:4:3: sources.mastodon.instances must list at least one instance (e.g. mastodon.social) for the Mastodon feeds',
    ]);
    expect(problemsOf(edit({ 9: ['    instances: [mastodon.social, "https://mastodon.social/@alice"]'] }))).toEqual([
      'feeds.yaml:9:34: "https://mastodon.social/@alice" is not an instance: write its host (mastodon.social) or, for a test server, http://host:port',
    ]);
  });

  it('wants a Mastodon feed\'s keywords to be hashtags, at the keyword', () => {
    expect(problemsOf(edit({ 16: ['      - cat videos'] }))).toEqual([
      'feeds.yaml:16:9: Mastodon follows hashtags: "cat videos" is not one (letters, digits and _ only)',
    ]);
    expect(problemsOf(edit({ 17: ['      - "#cat-videos"'] }))).toEqual([
      'feeds.yaml:17:9: Mastodon follows hashtags: "#cat-videos" is not one (letters, digits and _ only)',
    ]);
  });

  it('wants keywords for a feed that reads a live source, not for one that reads a recording', () => {
    expect(problemsOf(edit({ 12: ['  - { name: sky-cats, network: bluesky }'] }))).toEqual([
      'feeds.yaml:12:5: feed sky-cats reads the live bluesky source, so it needs keywords',
    ]);
    expect(problemsOf(edit({ 11: ['  - { name: cats, network: x }'] }))).toEqual(['feeds.yaml:11:5: feed cats reads the live x source, so it needs keywords (or a rule)']);
    expect(parsed(edit({ 11: ['  - { name: cats, network: x, rule: "cat has:images" }'] })).feeds[0]).toMatchObject({ name: 'cats', keywords: [], rule: 'cat has:images' });
    expect(parsed(edit({ 7: ['    replay: { file: bluesky.ndjson }'], 12: ['  - { name: sky-cats, network: bluesky }'] })).sources.bluesky?.replay?.file).toBe(resolve('bluesky.ndjson'));
  });

  it('points the old source: key at sources:', () => {
    expect(problemsOf(edit({ 3: ['source:', '  replay: { file: x.ndjson }', 'sources:'] }))).toEqual([
      'feeds.yaml:3:1: source: is now sources:, with a section per network (source.replay is sources.x.replay)',
    ]);
  });
});

describe('mastodonTag and mastodonInstance', () => {
  it('turns a keyword into the hashtag it follows', () => {
    expect(['cats', '#Caturday', ' #CATS '].map(mastodonTag)).toEqual(['cats', 'caturday', 'cats']);
  });

  it('splits an instance into its host and scheme', () => {
    expect(mastodonInstance('mastodon.social')).toEqual({ host: 'mastodon.social', scheme: 'https' });
    expect(mastodonInstance('https://fosstodon.org/')).toEqual({ host: 'fosstodon.org', scheme: 'https' });
    expect(mastodonInstance('http://127.0.0.1:1234')).toEqual({ host: '127.0.0.1:1234', scheme: 'http' });
  });
});
