import type { FeedItem } from '@livewall/contract';

/** What a flush changes: the items to put on top (oldest first) and those pushed off the bottom. */
export interface Batch {
  added: FeedItem[];
  evicted: FeedItem[];
}

/** How many ids are remembered at least, beyond the cards shown, to drop repeats (a replay after a reconnect). */
export const SEEN_IDS = 5_000;

/**
 * The wall's contents without a DOM: what is shown (newest first, at most `maxItems`), what waits to be shown (the
 * pending queue, oldest first, also at most `maxItems`), and the ids already seen.
 *
 * Arrivals are queued by `offer` and shown by `flush`, which the page calls once per animation frame, unless the
 * wall is held (paused, scrolled away from the top, a hidden tab). A queue longer than `maxItems` drops its oldest
 * items: they would be pushed off the bottom by the newer ones at the next flush anyway.
 *
 * Order is arrival order, newest on top. That is also right for the broker's replay of recent items on
 * (re)subscribe: it delivers them oldest first, in the order the worker published them, so each one lands above
 * the previous; items the page already has are skipped.
 *
 * Ids are remembered beyond the cards shown (the last `seenLimit` accepted), so a replay after a reconnect does not
 * bring back cards that were already pushed off the bottom; the ids of cards shown or queued are always known.
 */
export class WallModel {
  /** Newest first. */
  private readonly shown: FeedItem[] = [];
  /** Oldest first. */
  private pending: FeedItem[] = [];
  /** Ids of the items shown or pending. */
  private readonly present = new Set<string>();
  /** Ids accepted lately, oldest first (a Set iterates in insertion order). */
  private readonly seen = new Set<string>();
  private arrivals = 0;
  readonly seenLimit: number;

  constructor(
    readonly maxItems: number,
    seenLimit = SEEN_IDS,
  ) {
    if (!Number.isInteger(maxItems) || maxItems < 1) throw new Error(`maxItems must be a positive whole number, not ${maxItems}`);
    this.seenLimit = Math.max(seenLimit, 1);
  }

  /** Queues `item` unless its id was seen; false for a duplicate. */
  offer(item: FeedItem): boolean {
    if (this.present.has(item.id) || this.seen.has(item.id)) return false;
    this.remember(item.id);
    this.present.add(item.id);
    this.pending.push(item);
    this.arrivals += 1;
    if (this.pending.length > this.maxItems) {
      for (const dropped of this.pending.splice(0, this.pending.length - this.maxItems)) this.present.delete(dropped.id);
    }
    return true;
  }

  /** Moves every pending item onto the wall; returns them (oldest first) and the items they pushed off. */
  flush(): Batch {
    const added = this.pending;
    this.pending = [];
    this.arrivals = 0;
    if (added.length === 0) return { added, evicted: [] };
    this.shown.unshift(...[...added].reverse());
    // The queue holds at most maxItems, so what falls off the bottom is always older than the whole batch.
    const evicted = this.shown.length > this.maxItems ? this.shown.splice(this.maxItems) : [];
    for (const item of evicted) this.present.delete(item.id);
    return { added, evicted };
  }

  /** Takes a shown item off the wall (its image would not load); its id stays seen. */
  remove(id: string): boolean {
    const index = this.shown.findIndex((item) => item.id === id);
    if (index < 0) return false;
    this.shown.splice(index, 1);
    this.present.delete(id);
    return true;
  }

  /** Whether `id` is shown on the wall (not merely queued). */
  has(id: string): boolean {
    return this.shown.some((item) => item.id === id);
  }

  /** The items shown, newest first. */
  list(): readonly FeedItem[] {
    return this.shown;
  }

  /** Items shown. */
  get size(): number {
    return this.shown.length;
  }

  /** Items waiting to be shown (at most maxItems). */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** New items that arrived since the last flush, including any the bounded queue had to drop. */
  get newCount(): number {
    return this.arrivals;
  }

  private remember(id: string): void {
    this.seen.add(id);
    while (this.seen.size > this.seenLimit) {
      this.seen.delete(this.seen.values().next().value as string);
    }
  }
}
