import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';

/** An independent STOMP-over-WebSocket client, as a browser would connect, for tests. */
export interface StompLogin {
  login?: string;
  passcode?: string;
}

/**
 * A durable subscription (Artemis: a durable queue `clientId.name` bound to the topic, kept while nobody listens and
 * across broker restarts), read by a client that reconnects by itself and subscribes again on every connect.
 */
export function durableSubscription(url: string, login: Required<StompLogin>, topic: string, clientId: string): { ids: string[]; ready: Promise<void>; stop(): Promise<void> } {
  const ids: string[] = [];
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
    connectHeaders: { login: login.login, passcode: login.passcode, 'client-id': clientId },
    reconnectDelay: 300,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    onConnect: () => {
      const receipt = `durable-${Math.random().toString(36).slice(2)}`;
      client.watchForReceipt(receipt, () => resolveReady());
      client.subscribe(topic, (message) => ids.push(JSON.parse(message.body).id as string), { 'durable-subscription-name': 'chaos', receipt });
    },
  });
  client.activate();
  return { ids, ready, stop: () => client.deactivate() };
}

/**
 * A subscription that outlives broker restarts, as the page's does: a client that reconnects by itself (anonymous)
 * and subscribes again on every connect. `connects` counts the CONNECTED frames.
 */
export function reconnectingSubscription(url: string, destination: string): { messages: IMessage[]; connects: () => number; stop(): Promise<void> } {
  const messages: IMessage[] = [];
  let connects = 0;
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
    reconnectDelay: 300,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    onConnect: () => {
      connects += 1;
      client.subscribe(destination, (message) => messages.push(message));
    },
  });
  client.activate();
  return { messages, connects: () => connects, stop: () => client.deactivate() };
}

/**
 * Connects once (no reconnect) and resolves with the client; rejects with the broker's ERROR frame message or
 * the socket's close when the broker refuses the connection.
 */
export function connectStomp(url: string, login: StompLogin = {}, options: { heartbeatMs?: number } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      connectHeaders: login.login === undefined ? {} : { login: login.login, passcode: login.passcode ?? '' },
      reconnectDelay: 0,
      heartbeatIncoming: options.heartbeatMs ?? 0,
      heartbeatOutgoing: options.heartbeatMs ?? 0,
      onConnect: () => resolve(client),
      onStompError: (frame) => {
        reject(new Error(`STOMP ERROR: ${frame.headers.message ?? ''} ${frame.body}`.trim()));
        void client.deactivate();
      },
      onWebSocketClose: (event) => reject(new Error(`WebSocket closed (${event.code}) before CONNECTED`)),
    });
    client.activate();
  });
}

export interface Collector {
  messages: IMessage[];
  /** Resolves when the broker confirmed the subscription (a RECEIPT): messages sent after it will arrive. */
  ready: Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<IMessage[]>;
}

/** Subscribes (with a receipt) and collects every message; `waitFor(n)` resolves once n have arrived. */
export function collect(client: Client, destination: string): Collector {
  const messages: IMessage[] = [];
  const waiters: { count: number; resolve: (messages: IMessage[]) => void }[] = [];
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const ready = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(
    destination,
    (message) => {
      messages.push(message);
      for (const waiter of waiters.filter((w) => messages.length >= w.count)) waiter.resolve(messages.slice());
    },
    { receipt },
  );
  return {
    messages,
    ready,
    waitFor(count, timeoutMs = 10_000) {
      if (messages.length >= count) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${destination}: ${messages.length} of ${count} messages after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ count, resolve: (got) => { clearTimeout(timer); resolve(got); } });
      });
    },
  };
}
