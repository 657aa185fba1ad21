import { resolve } from 'node:path';
import { AmqpPublisher } from '../../amqp/publisher.js';
import { DEFAULT_WINDOW, MAX_WINDOW } from '../../amqp/window.js';
import { OutboxForwarder } from '../../outbox/forwarder.js';
import { Outbox, type OutboxStats } from '../../outbox/outbox.js';
import { settledWithin } from '../../engine/route.js';
import type { Component, EndpointContext, Exchange, Producer } from '../../engine/types.js';

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
  /** With an outbox: sends go to it, and the forwarder takes them to the broker. */
  outbox?: { store: Outbox; forwarder: OutboxForwarder };
}

/** The outbox figures of every shared connection, for /metrics (one outbox per broker and login). */
export function outboxStats(): OutboxStats[] {
  return [...connections.values()].flatMap((shared) => (shared.outbox ? [shared.outbox.store.stats()] : []));
}

/** One connection per broker and login, shared by every amqp: endpoint of the process. */
const connections = new Map<string, Shared>();

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
      shared = { publisher, users: 0 };
      const outbox = this.context.settings.outbox as OutboxSettings | undefined;
      if (outbox) {
        const store = new Outbox({ file: resolve(this.context.baseDir, outbox.file), maxItems: outbox.maxItems, maxAgeMs: outbox.maxAgeMs });
        const forwarder = new OutboxForwarder(store, publisher, log);
        forwarder.start();
        shared.outbox = { store, forwarder };
        log.info({ file: outbox.file, waiting: store.depth }, store.depth > 0 ? 'outbox: sending what the last run left' : 'outbox: open');
      }
      connections.set(this.key, shared);
    }
    shared.users += 1;
    this.shared = shared;
    // The feed's (or status topic's) address exists from the worker's start, not from its first post.
    shared.publisher.declare(this.context.uri.path);
  }

  /** Not async: with room in flight (the common case) a message costs the publisher's promise and one more. */
  send(exchange: Exchange): Promise<void> {
    const publisher = this.shared?.publisher;
    if (!publisher) return Promise.reject(new Error(`${this.context.uri.raw}: not started`));
    let id: string;
    let json: string;
    try {
      const body = exchange.body as { id?: unknown } | string;
      id = String(exchange.headers.messageId ?? (typeof body === 'object' && body !== null && typeof body.id === 'string' ? body.id : exchange.id));
      json = typeof body === 'string' ? body : JSON.stringify(body);
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
    const sent = publisher.hasRoom() ? publisher.publish(address, id, json) : publisher.room().then(() => publisher.publish(address, id, json));
    return sent.finally(this.settled);
  }

  /** One function for every message, not a closure each. */
  private readonly settled = (): void => {
    this.unsettled -= 1;
    if (this.unsettled === 0) this.onSettled?.();
  };

  ready(): boolean {
    return this.shared?.publisher.stats.connected ?? false;
  }

  /** The shared connection's figures, for /status and /metrics. */
  stats(): Readonly<Record<string, number>> {
    const stats = this.shared?.publisher.stats;
    if (!stats) return {};
    const { connected: _connected, ...figures } = stats;
    const outbox = this.shared?.outbox?.store.stats();
    if (!outbox) return figures;
    return { ...figures, outboxDepth: outbox.depth, outboxOldestAgeMs: outbox.oldestAgeMs, outboxDroppedFull: outbox.droppedFull, outboxDroppedExpired: outbox.droppedExpired };
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
