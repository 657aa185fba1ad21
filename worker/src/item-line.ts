import type { FeedItem } from '@livewall/contract';

/**
 * The field of a log record that holds a feed item whole (`log:` with `format=item`, which `run --dry-run` sends a
 * feed's items to). Such a record's message is the item's readable line, and a terminal shows just that line.
 */
export const ITEM_FIELD = 'item';

/** One readable line for a terminal, as `tap` prints an item: time, author, image count, text, link. */
export function prettyItem(body: unknown): string {
  const item: Partial<FeedItem> = typeof body === 'object' && body !== null ? body : {};
  const time = typeof item.createdAt === 'string' ? item.createdAt.slice(11, 19) : '--:--:--';
  const images = Array.isArray(item.images) ? item.images.length : 0;
  const text = typeof item.text === 'string' ? item.text.replace(/\s+/g, ' ') : '';
  return `${time}  @${item.author?.handle ?? '?'}  [${images} image${images === 1 ? '' : 's'}]  ${text}  ${item.url ?? ''}`.trimEnd();
}
