import { missingDestination, PAGE_HEARTBEAT_MS } from '@livewall/contract';
import { Client, TickerStrategy, type IMessage, type StompSubscription } from '@stomp/stompjs';
import { reconnectDelay } from './backoff.js';

/** What the connection itself is doing; the page adds the subscription and the browser's network (status.ts). */
export type TransportState =
  | { state: 'connecting'; url: string }
  /** STOMP CONNECTED: subscriptions are being made (each confirms itself with onSubscribed). */
  | { state: 'connected'; url: string }
  /** Waiting until `until` (epoch ms) before the next attempt, after a dropped or failed connection. */
  | { state: 'reconnecting'; until: number; reason: string }
  /**
   * The broker refused us; `until` is the next attempt. `notLive`: the refusal was for a feed or topic that nobody
   * has published to yet (the broker's name for it), which is not an error of the page's: it waits and tries again.
   */
  | { state: 'error'; reason: string; until?: number; notLive?: string };

export interface ConnectionOptions {
  /**
   * Broker WebSocket URLs (edges, say), tried in an order of this page's own: a random permutation of them (brokerOrder),
   * so viewers spread over the brokers from their first attempt, and the viewers of one that fails spread over the
   * others rather than all moving to the next in the list. Each new attempt uses the next URL of that order, round
   * and round.
   */
  urls: readonly string[];
  /**
   * How many of `urls`, from the start of the list, keep their place and come first in every round, before the others
   * in their random order: the web server's own WebSocket proxy on the page's origin (LIVEWALL_WS_PROXY), which is
   * there for browsers that cannot reach the brokers' ports. Default: the leading URLs on the page's own host and
   * port (ownOriginUrls with location.host; none outside a browser).
   */
  keepFirst?: number;
  /** Without a login the broker treats us as its anonymous guest (subscribe only). */
  login?: string;
  passcode?: string;
  onState(state: TransportState): void;
  /** Heart-beats each way, in ms: a link that carries nothing for about twice this long is given up. Default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** For the order of the URLs (brokerOrder) and the jitter of reconnect waits; Math.random by default. */
  random?: () => number;
  debug?: (message: string) => void;
}

export interface SubscriptionHandlers {
  /** The SUBSCRIBE is being sent, on this connection and again after every reconnect: its frames come after this. */
  onSubscribing?(): void;
  /** Every MESSAGE frame's body, as the bytes that arrived, and its headers: validation is the caller's job. */
  onMessage(body: Uint8Array, headers: Readonly<Record<string, string>>): void;
  /** The broker confirmed the subscription (a RECEIPT), on this connection and again after every reconnect. */
  onSubscribed?(): void;
}

export interface Connection {
  /**
   * Subscribes to `destination` now if connected, and again on every reconnect (stompjs does not restore
   * subscriptions), until the returned function is called, which unsubscribes at once.
   */
  subscribe(destination: string, handlers: SubscriptionHandlers): () => void;
  /** Skips the rest of a reconnect wait (the tab became visible: one viewer's doing). */
  retryNow(): void;
  /**
   * Cuts a reconnect wait short to a random point within the next `withinMs` (the browser came back online: so did
   * every other tab on that network, and they must not all reconnect in the same instant). A wait that ends sooner
   * stays as it is.
   */
  retrySoon(withinMs: number): void;
  stop(): Promise<void>;
}

interface Wanted extends SubscriptionHandlers {
  destination: string;
  /** The subscription on the current connection, if made. */
  active?: StompSubscription;
}

/** Heart-beats both ways every 10 s by default; the broker drops us after 2× that without data. */
export const HEARTBEAT_MS = PAGE_HEARTBEAT_MS.default;
/** When the browser comes back online, the page reconnects within this long, at a random point (retrySoon). */
export const ONLINE_RETRY_SPREAD_MS = 3_000;
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

/**
 * The order in which one page tries `urls`: a uniformly random permutation (Fisher–Yates, `random` as Math.random).
 * Every URL comes first for some pages, each as often; and after any first URL the others follow in an order of
 * their own per page, so that when a broker fails its viewers' next attempts spread over all the others instead of
 * all landing on its neighbour in the list. A `random` that always answers just under 1 keeps the list's own order.
 */
