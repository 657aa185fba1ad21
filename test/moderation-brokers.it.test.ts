/**
 * Moderation on both brokers (issue 16 §3, §4; docs/brokers.md "Moderation"): what the `moderator`, the publisher and
 * the visitors may do with a feed's topic, the moderation log and a feed's pending queue, checked against Apache
 * Artemis and RabbitMQ alike. Each profile gets a broker of its own, and every destination comes from the profile
 * (contract/src/profiles.ts `moderation`), as the worker and the pages take theirs. Artemis-only rules (the public
 * acceptor, the guard) are in test/broker-security.it.test.ts; RabbitMQ's visitors in test/hostile-rabbitmq.it.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BROKER_PROFILE_NAMES, brokerProfile } from '@livewall/contract';
import type { Client, IMessage, StompHeaders } from '@stomp/stompjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sendMany, sendOnce, type AmqpLogin } from './amqp.js';
import { PrivateBroker } from './private-broker.js';
import { collect, connectStomp, type StompLogin } from './stomp.js';
import { root } from './worker.js';

const run = randomBytes(3).toString('hex');
const FEEDS = ['takedown', 'pending', 'refused', 'full', 'leases', 'restart'] as const;
const feedName = (label: (typeof FEEDS)[number]): string => `m-${run}-${label}`;
/** What a pending queue holds (activemq/broker.xml max-size-messages, definitions.mjs x-max-length). */
const PENDING_ITEMS = 10_000;

const bodies = (messages: IMessage[]): string[] => messages.map((message) => message.body);

/** A STOMP SEND with a receipt: 'receipt' if the broker took it, else its ERROR frame or the closed socket. */
function sendWithReceipt(client: Client, destination: string, body: string, headers: StompHeaders = {}): Promise<string> {
  return new Promise((resolve) => {
    const receipt = `send-${randomBytes(4).toString('hex')}`;
    client.watchForReceipt(receipt, () => resolve('receipt'));
    client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''}`);
    client.onWebSocketClose = () => resolve('closed');
    client.publish({ destination, body, headers: { 'content-type': 'application/json', ...headers, receipt } });
  });
}

/** A SUBSCRIBE with a receipt: 'receipt' if the broker took it, else its ERROR frame or the closed socket. */
function subscribeWithReceipt(client: Client, destination: string, headers: StompHeaders = {}): Promise<string> {
  return new Promise((resolve) => {
    const receipt = `sub-${randomBytes(4).toString('hex')}`;
    client.watchForReceipt(receipt, () => resolve('receipt'));
    client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''}`);
    client.onWebSocketClose = () => resolve('closed');
    client.subscribe(destination, () => undefined, { ...headers, receipt });
  });
}

/**
 * A subscription that acknowledges what it is told to (client-individual), keeps every message, and resolves
 * `until(check)` once the messages so far pass `check`.
 */
