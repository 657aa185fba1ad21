import { brokerProfile, type BrokerProfileName, type Network } from '@livewall/contract';
import type { Takedowns, TakedownReason } from './takedowns.js';

/**
 * What the AMQP publisher asks right before it puts a message on the wire (amqp/publisher.ts, `pump`): every message
 * passes there, whether a route sent it, the outbox forwarder resends it after a restart, or the publisher resends it
 * after a reconnect; so do a feed's items after a handover or a takeover, and a replay's.
 * - `send`: publish it;
 * - `hold`: not now (the moderation log is not read through yet): it waits, in order, until `onRelease` fires;
 * - a drop reason: never publish it; the publish resolves as dropped.
 */
export interface PublishGate {
  check(address: string, id: string, body: Buffer): 'send' | 'hold' | GateDropReason;
  /** The broker refused a message to `address` for good: true when the gate takes that as a drop (a full pending queue). */
  refused(address: string): boolean;
  /** Calls `listener` whenever held messages may go. */
  onRelease(listener: () => void): void;
  /** Whether messages to `address` are held now: its endpoint is not ready (/readyz). */
  holds(address: string): boolean;
}

export type GateDropReason = TakedownReason;

/** One feed's figures at the gate. */
export interface GateFeedCounts {
  hidden: number;
  'blocked-author': number;
  /** Items the pending queue refused (full): dropped, not retried. */
  overflow: number;
}

/**
 * The moderation gate: a feed's items (to its topic, or to its pending queue in approval mode) that a moderator hid,
 * or whose author a moderator blocked, are dropped and counted; while the moderation log is being read after a
 * (re)start, every feed's items are held, so that a takedown issued while the worker was down is known before anything
 * is (re)published. Messages to other addresses (status, …) pass untouched.
 */
export class ModerationGate implements PublishGate {
  /** The feed of each feed address (its topic and its pending queue), and whether it is the pending queue. */
  private readonly addresses = new Map<string, { feed: string; pending: boolean }>();
  private readonly counts = new Map<string, GateFeedCounts>();
  private readonly listeners: (() => void)[] = [];
  private holding: boolean;

  constructor(
    private readonly takedowns: Takedowns,
    private readonly profile: BrokerProfileName,
    feeds: readonly string[],
    /** Whether to hold until `release()` (a moderation log is read); false without one. */
    hold: boolean,
  ) {
    this.holding = hold;
    this.setFeeds(feeds);
  }

  /** The feeds the worker runs now (a reload may add some). */
  setFeeds(feeds: readonly string[]): void {
    const profile = brokerProfile(this.profile);
    for (const feed of feeds) {
      this.addresses.set(profile.amqpTarget(feed), { feed, pending: false });
      this.addresses.set(profile.moderation.pendingAmqpTarget(feed), { feed, pending: true });
    }
  }

  /** Holds every feed's items (the log is to be read again). */
  hold(): void {
    this.holding = true;
  }

  /** Lets held items go (the log is read through). */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    for (const listener of this.listeners) listener();
  }

  get held(): boolean {
    return this.holding;
  }

  holds(address: string): boolean {
    return this.holding && this.addresses.has(address);
  }

  onRelease(listener: () => void): void {
    this.listeners.push(listener);
  }

  check(address: string, id: string, body: Buffer): 'send' | 'hold' | GateDropReason {
    const target = this.addresses.get(address);
    if (!target) return 'send';
    if (this.holding) return 'hold';
    const { feed } = target;
    if (!this.takedowns.any(feed)) return 'send';
    let reason: GateDropReason | undefined = this.takedowns.isHidden(feed, id) ? 'hidden' : undefined;
    if (!reason && this.takedowns.hasBlockedAuthors(feed)) {
      const item = itemOf(body);
      if (item && this.takedowns.isHidden(feed, item.id)) reason = 'hidden';
      else if (item && this.takedowns.isBlocked(feed, item.network, item.author.handle)) reason = 'blocked-author';
    }
    if (!reason) return 'send';
    this.countsOf(feed)[reason] += 1;
    return reason;
  }

  refused(address: string): boolean {
    const target = this.addresses.get(address);
    if (!target?.pending) return false;
    this.countsOf(target.feed).overflow += 1;
    return true;
  }

  private countsOf(feed: string): GateFeedCounts {
    let counts = this.counts.get(feed);
    if (!counts) {
      counts = { hidden: 0, 'blocked-author': 0, overflow: 0 };
      this.counts.set(feed, counts);
    }
    return counts;
  }

  /** Each feed's figures, for /metrics and /status. */
  feedCounts(): Map<string, GateFeedCounts> {
    return new Map([...this.counts].map(([feed, counts]) => [feed, { ...counts }]));
  }
}

/** The item a message carries, or undefined for a body that is not one (the gate then goes by the message id alone). */
function itemOf(body: Buffer): { id: string; network: Network; author: { handle: string } } | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as { id?: unknown; network?: unknown; author?: { handle?: unknown } };
    if (typeof value.id !== 'string' || typeof value.network !== 'string' || typeof value.author?.handle !== 'string') return undefined;
    return value as { id: string; network: Network; author: { handle: string } };
  } catch {
    return undefined;
  }
}
