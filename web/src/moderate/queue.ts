import { RISKY_IMAGE_CLASSES, type FeedItem } from '@livewall/contract';

/** One post waiting for a decision, as the broker delivered it (`handle`: what acknowledging it needs). */
export interface PendingEntry<H> {
  /** The delivery's own key (its STOMP ack id): unique on the connection that received it. */
  key: string;
  item: FeedItem;
  handle: H;
}

/** What the moderator did, newest last, for undo. Approve and reject are on the broker; a skip is this page's alone. */
export type Done<H> =
  | { kind: 'approve'; item: FeedItem }
  | { kind: 'reject'; item: FeedItem; reason?: string }
  | { kind: 'skip'; entry: PendingEntry<H> };

/**
 * How risky the image check found a post: the highest probability of a risky class (Porn, Hentai, Sexy) over its
 * pictures; 0 for a post the check did not score (a feed without the check, or a picture it could not fetch).
 */
export function imageRisk(item: FeedItem): number {
  const scores = item.imageCheck?.scores ?? [];
  return Math.max(0, ...scores.flatMap((picture) => RISKY_IMAGE_CLASSES.map((name) => picture[name])));
}

/**
 * The image check's scores as the moderator reads them beside a post, riskiest picture's risky classes first, e.g.
 * `Image check: flagged Porn · Porn 93 % · Sexy 4 % · Hentai 1 %`; undefined for a post without scores.
 */
export function imageCheckSummary(item: FeedItem): string | undefined {
  const check = item.imageCheck;
  if (!check || check.scores.length === 0) return undefined;
  const riskiest = check.scores.reduce((worst, picture) => (Math.max(...RISKY_IMAGE_CLASSES.map((name) => picture[name])) > Math.max(...RISKY_IMAGE_CLASSES.map((name) => worst[name])) ? picture : worst));
  const classes = [...RISKY_IMAGE_CLASSES].sort((a, b) => riskiest[b] - riskiest[a]).map((name) => `${name} ${Math.round(riskiest[name] * 100)} %`);
  return ['Image check:', check.flagged ? `flagged ${check.flagged} ·` : 'passed ·', classes.join(' · ')].join(' ');
}

/** How many decisions undo reaches back. */
export const UNDO_DEPTH = 50;

/**
 * The posts this page holds from a feed's pending queue, in the order the broker delivered them, and what the
 * moderator did with them. The current post is the riskiest not skipped (the image check's scores; else the first). A skipped post stays held (not
 * acknowledged) until the page lets go of its subscription, then returns to the queue; undoing a skip makes it
 * current again. Approve and reject take a post off once the broker confirmed them.
 */
export class PendingQueue<H> {
  private entries: PendingEntry<H>[] = [];
  private readonly skipped = new Set<string>();
  private history: Done<H>[] = [];

  /** Adds a delivery; false for a key already held. */
  add(entry: PendingEntry<H>): boolean {
    if (this.entries.some((held) => held.key === entry.key)) return false;
    this.entries.push(entry);
    return true;
  }

  /** The post the moderator decides on now: the riskiest of those waiting. */
  get current(): PendingEntry<H> | undefined {
    return this.waiting[0];
  }

  /**
   * Posts waiting for a decision, riskiest first by the image check's scores (imageRisk), those at the same risk (all
   * of them, in a feed without the check) in the order the broker delivered them.
   */
  get waiting(): PendingEntry<H>[] {
    // Array.prototype.sort is stable: equal risks keep the delivery order.
    return this.entries.filter((entry) => !this.skipped.has(entry.key)).sort((a, b) => imageRisk(b.item) - imageRisk(a.item));
  }

  get held(): PendingEntry<H>[] {
    return this.entries.filter((entry) => this.skipped.has(entry.key));
  }

  isSkipped(key: string): boolean {
    return this.skipped.has(key);
  }

  /** Moves past the current post and leaves it unacknowledged; undefined when there is none. */
  skip(): PendingEntry<H> | undefined {
    const entry = this.current;
    if (!entry) return undefined;
    this.skipped.add(entry.key);
    this.remember({ kind: 'skip', entry });
    return entry;
  }

  /** The broker took the decision on `key`: the post leaves, and the decision can be undone. */
  settle(key: string, done: Extract<Done<H>, { kind: 'approve' | 'reject' }>): void {
    this.entries = this.entries.filter((entry) => entry.key !== key);
    this.skipped.delete(key);
    this.remember(done);
  }

  /** Takes a post off without a decision to undo (an invalid one, rejected automatically). */
  drop(key: string): void {
    this.entries = this.entries.filter((entry) => entry.key !== key);
    this.skipped.delete(key);
  }

  /** The last thing done that undo would take back, if any. */
  get last(): Done<H> | undefined {
    return this.history.at(-1);
  }

  /**
   * Takes the last decision off the history. A skip is undone here (the post is current again); approve and reject
   * are returned for the caller to undo on the broker (then call `restore` if that failed).
   */
  undo(): Done<H> | undefined {
    const done = this.history.pop();
    if (done?.kind === 'skip') this.skipped.delete(done.entry.key);
    return done;
  }

  /** Puts back a decision whose undo failed, so that it can be tried again. */
  restore(done: Done<H>): void {
    this.history.push(done);
  }

  /**
   * The connection ended: every post held returns to the broker's queue (unacknowledged), and skips of them mean
   * nothing any more. Decisions stay undoable: undoing them needs no delivery.
   */
  clear(): void {
    this.entries = [];
    this.skipped.clear();
    this.history = this.history.filter((done) => done.kind !== 'skip');
  }

  private remember(done: Done<H>): void {
    this.history.push(done);
    if (this.history.length > UNDO_DEPTH) this.history.shift();
  }
}
