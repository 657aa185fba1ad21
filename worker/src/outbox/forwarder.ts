import type { PublishResult } from '../amqp/publisher.js';
import type { Logger } from '../engine/types.js';
import type { Outbox } from './outbox.js';

/** The part of the AMQP publisher the forwarder drives: a window of messages in flight, each settled by the broker. */
export interface WindowedPublisher {
  /** Resolves `dropped` when the moderation gate kept the message off the broker (void: accepted). */
  publish(address: string, id: string, json: string): Promise<PublishResult | void>;
  hasRoom(): boolean;
  room(): Promise<void>;
}

export interface ForwarderStats {
  /** Handed to the publisher and accepted by the broker. */
  forwarded: number;
  /** The broker refused for good (rejected): removed from the outbox and counted, never retried forever. */
  refused: number;
  /** Kept off the broker by the moderation gate (a hidden item, a blocked author's, a full pending queue): removed and counted. */
  dropped: number;
}

/**
 * Moves messages from the outbox to the broker in outbox order, keeping the publisher's window full; a message leaves
 * the outbox when the broker accepted it. After a restart it starts again from the oldest message in the outbox, so a
 * message the broker accepted just before a crash may be sent twice (at most a window's worth): consumers
 * de-duplicate by message id.
 */
export class OutboxForwarder {
  private running = false;
  /** The highest position handed to the publisher. */
  private handedOut = 0;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  private expiry: NodeJS.Timeout | undefined;
  readonly stats: ForwarderStats = { forwarded: 0, refused: 0, dropped: 0 };

  constructor(
    private readonly outbox: Outbox,
    private readonly publisher: WindowedPublisher,
    private readonly log: Logger,
    /** How often messages past the outbox's maxAge are dropped. */
    private readonly expireEveryMs = 10_000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.outbox.expire();
    this.expiry = setInterval(() => {
      const expired = this.outbox.expire();
      if (expired > 0) this.log.warn({ expired }, 'outbox: dropped messages older than its maxAge');
    }, this.expireEveryMs);
    this.expiry.unref();
    this.loop = this.run();
  }

  /** A message was put: send it when there is room. */
  notify(): void {
    this.wake?.();
  }

  /**
   * Stops handing out messages and waits up to `timeoutMs` for those in flight to be settled. What is left stays in
   * the outbox for the next start: nothing is abandoned.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.running = false;
    if (this.expiry) clearInterval(this.expiry);
    this.wake?.();
    await this.loop;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.publisher.hasRoom()) {
        await this.publisher.room();
        continue;
      }
      const entries = this.outbox.after(this.handedOut, 256);
      if (entries.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      for (const entry of entries) {
        if (!this.running) break;
        if (!this.publisher.hasRoom()) await this.publisher.room();
        this.handedOut = entry.seq;
        this.inFlight += 1;
        this.publisher.publish(entry.address, entry.messageId, entry.body).then(
          (result) => {
            this.outbox.remove(entry.seq);
            if (result === 'dropped') this.stats.dropped += 1;
            else this.stats.forwarded += 1;
            this.settled();
          },
          (error: Error & { outcome?: string }) => {
            // Closed while in flight (a shutdown): it stays in the outbox for the next start.
            if (error.outcome === 'closed') return this.settled();
            // The publisher retries what a reconnect or a release interrupted; what reaches here is a refusal.
            this.outbox.remove(entry.seq);
            this.stats.refused += 1;
            this.log.error({ address: entry.address, id: entry.messageId, err: error }, 'outbox: the broker refused a message for good; dropped');
            this.settled();
          },
        );
      }
    }
  }

  private settled(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idle?.();
  }
}
