import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAmqpBroker } from './fake-broker.js';
import { AmqpPublisher, PublishError } from './publisher.js';

describe('AmqpPublisher counts the broker outcomes per address', () => {
  const log = pino({ level: 'silent' });
  let broker: FakeAmqpBroker;
  let publisher: AmqpPublisher;

  /** Replaces the broker of beforeEach with a new one (for a publisher with options of its own). */
  const freshBroker = async (): Promise<{ port: number }> => {
    await broker.close();
    broker = new FakeAmqpBroker();
    return { port: await broker.listen() };
  };

  beforeEach(async () => {
    broker = new FakeAmqpBroker();
    const port = await broker.listen();
    publisher = new AmqpPublisher({ url: `amqp://127.0.0.1:${port}`, initialReconnectDelayMs: 20, maxReconnectDelayMs: 50, maxAttempts: 3 }, log);
  });
  afterEach(async () => {
    await publisher.close(500);
    await broker.close();
  });

  it('splits every outcome and resend by address, the connection figures being their sum', async () => {
    // feed.a: accepted at once; feed.b: released, then accepted; feed.c: modified, then accepted; feed.d: rejected.
    broker.outcome = ({ address }, attempt) => {
      if (address === '/topic/feed.b' && attempt === 1) return 'released';
      if (address === '/topic/feed.c' && attempt === 1) return 'modified';
      if (address === '/topic/feed.d') return 'rejected';
      return 'accepted';
    };
    publisher.start();
    const before = Date.now();
    await Promise.all([1, 2, 3].map((n) => publisher.publish('/topic/feed.a', `a:${n}`, '{}')));
    await Promise.all([1, 2].map((n) => publisher.publish('/topic/feed.b', `b:${n}`, '{}')));
    await publisher.publish('/topic/feed.c', 'c:1', '{}');
    const rejected = publisher.publish('/topic/feed.d', 'd:1', '{}');
    await expect(rejected).rejects.toThrow(PublishError);
    await expect(rejected).rejects.toMatchObject({ outcome: 'rejected', message: expect.stringContaining('address /topic/feed.d is full') });
    const after = Date.now();

    const a = publisher.addressStats('/topic/feed.a');
    expect(a).toEqual({ accepted: 3, released: 0, rejected: 0, modified: 0, resent: 0, inFlight: 0, queued: 0, lastAcceptedAt: expect.any(Number) });
    expect(a.lastAcceptedAt).toBeGreaterThanOrEqual(before);
    expect(a.lastAcceptedAt).toBeLessThanOrEqual(after);
    expect(publisher.addressStats('/topic/feed.b')).toMatchObject({ accepted: 2, released: 2, rejected: 0, modified: 0, resent: 2 });
    expect(publisher.addressStats('/topic/feed.c')).toMatchObject({ accepted: 1, released: 0, rejected: 0, modified: 1, resent: 1 });
    // Never accepted: no time of a last acceptance.
    expect(publisher.addressStats('/topic/feed.d')).toEqual({ accepted: 0, released: 0, rejected: 1, modified: 0, resent: 0, inFlight: 0, queued: 0 });
    expect(publisher.stats).toMatchObject({ accepted: 6, released: 2, rejected: 1, modified: 1, resent: 3 });
    expect([...publisher.addresses().keys()]).toEqual(['/topic/feed.a', '/topic/feed.b', '/topic/feed.c', '/topic/feed.d']);
  });

  it('calls onSettled once per message, before its promise settles, whatever the outcome', async () => {
    broker.outcome = ({ address }, attempt) => (address === '/topic/feed.r' ? 'rejected' : attempt === 1 ? 'released' : 'accepted');
    publisher.start();
    const events: string[] = [];
    const publish = (address: string, id: string): Promise<void> =>
      publisher.publish(address, id, '{}', () => events.push(`settled ${id}`)).then(
        () => void events.push(`resolved ${id}`),
        () => void events.push(`rejected ${id}`),
      );
    // Released once, then accepted: settled once, when accepted.
    await publish('/topic/feed.a', 'a:1');
    await publish('/topic/feed.r', 'r:1');
    await publisher.close(500);
    // Refused at once, by a closing publisher: settled all the same.
    await publish('/topic/feed.a', 'a:2');
    expect(events).toEqual(['settled a:1', 'resolved a:1', 'settled r:1', 'rejected r:1', 'settled a:2', 'rejected a:2']);
  });

  it('carries on when the broker ends its session (RabbitMQ when a channel crashes): reconnects, sends again what was not settled, crashes nothing', async () => {
    const logged: string[] = [];
    const listening = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
    await publisher.close(500);
    publisher = new AmqpPublisher({ url: `amqp://127.0.0.1:${(await freshBroker()).port}`, initialReconnectDelayMs: 20, maxReconnectDelayMs: 50, maxAttempts: 3 }, listening);
    broker.outcome = ({ id }, attempt) => (id === 'x:3' && attempt === 1 ? 'end-session' : 'accepted');
    publisher.start();
    const ids = [1, 2, 3, 4, 5].map((n) => `x:${n}`);
    await Promise.all(ids.map((id) => publisher.publish('/topic/feed.x', id, '{}')));
    // Each one accepted once; x:3 (and whatever was in flight behind it) arrived twice.
    expect(publisher.addressStats('/topic/feed.x')).toMatchObject({ accepted: 5, rejected: 0 });
    const received = broker.received.map((message) => message.id);
    expect(received.filter((id) => id === 'x:3')).toHaveLength(2);
    expect([...new Set(received)].sort()).toEqual(ids);
    // What was sent again went in its order: the last arrival of each id is in publish order.
    const last = ids.map((id) => received.lastIndexOf(id));
    expect(last).toEqual([...last].sort((a, b) => a - b));
    expect(logged.join('')).toContain('the broker ended the session; reconnecting');
    expect(logged.join('')).toContain('amqp:internal-error: {{case_clause');
  });

  it('fails a publish released more often than maxAttempts, counting each release and resend of it', async () => {
    broker.outcome = () => 'released';
    publisher.start();
    await expect(publisher.publish('/topic/feed.full', 'x:1', '{}')).rejects.toMatchObject({ outcome: 'released' });
    expect(publisher.addressStats('/topic/feed.full')).toMatchObject({ accepted: 0, released: 3, resent: 2 });
    expect(broker.received.filter((message) => message.id === 'x:1')).toHaveLength(3);
  });

  it('lists a declared address with zeros before anything is sent to it, and an unknown one as zeros', async () => {
    publisher.declare('/topic/feed.quiet');
    publisher.start();
    await publisher.connected();
    expect(publisher.addresses()).toEqual(new Map([['/topic/feed.quiet', { accepted: 0, released: 0, rejected: 0, modified: 0, resent: 0, inFlight: 0, queued: 0 }]]));
    expect(publisher.addressStats('/topic/feed.never')).toEqual({ accepted: 0, released: 0, rejected: 0, modified: 0, resent: 0, inFlight: 0, queued: 0 });
  });
});
