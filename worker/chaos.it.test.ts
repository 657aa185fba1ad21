import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { TestBroker } from '../test/broker.js';
import { testBroker } from '../test/broker.js';
import { PrivateBroker } from '../test/private-broker.js';
import { durableSubscription } from '../test/stomp.js';
import { TcpProxy } from '../test/tcp-proxy.js';
import { demoOrigin, longRecording, startWorker } from '../test/worker.js';

/**
 * The worker across a broken link: broker crashes, a link that goes dark, failover to another broker. In each, every
 * item the source produced must reach a durable queue bound to the feed — none missing; duplicates (a message the
 * broker accepted but whose acceptance was lost with the link) counted and bounded by the window in flight.
 */
const shared = testBroker();
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-chaos-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Items of the recording: fewer than the 500-item ring each subscriber's queue on feed.# keeps. */
const LINES = 330;
/** The AMQP window in flight: the most a failure can make the broker receive twice. */
const WINDOW = 1000;

function config(feed: string, recording: string, brokers: string[], publisherPassword: string): string {
  return `broker:
  url: [${brokers.map((url) => `"${url}"`).join(', ')}]
  username: publisher
  password: "${publisherPassword}"
  idleTimeout: 2s
outbox: { file: ${join(dir, `${feed}.outbox.db`)} }
imageHosts: [${demoOrigin}]
sources:
  x:
    replay:
      file: ${recording}
      pace: 40/s
      rewriteMedia: { from: "https://pbs.twimg.com/media/", to: "${demoOrigin}/demo/media/" }
feeds:
  - name: ${feed}
status: { enabled: false }
shutdownTimeout: 5s
`;
}

async function scenario(name: string, broker: TestBroker, brokers: string[]) {
  const feed = `chaos-${name}-${randomUUID().slice(0, 6)}`;
  const recording = await longRecording(dir, feed, LINES);
  const queue = durableSubscription(broker.wsUrl, { login: 'admin', passcode: broker.passwords.admin }, `/topic/feed.${feed}`, `${feed}-reader`);
  cleanups.push(() => queue.stop());
  await queue.ready;
  const file = join(dir, `${feed}.yaml`);
  await writeFile(file, config(feed, recording.file, brokers, broker.passwords.publisher));
  const worker = startWorker(['run', '--config', file]);
  cleanups.push(async () => {
    worker.child.kill('SIGKILL');
    await worker.exited;
  });
  return { feed, expected: recording.ids, queue, worker };
}

