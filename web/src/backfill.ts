import { BACKFILL_ITEMS } from '@livewall/contract';

/** After the broker confirmed the subscription, this long without a frame means its backfill is all here. */
export const BACKFILL_QUIET_MS = 1_000;
/** The most the wall waits for a backfill after the broker confirmed the subscription, however busy the feed. */
export const BACKFILL_MAX_MS = 5_000;

export interface BackfillOptions {
  /** The backfill is over: the wall may render what it holds. */
  onDone(): void;
  /**
   * A backfilled frame came after the backfill was judged over (a live frame came first, see frame()): the wall is
   * held again until the rest of it is in.
   */
  onHoldAgain?(): void;
  quietMs?: number;
  maxMs?: number;
  /** The most frames a backfill has (the brokers keep a feed's last BACKFILL_ITEMS messages). */
  frames?: number;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/**
 * When a feed subscription's backfill has arrived, so that the wall, held meanwhile, applies the takedowns in it
 * before it shows anything: a page opened after a takedown must never show the item, not even for one frame, and
 * the broker's backfill (Artemis retroactive-message-count, RabbitMQ recent-history) delivers the item first and its
 * takedown later.
 *
 * The brokers send no end marker, so the rule is: the backfill is over
 * 0. at the first live frame, on a broker that marks backfilled frames (Artemis: the profile's `backfilled`): the backfill comes
 *    first, so what follows a live frame is live. (Should a live message reach the new queue in the instant between
 *    its creation and the copy of the backfill into it, a backfilled frame follows the live one: the wall is held
 *    again, by rule 2's quiet time, until the rest of the backfill is in.) Otherwise:
 * 1. once BACKFILL_ITEMS frames arrived since the subscription was made (items, takedowns and invalid frames alike:
 *    the broker keeps that many of the feed's last messages and delivers them before any live one), at once; or
 * 2. once the broker confirmed the subscription (its RECEIPT, Connection's onSubscribed) and then BACKFILL_QUIET_MS
 *    passed without a frame. The RECEIPT alone does not mark the end: Artemis copies the retroactive messages into
 *    the new queue while it creates it, before it answers the SUBSCRIBE, but delivers them to the consumer
 *    afterwards, on its own threads. On a loaded test machine (load 11 on 2 cores) the first backfilled frame
 *    reached the page up to 575 ms after the RECEIPT, and frames of one backfill up to 270 ms apart; on an idle one,
 *    within a few ms. 1 s is about twice the worst seen. It is paid only by a feed with fewer than BACKFILL_ITEMS
 *    messages in its history (a new or quiet feed): a feed with a full history ends by rule 1; or
 * 3. BACKFILL_MAX_MS after the RECEIPT, in any case: a feed whose frames never pause for a second and that has fewer
 *    than BACKFILL_ITEMS frames in five seconds is not held longer than that.
 * Without a RECEIPT (the connection failed first) it stays on: the next subscription starts a new backfill.
 * Live items after the backfill are not delayed: once it is over, frames go straight through; on Artemis the first
 * live frame also ends the wait at once, so a post published after a page opened on a quiet feed is not held.
 */
export class Backfill {
  private active = false;
  private confirmed = false;
  /** The last backfill ended at a live frame (rule 0), and no later subscription was made. */
  private endedLive = false;
  private count = 0;
  private quiet: unknown;
  private bound: unknown;
  private readonly quietMs: number;
  private readonly maxMs: number;
  private readonly frames: number;
  private readonly setTimer: (run: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(private readonly options: BackfillOptions) {
    this.quietMs = options.quietMs ?? BACKFILL_QUIET_MS;
    this.maxMs = options.maxMs ?? BACKFILL_MAX_MS;
    this.frames = options.frames ?? BACKFILL_ITEMS;
    this.setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  }

  /** Whether a backfill is being waited for. */
  get waiting(): boolean {
    return this.active;
  }

  /** A subscription was (re)made: its backfill begins. */
  start(): void {
    this.clear();
    this.endedLive = false;
    this.active = true;
    this.confirmed = false;
    this.count = 0;
  }

  /** The broker confirmed the subscription. */
  subscribed(): void {
    if (!this.active || this.confirmed) return;
    this.confirmed = true;
    this.bound = this.setTimer(() => this.finish(), this.maxMs);
    this.rearm();
  }

  /**
   * A frame arrived on the subscription (call it before handling the frame); `backfilled` as backfillMark says, if
   * the broker marks them.
   */
  frame(backfilled?: boolean): void {
    if (!this.active) {
      if (backfilled === true && this.endedLive) {
        // The race rule 0 speaks of: the rest of the backfill is being delivered after a live frame.
        this.endedLive = false;
        this.active = true;
        this.confirmed = false;
        this.subscribed();
        this.options.onHoldAgain?.();
      }
      return;
    }
    if (backfilled === false) {
      this.finish();
      this.endedLive = true;
      return;
    }
    this.count += 1;
    if (this.count >= this.frames) {
      this.finish();
      return;
    }
    if (this.confirmed) this.rearm();
  }

  /** Stops waiting without calling onDone (the subscription was dropped for another feed). */
  cancel(): void {
    this.clear();
    this.active = false;
    this.endedLive = false;
  }

  /**
   * Ends the backfill now. A frame that completes it (rule 1) calls this before the frame is handled: that frame is
   * the last of the backfill or the first live one, and either way is shown after the takedowns before it.
   */
  private finish(): void {
    if (!this.active) return;
    this.clear();
    this.active = false;
    this.endedLive = false;
    this.options.onDone();
  }

  private rearm(): void {
    if (this.quiet !== undefined) this.clearTimer(this.quiet);
    this.quiet = this.setTimer(() => this.finish(), this.quietMs);
  }

  private clear(): void {
    if (this.quiet !== undefined) this.clearTimer(this.quiet);
    if (this.bound !== undefined) this.clearTimer(this.bound);
    this.quiet = undefined;
    this.bound = undefined;
  }
}
