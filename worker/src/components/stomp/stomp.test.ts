import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/ports.js';
import type { Exchange } from '../../engine/types.js';
import { endpointContext, fakeClock, recordingSink, testLogger, type FakeClock, type TestLogger } from '../testing.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { FakeStompBroker } from './fake-broker.js';
import { stompComponent } from './index.js';
import { stompOptions } from './options.js';

const brokers: FakeStompBroker[] = [];
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

async function fakeBroker(): Promise<{ broker: FakeStompBroker; port: number }> {
  const broker = new FakeStompBroker();
  brokers.push(broker);
  return { broker, port: await broker.listen() };
}

function context(uri: string, settings: Record<string, unknown> = {}, clock: FakeClock = fakeClock(), log: TestLogger = testLogger()) {
  return endpointContext(stompComponent, uri, { settings: { stompHost: '127.0.0.1', ...settings }, clock, log });
}

function producer(uri: string, settings: Record<string, unknown> = {}, clock?: FakeClock, log?: TestLogger) {
  const created = stompComponent.createProducer!(context(uri, settings, clock, log));
  stops.push(() => created.stop(0));
  return created;
}

let exchanges = 0;
const exchange = (body: unknown, headers: Record<string, unknown> = {}): Exchange => ({ id: `ex-${++exchanges}`, body, headers });

describe('stomp: options', () => {
  it('takes broker and login from the settings, unless the URI says otherwise', () => {
    const settings = { stompHost: 'broker.example', stompPort: '61614', stompLogin: 'publisher', stompPasscode: 's3cret' };
    expect(stompOptions(context('stomp:/topic/feed.cats', settings).options, settings)).toEqual({
      host: 'broker.example', port: 61614, login: 'publisher', passcode: 's3cret', heartbeatMs: 10_000, receipt: true,
    });
    const uri = 'stomp:/topic/feed.cats?host=other&port=1234&login=admin&passcode=x&vhost=%2F&heartbeat=2s&receipt=false';
    expect(stompOptions(context(uri, settings).options, settings)).toEqual({
      host: 'other', port: 1234, login: 'admin', passcode: 'x', vhost: '/', heartbeatMs: 2000, receipt: false,
    });
  });

  it('defaults to localhost:61613 with no login', () => {
    expect(stompOptions(endpointContext(stompComponent, 'stomp:/topic/feed.cats').options, {})).toEqual({
      host: 'localhost', port: 61613, heartbeatMs: 10_000, receipt: true,
    });
  });

  it('refuses a port setting that is not a port', () => {
    expect(() => stompComponent.createProducer!(context('stomp:/topic/x', { stompPort: 'many' }))).toThrow(
      'stomp: setting stompPort must be a port number, not "many"',
    );
  });

  it('refuses unknown options and bad values as the engine reports them', () => {
    expect(() => context('stomp:/topic/x?ack=client')).toThrow('unknown option "ack" for stomp:; it takes host, port, login, passcode, vhost, heartbeat, receipt');
    expect(() => context('stomp:/topic/x?port=70000')).toThrow('option port must be at most 65535');
    expect(() => context('stomp:')).toThrow('stomp: needs a path');
  });

  it('keeps a passcode given in the URI out of the logs', async () => {
    const port = await freePort();
    const log = testLogger();
    const created = stompComponent.createProducer!(context(`stomp:/topic/x?login=admin&passcode=hunter2&port=${port}`, {}, fakeClock(), log));
    await expect(created.start()).rejects.toThrow();
    await created.send(exchange(1)).catch(() => undefined);
    expect(JSON.stringify(log.lines)).not.toContain('hunter2');
  });
});

describe('stomp: reconnect delay', () => {
  it('starts at 1 s and doubles up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((failures) => jitteredBackoff(failures, 1000, 30_000, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('spreads each delay by up to 20 % either way, never past 30 s', () => {
    expect(jitteredBackoff(0, 1000, 30_000, () => 0)).toBe(800);
    expect(jitteredBackoff(0, 1000, 30_000, () => 1)).toBe(1200);
    expect(jitteredBackoff(4, 1000, 30_000, () => 1)).toBe(19_200);
    expect(jitteredBackoff(5, 1000, 30_000, () => 0)).toBe(24_000);
    expect(jitteredBackoff(5, 1000, 30_000, () => 1)).toBe(30_000);
  });
});

