import { randomBytes } from 'node:crypto';
import type { Network } from '@livewall/contract';
import { byStartupOrder, startedOrRetrying, type Engine } from '../engine/engine.js';
import type { Route } from '../engine/route.js';
import type { Clock, Logger } from '../engine/types.js';
import { feedOfRoute, feedRouteId } from '../feeds.js';
import type { LeaseBus } from './channel.js';
import { comparePlaces, cursorKeyOf, earlier, later, portableKey, PUBLISHED, PUBLISHED_HANDOVER, type LeaseCursors } from './cursors.js';
import { FeedLease, type Handover, type LeaseEffects, type LeaseRole, type LeaseTimings, type RoleChange } from './lease.js';
import { describeOwner, type LeaseMessage, type OwnerInfo } from './messages.js';

/**
 * Feed ownership for one worker: a lease per feed (lease.ts) kept on the broker (channel.ts), and the engine's feed
 * and source routes started and stopped to match. Each feed has one active owner at a time:
 *
 * - A feed route (`feed:<name>`) runs only while this worker owns the feed; a network's source routes
 *   (`source:<network>…`) run while this worker owns at least one of the network's feeds. A feed on several networks
 *   is one lease: its owner runs the sources of all of them. A standby worker reads no stream at all (X allows one
 *   connection per app).
 * - Yielding drains: the source routes first when no other feed of the network stays (so that what they took still
 *   reaches the feed), then the feed route; then the yield goes out with where the sources got to.
 * - Starting from a handed-over place: a source with a cursor (a replay) starts where the previous owner's stopped.
 *   If it already runs here for another feed and is past that place, it starts again from there: the other feeds'
 *   `idempotent` step drops what they see twice.
 *
 * Other routes (the config's `routes:`) are not feeds and start as they always do.
 */

export interface OwnedFeed {
  name: string;
  networks: readonly Network[];
}

export interface OwnershipOptions {
  engine: Engine;
  bus: LeaseBus;
  cursors: LeaseCursors;
  /**
   * What each feed published lately here (the feed routes' de-duplication): handed over with the places, and told
   * what the previous owner published.
   */
  published?: { recent(feed: string, limit: number, maxChars: number): string[]; learn(feed: string, ids: readonly string[]): void };
  me: OwnerInfo;
  feeds: readonly OwnedFeed[];
  timings: LeaseTimings;
  /** Started with --takeover: claim every feed at once, even from a live owner. */
  takeover: boolean;
  /** Where the routes' relative paths start (the config file's folder): cursor keys name absolute files. */
  baseDir: string;
  /** How long a yielding feed may take to finish what it took. */
  drainTimeoutMs: number;
  clock: Clock;
  log: Logger;
  /** How often the leases are looked at. Default: a quarter of the renewal interval, at most 100 ms. */
  tickMs?: number;
  /** Called after each batch of route starts and stops: the routes' states are final again. */
  onSettled?: () => void;
}

/** One feed as /status and the status message show it. */
export interface FeedOwnershipStatus {
  feed: string;
  role: LeaseRole;
  /** Who owns it, as this worker knows: itself, another worker, or absent when nobody does. */
  owner?: OwnerInfo;
  epoch: number;
  /** When this worker's role for the feed last changed. */
  since: string;
}

export interface OwnershipStatus {
  /** This worker. */
  instance: OwnerInfo;
  leaseMs: number;
  renewMs: number;
  feeds: FeedOwnershipStatus[];
}

/** A new owner identity for this process: `host:pid:random`. */
export function ownerIdentity(host: string, region?: string): OwnerInfo {
  return { id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, host, pid: process.pid, ...(region === undefined ? {} : { region }) };
}

const RUNNING: readonly string[] = ['starting', 'started', 'suspended'];

function running(route: Route): boolean {
  return RUNNING.includes(route.status().state);
}

export class Ownership {
  private readonly leases = new Map<string, FeedLease>();
  /** Each feed's networks. */
  private readonly networks = new Map<string, readonly Network[]>();
  /** Decisions waiting for the next tick: taken together, so that a network's feeds move at once. */
  private readonly toActivate = new Map<string, Handover | undefined>();
  private readonly toDeactivate = new Set<string>();
  /**
   * Networks whose sources wait for the network's other feeds to be decided (claimed, handed over) before they start,
   * so that no feed misses the first moments of a live stream; with the places to start them from.
   */
  private readonly sourcesWaiting = new Map<Network, Map<string, unknown>>();
  /** Route starts and stops, one batch at a time. */
  private work: Promise<void> = Promise.resolve();
  /** Batches queued or under way: routes are between states meanwhile. */
  private batches = 0;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private readonly tickMs: number;

