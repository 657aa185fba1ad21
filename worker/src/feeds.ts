import { feedTopic, validateFeedItem, type FeedItem } from '@livewall/contract';
import type { WorkerConfig } from './config.js';
import { from, type RouteDefinition } from './engine/definition.js';
import type { Exchange } from './engine/types.js';
import { dropReason } from './pipeline/filter.js';
import { toFeedItem, type MapResult } from './pipeline/mapper.js';
import type { Post } from './post.js';
import { restamp, rewriteMedia } from './sources/replay/restamp.js';
import { decodeXLine, type XStreamEvent } from './sources/x/decode.js';

/** The route id of a feed: `feed:<name>`. */
export function feedRouteId(feed: string): string {
  return `feed:${feed}`;
}

export function feedOfRoute(routeId: string): string | undefined {
  return routeId.startsWith('feed:') ? routeId.slice('feed:'.length) : undefined;
}

/** The replay source URI the config's `source.replay` section stands for. */
export function replayUri(config: WorkerConfig): string {
  const replay = config.source.replay;
  const options = new URLSearchParams();
  if (replay.pace !== undefined) options.set('pace', `${replay.pace}/s`);
  if (replay.loop) options.set('loop', 'true');
  if (replay.startOffset) options.set('startOffset', String(replay.startOffset));
  const query = options.toString();
  return `replay:${replay.file}${query ? `?${query}` : ''}`;
}

/**
 * A feed as a route: the source's raw events → decode → this feed's posts with pictures → feed items that meet the
 * contract → the feed's topic. Every drop is counted with its reason.
 */
export function feedRoute(config: WorkerConfig, feed: { name: string; deadLetter?: string }, options: { producerUri?: (topic: string) => string } = {}): RouteDefinition {
  const replay = config.source.replay;
  const topic = feedTopic(feed.name);
  const producerUri = options.producerUri ?? ((address: string) => `amqp:${address}`);

  const decoded = (exchange: Exchange): boolean | string => {
    const event = decodeXLine(String(exchange.body));
    exchange.body = event;
    switch (event.kind) {
      case 'post':
        return true;
      case 'invalid':
        return `invalid:${event.reason}`;
      default:
        return event.kind;
    }
  };
  const asPost = (exchange: Exchange): Post => {
    let post = (exchange.body as Extract<XStreamEvent, { kind: 'post' }>).post;
    if (replay.rewriteMedia) post = rewriteMedia(post, replay.rewriteMedia);
    if (replay.restamp) post = restamp(post, Number(exchange.headers.pass ?? 1), new Date());
    return post;
  };
  const forThisFeed = (exchange: Exchange): boolean | string => ((exchange.body as Post).feeds.includes(feed.name) ? true : 'other-feed');
  const hasPictures = (exchange: Exchange): boolean | string => dropReason(exchange.body as Post, config) ?? true;
  const mapped = (exchange: Exchange): MapResult => toFeedItem(exchange.body as Post, feed.name, { ...config, receivedAt: new Date() });
  const wasMapped = (exchange: Exchange): boolean | string => {
    const result = exchange.body as MapResult;
    return result.ok ? true : result.reason;
  };
  const stamped = (exchange: Exchange): FeedItem => {
    const item: FeedItem = { ...(exchange.body as Extract<MapResult, { ok: true }>).item, publishedAt: new Date().toISOString() };
    exchange.headers.messageId = item.id;
    exchange.headers.feed = feed.name;
    return item;
  };
  const meetsContract = (exchange: Exchange): boolean | string => (validateFeedItem(exchange.body, config.imageHosts).ok ? true : 'contract');

  // Everything the closures below read from the config: a reload that changes none of it keeps the route running.
  const signature = JSON.stringify({ feed, replay, imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, to: producerUri(topic), deadLetter: feed.deadLetter ?? config.deadLetter });
  const route = from(replayUri(config))
    .routeId(feedRouteId(feed.name))
    .signature(signature)
    .filter(decoded, 'decode')
    .transform(asPost, 'post')
    .filter(forThisFeed, 'feed')
    .filter(hasPictures, 'pictures')
    .transform(mapped, 'map')
    .filter(wasMapped, 'mapped')
    .transform(stamped, 'stamp')
    .filter(meetsContract, 'contract')
    .idempotent((exchange) => (exchange.body as FeedItem).id, 10_000, 'id')
    .to(producerUri(topic));
  const deadLetter = feed.deadLetter ?? config.deadLetter;
  if (deadLetter) route.deadLetter(deadLetter);
  return route.build();
}
