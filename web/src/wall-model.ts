import type { FeedItem } from '@livewall/contract';

export type AddResult =
  | { added: true; item: FeedItem; evicted: FeedItem[] }
  | { added: false; reason: 'duplicate' };

/**
 * The wall's contents without a DOM: newest first, de-duplicated by id, at most `maxItems`.
 *
 * Order is arrival order, newest on top. That is also right for the broker's replay of recent items on
 * (re)subscribe: it delivers them oldest first, in the order the worker published them, so each one lands above
 * the previous; items the page already has are skipped.
 *
 * Ids are remembered beyond the tiles shown (up to `seenLimit`), so a replay after a reconnect does not bring
 * back tiles that were already pushed off the bottom.
 */
export class WallModel {
  private readonly items: FeedItem[] = [];
  private readonly seen = new Set<string>();
  readonly seenLimit: number;

  constructor(readonly maxItems: number, seenLimit?: number) {
    if (!Number.isInteger(maxItems) || maxItems < 1) throw new Error(`maxItems must be a positive whole number, not ${maxItems}`);
    this.seenLimit = Math.max(seenLimit ?? Math.max(maxItems * 4, 1000), maxItems);
  }

  /** Puts `item` on top unless its id was seen; returns the items pushed off the bottom. */
  add(item: FeedItem): AddResult {
    if (this.seen.has(item.id)) return { added: false, reason: 'duplicate' };
    this.remember(item.id);
    this.items.unshift(item);
    const evicted = this.items.length > this.maxItems ? this.items.splice(this.maxItems) : [];
    return { added: true, item, evicted };
  }

  has(id: string): boolean {
    return this.items.some((item) => item.id === id);
  }

  /** The items shown, newest first. */
  list(): readonly FeedItem[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  private remember(id: string): void {
    this.seen.add(id);
    // A Set iterates in insertion order, which is the order items were added: the first entries are the oldest,
    // and since seenLimit >= maxItems, none of them is still on the wall.
    while (this.seen.size > this.seenLimit) {
      this.seen.delete(this.seen.values().next().value as string);
    }
  }
}
