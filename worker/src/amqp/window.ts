/**
 * The publisher's window: messages sent and not yet settled. 1,000 carries about 6,000 messages a second over a
 * 150 ms round trip; the broker's credit (amqpCredits in activemq/broker.xml) must allow as many.
 */
export const DEFAULT_WINDOW = 1000;
export const MAX_WINDOW = 20_000;
