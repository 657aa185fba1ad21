import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { declarePublisherTopic, testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp, durableSubscription } from '../test/stomp.js';
import { count, loggedAt, longRecording, startWorker, statusOf, workerConfig, type OwnershipReport, type RunningWorker } from '../test/worker.js';

/**
 * Moving the worker: a second worker started with --takeover takes the feed over from the running one during a
 * live replay, and gives it back when it stops; when it dies instead, the first takes the feed back once the lease
 * runs out. Against the real broker, each worker a real process from the built dist, every item counted on a durable
 * queue bound to the feed: nothing may be missing; nothing may arrive twice across a clean handover, and after a
 * worker was killed only what it published after its last renewal.
 */
const broker = testBroker();
let dir: string;
let page: Client;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-takeover-'));
  page = await connectStomp(broker.wsUrl);
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await page.deactivate();
  await rm(dir, { recursive: true, force: true });
});

/** Lines of the recording, at PACE a second: long enough for a takeover and a hand-back in the middle. */
const LINES = 320;
const PACE = 25;
/** After a worker was killed, how many arrivals a repeat may be from its death: two seconds of items. */
const HANDOVER_WINDOW = 2 * PACE;
/** Short leases, so that a worker that dies without a word is replaced within seconds. */
const LEASE_MS = 1500;
const RENEW_MS = 300;

type Machines = Awaited<ReturnType<typeof twoMachines>>;

/** A feed of its own, its recording and the taker's copy of it, a durable queue on it, and a way to start either worker. */
async function twoMachines(name: string) {
  const feed = `${name}-${randomUUID().slice(0, 6)}`;
  const recording = await longRecording(dir, feed, LINES);
  // The taker plays its own copy of the recording, somewhere else, as on another machine.
  await mkdir(join(dir, feed, 'laptop'), { recursive: true });
  const copy = join(dir, feed, 'laptop', basename(recording.file));
  await copyFile(recording.file, copy);

  const queue = durableSubscription(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin }, `/topic/feed.${feed}`, `${feed}-reader`);
  cleanups.push(() => queue.stop());
  const statusTopic = `/topic/status.${feed}`;
  await declarePublisherTopic(statusTopic);
  const statuses = collect(page, statusTopic);
  await Promise.all([queue.ready, statuses.ready]);

  const ports = { server: await freePort(), laptop: await freePort() };
  const start = async (machine: 'server' | 'laptop', args: string[] = []): Promise<RunningWorker> => {
    const path = join(dir, feed, `${machine}.yaml`);
    const extra = `region: ${machine === 'server' ? 'us-east' : 'home'}
ops: { port: ${ports[machine]} }
ownership: { lease: ${LEASE_MS}ms, renew: ${RENEW_MS}ms }
status: { topic: ${statusTopic}, interval: 500ms }
shutdownTimeout: 5s
`;
    await writeFile(path, workerConfig({ broker, feeds: [feed], recording: machine === 'server' ? recording.file : copy, replay: [`pace: ${PACE}/s`], extra }));
    const worker = startWorker(['run', '--config', path, ...args], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
    cleanups.push(async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    });
    return worker;
  };
  return { feed, recording, queue, statuses, ports, start };
}

/** The first worker owns the feed and publishes; another takes it over with --takeover, and the first stands by. */
async function takeOver({ feed, queue, start }: Machines): Promise<{ server: RunningWorker; laptop: RunningWorker; takenAt: number }> {
  const server = await start('server');
  await server.waitFor(new RegExp(`feed ${feed}: owned here`));
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(40);
  const laptop = await start('laptop', ['--takeover']);
  await laptop.waitFor(new RegExp(`feed ${feed}: owned here \\(yielded by `), 20_000);
  // Where on the queue the taker's items begin.
  const takenAt = queue.ids.length;
  await server.waitFor(new RegExp(`feed ${feed}: standby; \\S+:${laptop.child.pid} \\(home\\) owns it`));
  return { server, laptop, takenAt };
}

/** The arrivals (positions on the queue) of ids seen before; and how many distinct ids arrived. */
function repeatsIn(ids: string[]): { repeats: number[]; distinct: number } {
  const firstSeen = new Set<string>();
  const repeats: number[] = [];
  ids.forEach((id, at) => {
    if (firstSeen.has(id)) repeats.push(at);
    firstSeen.add(id);
  });
  return { repeats, distinct: firstSeen.size };
}

