import { inject } from 'vitest';
import { declareTopic } from './amqp.js';

/** The Artemis instance the integration tests run against: its own name and ports, never the demo's. */
export interface TestBroker {
  host: string;
  amqpPort: number;
  /** The public acceptor: STOMP over WebSocket only, anonymous or viewer logins, subscriptions only (the guard). */
  stompPort: number;
  /** STOMP over WebSocket on the public acceptor, as the page connects. */
  wsUrl: string;
  /** The operators' private STOMP acceptor: plain TCP (`tap`, the stomp: component) or WebSocket, every login. */
  stompTcpPort: number;
  /** STOMP over WebSocket on the operators' acceptor: for tests that log in as admin, publisher or moderator over STOMP. */
  operatorWsUrl: string;
  /** Each login's password; `moderator` takes down and approves items, on the private STOMP port only. */
  passwords: { admin: string; publisher: string; viewer: string; moderator: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    broker: TestBroker;
  }
}

export function testBroker(): TestBroker {
  return inject('broker');
}

/**
 * Makes feed F's topic on the test broker as a worker does when it starts (its publisher's sender attaches): a page
 * or viewer may subscribe only to a feed that exists.
 */
export async function declareFeed(feed: string, broker: TestBroker = testBroker()): Promise<void> {
  await declarePublisherTopic(`/topic/feed.${feed}`, broker);
}

/** Makes a topic the publisher may send to (a feed's, or a workers' status topic) as a worker does when it starts. */
export async function declarePublisherTopic(topic: string, broker: TestBroker = testBroker()): Promise<void> {
  await declareTopic({ host: broker.host, port: broker.amqpPort, username: 'publisher', password: broker.passwords.publisher }, topic);
}
