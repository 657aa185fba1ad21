import type { Wall } from './wall.js';

/**
 * How far down (px) the page may be scrolled and still count as "at the top": focusing the top card can scroll
 * the page by the header's height less the gap above the wall.
 */
export const AT_TOP_PX = 48;

export interface LiveControlElements {
  /** Pause / Resume (WCAG 2.2.2): a button, so it is reached with Tab and pressed with Enter or Space. */
  pause: HTMLButtonElement;
  pauseText: HTMLElement;
  /** "N new posts", shown while the reader is scrolled away from the top and new posts wait. */
  pill: HTMLButtonElement;
  pillText: HTMLElement;
}

/** "1 new post", "3 new posts". */
export function newPosts(count: number): string {
  return `${count} new post${count === 1 ? '' : 's'}`;
}

/** The pause button's label: Pause, or Resume with the number of posts that wait. */
export function pauseLabel(paused: boolean, waiting: number): string {
  if (!paused) return 'Pause';
  return waiting > 0 ? `Resume (${waiting} new)` : 'Resume';
}

/**
 * What holds the wall, from the viewer and the browser: the pause button, scrolling away from the top (new cards
 * wait instead of shifting what the reader is reading), and a hidden tab (nothing renders; the wall catches up when
 * the tab returns). Also shows the pause button's label and the "N new" pill.
 */
export class LiveControls {
  private scrollFrame: number | undefined;
  private focusAfterRender = false;

  constructor(
    private readonly wall: Wall,
    private readonly elements: LiveControlElements,
  ) {
    elements.pause.addEventListener('click', () => wall.hold('paused', !wall.isHeld('paused')));
    elements.pill.addEventListener('click', () => this.showNew());
    addEventListener('scroll', () => this.onScroll(), { passive: true });
    document.addEventListener('visibilitychange', () => wall.hold('hidden', document.hidden));
    this.update();
  }

  /** Applies the holds that already stand: a tab opened in the background, a page restored scrolled down. */
  start(): void {
    this.wall.hold('hidden', document.hidden);
    this.wall.hold('scrolled', !atTop());
  }

  /** Renders the button's label and the pill from the wall's state; the wall calls it (through main) on changes. */
  update(): void {
    const { pause, pauseText, pill, pillText } = this.elements;
    const paused = this.wall.isHeld('paused');
    const waiting = this.wall.newCount;
    const label = pauseLabel(paused, waiting);
    if (pauseText.textContent !== label) pauseText.textContent = label;
    pause.dataset.paused = String(paused);
    pause.title = paused ? 'New posts wait until you resume' : 'Stop new posts from appearing';
    const showPill = !paused && this.wall.isHeld('scrolled') && waiting > 0;
    pill.hidden = !showPill;
    const text = newPosts(waiting);
    if (showPill && pillText.textContent !== text) pillText.textContent = text;
  }

  /** After a batch went in: keep the top in view for a reader who was near it, and focus it after the pill. */
  rendered(): void {
    if (scrollY > 0 && scrollY <= AT_TOP_PX) scrollTo({ top: 0, behavior: 'instant' });
    if (this.focusAfterRender) {
      this.focusAfterRender = false;
      this.wall.focusFirst();
    }
  }

  /** The pill: back to the top, where the waiting posts go in; focus moves to the newest, as the pill goes away. */
  private showNew(): void {
    this.focusAfterRender = true;
    scrollTo({ top: 0, behavior: 'instant' });
    this.wall.hold('scrolled', false);
  }

  private onScroll(): void {
    if (this.scrollFrame !== undefined) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = undefined;
      this.wall.hold('scrolled', !atTop());
    });
  }
}

function atTop(): boolean {
  return scrollY <= AT_TOP_PX;
}
