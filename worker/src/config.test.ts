import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type WorkerConfig } from './config.js';

const DEMO = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../samples/x-cats.ndjson', import.meta.url));
const env = { LIVEWALL_PUBLISHER_PASSWORD: 'pw' };

/** A valid config; the line numbers the tests use are those of this text. */
const BASE = [
  'broker:', //                                        1
  '  url: amqp://localhost:5672', //                   2
  '  username: publisher', //                          3
  '  password: ${LIVEWALL_PUBLISHER_PASSWORD}', //     4
  'imageHosts:', //                                    5
  '  - http://localhost:8080', //                      6
  'sources:', //                                       7
  '  x:', //                                           8
  '    replay:', //                                    9
  '      file: recordings/x.ndjson', //                10
  '      pace: 2/s', //                                11
  '      loop: true', //                               12
  'feeds:', //                                         13
  '  - name: cats', //                                 14
];

/** BASE with line `n` (1-based) replaced by `replacement` (several lines, or none). */
function edit(edits: Record<number, string[]>): string {
  return BASE.flatMap((line, index) => edits[index + 1] ?? [line]).join('\n') + '\n';
}

function problemsOf(text: string, environment: NodeJS.ProcessEnv = env): string[] {
  try {
    parseConfig(text, 'feeds.yaml', environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.message).toBe(error.problems.join('\n'));
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function parsed(text: string, environment: NodeJS.ProcessEnv = env): WorkerConfig {
  return parseConfig(text, 'feeds.yaml', environment);
}

describe('loadConfig on the demo config', () => {
  it('parses, resolving the recording next to the config file', () => {
    const config = loadConfig(DEMO, env);
    expect(config.file).toBe(DEMO);
    expect(config.broker).toEqual({ url: 'amqp://localhost:5672', username: 'publisher', password: 'pw', profile: 'artemis', stomp: { url: 'stomp://localhost:61613', host: 'localhost', port: 61613 } });
    expect(config.imageHostEntries).toEqual(['pbs.twimg.com', 'cdn.bsky.app', 'http://localhost:8080']);
    expect(config.imageHosts.cspSources()).toEqual(['https://pbs.twimg.com', 'https://cdn.bsky.app', 'http://localhost:8080']);
    expect(config.sources.x?.replay).toEqual({
      file: SAMPLE,
      pace: 2,
      loop: true,
      startOffset: 0,
      restamp: true,
      rewriteMedia: { from: 'https://pbs.twimg.com/media/', to: 'http://localhost:8080/demo/media/' },
    });
    expect(existsSync(config.sources.x?.replay?.file ?? '')).toBe(true);
    expect(config.feeds).toEqual([{ name: 'cats', networks: ['x'], networksKey: 'network', keywords: ['cat', 'cats', 'kitten', 'caturday'], index: 0 }]);
    expect(Object.keys(config.sources)).toEqual(['x']);
    expect(config.videoPreviews).toBe(true);
    expect(config.shutdownTimeoutMs).toBe(10_000);
  });

  it('takes the broker URL and demo origin from the environment', () => {
    const config = loadConfig(DEMO, { ...env, LIVEWALL_AMQP_URL: 'amqps://broker:5671', LIVEWALL_DEMO_ORIGIN: 'http://127.0.0.1:9000' });
    expect(config.broker.url).toBe('amqps://broker:5671');
    expect(config.imageHostEntries).toEqual(['pbs.twimg.com', 'cdn.bsky.app', 'http://127.0.0.1:9000']);
    expect(config.sources.x?.replay?.rewriteMedia).toEqual({ from: 'https://pbs.twimg.com/media/', to: 'http://127.0.0.1:9000/demo/media/' });
  });

  it('wants the publisher password', () => {
    expect(() => loadConfig(DEMO, {})).toThrow(new ConfigError([`${DEMO}:7:13: environment variable LIVEWALL_PUBLISHER_PASSWORD is not set (used by broker.password)`]));
  });

  it('reports a file it cannot read', () => {
    expect(() => loadConfig('/nonexistent/feeds.yaml', env)).toThrow(/^\/nonexistent\/feeds\.yaml: cannot read: ENOENT/);
  });
});

describe('parseConfig', () => {
  it('parses the base config with defaults for what it leaves out', () => {
    const config = parsed(edit({}));
    expect(config.sources.x).toEqual({ network: 'x', options: {}, instances: [], replay: { file: resolve('recordings/x.ndjson'), pace: 2, loop: true, startOffset: 0, restamp: false } });
    expect(config.videoPreviews).toBe(true);
    expect(config.shutdownTimeoutMs).toBe(10_000);
  });

  it('reads the optional settings', () => {
    const config = parsed(
      edit({
        5: ['videoPreviews: false', 'shutdownTimeout: 500ms', 'imageHosts:'],
        12: ['      loop: false', '      startOffset: 7', '      restamp: true', '      rewriteMedia:', '        from: https://a/', '        to: https://b/'],
        14: ['  - name: cats', '  - name: dogs'],
      }),
    );
    expect(config.videoPreviews).toBe(false);
    expect(config.shutdownTimeoutMs).toBe(500);
    expect(config.sources.x?.replay).toMatchObject({ loop: false, startOffset: 7, restamp: true, rewriteMedia: { from: 'https://a/', to: 'https://b/' } });
    expect(config.feeds).toEqual([
      { name: 'cats', networks: ['x'], networksKey: 'network', keywords: [], index: 0 },
      { name: 'dogs', networks: ['x'], networksKey: 'network', keywords: [], index: 1 },
    ]);
    expect(parsed(edit({ 5: ['shutdownTimeout: 2m', 'imageHosts:'] })).shutdownTimeoutMs).toBe(120_000);
    expect(parsed(edit({ 5: ['shutdownTimeout: 3', 'imageHosts:'] })).shutdownTimeoutMs).toBe(3000);
    expect(parsed(edit({ 11: ['      pace: 120/min'] })).sources.x?.replay?.pace).toBe(2);
    expect(parsed(edit({ 11: ['      pace: 3'] })).sources.x?.replay?.pace).toBe(3);
    expect(parsed(edit({ 11: [] })).sources.x?.replay).not.toHaveProperty('pace');
  });

  it('reports an unknown top-level key where the key is', () => {
    expect(problemsOf(edit({ 13: ['brokers:', '  url: amqp://x', 'feeds:'] }))).toEqual([
      'feeds.yaml:13:1: unknown field "brokers" in the top level; expected one of broker, outbox, imageHosts, videoPreviews, shutdownTimeout, source, sources, feeds, deadLetter, ops, region, ownership, status, moderation, routes',
    ]);
  });

  it('reports an unknown key under sources.x.replay where the key is', () => {
    expect(problemsOf(edit({ 12: ['      loop: true', '      speed: fast'] }))).toEqual([
      'feeds.yaml:13:7: unknown field "speed" in sources.x.replay; expected one of file, pace, loop, startOffset, restamp, rewriteMedia',
    ]);
  });

  it('points the old source: key at its new name', () => {
    expect(problemsOf(edit({ 7: ['source:'], 8: [], 9: ['  replay:'], 10: ['    file: x.ndjson'], 11: [], 12: [] }))).toEqual([
      'feeds.yaml:7:1: source: is now sources:, with a section per network (source.replay is sources.x.replay)',
      'feeds.yaml:11:5: feed cats reads the live x source, so it needs keywords (or a rule)',
      'feeds.yaml:11:5: environment variable X_BEARER_TOKEN is not set; the live x source needs it (feeds cats), or give sources.x a replay',
    ]);
  });

  it('reports a missing environment variable at the line of its value', () => {
    expect(problemsOf(edit({ 10: ['      file: ${NOPE}/x.ndjson'] }))).toEqual([
      'feeds.yaml:10:13: environment variable NOPE is not set (used by sources.x.replay.file)',
    ]);
    expect(problemsOf(edit({}), {})).toEqual(['feeds.yaml:4:13: environment variable LIVEWALL_PUBLISHER_PASSWORD is not set (used by broker.password)']);
    expect(problemsOf(edit({ 6: ['  - pbs.twimg.com', '  - ${NOPE}'] }))).toEqual([
      'feeds.yaml:7:5: environment variable NOPE is not set (used by imageHosts[1])',
    ]);
  });

  it('with checkEnv off, takes a setting whose variable is missing as unknown: not a problem, and not checked', () => {
    const text = edit({
      2: ['  url: ${NOPE_URL}'],
      8: ['  x: { tokenEnv: NOPE_TOKEN }'],
      9: [],
      10: [],
      11: [],
      12: [],
      13: ['ops: { port: "${NOPE_PORT}" }', 'feeds:'],
      14: ['  - { name: dogs, keywords: [dog] }'],
    });
    expect(problemsOf(text, {})).toEqual([
      'feeds.yaml:2:8: environment variable NOPE_URL is not set (used by broker.url)',
      'feeds.yaml:4:13: environment variable LIVEWALL_PUBLISHER_PASSWORD is not set (used by broker.password)',
      'feeds.yaml:8:18: environment variable NOPE_TOKEN is not set; the live x source needs it (feeds dogs), or give sources.x a replay',
      'feeds.yaml:9:14: environment variable NOPE_PORT is not set (used by ops.port)',
    ]);
    const config = parseConfig(text, 'feeds.yaml', {}, { checkEnv: false });
    expect(config.broker.password).toBeUndefined();
    expect(config.feeds.map((feed) => feed.name)).toEqual(['dogs']);
    // A default still applies, and is checked; so is everything else.
    expect(() => parseConfig(edit({ 2: ['  url: ${NOPE_URL:-http://x}'] }), 'feeds.yaml', {}, { checkEnv: false })).toThrow(
      new ConfigError(['feeds.yaml:2:8: broker.url must look like amqp://host:5672, not "http://x"']),
    );
  });

  it('reports an ops port that is not one', () => {
    expect(parsed(edit({ 13: ['ops: { port: "9464" }', 'feeds:'] })).ops).toEqual({ port: 9464, host: '127.0.0.1' });
    for (const port of ['-1', '70000', 'http', '"0x10"', '1.5']) {
      expect(problemsOf(edit({ 13: [`ops: { port: ${port} }`, 'feeds:'] }))).toEqual(['feeds.yaml:13:14: ops.port must be a port number (0 picks a free one)']);
    }
    expect(problemsOf(edit({ 13: ['ops: { host: 0.0.0.0 }', 'feeds:'] }))).toEqual(['feeds.yaml:13:6: ops.port is required']);
  });

  it('uses ${VAR:-default} when the variable is unset or empty', () => {
    const text = edit({ 10: ['      file: ${DIR:-recordings}/${NAME:-x}.ndjson'] });
    expect(parsed(text).sources.x?.replay?.file).toBe(resolve('recordings/x.ndjson'));
    expect(parsed(text, { ...env, DIR: '', NAME: '' }).sources.x?.replay?.file).toBe(resolve('recordings/x.ndjson'));
    expect(parsed(text, { ...env, DIR: '/data', NAME: 'dogs' }).sources.x?.replay?.file).toBe('/data/dogs.ndjson');
    expect(parsed(edit({ 4: ['  password: ${NOPE:-}'] })).broker.password).toBe('');
    // An empty variable without a default counts as missing.
    expect(problemsOf(edit({}), { LIVEWALL_PUBLISHER_PASSWORD: '' })).toHaveLength(1);
  });

  it('reports a bad pace', () => {
    expect(problemsOf(edit({ 11: ['      pace: fast'] }))).toEqual(['feeds.yaml:11:13: sources.x.replay.pace must be a rate such as 5/s or 120/min, not "fast"']);
    expect(problemsOf(edit({ 11: ['      pace: 0/s'] }))).toEqual(['feeds.yaml:11:13: sources.x.replay.pace must be a rate such as 5/s or 120/min, not "0/s"']);
  });

  it("takes a feed's sensitive: drop or show, unset by default, and refuses anything else where it is written", () => {
    expect(parsed(edit({ 14: ['  - name: cats'] })).feeds[0]).not.toHaveProperty('sensitive');
    expect(parsed(edit({ 14: ['  - name: cats', '    sensitive: show'] })).feeds[0]!.sensitive).toBe('show');
    expect(parsed(edit({ 14: ['  - name: cats', '    sensitive: drop'] })).feeds[0]!.sensitive).toBe('drop');
    expect(problemsOf(edit({ 14: ['  - name: cats', '    sensitive: blur'] }))).toEqual(['feeds.yaml:15:16: feeds[0].sensitive must be drop or show, not "blur"']);
    expect(problemsOf(edit({ 14: ['  - name: cats', '    sensitive: true'] }))).toEqual(['feeds.yaml:15:16: feeds[0].sensitive must be drop or show, not "true"']);
  });

  it('reports a bad feed name', () => {
    expect(problemsOf(edit({ 14: ['  - name: Cats'] }))).toEqual(['feeds.yaml:14:11: feed name "Cats" must match [a-z0-9-]{1,32}']);
    expect(problemsOf(edit({ 14: ['  - cats'] }))).toEqual(['feeds.yaml:14:5: feeds[0] must be a mapping']);
    expect(problemsOf(edit({ 14: ['  - title: cats'] }))).toEqual([
      'feeds.yaml:14:5: unknown field "title" in feeds[0]; expected one of name, network, networks, keywords, rule, deadLetter, sensitive, moderation, imageCheck',
      'feeds.yaml:14:5: feeds[0].name is required',
    ]);
  });

  it('reports a duplicate feed at the second one', () => {
    expect(problemsOf(edit({ 14: ['  - name: cats', '  - name: dogs', '  - name: cats'] }))).toEqual(['feeds.yaml:16:11: feed "cats" is defined twice']);
  });

  it('reports missing feeds', () => {
    expect(problemsOf(edit({ 13: ['feeds: []'], 14: [] }))).toEqual(['feeds.yaml:13:8: feeds must list at least one feed']);
    // Without the key, the problem is placed at the start of the document.
    expect(problemsOf(edit({ 13: [], 14: [] }))).toEqual(['feeds.yaml:1:1: feeds must list at least one feed']);
    expect(problemsOf(edit({ 13: ['feeds: cats'], 14: [] }))).toEqual(['feeds.yaml:13:8: feeds must be a list', 'feeds.yaml:13:8: feeds must list at least one feed']);
  });

  it('reports a bad broker url', () => {
    expect(problemsOf(edit({ 2: ['  url: http://localhost:8161'] }))).toEqual([
      'feeds.yaml:2:8: broker.url must look like amqp://host:5672, not "http://localhost:8161"',
    ]);
    // A missing key is placed at the mapping that lacks it.
    expect(problemsOf(edit({ 2: [] }))).toEqual(['feeds.yaml:2:3: broker.url is required']);
  });

  it('takes a list of broker URLs, the idle timeout and the window', () => {
    const config = parsed(edit({ 2: ['  url: [amqps://a.example:5671, amqps://b.example:5671]', '  idleTimeout: 5s', '  window: 4000'] }));
    expect(config.broker).toMatchObject({ url: 'amqps://a.example:5671', failover: ['amqps://b.example:5671'], idleTimeoutMs: 5000, window: 4000 });
    expect(parsed(edit({})).broker.window).toBeUndefined();
    expect(problemsOf(edit({ 2: ['  url: amqp://localhost:5672', '  window: 0'] }))).toEqual(['feeds.yaml:3:11: broker.window must be a whole number of messages from 1 to 20000']);
    expect(problemsOf(edit({ 2: ['  url: amqp://localhost:5672', '  idleTimeout: 10ms'] }))).toEqual([
      'feeds.yaml:3:16: broker.idleTimeout must be a duration of at least 1s, such as 10s, not "10ms"',
    ]);
  });

  it('takes the broker profile, artemis by default, and its status topic', () => {
    expect(parsed(edit({})).broker.profile).toBe('artemis');
    expect(parsed(edit({})).status.topic).toBe('/topic/status.workers');
    const rabbitmq = parsed(edit({ 4: ['  password: ${LIVEWALL_PUBLISHER_PASSWORD}', '  profile: rabbitmq'] }));
    expect(rabbitmq.broker.profile).toBe('rabbitmq');
    expect(rabbitmq.status.topic).toBe('/topic/status.workers');
    // The demo config takes it from the environment, as scripts/start --broker sets it.
    expect(loadConfig(DEMO, { ...env, LIVEWALL_BROKER_PROFILE: 'rabbitmq' }).broker.profile).toBe('rabbitmq');
    expect(loadConfig(DEMO, env).broker.profile).toBe('artemis');
  });

  it('reports an unknown broker profile where it is', () => {
    expect(problemsOf(edit({ 4: ['  password: ${LIVEWALL_PUBLISHER_PASSWORD}', '  profile: kafka'] }))).toEqual([
      'feeds.yaml:5:12: broker.profile must be one of artemis, rabbitmq, not "kafka"',
    ]);
  });

  it('reports a YAML syntax error where it is', () => {
    expect(problemsOf(edit({ 11: ['      pace: "2/s'] }))).toEqual(['feeds.yaml:15:1: Missing closing "quote']);
    expect(problemsOf(edit({ 12: ['     loop: true'] }))).toEqual(['feeds.yaml:12:1: All mapping items must start at the same column']);
    expect(problemsOf(edit({ 3: ['  url: amqp://other:5672'] }))).toEqual(['feeds.yaml:3:3: Map keys must be unique']);
  });

  it('reports a bad image host', () => {
    expect(problemsOf(edit({ 6: ['  - pbs.twimg.com', '  - http://example.com'] }))).toEqual([
      'feeds.yaml:7:5: image host "http://example.com": only https origins, or http on a loopback host, are allowed',
    ]);
    expect(problemsOf(edit({ 6: ['  - not a host'] }))).toEqual(['feeds.yaml:6:5: image host "not a host" is not a host name']);
  });

  it('reports other wrong values where they are', () => {
    expect(problemsOf(edit({ 12: ['      loop: yes'] }))).toEqual(['feeds.yaml:12:13: sources.x.replay.loop must be true or false']);
    expect(problemsOf(edit({ 12: ['      startOffset: -1'] }))).toEqual(['feeds.yaml:12:20: sources.x.replay.startOffset must be a whole number of lines']);
    expect(problemsOf(edit({ 12: ['      rewriteMedia:', '        from: https://a/'] }))).toEqual(['feeds.yaml:13:9: sources.x.replay.rewriteMedia.to is required']);
    expect(problemsOf(edit({ 5: ['shutdownTimeout: soon', 'imageHosts:'] }))).toEqual(['feeds.yaml:5:18: shutdownTimeout must be a duration such as 10s or 500ms']);
    expect(problemsOf(edit({ 10: [] }))).toEqual(['feeds.yaml:10:7: sources.x.replay.file is required']);
  });

  it('takes the ownership lease and renewal, 5 s and 1 s by default, and checks that a lease outlasts renewals', () => {
    expect(parsed(edit({})).ownership).toEqual({ leaseMs: 5000, renewMs: 1000 });
    expect(parsed(edit({ 5: ['ownership: { lease: 2s, renew: 250ms }', 'imageHosts:'] })).ownership).toEqual({ leaseMs: 2000, renewMs: 250 });
    expect(problemsOf(edit({ 5: ['ownership: { lease: 2s, renew: 1s }', 'imageHosts:'] }))).toEqual([
      'feeds.yaml:5:21: ownership.lease (2s) must be at least three times ownership.renew (1s), so that a missed renewal or two does not end it',
    ]);
    expect(problemsOf(edit({ 5: ['ownership: { renew: 10ms }', 'imageHosts:'] }))).toEqual(['feeds.yaml:5:21: ownership.renew must be a duration of at least 100ms, such as 1s, not "10ms"']);
    expect(problemsOf(edit({ 5: ['ownership: { ttl: 5s }', 'imageHosts:'] }))).toEqual(['feeds.yaml:5:14: unknown field "ttl" in ownership; expected one of lease, renew']);
  });

  it('reports a videoPreviews that is not a boolean instead of taking the default', () => {
    expect(problemsOf(edit({ 5: ['videoPreviews: "no"', 'imageHosts:'] }))).toEqual(['feeds.yaml:5:16: videoPreviews must be true or false']);
  });

  it('reports several problems together', () => {
    const problems = problemsOf(
      edit({
        2: ['  url: http://localhost:8161'],
        4: ['  password: ${NOPE}'],
        6: ['  - http://example.com'],
        11: ['      pace: fast'],
        12: ['      loop: true', '      speed: 1'],
        14: ['  - name: Cats', '  - name: dogs', '  - name: dogs'],
      }),
    );
    // In the order they are checked: broker, image hosts, feeds, sources.
    expect(problems).toEqual([
      'feeds.yaml:2:8: broker.url must look like amqp://host:5672, not "http://localhost:8161"',
      'feeds.yaml:4:13: environment variable NOPE is not set (used by broker.password)',
      'feeds.yaml:6:5: image host "http://example.com": only https origins, or http on a loopback host, are allowed',
      'feeds.yaml:15:11: feed name "Cats" must match [a-z0-9-]{1,32}',
      'feeds.yaml:17:11: feed "dogs" is defined twice',
      'feeds.yaml:13:7: unknown field "speed" in sources.x.replay; expected one of file, pace, loop, startOffset, restamp, rewriteMedia',
      'feeds.yaml:11:13: sources.x.replay.pace must be a rate such as 5/s or 120/min, not "fast"',
    ]);
  });

  it('reports an empty or non-mapping file', () => {
    expect(problemsOf('')).toContain('feeds.yaml:1:1: the file must be a mapping');
    expect(problemsOf('- a\n- b\n')[0]).toBe('feeds.yaml:1:1: the file must be a mapping');
  });
});
