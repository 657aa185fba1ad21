import { resolve } from 'node:path';
import { AmqpPublisher, type AddressStats } from '../../amqp/publisher.js';
import { DEFAULT_WINDOW, MAX_WINDOW } from '../../amqp/window.js';
import { OutboxForwarder } from '../../outbox/forwarder.js';
import { Outbox, type OutboxStats } from '../../outbox/outbox.js';
import { settledWithin } from '../../engine/route.js';
import type { Component, EndpointContext, Exchange, Producer } from '../../engine/types.js';
import type { PublishGate } from '../../moderation/gate.js';
import { jsonOf } from '../../pipeline/serialized.js';

/** Broker settings the config gives every amqp: endpoint (`settings.amqp`). */
export interface AmqpSettings {
  url: string;
  /** Brokers to fail over to, in turn. */
  failover?: readonly string[];
  username?: string;
  password?: string;
  /** How long a silent link may last before it counts as dead. */
  idleTimeoutMs?: number;
  /** Messages sent and not yet settled on the connection (the config's broker.window); default DEFAULT_WINDOW. */
  window?: number;
}

/** The config's `outbox:` (`settings.outbox`): where the durable store is and how much it may hold. */
export interface OutboxSettings {
  /** Relative to the config file. */
  file: string;
  maxItems: number;
  maxAgeMs: number;
}

interface Shared {
  publisher: AmqpPublisher;
  users: number;
  /** The broker URLs, as the config names them, for /status. */
  brokers: readonly string[];
  username?: string;
  /** With an outbox: sends go to it, and the forwarder takes them to the broker. */
  outbox?: { store: Outbox; forwarder: OutboxForwarder; file: string };
}

/** The outbox figures of every shared connection, for /metrics (one outbox per broker and login). */
export function outboxStats(): OutboxStats[] {
  return [...connections.values()].flatMap((shared) => (shared.outbox ? [shared.outbox.store.stats()] : []));
}

/** One connection per broker and login, shared by every amqp: endpoint of the process. */
const connections = new Map<string, Shared>();

/** One shared connection as /status shows it: what it carries, and its figures over every address together. */
export interface AmqpConnectionStatus {
  broker: string;
  failover?: string[];
  user?: string;
  /** The outbox file its sends go through, when it has one. */
  outbox?: string;
  connected: boolean;
  /** The addresses it has sent to or declared: feeds' topics, the status topic. */
  addresses: string[];
  /** The connection's own figures: reconnects, the broker's outcomes and resends of every address, and with an outbox its level. */
  stats: Readonly<Record<string, number>>;
}

/** Every shared connection, for /status: the connection-level figures, which the endpoints split by address. */
export function amqpConnections(): AmqpConnectionStatus[] {
  return [...connections.values()].map((shared) => {
    const { connected, ...figures } = shared.publisher.stats;
    const [broker = '', ...failover] = shared.brokers.map(withoutPassword);
    const outbox = shared.outbox?.store.stats();
    return {
      broker,
      ...(failover.length > 0 ? { failover } : {}),
      ...(shared.username ? { user: shared.username } : {}),
      ...(shared.outbox ? { outbox: shared.outbox.file } : {}),
      connected,
      addresses: [...shared.publisher.addresses().keys()],
      stats: outbox ? { ...figures, outboxDepth: outbox.depth, outboxOldestAgeMs: outbox.oldestAgeMs, outboxDroppedFull: outbox.droppedFull, outboxDroppedExpired: outbox.droppedExpired } : { ...figures },
    };
  });
}

/**
 * Every address sent to or declared on any connection, with its figures: the connections' outcomes split by where
 * the messages went (summed, should two connections carry one address), for the per-feed metrics.
 */
export function amqpAddresses(): Map<string, AddressStats> {
  const all = new Map<string, AddressStats>();
  for (const shared of connections.values()) {
    for (const [address, stats] of shared.publisher.addresses()) {
      const seen = all.get(address);
      all.set(address, seen ? sumStats(seen, stats) : stats);
    }
  }
  return all;
}

