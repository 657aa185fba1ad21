import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImageAllowList } from '@livewall/contract';
import { loadConfig } from '../config.js';
import type { StepDefinition } from '../engine/definition.js';
import type { Exchange } from '../engine/types.js';
import { feedRoute, sourceRoutes } from '../feeds.js';
import type { Post } from '../post.js';
import { defaultFunctions, type ExpressionKind, type ExpressionTypes } from './expressions.js';
import { feedPipeline } from './feed-pipeline.js';

const DEMO = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../../samples/x-cats.ndjson', import.meta.url));
const config = loadConfig(DEMO, { LIVEWALL_PUBLISHER_PASSWORD: 'pw' });
const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((line) => line.trim() !== '');

interface Outcome {
  sent: { body: unknown; headers: Record<string, unknown> }[];
  dropped: Record<string, number>;
}

/** Runs exchanges through linear steps by hand (filter, transform, split, to): enough to compare two pipelines. */
function runSteps(steps: StepDefinition[], inputs: { body: unknown; headers: Record<string, unknown> }[]): Outcome {
  const outcome: Outcome = { sent: [], dropped: {} };
  const run = (exchange: Exchange, from: number): void => {
    for (let index = from; index < steps.length; index++) {
      const step = steps[index] as StepDefinition;
      if (step.kind === 'filter') {
        const verdict = step.predicate(exchange);
        if (verdict !== true) {
          const reason = typeof verdict === 'string' ? verdict : `filter:${step.name}`;
          outcome.dropped[reason] = (outcome.dropped[reason] ?? 0) + 1;
          return;
        }
      } else if (step.kind === 'transform') {
        exchange.body = step.fn(exchange);
      } else if (step.kind === 'split') {
        for (const part of step.fn(exchange)) run({ id: exchange.id, body: part, headers: { ...exchange.headers } }, index + 1);
        return;
      } else if (step.kind === 'to') {
        outcome.sent.push({ body: exchange.body, headers: exchange.headers });
      }
    }
  };
  inputs.forEach(({ body, headers }, index) => run({ id: `ex-${index}`, body, headers: { ...headers } }, 0));
  return outcome;
}

describe('the feed pipeline as named functions', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-22T10:00:00.000Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes exactly what the source and feed routes publish, on the bundled recording', () => {
    const functions = defaultFunctions(config);
    const named = <Kind extends ExpressionKind>(name: string, kind: Kind): ExpressionTypes[Kind] => {
      const fn = functions.get(name, kind);
      if (!fn) throw new Error(`no ${kind} ${name}`);
      return fn;
    };
    const pieces: StepDefinition[] = [
      { kind: 'transform', name: 'decodeX', fn: named('decodeX', 'transform') },
      { kind: 'filter', name: 'isPost', predicate: named('isPost', 'predicate') },
      { kind: 'transform', name: 'post', fn: named('post', 'transform') },
      { kind: 'filter', name: 'hasPictures', predicate: named('hasPictures', 'predicate') },
      { kind: 'split', name: 'byFeed', fn: named('byFeed', 'splitter') },
      { kind: 'filter', name: 'cats', predicate: (exchange) => (exchange.body as Post).feeds[0] === 'cats' || 'other-feed' },
      { kind: 'transform', name: 'feedItem', fn: named('feedItem', 'transform') },
      { kind: 'filter', name: 'isMapped', predicate: named('isMapped', 'predicate') },
      { kind: 'transform', name: 'stamp', fn: named('stamp', 'transform') },
      { kind: 'filter', name: 'meetsContract', predicate: named('meetsContract', 'predicate') },
      { kind: 'to', uri: 'log:out' },
    ];
    const raw = lines.map((body) => ({ body, headers: { pass: 1 } }));
    const [source] = sourceRoutes(config, 'x');
    const decoded = runSteps((source as { steps: StepDefinition[] }).steps, raw);
    const expected = runSteps(feedRoute(config, { name: 'cats', network: 'x' }).steps, decoded.sent);
    const actual = runSteps(pieces, raw);
    expect(expected.sent.length).toBeGreaterThan(40);
    expect(actual.sent).toEqual(expected.sent);
    // The feed route drops the other feeds' posts; byFeed splits them off: the rest is dropped for the same reasons.
    const { 'other-feed': _other, ...dropped } = actual.dropped;
    const { 'other-feed': _otherToo, ...expectedDropped } = { ...decoded.dropped, ...expected.dropped };
    expect(dropped).toEqual(expectedDropped);
  });

  it('sends a post matched to two feeds to each, under keys that are not duplicates', () => {
    const x = feedPipeline({ imageHosts: new ImageAllowList(['pbs.twimg.com']), videoPreviews: true, restamp: false });
    const twoFeeds = lines.find((line) => line.includes('"tag":"dogs"')) as string;
    const exchange: Exchange = { id: 'ex-1', body: twoFeeds, headers: {} };
    exchange.body = x.decodeX(exchange);
    expect(x.isPost(exchange)).toBe(true);
    exchange.body = x.post(exchange);
    const keys = x.byFeed(exchange).map((part) => {
      const item: Exchange = { id: 'ex-2', body: part, headers: {} };
      item.body = x.feedItem(item);
      expect(x.isMapped(item)).toBe(true);
      item.body = x.stamp(item);
      expect(x.meetsContract(item)).toBe(true);
      expect(item.headers).toEqual({ messageId: (item.body as { id: string }).id, feed: (item.body as { feed: string }).feed });
      return x.itemKey(item);
    });
    expect(keys).toEqual([expect.stringMatching(/^cats\/x:\d+$/), expect.stringMatching(/^dogs\/x:\d+$/)]);
  });

  it('names what it drops, and what was never decoded', () => {
    const x = feedPipeline({ imageHosts: new ImageAllowList([]), videoPreviews: false, restamp: false });
    const decoded = (line: string): Exchange => {
      const exchange: Exchange = { id: 'ex-1', body: line, headers: {} };
      exchange.body = x.decodeX(exchange);
      return exchange;
    };
    expect(x.isPost(decoded('{"errors":[{"title":"ConnectionException","detail":"too many"}]}'))).toBe('stream-error');
    expect(x.isPost(decoded('not json'))).toMatch(/^invalid:/);
    expect(x.isPost({ id: 'ex-1', body: 'a raw line', headers: {} })).toBe('not-decoded');
    const noFeed: Exchange = { id: 'ex-1', body: { feeds: [] }, headers: {} };
    expect(x.feedItem(noFeed)).toEqual({ ok: false, reason: 'no-feed' });
  });
});
