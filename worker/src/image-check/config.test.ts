import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, type WorkerConfig } from '../config.js';
import { BLUESKY_CONFIG_HEAD, blueskyConfig, blueskyConfigProblems } from '../config-testing.js';
import { routeSignature } from '../engine/reload.js';
import { feedRoutes } from '../feeds.js';
import { IMAGE_CHECK_DEFAULTS } from './config.js';
import { isLoopbackHttp } from './fetch-image.js';

const HEAD = BLUESKY_CONFIG_HEAD;
const configOf = blueskyConfig;
const problemsOf = blueskyConfigProblems;

describe('imageCheck: in a feed', () => {
  it('is off unless a feed asks for it; true takes the defaults; a mapping sets its own', () => {
    const config = configOf([
      'feeds:',
      '  - { name: plain, network: bluesky, keywords: [cat] }',
      '  - { name: checked, network: bluesky, keywords: [cat], imageCheck: true }',
      '  - name: strict',
      '    network: bluesky',
      '    keywords: [cat]',
      '    imageCheck: { thresholds: { Porn: 0.5 }, onError: pass, timeout: 500ms, maxBytes: 100000, maxPixels: 1000000 }',
    ]);
    expect(config.feeds.map((feed) => feed.imageCheck)).toEqual([
      undefined,
      IMAGE_CHECK_DEFAULTS,
      { thresholds: { Porn: 0.5 }, onError: 'pass', timeoutMs: 500, maxBytes: 100_000, maxPixels: 1_000_000, loopbackHttp: false },
    ]);
  });

  it('is off while enabled is false or off (as an environment variable gives it), its settings checked all the same', () => {
    const config = configOf([
      'feeds:',
      '  - { name: a, network: bluesky, keywords: [cat], imageCheck: { enabled: "off", loopbackHttp: true } }',
      '  - { name: b, network: bluesky, keywords: [cat], imageCheck: { enabled: false } }',
      '  - { name: c, network: bluesky, keywords: [cat], imageCheck: { enabled: " On ", loopbackHttp: true } }',
      '  - { name: d, network: bluesky, keywords: [cat], imageCheck: { enabled: true } }',
    ]);
    expect(config.feeds.map((feed) => feed.imageCheck)).toEqual([undefined, undefined, { ...IMAGE_CHECK_DEFAULTS, loopbackHttp: true }, IMAGE_CHECK_DEFAULTS]);
    expect(problemsOf(['feeds:', '  - { name: a, network: bluesky, keywords: [cat], imageCheck: { enabled: maybe, onError: never, loopbackHttp: "yes" } }'])).toEqual([
      'worker.yaml:5:90: feeds[0].imageCheck.onError must be drop or pass, not "never"',
      'worker.yaml:5:111: feeds[0].imageCheck.loopbackHttp must be true or false',
      'worker.yaml:5:74: feeds[0].imageCheck.enabled must be true or false (or on, off), not "maybe"',
    ]);
  });

  it('reports each wrong setting at its file:line:col', () => {
    expect(
      problemsOf([
        'feeds:',
        '  - name: cats',
        '    network: bluesky',
        '    keywords: [cat]',
        '    imageCheck:',
        '      thresholds: { porn: 0.5, Sexy: 2, Hentai: "high" }',
        '      onError: ignore',
        '      timeout: 5m',
        '      maxBytes: 10',
        '      colour: red',
        '  - { name: dogs, network: bluesky, keywords: [dog], imageCheck: { thresholds: {} } }',
      ]),
    ).toEqual([
      'worker.yaml:13:7: unknown field "colour" in feeds[0].imageCheck; expected one of enabled, thresholds, onError, timeout, maxBytes, maxPixels, loopbackHttp',
      'worker.yaml:9:21: unknown field "porn" in feeds[0].imageCheck.thresholds; expected one of Porn, Hentai, Sexy',
      'worker.yaml:9:49: feeds[0].imageCheck.thresholds.Hentai must be a probability above 0 and at most 1, such as 0.7',
      'worker.yaml:9:38: feeds[0].imageCheck.thresholds.Sexy must be a probability above 0 and at most 1, such as 0.7',
      'worker.yaml:10:16: feeds[0].imageCheck.onError must be drop or pass, not "ignore"',
      'worker.yaml:11:16: feeds[0].imageCheck.timeout must be a duration from 50ms to 60s, such as 2s, not "5m"',
      'worker.yaml:12:17: feeds[0].imageCheck.maxBytes must be a whole number, at least 1024',
      'worker.yaml:14:80: feeds[1].imageCheck.thresholds must set at least one of Porn, Hentai, Sexy',
    ]);
  });

  it("puts the check right before the feed's topic, after every other step that may drop, and a settings change restarts the feed's route", () => {
    const on = configOf(['feeds: [{ name: cats, network: bluesky, keywords: [cat], imageCheck: true }]']);
    const stricter = configOf(['feeds: [{ name: cats, network: bluesky, keywords: [cat], imageCheck: { thresholds: { Porn: 0.3 } } }]']);
    const off = configOf(['feeds: [{ name: cats, network: bluesky, keywords: [cat] }]']);
    const route = (config: WorkerConfig) => feedRoutes(config).find((candidate) => candidate.id === 'feed:cats')!;
    const named = (config: WorkerConfig) => route(config).steps.map((step) => `${step.kind}:${'name' in step ? step.name : 'uri' in step ? step.uri : ''}`);
    const check = named(on).indexOf('transform:image-check');
    expect(named(on).slice(check, check + 3)).toEqual(['transform:image-check', 'filter:image-check', 'to:amqp:/topic/feed.cats']);
    expect(named(on).slice(0, check)).toEqual(named(off).slice(0, check));
    expect(route(off).steps.some((step) => 'name' in step && step.name === 'image-check')).toBe(false);
    expect(new Set([routeSignature(route(on)), routeSignature(route(stricter)), routeSignature(route(off))]).size).toBe(3);
  });

  it('takes the example of docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((block) => block[1] as string).find((block) => block.includes('imageCheck:'));
    expect(example).toBeDefined();
    const config = parseConfig(`${HEAD.join('\n')}\n${example}`, 'docs/configuration.md', {});
    expect(config.feeds.map((feed) => feed.imageCheck)).toEqual([IMAGE_CHECK_DEFAULTS, { ...IMAGE_CHECK_DEFAULTS, thresholds: { Porn: 0.6, Hentai: 0.6, Sexy: 0.8 }, onError: 'pass', timeoutMs: 1000 }]);
  });

  it("is off in the demo's config unless LIVEWALL_DEMO_IMAGE_CHECK is on, and then fetches the demo's own pictures over http", () => {
    const demo = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
    const env = { LIVEWALL_PUBLISHER_PASSWORD: 'secret' };
    expect(loadConfig(demo, env).feeds[0]?.imageCheck).toBeUndefined();
    const on = loadConfig(demo, { ...env, LIVEWALL_DEMO_IMAGE_CHECK: 'on' });
    expect(on.feeds[0]?.imageCheck).toEqual({ ...IMAGE_CHECK_DEFAULTS, loopbackHttp: true });
    // The replay's pictures, as the recording's rewrite makes them: on the allow-list, and plain http from this machine.
    const thumb = 'http://localhost:8080/demo/media/G-2wLNqpvuDh6Ip.png?name=small';
    expect(on.imageHosts.refusal(thumb)).toBeUndefined();
    expect(isLoopbackHttp(thumb)).toBe(true);
  });
});
