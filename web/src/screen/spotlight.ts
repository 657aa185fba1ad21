import type { FeedItem } from '@livewall/contract';
import { brokerOrder } from '../connection.js';

/** What the spotlight shows: a post that just came in, or one from earlier shown again on a quiet feed. */
export interface Spot {
  item: FeedItem;
  kind: 'new' | 'earlier';
  /** When its time is up (epoch ms). */
  until: number;
}

export interface SpotlightTimings {
  /** How long one post stays in the spotlight. */
  highlightMs: number;
  /** How long the feed must bring nothing before earlier posts are shown again. */
  quietMs: number;
}

/**
 * Decides what the screen's spotlight shows, without a DOM or a clock of its own: the caller reports arrivals and
 * asks `at(now, wall)` whenever a timer it set for `wake()` fires or posts arrive.
 *
 * The newest post that came in goes into the spotlight for highlightMs; posts that arrive meanwhile wait, and when
 * the slot is over only the newest of them is shown (at 2 posts a second the spotlight shows one post in sixteen,
 * always the latest). A post from earlier is never shown as new: once the feed has been quiet for quietMs the
 * spotlight goes through the wall's posts again, one per slot, in a random order that shows each once before any
 * repeats (a "shuffle"), each marked `earlier`. A new arrival ends an earlier post's slot at once.
 */
export class Spotlight {
  private current: Spot | undefined;
  /** The newest live arrival not yet in the spotlight. */
  private fresh: FeedItem | undefined;
  private lastArrival: number;
  /** Ids still to be shown again in this round of the shuffle, next one last. */
  private deck: string[] = [];

  constructor(
    private readonly timings: SpotlightTimings,
    now: number,
    private readonly random: () => number = Math.random,
  ) {
    this.lastArrival = now;
  }

  /**
   * Posts went onto the wall (newest first). `live`: they came while the page was live, so the newest is news;
   * a backfill or a restored wall only counts as activity.
   */
  arrived(items: readonly FeedItem[], now: number, live: boolean): void {
    if (items.length === 0) return;
    this.lastArrival = now;
    if (live) this.fresh = items[0];
  }

  /** Whether the feed has brought nothing for quietMs. */
  isQuiet(now: number): boolean {
    return now - this.lastArrival >= this.timings.quietMs;
  }

  /** What to show at `now`, given the cards on the wall (newest first); undefined for nothing. */
  at(now: number, wall: readonly FeedItem[]): Spot | undefined {
    const onWall = (item: FeedItem): boolean => wall.some((card) => card.id === item.id);
    if (this.fresh && !onWall(this.fresh)) this.fresh = undefined;
    const current = this.current;
    const running = current !== undefined && now < current.until && onWall(current.item);
    if (running && !(current.kind === 'earlier' && this.fresh)) return current;

    if (this.fresh) {
      this.current = { item: this.fresh, kind: 'new', until: now + this.timings.highlightMs };
      this.fresh = undefined;
    } else if (this.isQuiet(now)) {
      const item = this.draw(wall);
      this.current = item && { item, kind: 'earlier', until: now + this.timings.highlightMs };
    } else {
      this.current = undefined;
    }
    return this.current;
  }

  /** When to ask `at` again, if nothing arrives before: the end of the slot, or the moment the feed turns quiet. */
  wake(now: number): number {
    if (this.current && this.current.until > now) return this.current.until;
    return Math.max(now, this.lastArrival + this.timings.quietMs);
  }

  /** The next post of the shuffle that is still on the wall and not the one just shown; a new round when it runs out. */
  private draw(wall: readonly FeedItem[]): FeedItem | undefined {
    const byId = new Map(wall.map((item) => [item.id, item]));
    const last = this.current?.item.id;
    if (byId.size === 0 || (byId.size === 1 && byId.has(last ?? ''))) return undefined;
    for (let round = 0; round < 2; round++) {
      while (this.deck.length > 0) {
        const id = this.deck.pop()!;
        const item = byId.get(id);
        if (!item) continue;
        if (id !== last) return item;
        // A new round that starts with the post just shown: it comes last in this round instead.
        if (this.deck.length > 0) this.deck.unshift(id);
      }
      // The same Fisher–Yates shuffle the page uses for its brokers.
      this.deck = brokerOrder([...byId.keys()], this.random);
    }
    return undefined;
  }
}
