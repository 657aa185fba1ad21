import { compareRank, type LeaseMessage, type OwnerInfo, type Rank } from './messages.js';

/**
 * One feed's lease as one worker sees it: a state machine fed with the messages heard on the feed's lease address
 * and with the time, which says when to claim, to start the feed, to renew, and to yield. It keeps no timers and does
 * no I/O: the coordinator ticks it and carries out its effects, so tests drive it with a fake clock.
 *
 * - listening  the worker (re)subscribed and waits until it has heard what the broker replays of the address;
 * - standby    another worker holds a live lease: the feed does not run here;
 * - claiming   this worker claimed the feed and waits: for the settle time (did anyone outrank the claim?), or, for
 *              a takeover, for the owner's yield (or for its lease to run out, if it is gone);
 * - owner      the feed runs here; renewed every `renewMs`;
 * - yielding   a higher claim came: the feed drains here, then this worker sends `yield` and stands by;
 * - unmanaged  the broker refused the lease address (its configuration predates ownership): the feed runs here
 *              without coordination, as before, and the log says so;
 * - stopped    the worker is shutting down.
 */
export type LeaseRole = 'listening' | 'standby' | 'claiming' | 'owner' | 'yielding' | 'unmanaged' | 'stopped';

export interface LeaseTimings {
  /** How long a lease lasts without a renewal: how soon a dead owner's feed is taken over. */
  leaseMs: number;
  /** How often the owner renews. */
  renewMs: number;
  /**
   * How long a claim on a free feed waits for a higher one before the feed starts: long enough to hear a rival
   * claim, and a live owner's renewal where the broker does not replay the last messages.
   */
  settleMs: number;
}

/** The defaults: renew every second, a lease of five (four renewals may go missing), settle for one and a half. */
export const DEFAULT_TIMINGS: LeaseTimings = { leaseMs: 5000, renewMs: 1000, settleMs: 1500 };

/** The settle time for a renewal interval: one and a half renewals. */
export function settleFor(renewMs: number): number {
  return Math.round(renewMs * 1.5);
}

/** What the machine sends; the coordinator adds the feed, the sender and the time. */
export type LeaseOutgoing = Pick<LeaseMessage, 'kind' | 'epoch'> & Partial<Pick<LeaseMessage, 'takeover' | 'to' | 'cursors'>>;

/** A change of role, for the log and the status. */
export interface RoleChange {
  feed: string;
  role: LeaseRole;
  previous: LeaseRole;
  /** Who holds the feed now, as far as this worker knows: itself when owner, the other worker when standby. */
  owner?: OwnerInfo;
  epoch: number;
  /** Yielding: the claimant the feed goes to. */
  to?: OwnerInfo;
  /** Why, in a few words: `takeover`, `expired`, `released`, `yielded`, `outranked`, `free`, … */
  reason: string;
}

/** Where the previous owner said the feed's sources had got to, and who said it. */
export interface Handover {
  cursors: Record<string, unknown>;
  from: OwnerInfo;
}

export interface LeaseEffects {
  send(message: LeaseOutgoing): void;
  /** Start the feed here, from where the previous owner said its sources had got to, when it said. */
  activate(handover: Handover | undefined): void;
  /** Stop the feed here, finishing what it took; then call `yielded`. */
  deactivate(): void;
  /** How far the feed's sources got here, for a renewal: everything before it was dealt with. */
  cursors(): Record<string, unknown> | undefined;
  changed(change: RoleChange): void;
}

/** Another worker's hold on the feed, until when (this worker's clock: when it heard it, plus the lease). */
interface Holder {
  owner: OwnerInfo;
  epoch: number;
  until: number;
}

export class FeedLease {
  role: LeaseRole = 'listening';
  /** This worker's epoch for the feed: of its claim, or of its lease while owner. */
  epoch = 0;
  /** When the role last changed. */
  since: number;
  /** The other worker that holds (or claimed) the feed, while its lease runs. */
  private holder?: Holder;
  /** The highest epoch heard from anyone. */
  private knownEpoch = 0;
  /** Yielding: the claim this worker yields to (the highest heard). */
  private claimant?: { owner: OwnerInfo; epoch: number };
  /** The latest cursors another owner announced, with the rank of the message they came in. */
  private remoteCursors?: { rank: Rank } & Handover;
  private settleUntil = 0;
  private nextRenewAt = 0;
  private synced = false;
  /** Claim even from a live owner, once: at the first decision after the worker started with --takeover. */
  private takeover: boolean;

