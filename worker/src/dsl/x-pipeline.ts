import { validateFeedItem, type FeedItem, type ImageAllowList } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';
import { dropReason } from '../pipeline/filter.js';
import { toFeedItem, type MapResult } from '../pipeline/mapper.js';
import type { Post } from '../post.js';
import { restamp, rewriteMedia, type MediaRewrite } from '../sources/replay/restamp.js';
import { decodeXLine, type XStreamEvent } from '../sources/x/decode.js';

/** What the X pipeline's pieces read from the config. */
export interface XPipelineSettings {
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
}

/**
 * The steps of a feed route (see feeds.ts) as small named functions, one per step, so that a route written in YAML
 * can name them (`{ ref: isPost }`) and a route written in TypeScript can use them directly. In order:
 * decodeX → isPost → post → hasPictures → byFeed → feedItem → isMapped → stamp → meetsContract, keyed by itemKey.
 * A predicate returns true to keep the exchange, or the reason it is dropped (a counter label).
 */
export function xPipeline(settings: XPipelineSettings) {
  const now = settings.now ?? (() => new Date());

  /** A raw line of the X filtered stream (or a recording of it) → the event it carries. */
  function decodeX(exchange: Exchange): XStreamEvent {
    return decodeXLine(String(exchange.body));
  }

  /** Keeps posts; drops keep-alives, stream errors and invalid lines, each under its own reason. */
  function isPost(exchange: Exchange): boolean | string {
    const event = exchange.body as XStreamEvent | undefined;
    if (typeof event?.kind !== 'string') return 'not-decoded';
    if (event.kind === 'post') return true;
    return event.kind === 'invalid' ? `invalid:${event.reason}` : event.kind;
  }

  /** A post event → the post, with the replay's media rewrite and restamp applied when the config asks for them. */
  function post(exchange: Exchange): Post {
    let result = (exchange.body as Extract<XStreamEvent, { kind: 'post' }>).post;
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
    return toFeedItem(source, feed, { ...settings, receivedAt: now() });
  }

  /** Keeps what feedItem could map; drops the rest under the mapper's reason. */
  function isMapped(exchange: Exchange): boolean | string {
    const result = exchange.body as MapResult;
    return result.ok ? true : result.reason;
  }

  /** The mapped item, stamped `publishedAt` now; sets the headers `messageId` (the item's id) and `feed`. */
  function stamp(exchange: Exchange): FeedItem {
    const item: FeedItem = { ...(exchange.body as Extract<MapResult, { ok: true }>).item, publishedAt: now().toISOString() };
    exchange.headers.messageId = item.id;
    exchange.headers.feed = item.feed;
    return item;
  }

  /** Keeps feed items that meet the message contract, as the page will check them again; drops the rest as contract. */
  function meetsContract(exchange: Exchange): boolean | string {
    return validateFeedItem(exchange.body, settings.imageHosts).ok ? true : 'contract';
  }

  /** A feed item's feed and id: one post sent to two feeds is not a duplicate. */
  function itemKey(exchange: Exchange): string {
    const item = exchange.body as FeedItem;
    return `${item.feed}/${item.id}`;
  }

  return { decodeX, isPost, post, hasPictures, byFeed, feedItem, isMapped, stamp, meetsContract, itemKey };
}
