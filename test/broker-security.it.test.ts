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
function sendWithReceipt(client: Client, destination: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const receipt = randomUUID();
    client.watchForReceipt(receipt, () => resolve('receipt'));
    client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''} ${frame.body}`);
    client.publish({ destination, body, headers: { ...headers, receipt } });
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

describe('the moderator', () => {
  const moderator = { login: 'moderator', passcode: broker.passwords.moderator };
  /** The moderator's client: on the operators' private acceptor, the only one that takes its login. */
  async function moderatorClient(): Promise<Client> {
    const client = await connectStomp(broker.operatorWsUrl, moderator);
    clients.push(client);
    return client;
  }
  /** A SUBSCRIBE with a receipt: 'receipt', or the ERROR frame's message. */
  function subscribeWithReceipt(client: Client, destination: string, headers: Record<string, string> = {}): Promise<string> {
    return new Promise((resolve) => {
      const receipt = randomUUID();
      client.watchForReceipt(receipt, () => resolve('receipt'));
      client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''}`);
      client.subscribe(destination, () => undefined, { ...headers, receipt });
    });
  }

  test('logs in on the operators’ acceptor only: the public one refuses the login before any password is checked', async () => {
    await expect(connectStomp(broker.wsUrl, moderator)).rejects.toThrow('STOMP ERROR: login "moderator" is not accepted on this port');
    await expect(connectStomp(broker.wsUrl, { login: 'moderator', passcode: 'a-guess' })).rejects.toThrow('STOMP ERROR: login "moderator" is not accepted on this port');
    // There it watches the wall as a viewer does: the feeds and the workers' status.
    expect(await subscribeWithReceipt(await moderatorClient(), '/topic/status.workers')).toBe('receipt');
  });

  test('cannot make a feed, a status topic or a pending queue by sending or subscribing to it', async () => {
    const name = `sec-${randomUUID().slice(0, 8)}`;
    expect(await sendWithReceipt(await moderatorClient(), `/topic/feed.${name}`, '{"spoof":true}')).toBe(`ERROR livewall: no such destination: feed.${name} `);
    expect(await subscribeWithReceipt(await moderatorClient(), `/topic/feed.${name}`)).toBe(`ERROR livewall: no such destination: feed.${name}`);
    expect(await subscribeWithReceipt(await moderatorClient(), `/topic/status.${name}`)).toBe(`ERROR livewall: no such destination: status.${name}`);
    expect(await subscribeWithReceipt(await moderatorClient(), `/queue/pending.${name}`, { ack: 'client-individual' })).toBe(`ERROR livewall: no such destination: pending.${name}`);
    // None of them exists afterwards: a page is told so too.
    expect(await subscribeWithReceipt(await stomp(), `/topic/feed.${name}`)).toBe(`ERROR livewall: no such destination: feed.${name}`);
    // The worker's first pending item makes the queue; then the moderator may read it.
    expect(await sendOnce(amqp('publisher'), `/queue/pending.${name}`, '{"id":"p:1"}')).toEqual({ result: 'accepted' });
    expect(await subscribeWithReceipt(await moderatorClient(), `/queue/pending.${name}`, { ack: 'client-individual' })).toBe('receipt');
  });

  test('cannot add a routing type to a feed or the log, nor reach any other address; the feed still works for its viewers', async () => {
    const topic = feed();
    await declarePublisherTopic(topic);
    const name = topic.slice('/topic/'.length);
    for (const [destination, headers] of [
      [`/queue/${name}`, {}],
      ['/topic/moderation.log', {}],
      [topic, { 'destination-type': 'ANYCAST' }],
      ['/queue/DLQ', {}],
      [`/topic/owner.${name.slice('feed.'.length)}`, {}],
      [`/queue/moderation.log::moderation.log`, {}],
    ] as const) {
      expect(await sendWithReceipt(await moderatorClient(), destination, '{"spoof":true}', headers), destination).toMatch(/^ERROR (destination ".*" is not allowed for a moderator|SEND header "destination-type" is not allowed for a moderator) $/);
    }
    expect(await subscribeWithReceipt(await moderatorClient(), topic, { 'subscription-type': 'ANYCAST' })).toBe('ERROR SUBSCRIBE header "subscription-type" is not allowed for a moderator');
    expect(await subscribeWithReceipt(await moderatorClient(), '/queue/DLQ')).toBe('ERROR destination "/queue/DLQ" is not allowed for a moderator');
    // The feed is still a topic: a page subscribes and receives the publisher's item and the moderator's takedown.
    const page = await stomp();
    const received = collect(page, topic);
    await received.ready;
    expect(await sendOnce(amqp('publisher'), topic, '{"id":"x:1"}')).toEqual({ result: 'accepted' });
    expect(await sendWithReceipt(await moderatorClient(), topic, '{"kind":"moderation","action":"hide"}')).toBe('receipt');
    expect((await received.waitFor(2)).map((message) => message.body)).toEqual(['{"id":"x:1"}', '{"kind":"moderation","action":"hide"}']);
  });

  test('a viewer on the operators’ acceptor reads neither the log nor a pending queue', async () => {
    const viewer = await connectStomp(broker.operatorWsUrl, { login: 'viewer', passcode: broker.passwords.viewer });
    clients.push(viewer);
    expect(await subscribeWithReceipt(viewer, '/queue/moderation.log')).toBe('ERROR destination "/queue/moderation.log" is not allowed here');
  });
});
