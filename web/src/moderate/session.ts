import type { BrokerProfileName } from '@livewall/contract';
import { Client, FrameImpl, TickerStrategy, type IFrame, type IMessage, type StompHeaders } from '@stomp/stompjs';
import { unescapeHeader } from '../connection.js';

/** What the moderator's connection is doing. */
export type SessionState =
  | { state: 'connecting' }
  | { state: 'connected' }
  /** The broker refused the login (or could not be reached) on the first attempt: the page asks again. */
  | { state: 'refused'; reason: string }
  /** A connection that worked was lost: stompjs tries again every RECONNECT_MS. */
  | { state: 'reconnecting'; reason: string }
  /** The broker refused one frame (an ERROR without a receipt to pin it on); the connection goes on. */
  | { state: 'error'; reason: string };

export interface SessionOptions {
  url: string;
  /** The moderator's broker login, typed into the page: kept here, in memory, for reconnects; never logged. */
  login: string;
  passcode: string;
  heartbeatMs: number;
  /** RabbitMQ takes its vhost from the `host` header (the profile's stompVirtualHost). */
  virtualHost?: string;
  /** RECEIPTS_AT_COMMIT of the broker's profile. */
  receiptsAtCommit?: boolean;
  onState(state: SessionState): void;
  /** A new connection, before its subscriptions are made again: what the last one held went back to the broker. */
  onConnect?(): void;
}

/** One SEND: the JSON body and the headers besides content-type and receipt. */
export interface Send {
  destination: string;
  body: string;
  headers?: StompHeaders;
}

export const RECONNECT_MS = 3_000;
/** A frame the broker has not confirmed after this long counts as failed (the connection is probably gone). */
export const RECEIPT_TIMEOUT_MS = 15_000;

/**
 * How many pending posts one moderator's subscription holds at a time: few, so that the queue is shared among
 * moderators, each of whom gets different posts. Artemis counts a STOMP consumer's window in bytes
 * (`consumer-window-size`, docs/user-manual/stomp.adoc "Flow Control"; one more message is sent while any credit is
 * left, and acknowledging returns its size); RabbitMQ counts messages (`prefetch-count`).
 */
export const PENDING_WINDOW: Readonly<Record<BrokerProfileName, StompHeaders>> = {
  artemis: { 'consumer-window-size': '4096' },
  rabbitmq: { 'prefetch-count': '4' },
};

/**
 * Whether the broker answers the receipts of a transaction's SENDs only when it commits (RabbitMQ), or at once
 * (Artemis): the page then cannot wait for them before it sends the COMMIT.
 */
export const RECEIPTS_AT_COMMIT: Readonly<Record<BrokerProfileName, boolean>> = {
  artemis: false,
  rabbitmq: true,
};

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Wanted {
  destination: string;
  headers: StompHeaders;
  onMessage(message: IMessage): void;
  onSubscribed?(): void;
  unsubscribe?: () => void;
}

function oneLine(text: string): string {
  return unescapeHeader(text).replace(/\s+/g, ' ').trim().slice(0, 300);
}

/**
 * The moderator's STOMP connection (@stomp/stompjs) with what moderating needs besides subscribing: SENDs and ACKs
 * confirmed by RECEIPTs, and transactions whose COMMIT is confirmed too. A broker's ERROR for a frame with a receipt
 * fails that frame's promise. The login is refused for good on the first attempt only; after that the connection
 * comes back by itself and makes its subscriptions again.
 */
export class ModeratorSession {
  private readonly client: Client;
  private readonly receipts = new Map<string, Waiting>();
  private readonly wanted = new Set<Wanted>();
  private serial = 0;
  private everConnected = false;
  private refusal: string | undefined;
  private stopped = false;

  constructor(private readonly options: SessionOptions) {
    const connectHeaders: StompHeaders = { login: options.login, passcode: options.passcode };
    if (options.virtualHost !== undefined) connectHeaders.host = options.virtualHost;
    this.client = new Client({
      brokerURL: options.url,
      connectHeaders,
      heartbeatIncoming: options.heartbeatMs,
      heartbeatOutgoing: options.heartbeatMs,
      heartbeatStrategy: TickerStrategy.Worker,
      connectionTimeout: 10_000,
      reconnectDelay: RECONNECT_MS,
      discardWebsocketOnCommFailure: true,
      onConnect: () => {
        this.everConnected = true;
        this.refusal = undefined;
        options.onState({ state: 'connected' });
        options.onConnect?.();
        for (const wanted of this.wanted) this.subscribeNow(wanted);
      },
      onStompError: (frame) => this.onError(frame),
      onWebSocketClose: () => this.onClose(),
    });
  }

