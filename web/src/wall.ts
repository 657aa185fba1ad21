import type { FeedItem, ImageAllowList, ModerationAction } from '@livewall/contract';
import { createCard, type Card } from './tile.js';
import { formatRelative } from './time.js';
import { Takedowns, WallModel } from './wall-model.js';

/**
 * Why the wall is not inserting new cards now; arrivals wait in the model's bounded queue meanwhile. `backfill`: a
 * feed subscription's backfill is still arriving, and a takedown in it may follow the item it takes down (Backfill).
 */
export type HoldReason = 'paused' | 'scrolled' | 'hidden' | 'backfill';

/** The name of the performance mark for each card shown (see Wall). */
export const SHOWN_MARK = 'livewall:shown';
/** Marks kept in the performance timeline before they are cleared: a wall left open for days must not grow it. */
export const MARK_LIMIT = 10_000;

export interface WallOptions {
  maxItems: number;
  allowList: ImageAllowList;
  /** After anything the header shows changed: cards shown, new ones waiting, holds. */
  onChange(): void;
  /** After a batch of cards went into the DOM. */
  onRender?(): void;
  /** The cards of that batch (newest first); `backfill`: it is a subscription's backfill, let in at once. */
  onShown?(items: readonly FeedItem[], backfill: boolean): void;
}

/**
 * The wall in the DOM: an ARIA feed (`role="feed"`, set in index.html) of `<article>` cards, newest on top, over
 * WallModel, which decides order, duplicates and the cap.
 *
 * Arrivals are inserted in batches, at most one per animation frame, and not at all while something holds the
 * wall; then they wait, up to maxItems of them, and go in together, in order, when the last hold is released.
 * While a batch goes in the feed is `aria-busy`. Cards pushed off the bottom or left without an image are removed
 * with their listeners. Each card shown gets a performance mark `livewall:shown` with `{ id, publishedAt }` as
 * detail, once it is on the screen, for benchmarks of the end-to-end latency (see markAfterRendering).
 *
 * Page Down and Page Up move focus to the next and previous card (the WAI-ARIA feed pattern).
 *
 * A moderator's takedown (`takedown`) removes its cards at once, shown or queued, whatever holds the wall: focus
 * moves to the nearest card left (the next one down, else the one above, else the feed itself), the cards left are
 * numbered again, and queued ones taken down no longer count as new.
 */
