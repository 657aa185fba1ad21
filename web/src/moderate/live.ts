import { itemAuthorKey, authorKey, type FeedItem, type ImageAllowList, type ModerationAction } from '@livewall/contract';
import { createCard, type Card } from '../tile.js';

export interface LiveBoardOptions {
  allowList: ImageAllowList;
  maxItems: number;
  onHide(item: FeedItem): void;
  onBlock(item: FeedItem): void;
}

interface Shown {
  item: FeedItem;
  card: Card;
  element: HTMLElement;
}

/**
 * The feed's live wall on the moderator's page: the cards a viewer sees, newest first, each with the buttons that
 * take it down (hide this post, block its author). It follows the feed's takedowns as a viewer's page does: a hidden
 * post and a blocked author's posts leave and are refused afterwards, until an unhide or unblock.
 */
export class LiveBoard {
  private readonly shown = new Map<string, Shown>();
  private readonly hidden = new Set<string>();
  private readonly blocked = new Set<string>();

  constructor(
    private readonly container: HTMLElement,
    private readonly options: LiveBoardOptions,
  ) {}

  get size(): number {
    return this.shown.size;
  }

  offer(item: FeedItem): void {
    if (this.shown.has(item.id) || this.hidden.has(item.id) || this.blocked.has(itemAuthorKey(item))) return;
    const card = createCard(item, { now: Date.now(), allowList: this.options.allowList, onBroken: () => this.remove(item.id) });
    if (!card) return;
    const element = document.createElement('div');
    element.className = 'mod-live-card';
    element.dataset.testid = 'live-card';
    element.dataset.id = item.id;
    const actions = document.createElement('div');
    actions.className = 'mod-live-actions';
    actions.append(this.button('Hide', `Hide this post by @${item.author.handle}`, 'hide', () => this.options.onHide(item)));
    actions.append(this.button('Block author', `Block @${item.author.handle} and take down their posts`, 'block', () => this.options.onBlock(item)));
    element.append(card.element, actions);
    this.container.prepend(element);
    this.shown.set(item.id, { item, card, element });
    while (this.shown.size > this.options.maxItems) {
      const oldest = this.shown.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  /** A moderation action from the feed's topic. */
  apply(action: ModerationAction): void {
    if (action.action === 'hide' && action.itemId !== undefined) {
      this.hidden.add(action.itemId);
      this.remove(action.itemId);
    } else if (action.action === 'unhide' && action.itemId !== undefined) {
      this.hidden.delete(action.itemId);
    } else if (action.action === 'block' && action.author !== undefined) {
      const key = authorKey(action.author.network, action.author.handle);
      this.blocked.add(key);
      for (const { item } of [...this.shown.values()]) if (itemAuthorKey(item) === key) this.remove(item.id);
    } else if (action.action === 'unblock' && action.author !== undefined) {
      this.blocked.delete(authorKey(action.author.network, action.author.handle));
    }
  }

  reset(): void {
    for (const id of [...this.shown.keys()]) this.remove(id);
    this.hidden.clear();
    this.blocked.clear();
  }

  private button(text: string, label: string, action: string, onClick: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = `mod-button mod-${action}`;
    button.textContent = text;
    button.setAttribute('aria-label', label);
    button.dataset.action = action;
    button.addEventListener('click', onClick);
    return button;
  }

  private remove(id: string): void {
    const shown = this.shown.get(id);
    if (!shown) return;
    this.shown.delete(id);
    shown.card.dispose();
    shown.element.remove();
  }
}
