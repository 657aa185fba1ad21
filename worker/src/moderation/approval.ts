import type { Network } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';
import type { Post } from '../post.js';
import type { FeedModeration, ModerationBook } from './rules.js';
import { foldText } from './words.js';

/** The header the approval step sets on a post whose author the feed allows: it skips the pending queue. */
export const ALLOWED_AUTHOR_HEADER = 'allowedAuthor';

/** An author's name as the rules' lists compare it (moderation/rules.ts): folded, without a leading `@`. */
function listKey(network: Network, name: string): string {
  return `${network}:${foldText(name.trim()).replace(/^@/, '')}`;
}

/** Each feed's allowed authors, made once per rules change (a reload makes a new FeedModeration). */
const allowedSets = new WeakMap<FeedModeration, Set<string>>();

function allowedOf(moderation: FeedModeration): Set<string> {
  let set = allowedSets.get(moderation);
  if (!set) {
    const lists = moderation.rules.allowedAuthors;
    set = new Set((['x', 'bluesky', 'mastodon'] as const).flatMap((network) => lists[network].map((name) => listKey(network, name))));
    allowedSets.set(moderation, set);
  }
  return set;
}

/**
 * The approval step of a feed in manual mode: marks (header `allowedAuthor`) a post whose author is on the feed's
 * allow-list (by handle, or by the network's id), whose item then goes straight to the feed's topic; the others go to
 * the feed's pending queue. Reads the rules as they are now, so a reload's allow-list applies at once.
 */
export function markAllowed(book: ModerationBook, feed: string): (exchange: Exchange) => Post {
  return (exchange) => {
    const post = exchange.body as Post;
    const moderation = book.of(feed);
    if (moderation) {
      const allowed = allowedOf(moderation);
      const keys = [listKey(post.network, post.author.handle), ...(post.author.id === undefined ? [] : [listKey(post.network, post.author.id)])];
      if (allowed.size > 0 && keys.some((key) => allowed.has(key))) exchange.headers[ALLOWED_AUTHOR_HEADER] = true;
    }
    return post;
  };
}

/** True for an exchange the approval step marked: its author skips the pending queue. */
export function isAllowedAuthor(exchange: Exchange): boolean {
  return exchange.headers[ALLOWED_AUTHOR_HEADER] === true;
}
