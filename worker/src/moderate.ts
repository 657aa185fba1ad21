import { randomUUID } from 'node:crypto';
import { brokerProfile, NETWORKS, validateModerationAction, type BrokerProfileName, type ModerationAction, type ModerationActionName, type Network } from '@livewall/contract';
import { StompConnectError, StompConnection, StompReceiptError } from './components/stomp/connection.js';
import { describeTarget, type StompTarget } from './components/stomp/options.js';
import { systemClock, type Clock } from './engine/types.js';
import { readLogOnce } from './moderation/log-follower.js';
import { Takedowns } from './moderation/takedowns.js';

/** The `moderate` actions that take down or restore: each sent to the log, then to the feed's topic. */
export const MODERATE_ACTIONS = ['hide', 'unhide', 'block', 'unblock'] as const;
export type ModerateActionName = (typeof MODERATE_ACTIONS)[number];

/** Where and as whom `moderate` talks to the broker. */
export interface ModerateTarget {
  profile: BrokerProfileName;
  host: string;
  port: number;
  login: string;
  passcode: string;
  clock?: Clock;
}

/** A command line that is not one: the CLI prints it with the usage and exits 2. */
export class ModerateUsageError extends Error {}

/** What went wrong talking to the broker: the CLI prints it and exits 1. */
export class ModerateError extends Error {}

/**
 * The action `moderate ACTION FEED TARGET` means: `hide`/`unhide` name an item id (`x:123`), `block`/`unblock` an
 * author as `NETWORK:HANDLE` (`bluesky:troll.bsky.social`, `mastodon:bob@example.social`). Checked by the contract's
 * validator, as pages and workers will check it: a ModerateUsageError says what is wrong.
 */
export function moderationAction(name: ModerateActionName, feed: string, target: string, by: string, reason?: string, now: Date = new Date()): ModerationAction {
  const action: Record<string, unknown> = { v: 1, kind: 'moderation', actionId: randomUUID(), action: name, feed };
  if (name === 'block' || name === 'unblock') {
    const colon = target.indexOf(':');
    const network = target.slice(0, colon);
    if (colon < 1 || !(NETWORKS as readonly string[]).includes(network)) throw new ModerateUsageError(`${name}: name the author as NETWORK:HANDLE, NETWORK one of ${NETWORKS.join(', ')} (e.g. x:someone), not ${JSON.stringify(target)}`);
    action.author = { network: network as Network, handle: target.slice(colon + 1).replace(/^@/, '') };
  } else {
    action.itemId = target;
  }
  Object.assign(action, { by, at: now.toISOString(), ...(reason === undefined ? {} : { reason }) });
  const checked = validateModerationAction(action);
  if (!checked.ok) throw new ModerateUsageError(`${name}: ${checked.reason}`);
  return checked.action;
}

function stompTarget(target: ModerateTarget): StompTarget {
  const vhost = brokerProfile(target.profile).stompVirtualHost;
  return { host: target.host, port: target.port, login: target.login, passcode: target.passcode, heartbeatMs: 0, ...(vhost === undefined ? {} : { vhost }) };
}

/** Why the broker could not be used, in a sentence (never the passcode). */
function failure(error: unknown, target: StompTarget): ModerateError {
  if (error instanceof StompConnectError) return new ModerateError(error.message);
  if (error instanceof StompReceiptError) return new ModerateError(`${describeTarget(target)}: ${error.refusedByBroker ? 'the broker refused' : 'the connection ended'}: ${error.message}`);
  return new ModerateError(`${describeTarget(target)}: ${(error as Error).message}`);
}

/**
 * Sends one action as a moderator's client does: first to the moderation log (persistent), where every worker reads
 * it, then to the feed's topic, where open pages act on it at once; each waits for the broker's RECEIPT. Rejects with a
 * ModerateError that says which of the two the broker has.
 */