  constructor(private readonly options: OwnershipOptions) {
    this.tickMs = options.tickMs ?? Math.min(100, Math.max(10, Math.round(options.timings.renewMs / 4)));
    const { bus } = options;
    bus.on('message', (message) => this.leases.get(message.feed)?.receive(message, this.now()));
    bus.on('synced', (feed) => this.leases.get(feed)?.sync());
    bus.on('lost', () => {
      for (const lease of this.leases.values()) lease.lost(this.now());
    });
    bus.on('refused', (feed, reason, remedy) => {
      options.log.error(
        { feed, reason },
        `ownership: the broker refuses the lease channel of feed ${feed}; the feed runs here without coordination until the worker restarts. For ownership, ${remedy}`,
      );
      this.leases.get(feed)?.refused(this.now());
    });
    for (const feed of options.feeds) this.add(feed, options.takeover);
  }

  /** Whether ownership decides when the route runs: a feed's route, or a source route of a network with feeds. */
  isManaged(routeId: string): boolean {
    const feed = feedOfRoute(routeId);
    if (feed !== undefined) return this.leases.has(feed);
    return this.networkOfSource(routeId) !== undefined;
  }

  /**
   * Whether a managed route is stopped on purpose because another worker owns its feeds: a feed route whose lease
   * stands by, or a source route all of whose network's feeds stand by. Not while ownership is undecided (the broker
   * never answered, or a claim is under way): such a worker is not ready, it is waiting.
   */
  standingBy(routeId: string): boolean {
    const feed = feedOfRoute(routeId);
    if (feed !== undefined) return this.leases.get(feed)?.role === 'standby';
    const network = this.networkOfSource(routeId);
    if (network === undefined) return false;
    const feeds = [...this.leases.values()].filter((lease) => this.isOn(lease.feed, network));
    return feeds.length > 0 && feeds.every((lease) => lease.role === 'standby');
  }

  /** The role of the lease a managed route's feed has, for /readyz: `listening` while who owns it is not known. */
  roleOf(routeId: string): string | undefined {
    const feed = feedOfRoute(routeId);
    if (feed !== undefined) return this.leases.get(feed)?.role;
    const network = this.networkOfSource(routeId);
    if (network === undefined) return undefined;
    const roles = [...new Set([...this.leases.values()].filter((lease) => this.isOn(lease.feed, network)).map((lease) => lease.role))];
    return roles.join(', ');
  }

  /** Whether a managed route may run now (a reload asks before starting a route it added or replaced). */
  mayRun(routeId: string): boolean {
    const feed = feedOfRoute(routeId);
    if (feed !== undefined && this.leases.has(feed)) return this.leases.get(feed)?.active ?? false;
    const network = this.networkOfSource(routeId);
    if (network === undefined) return true;
    if (this.sourcesWaiting.has(network)) return false;
    return [...this.leases.values()].some((lease) => lease.active && this.isOn(lease.feed, network));
  }

  /** Starts the routes that are not managed, then the leases: the feeds start as this worker comes to own them. */
  async start(): Promise<void> {
    const { engine, bus } = this.options;
    for (const group of byStartupOrder(engine.list().filter((route) => !this.isManaged(route.id)))) await Promise.all(group.map((route) => startedOrRetrying(route)));
    for (const feed of this.leases.keys()) bus.watch(feed);
    bus.start();
    this.loop = this.run();
  }

  /**
   * A reload added feeds: claim them as at the start (before their routes are added, so that none starts unowned).
   * A feed that gained or lost a network but kept another stays as it is, owned or not: its lease is the feed's.
   */
  claimNew(feeds: readonly OwnedFeed[]): void {
    for (const feed of feeds) {
      const networks = this.networks.get(feed.name);
      if (networks?.some((network) => feed.networks.includes(network))) {
        this.networks.set(feed.name, [...feed.networks]);
        continue;
      }
      // A feed that moved to other networks altogether is another feed.
      if (networks !== undefined) this.drop(feed.name);
      this.add(feed, false);
      this.options.bus.watch(feed.name);
    }
  }

  /** A reload removed feeds (their routes are drained and gone): release them, with where their sources got to. */
  releaseGone(feeds: readonly OwnedFeed[]): void {
    const wanted = new Set(feeds.map((feed) => feed.name));
    for (const name of [...this.leases.keys()]) if (!wanted.has(name)) this.drop(name);
  }