  constructor(
    readonly feed: string,
    private readonly me: OwnerInfo,
    private readonly timings: LeaseTimings,
    options: { takeover: boolean; now: number },
    private readonly effects: LeaseEffects,
  ) {
    this.takeover = options.takeover;
    this.since = options.now;
  }

  /** Who holds the feed as this worker knows it: itself, another worker, or nobody. */
  owner(now: number): { owner: OwnerInfo; epoch: number } | undefined {
    if (this.role === 'owner' || this.role === 'yielding' || this.role === 'unmanaged') return { owner: this.me, epoch: this.epoch };
    if (this.holder && this.holder.until > now) return { owner: this.holder.owner, epoch: this.holder.epoch };
    return undefined;
  }

  /** The feed runs (or drains) here. */
  get active(): boolean {
    return this.role === 'owner' || this.role === 'yielding' || this.role === 'unmanaged';
  }

  /** The broker replayed what it keeps of the address and this worker hears it live: it may decide now. */
  sync(): void {
    this.synced = true;
  }

  /** The link to the broker is gone: an owner keeps the feed (its items wait in the outbox), nobody else decides. */
  lost(now: number): void {
    this.synced = false;
    // A claim nobody could hear is no claim: decide again once connected.
    if (this.role === 'claiming') this.become('listening', now, 'disconnected');
  }

  /** The broker refused the lease address: run the feed without coordination rather than not at all. */
  refused(now: number): void {
    if (this.role === 'stopped' || this.role === 'unmanaged') return;
    const wasActive = this.active;
    this.become('unmanaged', now, 'refused');
    if (!wasActive) this.effects.activate(undefined);
  }

  receive(message: LeaseMessage, now: number): void {
    if (message.owner.id === this.me.id || this.role === 'stopped' || this.role === 'unmanaged') return;
    this.knownEpoch = Math.max(this.knownEpoch, message.epoch);
    const rank = { epoch: message.epoch, id: message.owner.id };
    if (message.cursors && message.kind !== 'claim' && (!this.remoteCursors || compareRank(rank, this.remoteCursors.rank) >= 0)) {
      this.remoteCursors = { rank, cursors: message.cursors, from: message.owner };
    }
    const until = now + message.leaseMs;
    switch (message.kind) {
      case 'release':
        if (this.holder?.owner.id === message.owner.id) this.holder = undefined;
        return;
      case 'yield': {
        const to = message.to as OwnerInfo;
        if (to.id === this.me.id) {
          if (this.role === 'claiming' && message.epoch === this.epoch) {
            this.holder = undefined;
            this.becomeOwner(now, message.cursors ? { cursors: message.cursors, from: message.owner } : undefined, `yielded by ${message.owner.host}:${message.owner.pid}`);
          }
          return;
        }
        this.observe({ owner: to, epoch: message.epoch, until }, now);
        return;
      }
      default:
        this.observe({ owner: message.owner, epoch: message.epoch, until }, now);
    }
  }

  tick(now: number): void {
    switch (this.role) {
      case 'listening': {
        if (!this.synced) return;
        const live = this.holder !== undefined && this.holder.until > now;
        if (live && this.takeover) this.claim(now, 'takeover');
        else if (live) this.become('standby', now, 'held');
        else this.claim(now, 'free');
        return;
      }
      case 'standby':
        if (this.synced && (!this.holder || this.holder.until <= now)) this.claim(now, this.holder ? 'expired' : 'released');
        return;
      case 'claiming':
        // Claimed over a live owner: wait for its yield, or for its lease to run out.
        if (this.holder && this.holder.until > now) return;
        if (now >= this.settleUntil) this.becomeOwner(now, this.remoteCursors && { cursors: this.remoteCursors.cursors, from: this.remoteCursors.from }, this.holder ? 'expired' : 'settled');
        return;
      case 'owner':
      case 'yielding':
        if (now >= this.nextRenewAt) this.renew(now);
        return;
      default:
    }
  }

