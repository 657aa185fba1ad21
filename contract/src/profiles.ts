import { feedTopic } from './feed-item.js';

/**
 * Broker profiles: the one place that knows which broker livewall talks to. The worker (config `broker.profile`)
 * and the page (`/config.json` `broker.profile`) look a feed up here; nothing else in the code names a broker.
 *
 * Both brokers take the worker's items on the same AMQP 1.0 target, `/topic/feed.<name>`; they differ in what a
 * page subscribes to, because that is where each one keeps the recent items a new viewer is shown first.
 */

export const BROKER_PROFILE_NAMES = ['artemis', 'rabbitmq'] as const;
export type BrokerProfileName = (typeof BROKER_PROFILE_NAMES)[number];
export const DEFAULT_BROKER_PROFILE: BrokerProfileName = 'artemis';

/** How many recent items a viewer that subscribes is given first, on either broker. */
export const BACKFILL_ITEMS = 24;

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
  /** The STOMP-over-WebSocket URL of a broker at `host:port`: Artemis takes any path, RabbitMQ's Web-STOMP `/ws`. */
  webSocketUrl(host: string, port: number, secure?: boolean): string;
  /** The ports scripts/broker gives a local broker of this kind (a system broker's defaults are left free). */
  localPorts: { amqp: number; webSocket: number };
  /** How a viewer that subscribes gets the last BACKFILL_ITEMS items, in one line for docs and logs. */
  backfill: string;
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
  localPorts: { amqp: 5672, webSocket: 61614 },
  backfill: `retroactive address: every new subscription on feed.<name> first gets its last ${BACKFILL_ITEMS} messages (retroactive-message-count)`,
};

const rabbitmq: BrokerProfile = {
  name: 'rabbitmq',
  title: 'RabbitMQ',
  // amq.topic with routing key feed.<name>, which the broker's setup binds to the feed's recent-history exchange.
  amqpTarget: feedTopic,
  stompDestination: (feed) => `/exchange/${feedTopic(feed).slice('/topic/'.length)}`,
  statusTopic: '/topic/status.workers',
  webSocketUrl: webSocketUrl('/ws'),
  localPorts: { amqp: 5673, webSocket: 15675 },
  backfill: `recent-history exchange: feed.<name> (type x-recent-history, x-recent-history-length ${BACKFILL_ITEMS}, bound to amq.topic with key feed.<name>) hands every new binding its last ${BACKFILL_ITEMS} messages`,
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
