import { feedTopic } from './feed-item.js';
import { MODERATION_LOG } from './moderation.js';

/**
 * Broker profiles: the one place that knows which broker livewall talks to. The worker (config `broker.profile`)
 * and the page (`/config.json` `broker.profile`) look a feed up here; nothing else in the code names a broker.
 *
 * Both brokers take the worker's items on the same AMQP 1.0 target, `/topic/feed.<name>`; they differ in what a
 * page subscribes to, because that is where each one keeps the recent items a new viewer is shown first, and for the
 * same reason in where a worker listens to a feed's ownership leases.
 */

/**
 * The start of the ERROR message with which a broker refuses a subscription to a feed or topic that nobody has
 * published yet (Artemis: livewall's guard, activemq/guard/; viewers cannot create addresses). What follows is the
 * broker's name for it, e.g. `feed.cats`.
 */
export const NO_SUCH_DESTINATION = 'livewall: no such destination: ';

/**
 * The destination a broker's refusal says does not exist yet, or undefined for any other refusal: Artemis's guard
 * (NO_SUCH_DESTINATION) or RabbitMQ's NOT_FOUND for a missing exchange.
 */
export function missingDestination(message: string): string | undefined {
  if (message.startsWith(NO_SUCH_DESTINATION)) return message.slice(NO_SUCH_DESTINATION.length).trim() || undefined;
  return /no exchange '([^']{1,200})'/.exec(message)?.[1];
}

export const BROKER_PROFILE_NAMES = ['artemis', 'rabbitmq'] as const;
export type BrokerProfileName = (typeof BROKER_PROFILE_NAMES)[number];
export const DEFAULT_BROKER_PROFILE: BrokerProfileName = 'artemis';

/** How many recent items a viewer that subscribes is given first, on either broker. */
export const BACKFILL_ITEMS = 24;

/** How many of a feed's recent lease messages a worker that subscribes hears first, on either broker. */
export const LEASE_HISTORY = 16;

/**
 * Where workers agree on who owns a feed (worker/src/ownership/): each worker sends its claims, renewals, yields and
 * releases to the feed's lease channel and listens to it. A worker that subscribes first hears the channel's last
 * LEASE_HISTORY messages, then live ones, so it learns the feed's owner at once.
 */
export interface LeaseChannelProfile {
  /** The AMQP 1.0 target a worker sends a feed's lease messages to. */
  amqpTarget(feed: string): string;
  /** The AMQP 1.0 source a worker subscribes to: the recent lease messages first, then live ones. */
  amqpSource(feed: string): string;
  /** How a worker that subscribes hears the recent leases, in one line for docs and logs. */
  replay: string;
  /** What the broker's setup must give the workers' login, for the error when the broker refuses a feed's channel. */
  setup(feed: string): string;
}

export interface BrokerProfile {
  name: BrokerProfileName;
  /** The product, for messages. */
  title: string;
  /** The AMQP 1.0 target address the worker sends a feed's items to. */
  amqpTarget(feed: string): string;
  /** The STOMP destination a page subscribes to for a feed (with its backfill). */
  stompDestination(feed: string): string;
  /**
   * The workers' status topic: the AMQP target the worker sends to and the STOMP destination the page subscribes
   * to (the same string on both brokers).
   */
  statusTopic: string;
  /**
   * The virtual host a STOMP client names when it connects (the CONNECT frame's host header), where the broker has
   * them; undefined: the broker's host name, as STOMP suggests.
   */
  stompVirtualHost?: string;
  /** The STOMP-over-WebSocket URL of a broker at `host:port`: Artemis takes any path, RabbitMQ's Web-STOMP `/ws`. */
  webSocketUrl(host: string, port: number, secure?: boolean): string;
  /**
   * The ports scripts/broker gives a local broker of this kind (a system broker's defaults are left free): AMQP,
   * STOMP over WebSocket (the page), and plain STOMP over TCP (`livewall-worker tap`).
   */
  localPorts: { amqp: number; webSocket: number; stomp: number };
  /** How a viewer that subscribes gets the last BACKFILL_ITEMS items, in one line for docs and logs. */
  backfill: string;
  /**
   * Whether a frame's STOMP headers say it came from the backfill (true) or live (false), on a broker that marks
   * them; undefined where the broker does not. A page holds its wall until the backfill is in (web/src/backfill.ts).
   */
  backfilled(headers: Readonly<Record<string, string>>): boolean | undefined;
  /** Feed ownership's lease channel. */
  leases: LeaseChannelProfile;
  /** Where moderation travels (contract/src/moderation.ts, docs/operations.md "Moderating a wall"). */
  moderation: ModerationProfile;
}

