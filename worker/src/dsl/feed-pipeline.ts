import { validateFeedItemJson, type FeedItem, type ImageAllowList, type Network } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';
import { dropReason } from '../pipeline/filter.js';
import { isoTime, toFeedItem, type MapOptions, type MapResult } from '../pipeline/mapper.js';
import { rememberJson } from '../pipeline/serialized.js';
import type { Post, SensitiveMedia } from '../post.js';
import { decodeJetstreamEvent } from '../sources/bluesky/decode.js';
import { matchFeeds } from '../sources/bluesky/feeds.js';
import type { DirectoryFeed } from '../sources/feed-directory.js';
import { decodeMastodonStatus } from '../sources/mastodon/decode.js';
import { restamp, rewriteMedia, type MediaRewrite } from '../sources/replay/restamp.js';
import { decodeXLine } from '../sources/x/decode.js';

/** A decoded raw event, whatever the network: a post, something else the stream carries, or garbage (why, and the raw text). */
export type SourceEvent = { kind: 'post'; post: Post } | { kind: 'invalid'; reason: string; raw?: string } | { kind: string };

/** What a rejected raw event becomes on the dead-letter endpoint. */
export interface RejectedEvent {
  rejected: string;
  network: Network;
  raw: string;
  at: string;
}

/** What the pipeline's pieces read from the config. */
export interface PipelineSettings {
  /** Hosts a feed item's images may come from (`imageHosts`). */
  imageHosts: ImageAllowList;
  /** Whether a video's or GIF's still counts as a picture (`videoPreviews`). */
  videoPreviews: boolean;
  /** From `source.replay.rewriteMedia`: recorded CDN URLs pointed at local copies. */
  rewriteMedia?: MediaRewrite;
  /** From `source.replay.restamp`: replayed posts look new on every pass. */
  restamp: boolean;
  /** The time posts are received and published at; a test passes a fixed one. */
  now?: () => Date;
  /** Each network's feeds as configured now (Bluesky and Mastodon posts are matched to feeds by keyword). */
  feeds?: (network: Network) => readonly DirectoryFeed[];
}

/** The host a Mastodon status lives on, from its `uri` (`https://host/users/alice/statuses/1`): completes local handles. */
function statusInstance(value: unknown): string {
  const uri = typeof value === 'object' && value !== null ? (value as { uri?: unknown }).uri : undefined;
  const match = typeof uri === 'string' ? /^https:\/\/([^/:]+)/.exec(uri) : null;
  return match?.[1] ?? 'unknown';
}

/**
 * The steps of the source and feed routes (see feeds.ts) as small named functions, one per step, so that a route
 * written in YAML can name them (`{ ref: isPost }`) and a route written in TypeScript can use them directly.
 * A source route: decodeX | decodeBluesky | decodeMastodon → (isRejected → rejection → dead letter) → (Bluesky:
 * isIdentity → appview:) → isPost → post.
 * A feed route: forFeed → asFeed → shows(sensitive) → feedItem → isMapped → stamp → meetsContract, keyed by itemKey.
 * A predicate returns true to keep the exchange, or the reason it is dropped (a counter label).
 */