test('--takeover moves a feed to another worker during a live replay and back when it stops: nothing missing, nothing twice', async () => {
  const machines = await twoMachines('takeover');
  const { feed, recording, queue, statuses, ports } = machines;

  // 1. The first worker owns the feed and publishes; 2. another takes it over: the first drains and yields, and
  // stands by with its routes stopped.
  const { server, laptop, takenAt } = await takeOver(machines);
  expect(server.output()).toMatch(new RegExp(`feed ${feed}: yielding to \\S+:${laptop.child.pid} \\(home\\); draining`));
  expect(laptop.output()).toMatch(new RegExp(`feed ${feed}: taking over from \\S+:${server.child.pid} \\(us-east\\)`));

  // /status on both machines says who owns the feed and where it runs.
  const standby = await statusOf(ports.server);
  expect(standby.ownership.feeds).toEqual([expect.objectContaining({ feed, role: 'standby', owner: expect.objectContaining({ pid: laptop.child.pid, region: 'home' }) })]);
  expect(standby.routes.map((route) => [route.id, route.state])).toEqual([
    [`feed:${feed}`, 'stopped'],
    ['source:x', 'stopped'],
  ]);
  // Standing by is a decision, not a failure: the standby worker is ready, as the owner is (once its routes, started
  // by the takeover, are up: on a loaded machine that can be a moment after the handover).
  for (const port of [ports.server, ports.laptop]) {
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  }
  const owner = await statusOf(ports.laptop);
  expect(owner.ownership.feeds).toEqual([expect.objectContaining({ feed, role: 'owner', owner: expect.objectContaining({ pid: laptop.child.pid }) })]);
  expect(owner.ownership.feeds[0]?.epoch).toBeGreaterThan(1);

  // So does the status topic: the taker serves the feed, the first worker lists it only as owned elsewhere.
  const reports = (): (OwnershipReport & { instance: string; feeds: { feed: string; state: string }[]; ownership: OwnershipReport['feeds'] })[] =>
    statuses.messages.map((message) => JSON.parse(message.body) as never);
  await expect
    .poll(() => reports().some((report) => report.instance.includes(`:${laptop.child.pid}:`) && report.feeds[0]?.state === 'started' && report.ownership[0]?.role === 'owner'), { timeout: 10_000 })
    .toBe(true);
  await expect
    .poll(() => reports().some((report) => report.instance.includes(`:${server.child.pid}:`) && report.feeds.length === 0 && report.ownership[0]?.role === 'standby' && report.ownership[0].owner?.pid === laptop.child.pid), { timeout: 10_000 })
    .toBe(true);

  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(takenAt + 50);

  // 3. The taker stops: it finishes what it took, releases the feed, and the first worker goes on from there.
  laptop.child.kill('SIGTERM');
  expect(await laptop.exited).toBe(0);
  const handedBackAt = queue.ids.length;
  expect(laptop.output()).toMatch(new RegExp(`ownership: released ${feed}`));
  await expect.poll(() => count(server, new RegExp(`feed ${feed}: owned here`)), { timeout: 10_000 }).toBe(2);

  // 4. The first worker plays the recording to its end and exits by itself.
  expect(await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000))])).toBe(0);

  // Every item arrived, each once: both handovers were clean.
  await expect.poll(() => recording.ids.filter((id) => !queue.ids.includes(id)).length, { timeout: 10_000 }).toBe(0);
  const { repeats, distinct } = repeatsIn(queue.ids);
  expect(repeats).toEqual([]);
  expect(distinct).toBe(recording.ids.length);
  // How long the feed had no owner publishing: from the yield's drain to the taker's start, from the release to the resume.
  const takeoverMs = loggedAt(laptop, /owned here/) - loggedAt(server, /yielding to/);
  const handBackMs = loggedAt(server, /owned here/, 2) - loggedAt(laptop, /ownership: released/);
  // Never two owners at once: the taker starts only after the first worker drained and yielded, and the first resumes
  // only after the release. How short the gaps are is a figure to watch, not a claim this test can time.
  expect(takeoverMs).toBeGreaterThanOrEqual(0);
  expect(handBackMs).toBeGreaterThanOrEqual(0);
  console.info(`takeover test: ${recording.ids.length} items, ${repeats.length} repeated; handovers at arrivals ${takenAt} (${takeoverMs} ms) and ${handedBackAt} (${handBackMs} ms)`);
}, 60_000);

test('a taker killed with -9 hands nothing back: the first worker takes the feed again once the lease runs out, nothing missing, repeats only after the kill', async () => {
  const machines = await twoMachines('killed');
  const { feed, recording, queue, ports } = machines;
  const { server, laptop, takenAt } = await takeOver(machines);
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(takenAt + 50);

  // The taker dies mid-replay: no drain, no release. Its lease ends LEASE_MS after its last renewal.
  const killedAt = Date.now();
  laptop.child.kill('SIGKILL');
  await laptop.exited;
  const diedAt = queue.ids.length;
  await expect.poll(() => count(server, new RegExp(`feed ${feed}: owned here`)), { timeout: 10_000 }).toBe(2);
  expect(laptop.output()).not.toMatch(/ownership: released/);
  // Not the release's settle time: the first worker waited for the lease to run out (the last renewal came at most
  // RENEW_MS before the kill).
  const resumeMs = loggedAt(server, /owned here/, 2) - killedAt;
  expect(resumeMs).toBeGreaterThanOrEqual(LEASE_MS - RENEW_MS);

  // Its /status says it owns the feed again, and runs it.
  const resumed = await statusOf(ports.server);
  expect(resumed.ownership.feeds).toEqual([expect.objectContaining({ feed, role: 'owner', owner: expect.objectContaining({ pid: server.child.pid, region: 'us-east' }) })]);
  expect(resumed.ownership.feeds[0]?.epoch).toBeGreaterThan(2);
  expect(resumed.routes.find((route) => route.id === `feed:${feed}`)?.state).toBe('started');

  // It plays the recording to its end from the place in the dead taker's last renewal, and exits by itself.
  expect(await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000))])).toBe(0);
  await expect.poll(() => recording.ids.filter((id) => !queue.ids.includes(id)).length, { timeout: 10_000 }).toBe(0);
  // What the taker published after its last renewal's place comes again, right after it died; nothing else repeats
  // (the takeover was clean).
  const { repeats, distinct } = repeatsIn(queue.ids);
  expect(repeats.filter((at) => Math.abs(at - diedAt) > HANDOVER_WINDOW)).toEqual([]);
  expect(repeats.length).toBeLessThanOrEqual(HANDOVER_WINDOW);
  expect(distinct).toBe(recording.ids.length);
  console.info(`takeover test, taker killed: ${recording.ids.length} items, ${repeats.length} repeated; taken at arrival ${takenAt}, taker died at ${diedAt}, feed resumed ${resumeMs} ms after the kill`);
}, 60_000);
