import type { FeedItem, ImageAllowList } from '@livewall/contract';
import type { WallConfig } from '../config.js';
import { createCard, type Card } from '../tile.js';
import { CRASHES_KEY, nextCrash, parseCrashes, parseVersion, RELOAD_DEADLINE_MS, RELOADED_FOR_KEY, shouldReload } from './recovery.js';
import { restoreState, saveState, storageKey } from './saved-state.js';
import { Spotlight, type Spot } from './spotlight.js';

/** The cursor hides after this long without moving. */
export const IDLE_CURSOR_MS = 3_000;
/** A self-reload waits for a moment with no card inserted for this long, between two spotlight slots. */
export const QUIET_MOMENT_MS = 2_000;
/** How often the wall's state is saved besides on pagehide: a renderer that dies gets no pagehide. */
const SAVE_EVERY_MS = 15_000;

/** This build's id, replaced by vite.config.ts's `define` (which also writes it to /version.json). */
declare const __LIVEWALL_BUILD__: string | undefined;
/** This build's id; 'dev' where no build defined it (the unit tests). */
const OWN_BUILD = typeof __LIVEWALL_BUILD__ === 'string' ? __LIVEWALL_BUILD__ : 'dev';

export interface ScreenElements {
  root: HTMLElement;
  spotlight: HTMLElement;
  spotlightKind: HTMLElement;
  spotlightCard: HTMLElement;
}

export interface ScreenOptions {
  timings: WallConfig['screen'];
  allowList: ImageAllowList;
  elements: ScreenElements;
  /** The cards on the wall, newest first. */
  wallItems(): readonly FeedItem[];
  /** Shows a line to whoever looks at the screen (a crash and the coming reload). */
  notice(message: string): void;
}

const SPOT_TEXT: Record<Spot['kind'], string> = { new: 'New post', earlier: 'From earlier · shown again, not new' };

/** The part of the Screen Wake Lock API used here (not in every browser; TypeScript's DOM library has it). */
interface WakeLockSentinelLike extends EventTarget {
  released: boolean;
}

/**
 * Screen mode, for a TV, a projector or an event screen nobody touches: the layout is style.css's (under
 * `:root[data-mode='screen']`); this keeps the display awake, hides an idle cursor, runs the spotlight (Spotlight),
 * and recovers without a person — it reloads after an uncaught error (with a growing wait) and for a new build (at a
 * quiet moment), keeping the wall's cards in sessionStorage across the reload (saved-state.ts). The connection's own
 * recovery (network loss, a broker restart, an edge failover) is connection.ts's.
 */
export class ScreenMode {
  private readonly spotlight: Spotlight;
  private spotCard: Card | undefined;
  private shownSpot: Spot | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private feed: string | undefined;
  /** Ids put back from storage: their batch is not news. */
  private restoredIds = new Set<string>();
  /** The broker has put cards on this wall since it opened (a later backfill is what a reconnect missed: news). */
  private fed = false;
  private lastInsert = 0;
  private newBuild: { build: string; deadline: number } | undefined;
  private reloading = false;

  constructor(private readonly options: ScreenOptions) {
    this.spotlight = new Spotlight(options.timings, Date.now());
  }

  start(): void {
    this.options.elements.root.dataset.mode = 'screen';
    hideIdleCursor(this.options.elements.root);
    keepAwake();
    addEventListener('error', (event) => this.crash(event.message || 'an error'));
    addEventListener('unhandledrejection', (event) => this.crash(String((event.reason as Error | undefined)?.message ?? event.reason)));
    addEventListener('pagehide', () => this.save());
    setInterval(() => this.save(), SAVE_EVERY_MS);
    setInterval(() => void this.checkVersion(), this.options.timings.versionCheckMs);
    this.step();
  }

  /**
   * The wall now shows `feed`: returns the cards saved for it before the last reload (oldest first), validated, for
   * the page to put back on the wall before the broker's backfill arrives.
   */
  restore(feed: string): FeedItem[] {
    this.feed = feed;
    const restored = restoreState(sessionStorage.getItem(storageKey(feed)), feed, this.options.allowList, Date.now());
    if (restored.refused) console.warn(`livewall: the saved wall was not restored: ${restored.refused}`);
    if (restored.skipped > 0) console.warn(`livewall: skipped ${restored.skipped} invalid saved cards`);
    this.restoredIds = new Set(restored.items.map((item) => item.id));
    return restored.items;
  }

  /**
   * Cards went onto the wall (newest first); `backfill`: they came from a subscription's backfill. The first backfill
   * a wall gets and the cards it restored are posts from before it opened: not news. A later backfill holds what a
   * reconnect had missed, which this screen has not shown: its newest is.
   */
  shown(items: readonly FeedItem[], backfill: boolean): void {
    const restored = items.every((item) => this.restoredIds.has(item.id));
    this.restoredIds.clear();
    const now = Date.now();
    this.lastInsert = now;
    this.spotlight.arrived(items, now, !restored && (!backfill || this.fed));
    if (!restored) this.fed = true;
    this.step();
  }

  /** Shows what the spotlight says now, and sets the timer for its next change; reloads for a new build in between. */
  private step(): void {
    clearTimeout(this.timer);
    const now = Date.now();
    const spot = this.spotlight.at(now, this.options.wallItems());
    if (spot !== this.shownSpot) {
      if (this.reloadIfQuiet(now)) return;
      this.show(spot);
    }
    // While a new build waits and the spotlight rests, look for a quiet moment every second.
    const wake = this.newBuild && !spot ? Math.min(this.spotlight.wake(now), now + 1_000) : this.spotlight.wake(now);
    this.timer = setTimeout(() => this.step(), Math.max(50, wake - now));
  }