export class Wall {
  private model: WallModel;
  private readonly cards = new Map<string, Card>();
  private readonly holds = new Set<HoldReason>();
  private frame: number | undefined;
  private marks = 0;
  /** Cards inserted in the frame being rendered, waiting for their mark (see markAfterRendering). */
  private unmarked: FeedItem[] = [];
  private readonly rendered = new MessageChannel();
  /** The next batch is the backfill that a released 'backfill' hold lets in (for onShown). */
  private backfillBatch = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly options: WallOptions,
    takedowns = new Takedowns(),
  ) {
    this.model = new WallModel(options.maxItems, undefined, takedowns);
    this.rendered.port1.onmessage = () => this.markShown();
    container.setAttribute('aria-busy', 'false');
    container.addEventListener('keydown', (event) => this.onKeyDown(event));
  }

  /** Queues a valid item for the next frame; false when it was a duplicate. */
  offer(item: FeedItem): boolean {
    if (!this.model.offer(item)) return false;
    this.schedule();
    this.changed();
    return true;
  }

  /** Applies a moderator's action (WallModel.takedown) and takes its cards out of the DOM; returns how many went. */
  takedown(action: ModerationAction): number {
    const { shown, pending } = this.model.takedown(action);
    if (shown.length > 0) {
      this.removeCards(shown.map((item) => item.id));
      this.renumber();
    }
    if (shown.length + pending.length > 0) this.changed();
    return shown.length + pending.length;
  }

  /** Holds the wall for `reason`, or releases that hold; the queue goes in once nothing holds it. */
  hold(reason: HoldReason, on: boolean): void {
    if (on === this.holds.has(reason)) return;
    if (on) this.holds.add(reason);
    else this.holds.delete(reason);
    if (reason === 'backfill') this.backfillBatch = !on && this.model.pendingCount > 0;
    // A backfill goes in as one change once it is all here: the feed is busy until then (render() ends it after a frame).
    if (reason === 'backfill') this.container.setAttribute('aria-busy', String(on));
    this.schedule();
    this.changed();
  }

  isHeld(reason: HoldReason): boolean {
    return this.holds.has(reason);
  }

  /** The posts on the wall, newest first. */
  get items(): readonly FeedItem[] {
    return this.model.list();
  }

  /** Cards shown. */
  get size(): number {
    return this.model.size;
  }

  /** New posts that arrived and are not shown yet (more than are queued, when the queue had to drop some). */
  get newCount(): number {
    return this.model.newCount;
  }

  /**
   * Empties the wall for another feed: every card, the queue and the ids seen go; holds stay. `takedowns`: that
   * feed's (the page keeps each feed's, so that switching back does not forget them).
   */
  reset(takedowns = new Takedowns()): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    for (const card of this.cards.values()) card.dispose();
    this.cards.clear();
    this.container.replaceChildren();
    this.container.setAttribute('aria-busy', 'false');
    this.model = new WallModel(this.options.maxItems, undefined, takedowns);
    this.changed();
  }

  /** Focuses the top card, if there is one, without scrolling. */
  focusFirst(): void {
    this.cardElements()[0]?.focus({ preventScroll: true });
  }

  /** Rewrites every "5m ago". */
  refreshTimes(now = Date.now()): void {
    for (const time of this.container.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
      const text = formatRelative(time.dateTime, now);
      if (time.textContent !== text) time.textContent = text;
    }
  }

  private schedule(): void {
    if (this.frame !== undefined || this.holds.size > 0 || this.model.pendingCount === 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.render();
    });
  }

  private render(): void {
    if (this.holds.size > 0) return;
    const { added, evicted } = this.model.flush();
    const backfill = this.backfillBatch;
    this.backfillBatch = false;
    if (added.length === 0) return;
    this.container.setAttribute('aria-busy', 'true');
    const now = Date.now();
    const fragment = document.createDocumentFragment();
    const shown: FeedItem[] = [];
    // Newest first, as they stand on the wall.
    for (let index = added.length - 1; index >= 0; index--) {
      const item = added[index]!;
      const card = createCard(item, { now, allowList: this.options.allowList, onBroken: () => this.remove(item.id) });
      if (!card) {
        this.model.remove(item.id);
        continue;
      }
      this.cards.set(item.id, card);
      fragment.append(card.element);
      shown.push(item);
    }
    this.removeCards(evicted.map((item) => item.id));
    this.container.prepend(fragment);
    this.renumber();
    this.markAfterRendering(shown);
    // Busy until the batch has been through a frame: assistive technology reads it as one change.
    requestAnimationFrame(() => this.container.setAttribute('aria-busy', 'false'));
    this.options.onRender?.();
    if (shown.length > 0) this.options.onShown?.(shown, backfill);
    this.changed();
  }

  /** Takes a card off the wall whose images would not load. */
  private remove(id: string): void {
    if (!this.model.remove(id)) return;
    this.removeCards([id]);
    this.renumber();
    this.changed();
  }

  /**
   * `data-waiting` on the feed says how many new posts wait, and `data-held` what holds it (space-separated), for
   * the page's style and for tests.
   */
  private changed(): void {
    const waiting = String(this.model.newCount);
    if (this.container.dataset.waiting !== waiting) this.container.dataset.waiting = waiting;
    const held = [...this.holds].sort().join(' ');
    if (this.container.dataset.held !== held) this.container.dataset.held = held;
    this.options.onChange();
  }

  /** Takes these cards out of the DOM with their listeners. */
  private removeCards(ids: readonly string[]): void {
    const elements: HTMLElement[] = [];
    for (const id of ids) {
      const card = this.cards.get(id);
      if (!card) continue;
      this.cards.delete(id);
      card.dispose();
      elements.push(card.element);
    }
    if (elements.length === 0) return;
    // Focus must not fall back to <body> when the card a keyboard user is on goes away: it goes to the nearest card
    // that stays, below first (where the reader was heading), else above, else to the feed itself.
    const focused = elements.find((element) => element.contains(document.activeElement));
    if (focused) {
      const going = new Set<Element>(elements);
      const stays = (start: Element | null, step: (element: Element) => Element | null): HTMLElement | undefined => {
        for (let next = start; next; next = step(next)) if (next.tagName === 'ARTICLE' && !going.has(next)) return next as HTMLElement;
        return undefined;
      };
      const neighbour = stays(focused.nextElementSibling, (element) => element.nextElementSibling) ?? stays(focused.previousElementSibling, (element) => element.previousElementSibling);
      if (neighbour) neighbour.focus({ preventScroll: true });
      else {
        if (!this.container.hasAttribute('tabindex')) this.container.tabIndex = -1;
        this.container.focus({ preventScroll: true });
      }
    }
    for (const element of elements) element.remove();
  }

  /** aria-posinset: each card's place in the feed, counted from the top. */
  private renumber(): void {
    const elements = this.cardElements();
    for (let index = 0; index < elements.length; index++) {
      const position = String(index + 1);
      if (elements[index]!.getAttribute('aria-posinset') !== position) elements[index]!.setAttribute('aria-posinset', position);
    }
  }

  private cardElements(): HTMLElement[] {
    return [...this.container.children].filter((child): child is HTMLElement => child instanceof HTMLElement && child.tagName === 'ARTICLE');
  }

  /**
   * `shown` (newest first) was inserted in this animation-frame callback, before the browser lays out and paints
   * the frame: a mark taken now would miss that work. A message posted from here is handled by the first task
   * after the frame's rendering, so the marks are taken there, once the cards are on the screen.
   */
  private markAfterRendering(shown: FeedItem[]): void {
    if (shown.length === 0) return;
    if (this.unmarked.length === 0) this.rendered.port2.postMessage(null);
    for (let index = shown.length - 1; index >= 0; index--) this.unmarked.push(shown[index]!);
  }

  /** The marks of the cards markAfterRendering kept, in arrival order. */
  private markShown(): void {
    for (const item of this.unmarked.splice(0)) {
      // Taken off (a takedown, a broken image) before it reached the screen: it was never shown.
      if (!this.cards.has(item.id)) continue;
      if (this.marks >= MARK_LIMIT) {
        performance.clearMarks(SHOWN_MARK);
        this.marks = 0;
      }
      performance.mark(SHOWN_MARK, { detail: { id: item.id, publishedAt: item.publishedAt } });
      this.marks += 1;
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== 'PageDown' && event.key !== 'PageUp') return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const current = event.target instanceof Element ? event.target.closest('article') : null;
    if (!current || current.parentElement !== this.container) return;
    let next = event.key === 'PageDown' ? current.nextElementSibling : current.previousElementSibling;
    while (next && next.tagName !== 'ARTICLE') next = event.key === 'PageDown' ? next.nextElementSibling : next.previousElementSibling;
    event.preventDefault();
    if (!(next instanceof HTMLElement)) return;
    next.focus({ preventScroll: true });
    next.scrollIntoView({ block: 'nearest' });
  }
}