function reader(client: Client, destination: string, headers: StompHeaders, acknowledge: (message: IMessage) => boolean = () => true) {
  const messages: IMessage[] = [];
  const waiters: { check: (messages: IMessage[]) => boolean; resolve: () => void }[] = [];
  const receipt = `sub-${randomBytes(4).toString('hex')}`;
  const ready = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(
    destination,
    (message) => {
      messages.push(message);
      if (acknowledge(message)) message.ack();
      for (const waiter of waiters.filter((w) => w.check(messages))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    { ...headers, ack: 'client-individual', receipt },
  );
  return {
    messages,
    ready,
    until(what: string, check: (messages: IMessage[]) => boolean, timeoutMs = 15_000): Promise<IMessage[]> {
      if (check(messages)) return Promise.resolve(messages.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${destination}: no ${what} after ${timeoutMs} ms; got ${JSON.stringify(bodies(messages))}`)), timeoutMs);
        waiters.push({ check, resolve: () => (clearTimeout(timer), resolve(messages.slice())) });
      });
    },
  };
}

describe.each(BROKER_PROFILE_NAMES)('moderation on %s', (profileName) => {
  const profile = brokerProfile(profileName);
  const moderation = profile.moderation;
  /** A moderator's subscription to a pending queue that holds one unacknowledged item at a time. */
  const onePendingAtATime: StompHeaders = profileName === 'artemis' ? { 'consumer-window-size': '0' } : { 'prefetch-count': '1' };
  let broker: PrivateBroker;
  const clients: Client[] = [];

  beforeAll(async () => {
    broker = await PrivateBroker.start(`test-moderation-${profileName}-${process.pid}`, {}, { profile: profileName, feeds: FEEDS.map(feedName) });
  });
  afterAll(async () => {
    await broker?.remove();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.deactivate()));
  });

  /** Viewers and anonymous visitors on the public endpoint, as the page; the other logins on the operators' one. */
  const stomp = async (login?: StompLogin, endpoint: 'public' | 'operators' = login?.login && login.login !== 'viewer' ? 'operators' : 'public'): Promise<Client> => {
    const client = await connectStomp(endpoint === 'public' ? broker.info.wsUrl : broker.info.operatorWsUrl, login);
    clients.push(client);
    return client;
  };
  const as = (user: 'admin' | 'publisher' | 'viewer' | 'moderator'): StompLogin => ({ login: user, passcode: broker.info.passwords[user] });
  const amqp = (user: 'publisher' | 'viewer' | 'moderator'): AmqpLogin => ({ host: broker.info.host, port: broker.info.amqpPort, username: user, password: broker.info.passwords[user] });
  const logHeaders: StompHeaders = { ...moderation.logSubscribeHeaders };
  const action = (marker: string, n: number): string => JSON.stringify({ v: 1, kind: 'moderation', actionId: `${marker}-${n}`, action: 'hide', feed: feedName('takedown'), itemId: `x:${n}`, by: 'test', at: new Date(0).toISOString() });

  test('a moderator’s takedown on the feed’s topic reaches a viewer after the item, and a viewer that opens later gets both, in that order', async () => {
    const feed = feedName('takedown');
    const viewer = await stomp();
    const live = collect(viewer, profile.stompDestination(feed));
    await live.ready;
    expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), '{"id":"x:1"}')).toEqual({ result: 'accepted' });
    await live.waitFor(1);
    const moderator = await stomp(as('moderator'));
    expect(await sendWithReceipt(moderator, moderation.feedSendDestination(feed), action('takedown', 1))).toBe('receipt');
    expect(bodies(await live.waitFor(2))).toEqual(['{"id":"x:1"}', action('takedown', 1)]);

    const later = await stomp();
    expect(bodies(await collect(later, profile.stompDestination(feed)).waitFor(2))).toEqual(['{"id":"x:1"}', action('takedown', 1)]);
  });

  test('the moderation log: the moderator writes it, and two readers one after the other each get every entry from the first, in order', async () => {
    const marker = `log-${randomBytes(3).toString('hex')}`;
    const moderator = await stomp(as('moderator'));
    const sent = Array.from({ length: 5 }, (_, n) => action(marker, n));
    for (const entry of sent) expect(await sendWithReceipt(moderator, moderation.logDestination, entry, { persistent: 'true' })).toBe('receipt');
    const ours = (messages: IMessage[]): string[] => bodies(messages).filter((body) => body.includes(`"${marker}-`));

    // A moderator's page, then a worker (the publisher): each reads the log from its start and acknowledges it all.
    for (const login of [as('moderator'), as('publisher')]) {
      const client = await stomp(login);
      const log = reader(client, moderation.logDestination, logHeaders);
      const messages = await log.until('entries of this test', (got) => ours(got).length === sent.length);
      expect(ours(messages)).toEqual(sent);
      // Earlier tests' entries come first: the reader starts at the log's first entry, not at this test's.
      expect(bodies(messages).indexOf(sent[0] as string)).toBe(bodies(messages).length - sent.length);
      await client.deactivate();
    }
  });

  test('pending: a moderator holds one item at a time, an item it leaves unacknowledged returns when it goes, and two moderators never get the same item', async () => {
    const feed = feedName('pending');
    const items = Array.from({ length: 6 }, (_, n) => `{"id":"p:${n}"}`);
    expect(await sendMany(amqp('publisher'), moderation.pendingAmqpTarget(feed), items)).toEqual({ accepted: 6, rejected: 0, released: 0, modified: 0, unsettled: 0 });

    // First: holds the first item and never acknowledges it.
    const first = await stomp(as('moderator'));
    const held = reader(first, moderation.pendingDestination(feed), onePendingAtATime, () => false);
    expect(bodies(await held.until('first item', (messages) => messages.length === 1))).toEqual([items[0]]);
    // Second: gets every other item, acknowledging each; the first one's item is not among them while it is held.
    const second = await stomp(as('moderator'));
    const taken = reader(second, moderation.pendingDestination(feed), onePendingAtATime);
    expect(bodies(await taken.until('the other five', (messages) => messages.length === 5))).toEqual(items.slice(1));
    // The first moderator's page closes: its item goes back to the queue, and to the second.
    await first.deactivate();
    expect(bodies(await taken.until('the returned item', (messages) => messages.length === 6)).at(-1)).toBe(items[0]);
    expect(held.messages).toHaveLength(1);

    // Two moderators at once, one item at a time each: every item reaches exactly one of them.
    const third = await stomp(as('moderator'));
    const also = reader(third, moderation.pendingDestination(feed), onePendingAtATime);
    await also.ready;
    const more = Array.from({ length: 40 }, (_, n) => `{"id":"q:${n}"}`);
    expect((await sendMany(amqp('publisher'), moderation.pendingAmqpTarget(feed), more)).accepted).toBe(more.length);
    const both = (): string[] => [...bodies(taken.messages).slice(6), ...bodies(also.messages)];
    await expect.poll(() => both().length, { timeout: 15_000 }).toBe(more.length);
    expect(both().sort()).toEqual([...more].sort());
    expect(taken.messages.length - 6).toBeGreaterThan(0);
    expect(also.messages.length).toBeGreaterThan(0);

    // Undo: a moderator puts an item back, and the next moderator gets it.
    expect(await sendWithReceipt(third, moderation.pendingDestination(feed), '{"id":"p:undo"}', { persistent: 'true' })).toBe('receipt');
    await expect.poll(() => both().includes('{"id":"p:undo"}'), { timeout: 15_000 }).toBe(true);
  });

  test('the publisher sends a feed’s items to its pending queue over AMQP, but cannot write the log nor take a pending item', async () => {
    const feed = feedName('refused');
    expect(await sendOnce(amqp('publisher'), moderation.pendingAmqpTarget(feed), '{"id":"p:1"}')).toEqual({ result: 'accepted' });
    // AMQP: Artemis refuses the sender; RabbitMQ 3.10 ends the session (then the connection).
    const log = await sendOnce(amqp('publisher'), moderation.logDestination, action('publisher', 1));
    expect(log.result).toMatch(/^(sender|session)-error$/);
    expect(log).toMatchObject({ error: expect.stringMatching(/unauthorized-access/) });
    // STOMP, as the worker reads the log: sending to it is refused too.
    expect(await sendWithReceipt(await stomp(as('publisher')), moderation.logDestination, action('publisher', 2))).toMatch(/^(ERROR|closed)/);
    expect(await subscribeWithReceipt(await stomp(as('publisher')), moderation.pendingDestination(feed), { ack: 'client-individual' })).toMatch(/^(ERROR|closed)/);
    // Nothing of it reached the log, and the item still waits for a moderator.
    const moderator = await stomp(as('moderator'));
    const pending = reader(moderator, moderation.pendingDestination(feed), onePendingAtATime);
    expect(bodies(await pending.until('the item', (messages) => messages.length === 1))).toEqual(['{"id":"p:1"}']);
    const entries = reader(await stomp(as('moderator')), moderation.logDestination, logHeaders);
    const marker = `after-${randomBytes(3).toString('hex')}`;
    expect(await sendWithReceipt(moderator, moderation.logDestination, action(marker, 0), { persistent: 'true' })).toBe('receipt');
    const all = await entries.until('the entry sent after', (messages) => bodies(messages).some((body) => body.includes(marker)));
    expect(bodies(all).filter((body) => body.includes('"publisher-'))).toEqual([]);
  });

  test.each([
    ['the viewer login', 'viewer'],
    ['an anonymous visitor', undefined],
  ] as const)('%s can neither send to a feed, the log or a pending queue, nor read the log or a pending queue', async (_, user) => {
    const feed = feedName('refused');
    const login = user ? as(user) : undefined;
    for (const destination of [moderation.feedSendDestination(feed), moderation.logDestination, moderation.pendingDestination(feed)]) {
      expect(await sendWithReceipt(await stomp(login), destination, action('visitor', 1)), destination).toMatch(/^(ERROR|closed)/);
    }
    expect(await subscribeWithReceipt(await stomp(login), moderation.logDestination, { ...logHeaders, ack: 'client-individual' })).toMatch(/^(ERROR|closed)/);
    expect(await subscribeWithReceipt(await stomp(login), moderation.pendingDestination(feed), { ack: 'client-individual' })).toMatch(/^(ERROR|closed)/);
    if (user) {
      // Over AMQP too.
      for (const target of [moderation.pendingAmqpTarget(feed), moderation.logDestination]) {
        expect((await sendOnce(amqp(user), target, '{"id":"v:1"}')).result, target).not.toBe('accepted');
      }
    }
  });

  test('a feed declared while the broker runs has a pending queue too (RabbitMQ: `declare F`; Artemis: the first send)', async () => {
    const feed = `m-${run}-late`;
    await broker.declareFeeds(feed);
    expect(await sendOnce(amqp('publisher'), moderation.pendingAmqpTarget(feed), '{"id":"l:1"}')).toEqual({ result: 'accepted' });
    const pending = reader(await stomp(as('moderator')), moderation.pendingDestination(feed), onePendingAtATime);
    expect(bodies(await pending.until('the item', (messages) => messages.length === 1))).toEqual(['{"id":"l:1"}']);
  });

  test('a moderator cannot make a feed by subscribing or sending to it', async () => {
    const feed = `m-${run}-never`;
    expect(await subscribeWithReceipt(await stomp(as('moderator')), profile.stompDestination(feed))).toMatch(/^(ERROR|closed)/);
    // Artemis: the guard refuses the SEND; RabbitMQ takes it and routes it nowhere (amq.topic, no binding).
    const sent = await sendWithReceipt(await stomp(as('moderator')), moderation.feedSendDestination(feed), action('never', 1));
    expect(sent).toMatch(profileName === 'artemis' ? /^ERROR livewall: no such destination/ : /^receipt$/);
    // Still no such feed: a page's subscription is refused, as before.
    expect(await subscribeWithReceipt(await stomp(), profile.stompDestination(feed))).toMatch(/^(ERROR|closed)/);
  });

  test('a moderator can touch no feed ownership lease', async () => {
    const feed = feedName('leases');
    expect(await sendWithReceipt(await stomp(as('moderator')), `/topic/owner.${feed}`, '{"spoof":true}')).toMatch(/^(ERROR|closed)/);
    expect(await subscribeWithReceipt(await stomp(as('moderator')), profileName === 'artemis' ? `/topic/owner.${feed}` : profile.leases.amqpSource(feed))).toMatch(/^(ERROR|closed)/);
    expect((await sendOnce(amqp('moderator'), profile.leases.amqpTarget(feed), '{"spoof":true}')).result).not.toBe('accepted');
  });

  test(`a full pending queue (${PENDING_ITEMS} items): ${profileName === 'artemis' ? 'the worker’s next send is rejected until a moderator takes one' : 'the worker’s next send is accepted and the oldest item dropped'}`, { timeout: 120_000 }, async () => {
    const feed = feedName('full');
    const target = moderation.pendingAmqpTarget(feed);
    const fill = await sendMany(amqp('publisher'), target, Array.from({ length: PENDING_ITEMS }, (_, n) => `{"n":${n}}`));
    expect(fill).toEqual({ accepted: PENDING_ITEMS, rejected: 0, released: 0, modified: 0, unsettled: 0 });
    const over = await sendMany(amqp('publisher'), target, ['{"n":"over-1"}', '{"n":"over-2"}']);
    const moderator = await stomp(as('moderator'));
    const pending = reader(moderator, moderation.pendingDestination(feed), onePendingAtATime);
    const [oldest] = await pending.until('the oldest item', (messages) => messages.length >= 1);
    if (profileName === 'artemis') {
      // Artemis (max-size-messages, FAIL): each send is settled `rejected`, amqp:resource-limit-exceeded; the link,
      // the session and the connection stay up.
      expect(over).toEqual({ accepted: 0, rejected: 2, released: 0, modified: 0, unsettled: 0, error: { on: 'delivery', condition: 'amqp:resource-limit-exceeded: AMQ229102: Address "pending.' + feed + '" is full.' } });
      expect(oldest?.body).toBe('{"n":0}');
      // Once the moderator has taken one, there is room for one.
      await pending.until('the next item', (messages) => messages.length >= 2);
      expect(await sendOnce(amqp('publisher'), target, '{"n":"room"}')).toEqual({ result: 'accepted' });
    } else {
      // RabbitMQ (x-max-length, drop-head): both are accepted, and the two oldest items are gone.
      expect(over).toEqual({ accepted: 2, rejected: 0, released: 0, modified: 0, unsettled: 0 });
      expect(oldest?.body).toBe('{"n":2}');
    }
  });

  test('the log and the pending items outlive a broker restart, a kill -9 included', { timeout: 180_000 }, async () => {
    const feed = feedName('restart');
    const marker = `restart-${randomBytes(3).toString('hex')}`;
    const moderator = await stomp(as('moderator'));
    for (const n of [0, 1]) expect(await sendWithReceipt(moderator, moderation.logDestination, action(marker, n), { persistent: 'true' })).toBe('receipt');
    expect((await sendMany(amqp('publisher'), moderation.pendingAmqpTarget(feed), ['{"id":"r:0"}', '{"id":"r:1"}'])).accepted).toBe(2);
    await Promise.all(clients.splice(0).map((client) => client.deactivate()));
    await broker.kill9();
    await broker.restart();
    const ours = (messages: IMessage[]): string[] => bodies(messages).filter((body) => body.includes(`"${marker}-`));
    const log = reader(await stomp(as('publisher')), moderation.logDestination, logHeaders);
    expect(ours(await log.until('the entries sent before the restart', (messages) => ours(messages).length === 2))).toEqual([action(marker, 0), action(marker, 1)]);
    const pending = reader(await stomp(as('moderator')), moderation.pendingDestination(feed), onePendingAtATime);
    expect(bodies(await pending.until('the pending items', (messages) => messages.length === 2))).toEqual(['{"id":"r:0"}', '{"id":"r:1"}']);
  });

  if (profileName === 'rabbitmq') {
    test('why not reject-publish on RabbitMQ 3.10: a refused publish resets the worker’s AMQP connection, and the item is never settled', async () => {
      // A queue like pending.F but with reject-publish, declared by the admin; the publisher may publish with its key.
      const feed = `m-${run}-reject`;
      const management = broker.environment.LIVEWALL_MANAGEMENT_PORT;
      const call = async (method: string, path: string, body: unknown): Promise<void> => {
        const response = await fetch(`http://127.0.0.1:${management}/api/${path}`, {
          method,
          headers: { authorization: `Basic ${Buffer.from(`admin:${broker.info.passwords.admin}`).toString('base64')}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.ok, `${method} ${path}: HTTP ${response.status}`).toBe(true);
      };
      await call('PUT', `queues/%2F/pending.${feed}`, { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
      await call('POST', `bindings/%2F/e/amq.topic/q/pending.${feed}`, { routing_key: `pending.${feed}` });
      expect(await sendOnce(amqp('publisher'), moderation.pendingAmqpTarget(feed), '{"n":1}')).toEqual({ result: 'accepted' });
      const refused = await sendMany(amqp('publisher'), moderation.pendingAmqpTarget(feed), ['{"n":2}']);
      expect(refused).toMatchObject({ accepted: 0, rejected: 0, unsettled: 1, error: { on: 'connection' } });
      // The node's log says why: the AMQP 1.0 session process has no clause for the queue's basic.nack.
      const log = (): Promise<string> => readFile(`${root}/.run/${broker.name}/log/livewall-${broker.name}@localhost.log`, 'utf8');
      await expect.poll(log, { timeout: 5000 }).toMatch(/function_clause[\s\S]{0,200}rabbit_amqp1_0_session_process,handle_info,[\s\S]{0,200}'basic\.nack'/);
    });
  }
});

