import { CONTRACT_VERSION, LIMITS, plainHttpsHost, type FeedItem, type Image, type ImageAllowList } from '@livewall/contract';
import type { Media, Post } from '../post.js';
import { blueskyThumb } from '../sources/bluesky/decode.js';
import { picturesOf, type ImageFilterOptions } from './filter.js';
import { plainText } from './text.js';

export interface MapOptions extends ImageFilterOptions {
  imageHosts: ImageAllowList;
  /** When the worker received the post. */
  receivedAt: Date;
}

/** A feed item without `publishedAt`, which the publisher stamps as it sends. */
export type UnpublishedItem = Omit<FeedItem, 'publishedAt'>;

export type MapResult = { ok: true; item: UnpublishedItem } | { ok: false; reason: string };

/**
 * A path the URL serializer writes back as it is: segments of letters, digits and `-._~!$&'()*+,;=:@`, none of
 * them `.` or `..`, and no query or fragment.
 */
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[\w\-.~!$&'()*+,;=:@]*)+$/;

/**
 * The thumbnail for a tile: X's `small` size (680 px on the long side), Bluesky's feed_thumbnail; Mastodon's
 * original for now.
 */
export function thumbnailOf(url: string, network: Post['network']): string {
  if (network === 'bluesky') return blueskyThumb(url);
  if (network !== 'x') return url;
  // X's usual media URL (https, a plain host, a plain path): what the URL parser would write, without it.
  const host = plainHttpsHost(url);
  if (host !== undefined && PLAIN_PATH.test(url.slice('https://'.length + host.length))) return `${url}?name=small`;
  const thumb = new URL(url);
  thumb.searchParams.set('name', 'small');
  return thumb.toString();
}

/** The last time formatted, reused: `toISOString` costs microseconds, and the items of a burst share a millisecond. */
let lastTime = Number.NaN;
let lastIso = '';

function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString();
    lastTime = time;
  }
  return lastIso;
}

function toImage(media: Media, post: Post): Image | undefined {
  const url = media.kind === 'photo' ? media.url : media.previewUrl;
  if (!url) return undefined;
  let thumb: string;
  try {
    thumb = thumbnailOf(url, post.network);
  } catch {
    return undefined;
  }
  const image: Image = { url, thumb };
  const alt = media.alt === undefined ? '' : plainText(media.alt, LIMITS.altChars);
  if (alt) image.alt = alt;
  if (media.width && media.width <= LIMITS.dimension) image.width = media.width;
  if (media.height && media.height <= LIMITS.dimension) image.height = media.height;
  return image;
}

/**
 * Maps a decoded post to the feed item for `feed`. Images on hosts off the allow-list are left out; a post left
 * with no image is not mapped. The result still goes through the contract's validator before it is published.
 */
export function toFeedItem(post: Post, feed: string, options: MapOptions): MapResult {
  const images = picturesOf(post, options)
    .map((media) => toImage(media, post))
    .filter((image): image is Image => image !== undefined && !options.imageHosts.refusal(image.url) && !options.imageHosts.refusal(image.thumb))
    .slice(0, LIMITS.images);
  if (images.length === 0) return { ok: false, reason: 'image-host' };

  const handle = plainText(post.author.handle, LIMITS.authorChars);
  if (!handle) return { ok: false, reason: 'no-author' };
  const author: FeedItem['author'] = { handle };
  const name = post.author.name === undefined ? '' : plainText(post.author.name, LIMITS.authorChars);
  if (name) author.name = name;
  if (post.author.url) author.url = post.author.url;

  return {
    ok: true,
    item: {
      v: CONTRACT_VERSION,
      id: `${post.network}:${post.nativeId}`,
      feed,
      network: post.network,
      url: post.url,
      author,
      text: plainText(post.text, LIMITS.textChars),
      images,
      createdAt: post.createdAt,
      receivedAt: isoTime(options.receivedAt),
    },
  };
}
