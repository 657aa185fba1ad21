import type { FeedItem, Network } from '@livewall/contract';
import { formatAbsolute, formatRelative } from './time.js';

const NETWORK_NAMES: Record<Network, string> = { x: 'X', bluesky: 'Bluesky', mastodon: 'Mastodon' };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  // textContent, never innerHTML: everything here comes from the network.
  if (text !== undefined) element.textContent = text;
  return element;
}

/** "Name (@handle)" or "@handle": how the tile and its alt text fallback name the author. */
export function authorLabel(item: FeedItem): string {
  const name = item.author.name?.trim();
  return name ? `${name} (@${item.author.handle})` : `@${item.author.handle}`;
}

/** The image's own alt text, or a description that at least says whose image it is. */
export function altText(item: FeedItem): string {
  const alt = item.images[0]?.alt?.trim();
  if (alt) return alt;
  return `Image posted by ${authorLabel(item)} on ${NETWORK_NAMES[item.network]}`;
}

/** One post as a tile. The DOM is built with createElement/textContent only. */
export function createTile(item: FeedItem, now: number): HTMLElement {
  const image = item.images[0]!;
  const network = NETWORK_NAMES[item.network];

  const tile = el('article', 'tile');
  tile.dataset.testid = 'tile';
  tile.dataset.id = item.id;
  tile.dataset.network = item.network;

  const link = el('a', 'tile-media');
  link.href = item.url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';

  const img = el('img', 'tile-img');
  // Eager: new tiles appear at the top, and lazy images off-screen never load (see NOTES).
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
  img.alt = altText(item);
  if (image.width) img.width = image.width;
  if (image.height) img.height = image.height;
  img.addEventListener('error', () => tile.classList.add('is-broken'), { once: true });
  img.src = image.thumb;
  link.append(img);

  if (item.images.length > 1) {
    const badge = el('span', 'badge', String(item.images.length));
    badge.setAttribute('aria-label', `${item.images.length} images`);
    badge.title = `${item.images.length} images`;
    link.append(badge);
  }
  link.append(el('span', 'visually-hidden', ` Open the post by @${item.author.handle} on ${network}`));

  const body = el('div', 'tile-body');

  const author = el('p', 'tile-author');
  const name = item.author.name?.trim();
  if (name) author.append(el('span', 'author-name', name), ' ');
  author.append(el('span', 'author-handle', `@${item.author.handle}`));
  author.title = authorLabel(item);
  body.append(author);

  if (item.text.trim() !== '') {
    const text = el('p', 'tile-text', item.text);
    text.title = item.text;
    body.append(text);
  }

  const meta = el('p', 'tile-meta');
  meta.append(el('span', `network network-${item.network}`, network), el('span', 'sep', ' · '));
  const time = el('time', 'when', formatRelative(item.createdAt, now));
  time.dateTime = item.createdAt;
  time.title = formatAbsolute(item.createdAt);
  time.dataset.relative = '';
  meta.append(time);
  body.append(meta);

  tile.append(link, body);
  return tile;
}
