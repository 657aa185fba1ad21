/**
 * The livewall message contract, version 1: one JSON object per post with at least one image.
 *
 * It travels as UTF-8 JSON in an AMQP data section (`content_type: application/json`, `message_id` = `id`)
 * to the topic of its feed, and reaches the page over STOMP as the frame body.
 */

export const CONTRACT_VERSION = 1;

/** The networks a post can come from. */
export const NETWORKS = ['x', 'bluesky', 'mastodon'] as const;
export type Network = (typeof NETWORKS)[number];

/** Limits of the contract, in one place. */
export const LIMITS = {
  /** UTF-8 bytes of the whole JSON object. */
  itemBytes: 16 * 1024,
  /** Characters (code points) of `text`. */
  textChars: 500,
  images: 4,
  /** Characters of an image's alt text. */
  altChars: 1000,
  /** Characters of `author.handle` and `author.name`. */
  authorChars: 100,
  /** Characters of `id`. */
  idChars: 256,
  /** Characters of any URL. */
  urlChars: 2048,
  /** Pixels of an image's declared width or height. */
  dimension: 100_000,
} as const;

/** A feed's name: also the last part of its topic, `/topic/feed.<name>`. */
export const FEED_NAME = /^[a-z0-9-]{1,32}$/;

export interface Author {
  /** The account's handle without a leading `@`, e.g. `catlover` or `alice.bsky.social`. */
  handle: string;
  /** Display name. */
  name?: string;
  /** https link to the author's profile: on x.com or twitter.com for X, bsky.app for Bluesky, the post's host for Mastodon. */
  url?: string;
}

export interface Image {
  /** Full-size image, https (or an allowed loopback origin for the local demo). */
  url: string;
  /** Thumbnail shown on the wall; same host rules as `url`. */
  thumb: string;
  /** Alt text as the author wrote it. */
  alt?: string;
  width?: number;
  height?: number;
}

/** The classes of the worker's image classifier (nsfwjs), in its order; Porn, Hentai and Sexy are the ones a feed may keep off. */
export const IMAGE_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];
export const RISKY_IMAGE_CLASSES = ['Porn', 'Hentai', 'Sexy'] as const satisfies readonly ImageClass[];
export type RiskyImageClass = (typeof RISKY_IMAGE_CLASSES)[number];

/**
 * What the image check found, on an item in a feed's pending queue only (approval mode): each picture's probability
 * per class (in the order of `images`), and the class that reached the feed's threshold, if one did. A moderator's
 * page orders its queue by it; the item approved to the wall goes without it.
 */
export interface ImageCheckResult {
  scores: Record<ImageClass, number>[];
  flagged?: RiskyImageClass;
}

export interface FeedItem {
  v: 1;
  /** `<network>:<native id>`, unique and stable: the AMQP `message_id` and the key for de-duplication. */
  id: string;
  feed: string;
  network: Network;
  /** https permalink of the post: on x.com or twitter.com for X, bsky.app for Bluesky, any instance for Mastodon. */
  url: string;
  author: Author;
  /** Plain text, no markup, at most 500 characters. */
  text: string;
  /** 1 to 4 images. */
  images: Image[];
  /** When the author posted, ISO-8601 UTC. */
  createdAt: string;
  /** When the worker received the post. */
  receivedAt: string;
  /** When the worker handed it to the broker. */
  publishedAt: string;
  /** Pending items only: the image check's scores (see ImageCheckResult). */
  imageCheck?: ImageCheckResult;
}

/** The topic a feed's items are published to and subscribed from, for AMQP and STOMP alike. */
export function feedTopic(feed: string): string {
  if (!FEED_NAME.test(feed)) throw new Error(`invalid feed name ${JSON.stringify(feed)}: expected [a-z0-9-]{1,32}`);
  return `/topic/feed.${feed}`;
}
