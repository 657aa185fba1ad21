import { CONTRACT_VERSION, FEED_NAME, IMAGE_CLASSES, LIMITS, NETWORKS, RISKY_IMAGE_CLASSES, type FeedItem, type Image, type Network } from './feed-item.js';
import type { ImageAllowList } from './image-hosts.js';
import { isRealDateTime } from './iso-time.js';
import { plainHttpsHost } from './plain-url.js';

export type Validation = { ok: true; item: FeedItem } | { ok: false; reason: string };
/** A validation that also hands back the item's JSON, which the size check measured: a publisher need not encode it again. */
export type JsonValidation = { ok: true; item: FeedItem; json: string } | { ok: false; reason: string };

const ITEM_KEYS = new Set(['v', 'id', 'feed', 'network', 'url', 'author', 'text', 'images', 'createdAt', 'receivedAt', 'publishedAt', 'imageCheck']);
const IMAGE_CHECK_KEYS = new Set(['scores', 'flagged']);
const IMAGE_CLASS_KEYS = new Set<string>(IMAGE_CLASSES);
const AUTHOR_KEYS = new Set(['handle', 'name', 'url']);
const IMAGE_KEYS = new Set(['url', 'thumb', 'alt', 'width', 'height']);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** A tag-like sequence: the contract's text is plain text, never markup. */
const MARKUP = /<\/?[a-z!][^>]*>/i;

const encoder = new TextEncoder();

/** A check that failed; its message is the reason (shared with ./moderation.ts). */
export class Invalid extends Error {}

export function fail(reason: string): never {
  throw new Invalid(reason);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function onlyKeys(value: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) fail(`${where} has unknown field ${JSON.stringify(key)}`);
  }
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Whether `text` has a control character other than tab and newline, or a lone surrogate (text that was not valid
 * UTF-16). One pass over the UTF-16 units: cheaper than the equivalent regex with its lookbehind.
 */
function hasControlOrLoneSurrogate(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const c = text.charCodeAt(index);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a) return true;
    } else if (c === 0x7f) {
      return true;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is a pair; any other surrogate stands alone.
      const next = text.charCodeAt(index + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      index++;
    }
  }
  return false;
}

export function plainText(value: unknown, where: string, maxChars: number, { required }: { required: boolean }): string {
  if (typeof value !== 'string') fail(`${where} must be a string`);
  if (required && value.trim() === '') fail(`${where} must not be empty`);
  // A string has at least as many UTF-16 units as code points: count only when the units are over the limit.
  if (value.length > maxChars && codePoints(value) > maxChars) fail(`${where} is longer than ${maxChars} characters`);
  if (hasControlOrLoneSurrogate(value)) fail(`${where} contains control characters or invalid UTF-16`);
  if (value.includes('<') && MARKUP.test(value)) fail(`${where} contains markup`);
  return value;
}

/**
 * Where a post's links may point, by network. An X or Bluesky link goes to that network's own site; a Mastodon post
 * lives on its author's instance, whichever of the fediverse's that is, so there the rule is that the post's link
 * and its author's share a host (`undefined` here). A message that claims a network and links elsewhere is refused.
 */
const LINK_HOSTS: Readonly<Record<Network, readonly string[] | undefined>> = {
  x: ['x.com', 'twitter.com'],
  bluesky: ['bsky.app'],
  mastodon: undefined,
};

/** Checks an https link (no credentials, the default port, a host the network's links may go to); returns its host. */
function link(value: unknown, where: string, network: Network): string {
  if (typeof value !== 'string') fail(`${where} must be a string`);
  if (value.length > LIMITS.urlChars) fail(`${where} is longer than ${LIMITS.urlChars} characters`);
  let host = plainHttpsHost(value);
  if (host === undefined) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      fail(`${where} is not a URL`);
    }
    if (parsed.protocol !== 'https:') fail(`${where} is not https`);
    if (parsed.username !== '' || parsed.password !== '') fail(`${where} must not carry credentials`);
    if (parsed.port !== '') fail(`${where} must use the default https port`);
    host = parsed.hostname;
  }
  const allowed = LINK_HOSTS[network];
  if (allowed && !allowed.includes(host)) fail(`${where} must point to ${allowed.join(' or ')} for ${network} posts (got ${host})`);
  return host;
}