export async function sendModeration(action: ModerationAction, target: ModerateTarget): Promise<{ log: string; topic: string }> {
  const profile = brokerProfile(target.profile);
  const stomp = stompTarget(target);
  const clock = target.clock ?? systemClock;
  let connection: StompConnection;
  try {
    connection = await StompConnection.connect(stomp, clock);
  } catch (error) {
    throw failure(error, stomp);
  }
  const body = JSON.stringify(action);
  const log = profile.moderation.logDestination;
  const topic = profile.moderation.feedSendDestination(action.feed);
  try {
    try {
      await connection.send({ destination: log, 'content-type': 'application/json', persistent: 'true' }, body, true);
    } catch (error) {
      throw new ModerateError(`not recorded: ${failure(error, stomp).message}`);
    }
    try {
      await connection.send({ destination: topic, 'content-type': 'application/json' }, body, true);
    } catch (error) {
      throw new ModerateError(`recorded in the moderation log (workers will apply it) but not sent to ${topic}, so open pages do not know yet: ${failure(error, stomp).message}; run the command again`);
    }
  } finally {
    await connection.close(clock, 2000);
  }
  return { log, topic };
}

/** A feed's takedowns and its log entries, as `moderate list` shows them. */
export interface FeedModerationList {
  feed: string;
  hidden: string[];
  blockedAuthors: string[];
  /** The log's entries for the feed, in order. */
  entries: ModerationAction[];
  /** Log entries (any feed's) that were not valid moderation messages. */
  invalid: number;
}

/** Reads the whole moderation log (to the quiet that ends it, see readLogOnce) and gathers one feed's part. */
export async function listModeration(feed: string, target: ModerateTarget, quietMs?: number): Promise<FeedModerationList> {
  const profile = brokerProfile(target.profile);
  const stomp = stompTarget(target);
  let read: { actions: ModerationAction[]; invalid: number };
  try {
    read = await readLogOnce({ target: stomp, destination: profile.moderation.logDestination, headers: profile.moderation.logSubscribeHeaders, clock: target.clock ?? systemClock, ...(quietMs === undefined ? {} : { quietMs }) });
  } catch (error) {
    throw failure(error, stomp);
  }
  const entries = read.actions.filter((action) => action.feed === feed);
  const takedowns = new Takedowns();
  for (const action of entries) takedowns.apply(action);
  return { feed, ...takedowns.of(feed), entries, invalid: read.invalid };
}

/** What an action did to what: `hide x:1`, `block bluesky:troll.bsky.social`. */
export function actionLine(action: ModerationAction): string {
  const what = action.author ? `${action.author.network}:${action.author.handle}` : (action.itemId ?? '');
  return `${action.at}  ${action.by}  ${action.action} ${what}${action.reason ? `  — ${action.reason}` : ''}`;
}

/** `moderate list`'s text: the feed's takedowns now, then its log entries (who, what, when, why). */
export function listText(list: FeedModerationList): string {
  const lines = [`feed ${list.feed}: ${list.hidden.length} hidden item${list.hidden.length === 1 ? '' : 's'}, ${list.blockedAuthors.length} blocked author${list.blockedAuthors.length === 1 ? '' : 's'}`];
  lines.push('hidden:', ...(list.hidden.length ? list.hidden.map((id) => `  ${id}`) : ['  (none)']));
  lines.push('blocked authors:', ...(list.blockedAuthors.length ? list.blockedAuthors.map((author) => `  ${author}`) : ['  (none)']));
  lines.push(`moderation log: ${list.entries.length} entr${list.entries.length === 1 ? 'y' : 'ies'} for ${list.feed}${list.invalid ? ` (${list.invalid} invalid entries skipped)` : ''}`);
  lines.push(...list.entries.map((action) => `  ${actionLine(action)}`));
  return `${lines.join('\n')}\n`;
}

export function isModerateAction(name: string): name is ModerateActionName {
  return (MODERATE_ACTIONS as readonly string[]).includes(name);
}

export type { ModerationActionName };