  private show(spot: Spot | undefined): void {
    const { spotlight, spotlightKind, spotlightCard } = this.options.elements;
    this.spotCard?.dispose();
    this.spotCard = undefined;
    this.shownSpot = spot;
    const card = spot && createCard(spot.item, { now: Date.now(), allowList: this.options.allowList, onBroken: () => this.show(undefined) });
    if (!spot || !card) {
      spotlight.hidden = true;
      spotlightCard.replaceChildren();
      return;
    }
    // The spotlight is large: the post's full image where the allow-list takes it, not its thumbnail.
    const img = card.element.querySelector('img');
    const full = spot.item.images[0]?.url;
    if (img && full && this.options.allowList.refusal(full) === undefined) {
      img.loading = 'eager';
      img.src = full;
    }
    // A copy of a card on the wall: not a second stop for the keyboard, nor a second feed entry.
    card.element.removeAttribute('tabindex');
    card.element.removeAttribute('data-testid');
    this.spotCard = card;
    spotlightKind.textContent = SPOT_TEXT[spot.kind];
    spotlight.dataset.kind = spot.kind;
    spotlight.dataset.id = spot.item.id;
    spotlightCard.replaceChildren(card.element);
    spotlight.hidden = false;
  }

  private save(): void {
    if (this.feed === undefined) return;
    try {
      sessionStorage.setItem(storageKey(this.feed), saveState(this.feed, this.options.wallItems(), Date.now()));
    } catch (error) {
      // Storage full or refused: the reload then starts from the broker's backfill.
      console.warn(`livewall: could not save the wall: ${(error as Error).message}`);
    }
  }

  /** An uncaught error: save the wall and reload after the wait the crashes in a row call for. */
  private crash(reason: string): void {
    if (this.reloading) return;
    this.reloading = true;
    const { crashes, delayMs } = nextCrash(parseCrashes(sessionStorage.getItem(CRASHES_KEY)), Date.now());
    sessionStorage.setItem(CRASHES_KEY, JSON.stringify(crashes));
    this.save();
    const seconds = Math.ceil(delayMs / 1000);
    this.options.notice(`The wall hit an error (${reason.slice(0, 200)}); it reloads itself in ${seconds} s.`);
    setTimeout(() => location.reload(), delayMs);
  }

  /** Asks the server which build it serves now; a new one waits for a quiet moment (step). */
  private async checkVersion(): Promise<void> {
    if (this.newBuild || this.reloading) return;
    let served: string | undefined;
    try {
      const response = await fetch('/version.json', { cache: 'no-store', headers: { accept: 'application/json' } });
      if (!response.ok) return;
      served = parseVersion(await response.json());
    } catch {
      // The server is unreachable or answered garbage: ask again next time.
      return;
    }
    if (!shouldReload(OWN_BUILD, served, sessionStorage.getItem(RELOADED_FOR_KEY))) return;
    this.newBuild = { build: served!, deadline: Date.now() + RELOAD_DEADLINE_MS };
    this.step();
  }

  /** Reloads for a new build, now that a spotlight slot ended, if no card went in lately (or the deadline passed). */
  private reloadIfQuiet(now: number): boolean {
    const wanted = this.newBuild;
    if (!wanted || this.reloading) return false;
    if (now - this.lastInsert < QUIET_MOMENT_MS && now < wanted.deadline) return false;
    this.reloading = true;
    sessionStorage.setItem(RELOADED_FOR_KEY, wanted.build);
    this.save();
    location.reload();
    return true;
  }
}

/** `data-idle` on the root after IDLE_CURSOR_MS without the pointer moving: style.css hides the cursor then. */
function hideIdleCursor(root: HTMLElement): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const active = (): void => {
    if ('idle' in root.dataset) delete root.dataset.idle;
    clearTimeout(timer);
    timer = setTimeout(() => (root.dataset.idle = ''), IDLE_CURSOR_MS);
  };
  addEventListener('pointermove', active, { passive: true });
  addEventListener('pointerdown', active, { passive: true });
  active();
}

/**
 * Keeps the display on with the Screen Wake Lock, where the browser has it (a secure context: https or localhost).
 * The browser releases the lock whenever the page is hidden; it is asked for again each time the page is visible.
 * A refusal (battery saver, a policy) is logged, never shown: the wall works without it.
 */
function keepAwake(): void {
  const wakeLock = (navigator as { wakeLock?: { request(type: 'screen'): Promise<WakeLockSentinelLike> } }).wakeLock;
  if (!wakeLock) return;
  let sentinel: WakeLockSentinelLike | undefined;
  let asking = false;
  const request = async (): Promise<void> => {
    if (document.visibilityState !== 'visible' || asking || (sentinel && !sentinel.released)) return;
    asking = true;
    try {
      sentinel = await wakeLock.request('screen');
      sentinel.addEventListener('release', () => (sentinel = undefined), { once: true });
    } catch (error) {
      console.info(`livewall: no screen wake lock: ${(error as Error).message}`);
    } finally {
      asking = false;
    }
  };
  void request();
  document.addEventListener('visibilitychange', () => void request());
}
