import { brokerProfile, NETWORKS, type Network } from '@livewall/contract';
import { mastodonInstance, mastodonTag, profilesUri, type ReplaySourceConfig, type SourceConfig } from './config-sources.js';
import { DEFAULT_WINDOW } from './amqp/window.js';
import type { FeedConfig, WorkerConfig } from './config.js';
import type { SensitiveMedia } from './post.js';
import { feedPipeline } from './dsl/feed-pipeline.js';
import { from, type RouteDefinition } from './engine/definition.js';
import { systemClock, type Exchange } from './engine/types.js';
import { feedsToModerate } from './moderation/config.js';
import { moderated, ModerationBook } from './moderation/rules.js';
import { isAllowedAuthor, markAllowed } from './moderation/approval.js';
import { feedsOn, type FeedDirectory } from './sources/feed-directory.js';
import { NetworkCounts } from './ops/network-counts.js';
import { ImageCheckService } from './image-check/service.js';
import { imageCheckStep, isImageFlagged, passesImageCheck, withImageScores } from './image-check/step.js';

/**
 * Operators write feeds; these functions make routes of them. Each network that has feeds gets a source route
 * (`source:<network>`; Mastodon one per instance and hashtag) that reads the live service or its recording,
 * decodes each raw event once, keeps the posts with pictures and hands them to the network's hub; each feed is a
 * route (`feed:<name>`) from its network's hub (a feed written with `networks:`, every network's:
 * `hub:x,bluesky,mastodon`) to the feed's topic. Source routes start after the feed routes and stop
 * before them, so that nothing is decoded before a feed listens and what a source drains still reaches its feeds.
 */

/** The route id of a feed: `feed:<name>`. */
export function feedRouteId(feed: string): string {
  return `feed:${feed}`;
}

export function feedOfRoute(routeId: string): string | undefined {
  return routeId.startsWith('feed:') ? routeId.slice('feed:'.length) : undefined;
}

/** Source routes start after (and stop before) the feed routes they hand posts to. */
const SOURCE_STARTUP_ORDER = 1;

/** What feed and source routes are built with: where items go, and the feeds as the running worker knows them. */
export interface FeedRouteOptions {
  /** The producer URI for a topic; default `amqp:<topic>` (a dry run passes `log:<topic>`). */
  producerUri?: (topic: string) => string;
  /** The feeds as the running worker knows them (a reload updates it in place); default: the config's. */
  directory?: FeedDirectory;
  /** Every feed's moderation rules as the running worker knows them (a reload swaps them in place); default: the config's. */
  moderation?: ModerationBook;
  /** Where the feed routes count each network's posts and items; default: figures of their own. */
  networkCounts?: NetworkCounts;
  /** The worker's image check (one model for every feed); default: one of the feed routes' own, loaded at its first picture. */
  imageCheck?: ImageCheckService;
}

/** The replay URI of a recording: `replay:FILE?pace=2/s&loop=true`. */
export function replayUri(replay: ReplaySourceConfig): string {
  const options = new URLSearchParams();
  if (replay.pace !== undefined) options.set('pace', `${replay.pace}/s`);
  if (replay.loop) options.set('loop', 'true');
  if (replay.startOffset) options.set('startOffset', String(replay.startOffset));
  const query = options.toString();
  return `replay:${replay.file}${query ? `?${query}` : ''}`;
}

/** The endpoints a network's source routes read: its recording, or the live service (Mastodon: one per instance and hashtag). */
export function sourceEndpoints(config: WorkerConfig, source: SourceConfig): { id: string; uri: string }[] {
  const { network } = source;
  if (source.replay) return [{ id: `source:${network}`, uri: replayUri(source.replay) }];
  const query = (extra: Record<string, string> = {}): string => {
    const options = new URLSearchParams({ ...source.options, ...extra }).toString();
    return options ? `?${options}` : '';
  };
  if (network === 'x') return [{ id: 'source:x', uri: `x:stream${query()}` }];
  if (network === 'bluesky') return [{ id: 'source:bluesky', uri: `jetstream:${query()}` }];
  // The source offers the statuses marked sensitive too: each feed route decides (sensitiveOf).
  const mastodonQuery = (extra: Record<string, string>): string => query({ ...extra, sensitive: 'true' });
  const tags = [...new Set(feedsOn(config.feeds, 'mastodon').flatMap((feed) => feed.keywords.map(mastodonTag)))];
  return source.instances.flatMap((entry) => {
    const { host, scheme } = mastodonInstance(entry);
    return tags.map((tag) => ({ id: `source:mastodon:${host}#${tag}`, uri: `mastodon:${host}${mastodonQuery({ tag, ...(scheme === 'http' ? { scheme } : {}) })}` }));
  });
}

