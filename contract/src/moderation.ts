import { CONTRACT_VERSION, FEED_NAME, LIMITS, NETWORKS, type FeedItem, type Network } from './feed-item.js';
import type { ImageAllowList } from './image-hosts.js';
import { fail, Invalid, isRecord, onlyKeys, parseJsonBody, plainText, timestamp, validateFeedItem } from './validate.js';

/**
 * The moderation message, version 1: one moderator's action on one feed.
 *
 * A moderator's client (`livewall-worker moderate`, the /moderate page) sends each action twice, as UTF-8 JSON:
 * - to the feed's own topic, where pages act on it live (hide, block) and where the broker's backfill keeps it
 *   *after* the item it takes down, so a page that opens later learns of the takedown before it shows anything;
 * - to the moderation log (MODERATION_LOG), a durable, non-destructive log on the broker that every worker reads from
 *   its start, so a worker learns every action, also those taken while it was stopped, and `tap` can read it.
 *
 * It is told from a feed item by its top-level `kind`, which an item never has (an item with a `kind` field is
 * invalid), and is validated as strictly as an item: a takedown cannot hide inside an item's fields.
 */
export const MODERATION_KIND = 'moderation';

/**
 * What a moderator did:
 * - `hide`: takes one post (`itemId`) off the wall; `unhide` lets it be published again (cards are not brought back).
 * - `block`: takes an author (`author`) off the wall, their earlier cards too, and keeps them off; `unblock` ends it.
 * - `approve` / `reject`: a decision on a post waiting in a feed's approval queue (`itemId`, `author` for the record).
 */
export const MODERATION_ACTIONS = ['hide', 'unhide', 'block', 'unblock', 'approve', 'reject'] as const;
export type ModerationActionName = (typeof MODERATION_ACTIONS)[number];

/** The actions that take something off the wall: a page acts on these. */
export const TAKEDOWN_ACTIONS: readonly ModerationActionName[] = ['hide', 'block'];

export const MODERATION_LIMITS = {
  /** UTF-8 bytes of the whole JSON object. */
  messageBytes: 2048,
  /** Characters of `reason`. */
  reasonChars: 200,
  /** Characters of `by` (a broker login). */
  byChars: 64,
  /** Characters of `actionId`. */
  actionIdChars: 64,
} as const;

/** The broker address of the moderation log (see profiles.ts for each broker's destination names). */
export const MODERATION_LOG = 'moderation.log';

/** An author as moderation names one: the network and the handle a feed item carries (`author.handle`). */
export interface ModeratedAuthor {
  network: Network;
  handle: string;
}

export interface ModerationAction {
  v: 1;
  kind: 'moderation';
  /** Unique per action (a UUID): the AMQP/STOMP message id, and the key that makes a repeated action harmless. */
  actionId: string;
  action: ModerationActionName;
  feed: string;
  /** The post acted on (`<network>:<native id>`): required for hide, unhide, approve and reject. */
  itemId?: string;
  /** The author acted on: required for block and unblock; approve and reject may name the post's author. */
  author?: ModeratedAuthor;
  /** The moderator's login. */
  by: string;
  /** When, ISO-8601 UTC. */
  at: string;
  /** Why, in the moderator's words (plain text). */
  reason?: string;
}

export type ModerationValidation = { ok: true; action: ModerationAction } | { ok: false; reason: string };

const ACTION_KEYS = new Set(['v', 'kind', 'actionId', 'action', 'feed', 'itemId', 'author', 'by', 'at', 'reason']);
const AUTHOR_KEYS = new Set(['network', 'handle']);
const ACTION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const ITEM_ID = /^[^:\s]+:\S+$/;

/** An author's handle as moderation compares it: without a leading `@`, lower case (handles are case-insensitive). */
export function authorKey(network: Network, handle: string): string {
  return `${network}:${handle.replace(/^@/, '').toLowerCase()}`;
}

/** The author key of a feed item, to compare with a block's (authorKey). */
export function itemAuthorKey(item: Pick<FeedItem, 'network' | 'author'>): string {
  return authorKey(item.network, item.author.handle);
}