  start(): void {
    this.options.onState({ state: 'connecting' });
    this.client.activate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client.deactivate();
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Subscribes now if connected and again on every reconnect, until the returned function is called: it
   * unsubscribes, or, with `refused` (the broker refused the SUBSCRIBE: there is nothing to end), only forgets it.
   */
  subscribe(destination: string, headers: StompHeaders, onMessage: (message: IMessage) => void, onSubscribed?: () => void): (refused?: boolean) => void {
    const wanted: Wanted = { destination, headers, onMessage, ...(onSubscribed ? { onSubscribed } : {}) };
    this.wanted.add(wanted);
    if (this.client.connected) this.subscribeNow(wanted);
    return (refused = false) => {
      if (!this.wanted.delete(wanted)) return;
      // The broker takes back what this subscription held unacknowledged.
      if (this.client.connected && !refused) wanted.unsubscribe?.();
      delete wanted.unsubscribe;
    };
  }

  /** SENDs a JSON body; resolves once the broker confirmed it. */
  send(send: Send): Promise<void> {
    return this.withReceipt((receipt) => this.client.publish({ destination: send.destination, body: send.body, headers: { ...send.headers, 'content-type': 'application/json', receipt } }));
  }

  /**
   * SENDs all of `sends` in one STOMP transaction and resolves once its COMMIT is confirmed. Where the broker confirms
   * each SEND at once (Artemis), every one is confirmed before the COMMIT goes, and any refusal aborts the
   * transaction, so nothing of it is delivered; where it confirms them only at the COMMIT (RabbitMQ, which closes the
   * connection, and so drops the transaction, on a refused frame), they are awaited with it.
   */
  async transaction(sends: readonly Send[]): Promise<void> {
    this.requireConnection();
    const transaction = `moderate-tx-${++this.serial}`;
    this.client.begin(transaction);
    const confirmed = sends.map((send) =>
      this.withReceipt((receipt) =>
        this.client.publish({ destination: send.destination, body: send.body, headers: { ...send.headers, 'content-type': 'application/json', transaction, receipt } }),
      ),
    );
    if (this.options.receiptsAtCommit) {
      await Promise.all([...confirmed, this.commit(transaction)]);
      return;
    }
    try {
      await Promise.all(confirmed);
    } catch (error) {
      if (this.client.connected) this.client.abort(transaction);
      throw error;
    }
    await this.commit(transaction);
  }

  /**
   * stompjs's commit() takes no headers: the COMMIT goes as a frame of our own, on the same WebSocket and in order
   * after the SENDs, with a receipt, so that nothing that depends on it (the ACK) goes before it is done.
   */
  private commit(transaction: string): Promise<void> {
    return this.withReceipt((receipt) => {
      const socket = this.client.webSocket;
      if (!socket) throw new Error('not connected');
      socket.send(FrameImpl.marshall({ command: 'COMMIT', headers: { transaction, receipt }, escapeHeaderValues: true }));
    });
  }

  /**
   * ACKs one delivery (client-individual); resolves once the broker confirmed it. Artemis applies an ACK at once even
   * inside a transaction (it logs that transactional ACKs are not supported), so moderation ACKs only after a COMMIT.
   */
  ack(message: IMessage): Promise<void> {
    return this.withReceipt((receipt) => message.ack({ receipt }));
  }

  private subscribeNow(wanted: Wanted): void {
    const receipt = `moderate-sub-${++this.serial}`;
    const subscription = this.client.subscribe(wanted.destination, (message) => wanted.onMessage(message), { ...wanted.headers, receipt });
    this.client.watchForReceipt(receipt, () => {
      if (this.wanted.has(wanted) && wanted.unsubscribe === unsubscribe) wanted.onSubscribed?.();
    });
    const unsubscribe = (): void => subscription.unsubscribe();
    wanted.unsubscribe = unsubscribe;
  }

  private requireConnection(): void {
    if (!this.client.connected) throw new Error('not connected to the broker');
  }

  private withReceipt(transmit: (receipt: string) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.client.connected) {
        reject(new Error('not connected to the broker'));
        return;
      }
      const receipt = `moderate-${++this.serial}`;
      const timer = setTimeout(() => this.settle(receipt, new Error(`the broker did not confirm within ${RECEIPT_TIMEOUT_MS / 1000} s`)), RECEIPT_TIMEOUT_MS);
      this.receipts.set(receipt, { resolve, reject, timer });
      this.client.watchForReceipt(receipt, () => this.settle(receipt));
      try {
        transmit(receipt);
      } catch (error) {
        this.settle(receipt, error as Error);
      }
    });
  }

  private settle(receipt: string, error?: Error): void {
    const waiting = this.receipts.get(receipt);
    if (!waiting) return;
    this.receipts.delete(receipt);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve();
  }

  private onError(frame: IFrame): void {
    const reason = oneLine(frame.headers.message || frame.body || 'unknown error');
    const receipt = frame.headers['receipt-id'];
    if (receipt !== undefined && this.receipts.has(receipt)) {
      this.settle(receipt, new Error(`the broker refused: ${reason}`));
      return;
    }
    if (!this.everConnected) {
      this.refusal = reason;
      return;
    }
    this.options.onState({ state: 'error', reason: `The broker refused: ${reason}` });
  }

  private onClose(): void {
    for (const receipt of [...this.receipts.keys()]) this.settle(receipt, new Error('the connection to the broker was lost'));
    for (const wanted of this.wanted) delete wanted.unsubscribe;
    if (this.stopped) return;
    if (!this.everConnected) {
      // A wrong login or an unreachable broker: no retrying with a password that does not work.
      this.stopped = true;
      void this.client.deactivate();
      this.options.onState({ state: 'refused', reason: this.refusal ?? `Cannot reach the broker at ${this.options.url}` });
      return;
    }
    this.options.onState({ state: 'reconnecting', reason: 'The connection to the broker was lost; trying again' });
  }
}
