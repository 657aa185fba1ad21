/** Helpers for tests of what the sources decode: would a post reach its feed as an item the contract accepts? */
import { validateFeedItem, type ImageAllowList } from '@livewall/contract';
import type { Post } from '../post.js';
import { toFeedItem } from './mapper.js';

/**
 * 'ok' when `post` maps to a feed item (for its first feed) that the contract accepts, as the feed route and then
 * the page check it; else why not: the mapper's reason or the validator's.
 */
export function contractVerdict(post: Post, imageHosts: ImageAllowList): string {
  const at = new Date('2026-11-01T12:00:00.000Z');
  const mapped = toFeedItem(post, post.feeds[0] ?? 'test', { imageHosts, videoPreviews: true, receivedAt: at });
  if (!mapped.ok) return mapped.reason;
  const validation = validateFeedItem({ ...mapped.item, publishedAt: at.toISOString() }, imageHosts);
  return validation.ok ? 'ok' : validation.reason;
}