function sumStats(a: AddressStats, b: AddressStats): AddressStats {
  const sum: AddressStats = { accepted: a.accepted + b.accepted, released: a.released + b.released, rejected: a.rejected + b.rejected, modified: a.modified + b.modified, resent: a.resent + b.resent, inFlight: a.inFlight + b.inFlight, queued: a.queued + b.queued };
  const lastAcceptedAt = Math.max(a.lastAcceptedAt ?? -Infinity, b.lastAcceptedAt ?? -Infinity);
  if (lastAcceptedAt > -Infinity) sum.lastAcceptedAt = lastAcceptedAt;
  return sum;
}

/** A broker URL fit for /status: a password written into it is not shown. */
function withoutPassword(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.password) return raw;
    url.password = '***';
    return url.toString();
  } catch {
    return raw;
  }
}

function settingsOf(context: EndpointContext): AmqpSettings {
  const settings = context.settings.amqp as AmqpSettings | undefined;
  if (!settings?.url) throw new Error(`${context.uri.raw}: no broker configured (broker.url)`);
  return settings;
}

class AmqpProducer implements Producer {
  private shared?: Shared;
  /** This endpoint's messages not yet settled, and who waits for them to be (a stop while others share the connection). */
  private unsettled = 0;
  private onSettled?: () => void;
  /** The connection's reconnects when this endpoint started: its own link's reconnects are the ones since. */
  private reconnectsAtStart = 0;
  private gate: PublishGate | undefined;

  constructor(private readonly context: EndpointContext) {}

  private get key(): string {
    const settings = settingsOf(this.context);
    // Endpoints with an outbox and without one (the status messages: no use sending stale ones after an outage) do not
    // share a connection.
    const outbox = this.context.settings.outbox as OutboxSettings | undefined;
    return `${settings.url}|${settings.username ?? ''}|${outbox ? resolve(this.context.baseDir, outbox.file) : ''}`;
  }

  async start(): Promise<void> {
    if (this.shared) return;
    const settings = settingsOf(this.context);
    let shared = connections.get(this.key);
    if (!shared) {
      const log = this.context.log.child({ component: 'amqp' });
      const publisher = new AmqpPublisher(
        {
          url: settings.url,
          ...(settings.failover ? { failover: settings.failover } : {}),
          ...(settings.idleTimeoutMs ? { idleTimeoutMs: settings.idleTimeoutMs } : {}),
          username: settings.username,
          password: settings.password,
          maxInFlight: (this.context.options.maxInFlight as number | undefined) ?? settings.window ?? DEFAULT_WINDOW,
        },
        log,
      );
      publisher.start();
      shared = { publisher, users: 0, brokers: [settings.url, ...(settings.failover ?? [])], ...(settings.username ? { username: settings.username } : {}) };
      const outbox = this.context.settings.outbox as OutboxSettings | undefined;
      if (outbox) {
        const store = new Outbox({ file: resolve(this.context.baseDir, outbox.file), maxItems: outbox.maxItems, maxAgeMs: outbox.maxAgeMs });
        const forwarder = new OutboxForwarder(store, publisher, log);
        forwarder.start();
        shared.outbox = { store, forwarder, file: outbox.file };
        log.info({ file: outbox.file, waiting: store.depth }, store.depth > 0 ? 'outbox: sending what the last run left' : 'outbox: open');
      }
      connections.set(this.key, shared);
    }
    // The moderation gate (`settings.publishGate`): a feed's items pass it right before they are sent, whoever shares the connection.
    const gate = this.context.settings.publishGate as PublishGate | undefined;
    if (gate) shared.publisher.setGate(gate);
    this.gate = gate;
    shared.users += 1;
    this.shared = shared;
    this.reconnectsAtStart = shared.publisher.stats.reconnects;
    // The feed's (or status topic's) address exists from the worker's start, not from its first post.
    shared.publisher.declare(this.context.uri.path);
  }