/**
 * Moderation's destinations on a broker. Moderators' clients use STOMP on the private STOMP port (Artemis) or Web-STOMP
 * (RabbitMQ) with the `moderator` login; the worker reads the log over STOMP too and sends pending items over AMQP.
 */
export interface ModerationProfile {
  /** The STOMP destination a moderator sends a feed's takedowns and approved items to: the feed's topic. */
  feedSendDestination(feed: string): string;
  /** The moderation log's STOMP destination, for sending and for reading it from its start. */
  logDestination: string;
  /** Extra SUBSCRIBE headers that read the log from its start (besides `ack: client-individual`). */
  logSubscribeHeaders: Readonly<Record<string, string>>;
  /** The AMQP 1.0 target a worker sends a feed's items to when the feed waits for approval. */
  pendingAmqpTarget(feed: string): string;
  /** The STOMP destination a moderator reads a feed's pending items from (and puts an item back to). */
  pendingDestination(feed: string): string;
}

/** `pending.<feed>`: the durable queue of a feed's items waiting for approval; refuses what is not a feed name. */
function pendingName(feed: string): string {
  return `pending.${feedTopic(feed).slice('/topic/feed.'.length)}`;
}

/** `owner.<feed>`: the address (Artemis) or exchange (RabbitMQ) of a feed's leases; refuses what is not a feed name. */
function ownerName(feed: string): string {
  return `owner.${feedTopic(feed).slice('/topic/feed.'.length)}`;
}