/** Resolves once every expected id has arrived (in whatever order, duplicates allowed). */
async function everyItem(ids: () => string[], expected: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const missing = (): string[] => {
    const seen = new Set(ids());
    return expected.filter((id) => !seen.has(id));
  };
  while (missing().length > 0) {
    if (Date.now() > deadline) throw new Error(`${missing().length} of ${expected.length} items never arrived, e.g. ${missing().slice(0, 3).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function duplicates(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

test('broker kill -9 and restart mid-stream: nothing missing', { timeout: 90_000 }, async () => {
  const broker = await PrivateBroker.start(`chaos-kill-${process.pid}`);
  cleanups.push(() => broker.remove());
  const { expected, queue, worker } = await scenario('kill', broker.info, [`amqp://127.0.0.1:${broker.info.amqpPort}`]);
  expect(expected.length).toBeGreaterThan(250);

  // A third of the way through, the broker dies without a word and comes back with its journal.
  await worker.waitFor(/connected to broker/);
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(expected.length / 3);
  await broker.kill9();
  await broker.restart();

  await everyItem(() => queue.ids, expected, 45_000);
  expect(duplicates(queue.ids)).toBeLessThanOrEqual(WINDOW);
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  expect(worker.output()).toMatch(/disconnected from broker; reconnecting/);
});

test('a 30 s link cut (a blackhole: no reset, no answer): the worker notices, keeps taking items, and delivers them all', { timeout: 90_000 }, async () => {
  const proxy = new TcpProxy(shared.host, shared.amqpPort);
  cleanups.push(() => proxy.close());
  const port = await proxy.listen();
  const { expected, queue, worker } = await scenario('cut', shared, [`amqp://127.0.0.1:${port}`]);

  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(20);
  proxy.blackhole();
  // The idle timeout (2 s here) finds the dead link; the source goes on into the outbox meanwhile.
  await worker.waitFor(/disconnected from broker; reconnecting/, 20_000);
  const during = queue.ids.length;
  await new Promise((resolve) => setTimeout(resolve, 30_000 - 2_000));
  expect(queue.ids.length).toBe(during);
  proxy.restore();

  await everyItem(() => queue.ids, expected, 30_000);
  expect(duplicates(queue.ids)).toBeLessThanOrEqual(WINDOW);
  // The replay ended while the link was dark: the worker waited for its outbox to reach the broker, then stopped.
  expect(await worker.exited).toBe(0);
  expect(worker.output()).toMatch(/sources finished; waiting for the outbox to reach the broker/);
  expect(worker.output()).toMatch(/"msg":"stopped"/);
});

test('worker kill -9 mid-burst and restart: the outbox and the replay’s place pick up where it died', { timeout: 90_000 }, async () => {
  const { feed, expected, queue, worker } = await scenario('worker', shared, [`amqp://${shared.host}:${shared.amqpPort}`]);
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(expected.length / 3);
  worker.child.kill('SIGKILL');
  await worker.exited;
  const before = queue.ids.length;

  // The same config again: the outbox file holds what was not yet sent, and the replay's place.
  const again = startWorker(['run', '--config', join(dir, `${feed}.yaml`)]);
  cleanups.push(async () => {
    again.child.kill('SIGKILL');
    await again.exited;
  });
  await again.waitFor(/replay: resuming after the last line it had dealt with/);
  await everyItem(() => queue.ids, expected, 45_000);
  expect(queue.ids.length).toBeGreaterThan(before);
  // What can come twice: what the replay offered in the last 200 ms before the kill (its place is written every
  // 200 ms: 8 items at 40/s) and what the forwarder had in flight; a replay from the top would repeat about 100.
  expect(duplicates(queue.ids)).toBeLessThanOrEqual(24);
  expect(await again.exited).toBe(0);
});

test('failover: when the first broker dies, the worker goes on with the second in its list', { timeout: 90_000 }, async () => {
  // The first broker knows the publisher by the shared broker's password: one config serves both.
  const first = await PrivateBroker.start(`chaos-failover-${process.pid}`, { publisher: shared.passwords.publisher });
  cleanups.push(() => first.remove());
  const feed = `chaos-failover-${randomUUID().slice(0, 6)}`;
  const recording = await longRecording(dir, feed, LINES);
  // A durable queue on each broker: the union must hold every item.
  const onFirst = durableSubscription(first.info.wsUrl, { login: 'admin', passcode: first.info.passwords.admin }, `/topic/feed.${feed}`, `${feed}-first`);
  const onSecond = durableSubscription(shared.wsUrl, { login: 'admin', passcode: shared.passwords.admin }, `/topic/feed.${feed}`, `${feed}-second`);
  cleanups.push(() => onFirst.stop(), () => onSecond.stop());
  await Promise.all([onFirst.ready, onSecond.ready]);
  const file = join(dir, `${feed}.yaml`);
  await writeFile(file, config(feed, recording.file, [`amqp://127.0.0.1:${first.info.amqpPort}`, `amqp://${shared.host}:${shared.amqpPort}`], shared.passwords.publisher));
  const worker = startWorker(['run', '--config', file], {});
  cleanups.push(async () => {
    worker.child.kill('SIGKILL');
    await worker.exited;
  });
  await expect.poll(() => onFirst.ids.length, { timeout: 20_000 }).toBeGreaterThan(30);
  await first.kill9();

  await worker.waitFor(new RegExp(`"broker":"amqp://${shared.host}:${shared.amqpPort}","reconnects":\\d+,"msg":"connected to broker"`), 20_000);
  // What the first broker had accepted is in its journal, in the durable queue: back up, it hands the rest over.
  await first.restart();
  await everyItem(() => [...onFirst.ids, ...onSecond.ids], recording.ids, 45_000);
  expect(onSecond.ids.length).toBeGreaterThan(0);
  expect(duplicates([...onFirst.ids, ...onSecond.ids])).toBeLessThanOrEqual(WINDOW);
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