  private drop(name: string): void {
    const lease = this.leases.get(name);
    if (!lease) return;
    lease.release(lease.active ? this.handoverOf(name) : undefined, this.now());
    this.leases.delete(name);
    this.networks.delete(name);
    this.toActivate.delete(name);
    this.toDeactivate.delete(name);
    this.options.bus.unwatch(name);
  }

  /**
   * True while some feed of this worker is owned elsewhere or not decided yet, or its routes are being started or
   * stopped: the routes' states say nothing final then (a finished replay here is not the end of the feed).
   */
  waiting(): boolean {
    return this.batches > 0 || this.toActivate.size > 0 || this.toDeactivate.size > 0 || this.sourcesWaiting.size > 0 || [...this.leases.values()].some((lease) => !lease.active && lease.role !== 'stopped');
  }

  status(): OwnershipStatus {
    const now = this.now();
    return {
      instance: this.options.me,
      leaseMs: this.options.timings.leaseMs,
      renewMs: this.options.timings.renewMs,
      feeds: [...this.leases.values()].map((lease) => {
        const holder = lease.owner(now);
        return { feed: lease.feed, role: lease.role, epoch: holder?.epoch ?? lease.epoch, since: new Date(lease.since).toISOString(), ...(holder ? { owner: holder.owner } : {}) };
      }),
    };
  }

  /** Stops deciding (the worker is shutting down); resolves once a start or stop under way has finished. */
  async halt(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.work;
  }

  /** After the routes stopped: releases every feed this worker owned, with where its sources got to, and disconnects. */
  async release(): Promise<void> {
    const released: string[] = [];
    for (const lease of this.leases.values()) {
      if (lease.active) released.push(lease.feed);
      lease.release(lease.active ? this.handoverOf(lease.feed) : undefined, this.now());
    }
    if (released.length > 0) this.options.log.info({ feeds: released }, `ownership: released ${released.join(', ')}`);
    await this.options.bus.close();
  }

  private now(): number {
    return this.options.clock.now();
  }

  private add(feed: OwnedFeed, takeover: boolean): void {
    this.networks.set(feed.name, [...feed.networks]);
    this.leases.set(feed.name, new FeedLease(feed.name, this.options.me, this.options.timings, { takeover, now: this.now() }, this.effects(feed.name)));
  }

  private effects(feed: string): LeaseEffects {
    const { bus, me, timings } = this.options;
    return {
      send: (outgoing) => {
        const message: LeaseMessage = { v: 1, feed, owner: me, leaseMs: timings.leaseMs, at: new Date(this.now()).toISOString(), ...outgoing };
        bus.send(message);
      },
      activate: (handover) => {
        this.toDeactivate.delete(feed);
        this.toActivate.set(feed, handover);
      },
      deactivate: () => {
        this.toActivate.delete(feed);
        this.toDeactivate.add(feed);
      },
      cursors: () => this.handoverOf(feed),
      changed: (change) => this.logChange(change),
    };
  }

  private async run(): Promise<void> {
    const { clock } = this.options;
    while (!this.stopping.signal.aborted) {
      const now = clock.now();
      for (const lease of this.leases.values()) lease.tick(now);
      this.flush();
      await clock.sleep(this.tickMs, this.stopping.signal);
    }
  }

  /** Carries out the decisions gathered since the last tick, after whatever is under way. */
  private flush(): void {
    const decided = [...this.sourcesWaiting.keys()].filter((network) => !this.undecided(network));
    if (this.toActivate.size === 0 && this.toDeactivate.size === 0 && decided.length === 0) return;
    const activate = new Map(this.toActivate);
    const deactivate = [...this.toDeactivate];
    this.toActivate.clear();
    this.toDeactivate.clear();
    this.batches += 1;
    this.work = this.work
      .then(async () => {
        await this.deactivate(deactivate);
        await this.activate(activate);
        for (const network of decided) await this.startWaitingSources(network);
      })
      .catch((error: unknown) => this.options.log.error({ err: (error as Error).message ?? String(error) }, 'ownership: starting or stopping routes failed'))
      .finally(() => {
        this.batches -= 1;
        this.options.onSettled?.();
      });
  }

  /** Some feed of the network is not decided yet here: listening, or claiming. */
  private undecided(network: Network): boolean {
    return [...this.leases.values()].some((lease) => this.isOn(lease.feed, network) && (lease.role === 'listening' || lease.role === 'claiming'));
  }