export function feedPipeline(settings: PipelineSettings) {
  const now = settings.now ?? (() => new Date());
  const feedsOf = settings.feeds ?? (() => []);
  /** The mapper's options, one object for every item (the mapper keeps none of it): only `receivedAt` changes. */
  const mapOptions: MapOptions = { imageHosts: settings.imageHosts, videoPreviews: settings.videoPreviews, receivedAt: new Date(0) };

  /** What an invalid event keeps of its raw text, for the dead-letter endpoint. */
  function invalid<Event extends SourceEvent>(event: Event, raw: string): Event {
    return event.kind === 'invalid' ? { ...event, raw } : event;
  }

  /**
   * A raw line of the X filtered stream (or a recording of it) → the event it carries; posts go to the feeds of their
   * matching rules. Each decoder sets the header `network`.
   */
  function decodeX(exchange: Exchange): SourceEvent {
    const raw = String(exchange.body);
    exchange.headers.network = 'x';
    return invalid(decodeXLine(raw), raw);
  }

  /** A Jetstream message (or a recording of one) → the event it carries; posts go to the Bluesky feeds whose keywords they contain. */
  function decodeBluesky(exchange: Exchange): SourceEvent {
    const raw = String(exchange.body);
    exchange.headers.network = 'bluesky';
    return invalid(decodeJetstreamEvent(raw, feedsOf('bluesky')), raw);
  }

  /**
   * A Mastodon status as JSON (or a recording of one) → the event it carries; posts go to the Mastodon feeds that
   * follow the timeline's hashtag (header `tag`) or whose keywords their text contains.
   */
  function decodeMastodon(exchange: Exchange): SourceEvent {
    const raw = String(exchange.body);
    exchange.headers.network = 'mastodon';
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return { kind: 'invalid', reason: 'not-json', raw };
    }
    const instance = typeof exchange.headers.instance === 'string' ? exchange.headers.instance : statusInstance(value);
    const event = decodeMastodonStatus(value, instance);
    if (event.kind !== 'post') return invalid(event, raw);
    const feeds = feedsOf('mastodon');
    const tag = typeof exchange.headers.tag === 'string' ? exchange.headers.tag.toLowerCase() : undefined;
    const byTag = feeds.filter((feed) => tag !== undefined && feed.keywords.some((keyword) => keyword.trim().replace(/^#/, '').toLowerCase() === tag)).map((feed) => feed.name);
    event.post.feeds = [...new Set([...byTag, ...matchFeeds(event.post.text, feeds)])];
    return event;
  }

  /** True for raw events the decoder could not use (the source route sends those to the dead-letter endpoint). */
  function isRejected(exchange: Exchange): boolean {
    return (exchange.body as SourceEvent | undefined)?.kind === 'invalid';
  }

  /** A rejected event as the dead-letter endpoint gets it: why, which network, the raw text, when. */
  function rejection(exchange: Exchange): RejectedEvent {
    const event = exchange.body as Extract<SourceEvent, { kind: 'invalid' }>;
    return { rejected: event.reason, network: exchange.headers.network as Network, raw: event.raw ?? '', at: now().toISOString() };
  }

  /** True for Jetstream's identity events (a handle changed), which the Bluesky source route sends to `appview:`. */
  function isIdentity(exchange: Exchange): boolean {
    return (exchange.body as SourceEvent | undefined)?.kind === 'identity';
  }

  /** Keeps posts; drops keep-alives, other events and invalid ones (`invalid:<reason>`), each under its own reason. */
  function isPost(exchange: Exchange): boolean | string {
    const body = exchange.body as Partial<SourceEvent & RejectedEvent> | undefined;
    if (typeof body?.rejected === 'string') return `invalid:${body.rejected}`;
    if (typeof body?.kind !== 'string') return 'not-decoded';
    if (body.kind === 'post') return true;
    return body.kind === 'invalid' ? `invalid:${(body as { reason: string }).reason}` : body.kind;
  }

  /** A post event → the post, with the replay's media rewrite and restamp applied when the config asks for them. */
  function post(exchange: Exchange): Post {
    let result = (exchange.body as Extract<SourceEvent, { kind: 'post' }>).post;
    if (settings.rewriteMedia) result = rewriteMedia(result, settings.rewriteMedia);
    if (settings.restamp) result = restamp(result, Number(exchange.headers.pass ?? 1), now());
    return result;
  }

  /** Keeps posts with a picture the wall can show; drops the rest as no-media, no-photo or no-usable-image. */
  function hasPictures(exchange: Exchange): boolean | string {
    return dropReason(exchange.body as Post, settings) ?? true;
  }

  /** One post per feed it matched, each matched to that feed alone; a post that matched no feed goes nowhere. */
  function byFeed(exchange: Exchange): Post[] {
    const matched = exchange.body as Post;
    return matched.feeds.map((feed) => ({ ...matched, feeds: [feed] }));
  }

  /** A post → the feed item for its first feed (or why there is none); isMapped keeps the ones that mapped. */
  function feedItem(exchange: Exchange): MapResult {
    const source = exchange.body as Post;
    const feed = source.feeds[0];
    if (feed === undefined) return { ok: false, reason: 'no-feed' };
    mapOptions.receivedAt = now();
    return toFeedItem(source, feed, mapOptions);
  }

  /** Keeps what feedItem could map; drops the rest under the mapper's reason. */
  function isMapped(exchange: Exchange): boolean | string {
    const result = exchange.body as MapResult;
    return result.ok ? true : result.reason;
  }

  /** The mapped item, stamped `publishedAt` now; sets the headers `messageId` (the item's id) and `feed`. */
  function stamp(exchange: Exchange): FeedItem {
    const item: FeedItem = { ...(exchange.body as Extract<MapResult, { ok: true }>).item, publishedAt: isoTime(now()) };
    exchange.headers.messageId = item.id;
    exchange.headers.feed = item.feed;
    return item;
  }

  /**
   * Keeps feed items that meet the message contract, as the page will check them again; drops the rest as contract.
   * The JSON the check measured is kept for the publisher (pipeline/serialized.ts): an item is encoded once.
   */
  function meetsContract(exchange: Exchange): boolean | string {
    const checked = validateFeedItemJson(exchange.body, settings.imageHosts);
    if (!checked.ok) return 'contract';
    rememberJson(checked.item, checked.json);
    return true;
  }

  /** A feed item's feed and id: one post sent to two feeds is not a duplicate. */
  function itemKey(exchange: Exchange): string {
    const item = exchange.body as FeedItem;
    return `${item.feed}/${item.id}`;
  }

  /** Keeps the posts matched to `feed`; drops the others as other-feed. */
  function forFeed(feed: string): (exchange: Exchange) => boolean | string {
    return (exchange) => ((exchange.body as Post).feeds.includes(feed) ? true : 'other-feed');
  }

  /** The post as `feed`'s alone: a post that matched several feeds is each feed's item in its own route. */
  function asFeed(feed: string): (exchange: Exchange) => Post {
    return (exchange) => ({ ...(exchange.body as Post), feeds: [feed] });
  }

  /**
   * Keeps the posts a feed may show: with `drop`, a post its network flagged sensitive is dropped as
   * `sensitive:<network>`, so the counters say which network's flag kept what off the wall.
   */
  function shows(sensitive: SensitiveMedia): (exchange: Exchange) => boolean | string {
    return (exchange) => {
      const candidate = exchange.body as Post;
      return sensitive === 'drop' && candidate.sensitive ? `sensitive:${candidate.network}` : true;
    };
  }

  return { decodeX, decodeBluesky, decodeMastodon, isRejected, rejection, isIdentity, isPost, post, hasPictures, byFeed, feedItem, isMapped, stamp, meetsContract, itemKey, forFeed, asFeed, shows };
}
