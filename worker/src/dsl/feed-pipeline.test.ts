import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImageAllowList } from '@livewall/contract';
import { loadConfig } from '../config.js';
import type { StepDefinition } from '../engine/definition.js';
import type { Exchange } from '../engine/types.js';
import { feedRoute, sourceRoutes } from '../feeds.js';
import type { Post } from '../post.js';
import { imagesPost } from '../sources/bluesky/testing.js';
import { FeedDirectory, type DirectoryFeed } from '../sources/feed-directory.js';
import { photoStatus, photoStatusWithId } from '../sources/mastodon/fake-statuses.js';
import { defaultFunctions, type ExpressionKind, type ExpressionTypes } from './expressions.js';
import { feedPipeline, type SourceEvent } from './feed-pipeline.js';
import { jsonOf } from '../pipeline/serialized.js';

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
    const expected = runSteps(feedRoute(config, { name: 'cats', networks: ['x'], networksKey: 'network' }).steps, decoded.sent);
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

  it('keeps the JSON the contract check measured, so that the publisher sends it without encoding the item again', () => {
    const x = feedPipeline({ imageHosts: new ImageAllowList(['pbs.twimg.com']), videoPreviews: true, restamp: false });
    const exchange: Exchange = { id: 'ex-1', body: lines[0], headers: {} };
    exchange.body = x.post({ ...exchange, body: x.decodeX(exchange) });
    exchange.body = x.feedItem(exchange);
    exchange.body = x.stamp(exchange);
    const item = exchange.body as { text: string };
    const encoded = JSON.stringify(item);
    expect(jsonOf(item)).toBe(encoded);
    expect(x.meetsContract(exchange)).toBe(true);
    // Changed in place after the check (which steps never do), the item still gives the JSON that was checked.
    item.text = 'changed after the check';
    expect(jsonOf(item)).toBe(encoded);
    // A body that replaces it is encoded afresh.
    const replaced = { ...item };
    expect(jsonOf(replaced)).toBe(JSON.stringify(replaced));
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

describe('the source routes\' decoders', () => {
  const imageHosts = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', 'files.mastodon.social']);
  const at = new Date('2026-11-22T10:00:00.000Z');

  /** Runs `decode` on `raw` as a source route would: the decoded event, and the headers it set. */
  function decoded(decode: (exchange: Exchange) => SourceEvent, raw: string, headers: Record<string, unknown> = {}): { event: SourceEvent; headers: Record<string, unknown> } {
    const exchange: Exchange = { id: 'ex-1', body: raw, headers: { ...headers } };
    return { event: decode(exchange), headers: exchange.headers };
  }

  const feedsOf = (event: SourceEvent): string[] | undefined => (event.kind === 'post' ? (event as Extract<SourceEvent, { kind: 'post' }>).post.feeds : undefined);

  it('matches Bluesky posts to the feeds the setting gives now, without being built again', () => {
    // The text is "Monday mood #caturday 🐈".
    let feeds: DirectoryFeed[] = [
      { name: 'sky-cats', network: 'bluesky', keywords: ['caturday'] },
      { name: 'sky-dogs', network: 'bluesky', keywords: ['dog'] },
    ];
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false, feeds: (network) => (network === 'bluesky' ? feeds : []) });
    const raw = JSON.stringify(imagesPost);
    const first = decoded(pipeline.decodeBluesky, raw);
    expect(first.headers).toEqual({ network: 'bluesky' });
    expect(feedsOf(first.event)).toEqual(['sky-cats']);

    feeds = [
      { name: 'sky-cats', network: 'bluesky', keywords: ['cat'] },
      { name: 'sky-dogs', network: 'bluesky', keywords: ['dog', '#caturday'] },
    ];
    expect(feedsOf(decoded(pipeline.decodeBluesky, raw).event)).toEqual(['sky-dogs']);
  });

  it('matches Bluesky posts to the feeds of a directory as a reload updates it', () => {
    const directory = new FeedDirectory([{ name: 'sky-cats', network: 'bluesky', keywords: ['kitten'] }]);
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false, feeds: (network) => directory.of(network) });
    const raw = JSON.stringify(imagesPost);
    expect(feedsOf(decoded(pipeline.decodeBluesky, raw).event)).toEqual([]);
    directory.update([{ name: 'sky-cats', network: 'bluesky', keywords: ['kitten', '#caturday'] }]);
    expect(feedsOf(decoded(pipeline.decodeBluesky, raw).event)).toEqual(['sky-cats']);
  });

  it('assigns a Mastodon status to the feeds that follow its timeline\'s hashtag and to those whose keywords it contains', () => {
    // The text is "Monday mood & coffee #cats …"; the timeline it came from is the header tag.
    const feeds: DirectoryFeed[] = [
      { name: 'toot-cats', network: 'mastodon', keywords: ['#Cats'] },
      { name: 'toot-caturday', network: 'mastodon', keywords: ['caturday'] },
      { name: 'coffee', network: 'mastodon', keywords: ['coffee'] },
      { name: 'dogs', network: 'mastodon', keywords: ['dogs'] },
    ];
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false, feeds: (network) => (network === 'mastodon' ? feeds : []) });
    const raw = JSON.stringify(photoStatus);

    const fromCaturday = decoded(pipeline.decodeMastodon, raw, { instance: 'mastodon.social', tag: 'Caturday' });
    expect(fromCaturday.headers).toEqual({ instance: 'mastodon.social', tag: 'Caturday', network: 'mastodon' });
    expect(feedsOf(fromCaturday.event)).toEqual(['toot-caturday', 'toot-cats', 'coffee']);
    // By text alone (a recording without headers), and each feed once when both match.
    expect(feedsOf(decoded(pipeline.decodeMastodon, raw).event)).toEqual(['toot-cats', 'coffee']);
    expect(feedsOf(decoded(pipeline.decodeMastodon, raw, { tag: 'cats' }).event)).toEqual(['toot-cats', 'coffee']);
  });

  it('completes a Mastodon handle with the header instance, else the host of the status uri', () => {
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false });
    const status = JSON.stringify(photoStatusWithId('113370000000000042', { uri: 'https://fosstodon.org/users/alice/statuses/113370000000000042', url: 'https://fosstodon.org/@alice/113370000000000042' }));
    const handle = (event: SourceEvent): string | undefined => (event.kind === 'post' ? (event as Extract<SourceEvent, { kind: 'post' }>).post.author.handle : undefined);
    expect(handle(decoded(pipeline.decodeMastodon, status).event)).toBe('alice@fosstodon.org');
    expect(handle(decoded(pipeline.decodeMastodon, status, { instance: 'mastodon.social' }).event)).toBe('alice@mastodon.social');
  });

  it('keeps the raw text of what it cannot use, and makes a rejection of it for the dead letter', () => {
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false, now: () => at });
    const cases = [
      { decode: pipeline.decodeX, network: 'x', raw: 'not json' },
      { decode: pipeline.decodeBluesky, network: 'bluesky', raw: '{"did":"did:plc:x"}' },
      { decode: pipeline.decodeMastodon, network: 'mastodon', raw: '{"id":"1"' },
      { decode: pipeline.decodeMastodon, network: 'mastodon', raw: JSON.stringify({ ...photoStatus, reblog: photoStatus }) },
    ];
    const rejections = cases.map(({ decode, raw }) => {
      const exchange: Exchange = { id: 'ex-1', body: raw, headers: {} };
      exchange.body = decode(exchange);
      expect(pipeline.isRejected(exchange)).toBe(true);
      expect(exchange.body).toMatchObject({ kind: 'invalid', raw });
      return pipeline.rejection(exchange);
    });
    expect(rejections).toEqual([
      { rejected: expect.any(String), network: 'x', raw: 'not json', at: '2026-11-22T10:00:00.000Z' },
      { rejected: 'no-time', network: 'bluesky', raw: '{"did":"did:plc:x"}', at: '2026-11-22T10:00:00.000Z' },
      { rejected: 'not-json', network: 'mastodon', raw: '{"id":"1"', at: '2026-11-22T10:00:00.000Z' },
      { rejected: 'reblog', network: 'mastodon', raw: cases[3]!.raw, at: '2026-11-22T10:00:00.000Z' },
    ]);
    expect(Object.keys(rejections[0]!)).toEqual(['rejected', 'network', 'raw', 'at']);
  });

  it('tells rejected events from the rest, and counts a rejection that carries on as invalid:<reason>', () => {
    const pipeline = feedPipeline({ imageHosts, videoPreviews: true, restamp: false, now: () => at });
    const post: Exchange = { id: 'ex-1', body: JSON.stringify(imagesPost), headers: {} };
    post.body = pipeline.decodeBluesky(post);
    expect(pipeline.isRejected(post)).toBe(false);
    expect(pipeline.isRejected({ id: 'ex-2', body: { kind: 'other' }, headers: {} })).toBe(false);
    expect(pipeline.isRejected({ id: 'ex-3', body: undefined, headers: {} })).toBe(false);

    // The dead-letter branch hands the rejection on to isPost, which drops it under the decoder's reason.
    const rejected: Exchange = { id: 'ex-4', body: '{"id":"1"', headers: {} };
    rejected.body = pipeline.decodeMastodon(rejected);
    expect(pipeline.isPost(rejected)).toBe('invalid:not-json');
    rejected.body = pipeline.rejection(rejected);
    expect(pipeline.isPost(rejected)).toBe('invalid:not-json');
  });
});
