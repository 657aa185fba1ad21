import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import rhea, { type Connection, type Delivery, type EventContext, type Sender } from 'rhea';
import { jitteredBackoff } from '../engine/backoff.js';
import { connectionFailure, describeError } from './connection-failure.js';
import { restartOnSessionEnd } from './session-end.js';
import type { Logger } from '../engine/types.js';
import type { PublishGate } from '../moderation/gate.js';

/** What the broker said about one message, by AMQP 1.0 outcome. */
export type Outcome = 'accepted' | 'released' | 'rejected' | 'modified';

/**
 * How a publish ended well: the broker accepted the message, or the moderation gate dropped it (a hidden item, a
 * blocked author's post, an item a full pending queue refused), counted there and never sent (again).
 */
export type PublishResult = 'accepted' | 'dropped';

export interface PublisherOptions {
  /** `amqp://host:port` or `amqps://host:port`. */
  url: string;
  /**
   * More brokers to fail over to: each connection attempt after a failure goes to the next URL of `[url, ...failover]`
   * (a primary and its backup, or a second region).
   */
  failover?: readonly string[];
  /**
   * How long the broker may stay silent before the link counts as dead (AMQP idle timeout: the broker sends empty
   * frames at half this interval while idle). Default 10 000: a cut or blackholed link is noticed within seconds.
   */
  idleTimeoutMs?: number;
  username?: string;
  password?: string;
  /** AMQP container id, shown in the broker's connection list. */
  containerId?: string;
  /** Messages sent but not yet settled, across all addresses; `publish` callers wait for room. Default 1000. */
  maxInFlight?: number;
  /** First reconnect delay in ms, doubling up to `maxReconnectDelayMs`, each ±20 % so workers do not return in step. Default 250. */
  initialReconnectDelayMs?: number;
  /** Default 30 000. */
  maxReconnectDelayMs?: number;
  /** A released or modified message is sent again up to this many times before its publish fails. Default 10. */
  maxAttempts?: number;
}

/** What the broker made of the messages sent to one address, counted as the outcomes arrive. */
export interface AddressCounts {
  accepted: number;
  released: number;
  rejected: number;
  modified: number;
  /** Messages to this address sent again after a disconnect or a released/modified outcome. */
  resent: number;
  /** Epoch ms the broker last accepted a message to this address; absent until it first does. */
  lastAcceptedAt?: number;
}

/** One address's figures: its counts, and its messages in flight and waiting now. */
export interface AddressStats extends AddressCounts {
  inFlight: number;
  queued: number;
}

/** The connection's figures, every address together. */
export interface PublisherStats {
  accepted: number;
  released: number;
  rejected: number;
  modified: number;
  /** Messages sent again after a disconnect or a released/modified outcome. */
  resent: number;
  reconnects: number;
  inFlight: number;
  queued: number;
  connected: boolean;
}

/** A publish the broker refused for good (rejected, or released/modified too often). */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly outcome: Outcome | 'link-error' | 'closed',
  ) {
    super(message);
  }
}

interface Pending {
  id: string;
  address: string;
  body: Buffer;
  attempts: number;
  settled: boolean;
  /** The caller's own note that it is settled, either way, before the promise settles (see `publish`). */
  onSettled: (() => void) | undefined;
  resolve: (result: PublishResult) => void;
  reject: (error: PublishError) => void;
}

/**
 * Publishes JSON messages over AMQP 1.0 with rhea, pipelined: messages go out while the broker grants credit, and
 * each outcome is matched to its message by our own id (delivery ids restart on reconnect).
 *
 * After a disconnect every unsettled message is sent again once the connection is back, so delivery is
 * at-least-once; consumers de-duplicate by `message_id`.
 */