  /** The feed drained after a yield: hand it to the claimant. */
  yielded(cursors: Record<string, unknown> | undefined, now: number): void {
    if (this.role !== 'yielding' || !this.claimant) return;
    const { owner, epoch } = this.claimant;
    this.effects.send({ kind: 'yield', epoch, to: owner, ...(cursors ? { cursors } : {}) });
    this.holder = { owner, epoch, until: now + this.timings.leaseMs };
    this.claimant = undefined;
    this.become('standby', now, 'yielded');
  }

  /** The worker stops (its routes drained): leave the feed to whoever claims it next. */
  release(cursors: Record<string, unknown> | undefined, now: number): void {
    // A claim holds the feed for the others too: release it as well, so that nobody waits for it to run out.
    if (this.role === 'owner' || this.role === 'yielding' || this.role === 'claiming') this.effects.send({ kind: 'release', epoch: this.epoch, ...(cursors ? { cursors } : {}) });
    this.become('stopped', now, 'stopping');
  }

  /** Another worker holds or claims the feed at `lease`'s rank. */
  private observe(lease: Holder, now: number): void {
    const mine = { epoch: this.epoch, id: this.me.id };
    const theirs = { epoch: lease.epoch, id: lease.owner.id };
    switch (this.role) {
      case 'owner':
        if (compareRank(theirs, mine) > 0) {
          this.claimant = { owner: lease.owner, epoch: lease.epoch };
          this.become('yielding', now, 'outranked');
          this.effects.deactivate();
        }
        return;
      case 'yielding':
        if (this.claimant && compareRank(theirs, { epoch: this.claimant.epoch, id: this.claimant.owner.id }) > 0) this.claimant = { owner: lease.owner, epoch: lease.epoch };
        return;
      case 'claiming':
        if (compareRank(theirs, mine) > 0) {
          this.holder = lease;
          this.become('standby', now, 'outranked');
        } else if (this.holder?.owner.id === lease.owner.id) {
          // The owner this claim waits for is alive (draining, while it renews).
          this.holder = lease;
        }
        return;
      default: {
        const current = this.holder;
        if (!current || current.until <= now || current.owner.id === lease.owner.id || compareRank(theirs, { epoch: current.epoch, id: current.owner.id }) > 0) {
          this.holder = lease;
          if (this.role === 'standby' && current?.owner.id !== lease.owner.id) this.become('standby', now, 'new owner', true);
        }
      }
    }
  }

  private claim(now: number, reason: 'takeover' | 'free' | 'expired' | 'released'): void {
    this.takeover = false;
    this.epoch = this.knownEpoch + 1;
    this.knownEpoch = this.epoch;
    this.settleUntil = now + this.timings.settleMs;
    // A takeover waits for the live owner; any other claim is on a free feed.
    if (reason !== 'takeover') this.holder = undefined;
    this.effects.send({ kind: 'claim', epoch: this.epoch, ...(reason === 'takeover' ? { takeover: true } : {}) });
    this.become('claiming', now, reason);
  }

  private becomeOwner(now: number, handover: Handover | undefined, reason: string): void {
    this.takeover = false;
    this.become('owner', now, reason);
    this.effects.activate(handover);
    this.renew(now);
  }

  private renew(now: number): void {
    const cursors = this.effects.cursors();
    this.effects.send({ kind: 'renew', epoch: this.epoch, ...(cursors ? { cursors } : {}) });
    this.nextRenewAt = now + this.timings.renewMs;
  }

  private become(role: LeaseRole, now: number, reason: string, force = false): void {
    if (role === this.role && !force) return;
    const previous = this.role;
    this.role = role;
    this.since = now;
    const holder = this.owner(now);
    const to = role === 'yielding' ? this.claimant?.owner : undefined;
    this.effects.changed({ feed: this.feed, role, previous, epoch: holder?.epoch ?? this.epoch, reason, ...(holder ? { owner: holder.owner } : {}), ...(to ? { to } : {}) });
  }
}