function webSocketUrl(path: string): BrokerProfile['webSocketUrl'] {
  return (host, port, secure = false) => `${secure ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

const artemis: BrokerProfile = {
  name: 'artemis',
  title: 'Apache ActiveMQ Artemis',
  // The acceptors' multicast prefix: the address is feed.<name> for AMQP and STOMP alike.
  amqpTarget: feedTopic,
  stompDestination: feedTopic,
  statusTopic: '/topic/status.workers',
  webSocketUrl: webSocketUrl(''),
  // The page's public acceptor takes WebSocket only; operators' tools use the private STOMP acceptor.
  localPorts: { amqp: 5672, webSocket: 61614, stomp: 61613 },
  backfill: `retroactive address: every new subscription on feed.<name> first gets its last ${BACKFILL_ITEMS} messages (retroactive-message-count)`,
  // A retroactive message is the copy the address's internal divert kept: its _AMQ_ORIG_QUEUE header names that
  // divert, `$.artemis.internal.feed.<name>.divert.retro` (seen on 2.44); a live message has no such header.
  backfilled: (headers) => headers['_AMQ_ORIG_QUEUE']?.endsWith('.retro') ?? false,
  leases: {
    amqpTarget: (feed) => `/topic/${ownerName(feed)}`,
    amqpSource: (feed) => `/topic/${ownerName(feed)}`,
    replay: `retroactive address: every new subscription on owner.<name> first gets its last ${LEASE_HISTORY} messages (retroactive-message-count)`,
    setup: () => 'give the publisher role send, consume and createNonDurableQueue on owner.# and send on /topic/owner.# (activemq/broker.xml)',
  },
  moderation: {
    feedSendDestination: feedTopic,
    // A non-destructive queue: every consumer reads it from its start and acknowledging removes nothing.
    logDestination: `/queue/${MODERATION_LOG}`,
    logSubscribeHeaders: {},
    pendingAmqpTarget: (feed) => `/queue/${pendingName(feed)}`,
    pendingDestination: (feed) => `/queue/${pendingName(feed)}`,
  },
};

const rabbitmq: BrokerProfile = {
  name: 'rabbitmq',
  title: 'RabbitMQ',
  // amq.topic with routing key feed.<name>, which the broker's setup binds to the feed's recent-history exchange.
  amqpTarget: feedTopic,
  stompDestination: (feed) => `/exchange/${feedTopic(feed).slice('/topic/'.length)}`,
  statusTopic: '/topic/status.workers',
  // RabbitMQ takes the host header for the name of a vhost: livewall's things are on the default one.
  stompVirtualHost: '/',
  webSocketUrl: webSocketUrl('/ws'),
  localPorts: { amqp: 5673, webSocket: 15675, stomp: 61623 },
  // The recent-history exchange hands its messages over unmarked.
  backfilled: () => undefined,
  backfill: `recent-history exchange: feed.<name> (type x-recent-history, x-recent-history-length ${BACKFILL_ITEMS}, bound to amq.topic with key feed.<name>) hands every new binding its last ${BACKFILL_ITEMS} messages`,
  leases: {
    // As a feed's items: to amq.topic with routing key owner.<name>, bound to the feed's lease exchange, which a
    // worker's receiver (a server-named queue) binds to.
    amqpTarget: (feed) => `/topic/${ownerName(feed)}`,
    amqpSource: (feed) => `/exchange/${ownerName(feed)}`,
    replay: `recent-history exchange: owner.<name> (type x-recent-history, x-recent-history-length ${LEASE_HISTORY}, bound to amq.topic with key owner.<name>) hands every new binding its last ${LEASE_HISTORY} messages`,
    setup: (feed) =>
      `declare the feed on the node (scripts/broker --broker rabbitmq declare ${feed}: exchange ${ownerName(feed)}, type x-recent-history, bound to amq.topic with key ${ownerName(feed)}) and let the publisher read it (scripts/rabbitmq/definitions.mjs)`,
  },
  moderation: {
    // amq.topic with key feed.<name>, bound to the feed's recent-history exchange: after the item in its backfill.
    feedSendDestination: feedTopic,
    // A stream queue (declared by the node's definitions): read from its first entry; /amq/queue/ names an existing queue.
    logDestination: `/amq/queue/${MODERATION_LOG}`,
    logSubscribeHeaders: { 'x-stream-offset': 'first', 'prefetch-count': '100' },
    // amq.topic with key pending.<name>, bound to the queue (scripts/rabbitmq/definitions.mjs): the publisher's topic
    // permissions allow that key, while the default exchange (/amq/queue/) would reach any queue, the log included.
    pendingAmqpTarget: (feed) => `/topic/${pendingName(feed)}`,
    pendingDestination: (feed) => `/amq/queue/${pendingName(feed)}`,
  },
};

export const BROKER_PROFILES: Readonly<Record<BrokerProfileName, BrokerProfile>> = { artemis, rabbitmq };

export function isBrokerProfileName(value: unknown): value is BrokerProfileName {
  return typeof value === 'string' && (BROKER_PROFILE_NAMES as readonly string[]).includes(value);
}

/** The profile called `name` (the default when none is given); throws, listing the profiles, for any other name. */
export function brokerProfile(name: string = DEFAULT_BROKER_PROFILE): BrokerProfile {
  if (!isBrokerProfileName(name)) {
    throw new Error(`unknown broker profile ${JSON.stringify(name)}: expected one of ${BROKER_PROFILE_NAMES.join(', ')}`);
  }
  return BROKER_PROFILES[name];
}
