import { authorKey, itemAuthorKey, type FeedItem, type ModerationAction } from '@livewall/contract';

/** What a flush changes: the items to put on top (oldest first) and those pushed off the bottom. */
export interface Batch {
  added: FeedItem[];
  evicted: FeedItem[];
}

/** How many ids are remembered at least, beyond the cards shown, to drop repeats (a replay after a reconnect). */
export const SEEN_IDS = 5_000;

/** How many hidden item ids a page remembers per feed (Takedowns). */
export const HIDDEN_IDS = 5_000;
/** How many blocked authors a page remembers per feed (Takedowns). */
export const BLOCKED_AUTHORS = 1_000;

/** What a takedown took off: the cards shown (top first) and the queued items (oldest first) it removed. */
export interface Removal {
  shown: FeedItem[];
  pending: FeedItem[];
}

/**
 * What moderators took down on one feed, as the page heard it on the feed's topic: hidden item ids and blocked
 * authors (authorKey: network and handle, lower case, without `@`). It outlives the wall's contents: a reconnect's
 * replay, or a switch to another feed and back, meets the same state, so a hidden item never shows again.
 *
 * Bounded: each set keeps insertion order (a repeated hide or block moves its entry to the newest end) and, beyond
 * its limit (HIDDEN_IDS ids, BLOCKED_AUTHORS authors, about 0.5 MB at most), forgets its oldest entry. Forgetting
 * is safe enough: a broker's backfill holds only the last BACKFILL_ITEMS messages, so an item hidden 5,000 hides ago
 * is long out of every replay, and the workers, which keep the whole moderation log, never publish a hidden item or a
 * blocked author's post again; the page's memory is the second line, for what is already on its way.
 */
export class Takedowns {
  /** Hidden item ids, oldest first. */
  private readonly hidden = new Set<string>();
  /** Blocked author keys, oldest first. */
  private readonly blocked = new Set<string>();

  constructor(
    readonly hiddenLimit = HIDDEN_IDS,
    readonly blockedLimit = BLOCKED_AUTHORS,
  ) {}

  /**
   * Records `action`: hide and block remember, unhide and unblock forget (which brings nothing back by itself);
   * approve and reject are not the page's business. True when it is a takedown (hide, block).
   */
  record(action: ModerationAction): boolean {
    switch (action.action) {
      case 'hide':
        if (action.itemId === undefined) return false;
        remember(this.hidden, action.itemId, this.hiddenLimit);
        return true;
      case 'block':
        if (action.author === undefined) return false;
        remember(this.blocked, authorKey(action.author.network, action.author.handle), this.blockedLimit);
        return true;
      case 'unhide':
        if (action.itemId !== undefined) this.hidden.delete(action.itemId);
        return false;
      case 'unblock':
        if (action.author !== undefined) this.blocked.delete(authorKey(action.author.network, action.author.handle));
        return false;
      default:
        return false;
    }
  }

  /** Whether `item` may not be shown: its id is hidden or its author blocked. */
  refuses(item: FeedItem): boolean {
    return this.hidden.has(item.id) || this.blocked.has(itemAuthorKey(item));
  }

  isHidden(id: string): boolean {
    return this.hidden.has(id);
  }

  isBlocked(key: string): boolean {
    return this.blocked.has(key);
  }

  get hiddenCount(): number {
    return this.hidden.size;
  }

  get blockedCount(): number {
    return this.blocked.size;
  }
}

/** Adds `key` as the newest entry of `set`, forgetting the oldest beyond `limit`. */
function remember(set: Set<string>, key: string, limit: number): void {
  set.delete(key);
  set.add(key);
  while (set.size > Math.max(limit, 1)) set.delete(set.values().next().value as string);
}

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
 *
 * Takedowns (`takedown`) take cards off, shown or queued, at once, whatever holds the wall, and the Takedowns state
 * keeps refusing what they named. An item refused that way is not remembered as seen: after an unhide or unblock,
 * the worker may publish it again, and then it shows.
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
    readonly takedowns = new Takedowns(),
  ) {
    if (!Number.isInteger(maxItems) || maxItems < 1) throw new Error(`maxItems must be a positive whole number, not ${maxItems}`);
    this.seenLimit = Math.max(seenLimit, 1);
  }

  /** Queues `item` unless its id was seen, or it was taken down (hidden, or its author blocked); false if not. */
  offer(item: FeedItem): boolean {
    if (this.present.has(item.id) || this.seen.has(item.id) || this.takedowns.refuses(item)) return false;
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

  /**
   * Applies a moderator's action: a hide or block is remembered (Takedowns) and takes every item it names off the
   * wall and out of the queue; the queued ones no longer count as new. Unhide and unblock only forget. Returns what
   * was removed, for the DOM.
   */
  takedown(action: ModerationAction): Removal {
    if (!this.takedowns.record(action)) return { shown: [], pending: [] };
    const gone = (item: FeedItem): boolean => this.takedowns.refuses(item);
    const shown = this.shown.filter(gone);
    const pending = this.pending.filter(gone);
    if (shown.length > 0) this.shown.splice(0, this.shown.length, ...this.shown.filter((item) => !gone(item)));
    if (pending.length > 0) {
      this.pending = this.pending.filter((item) => !gone(item));
      // The arrivals the queue had to drop stay counted: they were new posts, and nothing says they were taken down.
      this.arrivals -= pending.length;
    }
    for (const item of [...shown, ...pending]) this.present.delete(item.id);
    return { shown, pending };
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
