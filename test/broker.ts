import { inject } from 'vitest';

/** The Artemis instance the integration tests run against: its own name and ports, never the demo's. */
export interface TestBroker {
  host: string;
  amqpPort: number;
  stompPort: number;
  /** STOMP over WebSocket, as the page connects. */
  wsUrl: string;
  passwords: { admin: string; publisher: string; viewer: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    broker: TestBroker;
  }
}

export function testBroker(): TestBroker {
  return inject('broker');
}