describe('stomp: producer', () => {
  it('sends JSON text with content-type and livewall-id, resolving each send on its receipt', async () => {
    const { broker, port } = await fakeBroker();
    const out = producer(`stomp:/topic/feed.cats?port=${port}&login=publisher&passcode=p`);
    expect(out.ready()).toBe(false);
    await out.start();
    expect(out.ready()).toBe(true);
    await out.send(exchange({ id: 'x:1', text: 'a: b' }, { messageId: 'x:1' }));
    await out.send(exchange('{"raw":true}'));
    expect(broker.frames.find((frame) => frame.command === 'CONNECT')?.headers).toMatchObject({ login: 'publisher', passcode: 'p', 'heart-beat': '10000,10000' });
    const sends = broker.frames.filter((frame) => frame.command === 'SEND');
    expect(sends.map(({ headers, body }) => ({ ...headers, body }))).toEqual([
      { destination: '/topic/feed.cats', 'content-type': 'application/json', 'livewall-id': 'x:1', receipt: expect.any(String), body: '{"id":"x:1","text":"a: b"}' },
      { destination: '/topic/feed.cats', 'content-type': 'application/json', receipt: expect.any(String), body: '{"raw":true}' },
    ]);
    expect(await out.stop(1000)).toBe(0);
    expect(out.ready()).toBe(false);
    await broker.waitFor((frame) => frame.command === 'DISCONNECT');
  });

  it('pipelines sends: many await their receipts at once, and resolve as the receipts come', async () => {
    const { broker, port } = await fakeBroker();
    const out = producer(`stomp:/topic/feed.cats?port=${port}`);
    await out.start();
    broker.holdReceipts = true;
    const confirmed: number[] = [];
    const sends = Array.from({ length: 5 }, (_, n) => out.send(exchange({ n })).then(() => confirmed.push(n)));
    await broker.waitFor((frame) => frame.command === 'SEND' && frame.body === '{"n":4}');
    expect(confirmed).toEqual([]);
    broker.releaseReceipts();
    await Promise.all(sends);
    expect(confirmed).toEqual([0, 1, 2, 3, 4]);
  });

  it('with receipt=false, sends without a receipt header and resolves once written', async () => {
    const { broker, port } = await fakeBroker();
    const out = producer(`stomp:/topic/feed.cats?port=${port}&receipt=false`);
    await out.start();
    broker.holdReceipts = true;
    await out.send(exchange({ n: 1 }));
    const send = await broker.waitFor((frame) => frame.command === 'SEND');
    expect(send.headers).not.toHaveProperty('receipt');
  });

  it('counts the receipts that never came when stop times out, and fails those sends', async () => {
    const { broker, port } = await fakeBroker();
    const clock = fakeClock();
    const out = producer(`stomp:/topic/feed.cats?port=${port}`, {}, clock);
    await out.start();
    await out.send(exchange({ n: 0 }));
    broker.holdReceipts = true;
    const sends = [1, 2, 3].map((n) => out.send(exchange({ n })).then(() => 'confirmed', (error: Error) => error.message));
    await broker.waitFor((frame) => frame.body === '{"n":3}');
    const stopping = out.stop(5000);
    await clock.whenSleeping();
    await clock.advance(5000);
    expect(await stopping).toBe(3);
    expect(await Promise.all(sends)).toEqual(Array(3).fill(expect.stringMatching(/^stomp:\/topic\/feed\.cats: the broker did not confirm exchange ex-\d+ \(127\.0\.0\.1:\d+ \(no login\)\): /)));
  });

  it('rejects start with a message naming broker and login when the login is refused, without the passcode', async () => {
    const { port } = await fakeBroker();
    const out = producer(`stomp:/topic/x?port=${port}&login=admin&passcode=wrong`);
    const failure = await out.start().then(() => undefined, (error: Error) => error);
    expect(failure?.message).toBe(`stomp: cannot connect to 127.0.0.1:${port} as admin: Security Error occurred: User name or password is invalid`);
    expect(failure?.message).not.toContain('wrong');
    expect(out.ready()).toBe(false);
  });

  it('rejects start naming host:port when nothing listens there', async () => {
    const port = await freePort();
    const out = producer(`stomp:/topic/x?port=${port}`);
    await expect(out.start()).rejects.toThrow(`stomp: cannot connect to 127.0.0.1:${port} (no login): connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('rejects a send the broker answers with an ERROR frame, instead of waiting for ever', async () => {
    const { broker, port } = await fakeBroker();
    const out = producer(`stomp:/topic/x?port=${port}`);
    await out.start();
    broker.refuseSends = 'AMQ229032: User: viewer does not have permission=\'SEND\' on address x';
    await expect(out.send(exchange(1))).rejects.toThrow("AMQ229032: User: viewer does not have permission='SEND' on address x");
    expect(out.ready()).toBe(false);
  });

  it('connects again on the next send after the connection was lost', async () => {
    const { broker, port } = await fakeBroker();
    const log = testLogger();
    const out = producer(`stomp:/topic/x?port=${port}`, {}, fakeClock(), log);
    await out.start();
    broker.cut();
    await log.waitFor((line) => line.message === 'stomp: connection lost');
    expect(out.ready()).toBe(false);
    await out.send(exchange({ after: 'cut' }));
    expect(out.ready()).toBe(true);
    expect(broker.connections).toBe(2);
    expect(broker.frames.filter((frame) => frame.command === 'SEND').map((frame) => frame.body)).toEqual(['{"after":"cut"}']);
  });

  it('starts again after a stop, as a restarted route does', async () => {
    const { broker, port } = await fakeBroker();
    const out = producer(`stomp:/topic/x?port=${port}`);
    await out.start();
    expect(await out.stop(1000)).toBe(0);
    await expect(out.send(exchange(1))).rejects.toThrow('the producer has stopped');
    await out.start();
    expect(out.ready()).toBe(true);
    await out.send(exchange(2));
    expect(broker.connections).toBe(2);
    expect(broker.frames.filter((frame) => frame.command === 'SEND').map((frame) => frame.body)).toEqual(['2']);
  });

  it('refuses a body with no JSON form', async () => {
    const out = producer('stomp:/topic/x?port=1');
    await expect(out.send(exchange(undefined))).rejects.toThrow('has a body of type undefined, which has no JSON form');
  });
});

describe('stomp: consumer', () => {
  function consumer(uri: string, clock: FakeClock, log: TestLogger) {
    return stompComponent.createConsumer!(context(uri, {}, clock, log));
  }
  const subscribed = (log: TestLogger, count: number) => log.waitFor(() => log.lines.filter((line) => line.message === 'stomp: subscribed').length >= count);
  /** Every connect also sleeps 10 s on the clock, as its answer timeout: these are the other sleeps. */
  const isBackoff = (ms: number) => ms !== 10_000;
  const backoffs = (clock: FakeClock) => clock.requested.filter(isBackoff);

  it('is live, and offers each message, JSON parsed and anything else as text, with destination and id', async () => {
    const { broker, port } = await fakeBroker();
    const clock = fakeClock();
    const log = testLogger();
    const source = consumer(`stomp:/topic/feed.cats?port=${port}&login=admin&passcode=a`, clock, log);
    expect(source.live).toBe(true);
    const controller = new AbortController();
    const sink = recordingSink();
    const running = source.run(sink, controller.signal);
    await subscribed(log, 1);
    const subscribe = await broker.waitFor((frame) => frame.command === 'SUBSCRIBE');
    expect(subscribe.headers).toMatchObject({ destination: '/topic/feed.cats', ack: 'auto' });
    broker.publish('/topic/feed.cats', '{"id":"x:1"}', { 'livewall-id': 'x:1' });
    broker.publish('/topic/feed.cats', 'not json', { 'message-id': 'broker-7' });
    await sink.offered(2);
    expect(sink.offers).toEqual([
      { body: { id: 'x:1' }, headers: { destination: '/topic/feed.cats', messageId: 'x:1' } },
      { body: 'not json', headers: { destination: '/topic/feed.cats', messageId: 'broker-7' } },
    ]);
    expect(sink.rejects).toEqual([]);
    controller.abort();
    await running;
    await broker.waitFor((frame) => frame.command === 'DISCONNECT');
  });

  it('subscribes again after the connection is cut, after about 1 s on the clock', async () => {
    const { broker, port } = await fakeBroker();
    const clock = fakeClock();
    const log = testLogger();
    const controller = new AbortController();
    const sink = recordingSink();
    const running = consumer(`stomp:/topic/feed.cats?port=${port}`, clock, log).run(sink, controller.signal);
    await subscribed(log, 1);
    broker.cut();
    await clock.whenSleeping(1, isBackoff);
    const [delay = 0] = backoffs(clock);
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1200);
    expect(broker.connections).toBe(1);
    await clock.advance(delay);
    await subscribed(log, 2);
    expect(broker.connections).toBe(2);
    broker.publish('/topic/feed.cats', '{"after":"cut"}');
    await sink.offered(1);
    expect(sink.offers[0]?.body).toEqual({ after: 'cut' });
    controller.abort();
    await running;
  });

  it('says a destination that does not exist yet is not there, and that a subscription was lost only after it had one', async () => {
    const { broker, port } = await fakeBroker();
    broker.refuseSubscriptions = 'livewall: no such destination: feed.cats';
    const clock = fakeClock();
    const log = testLogger();
    const controller = new AbortController();
    const running = consumer(`stomp:/topic/feed.cats?port=${port}`, clock, log).run(recordingSink(), controller.signal);
    await clock.whenSleeping(1, isBackoff);
    const warnings = () => log.lines.filter((line) => line.level === 'warn');
    expect(warnings()).toEqual([
      {
        level: 'warn',
        message: 'stomp: the destination does not exist yet; subscribing again',
        fields: expect.objectContaining({ destination: '/topic/feed.cats', notLive: 'feed.cats', reason: 'livewall: no such destination: feed.cats', failures: 1 }),
      },
    ]);
    broker.refuseSubscriptions = 'not allowed here';
    await clock.advance(backoffs(clock).at(-1) ?? 0);
    await clock.whenSleeping(1, isBackoff);
    expect(warnings()[1]).toMatchObject({ message: 'stomp: could not subscribe; trying again', fields: { reason: 'not allowed here', failures: 2 } });
    broker.refuseSubscriptions = undefined;
    await clock.advance(backoffs(clock).at(-1) ?? 0);
    await subscribed(log, 1);
    broker.cut();
    await log.waitFor((line) => line.message === 'stomp: subscription lost; subscribing again');
    expect(warnings().map((line) => line.message)).toEqual([
      'stomp: the destination does not exist yet; subscribing again',
      'stomp: could not subscribe; trying again',
      'stomp: subscription lost; subscribing again',
    ]);
    controller.abort();
    await running;
  });

  it('backs off further while the broker stays away, and stops when aborted', async () => {
    const port = await freePort();
    const clock = fakeClock();
    const log = testLogger();
    const controller = new AbortController();
    const running = consumer(`stomp:/topic/feed.cats?port=${port}`, clock, log).run(recordingSink(), controller.signal);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await clock.whenSleeping(1, isBackoff);
      await clock.advance(backoffs(clock).at(-1) ?? 0);
    }
    await clock.whenSleeping(1, isBackoff);
    const delays = backoffs(clock);
    expect(delays).toHaveLength(5);
    delays.forEach((delay, failures) => {
      expect(delay).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** failures);
      expect(delay).toBeLessThanOrEqual(1.2 * 1000 * 2 ** failures);
    });
    expect(log.lines.filter((line) => line.level === 'warn')[0]?.fields.reason).toBe(`stomp: cannot connect to 127.0.0.1:${port} (no login): connect ECONNREFUSED 127.0.0.1:${port}`);
    controller.abort();
    await running;
  });
});
