import type { FeedItem, Image, ImageAllowList, Network } from '@livewall/contract';
import { formatAbsolute, formatRelative } from './time.js';

const NETWORK_NAMES: Record<Network, string> = { x: 'X', bluesky: 'Bluesky', mastodon: 'Mastodon' };

/** Unique element ids for aria-labelledby and aria-describedby: feed item ids may hold any character. */
let serial = 0;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  // textContent, never innerHTML: everything here comes from the network.
  if (text !== undefined) element.textContent = text;
  return element;
}

/** "Name (@handle)" or "@handle": how the card names the author in its tooltip. */
export function authorLabel(item: FeedItem): string {
  const name = item.author.name?.trim();
  return name ? `${name} (@${item.author.handle})` : `@${item.author.handle}`;
}

/** The image's own alt text, or a description that at least says whose image it is. */
export function altText(item: FeedItem, image: Image | undefined = item.images[0]): string {
  const alt = image?.alt?.trim();
  if (alt) return alt;
  return `Image posted by @${item.author.handle}`;
}

/**
 * `url` if it may become a link's href: https, no credentials. The contract's validator checked it already; this
 * is the last look before it becomes an attribute, so that a gap elsewhere cannot put `javascript:` in a link.
 */
export function safeLink(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password) return undefined;
  return parsed.href;
}

/** The images of `item` whose thumbnail may become an img src: on the allow-list (https, or a listed loopback origin). */
export function usableImages(item: FeedItem, allowList: ImageAllowList): Image[] {
  return item.images.filter((image) => allowList.refusal(image.thumb) === undefined);
}

export interface CardOptions {
  now: number;
  allowList: ImageAllowList;
  /** None of the card's images could be loaded: the wall takes the card off. */
  onBroken(): void;
}

export interface Card {
  element: HTMLElement;
  /** Removes the card's listeners and stops its image loading; the element is then taken out of the DOM. */
  dispose(): void;
}

/**
 * One post as a card: an `<article>` of the ARIA feed pattern, focusable, labelled by its author and described by
 * its text and time. It shows the first image that loads: a broken one is replaced by the post's next image, and a
 * card left without any calls onBroken. The DOM is built with createElement and textContent only; every URL is
 * checked before it becomes an attribute. Undefined when the post has no image the allow-list accepts.
 */
export function createCard(item: FeedItem, options: CardOptions): Card | undefined {
  const images = usableImages(item, options.allowList);
  if (images.length === 0) return undefined;
  const network = NETWORK_NAMES[item.network];
  const listeners = new AbortController();
  const id = `card-${++serial}`;

  const card = el('article', 'tile');
  card.id = id;
  card.tabIndex = 0;
  card.dataset.testid = 'tile';
  card.dataset.id = item.id;
  card.dataset.network = item.network;
  card.setAttribute('aria-setsize', '-1');
  card.setAttribute('aria-labelledby', `${id}-author`);

  const href = safeLink(item.url);
  const media = href === undefined ? el('div', 'tile-media') : el('a', 'tile-media');
  if (media instanceof HTMLAnchorElement && href !== undefined) {
    media.href = href;
    media.target = '_blank';
    media.rel = 'noopener noreferrer';
  }

  const img = el('img', 'tile-img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
  const badge = el('span', 'badge');
  const showImage = (image: Image): void => {
    img.alt = altText(item, image);
    // The attributes reserve the image's space (its aspect ratio) before it loads.
    if (image.width && image.height) {
      img.width = image.width;
      img.height = image.height;
    } else {
      img.removeAttribute('width');
      img.removeAttribute('height');
    }
    img.src = image.thumb;
    const left = images.length;
    badge.hidden = left < 2;
    badge.textContent = String(left);
    badge.setAttribute('aria-label', `${left} images`);
    badge.title = `${left} images`;
  };
  img.addEventListener(
    'error',
    () => {
      images.shift();
      const next = images[0];
      if (next) showImage(next);
      else options.onBroken();
    },
    { signal: listeners.signal },
  );
  showImage(images[0]!);
  media.append(img, badge);
  if (href !== undefined) media.append(el('span', 'visually-hidden', ` Open the post by @${item.author.handle} on ${network}`));

  const body = el('div', 'tile-body');

  const author = el('p', 'tile-author');
  author.id = `${id}-author`;
  const name = item.author.name?.trim();
  if (name) {
    const nameElement = el('span', 'author-name', name);
    // A right-to-left name must not reorder what follows it: its direction is its own (bidi isolation).
    nameElement.dir = 'auto';
    author.append(nameElement, ' ');
  }
  author.append(el('span', 'author-handle', `@${item.author.handle}`));
  author.title = authorLabel(item);
  body.append(author);

  const described: string[] = [];
  if (item.text.trim() !== '') {
    const text = el('p', 'tile-text', item.text);
    text.dir = 'auto';
    text.id = `${id}-text`;
    text.title = item.text;
    body.append(text);
    described.push(text.id);
  }

  const meta = el('p', 'tile-meta');
  meta.id = `${id}-meta`;
  meta.append(el('span', `network network-${item.network}`, network), el('span', 'sep', ' · '));
  const time = el('time', 'when', formatRelative(item.createdAt, options.now));
  time.dateTime = item.createdAt;
  time.title = formatAbsolute(item.createdAt);
  time.dataset.relative = '';
  meta.append(time);
  body.append(meta);
  described.push(meta.id);
  card.setAttribute('aria-describedby', described.join(' '));

  card.append(media, body);
  return {
    element: card,
    dispose() {
      listeners.abort();
      // An image still loading is not fetched to the end for a card nobody will see.
      img.removeAttribute('src');
    },
  };
}
