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
 * What a screen reader hears for the card's image area: the image's alt text, how many images the post has (the
 * badge shows that count through CSS), and, when it is a link, where it leads. `images` is how many are left to try.
 */
export function mediaLabel(item: FeedItem, image: Image, images: number, linked: boolean): string {
  const parts = [altText(item, image)];
  if (images > 1) parts.push(`${images} images`);
  if (linked) parts.push(`Open the post by @${item.author.handle} on ${NETWORK_NAMES[item.network]}`);
  return parts.join('. ');
}

/** Runs of white space, line breaks among them, as one space: a name or handle keeps to its line. */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * The author as one text: the name on the first line (set in bold by `::first-line`), the handle on the second.
 * The line break also ends the name's bidi paragraph, so a right-to-left override in a name cannot reorder the
 * handle; `unicode-bidi: plaintext` gives each line its own direction.
 */
export function authorText(item: FeedItem): string {
  const name = oneLine(item.author.name ?? '');
  const handle = `@${oneLine(item.author.handle)}`;
  return name ? `${name}\n${handle}` : handle;
}

/**
 * One post as a card: an `<article>` of the ARIA feed pattern, focusable, labelled by its author and described by
 * its text and time. It shows the first image that loads: a broken one is replaced by the post's next image, and a
 * card left without any calls onBroken. The DOM is built with createElement and textContent only; every URL is
 * checked before it becomes an attribute. Undefined when the post has no image the allow-list accepts.
 *
 * A wall keeps hundreds of cards for days, so a card is at most six elements — article > a > img, the author, the
 * text, the time — and the rest is drawn by style.css from data attributes: the image-count badge (`data-images`
 * on the link) and the network's name before the time (`data-network-name`), coloured by the card's `data-network`.
 */
export function createCard(item: FeedItem, options: CardOptions): Card | undefined {
  const images = usableImages(item, options.allowList);
  if (images.length === 0) return undefined;
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
  } else {
    // A group, so that the image count in its label is read even without a link.
    media.setAttribute('role', 'group');
  }

  const img = el('img', 'tile-img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
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
    if (left > 1) media.dataset.images = String(left);
    else delete media.dataset.images;
    media.setAttribute('aria-label', mediaLabel(item, image, left, href !== undefined));
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
  media.append(img);

  const author = el('p', 'tile-author', authorText(item));
  author.id = `${id}-author`;
  author.title = authorLabel(item);

  const described: string[] = [];
  const parts: HTMLElement[] = [media, author];
  if (item.text.trim() !== '') {
    const text = el('p', 'tile-text', item.text);
    // A right-to-left text must not reorder the rest of the card: its direction is its own (bidi isolation).
    text.dir = 'auto';
    text.id = `${id}-text`;
    text.title = item.text;
    parts.push(text);
    described.push(text.id);
  }

  const time = el('time', 'tile-time', formatRelative(item.createdAt, options.now));
  time.id = `${id}-time`;
  time.dateTime = item.createdAt;
  time.title = formatAbsolute(item.createdAt);
  time.dataset.relative = '';
  // Shown before the time by style.css (time::before), and so part of the card's description.
  time.dataset.networkName = NETWORK_NAMES[item.network];
  parts.push(time);
  described.push(time.id);
  card.setAttribute('aria-describedby', described.join(' '));

  card.append(...parts);
  return {
    element: card,
    dispose() {
      listeners.abort();
      // An image still loading is not fetched to the end for a card nobody will see.
      img.removeAttribute('src');
    },
  };
}