  private async startWaitingSources(network: Network): Promise<void> {
    const places = this.sourcesWaiting.get(network);
    if (!places || this.undecided(network)) return;
    this.sourcesWaiting.delete(network);
    if (!this.mayRun(`source:${network}`)) return;
    for (const [key, place] of places) this.options.cursors.adopt(key, place);
    const sources = this.sourceRoutes(network).filter((route) => !running(route));
    for (const group of byStartupOrder(sources)) await Promise.all(group.map((route) => startedOrRetrying(route)));
  }

  private isOn(feed: string, network: Network): boolean {
    return this.networks.get(feed)?.includes(network) ?? false;
  }

  /** Groups feeds by network; a feed on several networks is in each of their groups. */
  private byNetwork<T>(feeds: Iterable<T>, nameOf: (entry: T) => string): Map<Network, T[]> {
    const groups = new Map<Network, T[]>();
    for (const entry of feeds) {
      for (const network of this.networks.get(nameOf(entry)) ?? []) groups.set(network, [...(groups.get(network) ?? []), entry]);
    }
    return groups;
  }

  private async deactivate(feeds: string[]): Promise<void> {
    if (feeds.length === 0) return;
    const groups = this.byNetwork(feeds, (feed) => feed);
    // Where each network's sources got to, by portable key: a feed on several networks hands over all of theirs.
    const places = new Map<Network, Record<string, unknown> | undefined>();
    const leavingAlone: Network[] = [];
    for (const [network, leaving] of groups) {
      const staying = [...this.leases.values()].some((lease) => lease.active && this.isOn(lease.feed, network) && !leaving.includes(lease.feed));
      if (staying) {
        // The sources go on for the other feeds: hand over the place reached before these feeds stop listening, so
        // that the next owner misses nothing (it may repeat what a feed still had queued).
        places.set(network, this.cursorsOf(network));
      } else {
        await Promise.all(this.sourceRoutes(network).map((route) => route.stop(this.options.drainTimeoutMs)));
        leavingAlone.push(network);
      }
    }
    await Promise.all(feeds.map((feed) => this.stopRoute(feedRouteId(feed))));
    for (const network of leavingAlone) places.set(network, this.cursorsOf(network));
    for (const feed of feeds) {
      const cursors = Object.assign({}, ...(this.networks.get(feed) ?? []).map((network) => places.get(network) ?? {})) as Record<string, unknown>;
      this.leases.get(feed)?.yielded(this.withPublished(feed, Object.keys(cursors).length > 0 ? cursors : undefined), this.now());
    }
  }

  private async activate(feeds: Map<string, Handover | undefined>): Promise<void> {
    const { cursors, log } = this.options;
    // A lease may have moved on since the decision (it yielded again): only feeds still owned here start.
    const arriving = [...feeds].filter(([feed]) => this.leases.get(feed)?.active);
    for (const [network, entries] of this.byNetwork(arriving, ([feed]) => feed)) {
      const sources = this.sourceRoutes(network);
      const keys = new Map(sources.flatMap((route) => {
        const key = cursorKeyOf(route.definition.from, this.options.baseDir);
        return key === undefined ? [] : [[portableKey(key), key] as const];
      }));
      // Where the previous owners got to, per source: the earliest, so that none of the arriving feeds misses anything.
      const adopted = new Map<string, unknown>();
      for (const [feed, handed] of entries) {
        const { [PUBLISHED]: published, ...places } = handed?.cursors ?? {};
        // Before the feed's route starts: what the previous owner published, this one does not publish again.
        if (Array.isArray(published)) this.options.published?.learn(feed, published.filter((id): id is string => typeof id === 'string'));
        for (const [portable, handedPlace] of Object.entries(places)) {
          const key = keys.get(portable);
          // A feed on several networks hands over each network's places: this network takes its own.
          if (key === undefined && this.readsHere(feed, portable)) continue;
          if (key === undefined) {
            log.warn({ feed, source: portable, here: [...keys.keys()] }, `feed ${feed}: the previous owner read ${portable}, which this worker does not; its sources start from their own place`);
            continue;
          }
          // From an earlier process on this machine (this worker before a crash and restart): the place it left in the
          // outbox file is as good, and fresher than its last renewal.
          const mine = handed?.from.host === this.options.me.host ? cursors.inherited(key) : undefined;
          const place = mine === undefined ? handedPlace : later(handedPlace, mine);
          adopted.set(key, adopted.has(key) ? earlier(adopted.get(key), place) : place);
        }
      }
      const sourcesRunning = sources.some(running);
      for (const [feed] of entries) {
        const route = this.options.engine.route(feedRouteId(feed));
        if (route && !running(route)) await startedOrRetrying(route);
      }
      if (!sourcesRunning) {
        // Started once every feed of the network here is decided, from the earliest place handed over meanwhile.
        const places = this.sourcesWaiting.get(network) ?? new Map<string, unknown>();
        for (const [key, place] of adopted) places.set(key, places.has(key) ? earlier(places.get(key), place) : place);
        this.sourcesWaiting.set(network, places);
        await this.startWaitingSources(network);
        continue;
      } else if ([...adopted].some(([key, place]) => (comparePlaces(place, cursors.get(key)) ?? -1) < 0)) {
        // Running here for another feed and already past the handed-over place: what came in between would never
        // reach the new feed, so the sources start again from there. (Behind it is fine: the new feed sees it come,
        // and repeats what the previous owner had already sent after that place.)
        await Promise.all(sources.map((route) => route.stop(this.options.drainTimeoutMs)));
        for (const [key, place] of adopted) cursors.adopt(key, earlier(place, cursors.get(key)));
      }
      for (const group of byStartupOrder(sources.filter((route) => !running(route)))) await Promise.all(group.map((route) => startedOrRetrying(route)));
    }
  }