/**
 * What `feed` does with posts flagged sensitive: its own `sensitive:`, else `show` for a feed on Mastodon alone while
 * the older `sources.mastodon.sensitive: true` is set (what that option did before feeds had a say), else `drop`. A
 * feed on several networks decides for all of them with its own `sensitive:`.
 */
export function sensitiveOf(config: WorkerConfig, feed: Pick<FeedConfig, 'networks' | 'sensitive'>): SensitiveMedia {
  if (feed.sensitive) return feed.sensitive;
  const mastodonOnly = feed.networks.length === 1 && feed.networks[0] === 'mastodon';
  return mastodonOnly && config.sources.mastodon?.options.sensitive === 'true' ? 'show' : 'drop';
}

function pipelineFor(config: WorkerConfig, source: SourceConfig | undefined, directory: FeedDirectory | undefined) {
  const replay = source?.replay;
  return feedPipeline({
    imageHosts: config.imageHosts,
    videoPreviews: config.videoPreviews,
    restamp: replay?.restamp ?? false,
    ...(replay?.rewriteMedia ? { rewriteMedia: replay.rewriteMedia } : {}),
    feeds: (network) => directory?.of(network) ?? feedsOn(config.feeds, network),
  });
}

/**
 * A network's source routes: raw events → decode → (rejected events to the dead-letter endpoint, when there is one)
 * → posts → with pictures → (Bluesky, unless `profiles: false`: each author's handle and name from `appview:`, which
 * identity events keep up to date) → `hub:<network>`. Every drop is counted with its reason. Feeds' keywords are not part
 * of a source route's signature: a reload that changes them keeps the stream connected (X reconciles its rules,
 * Bluesky and Mastodon match the new keywords as posts arrive).
 */
export function sourceRoutes(config: WorkerConfig, network: Network, options: FeedRouteOptions = {}): RouteDefinition[] {
  const source = config.sources[network];
  if (!source || !config.feeds.some((feed) => feed.networks.includes(network))) return [];
  const steps = pipelineFor(config, source, options.directory);
  const decode = { x: steps.decodeX, bluesky: steps.decodeBluesky, mastodon: steps.decodeMastodon }[network];
  const deadLetter = config.deadLetter;
  const profiles = source.profiles && profilesUri(source.profiles);
  return sourceEndpoints(config, source).map(({ id, uri }) => {
    const signature = JSON.stringify({ uri, replay: source.replay, imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, deadLetter, profiles });
    const route = from(uri).routeId(id).startupOrder(SOURCE_STARTUP_ORDER).signature(signature).transform(decode, 'decode');
    if (deadLetter) route.choice((choice) => choice.when(steps.isRejected, (branch) => branch.transform(steps.rejection, 'rejection').to(deadLetter), 'rejected'));
    if (profiles) route.choice((choice) => choice.when(steps.isIdentity, (branch) => branch.to(profiles), 'identity'));
    route.filter(steps.isPost, 'post').transform(steps.post, 'post').filter(steps.hasPictures, 'pictures');
    if (profiles) route.to(profiles);
    return route.to(`hub:${network}`).build();
  });
}

/**
 * A feed as a route: its networks' posts with pictures (from their hubs, in the order they arrive) → this feed's →
 * not flagged sensitive, unless the feed shows such posts (`sensitive: show`) → past its moderation rules → feed items
 * that meet the contract → the feed's topic. The steps are the pipeline's named functions (dsl/feed-pipeline.ts), the
 * same ones a YAML route names; two more count what each network brought and what went out (ops/network-counts.ts).
 * A feed written with `networks:` reads every network's hub and takes its own networks' posts (the sources match
 * posts only to the feeds on their network), so a reload that adds or removes one of its networks adds or removes
 * that network's source route and leaves the feed's route running.
 */
