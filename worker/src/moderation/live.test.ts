import type { ModerationAction } from '@livewall/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeStompBroker, type Frame } from '../components/stomp/fake-broker.js';
import { testLogger } from '../components/testing.js';
import { ConfigError, parseConfig } from '../config.js';
import { systemClock } from '../engine/types.js';
import { LiveModeration } from './live.js';
import { ModerationLogFollower } from './log-follower.js';

const LOG = '/queue/moderation.log';
/** A live X feed's token, which a config of X feeds needs. */
const ENV = { X_BEARER_TOKEN: 'token' };
let serial = 0;
function entry(fields: Partial<ModerationAction> & Pick<ModerationAction, 'action'>): string {
  serial += 1;
  return JSON.stringify({ v: 1, kind: 'moderation', actionId: `a-${serial}`, feed: 'cats', by: 'moderator', at: '2026-12-07T18:00:00.000Z', ...fields });
}

describe('reading the moderation log', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function fakeBroker(): Promise<{ broker: FakeStompBroker; port: number }> {
    const broker = new FakeStompBroker();
    const port = await broker.listen();
    closers.push(() => broker.close());
    return { broker, port };
  }

  /** The log as the broker gives it to each new subscription: every entry from the start. */
  function serveLog(broker: FakeStompBroker, entries: string[]): void {
    let served = 0;
    const serve = async (): Promise<void> => {
      const subscribes = (): Frame[] => broker.frames.filter((frame) => frame.command === 'SUBSCRIBE');
      await broker.waitFor((frame) => frame.command === 'SUBSCRIBE' && subscribes().indexOf(frame) === served);
      served += 1;
      entries.forEach((body, index) => broker.publish(LOG, body, { ack: `m${served}-${index}` }));
      void serve();
    };
    void serve();
  }

  it('reads the log from its start with the profile\'s headers, acknowledges each entry, skips invalid ones (counted), and is caught up after the quiet', async () => {
    const { broker, port } = await fakeBroker();
    const log = [entry({ action: 'hide', itemId: 'x:1' }), '{"v":1,"kind":"moderation","action":"hide"}', 'not json', entry({ action: 'block', author: { network: 'x', handle: 'troll' } })];
    serveLog(broker, log);
    const actions: ModerationAction[] = [];
    const follower = new ModerationLogFollower({ target: { host: '127.0.0.1', port, login: 'publisher', passcode: 'secret', heartbeatMs: 0 }, destination: LOG, headers: { 'x-stream-offset': 'first', 'prefetch-count': '100' }, onAction: (action) => actions.push(action), clock: systemClock, log: testLogger(), quietMs: 100, firstRetryMs: 20, maxRetryMs: 50 });
    closers.push(() => follower.stop());
    follower.start();
    await follower.whenCaughtUp();
    expect(follower.stats).toMatchObject({ connected: true, caughtUp: true, entries: 2, invalid: 2, resubscribes: 0 });
    expect(actions.map((action) => action.action)).toEqual(['hide', 'block']);
    const subscribe = broker.frames.find((frame) => frame.command === 'SUBSCRIBE');
    expect(subscribe?.headers).toMatchObject({ destination: LOG, ack: 'client-individual', 'x-stream-offset': 'first', 'prefetch-count': '100', receipt: expect.any(String) });
    await expect.poll(() => broker.frames.filter((frame) => frame.command === 'ACK').map((frame) => frame.headers.id)).toEqual(['m1-0', 'm1-1', 'm1-2', 'm1-3']);

    // A lost connection: not caught up until the log is read from its start again.
    const lost = new Promise((resolve) => follower.once('lost', resolve));
    broker.cut();
    await lost;
    expect(follower.caughtUp).toBe(false);
    await follower.whenCaughtUp();
    expect(follower.stats).toMatchObject({ caughtUp: true, entries: 4, invalid: 4, resubscribes: 1 });
  });

  it('holds the worker\'s feeds until the log is read, and again while it is read after a lost connection', async () => {
    const { broker, port } = await fakeBroker();
    serveLog(broker, [entry({ action: 'hide', itemId: 'x:2' })]);
    const config = parseConfig(['broker:', '  url: amqp://localhost:5672', `  stomp: stomp://127.0.0.1:${port}`, 'feeds: [{ name: cats, keywords: [cat] }]'].join('\n'), 'worker.yaml', ENV);
    const live = new LiveModeration(config, { dryRun: false, clock: systemClock, log: testLogger(), quietMs: 100 });
    closers.push(() => live.stop());
    const item = (id: string): Buffer => Buffer.from(JSON.stringify({ id, network: 'x', author: { handle: 'alice' } }));
    expect(live.gate.check('/topic/feed.cats', 'x:1', item('x:1'))).toBe('hold');
    // The feed's endpoints are not ready meanwhile (/readyz), its pending queue's neither.
    expect([live.gate.holds('/topic/feed.cats'), live.gate.holds('/queue/pending.cats'), live.gate.holds('/topic/status.workers')]).toEqual([true, true, false]);
    // Not a feed's address: never held.
    expect(live.gate.check('/topic/status.workers', 's', Buffer.from('{}'))).toBe('send');
    live.start();
    await live.follower?.whenCaughtUp();
    expect(live.gate.check('/topic/feed.cats', 'x:1', item('x:1'))).toBe('send');
    expect(live.gate.holds('/topic/feed.cats')).toBe(false);
    expect(live.gate.check('/topic/feed.cats', 'x:2', item('x:2'))).toBe('hidden');
    expect(live.status()).toMatchObject({ held: false, log: { caughtUp: true, entries: 1 }, feeds: { cats: { hidden: ['x:2'], blockedAuthors: [], dropped: { hidden: 1, 'blocked-author': 0, overflow: 0 } } } });
    expect([...live.dropped()]).toContainEqual({ route: 'feed:cats', reason: 'hidden', count: 1 });
    const lost = new Promise((resolve) => live.follower?.once('lost', resolve));
    broker.cut();
    await lost;
    expect(live.gate.check('/topic/feed.cats', 'x:1', item('x:1'))).toBe('hold');
    await live.follower?.whenCaughtUp();
    expect(live.gate.check('/topic/feed.cats', 'x:1', item('x:1'))).toBe('send');
  });

  it('without broker.stomp, a worker holds nothing and applies what its local state kept', () => {
    const config = parseConfig(['broker: { url: "amqp://localhost:5672" }', 'feeds: [{ name: cats, keywords: [cat] }]'].join('\n'), 'worker.yaml', ENV);
    const live = new LiveModeration(config, { dryRun: false, clock: systemClock, log: testLogger() });
    expect(live.follower).toBeUndefined();
    expect(live.gate.check('/topic/feed.cats', 'x:1', Buffer.from('{}'))).toBe('send');
    expect(live.status()).toMatchObject({ held: false, log: 'not read (no broker.stomp)' });
    void live.stop();
  });
});

