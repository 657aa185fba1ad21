import { FEED_NAME } from '@livewall/contract';

/**
 * What workers say to each other about a feed, on the feed's lease channel (`owner.<feed>`; where that is on each
 * kind of broker is in its profile, contract/src/profiles.ts), which every worker running the feed both writes and
 * reads. Each message is JSON in an AMQP data section. (The channel also sends itself a `hello` there, to know when it
 * has heard what the broker replays: see channel.ts.)
 *
 * - `claim`   a worker wants the feed, at a higher epoch than any it has heard (`takeover`: even from a live owner);
 * - `renew`   the owner still has it, for `leaseMs` more; says how far the feed's sources got (`cursors`);
 * - `yield`   the owner drained the feed and hands it to the claimant `to`, with where it stopped;
 * - `release` the owner stopped the feed and leaves it to whoever claims it next, with where it stopped.
 */
export type LeaseKind = 'claim' | 'renew' | 'yield' | 'release';

/** One worker process: who owns a feed and where it runs. */
export interface OwnerInfo {
  /** `host:pid:random`, new at every start: a restarted worker is a new owner. */
  id: string;
  host: string;
  pid: number;
  region?: string;
}

export interface LeaseMessage {
  v: 1;
  kind: LeaseKind;
  feed: string;
  /** Grows with every change of owner. Between two claims, the higher (epoch, owner id) wins. */
  epoch: number;
  /** The sender. */
  owner: OwnerInfo;
  /** How long the sender's hold lasts after the message arrives, unless it renews it. */
  leaseMs: number;
  /** claim: made with --takeover, so a live owner yields to it. */
  takeover?: boolean;
  /** yield: the claimant the feed goes to. */
  to?: OwnerInfo;
  /**
   * renew, yield, release: where the feed's sources had got to, by portable cursor key (see cursors.ts): everything
   * before it was dealt with — published, filtered out or dead-lettered; absent for sources without a place (X,
   * Mastodon). Under `published` (cursors.ts, PUBLISHED), the ids the feed published last, newest last.
   */
  cursors?: Record<string, unknown>;
  /** When the sender sent it, by its clock: for people reading logs, never for deciding. */
  at: string;
}

const KINDS: readonly LeaseKind[] = ['claim', 'renew', 'yield', 'release'];
const MAX_BYTES = 16 * 1024;

/** A lease's rank: the higher wins. */
export interface Rank {
  epoch: number;
  id: string;
}

/** Orders ranks by epoch, then owner id: every worker picks the same winner from the same messages. */
export function compareRank(a: Rank, b: Rank): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** `host:pid` and the region: how logs and /status name a worker. */
export function describeOwner(owner: OwnerInfo): string {
  return `${owner.host}:${owner.pid}${owner.region === undefined ? '' : ` (${owner.region})`}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ownerOf(value: unknown): OwnerInfo | undefined {
  if (!isRecord(value)) return undefined;
  const { id, host, pid, region } = value;
  if (typeof id !== 'string' || id === '' || typeof host !== 'string' || typeof pid !== 'number' || !Number.isInteger(pid)) return undefined;
  if (region !== undefined && typeof region !== 'string') return undefined;
  return { id, host, pid, ...(region === undefined ? {} : { region }) };
}

/**
 * The message in a body received from the lease address, or undefined for anything else: another version's
 * message, a broken one. Every worker checks what it hears, as the page does with status messages.
 */
export function parseLeaseMessage(body: string | Uint8Array): LeaseMessage | undefined {
  let value: unknown;
  try {
    if (body.length > MAX_BYTES) return undefined;
    value = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.v !== 1) return undefined;
  const { kind, feed, epoch, leaseMs, takeover, cursors, at } = value;
  const owner = ownerOf(value.owner);
  if (!KINDS.includes(kind as LeaseKind) || typeof feed !== 'string' || !FEED_NAME.test(feed) || !owner) return undefined;
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) return undefined;
  if (typeof leaseMs !== 'number' || !(leaseMs > 0) || typeof at !== 'string') return undefined;
  const message: LeaseMessage = { v: 1, kind: kind as LeaseKind, feed, epoch, owner, leaseMs, at };
  if (takeover === true) message.takeover = true;
  if (isRecord(cursors)) message.cursors = cursors;
  if (value.to !== undefined) {
    const to = ownerOf(value.to);
    if (!to) return undefined;
    message.to = to;
  }
  if (message.kind === 'yield' && !message.to) return undefined;
  return message;
}
