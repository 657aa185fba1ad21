import { Client, TickerStrategy, type IMessage } from '@stomp/stompjs';
import { reconnectDelay } from './backoff.js';
import type { ConnectionState } from './status.js';

export interface ConnectionOptions {
  /** Broker WebSocket URLs, tried in turn: each new attempt uses the next one. */
  urls: readonly string[];
  /** Without a login the broker treats us as its anonymous guest (subscribe only). */
  login?: string;
  passcode?: string;
  /** The STOMP destination to subscribe to, e.g. /topic/feed.cats. */
  destination: string;
  onState(state: ConnectionState): void;
  /** Every MESSAGE frame's body, as the bytes that arrived: validation is the caller's job. */
  onMessage(body: Uint8Array): void;
  random?: () => number;
  debug?: (message: string) => void;
}

export interface Connection {
  /** Skips the rest of a reconnect wait (the browser came back online, the tab became visible). */
  retryNow(): void;
  stop(): Promise<void>;
}

/** Heart-beats both ways every 10 s; the broker drops us after 2× that without data. */
export const HEARTBEAT_MS = 10_000;
/** A WebSocket that has not reached CONNECTED after this long is closed and the next URL is tried. */
export const CONNECTION_TIMEOUT_MS = 10_000;
/** A connection that lasted this long resets the backoff; shorter ones (refused subscriptions) keep it growing. */
export const STABLE_MS = 30_000;

/**
 * STOMP 1.2 escapes ':' and newlines in header values; an ERROR frame before CONNECTED reaches us still escaped
 * (stompjs unescapes only once a version is agreed).
 */
export function unescapeHeader(value: string): string {
  return value.replace(/\\([rnc\\])/g, (_, code: string) => ({ r: '\r', n: '\n', c: ':', '\\': '\\' })[code] ?? code);
}

function host(url: string | undefined): string {
  if (!url) return 'the broker';
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * Connects to the broker with @stomp/stompjs, subscribes to one destination and keeps doing so: after a drop it
 * waits a capped, jittered delay (computed here, not by stompjs) and tries the next URL. Subscriptions are made in
 * onConnect, because stompjs does not restore them. The state is `live` once the broker confirms the
 * subscription with a RECEIPT.
 */
export function connect(options: ConnectionOptions): Connection {
  const { urls, destination, onState, onMessage } = options;
  const random = options.random ?? Math.random;
  const debug = options.debug;
  if (urls.length === 0) throw new Error('connect: no broker URLs');

  let urlIndex = -1;
  /** Consecutive attempts that failed or did not last STABLE_MS. */
  let failures = 0;
  let attemptStartedAt = 0;
  let connectedAt: number | undefined;
  let refusal: string | undefined;
  let heartbeatLost = false;
  let receipts = 0;
  let waitUntil = 0;
  let wake: (() => void) | undefined;
  let stopped = false;

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const client = new Client({
    connectHeaders: options.login === undefined ? {} : { login: options.login, passcode: options.passcode ?? '' },
    heartbeatIncoming: HEARTBEAT_MS,
    heartbeatOutgoing: HEARTBEAT_MS,
    // A Worker keeps outgoing heart-beats on time in background tabs, where timers are throttled (CSP: worker-src blob:).
    heartbeatStrategy: TickerStrategy.Worker,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // stompjs's own delay only hands over to beforeConnect, which waits the real, jittered delay.
    reconnectDelay: 50,
    // After a missed heart-beat, drop the socket at once instead of waiting for a close handshake.
    discardWebsocketOnCommFailure: true,
    ...(debug ? { debug } : {}),

    beforeConnect: async (stomp) => {
      if (failures > 0) {
        const left = waitUntil - Date.now();
        if (left > 0) await wait(left);
      }
      if (stopped) return;
      urlIndex = (urlIndex + 1) % urls.length;
      stomp.brokerURL = urls[urlIndex];
      attemptStartedAt = Date.now();
      refusal = undefined;
      heartbeatLost = false;
      onState({ state: 'connecting', url: stomp.brokerURL! });
    },

    onConnect: () => {
      connectedAt = Date.now();
      const url = client.brokerURL ?? '';
      const receipt = `subscribed-${++receipts}`;
      client.watchForReceipt(receipt, () => onState({ state: 'live', url }));
      client.subscribe(destination, (message: IMessage) => onMessage(message.binaryBody), { receipt });
    },

    onStompError: (frame) => {
      // Artemis sends ERROR (then closes) for a refused login or a subscription we may not make.
      const message = unescapeHeader(frame.headers.message || frame.body || 'unknown error').replace(/\s+/g, ' ').trim().slice(0, 300);
      refusal = `The broker at ${host(client.brokerURL)} refused: ${message}`;
    },

    onHeartbeatLost: () => {
      heartbeatLost = true;
    },

    onWebSocketClose: (event: { code?: number; reason?: string }) => {
      if (stopped) return;
      const now = Date.now();
      const wasConnected = connectedAt !== undefined;
      if (wasConnected && now - connectedAt! >= STABLE_MS) failures = 0;
      connectedAt = undefined;
      failures += 1;
      const delay = reconnectDelay(failures, random);
      waitUntil = now + delay;

      if (refusal) {
        onState({ state: 'error', reason: refusal, until: waitUntil });
        return;
      }
      const where = host(client.brokerURL);
      let reason: string;
      if (heartbeatLost) reason = `No heart-beat from ${where}`;
      else if (wasConnected) reason = `Connection to ${where} lost`;
      else if (now - attemptStartedAt >= CONNECTION_TIMEOUT_MS - 100) reason = `No answer from ${where} within ${CONNECTION_TIMEOUT_MS / 1000} s`;
      else reason = `Cannot reach ${where}`;
      if (event.code && event.code !== 1000 && event.code !== 1005 && event.code !== 1006) reason += ` (close code ${event.code})`;
      if (event.reason) reason += `: ${event.reason.slice(0, 200)}`;
      debug?.(`closed: ${reason}; next attempt in ${delay} ms`);
      onState({ state: 'reconnecting', until: waitUntil, reason });
    },
  });

  client.activate();

  return {
    retryNow() {
      if (wake) {
        waitUntil = Date.now();
        wake();
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      await client.deactivate();
    },
  };
}