export class AmqpPublisher extends EventEmitter {
  private readonly options: Required<Omit<PublisherOptions, 'username' | 'password'>> & Pick<PublisherOptions, 'username' | 'password'>;
  /** Failed connection attempts since the last open one: the reconnect delay grows with it. */
  private failures = 0;
  /** The broker URL of the current (or last) connection attempt. */
  private current = '';
  /** The broker URLs, tried in turn, and how many attempts were made: the next goes to the next URL. */
  private brokers: { raw: string; host: string; port: number; tls: boolean }[] = [];
  private attempts = 0;
  private connection: Connection | undefined;
  private readonly senders = new Map<string, Sender>();
  /** Addresses to attach a sender to on every connect, before anything is sent: the broker makes them then. */
  private readonly declared = new Set<string>();
  /** Waiting to be sent, per address, in order. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly inFlight = new Map<Delivery, Pending>();
  /** Messages in `queues`, all addresses together: kept as they change, so that counting them costs nothing per message. */
  private queuedCount = 0;
  private readonly roomWaiters: (() => void)[] = [];
  /** Per address, from the first publish or `declare`: the connection's figures split by where they went. */
  private readonly counts = new Map<string, AddressCounts>();
  /** Addresses the broker refused a sender for, with why, until when publishes to them fail at once. */
  private readonly refused = new Map<string, { error: string; until: number }>();
  private everConnected = false;
  private closing = false;
  /** The broker's refusal (a failed login, a close condition) of the attempt under way: the cause its disconnect echoes. */
  private refusal: unknown;
  /** The wait before the next attempt, as the last reconnect decided it. */
  private nextRetryMs = 0;
  /** Our own retry, when rhea gives up after a refused login (it never reconnects after a SASL failure). */
  private retryTimer: NodeJS.Timeout | undefined;
  /** The moderation gate every message passes right before it is sent (see setGate). */
  private gate: PublishGate | undefined;
  /** Counters kept as things happen; `inFlight` and `queued` are read when asked for (a scrape), not kept per message. */
  readonly stats: PublisherStats = withGauges(
    { accepted: 0, released: 0, rejected: 0, modified: 0, resent: 0, reconnects: 0, connected: false },
    { inFlight: () => this.inFlight.size, queued: () => this.queuedCount },
  );

  constructor(
    options: PublisherOptions,
    private readonly log: Logger,
  ) {
    super();
    this.options = {
      containerId: `livewall-worker-${process.pid}`,
      maxInFlight: 1000,
      initialReconnectDelayMs: 250,
      maxReconnectDelayMs: 30_000,
      maxAttempts: 10,
      failover: [],
      idleTimeoutMs: 10_000,
      ...options,
    };
  }

  /** Opens the connection; reconnects on its own from then on. Resolves at once: see `connected()`. */
  start(): void {
    this.brokers = [this.options.url, ...this.options.failover].map((raw) => {
      const url = new URL(raw);
      if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw new Error(`broker URL ${raw}: expected amqp:// or amqps://`);
      const tls = url.protocol === 'amqps:';
      return { raw, host: url.hostname, port: Number(url.port || (tls ? 5671 : 5672)), tls };
    });
    this.open();
  }

  /** A connection, with its listeners: once at the start, and again after a refused login (see retryAfterRefusal). */
  private open(): void {
    const container = rhea.create_container({ id: this.options.containerId });
    const connection = container.connect({
      username: this.options.username,
      password: this.options.password,
      // The delay before each new attempt: jittered, growing while attempts fail, back to the first after an open.
      reconnect: () => (this.nextRetryMs = jitteredBackoff(this.failures++, this.options.initialReconnectDelayMs, this.options.maxReconnectDelayMs)),
      // Each attempt goes to the next broker of the list.
      connection_details: () => {
        const broker = this.brokers[this.attempts++ % this.brokers.length] as (typeof this.brokers)[number];
        this.current = broker.raw;
        this.refusal = undefined;
        return {
          host: broker.host,
          port: broker.port,
          connect: (port: number, host: string, options: object, callback: () => void) =>
            broker.tls ? tls.connect(port, host, { ...options, servername: host }, callback) : net.connect(port, host, callback),
        };
      },
      idle_time_out: this.options.idleTimeoutMs,
      // A broker restart can refuse a login for a moment; keep trying instead of giving up for good.
      all_errors_non_fatal: true,
    } as unknown as rhea.ConnectionOptions);
    this.connection = connection;
    connection.on('connection_open', () => this.onOpen());
    connection.on('disconnected', (context: EventContext) => this.onDisconnected(context));
    // Logged with the disconnect that follows it, as its cause.
    connection.on('connection_error', (context: EventContext) => (this.refusal = context.error ?? context.connection.error));
    // A frame rhea cannot place (RabbitMQ 3.10 sends a second Close when it refuses a connection) ends the
    // connection; without a listener rhea prints it to stderr with a hex dump of the buffer. The disconnect that
    // follows logs the refusal, if there was one, or this.
    connection.on('protocol_error', (error: unknown) => (this.refusal ??= error));
    connection.on('sendable', (context: EventContext) => this.pump(this.addressOf(context.sender)));
    connection.on('accepted', (context: EventContext) => this.settle(context, 'accepted'));
    connection.on('released', (context: EventContext) => this.settle(context, 'released'));
    connection.on('rejected', (context: EventContext) => this.settle(context, 'rejected'));
    connection.on('modified', (context: EventContext) => this.settle(context, 'modified'));
    connection.on('sender_error', (context: EventContext) => this.onSenderError(context));
    restartOnSessionEnd(connection, () => this.closing, (reason) => this.log.warn({ broker: this.current, reason }, 'the broker ended the session; reconnecting'));
  }

