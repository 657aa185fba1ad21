import { CONTRACT_VERSION, LIMITS, imageUrlRefusal, plainHttpsHost, type FeedItem, type Image, type ImageAllowList } from '@livewall/contract';
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
 * The thumbnail a network's URL scheme gives for `url`: X's `small` size (680 px on the long side), Bluesky's
 * feed_thumbnail. Mastodon has no such scheme: its thumbnail is a URL of its own (see `thumbOf`), else the original.
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

export function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString();
    lastTime = time;
  }
  return lastIso;
}

/**
 * The thumbnail for the image at `url`: a Mastodon photo's `preview_url` (the small copy the instance made) when the
 * contract would take it, else the network's thumbnail of `url`. A preview the allow-list refuses (another host, a
 * remote instance's CDN) would cost the whole image, so the original stands in for it.
 */
function thumbOf(media: Media, url: string, network: Post['network'], imageHosts: ImageAllowList): string {
  const preview = media.previewUrl;
  if (network === 'mastodon' && media.kind === 'photo' && preview !== undefined && imageUrlRefusal(preview, imageHosts) === undefined) return preview;
  return thumbnailOf(url, network);
}

function toImage(media: Media, post: Post, imageHosts: ImageAllowList): Image | undefined {
  const url = media.kind === 'photo' ? media.url : media.previewUrl;
  if (!url) return undefined;
  let thumb: string;
  try {
    thumb = thumbOf(media, url, post.network, imageHosts);
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
    .map((media) => toImage(media, post, options.imageHosts))
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