export function feedRoute(config: WorkerConfig, feed: Pick<FeedConfig, 'name' | 'networks' | 'networksKey' | 'deadLetter' | 'sensitive' | 'moderationMode' | 'imageCheck'>, options: FeedRouteOptions = {}): RouteDefinition {
  // Replays and live streams differ only in the source routes' steps, which the feed route does not run.
  const steps = pipelineFor(config, undefined, options.directory);
  // Where this kind of broker takes a feed's items (contract/src/profiles.ts).
  const profile = brokerProfile(config.broker.profile);
  const topic = profile.amqpTarget(feed.name);
  // Approval mode: the feed's items wait in its pending queue for a moderator, but an allowed author's go straight on.
  const pending = feed.moderationMode === 'manual' ? profile.moderation.pendingAmqpTarget(feed.name) : undefined;
  const producerUri = options.producerUri ?? ((address: string) => `amqp:${address}`);
  // The hubs the route reads. A feed written with `networks:` reads every network's hub, whichever it is on now: the
  // sources hand it only posts of its own networks (the directory's), so that a reload adding or removing one of them
  // leaves the route running. A feed written with `network:` reads its one hub, as it always did.
  const hubs: readonly Network[] = feed.networksKey === 'networks' ? NETWORKS : feed.networks;
  // A live stream must not wait for a slow feed: its feed routes drop (counted) instead of holding up the others.
  const live = hubs.some((network) => config.sources[network] !== undefined && !config.sources[network].replay);
  // Everything the steps read from the config: a reload that changes none of it keeps the route running.
  const deadLetter = feed.deadLetter ?? config.deadLetter;
  // As many exchanges at once as the publisher has room in flight: each waits for the broker's acceptance, so fewer
  // would cap a feed at (concurrency ÷ round trip) items a second across a slow link.
  const concurrency = config.broker.window ?? DEFAULT_WINDOW;
  const sensitive = sensitiveOf(config, feed);
  // A `network:` feed keeps the signature it always had; a `networks:` feed's networks are not part of it (see hubs).
  const networks = feed.networksKey === 'networks' ? { hubs } : { network: feed.networks[0] };
  const signature = JSON.stringify({ feed: feed.name, ...networks, live, sensitive, imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, to: producerUri(topic), ...(pending ? { pending: producerUri(pending) } : {}), deadLetter, concurrency, ...(feed.imageCheck ? { imageCheck: feed.imageCheck } : {}) });
  const book = options.moderation ?? new ModerationBook(config.moderation, feedsToModerate(config));
  const counts = options.networkCounts ?? new NetworkCounts();
  const route = from(`hub:${hubs.join(',')}${live ? '?live=true' : ''}`)
    .routeId(feedRouteId(feed.name))
    .signature(signature)
    .concurrency(concurrency)
    .filter(steps.forFeed(feed.name), 'feed')
    .transform(counts.countReceived(feed.name), 'count-received')
    .transform(steps.asFeed(feed.name), 'feed')
    // Before the moderation rules: a post the feed will not show uses none of its author's share of the feed.
    .filter(steps.shows(sensitive), 'sensitive')
    .filter(moderated(book, feed.name), 'moderation');
  if (pending) route.transform(markAllowed(book, feed.name), 'approval');
  route
    .transform(steps.feedItem, 'map')
    .filter(steps.isMapped, 'mapped')
    .transform(steps.stamp, 'stamp')
    .filter(steps.meetsContract, 'contract')
    .idempotent(steps.itemKey, 10_000, 'id');
  if (feed.imageCheck) {
    // Last before the broker: only items that would be published cost a fetch and a classification.
    const service = options.imageCheck ?? new ImageCheckService();
    const check = imageCheckStep({ feed: feed.name, config: feed.imageCheck, inspector: service.inspector, allowList: config.imageHosts, counts: service.counts, sleep: (ms, signal) => systemClock.sleep(ms, signal) });
    route.transform(check, 'image-check').filter(passesImageCheck(feed.imageCheck, pending !== undefined), 'image-check');
  }
  // An allowed author's item goes straight to the topic, unless the image check flagged it: a moderator sees that one.
  const straightOn = (exchange: Exchange): boolean => isAllowedAuthor(exchange) && !isImageFlagged(exchange);
  if (pending) route.choice((choice) => choice.when(straightOn, (branch) => branch.to(producerUri(topic)), 'allowed-author').otherwise((branch) => (feed.imageCheck ? branch.transform(withImageScores, 'image-scores') : branch).to(producerUri(pending))));
  else route.to(producerUri(topic));
  route.transform(counts.countSent(feed.name), 'count-sent');
  if (deadLetter) route.deadLetter(deadLetter);
  return route.build();
}

/** Every route the config's feeds make: the feed routes, then the source routes that feed them. */
export function feedRoutes(config: WorkerConfig, options: FeedRouteOptions = {}): RouteDefinition[] {
  // One book for all the feed routes: each feed's rules compiled once.
  const moderation = options.moderation ?? new ModerationBook(config.moderation, feedsToModerate(config));
  const networkCounts = options.networkCounts ?? new NetworkCounts();
  // One model for all the feeds that check images.
  const imageCheck = options.imageCheck ?? new ImageCheckService();
  const feeds = config.feeds.map((feed) => feedRoute(config, feed, { ...options, moderation, networkCounts, imageCheck }));
  const sources = (['x', 'bluesky', 'mastodon'] as const).flatMap((network) => sourceRoutes(config, network, options));
  return [...feeds, ...sources];
}
