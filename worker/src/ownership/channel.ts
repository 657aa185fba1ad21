import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { brokerProfile, type BrokerProfileName } from '@livewall/contract';
import rhea, { type Connection, type EventContext, type Receiver, type Sender, type Session } from 'rhea';
import { jitteredBackoff } from '../engine/backoff.js';
import type { Logger } from '../engine/types.js';
import { parseLeaseMessage, type LeaseMessage } from './messages.js';
import { connectionFailure, describeError } from '../amqp/connection-failure.js';

/** What the coordinator needs of the broker: the channel below, or a fake one in tests. */
export interface LeaseBus extends EventEmitter<LeaseBusEvents> {
  /** Subscribes to a feed's lease channel (again after every reconnect) and sends there. */
  watch(feed: string): void;
  unwatch(feed: string): void;
  /** Sends at once when the link is up; false when it is not (the message is dropped: leases are renewed anyway). */
  send(message: LeaseMessage): boolean;
  start(): void;
  close(): Promise<void>;
}

export interface LeaseBusEvents {
  /** A message from the feed's channel, the worker's own included (but not its hellos). */
  message: [LeaseMessage];
  /**
   * The worker hears the feed's channel live, after everything the broker replays of it (its last messages): its own
   * `hello`, sent once both links were open, came back.
   */
  synced: [feed: string];
  /** The connection is gone; every feed is unsynced until it is back. */
  lost: [];
  /**
   * The broker refuses the feed's lease channel to this login for good, or has none (its setup predates ownership);
   * `remedy` says what the broker's setup lacks.
   */
  refused: [feed: string, reason: string, remedy: string];
}

export interface LeaseChannelOptions {
  /** The brokers, tried in turn: `amqp://host:port` or `amqps://host:port`. */
  urls: readonly string[];
  /** The kind of broker, whose profile (contract/src/profiles.ts) says where it keeps a feed's leases. */
  profile: BrokerProfileName;
  username?: string;
  password?: string;
  /** How long the broker may stay silent before the link counts as dead. Default 10 000. */
  idleTimeoutMs?: number;
  /** The AMQP container id, shown in the broker's connection list. */
  containerId: string;
  /** Each reconnect waits this long, doubling to `maxReconnectDelayMs`, jittered. Default 250. */
  initialReconnectDelayMs?: number;
  /** Default 10 000: a standby worker should not be long without news. */
  maxReconnectDelayMs?: number;
}

interface FeedLink {
  /** Each feed's links on a session of their own: a broker that ends one (a missing exchange) ends no other feed's. */
  session?: Session;
  sender?: Sender;
  receiver?: Receiver;
  /** What this connection's hello carries; a hello from an earlier connection is not this one's. */
  nonce?: string;
  opened: number;
  refused: boolean;
}

/**
 * The lease channels over AMQP 1.0 (rhea): a connection of its own beside the publisher's, with the same brokers
 * and login, a receiver and a sender per feed on the addresses the broker's profile gives. Each connection attempt is
 * a fresh rhea connection (no rhea reconnect), so that links and their state start clean every time.
 *
 * The broker hands a new receiver the channel's last messages first (the profile's `replay`: a retroactive address, a
 * recent-history exchange), before anything sent after it subscribed: the worker sends a `hello` once its links are
 * open, and when that comes back it has heard the channel's recent past and is `synced`.
 */
export class LeaseChannel extends EventEmitter<LeaseBusEvents> implements LeaseBus {
  private readonly feeds = new Map<string, FeedLink>();
  private connection?: Connection;
  private open = false;
  private closing = false;
  private attempt = 0;
  private failures = 0;
  private hellos = 0;
  private retry?: NodeJS.Timeout;
  /** Said in the log since the last open connection: one line when the broker goes away, one when it is back. */
  private complained = false;

  constructor(
    private readonly options: LeaseChannelOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    this.connect();
  }

  watch(feed: string): void {
    if (this.feeds.has(feed)) return;
    const link: FeedLink = { opened: 0, refused: false };
    this.feeds.set(feed, link);
    if (this.open) this.openLinks(feed, link);
  }

  unwatch(feed: string): void {
    const link = this.feeds.get(feed);
    if (!link) return;
    this.feeds.delete(feed);
    link.sender?.close();
    link.receiver?.close();
    link.session?.close();
  }

