import { connect as connectTcp } from 'node:net';
import type { Writable } from 'node:stream';
import stompit from 'stompit';
import type Client from 'stompit/lib/Client.js';
import type { Clock } from '../../engine/types.js';
import { describeTarget, type StompTarget } from './options.js';

/** How long a broker may take to answer CONNECT (or SUBSCRIBE, or DISCONNECT) before we give up on it. */
const ANSWER_TIMEOUT_MS = 10_000;
/** How much of an ERROR frame's message header, and of its body, goes into an error message. */
const ERROR_TEXT_CHARS = 300;

/** An incoming frame as stompit hands it over; @types/stompit leaves out its parsed headers. */
type IncomingFrame = Client.Message & { headers: Record<string, string | undefined> };

/** Undoes STOMP 1.2 header escaping, which stompit leaves in place on frames that come before CONNECTED. */
function unescapeHeader(value: string): string {
  return value.replace(/\\([\\cnr])/g, (_, code: string) => ({ c: ':', n: '\n', r: '\r' })[code] ?? '\\');
}

/** Artemis puts a whole message dump in some ERROR headers (AMQ339011 … CoreMessage[…]): keep the start. */
function clip(text: string): string {
  return text.length > ERROR_TEXT_CHARS ? `${text.slice(0, ERROR_TEXT_CHARS)}…` : text;
}

/**
 * stompit's Client, with its ERROR frame handling replaced. stompit 1.0 destroys the frame instead of the client
 * when an ERROR frame has a text body (as Artemis's do): the process gets an uncaught 'error' and the connection
 * stays half-open. Here an ERROR frame ends the connection with the broker's message and the start of its body.
 */
class StompClient extends stompit.Client {
  private negotiated = false;

  constructor(transport: ReturnType<typeof connectTcp>, heartbeatMs: number) {
    super(transport, { heartbeat: [heartbeatMs, heartbeatMs] });
    this.once('connect', () => (this.negotiated = true));
  }

  override setCommandHandlers(handlers: Parameters<Client['setCommandHandlers']>[0]): void {
    super.setCommandHandlers({ ...handlers, ERROR: (frame: Writable) => this.onErrorFrame(frame as unknown as IncomingFrame) });
  }

  private onErrorFrame(frame: IncomingFrame): void {
    const header = frame.headers.message ?? 'the broker sent an ERROR frame';
    const message = clip(this.negotiated ? header : unescapeHeader(header));
    frame.readString('utf-8', (_, body = '') => {
      const detail = clip(body.trim());
      this.destroy(this.createApplicationError(detail && !message.includes(detail) ? `${message} (${detail})` : message));
    });
  }
}

