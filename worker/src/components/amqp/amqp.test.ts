import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAmqpBroker } from '../../amqp/fake-broker.js';
import { ComponentRegistry } from '../../engine/registry.js';
import { newExchange } from '../../engine/steps.js';
import { systemClock, type Producer } from '../../engine/types.js';
import { amqpAddresses, amqpComponent, amqpConnections } from './index.js';

describe('amqp: endpoints sharing one connection', () => {
  const log = pino({ level: 'silent' });
  let broker: FakeAmqpBroker;
  let producers: Producer[];
  let url: string;

  beforeEach(async () => {
    broker = new FakeAmqpBroker();
    url = `amqp://127.0.0.1:${await broker.listen()}`;
    producers = [];
  });
  afterEach(async () => {
    for (const producer of producers) await producer.stop(500);
    await broker.close();
  });

  async function producer(address: string): Promise<Producer> {
    const created = new ComponentRegistry().register(amqpComponent).producer(`amqp:${address}`, { baseDir: '.', clock: systemClock, log, settings: { amqp: { url } } });
    producers.push(created);
    await created.start();
    return created;
  }

  const send = (to: Producer, id: string): Promise<void> => to.send(newExchange({ id }, { messageId: id }));

  it("each endpoint shows its own address's figures; the connection's, every address together, are apart", async () => {
    broker.outcome = ({ address }, attempt) => (address === '/topic/feed.dogs' && attempt === 1 ? 'released' : address === '/topic/status.workers' ? 'rejected' : 'accepted');
    const cats = await producer('/topic/feed.cats');
    const dogs = await producer('/topic/feed.dogs');
    const status = await producer('/topic/status.workers');
    await Promise.all([1, 2, 3, 4, 5].map((n) => send(cats, `cats:${n}`)));
    await Promise.all([1, 2].map((n) => send(dogs, `dogs:${n}`)));
    await expect(send(status, 'status:1')).rejects.toMatchObject({ outcome: 'rejected' });

    expect(cats.stats?.()).toEqual({ accepted: 5, released: 0, rejected: 0, modified: 0, resent: 0, inFlight: 0, queued: 0, reconnects: 0 });
    expect(dogs.stats?.()).toEqual({ accepted: 2, released: 2, rejected: 0, modified: 0, resent: 2, inFlight: 0, queued: 0, reconnects: 0 });
    expect(status.stats?.()).toMatchObject({ accepted: 0, rejected: 1 });

    const [connection, ...others] = amqpConnections();
    expect(others).toEqual([]);
    expect(connection).toEqual({
      broker: url,
      connected: true,
      addresses: ['/topic/feed.cats', '/topic/feed.dogs', '/topic/status.workers'],
      stats: { accepted: 7, released: 2, rejected: 1, modified: 0, resent: 2, reconnects: 0, inFlight: 0, queued: 0 },
    });
    const addresses = amqpAddresses();
    expect(addresses.get('/topic/feed.cats')).toMatchObject({ accepted: 5, lastAcceptedAt: expect.any(Number) });
    expect(addresses.get('/topic/status.workers')).not.toHaveProperty('lastAcceptedAt');
  });

  it("an endpoint's reconnects are its link's: those of the connection since the endpoint started", async () => {
    const cats = await producer('/topic/feed.cats');
    await send(cats, 'cats:1');
    broker.cut();
    await expect.poll(() => cats.ready()).toBe(false);
    await expect.poll(() => cats.ready()).toBe(true);
    const dogs = await producer('/topic/feed.dogs');
    await send(dogs, 'dogs:1');
    expect(cats.stats?.()).toMatchObject({ reconnects: 1 });
    expect(dogs.stats?.()).toMatchObject({ reconnects: 0 });
    expect(amqpConnections()[0]?.stats).toMatchObject({ reconnects: 1 });
  });
});