  /** Not async: with room in flight (the common case) a message costs the publisher's promise alone. */
  send(exchange: Exchange): Promise<void> {
    const publisher = this.shared?.publisher;
    if (!publisher) return Promise.reject(new Error(`${this.context.uri.raw}: not started`));
    let id: string;
    let json: string;
    try {
      const body = exchange.body as { id?: unknown } | string;
      id = String(exchange.headers.messageId ?? (typeof body === 'object' && body !== null && typeof body.id === 'string' ? body.id : exchange.id));
      // An item the feed route's contract check encoded is not encoded again.
      json = jsonOf(body);
    } catch (error) {
      return Promise.reject(error);
    }
    const address = this.context.uri.path;
    const outbox = this.shared?.outbox;
    if (outbox) {
      // In the outbox is as good as sent: it survives a crash, and the forwarder takes it to the broker.
      try {
        outbox.store.put(address, id, json);
      } catch (error) {
        return Promise.reject(error);
      }
      outbox.forwarder.notify();
      return Promise.resolve();
    }
    this.unsettled += 1;
    // The broker's outcome (accepted, or dropped by the moderation gate) is the publisher's business: a send is done.
    const sent = publisher.hasRoom() ? publisher.publish(address, id, json, this.settled) : publisher.room().then(() => publisher.publish(address, id, json, this.settled));
    return sent as Promise<unknown> as Promise<void>;
  }

  /** One function for every message, not a closure each, and no `then` of its own: the publisher calls it. */
  private readonly settled = (): void => {
    this.unsettled -= 1;
    if (this.unsettled === 0) this.onSettled?.();
  };

  /** Connected, and not held by the moderation gate (a feed's items wait until the moderation log is read). */
  ready(): boolean {
    return (this.shared?.publisher.stats.connected ?? false) && !this.gate?.holds(this.context.uri.path);
  }

  /**
   * This endpoint's figures, for /status and /metrics: the broker's outcomes, resends, in flight and waiting of its
   * address alone (not of the connection's other addresses), and its link's reconnects since it started. The
   * connection's own figures are `amqpConnections()`'.
   */
  stats(): Readonly<Record<string, number>> {
    const publisher = this.shared?.publisher;
    if (!publisher) return {};
    const { lastAcceptedAt: _lastAcceptedAt, ...figures } = publisher.addressStats(this.context.uri.path);
    return { ...figures, reconnects: publisher.stats.reconnects - this.reconnectsAtStart };
  }

  async stop(timeoutMs: number): Promise<number> {
    const shared = this.shared;
    if (!shared) return 0;
    this.shared = undefined;
    shared.users -= 1;
    if (shared.users > 0) {
      // Others still use the connection: wait for this endpoint's own messages only.
      const allSettled = this.unsettled === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.onSettled = resolve));
      const settled = await settledWithin(allSettled, timeoutMs, this.context.clock);
      this.onSettled = undefined;
      return settled ? 0 : this.unsettled;
    }
    connections.delete(this.key);
    if (shared.outbox) {
      // What the broker has not accepted yet stays in the outbox for the next start: nothing is abandoned.
      const started = this.context.clock.now();
      await shared.outbox.forwarder.stop(timeoutMs);
      await shared.publisher.close(Math.max(0, timeoutMs - (this.context.clock.now() - started)));
      const waiting = shared.outbox.store.depth;
      shared.outbox.store.close();
      if (waiting > 0) this.context.log.info({ waiting }, 'outbox: kept for the next start');
      return 0;
    }
    return shared.publisher.close(timeoutMs);
  }
}

export const amqpComponent: Component = {
  scheme: 'amqp',
  doc: 'Publishes each exchange as JSON over AMQP 1.0 (rhea) to a broker address, pipelined, resolving when the broker accepts it.',
  path: { doc: 'the target address, e.g. /topic/feed.cats', required: true },
  options: {
    maxInFlight: { type: 'integer', doc: `messages sent but not yet settled on the shared connection; default the config's broker.window, else ${DEFAULT_WINDOW}`, min: 1, max: MAX_WINDOW },
  },
  createProducer: (context) => new AmqpProducer(context),
};