/** A connection that could not be made: names the broker and the login (never the passcode), and why. */
export class StompConnectError extends Error {
  constructor(target: StompTarget, cause: unknown) {
    super(`stomp: cannot connect to ${describeTarget(target)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Why a send or a subscription waiting for its RECEIPT failed: the broker said no, or the connection ended. */
export class StompReceiptError extends Error {
  constructor(
    message: string,
    /** The broker answered with an ERROR frame (no permission, a full address …), not a lost connection. */
    readonly refusedByBroker: boolean,
  ) {
    super(message);
  }
}

/** How a subscription takes its messages: more SUBSCRIBE headers (a stream's offset), and who acknowledges. */
export interface SubscribeOptions {
  headers?: Readonly<Record<string, string>>;
  /** `client-individual`: each message is acknowledged once `onMessage` returned. Default `auto`. */
  ack?: 'auto' | 'client-individual';
}

/**
 * One STOMP session over TCP (stompit), connected. It does not reconnect: it reports its end through `closed`
 * and whoever holds it decides. Every send asked to wait for a RECEIPT fails when the session ends without it —
 * which is also how a SEND the broker refuses shows: Artemis answers with an ERROR frame and closes.
 */
export class StompConnection {
  /** Resolves when the session has ended: with the reason, or undefined after our own close(). */
  readonly closed: Promise<Error | undefined>;
  private markClosed: (reason: Error | undefined) => void = () => {};
  private open = true;
  private closing = false;
  /** Fails each send and subscription still waiting for its RECEIPT. */
  private readonly awaitingReceipt = new Set<(reason: Error) => void>();
  private nextSubscriptionId = 1;

  private constructor(
    private readonly client: StompClient,
    readonly target: StompTarget,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    // Listen for the whole life of the client: an 'error' event with no listener would crash the process.
    client.on('error', (error: Error) => this.ended(error));
    client.on('end', () => this.ended(new Error('the broker closed the connection')));
  }

  /** Connects and logs in; rejects with a StompConnectError, also when `signal` aborts first. */
  static connect(target: StompTarget, clock: Clock, signal?: AbortSignal): Promise<StompConnection> {
    return new Promise((resolve, reject) => {
      const connectHeaders: Record<string, string> = {};
      if (target.login !== undefined) connectHeaders.login = target.login;
      if (target.passcode !== undefined) connectHeaders.passcode = target.passcode;
      const timeout = new AbortController();
      let settled = false;
      const settle = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        timeout.abort();
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(new StompConnectError(target, error));
        else resolve(connection);
      };
      const socket = connectTcp({ host: target.host, port: target.port });
      const client = new StompClient(socket, target.heartbeatMs);
      socket.once('connect', () => client.connect({ host: target.vhost ?? target.host, ...connectHeaders }, (error) => settle(error)));
      const connection = new StompConnection(client, target);
      void connection.closed.then((reason) => settle(reason ?? new Error('closed while connecting')));
      const onAbort = (): void => client.destroy(client.createTransportError('stopped while connecting'));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      void clock.sleep(ANSWER_TIMEOUT_MS, timeout.signal).then(() => {
        if (!settled) client.destroy(client.createTransportError(`no answer to CONNECT within ${ANSWER_TIMEOUT_MS} ms`));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Sends one text body. With `receipt`, resolves on the broker's RECEIPT and rejects if the session ends
   * first (refused, or cut: the broker may or may not have the message); without, resolves once written out.
   */
  send(headers: Record<string, string>, body: string, receipt: boolean): Promise<void> {
    if (!this.open) return Promise.reject(new Error(`not connected to ${describeTarget(this.target)}`));
    return new Promise((resolve, reject) => {
      if (!receipt) {
        this.client.sendString({ ...headers }, body, undefined, (error) => (error ? reject(error) : resolve()));
        return;
      }
      const fail = (reason: Error): void => reject(reason);
      this.awaitingReceipt.add(fail);
      const frame = this.client.send({ ...headers }, this.receiptOptions(() => {
        this.awaitingReceipt.delete(fail);
        resolve();
      }));
      frame.end(body);
    });
  }

  /**
   * Subscribes with automatic acknowledgement and resolves once the broker confirmed it (a RECEIPT), so that
   * whatever is sent from then on arrives. `onMessage` gets each body as text, in order, with its headers.
   */
  subscribe(destination: string, onMessage: (body: string, headers: Record<string, string | undefined>) => void, options: SubscribeOptions = {}): Promise<void> {
    if (!this.open) return Promise.reject(new Error(`not connected to ${describeTarget(this.target)}`));
    const id = this.nextSubscriptionId++;
    const ack = options.ack ?? 'auto';
    // stompit's subscribe() cannot ask for a receipt: register the listener, then send SUBSCRIBE ourselves.
    this.client.setImplicitSubscription(id, ack, (error, message) => {
      if (error) return; // the session ended: `closed` reports it
      const frame = message as IncomingFrame;
      frame.readString('utf-8', (readError, body) => {
        if (readError) return;
        onMessage(body ?? '', frame.headers);
        // Acknowledged once handled: a stream (RabbitMQ) grants more credit for what was acknowledged.
        if (ack !== 'auto' && this.open) this.client.ack(message as Client.Message);
      });
    });
    return new Promise((resolve, reject) => {
      const fail = (reason: Error): void => reject(reason);
      this.awaitingReceipt.add(fail);
      this.client.sendFrame('SUBSCRIBE', { ...options.headers, destination, id, ack }, this.receiptOptions(() => {
        this.awaitingReceipt.delete(fail);
        resolve();
      })).end();
    });
  }

  /** Says DISCONNECT and waits (up to `timeoutMs` on the clock) for the broker's goodbye, then drops the socket. */
  async close(clock: Clock, timeoutMs: number): Promise<void> {
    if (!this.open) return;
    this.closing = true;
    if (timeoutMs > 0) {
      const timeout = new AbortController();
      this.client.disconnect();
      await Promise.race([this.closed, clock.sleep(Math.min(timeoutMs, ANSWER_TIMEOUT_MS), timeout.signal)]);
      timeout.abort();
    }
    if (this.open) this.client.destroy(this.client.createTransportError('closed without the broker\'s DISCONNECT receipt'));
    this.ended(undefined);
  }

  private ended(reason: Error | undefined): void {
    if (!this.open) return;
    this.open = false;
    const refused = (reason as { isApplicationError?: () => boolean } | undefined)?.isApplicationError?.() === true;
    const failure = new StompReceiptError(reason && !this.closing ? reason.message : 'the connection was closed', refused);
    for (const fail of this.awaitingReceipt) fail(failure);
    this.awaitingReceipt.clear();
    this.markClosed(this.closing ? undefined : reason);
  }

  /** @types/stompit marks onError required; stompit would add one 'error' listener per frame with it. */
  private receiptOptions(onReceipt: () => void): Client.SendOptions {
    return { onReceipt } as Client.SendOptions;
  }
}
