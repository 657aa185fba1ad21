import { EventEmitter } from 'node:events';
import { parseModerationAction, type ModerationAction } from '@livewall/contract';
import { StompConnection } from '../components/stomp/connection.js';
import { describeTarget, type StompTarget } from '../components/stomp/options.js';
import { jitteredBackoff } from '../engine/backoff.js';
import type { Clock, Logger } from '../engine/types.js';

/**
 * How long the log must stay quiet after the broker confirmed the subscription (its RECEIPT) before the log counts as
 * read to its end. The log has no end marker (the worker may not write to it): both brokers send a new subscriber
 * what the log holds at once, in order, so a second with nothing new after the RECEIPT and the last entry means the
 * backlog is through.
 */
export const CATCH_UP_QUIET_MS = 1000;

/**
 * Subscribes to the log on `connection` (from its start, acknowledging each entry) and resolves once it has read it
 * through: `quietMs` without an entry after the broker's RECEIPT. Resolves false when the connection ended (or `stop`
 * aborted) first.
 */
async function readThrough(connection: StompConnection, options: { destination: string; headers: Readonly<Record<string, string>>; clock: Clock; quietMs: number; onBody: (body: string) => void }, stop?: AbortSignal): Promise<boolean> {
  const { clock, quietMs } = options;
  let lastAt = clock.now();
  await connection.subscribe(
    options.destination,
    (body) => {
      lastAt = clock.now();
      options.onBody(body);
    },
    { headers: options.headers, ack: 'client-individual' },
  );
  lastAt = Math.max(lastAt, clock.now());
  const ended = new AbortController();
  void connection.closed.then(() => ended.abort());
  stop?.addEventListener('abort', () => ended.abort(), { once: true });
  while (!ended.signal.aborted && clock.now() - lastAt < quietMs) {
    await clock.sleep(Math.max(10, quietMs - (clock.now() - lastAt)), ended.signal);
  }
  return connection.isOpen && !ended.signal.aborted;
}

/**
 * Reads the whole log once (`moderate list`): connects, reads it through (see readThrough), disconnects. Rejects
 * when it cannot connect, log in or subscribe, or when the connection ends before the log was read.
 */
export async function readLogOnce(options: { target: StompTarget; destination: string; headers: Readonly<Record<string, string>>; clock: Clock; quietMs?: number }): Promise<{ actions: ModerationAction[]; invalid: number }> {
  const connection = await StompConnection.connect(options.target, options.clock);
  const actions: ModerationAction[] = [];
  let invalid = 0;
  try {
    const read = await readThrough(connection, {
      ...options,
      quietMs: options.quietMs ?? CATCH_UP_QUIET_MS,
      onBody: (body) => {
        const parsed = parseModerationAction(body);
        if (parsed.ok) actions.push(parsed.action);
        else invalid += 1;
      },
    });
    if (!read) throw new Error(`the connection ended before the log was read: ${(await connection.closed)?.message ?? 'closed'}`);
  } finally {
    await connection.close(options.clock, 2000);
  }
  return { actions, invalid };
}

export interface LogFollowerOptions {
  target: StompTarget;
  /** The log's STOMP destination (profile.moderation.logDestination). */
  destination: string;
  /** More SUBSCRIBE headers that read it from its start (profile.moderation.logSubscribeHeaders). */
  headers: Readonly<Record<string, string>>;
  /** Each valid entry, in the log's order. */
  onAction: (action: ModerationAction) => void;
  clock: Clock;
  log: Logger;
  quietMs?: number;
  firstRetryMs?: number;
  maxRetryMs?: number;
}

/** What /status shows of the follower. */
export interface LogFollowerStats {
  connected: boolean;
  /** Whether the log has been read to its end since the last (re)subscription: until then the feeds' publishing is held. */
  caughtUp: boolean;
  /** Valid entries read (every read from the start counts again). */
  entries: number;
  /** Entries that are not a valid moderation message: counted and skipped. */
  invalid: number;
  /** Subscriptions after the first. */
  resubscribes: number;
}

/**
 * Reads the moderation log from its start over STOMP, keeps reading what comes after, and says when it has read the
 * backlog (`caught-up`). When the connection ends it connects and reads the log from its start again, after a backoff
 * (1 s doubling to 30 s, jittered), and is not caught up until it has read it through again.
 */
export class ModerationLogFollower extends EventEmitter {
  readonly stats: LogFollowerStats = { connected: false, caughtUp: false, entries: 0, invalid: 0, resubscribes: 0 };
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private connection: StompConnection | undefined;
  private subscriptions = 0;

  constructor(private readonly options: LogFollowerOptions) {
    super();
  }

  get caughtUp(): boolean {
    return this.stats.caughtUp;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once the log has been read to its end (or at a stop). */
  whenCaughtUp(): Promise<void> {
    if (this.stats.caughtUp || this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.off('caught-up', done);
        this.off('stopped', done);
        resolve();
      };
      this.on('caught-up', done);
      this.on('stopped', done);
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.connection?.close(this.options.clock, 1000);
    await this.loop;
    this.emit('stopped');
  }

  private handle(body: string): void {
    const parsed = parseModerationAction(body);
    if (!parsed.ok) {
      this.stats.invalid += 1;
      this.options.log.warn({ reason: parsed.reason }, 'moderation log: an entry is not a valid moderation message; skipped');
      return;
    }
    this.stats.entries += 1;
    this.options.onAction(parsed.action);
  }

  private async run(): Promise<void> {
    const { clock, log, target, destination } = this.options;
    const quietMs = this.options.quietMs ?? CATCH_UP_QUIET_MS;
    const broker = describeTarget(target);
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let reason: Error | undefined;
      try {
        const connection = await StompConnection.connect(target, clock, this.stopping.signal);
        this.connection = connection;
        this.stats.connected = true;
        log.info({ broker, destination }, 'moderation log: connected; reading it from its start');
        const read = await readThrough(connection, { destination, headers: this.options.headers, clock, quietMs, onBody: (body) => this.handle(body) }, this.stopping.signal);
        if (this.subscriptions++ > 0) this.stats.resubscribes += 1;
        failures = 0;
        if (read) {
          this.stats.caughtUp = true;
          log.info({ broker, destination, entries: this.stats.entries, invalid: this.stats.invalid }, 'moderation log: read to its end');
          this.emit('caught-up');
        }
        reason = await connection.closed;
      } catch (error) {
        reason = error as Error;
      }
      this.connection = undefined;
      this.stats.connected = false;
      this.stats.caughtUp = false;
      if (this.stopping.signal.aborted) break;
      const retryInMs = jitteredBackoff(failures++, this.options.firstRetryMs ?? 1000, this.options.maxRetryMs ?? 30_000);
      log.warn({ broker, destination, reason: reason?.message, retryInMs }, 'moderation log: not connected; reading it again from its start');
      this.emit('lost');
      await clock.sleep(retryInMs, this.stopping.signal);
    }
  }
}
