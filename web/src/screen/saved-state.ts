import { parseJsonBody, validateFeedItem, type FeedItem, type ImageAllowList } from '@livewall/contract';

/**
 * The wall's state across a reload of its own (a crash, a new build): the newest cards, kept in sessionStorage, so
 * the screen comes back full at once instead of waiting for the broker's backfill, and keeps the posts the backfill
 * no longer holds. What comes back out of storage is treated as untrusted input, as a broker's frame is: another
 * script of the origin, an older build or a full disk may have left anything there.
 */

/** How many cards are kept: more than a 4K screen shows. */
export const SAVED_ITEMS = 60;
/** A saved wall older than this is not restored: a tab reopened the next day starts from the broker. */
export const SAVED_MAX_AGE_MS = 6 * 60 * 60 * 1000;
/** What is read back at most; SAVED_ITEMS items at the contract's limits stay well under it. */
export const SAVED_MAX_BYTES = 1_000_000;

export function storageKey(feed: string): string {
  return `livewall:screen:${feed}`;
}

/** The saved form of `items` (newest first, as the wall holds them) for `feed`. */
export function saveState(feed: string, items: readonly FeedItem[], now: number): string {
  return JSON.stringify({ v: 1, feed, savedAt: now, items: items.slice(0, SAVED_ITEMS) });
}

export interface Restored {
  /** Valid items for the feed, oldest first: the order in which the wall takes them. */
  items: FeedItem[];
  /** Entries that were not valid items of this feed, or repeats: skipped. */
  skipped: number;
  /** Why nothing was restored, when the saved state as a whole was refused. */
  refused?: string;
}

/** Reads back what saveState wrote, checking everything: the whole, and each item against the contract and allow-list. */
export function restoreState(saved: string | null, feed: string, allowList: ImageAllowList, now: number): Restored {
  if (saved === null) return { items: [], skipped: 0 };
  const parsed = parseJsonBody(saved, SAVED_MAX_BYTES);
  if (!parsed.ok) return { items: [], skipped: 0, refused: parsed.reason };
  const value = parsed.value as { v?: unknown; feed?: unknown; savedAt?: unknown; items?: unknown };
  if (typeof value !== 'object' || value === null || value.v !== 1 || !Array.isArray(value.items)) return { items: [], skipped: 0, refused: 'not a saved wall' };
  if (value.feed !== feed) return { items: [], skipped: 0, refused: `saved for another feed` };
  if (typeof value.savedAt !== 'number' || !(value.savedAt <= now) || now - value.savedAt > SAVED_MAX_AGE_MS) return { items: [], skipped: 0, refused: 'too old, or from the future' };
  const items: FeedItem[] = [];
  const ids = new Set<string>();
  let skipped = 0;
  for (const entry of value.items.slice(0, SAVED_ITEMS)) {
    const result = validateFeedItem(entry, allowList);
    if (!result.ok || result.item.feed !== feed || ids.has(result.item.id)) {
      skipped += 1;
      continue;
    }
    ids.add(result.item.id);
    items.push(result.item);
  }
  skipped += Math.max(0, value.items.length - SAVED_ITEMS);
  return { items: items.reverse(), skipped };
}
