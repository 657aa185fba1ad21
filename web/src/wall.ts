import type { FeedItem } from '@livewall/contract';
import { createTile } from './tile.js';
import { formatRelative } from './time.js';
import type { WallModel } from './wall-model.js';

/** The wall in the DOM: a thin view over WallModel, which decides order, duplicates and the cap. */
export class WallView {
  private readonly tiles = new Map<string, HTMLElement>();

  constructor(
    private readonly container: HTMLElement,
    private readonly model: WallModel,
  ) {}

  /** Shows `item` on top; false when it was a duplicate. */
  add(item: FeedItem, now = Date.now()): boolean {
    const result = this.model.add(item);
    if (!result.added) return false;
    const tile = createTile(item, now);
    this.tiles.set(item.id, tile);
    this.container.prepend(tile);
    for (const old of result.evicted) {
      this.tiles.get(old.id)?.remove();
      this.tiles.delete(old.id);
    }
    return true;
  }

  get size(): number {
    return this.model.size;
  }

  /** Rewrites every "5m ago". */
  refreshTimes(now = Date.now()): void {
    for (const time of this.container.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
      const text = formatRelative(time.dateTime, now);
      if (time.textContent !== text) time.textContent = text;
    }
  }
}