  send(message: LeaseMessage): boolean {
    const sender = this.feeds.get(message.feed)?.sender;
    if (!this.open || !sender?.sendable()) return false;
    sender.send({ content_type: 'application/json', durable: false, body: rhea.message.data_section(Buffer.from(JSON.stringify(message), 'utf8')) });
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    const connection = this.connection;
    if (!connection) return;
    if (!connection.is_open()) {
      connection.close();
      return;
    }
    // Closing after the last sends: the broker takes the transfers before the close that follows them.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      connection.once('connection_close', () => {
        clearTimeout(timer);
        resolve();
      });
      connection.close();
    });
  }

  private connect(): void {
    if (this.closing) return;
    const raw = this.options.urls[this.attempt++ % this.options.urls.length] as string;
    const url = new URL(raw);
    const secure = url.protocol === 'amqps:';
    const host = url.hostname;
    const port = Number(url.port || (secure ? 5671 : 5672));
    const connection = rhea.create_container({ id: this.options.containerId }).connect({
      username: this.options.username,
      password: this.options.password,
      reconnect: false,
      idle_time_out: this.options.idleTimeoutMs ?? 10_000,
      connection_details: () => ({
        host,
        port,
        connect: (p: number, h: string, options: object, callback: () => void) => (secure ? tls.connect(p, h, { ...options, servername: h }, callback) : net.connect(p, h, callback)),
      }),
    } as unknown as rhea.ConnectionOptions);
    this.connection = connection;
    connection.on('connection_open', () => {
      this.open = true;
      this.failures = 0;
      if (this.complained) this.log.info({ broker: raw }, 'ownership: connected to the broker again');
      else this.log.debug({ broker: raw }, 'ownership: connected to broker');
      this.complained = false;
      for (const [feed, link] of this.feeds) this.openLinks(feed, link);
    });
    // The broker's refusal (a failed login) is the cause the disconnect that follows only echoes.
    let refusal: unknown;
    connection.on('connection_error', (context: EventContext) => (refusal = context.error ?? context.connection.error));
    // A frame rhea cannot place (RabbitMQ sends a subscriber's last transfer after detaching it on close) ends the
    // connection; without these listeners rhea would throw it out of the process, or print it to stderr.
    connection.on('error', (error: unknown) => this.log.debug({ broker: raw, err: describeError(error) }, 'ownership: broken frame from the broker; reconnecting'));
    connection.on('protocol_error', (error: unknown) => this.log.debug({ broker: raw, err: describeError(error) }, 'ownership: protocol error; reconnecting'));
    connection.on('disconnected', (context: EventContext) => {
      const wasOpen = this.open;
      this.open = false;
      for (const link of this.feeds.values()) {
        link.session = undefined;
        link.sender = undefined;
        link.receiver = undefined;
        link.nonce = undefined;
        link.opened = 0;
      }
      if (wasOpen) this.emit('lost');
      if (this.closing) return;
      const delay = jitteredBackoff(this.failures++, this.options.initialReconnectDelayMs ?? 250, this.options.maxReconnectDelayMs ?? 10_000);
      const failure = connectionFailure(raw, this.options.username, refusal, context.error ?? context.connection.error);
      const reason = failure.reason;
      if (failure.level === 'error') {
        // Nothing changes until the operator does: say so on every attempt, as the publisher does.
        this.complained = true;
        this.log.error({ broker: raw, attempt: this.failures, reason, retryInMs: delay }, `ownership: ${failure.message}; feeds wait to learn who owns them`);
      } else if (!this.complained) {
        this.complained = true;
        const what = wasOpen ? 'lost the broker; feeds owned here carry on, the others wait' : `${failure.message}; feeds wait to learn who owns them`;
        this.log.warn({ broker: raw, reason, retryInMs: delay }, `ownership: ${what}`);
      } else {
        this.log.debug({ broker: raw, reason, retryInMs: delay }, 'ownership: still no broker');
      }
      this.retry = setTimeout(() => this.connect(), delay);
      this.retry.unref();
    });
  }

  private openLinks(feed: string, link: FeedLink): void {
    const connection = this.connection;
    if (!connection || link.refused) return;
    const { leases } = brokerProfile(this.options.profile);
    const address = { target: leases.amqpTarget(feed), source: leases.amqpSource(feed) };
    const opened = (): void => {
      link.opened += 1;
      if (link.opened !== 2 || !link.sender) return;
      link.nonce = `${this.options.containerId}/${++this.hellos}`;
      link.sender.send({ content_type: 'application/json', durable: false, body: rhea.message.data_section(Buffer.from(JSON.stringify({ v: 1, kind: 'hello', nonce: link.nonce, feed }), 'utf8')) });
    };
    const failed = (error: unknown): void => {
      const reason = describeError(error);
      // A missing permission or channel does not fix itself; anything else is a broken connection that the next one mends.
      if (/unauthorized|not authorized|does not have permission|not[-_ ]found/i.test(reason)) {
        if (link.refused) return;
        link.refused = true;
        this.emit('refused', feed, reason, leases.setup(feed));
      } else {
        this.log.warn({ feed, address, reason }, 'ownership: the broker closed a lease link; reconnecting');
        connection.close();
      }
    };
    const session = connection.create_session();
    session.begin();
    link.session = session;
    link.receiver = session.open_receiver({ source: { address: address.source }, autoaccept: true, credit_window: 64 });
    link.sender = session.open_sender({ target: { address: address.target }, autosettle: true });
    link.receiver.on('receiver_open', opened);
    link.sender.on('sender_open', opened);
    // A broker refuses a link, or ends the whole session (a channel it does not have).
    session.on('session_error', (context: EventContext) => failed(context.session?.error));
    link.receiver.on('receiver_error', (context: EventContext) => failed(context.receiver?.error));
    link.sender.on('sender_error', (context: EventContext) => failed(context.sender?.error));
    link.receiver.on('message', (context: EventContext) => {
      const body = context.message?.body as { content?: Uint8Array } | string | undefined;
      const bytes = typeof body === 'string' ? body : body?.content;
      if (bytes === undefined) return;
      const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
      const hello = helloNonce(text);
      if (hello !== undefined) {
        if (hello === link.nonce && this.feeds.get(feed) === link) this.emit('synced', feed);
        return;
      }
      const message = parseLeaseMessage(text);
      if (message && message.feed === feed) this.emit('message', message);
    });
  }
}

/** The nonce of a hello body, or undefined for anything else. */
function helloNonce(text: string): string | undefined {
  if (!text.includes('"hello"')) return undefined;
  try {
    const value = JSON.parse(text) as { kind?: unknown; nonce?: unknown };
    return value.kind === 'hello' && typeof value.nonce === 'string' ? value.nonce : undefined;
  } catch {
    return undefined;
  }
}

