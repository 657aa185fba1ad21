import type { ModerationAction } from '@livewall/contract';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeAmqpBroker } from '../amqp/fake-broker.js';
import { AmqpPublisher } from '../amqp/publisher.js';
import { OutboxForwarder } from '../outbox/forwarder.js';
import { Outbox } from '../outbox/outbox.js';
import { ModerationGate } from './gate.js';
import { Takedowns } from './takedowns.js';

const log = pino({ level: 'silent' });
const TOPIC = '/topic/feed.cats';
const PENDING = '/queue/pending.cats';

let serial = 0;
function action(fields: Partial<ModerationAction> & Pick<ModerationAction, 'action' | 'feed'>): ModerationAction {
  serial += 1;
  return { v: 1, kind: 'moderation', actionId: `a-${serial}`, by: 'moderator', at: '2026-12-07T18:00:00.000Z', ...fields };
}
/** A feed item's JSON, as much of it as the gate reads. */
const body = (id: string, handle = 'alice'): string => JSON.stringify({ v: 1, id, feed: 'cats', network: 'x', author: { handle, name: handle } });

/**
 * The gate is where the AMQP publisher puts a message on the wire (amqp/publisher.ts `pump`): every send passes it,
 * first sends, the publisher's resends after a reconnect, and the outbox forwarder's sends after a restart alike.
 */
describe('the moderation gate at the AMQP publisher', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function setup(options: { hold?: boolean; maxAttempts?: number } = {}) {
    const broker = new FakeAmqpBroker();
    const port = await broker.listen();
    const takedowns = new Takedowns();
    const gate = new ModerationGate(takedowns, 'artemis', ['cats'], options.hold ?? false);
    const publisher = new AmqpPublisher({ url: `amqp://127.0.0.1:${port}`, initialReconnectDelayMs: 20, maxReconnectDelayMs: 50, maxAttempts: options.maxAttempts ?? 3 }, log);
    publisher.setGate(gate);
    publisher.start();
    closers.push(() => broker.close(), () => publisher.close(500));
    return { broker, takedowns, gate, publisher };
  }

  it('drops a hidden item and a blocked author\'s post, counted by reason, and publishes the others', async () => {
    const { broker, takedowns, gate, publisher } = await setup();
    takedowns.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:2' }));
    takedowns.apply(action({ action: 'block', feed: 'cats', author: { network: 'x', handle: '@Troll' } }));
    const results = await Promise.all([
      publisher.publish(TOPIC, 'x:1', body('x:1')),
      publisher.publish(TOPIC, 'x:2', body('x:2')),
      publisher.publish(TOPIC, 'x:3', body('x:3', 'troll')),
      publisher.publish(TOPIC, 'x:4', body('x:4')),
      // The status topic is not a feed's: it passes untouched.
      publisher.publish('/topic/status.workers', 'x:2', '{}'),
    ]);
    expect(results).toEqual(['accepted', 'dropped', 'dropped', 'accepted', 'accepted']);
    expect(broker.received.filter((message) => message.address === TOPIC).map((message) => message.id)).toEqual(['x:1', 'x:4']);
    expect(gate.feedCounts().get('cats')).toEqual({ hidden: 1, 'blocked-author': 1, overflow: 0 });
  });

  it('holds every feed item until the log is read, then judges them with what the log said', async () => {
    const { broker, takedowns, gate, publisher } = await setup({ hold: true });
    await publisher.connected();
    const sent = [1, 2, 3].map((n) => publisher.publish(TOPIC, `x:${n}`, body(`x:${n}`)));
    // Not a feed's: not held.
    await publisher.publish('/topic/status.workers', 'status:1', '{}');
    expect(broker.received.map((message) => message.address)).toEqual(['/topic/status.workers']);
    expect(publisher.stats.queued).toBe(3);
    // The takedown issued while the worker was down arrives with the log; then the log is read through.
    takedowns.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:2' }));
    gate.release();
    expect(await Promise.all(sent)).toEqual(['accepted', 'dropped', 'accepted']);
    expect(broker.received.filter((message) => message.address === TOPIC).map((message) => message.id)).toEqual(['x:1', 'x:3']);
  });

  it('judges a message again on every resend: one taken down while the broker had it is not sent again', async () => {
    const { broker, takedowns, publisher } = await setup();
    await publisher.connected();
    // The broker releases x:1 (it will be sent again); meanwhile its author is blocked.
    broker.outcome = ({ id }) => {
      if (id !== 'x:1') return 'accepted';
      takedowns.apply(action({ action: 'block', feed: 'cats', author: { network: 'x', handle: 'troll' } }));
      return 'released';
    };
    const results = await Promise.all([publisher.publish(TOPIC, 'x:1', body('x:1', 'troll')), publisher.publish(TOPIC, 'x:2', body('x:2'))]);
    expect(results).toEqual(['dropped', 'accepted']);
    expect(broker.received.filter((message) => message.id === 'x:1')).toHaveLength(1);
    expect(publisher.stats.resent).toBe(0);
  });

  it('drops what the outbox sends again after a restart, if it was taken down meanwhile', async () => {
    const outbox = new Outbox({ file: ':memory:', maxItems: 100, maxAgeMs: 60_000 });
    closers.push(async () => outbox.close());
    for (const n of [1, 2, 3]) outbox.put(TOPIC, `x:${n}`, body(`x:${n}`));
    const { broker, takedowns, gate, publisher } = await setup({ hold: true });
    const forwarder = new OutboxForwarder(outbox, publisher, log);
    forwarder.start();
    closers.push(() => forwarder.stop(500));
    takedowns.apply(action({ action: 'hide', feed: 'cats', itemId: 'x:3' }));
    gate.release();
    await expect.poll(() => outbox.depth).toBe(0);
    expect(forwarder.stats).toEqual({ forwarded: 2, refused: 0, dropped: 1 });
    expect(broker.received.map((message) => message.id)).toEqual(['x:1', 'x:2']);
  });

  it('counts a refusal of the pending queue (full) as overflow and drops it, not trying again', async () => {
    const { broker, gate, publisher } = await setup();
    broker.outcome = ({ address }) => (address === PENDING ? 'rejected' : 'accepted');
    expect(await publisher.publish(PENDING, 'x:1', body('x:1'))).toBe('dropped');
    expect(await publisher.publish(TOPIC, 'x:2', body('x:2'))).toBe('accepted');
    expect(broker.received.filter((message) => message.address === PENDING)).toHaveLength(1);
    expect(gate.feedCounts().get('cats')).toEqual({ hidden: 0, 'blocked-author': 0, overflow: 1 });
    // A refusal on the feed's topic is not an overflow: the publish fails as before.
    broker.outcome = () => 'rejected';
    await expect(publisher.publish(TOPIC, 'x:3', body('x:3'))).rejects.toMatchObject({ outcome: 'rejected' });
    expect(gate.feedCounts().get('cats')?.overflow).toBe(1);
  });
});