export function timestamp(value: unknown, where: string): string {
  if (typeof value !== 'string' || !ISO_UTC.test(value) || !isRealDateTime(value)) {
    fail(`${where} must be an ISO-8601 UTC timestamp such as 2026-01-31T12:00:00.000Z`);
  }
  return value;
}

function dimension(value: unknown, where: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS.dimension) {
    fail(`${where} must be a whole number of pixels from 1 to ${LIMITS.dimension}`);
  }
}

/**
 * Why `url` cannot be an image's `url` or `thumb` (too long, not https, off the allow-list), or undefined when it
 * can: the validator's own check, for a mapper choosing between two URLs before it builds an item.
 */
export function imageUrlRefusal(url: string, imageHosts: ImageAllowList): string | undefined {
  if (url.length > LIMITS.urlChars) return `is longer than ${LIMITS.urlChars} characters`;
  return imageHosts.refusal(url);
}

function image(value: unknown, where: string, imageHosts: ImageAllowList): Image {
  if (!isRecord(value)) fail(`${where} must be an object`);
  onlyKeys(value, IMAGE_KEYS, where);
  for (const key of ['url', 'thumb'] as const) {
    const url = value[key];
    if (typeof url !== 'string') fail(`${where}.${key} must be a string`);
    const refusal = imageUrlRefusal(url, imageHosts);
    if (refusal) fail(`${where}.${key} ${refusal}`);
  }
  if (value.alt !== undefined) plainText(value.alt, `${where}.alt`, LIMITS.altChars, { required: false });
  dimension(value.width, `${where}.width`);
  dimension(value.height, `${where}.height`);
  return value as unknown as Image;
}

/** The image check's scores: one probability per class for each picture, and the class it flagged, if any. */
function imageCheck(value: unknown, pictures: number): void {
  if (!isRecord(value)) fail('imageCheck must be an object');
  onlyKeys(value, IMAGE_CHECK_KEYS, 'imageCheck');
  if (!Array.isArray(value.scores) || value.scores.length !== pictures) fail(`imageCheck.scores must be a list of ${pictures} (one for each image)`);
  value.scores.forEach((scores: unknown, index) => {
    const where = `imageCheck.scores[${index}]`;
    if (!isRecord(scores)) fail(`${where} must be an object`);
    onlyKeys(scores, IMAGE_CLASS_KEYS, where);
    for (const name of IMAGE_CLASSES) {
      const probability = scores[name];
      if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) fail(`${where}.${name} must be a number from 0 to 1`);
    }
  });
  if (value.flagged !== undefined && !(RISKY_IMAGE_CLASSES as readonly unknown[]).includes(value.flagged)) fail(`imageCheck.flagged must be one of ${RISKY_IMAGE_CLASSES.join(', ')}`);
}