export function brokerOrder(urls: readonly string[], random: () => number): string[] {
  const order = [...urls];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * How many of `urls`, from the start, are on the page's own origin (`pageHost`, location.host): the web server's
 * WebSocket proxy (LIVEWALL_WS_PROXY), which /config.json lists first and which the page keeps first (keepFirst) while it spreads over the brokers' own URLs. No broker listens on the web server's host and port.
 */
export function ownOriginUrls(urls: readonly string[], pageHost: string): number {
  let count = 0;
  for (const url of urls) {
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      break;
    }
    if (host !== pageHost.toLowerCase()) break;
    count += 1;
  }
  return count;
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
 * Connects to the broker with @stomp/stompjs and keeps its subscriptions, several on one connection: after a drop
 * it waits a capped, jittered delay (computed here, not by stompjs) and tries the next URL of its own random order
 * of them (brokerOrder). Subscriptions are made
 * again in onConnect, because stompjs does not restore them; each is confirmed with a RECEIPT.
 */
export function connect(options: ConnectionOptions): Connection {
  const { onState } = options;
  const random = options.random ?? Math.random;
  const debug = options.debug;
  if (options.urls.length === 0) throw new Error('connect: no broker URLs');
  const pageHost = (globalThis as { location?: { host?: string } }).location?.host;
  const keep = Math.min(Math.max(options.keepFirst ?? (pageHost ? ownOriginUrls(options.urls, pageHost) : 0), 0), options.urls.length);
  const urls = [...options.urls.slice(0, keep), ...brokerOrder(options.urls.slice(keep), random)];

  let urlIndex = -1;
  /** Consecutive attempts that failed or did not last STABLE_MS. */
  let failures = 0;
  let attemptStartedAt = 0;
  let connectedAt: number | undefined;
  let refusal: string | undefined;
  let notLive: string | undefined;
  let heartbeatLost = false;
  let receipts = 0;
  /** When the wait before the next attempt ends (epoch ms), and the state that says so while we wait. */
  let waitUntil = 0;
  let waiting: Extract<TransportState, { state: 'reconnecting' | 'error' }> | undefined;
  /** The wait in progress in beforeConnect: its timer ends it at waitUntil, or `end` does at once. */
  let sleep: { timer: ReturnType<typeof setTimeout>; end: () => void } | undefined;
  let stopped = false;
  const wanted = new Set<Wanted>();

  const wait = (): Promise<void> =>
    new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(sleep?.timer);
        sleep = undefined;
        resolve();
      };
      sleep = { timer: setTimeout(end, waitUntil - Date.now()), end };
    });

  /** Moves the end of the reconnect wait to `until`, and says so. */
  const waitLess = (until: number): void => {
    if (client.connected || until >= waitUntil) return;
    waitUntil = until;
    if (sleep) {
      clearTimeout(sleep.timer);
      sleep.timer = setTimeout(sleep.end, until - Date.now());
    }
    if (waiting) onState({ ...waiting, until });
  };

  const client = new Client({
    connectHeaders: options.login === undefined ? {} : { login: options.login, passcode: options.passcode ?? '' },
    heartbeatIncoming: options.heartbeatMs ?? HEARTBEAT_MS,
    heartbeatOutgoing: options.heartbeatMs ?? HEARTBEAT_MS,
    // A Worker keeps outgoing heart-beats on time in background tabs, where timers are throttled (CSP: worker-src blob:).
    heartbeatStrategy: TickerStrategy.Worker,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // stompjs's own delay only hands over to beforeConnect, which waits the real, jittered delay.
    reconnectDelay: 50,
    // After a missed heart-beat, drop the socket at once instead of waiting for a close handshake.
    discardWebsocketOnCommFailure: true,
    ...(debug ? { debug } : {}),

    beforeConnect: async (stomp) => {
      if (failures > 0 && waitUntil > Date.now()) await wait();
      waiting = undefined;
      if (stopped) return;
      urlIndex = (urlIndex + 1) % urls.length;
      stomp.brokerURL = urls[urlIndex];
      attemptStartedAt = Date.now();
      refusal = undefined;
      notLive = undefined;
      heartbeatLost = false;
      onState({ state: 'connecting', url: stomp.brokerURL! });
    },

    onConnect: () => {
      connectedAt = Date.now();
      onState({ state: 'connected', url: client.brokerURL ?? '' });
      for (const subscription of wanted) subscribeNow(subscription);
    },

    onStompError: (frame) => {
      // Artemis sends ERROR (then closes) for a refused login or a subscription we may not make.
      const message = unescapeHeader(frame.headers.message || frame.body || 'unknown error').replace(/\s+/g, ' ').trim().slice(0, 300);
      // A feed nobody has published to yet does not exist on the broker, and a viewer may not create it: say so.
      notLive = missingDestination(message);
      refusal = notLive ? `Nothing has been published to ${notLive} at ${host(client.brokerURL)} yet` : `The broker at ${host(client.brokerURL)} refused: ${message}`;
    },

    onHeartbeatLost: () => {
      heartbeatLost = true;
    },

    onWebSocketClose: (event: { code?: number; reason?: string }) => {
      for (const subscription of wanted) delete subscription.active;
      if (stopped) return;
      const now = Date.now();
      const wasConnected = connectedAt !== undefined;
      if (wasConnected && now - connectedAt! >= STABLE_MS) failures = 0;
      connectedAt = undefined;
      failures += 1;
      const delay = reconnectDelay(failures, random);
      waitUntil = now + delay;

      if (refusal) {
        waiting = { state: 'error', reason: refusal, until: waitUntil, ...(notLive ? { notLive } : {}) };
        onState(waiting);
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
      waiting = { state: 'reconnecting', until: waitUntil, reason };
      onState(waiting);
    },
  });

  function subscribeNow(subscription: Wanted): void {
    const receipt = `subscribed-${++receipts}`;
    client.watchForReceipt(receipt, () => {
      // Only if it is still wanted and this is still its subscription (not one from before a reconnect).
      if (wanted.has(subscription) && subscription.active === active) subscription.onSubscribed?.();
    });
    subscription.onSubscribing?.();
    const active = client.subscribe(subscription.destination, (message: IMessage) => subscription.onMessage(message.binaryBody, message.headers), { receipt });
    subscription.active = active;
  }

  client.activate();

  return {
    subscribe(destination, handlers) {
      const subscription: Wanted = { destination, ...handlers };
      wanted.add(subscription);
      if (client.connected) subscribeNow(subscription);
      return () => {
        if (!wanted.delete(subscription)) return;
        const active = subscription.active;
        delete subscription.active;
        // UNSUBSCRIBE deletes the broker's queue for it; frames already on their way are dropped by stompjs.
        if (active && client.connected) active.unsubscribe();
      };
    },
    retryNow() {
      waitLess(Date.now());
    },
    retrySoon(withinMs) {
      waitLess(Date.now() + Math.round(random() * withinMs));
    },
    async stop() {
      stopped = true;
      sleep?.end();
      await client.deactivate();
    },
  };
}
