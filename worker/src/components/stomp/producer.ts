import type { Clock, Exchange, Logger, Producer } from '../../engine/types.js';
import { StompConnectError, StompConnection, StompReceiptError } from './connection.js';
import { describeTarget, type StompOptions } from './options.js';

/**
 * Sends each exchange's body as JSON text to one destination, each confirmed by a RECEIPT (unless receipt=false).
 * Sends are pipelined: many may await their receipts at once, and the broker answers in order.
 *
 * A lost connection fails the sends still awaiting receipts (the route decides whether to send again: delivery
 * is at least once) and is made again by the next send, so the route's own retry backoff paces reconnects.
 */
export class StompProducer implements Producer {
  private connection: StompConnection | undefined;
  private connecting: Promise<StompConnection> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private handover: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly destination: string,
    private readonly options: StompOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Connects; also after a stop, as the route starts its producers again when it restarts. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connected();
  }

  async send(exchange: Exchange): Promise<void> {
    if (this.stopped) throw new Error(`stomp:${this.destination}: the producer has stopped; exchange ${exchange.id} was not sent`);
    const body = typeof exchange.body === 'string' ? exchange.body : (JSON.stringify(exchange.body) as string | undefined);
    if (body === undefined) throw new Error(`stomp:${this.destination}: exchange ${exchange.id} has a body of type ${typeof exchange.body}, which has no JSON form`);
    const headers: Record<string, string> = { destination: this.destination, 'content-type': 'application/json' };
    const messageId = exchange.headers.messageId;
    if (typeof messageId === 'string' || typeof messageId === 'number') headers['livewall-id'] = String(messageId);
    // Frames go out in the order of the send() calls, also across a reconnect: each waits for the previous one to
    // be handed to the connection (not for its receipt, so sends stay pipelined).
    const handedOver = this.handover
      .then(() => this.connected())
      .then((connection) => ({ confirmed: connection.send(headers, body, this.options.receipt) }));
    this.handover = handedOver.then(
      () => undefined,
      () => undefined,
    );
    // In flight from here on, also while waiting for a connection, so that stop() counts it.
    const sending = handedOver
      .then(({ confirmed }) => confirmed)
      .catch((error: unknown) => {
        throw this.sendError(exchange, error);
      });
    this.inFlight.add(sending);
    try {
      await sending;
    } finally {
      this.inFlight.delete(sending);
    }
  }

  ready(): boolean {
    return !this.stopped && this.connection?.isOpen === true;
  }

  /** Waits up to `timeoutMs` for outstanding receipts, then disconnects; resolves with how many never came. */
  async stop(timeoutMs: number): Promise<number> {
    this.stopped = true;
    const deadline = this.clock.now() + timeoutMs;
    if (this.inFlight.size > 0) {
      const timeout = new AbortController();
      await Promise.race([Promise.allSettled(this.inFlight), this.clock.sleep(timeoutMs, timeout.signal)]);
      timeout.abort();
    }
    const abandoned = this.inFlight.size;
    if (abandoned > 0) this.log.warn({ abandoned, timeoutMs }, 'stomp: stopped with messages the broker had not confirmed');
    // A connect under way is newer than the connection we hold (if any): close what it brings.
    const connection = (await this.connecting?.catch(() => undefined)) ?? this.connection;
    await connection?.close(this.clock, Math.max(0, deadline - this.clock.now()));
    return abandoned;
  }

  private sendError(exchange: Exchange, error: unknown): Error {
    const where = `stomp:${this.destination}`;
    const broker = describeTarget(this.options);
    if (error instanceof StompConnectError) return new Error(`${where}: exchange ${exchange.id} not sent: ${error.message}`);
    if (error instanceof StompReceiptError && error.refusedByBroker) {
      return new Error(`${where}: the broker refused exchange ${exchange.id} (${broker}; may this login send here?): ${error.message}`);
    }
    const outcome = this.options.receipt ? 'the broker did not confirm' : 'could not send';
    return new Error(`${where}: ${outcome} exchange ${exchange.id} (${broker}): ${(error as Error).message}`);
  }

  /** The open connection, made now if there is none (at start, or after a loss). */
  private async connected(): Promise<StompConnection> {
    if (this.connection?.isOpen) return this.connection;
    this.connecting ??= StompConnection.connect(this.options, this.clock)
      .then((connection) => {
        this.connection = connection;
        this.log.info({ broker: describeTarget(this.options) }, 'stomp: connected');
        void connection.closed.then((reason) => {
          if (reason) this.log.warn({ broker: describeTarget(this.options), reason: reason.message }, 'stomp: connection lost');
        });
        return connection;
      })
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }
}