function check(value: unknown, imageHosts: ImageAllowList): { item: FeedItem; json: string | undefined } {
  if (!isRecord(value)) fail('a feed item must be a JSON object');
  onlyKeys(value, ITEM_KEYS, 'item');
  if (value.v !== CONTRACT_VERSION) fail(`v must be ${CONTRACT_VERSION}`);

  if (typeof value.network !== 'string' || !(NETWORKS as readonly string[]).includes(value.network)) {
    fail(`network must be one of ${NETWORKS.join(', ')}`);
  }
  const network = value.network as Network;
  if (typeof value.id !== 'string' || value.id.length > LIMITS.idChars) fail(`id must be a string of at most ${LIMITS.idChars} characters`);
  if (!value.id.startsWith(`${network}:`) || !/^[^:\s]+:\S+$/.test(value.id)) {
    fail(`id must be "${network}:<native id>" without spaces`);
  }
  if (typeof value.feed !== 'string' || !FEED_NAME.test(value.feed)) fail('feed must match [a-z0-9-]{1,32}');
  const postHost = link(value.url, 'url', network);

  const author = value.author;
  if (!isRecord(author)) fail('author must be an object');
  onlyKeys(author, AUTHOR_KEYS, 'author');
  plainText(author.handle, 'author.handle', LIMITS.authorChars, { required: true });
  if (author.name !== undefined) plainText(author.name, 'author.name', LIMITS.authorChars, { required: false });
  if (author.url !== undefined) {
    const authorHost = link(author.url, 'author.url', network);
    if (LINK_HOSTS[network] === undefined && authorHost !== postHost) fail(`author.url must be on the post's host (${postHost}), not ${authorHost}`);
  }

  plainText(value.text, 'text', LIMITS.textChars, { required: false });

  const images = value.images;
  if (!Array.isArray(images) || images.length < 1 || images.length > LIMITS.images) {
    fail(`images must be a list of 1 to ${LIMITS.images} images`);
  }
  images.forEach((entry, index) => image(entry, `images[${index}]`, imageHosts));

  if (value.imageCheck !== undefined) imageCheck(value.imageCheck, images.length);

  timestamp(value.createdAt, 'createdAt');
  timestamp(value.receivedAt, 'receivedAt');
  timestamp(value.publishedAt, 'publishedAt');

  // A UTF-16 unit is at most 3 bytes of UTF-8: encode only when the JSON could be over the limit.
  const json: string | undefined = JSON.stringify(value);
  if (json !== undefined && json.length * 3 > LIMITS.itemBytes) {
    const bytes = encoder.encode(json).byteLength;
    if (bytes > LIMITS.itemBytes) fail(`item is ${bytes} bytes of JSON, more than ${LIMITS.itemBytes}`);
  }
  return { item: value as unknown as FeedItem, json };
}

/** Checks that `value` is a v1 feed item; the reason names the first field that is wrong. */
export function validateFeedItem(value: unknown, imageHosts: ImageAllowList): Validation {
  try {
    return { ok: true, item: check(value, imageHosts).item };
  } catch (error) {
    return invalid(error);
  }
}

/** validateFeedItem, with the item's JSON (exactly `JSON.stringify(value)`) when it is valid. */
export function validateFeedItemJson(value: unknown, imageHosts: ImageAllowList): JsonValidation {
  try {
    const { item, json } = check(value, imageHosts);
    // Only an object whose toJSON gives undefined has no JSON: nothing a publisher could send.
    return json === undefined ? { ok: false, reason: 'item has no JSON form' } : { ok: true, item, json };
  } catch (error) {
    return invalid(error);
  }
}

/** A failed check as a validation; anything else than a failed check is thrown on. */
function invalid(error: unknown): { ok: false; reason: string } {
  if (error instanceof Invalid) return { ok: false, reason: error.message };
  throw error;
}

/** Parses a message body (UTF-8 JSON) and validates it: what the page does with every frame it receives. */
export function parseFeedItem(body: string | Uint8Array, imageHosts: ImageAllowList): Validation {
  const json = parseJsonBody(body, LIMITS.itemBytes);
  return json.ok ? validateFeedItem(json.value, imageHosts) : json;
}

/** A message body (UTF-8 JSON of at most `maxBytes`) parsed, or why it could not be. */
export function parseJsonBody(body: string | Uint8Array, maxBytes: number): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    if (body.byteLength > maxBytes) return { ok: false, reason: `body is ${body.byteLength} bytes, more than ${maxBytes}` };
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return { ok: false, reason: 'body is not valid UTF-8' };
    }
  }
  if (text.length > maxBytes) return { ok: false, reason: `body is longer than ${maxBytes} bytes` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
}
