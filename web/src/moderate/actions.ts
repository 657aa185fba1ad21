import {
  CONTRACT_VERSION,
  LIMITS,
  MODERATION_KIND,
  MODERATION_LIMITS,
  NETWORKS,
  validateFeedItem,
  validateModerationAction,
  type FeedItem,
  type ImageAllowList,
  type ModeratedAuthor,
  type ModerationAction,
  type ModerationActionName,
} from '@livewall/contract';

/** What a moderator does to one post or author; `by`, `at` and `actionId` are filled in by moderationAction. */
export interface ActionInput {
  action: ModerationActionName;
  feed: string;
  /** The moderator's login. */
  by: string;
  itemId?: string;
  author?: ModeratedAuthor;
  /** In the moderator's words; blank means none. Cut to the contract's limit. */
  reason?: string;
}

export interface ActionClock {
  now(): Date;
  /** A unique id per action: crypto.randomUUID in the page. */
  id(): string;
}

const pageClock: ActionClock = { now: () => new Date(), id: () => crypto.randomUUID() };

/** Runs of white space (line breaks among them) as one space: a reason is one line of plain text. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * A v1 ModerationAction, checked by the contract's own validator before it leaves the page: throws with the
 * validator's reason when the input cannot make a valid one (a handle with spaces, a malformed item id…).
 */
export function moderationAction(input: ActionInput, clock: ActionClock = pageClock): ModerationAction {
  const reason = oneLine(input.reason ?? '');
  const action: ModerationAction = {
    v: CONTRACT_VERSION,
    kind: MODERATION_KIND,
    actionId: clock.id(),
    action: input.action,
    feed: input.feed,
    ...(input.itemId !== undefined ? { itemId: input.itemId } : {}),
    ...(input.author !== undefined ? { author: { network: input.author.network, handle: input.author.handle.replace(/^@/, '') } } : {}),
    by: input.by,
    at: clock.now().toISOString(),
    ...(reason !== '' ? { reason: [...reason].slice(0, MODERATION_LIMITS.reasonChars).join('') } : {}),
  };
  const checked = validateModerationAction(action);
  if (!checked.ok) throw new Error(`cannot ${input.action}: ${checked.reason}`);
  return checked.action;
}

/**
 * The decision on a pending post, naming its author for the record when the contract accepts the handle as one
 * (a moderation author's handle has no spaces), and the post alone otherwise.
 */
export function decision(action: 'approve' | 'reject', item: FeedItem, by: string, reason?: string, clock: ActionClock = pageClock): ModerationAction {
  const base: ActionInput = { action, feed: item.feed, itemId: item.id, by, ...(reason !== undefined ? { reason } : {}) };
  try {
    return moderationAction({ ...base, author: { network: item.network, handle: item.author.handle } }, clock);
  } catch {
    return moderationAction(base, clock);
  }
}

/** The approved post as it goes to the feed's topic: published now, without the image check's scores, and still a valid item. */
export function approvedItem(item: FeedItem, allowList: ImageAllowList, now: Date = new Date()): FeedItem {
  const { imageCheck: _scores, ...published } = item;
  const checked = validateFeedItem({ ...published, publishedAt: now.toISOString() }, allowList);
  if (!checked.ok) throw new Error(`the approved post is not valid: ${checked.reason}`);
  return checked.item;
}

const ITEM_ID = /^[^:\s]+:\S+$/;

/**
 * The id an invalid pending message gives for itself, if it is one a moderation action may name (`<network>:<id>`
 * of a known network): its reject is then recorded under that id. Undefined for anything else.
 */
export function claimedItemId(body: Uint8Array | string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as Record<string, unknown>).id;
  if (typeof id !== 'string' || id.length > LIMITS.idChars || !ITEM_ID.test(id)) return undefined;
  return (NETWORKS as readonly string[]).includes(id.slice(0, id.indexOf(':'))) ? id : undefined;
}
