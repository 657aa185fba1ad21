import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp, durableSubscription } from '../test/stomp.js';
import { longRecording, startWorker, workerConfig, type RunningWorker } from '../test/worker.js';

/**
 * Moving the worker: a second worker started with --takeover takes the feed over from the running one during a
 * live replay, and gives it back when it stops. Against the real broker, each worker a real process from the built
 * dist, every item counted on a durable queue bound to the feed: nothing may be missing, and an item may arrive twice
 * only around a handover.
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
/** Around a handover, how many arrivals a repeat may be from it: two seconds of items. */
const HANDOVER_WINDOW = 2 * PACE;

interface OwnershipReport {
  instance: { id: string; pid: number };
  feeds: { feed: string; role: string; owner?: { id: string; host: string; pid: number; region?: string }; epoch: number }[];
}

async function statusOf(port: number): Promise<{ routes: { id: string; state: string }[]; ownership: OwnershipReport }> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { routes: { id: string; state: string }[]; ownership: OwnershipReport };
}

function count(worker: RunningWorker, pattern: RegExp): number {
  return worker.output().match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

/** When the worker logged the `nth` line matching `pattern` (pino's epoch ms). */
function loggedAt(worker: RunningWorker, pattern: RegExp, nth = 1): number {
  const lines = worker.output().split('\n').filter((line) => pattern.test(line));
  return (JSON.parse(lines[nth - 1] ?? '{}') as { time?: number }).time ?? NaN;
}

test('--takeover moves a feed to another worker during a live replay and back when it stops: nothing missing, repeats only at the handovers', async () => {
  const feed = `takeover-${randomUUID().slice(0, 6)}`;
  const recording = await longRecording(dir, feed, LINES);
  // The taker plays its own copy of the recording, somewhere else, as on another machine.
  await mkdir(join(dir, 'laptop'));
  const copy = join(dir, 'laptop', basename(recording.file));
  await copyFile(recording.file, copy);

  const queue = durableSubscription(broker.wsUrl, { login: 'admin', passcode: broker.passwords.admin }, `/topic/feed.${feed}`, `${feed}-reader`);
  cleanups.push(() => queue.stop());
  const statusTopic = `/topic/status.${feed}`;
  const statuses = collect(page, statusTopic);
  await Promise.all([queue.ready, statuses.ready]);

  const ports = { server: await freePort(), laptop: await freePort() };
  const config = async (name: 'server' | 'laptop', file: string): Promise<string> => {
    const path = join(dir, `${name}.yaml`);
    const extra = `region: ${name === 'server' ? 'us-east' : 'home'}
ops: { port: ${ports[name]} }
ownership: { lease: 1500ms, renew: 300ms }
status: { topic: ${statusTopic}, interval: 500ms }
shutdownTimeout: 5s
`;
    await writeFile(path, workerConfig({ broker, feeds: [feed], recording: file, replay: [`pace: ${PACE}/s`], extra }));
    return path;
  };
  const env = { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher };
  const start = (args: string[]): RunningWorker => {
    const worker = startWorker(args, env);
    cleanups.push(async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    });
    return worker;
  };

  // 1. The first worker owns the feed and publishes.
  const server = start(['run', '--config', await config('server', recording.file)]);
  await server.waitFor(new RegExp(`feed ${feed}: owned here`));
  await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThan(40);

  // 2. Another worker takes it over: the first drains and yields, and stands by with its routes stopped.
  const laptop = start(['run', '--config', await config('laptop', copy), '--takeover']);
  await laptop.waitFor(new RegExp(`feed ${feed}: owned here \\(yielded by `), 20_000);
  const takenAt = queue.ids.length;
  await server.waitFor(new RegExp(`feed ${feed}: standby; \\S+:${laptop.child.pid} \\(home\\) owns it`));
  expect(server.output()).toMatch(new RegExp(`feed ${feed}: yielding to \\S+:${laptop.child.pid} \\(home\\); draining`));
  expect(laptop.output()).toMatch(new RegExp(`feed ${feed}: taking over from \\S+:${server.child.pid} \\(us-east\\)`));

  // /status on both machines says who owns the feed and where it runs.
  const standby = await statusOf(ports.server);
  expect(standby.ownership.feeds).toEqual([expect.objectContaining({ feed, role: 'standby', owner: expect.objectContaining({ pid: laptop.child.pid, region: 'home' }) })]);
  expect(standby.routes.map((route) => [route.id, route.state])).toEqual([
    [`feed:${feed}`, 'stopped'],
    ['source:x', 'stopped'],
  ]);
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

  // Every item arrived; repeats, if any, only around the two handovers.
  await expect.poll(() => recording.ids.filter((id) => !queue.ids.includes(id)).length, { timeout: 10_000 }).toBe(0);
  const firstSeen = new Set<string>();
  const repeats: { id: string; at: number }[] = [];
  queue.ids.forEach((id, at) => {
    if (firstSeen.has(id)) repeats.push({ id, at });
    firstSeen.add(id);
  });
  const nearHandover = (at: number): boolean => Math.abs(at - takenAt) <= HANDOVER_WINDOW || Math.abs(at - handedBackAt) <= HANDOVER_WINDOW;
  expect(repeats.filter((repeat) => !nearHandover(repeat.at))).toEqual([]);
  expect(repeats.length).toBeLessThanOrEqual(2 * HANDOVER_WINDOW);
  expect(firstSeen.size).toBe(recording.ids.length);
  // How long the feed had no owner publishing: from the yield's drain to the taker's start, from the release to the resume.
  const takeoverMs = loggedAt(laptop, /owned here/) - loggedAt(server, /yielding to/);
  const handBackMs = loggedAt(server, /owned here/, 2) - loggedAt(laptop, /ownership: released/);
  expect(takeoverMs).toBeLessThan(5000);
  expect(handBackMs).toBeLessThan(5000);
  console.info(`takeover test: ${recording.ids.length} items, ${repeats.length} repeated; handovers at arrivals ${takenAt} (${takeoverMs} ms) and ${handedBackAt} (${handBackMs} ms)`);
}, 60_000);