  /** Resolves when the connection is open. */
  connected(): Promise<void> {
    if (this.stats.connected) return Promise.resolve();
    return new Promise((resolve) => this.once('connected', resolve));
  }

  /** Whether there is room for another message in flight now. */
  hasRoom(): boolean {
    return this.pendingCount() < this.options.maxInFlight;
  }

  /** Resolves when there is room for another message in flight; `publish` does not wait by itself. */
  room(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Puts every message, right before it is sent (the first time and every time again), past `gate`: it may hold
   * it, or drop it (the publish resolves as `dropped`). A gate's release sends what it held.
   */
  setGate(gate: PublishGate): void {
    if (this.gate === gate) return;
    this.gate = gate;
    gate.onRelease(() => {
      for (const address of this.queues.keys()) this.pump(address);
    });
  }

  /**
   * Sends `json` to `address` with `message_id` = `id`; resolves when the broker accepts it, or the gate drops it.
   * `onSettled`, when given, is called once it is settled either way, right before the promise is: a caller that
   * counts its messages needs no `then` of its own.
   */
  publish(address: string, id: string, json: string, onSettled?: () => void): Promise<PublishResult> {
    if (this.closing) {
      onSettled?.();
      return Promise.reject(new PublishError(`publisher is closing; ${id} not sent`, 'closed'));
    }
    const refusal = this.refused.get(address);
    if (refusal && refusal.until > Date.now()) {
      onSettled?.();
      return Promise.reject(new PublishError(`broker refused sending to ${address}: ${refusal.error}`, 'link-error'));
    }
    this.countsOf(address);
    return new Promise((resolve, reject) => {
      this.enqueue({ id, address, body: Buffer.from(json, 'utf8'), attempts: 0, settled: false, onSettled, resolve, reject }, 'back');
      this.pump(address);
    });
  }

  /** Waits up to `timeoutMs` for every message to be settled, then closes. Returns how many were abandoned. */
  async close(timeoutMs: number): Promise<number> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    if (this.pendingCount() > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.off('idle', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.once('idle', done);
      });
    }
    const abandoned = this.pendingCount();
    for (const entry of [...this.inFlight.values(), ...[...this.queues.values()].flat()]) {
      this.finish(entry, new PublishError(`publisher closed before ${entry.id} was settled`, 'closed'));
    }
    this.inFlight.clear();
    this.queues.clear();
    this.queuedCount = 0;
    this.emitIfIdle();
    // Closing lets the broker end the socket, which also stops rhea's heart-beat and reconnect timers.
    const connection = this.connection;
    if (connection && connection.is_open()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        connection.once('connection_close', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.close();
      });
    } else {
      connection?.close();
    }
    return abandoned;
  }

  /** One address's figures: zeros for an address nothing was sent to yet. */
  addressStats(address: string): AddressStats {
    return this.addresses([address]).get(address) as AddressStats;
  }

  /** The figures of `only` these addresses, or of every address published to or declared on this publisher. */
  addresses(only?: readonly string[]): Map<string, AddressStats> {
    const stats = new Map<string, AddressStats>();
    for (const address of only ?? this.counts.keys()) stats.set(address, { ...(this.counts.get(address) ?? newCounts()), inFlight: 0, queued: this.queues.get(address)?.length ?? 0 });
    for (const entry of this.inFlight.values()) {
      const figures = stats.get(entry.address);
      if (figures) figures.inFlight += 1;
    }
    return stats;
  }

  private countsOf(address: string): AddressCounts {
    let counts = this.counts.get(address);
    if (!counts) {
      counts = newCounts();
      this.counts.set(address, counts);
    }
    return counts;
  }

  private pendingCount(): number {
    return this.queuedCount + this.inFlight.size;
  }

  private enqueue(entry: Pending, end: 'front' | 'back'): void {
    let queue = this.queues.get(entry.address);
    if (!queue) {
      queue = [];
      this.queues.set(entry.address, queue);
    }
    if (end === 'back') queue.push(entry);
    else queue.unshift(entry);
    this.queuedCount += 1;
  }

  private sender(address: string): Sender | undefined {
    const connection = this.connection;
    if (!connection || !this.stats.connected) return undefined;
    let sender = this.senders.get(address);
    if (!sender) {
      // rhea reports a modified outcome as released unless told not to: counted apart, both are sent again.
      sender = connection.open_sender({ target: { address }, autosettle: true, treat_modified_as_released: false } as rhea.SenderOptions);
      this.senders.set(address, sender);
    }
    return sender;
  }

  private pump(address: string | undefined): void {
    if (address === undefined) return;
    const queue = this.queues.get(address);
    if (!queue || queue.length === 0) return;
    const sender = this.sender(address);
    if (!sender) return;
    while (queue.length > 0 && sender.sendable()) {
      const entry = queue[0] as Pending;
      const verdict = this.gate ? this.gate.check(address, entry.id, entry.body) : 'send';
      // Held: it and those after it wait, in order, for the gate's release.
      if (verdict === 'hold') return;
      queue.shift();
      this.queuedCount -= 1;
      if (verdict !== 'send') {
        this.finish(entry, undefined, 'dropped');
        this.emitIfIdle();
        continue;
      }
      if (entry.attempts > 0) {
        this.stats.resent++;
        this.countsOf(address).resent++;
      }
      entry.attempts++;
      const delivery = sender.send({
        message_id: entry.id,
        content_type: 'application/json',
        durable: true,
        body: rhea.message.data_section(entry.body),
      });
      this.inFlight.set(delivery, entry);
    }
  }

  private settle(context: EventContext, outcome: Outcome): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const entry = this.inFlight.get(delivery);
    if (!entry) return;
    this.inFlight.delete(delivery);
    this.stats[outcome]++;
    const counts = this.countsOf(entry.address);
    counts[outcome]++;
    if (outcome === 'accepted') {
      counts.lastAcceptedAt = Date.now();
      this.finish(entry);
    } else if ((outcome === 'rejected' || entry.attempts >= this.options.maxAttempts) && this.gate?.refused(entry.address)) {
      // A full pending queue (approval mode): counted as overflow by the gate and dropped, not tried again.
      this.finish(entry, undefined, 'dropped');
    } else if (outcome === 'rejected') {
      const error = describeError((delivery.remote_state as { error?: unknown } | undefined)?.error);
      this.finish(entry, new PublishError(`broker rejected ${entry.id} on ${entry.address}: ${error}`, 'rejected'));
    } else if (entry.attempts >= this.options.maxAttempts) {
      this.finish(entry, new PublishError(`broker ${outcome} ${entry.id} on ${entry.address} ${entry.attempts} times`, outcome));
    } else {
      this.enqueue(entry, 'back');
      this.pump(entry.address);
    }
    this.emitIfIdle();
  }

  private finish(entry: Pending, error?: PublishError, result: PublishResult = 'accepted'): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.onSettled?.();
    if (error) entry.reject(error);
    else entry.resolve(result);
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    while (this.roomWaiters.length > 0 && this.pendingCount() < this.options.maxInFlight) {
      this.roomWaiters.shift()?.();
    }
  }

  /**
   * Attaches a sender to `address` now if connected, and on every connect, before anything is sent to it: the broker
   * makes a feed's address when its publisher attaches, and viewers may only subscribe to addresses that exist, so a
   * page opened before the first post is not refused.
   */
  declare(address: string): void {
    this.declared.add(address);
    this.countsOf(address);
    this.sender(address);
  }

  private onOpen(): void {
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.failures = 0;
    this.stats.connected = true;
    this.log.info({ broker: this.current, reconnects: this.stats.reconnects }, 'connected to broker');
    this.emit('connected');
    for (const address of this.declared) this.sender(address);
    for (const address of this.queues.keys()) this.pump(address);
  }

  private onDisconnected(context: EventContext): void {
    const wasConnected = this.stats.connected;
    this.stats.connected = false;
    // Unsettled deliveries vanish with the connection and delivery ids restart: send those messages again,
    // ahead of the ones that never left, in their original order.
    const unsettled = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const entry of unsettled.reverse()) this.enqueue(entry, 'front');
    this.senders.clear();
    if (this.closing) return;
    if (!(context as EventContext & { reconnecting?: boolean }).reconnecting) this.retryAfterRefusal();
    const ended = context.error ?? context.connection.error;
    if (wasConnected && !this.refusal) {
      const reason = describeError(ended);
      this.log.warn({ broker: this.current, unsettled: unsettled.length, reason, retryInMs: this.nextRetryMs }, 'disconnected from broker; reconnecting');
      this.emit('disconnected', reason);
      return;
    }
    const failure = connectionFailure(this.current, this.options.username, this.refusal, ended);
    this.log[failure.level]({ broker: this.current, user: this.options.username, attempt: this.failures, retryInMs: this.nextRetryMs, reason: failure.reason }, `${failure.message}; retrying`);
    this.emit('disconnected', failure.reason);
  }

  /**
   * rhea does not reconnect a connection whose login was refused (it keeps the SASL failure for good, and a reused
   * connection misreads the next handshake): after the same backoff as any other failure, open a new one, so that a
   * password fixed on the broker is picked up without restarting the worker.
   */
  private retryAfterRefusal(): void {
    const refused = this.connection;
    this.nextRetryMs = jitteredBackoff(this.failures++, this.options.initialReconnectDelayMs, this.options.maxReconnectDelayMs);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.closing) return;
      refused?.removeAllListeners();
      this.open();
    }, this.nextRetryMs);
  }

  /**
   * The address a sender was opened for. Not `sender.target`: that reflects the broker's attach, which is empty
   * when the broker refused the link.
   */
  private addressOf(sender: Sender | undefined): string | undefined {
    for (const [address, open] of this.senders) if (open === sender) return address;
    return undefined;
  }

  private onSenderError(context: EventContext): void {
    const address = this.addressOf(context.sender);
    const error = describeError(context.sender?.error);
    if (address === undefined) return;
    // One log line per refusal; publishes to the address fail fast until it is tried again.
    this.log.error({ address, err: error, retryInMs: REFUSAL_BACKOFF_MS }, 'broker refused the sender link');
    this.refused.set(address, { error, until: Date.now() + REFUSAL_BACKOFF_MS });
    this.senders.delete(address);
    for (const [delivery, entry] of this.inFlight) {
      if (entry.address === address) {
        this.inFlight.delete(delivery);
        this.finish(entry, new PublishError(`broker refused sending to ${address}: ${error}`, 'link-error'));
      }
    }
    const queue = this.queues.get(address) ?? [];
    for (const entry of queue) {
      this.finish(entry, new PublishError(`broker refused sending to ${address}: ${error}`, 'link-error'));
    }
    this.queuedCount -= queue.length;
    this.queues.delete(address);
    this.emitIfIdle();
  }

  /** Emits `idle` when nothing is left to settle (what `close` waits for). */
  private emitIfIdle(): void {
    if (this.pendingCount() === 0) this.emit('idle');
  }
}

/** The counters as given, plus gauges that are read (enumerable, so a spread or a scrape sees them) when asked for. */
function withGauges(counters: Omit<PublisherStats, 'inFlight' | 'queued'>, read: { inFlight: () => number; queued: () => number }): PublisherStats {
  return Object.defineProperties(counters as PublisherStats, {
    inFlight: { enumerable: true, get: read.inFlight },
    queued: { enumerable: true, get: read.queued },
  });
}

function newCounts(): AddressCounts {
  return { accepted: 0, released: 0, rejected: 0, modified: 0, resent: 0 };
}

/** How long publishes to an address fail fast after the broker refused a sender for it. */
const REFUSAL_BACKOFF_MS = 30_000;

