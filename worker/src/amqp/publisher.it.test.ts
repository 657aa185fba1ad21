import { randomUUID } from 'node:crypto';
import type { Client } from '@stomp/stompjs';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { managementClient } from '../../../scripts/artemis-management.mjs';
import { testBroker } from '../../../test/broker.js';
import { collect, connectStomp } from '../../../test/stomp.js';
import { TcpProxy } from '../../../test/tcp-proxy.js';
import { AmqpPublisher, PublishError } from './publisher.js';

const broker = testBroker();
const log = pino({ level: 'silent' });
let viewer: Client;

beforeAll(async () => {
  viewer = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin });
});
afterAll(async () => {
  await viewer.deactivate();
});

function publisherTo(port: number, options: { maxInFlight?: number } = {}): AmqpPublisher {
  return new AmqpPublisher(
    { url: `amqp://127.0.0.1:${port}`, username: 'publisher', password: broker.passwords.publisher, initialReconnectDelayMs: 50, maxReconnectDelayMs: 200, ...options },
    log,
  );
}

test('publishes pipelined: every message accepted once, in order, with message_id and JSON body', async () => {
  const topic = `/topic/feed.pub-${randomUUID().slice(0, 8)}`;
  const received = collect(viewer, topic);
  await received.ready;
  const publisher = publisherTo(broker.amqpPort);
  publisher.start();
  const count = 400;
  await Promise.all(Array.from({ length: count }, (_, n) => publisher.publish(topic, `x:${n}`, JSON.stringify({ n }))));
  expect(publisher.stats).toMatchObject({ accepted: count, rejected: 0, released: 0, modified: 0, resent: 0, inFlight: 0, queued: 0 });
  const messages = await received.waitFor(count);
  expect(messages.map((message) => JSON.parse(message.body).n)).toEqual(Array.from({ length: count }, (_, n) => n));
  // Artemis carries the AMQP message_id through to STOMP subscribers.
  expect(messages[7]?.headers).toMatchObject({ NATIVE_MESSAGE_ID: 'ID:AMQP_NO_PREFIX:x:7' });
  expect(await publisher.close(1000)).toBe(0);
});

test('a connection cut mid-burst loses nothing: unsettled messages are sent again after the reconnect', async () => {
  const topic = `/topic/feed.cut-${randomUUID().slice(0, 8)}`;
  const received = collect(viewer, topic);
  await received.ready;
  const proxy = new TcpProxy(broker.host, broker.amqpPort);
  const publisher = publisherTo(await proxy.listen());
  publisher.start();
  await publisher.connected();

  // Below the broker's per-subscriber ring (500): a viewer that falls further behind loses the oldest, by design.
  const count = 200;
  // The first message opens the link and brings the broker's credit; the rest go out on it at once.
  await publisher.publish(topic, 'x:0', JSON.stringify({ n: 0 }));
  const first = Array.from({ length: count - 1 }, (_, n) => publisher.publish(topic, `x:${n + 1}`, JSON.stringify({ n: n + 1 })));
  // The broker takes the messages, but its outcomes never come back: every one is unsettled when the link breaks.
  proxy.silenceReplies = true;
  await expect.poll(() => publisher.stats.inFlight).toBe(count - 1);
  proxy.cut();
  await Promise.all(first);
  expect(publisher.stats.resent).toBe(count - 1);

  // A second cut in the middle of a burst, at whatever point it lands.
  const second = Array.from({ length: 40 }, (_, n) => publisher.publish(topic, `x:${count + n}`, JSON.stringify({ n: count + n })));
  proxy.cut();
  await Promise.all(second);

  expect(publisher.stats.reconnects).toBeGreaterThanOrEqual(2);
  expect(publisher.stats.accepted).toBe(count + 40);
  // The connection carried this one address: its figures are the connection's.
  expect(publisher.addressStats(topic)).toMatchObject({ accepted: count + 40, resent: publisher.stats.resent, inFlight: 0, queued: 0 });
  const ids = new Set<number>();
  await expect.poll(() => {
    for (const message of received.messages) ids.add(JSON.parse(message.body).n);
    return ids.size;
  }, { timeout: 15_000 }).toBe(count + 40);
  // At least once: whatever of the first burst reached the broker before the cut arrives twice (the page
  // de-duplicates by id); nothing arrives zero times.
  expect(await publisher.close(1000)).toBe(0);
  await proxy.close();
});

