import { feedTopic } from '@livewall/contract';
import type { WorkerConfig } from './config.js';
import { xPipeline } from './dsl/x-pipeline.js';
import { from, type RouteDefinition } from './engine/definition.js';
import type { Exchange } from './engine/types.js';
import type { Post } from './post.js';

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
 * contract → the feed's topic. The steps are the X pipeline's named functions (dsl/x-pipeline.ts), the same ones a
 * YAML route names. Every drop is counted with its reason.
 */
export function feedRoute(config: WorkerConfig, feed: { name: string; deadLetter?: string }, options: { producerUri?: (topic: string) => string } = {}): RouteDefinition {
  const replay = config.source.replay;
  const topic = feedTopic(feed.name);
  const producerUri = options.producerUri ?? ((address: string) => `amqp:${address}`);
  const x = xPipeline({ imageHosts: config.imageHosts, videoPreviews: config.videoPreviews, restamp: replay.restamp, ...(replay.rewriteMedia ? { rewriteMedia: replay.rewriteMedia } : {}) });

  const forThisFeed = (exchange: Exchange): boolean | string => ((exchange.body as Post).feeds.includes(feed.name) ? true : 'other-feed');
  // A post that matched several feeds is this feed's item here: the mapper uses the post's first feed.
  const asThisFeed = (exchange: Exchange): Post => ({ ...(exchange.body as Post), feeds: [feed.name] });

  // Everything the steps read from the config: a reload that changes none of it keeps the route running.
  const deadLetter = feed.deadLetter ?? config.deadLetter;
  const signature = JSON.stringify({ feed, replay, imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, to: producerUri(topic), deadLetter });
  const route = from(replayUri(config))
    .routeId(feedRouteId(feed.name))
    .signature(signature)
    .transform(x.decodeX, 'decode')
    .filter(x.isPost, 'post')
    .transform(x.post, 'post')
    .filter(forThisFeed, 'feed')
    .transform(asThisFeed, 'feed')
    .filter(x.hasPictures, 'pictures')
    .transform(x.feedItem, 'map')
    .filter(x.isMapped, 'mapped')
    .transform(x.stamp, 'stamp')
    .filter(x.meetsContract, 'contract')
    .idempotent(x.itemKey, 10_000, 'id')
    .to(producerUri(topic));
  if (deadLetter) route.deadLetter(deadLetter);
  return route.build();
}