  /** Whether a source of one of the feed's networks here keeps its place under `portable`. */
  private readsHere(feed: string, portable: string): boolean {
    return (this.networks.get(feed) ?? []).some((network) => this.sourceRoutes(network).some((route) => {
      const key = cursorKeyOf(route.definition.from, this.options.baseDir);
      return key !== undefined && portableKey(key) === portable;
    }));
  }

  private async stopRoute(id: string): Promise<void> {
    await this.options.engine.route(id)?.stop(this.options.drainTimeoutMs);
  }

  /** The network a source route reads for, when one of the leases' feeds is on it. */
  private networkOfSource(routeId: string): Network | undefined {
    for (const network of new Set([...this.networks.values()].flat())) {
      if (routeId === `source:${network}` || routeId.startsWith(`source:${network}:`)) return network;
    }
    return undefined;
  }

  private sourceRoutes(network: Network): Route[] {
    return this.options.engine.list().filter((route) => this.networkOfSource(route.id) === network);
  }

  /** What a feed's owner hands over and renews: where its network's sources got to, and what it published last. */
  private handoverOf(feed: string): Record<string, unknown> | undefined {
    const places = Object.assign({}, ...(this.networks.get(feed) ?? []).map((network) => this.cursorsOf(network) ?? {})) as Record<string, unknown>;
    return this.withPublished(feed, Object.keys(places).length > 0 ? places : undefined);
  }

  private withPublished(feed: string, cursors: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    const published = this.options.published?.recent(feed, PUBLISHED_HANDOVER.ids, PUBLISHED_HANDOVER.chars) ?? [];
    return published.length === 0 ? cursors : { ...cursors, [PUBLISHED]: published };
  }

  /** Where the network's sources got to (only those with a cursor), by portable key. */
  private cursorsOf(network: Network): Record<string, unknown> | undefined {
    const places: Record<string, unknown> = {};
    for (const route of this.sourceRoutes(network)) {
      const key = cursorKeyOf(route.definition.from, this.options.baseDir);
      const place = key === undefined ? undefined : this.options.cursors.get(key);
      if (key !== undefined && place !== undefined) places[portableKey(key)] = place;
    }
    return Object.keys(places).length > 0 ? places : undefined;
  }

  private logChange(change: RoleChange): void {
    const { log } = this.options;
    const fields = { feed: change.feed, role: change.role, previous: change.previous, epoch: change.epoch, reason: change.reason, ...(change.owner ? { owner: change.owner } : {}) };
    const owner = change.owner ? describeOwner(change.owner) : 'nobody';
    switch (change.role) {
      case 'owner':
        log.info(fields, `feed ${change.feed}: owned here (${change.reason}, epoch ${change.epoch})`);
        return;
      case 'standby':
        log.info(fields, `feed ${change.feed}: standby; ${owner} owns it`);
        return;
      case 'claiming':
        if (change.reason === 'takeover') log.info(fields, `feed ${change.feed}: taking over from ${owner}`);
        else log.debug(fields, `feed ${change.feed}: claiming (${change.reason})`);
        return;
      case 'yielding':
        log.info({ ...fields, ...(change.to ? { to: change.to } : {}) }, `feed ${change.feed}: yielding to ${change.to ? describeOwner(change.to) : 'a higher claim'}; draining`);
        return;
      case 'unmanaged':
        log.warn(fields, `feed ${change.feed}: running without ownership`);
        return;
      default:
        log.debug(fields, `feed ${change.feed}: ${change.role}`);
    }
  }
}