test("a full address's rejections are counted for it alone, beside another address accepted on the same connection", async () => {
  const feed = `full-${randomUUID().slice(0, 8)}`;
  const [full, open] = [`/topic/feed.${feed}`, `/topic/feed.open-${feed}`];
  const management = managementClient({ host: broker.host, port: broker.amqpPort, password: broker.passwords.admin });
  // A queue nobody reads holds what reaches the address; past 4 KB the broker refuses more (FAIL), as any address
  // over its max-size-bytes with that policy would.
  await management.call('broker', { op: 'addAddressSettings', args: [`feed.${feed}`, JSON.stringify({ maxSizeBytes: 4096, pageSizeBytes: 1024, addressFullMessagePolicy: 'FAIL' })] });
  await management.call('broker', { op: 'createQueue', args: [JSON.stringify({ name: `hold.${feed}`, address: `feed.${feed}`, 'routing-type': 'MULTICAST', durable: false })] });
  const publisher = publisherTo(broker.amqpPort);
  try {
    publisher.start();
    const body = JSON.stringify({ text: 'x'.repeat(1000) });
    const results: string[] = [];
    const reasons: string[] = [];
    for (let n = 0; n < 12; n++) {
      const outcome = await publisher.publish(full, `full:${n}`, body).then(
        () => 'accepted',
        (error: PublishError) => {
          reasons.push(error.message);
          return error.outcome;
        },
      );
      results.push(outcome);
    }
    await Promise.all(Array.from({ length: 5 }, (_, n) => publisher.publish(open, `open:${n}`, body)));

    const rejected = results.filter((result) => result === 'rejected').length;
    expect(rejected).toBeGreaterThan(0);
    expect(results.filter((result) => result !== 'rejected' && result !== 'accepted')).toEqual([]);
    expect(reasons[0]).toMatch(new RegExp(`broker rejected full:\\d+ on ${full}: .*full`, 'i'));
    expect(publisher.addressStats(full)).toMatchObject({ accepted: 12 - rejected, rejected, released: 0, modified: 0 });
    expect(publisher.addressStats(open)).toMatchObject({ accepted: 5, rejected: 0, lastAcceptedAt: expect.any(Number) });
    expect(publisher.stats).toMatchObject({ accepted: 12 - rejected + 5, rejected });
  } finally {
    await publisher.close(1000);
    await management.call('broker', { op: 'destroyQueue', args: [`hold.${feed}`] }).catch(() => undefined);
    await management.call('broker', { op: 'removeAddressSettings', args: [`feed.${feed}`] }).catch(() => undefined);
    management.close();
  }
});

test('publishing to an address the broker refuses fails with the broker\'s reason, and later ones fail fast', async () => {
  const publisher = publisherTo(broker.amqpPort);
  publisher.start();
  const refused = publisher.publish('/topic/not-a-feed', 'x:1', '{}');
  await expect(refused).rejects.toThrow(PublishError);
  await expect(refused).rejects.toThrow(/broker refused sending to \/topic\/not-a-feed: .*AMQ229032/);
  await expect(publisher.publish('/topic/not-a-feed', 'x:2', '{}')).rejects.toMatchObject({ outcome: 'link-error' });
  expect(await publisher.close(1000)).toBe(0);
});

test('close() abandons what the broker never confirmed, and says how many', async () => {
  const proxy = new TcpProxy(broker.host, 1);
  const publisher = publisherTo(await proxy.listen());
  publisher.start();
  const pending = [publisher.publish('/topic/feed.never', 'x:1', '{}'), publisher.publish('/topic/feed.never', 'x:2', '{}')];
  expect(await publisher.close(200)).toBe(2);
  for (const publish of pending) await expect(publish).rejects.toMatchObject({ outcome: 'closed' });
  await proxy.close();
});

test('a declared address exists once the publisher is connected, before anything is sent: a page may subscribe to it', async () => {
  const topic = `/topic/feed.decl-${randomUUID().slice(0, 8)}`;
  const publisher = publisherTo(broker.amqpPort);
  try {
    publisher.declare(topic);
    publisher.start();
    // An anonymous page is refused a feed that does not exist; it subscribes once the publisher's sender attached.
    await expect
      .poll(async () => {
        const attempt = await connectStomp(broker.wsUrl);
        const answer = new Promise<string>((resolve) => {
          attempt.onStompError = (frame) => resolve(frame.headers.message ?? '');
          attempt.watchForReceipt('declared', () => resolve('subscribed'));
        });
        attempt.subscribe(topic, () => undefined, { receipt: 'declared' });
        const result = await answer;
        await attempt.deactivate();
        return result;
      }, { timeout: 10_000 })
      .toBe('subscribed');
    expect(publisher.stats.accepted).toBe(0);
  } finally {
    await publisher.close(1000);
  }
});
