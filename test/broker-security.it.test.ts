import { randomUUID } from 'node:crypto';
import type { Client } from '@stomp/stompjs';
import { afterEach, describe, expect, test } from 'vitest';
import { sendOnce } from './amqp.js';
import { declarePublisherTopic, testBroker } from './broker.js';
import { collect, connectStomp } from './stomp.js';

const broker = testBroker();
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.deactivate()));
});

/** Viewers on the public acceptor, as the page; admin and publisher on the operators' acceptor. */
async function stomp(login?: { login: string; passcode: string }): Promise<Client> {
  const operator = login?.login === 'admin' || login?.login === 'publisher';
  const client = await connectStomp(operator ? broker.operatorWsUrl : broker.wsUrl, login);
  clients.push(client);
  return client;
}

/** A STOMP SEND with a receipt: resolves 'receipt' if the broker took it, or the ERROR frame's message. */
function sendWithReceipt(client: Client, destination: string, body: string): Promise<string> {
  return new Promise((resolve) => {
    const receipt = randomUUID();
    client.watchForReceipt(receipt, () => resolve('receipt'));
    client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''} ${frame.body}`);
    client.publish({ destination, body, headers: { receipt } });
  });
}

const feed = (): string => `/topic/feed.sec-${randomUUID().slice(0, 8)}`;
const amqp = (username: keyof typeof broker.passwords) => ({ host: broker.host, port: broker.amqpPort, username, password: broker.passwords[username] });

describe('viewers', () => {
  test.each([
    ['the viewer login', () => ({ login: 'viewer', passcode: broker.passwords.viewer })],
    ['an anonymous visitor', () => undefined],
  ])('%s can subscribe to a feed and receives what the publisher sends', async (_, login) => {
    const topic = feed();
    await declarePublisherTopic(topic);
    const viewer = await stomp(login());
    const received = collect(viewer, topic);
    await received.ready;
    for (const n of [1, 2]) expect(await sendOnce(amqp('publisher'), topic, `{"n":${n}}`)).toEqual({ result: 'accepted' });
    const messages = await received.waitFor(2);
    expect(messages.map((message) => message.body)).toEqual(['{"n":1}', '{"n":2}']);
  });

  test.each([
    ['the viewer login', () => ({ login: 'viewer', passcode: broker.passwords.viewer })],
    ['an anonymous visitor', () => undefined],
  ])('%s cannot send: the broker refuses it and nobody receives it', async (_, login) => {
    const topic = feed();
    const watcher = await stomp({ login: 'admin', passcode: broker.passwords.admin });
    const received = collect(watcher, topic);
    await received.ready;
    const viewer = await stomp(login());
    const answer = await sendWithReceipt(viewer, topic, '{"spoof":true}');
    // livewall's guard says what was refused; Artemis's own answer dumped the message (AMQ339011 … CoreMessage[…]).
    expect(answer).toBe('ERROR "SEND" is not allowed here: viewers only subscribe ');
    // The admin's own message is the only one the watcher ever sees.
    await sendWithReceipt(watcher, topic, '{"real":true}');
    const messages = await received.waitFor(1);
    expect(messages.map((message) => message.body)).toEqual(['{"real":true}']);
  });

  test('a wrong password is refused, not downgraded to an anonymous viewer', async () => {
    await expect(connectStomp(broker.wsUrl, { login: 'viewer', passcode: 'not-the-password' })).rejects.toThrow(/STOMP ERROR|closed/);
    await expect(connectStomp(broker.wsUrl, { login: 'nobody', passcode: 'x' })).rejects.toThrow(/STOMP ERROR|closed/);
  });
});

describe('the publisher', () => {
  test('publishes to feed topics', async () => {
    expect(await sendOnce(amqp('publisher'), feed(), '{}')).toEqual({ result: 'accepted' });
  });

  test('publishes to a feed topic that already exists (the prefixed SEND check)', async () => {
    const topic = feed();
    expect(await sendOnce(amqp('admin'), topic, '{}')).toEqual({ result: 'accepted' });
    expect(await sendOnce(amqp('publisher'), topic, '{}')).toEqual({ result: 'accepted' });
  });

  test.each(['/topic/orders', '/queue/feed.cats', '/topic/feedx.cats', '/topic/statusx'])('cannot publish to %s', async (address) => {
    const attempt = await sendOnce(amqp('publisher'), address, '{}');
    expect(attempt.result).toBe('sender-error');
    // AMQ229032 for a missing permission; AMQ229213 when the refused step is creating a queue (anycast).
    expect(attempt).toMatchObject({ error: expect.stringMatching(/AMQ229(032|213): User: publisher does not have permission/) });
  });

  test('cannot publish outside feed.# even where the address exists', async () => {
    const address = `/topic/other-${randomUUID().slice(0, 8)}`;
    expect(await sendOnce(amqp('admin'), address, '{}')).toEqual({ result: 'accepted' });
    const attempt = await sendOnce(amqp('publisher'), address, '{}');
    expect(attempt.result).toBe('sender-error');
  });

  test('cannot subscribe to a feed', async () => {
    await expect(
      stomp({ login: 'publisher', passcode: broker.passwords.publisher }).then(async (client) => {
        const answer = new Promise<string>((resolve) => {
          client.onStompError = (frame) => resolve(`${frame.headers.message ?? ''} ${frame.body}`);
        });
        client.subscribe(feed(), () => undefined);
        return answer;
      }),
      // Artemis's ERROR frame says only this; its log names the missing CREATE_NON_DURABLE_QUEUE permission.
    ).resolves.toMatch(/^AMQ339016 Error creating subscription/);
  });

  test('publishes worker status, which anonymous viewers can read but not write', async () => {
    const topic = `/topic/status.workers-${randomUUID().slice(0, 8)}`;
    await declarePublisherTopic(topic);
    const page = await stomp();
    const received = collect(page, topic);
    await received.ready;
    expect(await sendOnce(amqp('publisher'), topic, '{"kind":"worker-status"}')).toEqual({ result: 'accepted' });
    expect((await received.waitFor(1)).map((message) => message.body)).toEqual(['{"kind":"worker-status"}']);
    expect(await sendWithReceipt(await stomp(), topic, '{"spoof":true}')).toBe('ERROR "SEND" is not allowed here: viewers only subscribe ');
  });

  test('reads and writes the feed ownership leases, which viewers can neither read nor write', async () => {
    const lease = `/topic/owner.sec-${randomUUID().slice(0, 8)}`;
    expect(await sendOnce(amqp('publisher'), lease, '{}')).toEqual({ result: 'accepted' });
    // Again, now that the address exists (the prefixed SEND check).
    expect(await sendOnce(amqp('publisher'), lease, '{}')).toEqual({ result: 'accepted' });
    expect((await sendOnce(amqp('viewer'), lease, '{"spoof":true}')).result).toBe('sender-error');
    expect(await sendWithReceipt(await stomp(), lease, '{"spoof":true}')).toBe('ERROR "SEND" is not allowed here: viewers only subscribe ');
    const reader = await stomp({ login: 'viewer', passcode: broker.passwords.viewer });
    const refused = new Promise<string>((resolve) => {
      reader.onStompError = (frame) => resolve(`${frame.headers.message ?? ''}`);
    });
    reader.subscribe(lease, () => undefined);
    expect(await refused).toBe(`destination "${lease}" is not allowed here`);
  });

  test('a wrong password is refused', async () => {
    const attempt = await sendOnce({ ...amqp('publisher'), password: 'wrong' }, feed(), '{}');
    expect(attempt.result).toBe('connection-error');
  });
});
