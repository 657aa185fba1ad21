/**
 * The publisher's window: messages sent and not yet settled. Across a 150 ms round trip a worker that publishes
 * R items a second has R × 0.15 of them in flight; 2,000 leaves room for the ~7,000 a second one worker reaches here
 * (docs/BENCHMARKS.md, `scripts/bench wan`), where 1,000 held it to about 60 % of its rate. The broker's credit must
 * allow as many: `amqpCredits=2000;amqpLowCredits=1000` in activemq/broker.xml, topped up while half is left, so a
 * top-up is on its way before the sender runs dry.
 */
export const DEFAULT_WINDOW = 2000;
export const MAX_WINDOW = 20_000;