describe('the config keys of live takedown and approval mode', () => {
  const problems = (lines: string[]): string[] => {
    try {
      parseConfig(lines.join('\n'), 'worker.yaml', ENV);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('reads broker.stomp and a feed\'s moderation.mode', () => {
    const config = parseConfig(['broker:', '  url: amqp://localhost:5672', '  stomp: stomp://broker.example:61623', 'feeds:', '  - { name: cats, keywords: [cat], moderation: { mode: manual, allowedAuthors: { x: [trusted] } } }', '  - { name: dogs, keywords: [dog], moderation: { mode: auto } }', '  - { name: owls, keywords: [owl] }'].join('\n'), 'worker.yaml', ENV);
    expect(config.broker.stomp).toEqual({ url: 'stomp://broker.example:61623', host: 'broker.example', port: 61623 });
    expect(config.feeds.map((feed) => feed.moderationMode)).toEqual(['manual', 'auto', undefined]);
    expect(config.feeds[0]?.moderation?.allowedAuthors.x).toEqual(['trusted']);
    expect(parseConfig(['broker: { url: "amqp://localhost:5672", stomp: "stomp://[::1]" }', 'feeds: [{ name: cats, keywords: [cat] }]'].join('\n'), 'worker.yaml', ENV).broker.stomp).toEqual({ url: 'stomp://[::1]', host: '::1', port: 61613 });
  });

  it('reports a wrong broker.stomp and mode at file:line:col; mode belongs to a feed', () => {
    expect(problems(['broker:', '  url: amqp://localhost:5672', '  stomp: amqp://localhost:61613', 'feeds:', '  - { name: cats, keywords: [cat], moderation: { mode: approve } }', 'moderation: { mode: manual }'])).toEqual([
      'worker.yaml:3:10: broker.stomp must look like stomp://host:61613 (the broker\'s STOMP port, where the worker reads the moderation log), not "amqp://localhost:61613"',
      'worker.yaml:5:56: feeds[0].moderation.mode must be auto or manual, not "approve"',
      'worker.yaml:6:15: unknown field "mode" in moderation; expected one of blockedWords, blockedAuthors, allowedAuthors, profanity, perAuthor',
    ]);
    expect(problems(['broker: { url: "amqp://localhost:5672", stomp: "stomp://localhost:99999" }', 'feeds: [{ name: cats, keywords: [cat] }]'])).toEqual([expect.stringMatching(/^worker\.yaml:1:\d+: broker\.stomp must look like stomp:\/\/host:61613/)]);
  });
});