function checkAction(value: unknown): ModerationAction {
  if (!isRecord(value)) fail('a moderation message must be a JSON object');
  onlyKeys(value, ACTION_KEYS, 'moderation');
  if (value.v !== CONTRACT_VERSION) fail(`v must be ${CONTRACT_VERSION}`);
  if (value.kind !== MODERATION_KIND) fail(`kind must be "${MODERATION_KIND}"`);
  if (typeof value.actionId !== 'string' || !ACTION_ID.test(value.actionId)) fail('actionId must be 1 to 64 letters, digits, or . _ : -');
  if (typeof value.action !== 'string' || !(MODERATION_ACTIONS as readonly string[]).includes(value.action)) {
    fail(`action must be one of ${MODERATION_ACTIONS.join(', ')}`);
  }
  const action = value.action as ModerationActionName;
  if (typeof value.feed !== 'string' || !FEED_NAME.test(value.feed)) fail('feed must match [a-z0-9-]{1,32}');
  if (value.itemId !== undefined) {
    if (typeof value.itemId !== 'string' || value.itemId.length > LIMITS.idChars || !ITEM_ID.test(value.itemId)) {
      fail(`itemId must be "<network>:<native id>" without spaces, at most ${LIMITS.idChars} characters`);
    }
    if (!(NETWORKS as readonly string[]).includes(value.itemId.slice(0, value.itemId.indexOf(':')))) fail(`itemId must start with one of ${NETWORKS.join(', ')}`);
  }
  if (value.author !== undefined) {
    const author = value.author;
    if (!isRecord(author)) fail('author must be an object');
    onlyKeys(author, AUTHOR_KEYS, 'author');
    if (typeof author.network !== 'string' || !(NETWORKS as readonly string[]).includes(author.network)) fail(`author.network must be one of ${NETWORKS.join(', ')}`);
    plainText(author.handle, 'author.handle', LIMITS.authorChars, { required: true });
    if (/\s/.test(author.handle as string)) fail('author.handle must not contain spaces');
  }
  if ((action === 'block' || action === 'unblock') && value.author === undefined) fail(`a ${action} names an author`);
  if ((action === 'block' || action === 'unblock') && value.itemId !== undefined) fail(`a ${action} names an author, not an itemId`);
  if (action !== 'block' && action !== 'unblock' && value.itemId === undefined) fail(`a ${action} names an itemId`);
  plainText(value.by, 'by', MODERATION_LIMITS.byChars, { required: true });
  timestamp(value.at, 'at');
  if (value.reason !== undefined) plainText(value.reason, 'reason', MODERATION_LIMITS.reasonChars, { required: false });
  return value as unknown as ModerationAction;
}

/** Checks that `value` is a v1 moderation message; the reason names the first field that is wrong. */
export function validateModerationAction(value: unknown): ModerationValidation {
  try {
    return { ok: true, action: checkAction(value) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Parses a message body (UTF-8 JSON) and validates it as a moderation message. */
export function parseModerationAction(body: string | Uint8Array): ModerationValidation {
  const json = parseJsonBody(body, MODERATION_LIMITS.messageBytes);
  return json.ok ? validateModerationAction(json.value) : json;
}

/** What arrives on a feed's topic: an item or a moderator's action, each validated, or why it is neither. */
export type FeedMessage = { ok: true; item: FeedItem; action?: undefined } | { ok: true; action: ModerationAction; item?: undefined } | { ok: false; reason: string };

/**
 * Parses a frame from a feed's topic, what the page does with each: a JSON object with a top-level `kind` is a
 * moderation message and nothing else; any other is a feed item. Each is checked by its own strict validator.
 */
export function parseFeedMessage(body: string | Uint8Array, imageHosts: ImageAllowList): FeedMessage {
  const json = parseJsonBody(body, LIMITS.itemBytes);
  if (!json.ok) return json;
  if (isRecord(json.value) && Object.hasOwn(json.value, 'kind')) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body).byteLength : body.byteLength;
    if (bytes > MODERATION_LIMITS.messageBytes) return { ok: false, reason: `moderation message is ${bytes} bytes, more than ${MODERATION_LIMITS.messageBytes}` };
    const checked = validateModerationAction(json.value);
    return checked.ok ? { ok: true, action: checked.action } : checked;
  }
  const checked = validateFeedItem(json.value, imageHosts);
  return checked.ok ? { ok: true, item: checked.item } : checked;
}
