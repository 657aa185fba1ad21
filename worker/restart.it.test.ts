import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { durableSubscription } from '../test/stomp.js';
import { count, startWorker, type RunningWorker } from '../test/worker.js';
import { FakeJetstream } from './src/sources/bluesky/fake-jetstream.js';
import { caturdayPosts, postId } from './src/sources/bluesky/testing.js';

/**
 * No repeats across a restart or a handover: a worker reads Bluesky (the fake Jetstream, real wire format),
 * publishes, stops and starts again (or hands the feed to another worker and gets it back). Each start resumes at a
 * place minus the 5 s rewind, so Jetstream sends the last posts again; none of them may be published twice. Judged
 * by a durable queue bound to the feed on the real broker: after the restart and a few new posts, each post is on it
 * exactly once.
 */
const broker = testBroker();
let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-restart-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/**
 * A feed on Bluesky with a cursor file (and, with `outbox`, an outbox), a durable queue on it, and a way to start a
 * worker on either of two machines (each its own config, cursor file and ops port).
 */
async function blueskyFeed(name: string, options: { outbox: boolean }) {
  const feed = `${name}-${randomUUID().slice(0, 6)}`;
  const first = caturdayPosts(8, 'a', Date.now() * 1000 - 2_000_000);
  const jetstream = new FakeJetstream(first);
  const url = await jetstream.listen();
  cleanups.push(() => jetstream.close());
  const queue = durableSubscription(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin }, `/topic/feed.${feed}`, `${feed}-reader`);
  cleanups.push(() => queue.stop());
  await queue.ready;
  const opsPorts = { server: await freePort(), laptop: await freePort() };
  const start = async (machine: 'server' | 'laptop' = 'server', args: string[] = []): Promise<RunningWorker> => {
    const config = join(dir, `${feed}-${machine}.yaml`);
    await writeFile(
      config,
      `broker:
  url: amqp://${broker.host}:${broker.amqpPort}
  username: publisher
  password: \${TEST_PUBLISHER_PASSWORD}
${options.outbox ? `outbox: { file: ${join(dir, `${feed}-${machine}.outbox.db`)} }\n` : ''}sources:
  bluesky:
    endpoints: [${url}]
    cursorFile: ${feed}-${machine}.cursor
    profiles: false
feeds:
  - { name: ${feed}, network: bluesky, keywords: ["#caturday"] }
# One author writes every post of these tests: no limit per author.
moderation: { perAuthor: false }
region: ${machine}
ownership: { lease: 1500ms, renew: 300ms }
ops: { port: ${opsPorts[machine]} }
status: { enabled: false }
`,
    );
    const worker = startWorker(['run', '--config', config, ...args], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
    cleanups.push(async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    });
    return worker;
  };
  return { feed, jetstream, queue, first, opsPort: opsPorts.server, start };
}

/** The ids that arrived more than once. */
function repeated(ids: string[]): string[] {
  return ids.filter((id, at) => ids.indexOf(id) !== at);
}

type Feed = Awaited<ReturnType<typeof blueskyFeed>>;

/**
 * Starts the worker again, after the first one stopped: it resumes 5 s before its cursor, so Jetstream sends every post
 * again; then come new ones. Once they are on the queue the worker stops, and each post must be there exactly once.
 * Resolves with the routes' counters the second worker logged at its stop.
 */
async function restartedExactlyOnce({ jetstream, queue, first, start }: Feed): Promise<Record<string, { received: number; dropped: Record<string, number> }>> {
  const again = await start();
  await jetstream.whenRequested(2);
  expect(jetstream.cursorOf(1)).toBeLessThan(first[0]?.time_us ?? 0);
  const later = caturdayPosts(4, 'b', (first.at(-1)?.time_us ?? 0) + 1000);
  for (const event of later) jetstream.send(event);
  await expect.poll(() => queue.ids.filter((id) => later.map(postId).includes(id)).length, { timeout: 20_000 }).toBe(later.length);
  again.child.kill('SIGTERM');
  expect(await again.exited).toBe(0);
  expect(repeated(queue.ids)).toEqual([]);
  expect(queue.ids).toEqual([...first, ...later].map(postId));
  return (JSON.parse(again.output().trim().split('\n').at(-1) as string) as { routes: Record<string, { received: number; dropped: Record<string, number> }> }).routes;
}

test('with a cursor file, a restart after SIGTERM publishes nothing again: each post on the queue exactly once', async () => {
  const feed = await blueskyFeed('restart-clean', { outbox: false });
  const worker = await feed.start();
  await expect.poll(() => feed.queue.ids.length, { timeout: 20_000 }).toBe(feed.first.length);
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  const routes = await restartedExactlyOnce(feed);
  // The rewound posts were skipped at the source, as after a reconnect: it kept what it had seen at the stop.
  expect(routes['source:bluesky']?.received).toBe(4);
}, 60_000);

test('with an outbox, a restart after kill -9 publishes nothing again: each post on the queue exactly once', async () => {
  const feed = await blueskyFeed('restart-killed', { outbox: true });
  const worker = await feed.start();
  await expect.poll(() => feed.queue.ids.length, { timeout: 20_000 }).toBe(feed.first.length);
  // Every item has left the outbox (the broker accepted it): what the forwarder sends again after a crash, the
  // broker's at-least-once, is another matter (operations.md).
  await expect.poll(async () => (await (await fetch(`http://127.0.0.1:${feed.opsPort}/metrics`)).text()).match(/^livewall_outbox_depth (\d+)/m)?.[1], { timeout: 10_000 }).toBe('0');
  worker.child.kill('SIGKILL');
  await worker.exited;
  const routes = await restartedExactlyOnce(feed);
  // The source offered the rewound posts again; the feed dropped them as published before (the outbox's ids).
  expect(routes[`feed:${feed.feed}`]?.dropped.duplicate).toBe(feed.first.length);
}, 60_000);

test('a clean --takeover and hand-back of a Bluesky feed publish nothing twice, though each new owner resumes 5 s before the place handed over', async () => {
  const { feed, jetstream, queue, first, start } = await blueskyFeed('takeover-sky', { outbox: false });
  const server = await start('server');
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBe(first.length);

  // The taker gets the place and the ids with the yield: it asks Jetstream for the posts from 5 s before the place,
  // all of which the server published, and publishes none of them.
  const laptop = await start('laptop', ['--takeover']);
  await laptop.waitFor(new RegExp(`feed ${feed}: owned here \\(yielded by `), 20_000);
  await jetstream.whenRequested(2);
  expect(jetstream.cursorOf(1)).toBe((first.at(-1)?.time_us ?? 0) - 5_000_000);
  const taken = caturdayPosts(3, 'b', (first.at(-1)?.time_us ?? 0) + 1000);
  for (const event of taken) jetstream.send(event);
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBe(first.length + taken.length);

  // The taker stops and releases the feed: the server goes on from the taker's place, with the taker's ids.
  laptop.child.kill('SIGTERM');
  expect(await laptop.exited).toBe(0);
  await expect.poll(() => count(server, new RegExp(`feed ${feed}: owned here`)), { timeout: 10_000 }).toBe(2);
  await jetstream.whenRequested(3);
  expect(jetstream.cursorOf(2)).toBe((taken.at(-1)?.time_us ?? 0) - 5_000_000);
  const handedBack = caturdayPosts(3, 'c', (taken.at(-1)?.time_us ?? 0) + 1000);
  for (const event of handedBack) jetstream.send(event);
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(first.length + taken.length + handedBack.length);
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  expect(repeated(queue.ids)).toEqual([]);
  expect(queue.ids).toEqual([...first, ...taken, ...handedBack].map(postId));
}, 60_000);
