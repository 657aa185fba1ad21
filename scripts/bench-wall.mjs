#!/usr/bin/env node
// The measurement behind `scripts/bench wall`: publish → on-screen latency of the wall, with timestamps taken inside
// the page, for 1, 100, 500 and 1,000 concurrent viewers at 50 items/s, and whether every viewer got every item.
//
// For each number of viewers N, on a feed of its own (so the broker's 24-item backfill of an earlier level never
// reaches it): one real page (web/, built and served as in production, in headless Chromium) plus N − 1 Node
// viewers (scripts/bench-viewers.mjs: STOMP over `ws`, forked into --processes child processes, connected
// at most --concurrency at a time per process) subscribe; then an AMQP 1.0 publisher (rhea, as the worker) sends
// rate × seconds items, each one's send time kept by sequence number. The page's latency of an item is its
// `livewall:shown` mark (taken by web/src/wall.ts in the first task after the animation frame that inserts the card
// has been rendered) minus the send time; the Node viewers' is when the message reaches them. Run it through
// `scripts/bench wall`, which builds, starts a private broker and passes:
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… BENCH_STOMP_URL=ws://127.0.0.1:PORT
//   [BENCH_BROKER_PID=…] node scripts/bench-wall.mjs [options]
//
//   --viewers LIST     numbers of concurrent viewers, page included (default 1,100,500,1000)
//   --rate N           items per second (default 50)
//   --seconds N        seconds of publishing per level (default 60)
//   --processes N      child processes for the Node viewers (default 2, one per CPU here)
//   --concurrency N    viewers connecting at once, per process (default 10)
//   --drain N          seconds to wait after the last send for stragglers (default 20)
//   --warmup N         seconds of publishing to the page alone before the first level, not reported (default 10):
//                      the broker, the page and the publisher's code paths are warm when measuring starts
//
// Progress goes to stderr, the markdown report to stdout. Exit code 1 when an item was lost somewhere.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { feedItems, openPublisher, publishPaced } from './bench-feed.mjs';
import { LatencyHistogram, cpuBetween, cpuSnapshot, ms, nowMs, sleep, summary, positiveOption, usageError } from './bench-measure.mjs';
import { buildPage, clockCheck, launchChromium, openWall, pageRecord, servePage } from './bench-page.mjs';

const SCRIPT = 'bench-wall';

const say = (message) => process.stderr.write(`bench wall: ${message}\n`);

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '1,100,500,1000' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    processes: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '10' },
    drain: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '10' },
  },
  strict: true,
});
const levels = args.viewers.split(',').map((text) => positiveOption(SCRIPT, 'viewers', text));
const rate = positiveOption(SCRIPT, 'rate', args.rate);
const seconds = positiveOption(SCRIPT, 'seconds', args.seconds);
const processes = positiveOption(SCRIPT, 'processes', args.processes);
const concurrency = positiveOption(SCRIPT, 'concurrency', args.concurrency);
const drainSeconds = positiveOption(SCRIPT, 'drain', args.drain);
const warmupSeconds = Number(args.warmup);
if (!Number.isInteger(warmupSeconds) || warmupSeconds < 0) usageError(SCRIPT, '--warmup must be a whole number of seconds');
const { BENCH_AMQP_URL: amqpUrl, BENCH_AMQP_PASSWORD: password, BENCH_STOMP_URL: stompUrl, BENCH_BROKER_PID: brokerPid } = process.env;
if (!amqpUrl || !password || !stompUrl) usageError(SCRIPT, 'BENCH_AMQP_URL, BENCH_AMQP_PASSWORD and BENCH_STOMP_URL must be set (scripts/bench sets them)');

const run = randomBytes(4).toString('hex');
const feedOf = (viewers) => `wall-${run}-${viewers}`;
const total = rate * seconds;
const work = mkdtempSync(join(tmpdir(), 'livewall-bench-wall-'));
let cleanup = async () => undefined;
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => cleanup().finally(() => process.exit(code)));

say('building the page (vite build)');
const webRoot = await buildPage(work);
const warmupFeed = `wall-${run}-warmup`;
const server = await servePage({ webRoot, brokerUrl: stompUrl, feeds: [warmupFeed, ...levels.map(feedOf)] });
const browser = await launchChromium();
let children = [];
cleanup = async () => {
  for (const child of children) child.kill();
  await browser.close().catch(() => undefined);
  await server.close();
};

const results = [];
try {
  if (warmupSeconds > 0) {
    say(`warming up: ${warmupSeconds} s at ${rate}/s to the page alone (not reported)`);
    await measureLevel(1, warmupFeed, rate * warmupSeconds);
  }
  for (const viewers of levels) results.push(await measureLevel(viewers, feedOf(viewers), total));
} finally {
  await cleanup();
}
printReport();
process.exit(results.every((result) => result.page.lost === 0 && result.node.lost === 0) ? 0 : 1);

/** One level: N − 1 Node viewers and the page on a fresh feed, `count` items at `rate`, then the counts. */
async function measureLevel(viewers, feed, count) {
  const items = feedItems({ feed, run: feed.slice('wall-'.length), imageOrigin: server.origin });
  say(`${viewers} viewer(s), feed ${feed}: opening the page`);
  const wall = await openWall(browser, server.origin, feed);
  const clock = await clockCheck(wall.page);

  const nodeViewers = viewers - 1;
  const connecting = nowMs();
  children = Array.from({ length: Math.min(processes, nodeViewers) }, (_, index) => {
    const share = Math.floor(nodeViewers / processes) + (index < nodeViewers % processes ? 1 : 0);
    return { process: fork(fileURLToPath(new URL('bench-viewers.mjs', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), share };
  }).filter((child) => child.share > 0);
  const connected = await Promise.all(
    children.map((child) => ask(child.process, { type: 'connect', url: stompUrl, destination: `/topic/feed.${feed}`, viewers: child.share, concurrency, total: count, idPrefix: items.idPrefix }, 'connected')),
  );
  const failed = connected.flatMap((answer) => answer.failed);
  if (nodeViewers > 0) say(`${connected.reduce((sum, answer) => sum + answer.connected, 0)} Node viewers subscribed in ${((nowMs() - connecting) / 1000).toFixed(1)} s${failed.length ? `, ${failed.length} failed: ${failed[0]}` : ''}`);
  if (failed.length > 0) throw new Error(`${failed.length} Node viewers could not subscribe, first: ${failed[0]}`);
  const connectSeconds = (nowMs() - connecting) / 1000;

  const publisher = await openPublisher({ url: amqpUrl, password, feed });
  await wall.drain(); // nothing shown yet; long tasks of loading the page are not this level's
  const groups = { broker: () => (brokerPid ? [Number(brokerPid)] : []), viewers: () => children.map((child) => child.process.pid) };
  const before = cpuSnapshot(groups, 'chromium');
  say(`publishing ${count} items at ${rate}/s`);
  const sending = await publishPaced({
    publisher,
    items,
    rate,
    count,
    onSent: (seq, at) => {
      for (const child of children) child.process.send({ type: 'sent', seq, at });
    },
  });
  const cpu = cpuBetween(before, cpuSnapshot(groups, 'chromium'));

  // Stragglers: wait until the page showed every item and every Node viewer received every one, or the drain time.
  const { shown, longTasks, longFrames, collect } = pageRecord(wall);
  const deadline = nowMs() + drainSeconds * 1000;
  for (;;) {
    await collect();
    // A swamped viewer process answers late: past the deadline, stop asking.
    const answers = await Promise.race([Promise.all(children.map((child) => ask(child.process, { type: 'progress' }, 'progress'))), sleep(Math.max(0, deadline - nowMs())).then(() => [])]);
    const received = answers.reduce((sum, answer) => sum + answer.received, 0);
    if ((shown.size >= count && answers.length === children.length && received >= nodeViewers * count) || nowMs() > deadline) break;
    await sleep(250);
  }
  const reports = await Promise.all(children.map((child) => ask(child.process, { type: 'report' }, 'report')));
  await Promise.all(children.map((child) => stopChild(child.process)));
  children = [];
  await publisher.close();
  const problems = [...wall.problems];
  await wall.close();

  const pageLatencies = [];
  let foreign = 0;
  for (const [id, at] of shown) {
    const seq = id.startsWith(items.idPrefix) ? Number(id.slice(items.idPrefix.length)) : -1;
    if (seq >= 0 && seq < count) pageLatencies.push(at - sending.sentAt[seq]);
    else foreign++;
  }
  const nodeHistogram = new LatencyHistogram();
  for (const { report } of reports) nodeHistogram.merge(report.latency);
  const sum = (key) => reports.reduce((acc, { report }) => acc + report[key], 0);
  const result = {
    viewers,
    nodeViewers,
    feed,
    connectSeconds,
    clock,
    sending,
    publisher: publisher.outcomes,
    cpu,
    page: { ...summary(pageLatencies), lost: count - pageLatencies.length, foreign, problems, longTasks, longFrames },
    node: {
      ...nodeHistogram.summary(),
      received: sum('received'),
      lost: nodeViewers * count - sum('received'),
      short: sum('short'),
      fewest: reports.length ? Math.min(...reports.map(({ report }) => report.fewest)) : count,
      duplicates: sum('duplicates'),
      foreign: sum('foreign'),
      unmatched: sum('unmatched'),
      closed: reports.flatMap(({ report }) => report.closed),
      loopDelayMs: reports.reduce((worst, { report }) => Math.max(worst, report.loopDelayMs.max), 0),
    },
  };
  say(
    `${viewers} viewer(s): page p50 ${ms(result.page.p50)} p95 ${ms(result.page.p95)} p99 ${ms(result.page.p99)} max ${ms(result.page.max)} ms, lost ${result.page.lost}` +
      (nodeViewers ? `; Node viewers p50 ${ms(result.node.p50)} p99 ${ms(result.node.p99)} ms, lost ${result.node.lost} of ${nodeViewers * count}` : '') +
      `; CPU broker ${cpu.cores.broker.toFixed(2)}, viewers ${cpu.cores.viewers.toFixed(2)}, Chromium ${cpu.cores.chromium.toFixed(2)}, bench ${cpu.cores.bench.toFixed(2)}, machine ${cpu.machine.toFixed(2)} cores`,
  );
  return result;
}

/** Sends `message` to a viewer process and resolves with its next answer of type `answer`. */
function ask(child, message, answer) {
  return new Promise((resolve, reject) => {
    const onMessage = (reply) => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code) => reject(new Error(`a viewer process exited (${code}) while asked for ${message.type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.send({ type: 'stop' });
  });
}

function printReport() {
  const out = [];
  const first = results[0];
  out.push(`Feed: ${total} items per level at ${rate} items/s (${seconds} s), one feed per level (\`wall-${run}-<viewers>\`); Node viewers in ${processes} process(es), at most ${concurrency} connecting at a time in each; drain up to ${drainSeconds} s after the last send.`);
  out.push(`Clock check (page vs this process, tightest of 20 brackets): the page's time was ${ms(first.clock.pageMinusBefore, 2)} ms after the bracket opened and ${ms(first.clock.afterMinusPage, 2)} ms before it closed (bracket ${ms(first.clock.width, 2)} ms).`);
  out.push('');
  out.push('Publish → on-screen latency in the page (`livewall:shown` mark − send time), ms:');
  out.push('');
  out.push('| viewers (Node + page) | items shown | lost | p50 | p95 | p99 | max | long tasks (max ms) |');
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const longest = r.page.longTasks.reduce((max, [, duration]) => Math.max(max, duration), 0);
    out.push(`| ${r.viewers} (${r.nodeViewers} + 1) | ${r.page.count} of ${total} | ${r.page.lost} | ${ms(r.page.p50)} | ${ms(r.page.p95)} | ${ms(r.page.p99)} | ${ms(r.page.max)} | ${r.page.longTasks.length}${r.page.longTasks.length ? ` (${ms(longest, 0)})` : ''} |`);
  }
  out.push('');
  out.push('Node viewers: publish → message received by the viewer, ms (0.1 ms buckets), and what they received:');
  out.push('');
  out.push('| viewers | Node viewers | connect s | deliveries | lost | viewers short | fewest | dup | p50 | p95 | p99 | max | event loop late, max ms |');
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    if (r.nodeViewers === 0) continue;
    out.push(`| ${r.viewers} | ${r.nodeViewers} | ${r.connectSeconds.toFixed(1)} | ${r.node.received} of ${r.nodeViewers * total} | ${r.node.lost} | ${r.node.short} | ${r.node.fewest} | ${r.node.duplicates} | ${ms(r.node.p50)} | ${ms(r.node.p95)} | ${ms(r.node.p99)} | ${ms(r.node.max)} | ${ms(r.node.loopDelayMs, 0)} |`);
  }
  out.push('');
  out.push('CPU while publishing (cores busy on average; the machine has 2), and the publisher:');
  out.push('');
  out.push('| viewers | broker (Java) | Node viewers | Chromium | bench (publisher, web server) | anything else | whole machine | sends late, max ms | accepted |');
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const c = r.cpu.cores;
    const others = Math.max(0, r.cpu.machine - c.broker - c.viewers - c.chromium - c.bench);
    out.push(`| ${r.viewers} | ${c.broker.toFixed(2)} | ${c.viewers.toFixed(2)} | ${c.chromium.toFixed(2)} | ${c.bench.toFixed(2)} | ${others.toFixed(2)} | ${r.cpu.machine.toFixed(2)} | ${ms(r.sending.maxLate)} | ${r.publisher.accepted} of ${total}${r.publisher.other.length ? ` (${r.publisher.other.length} other outcomes)` : ''} |`);
  }
  const notes = results.flatMap((r) => [
    ...(r.node.closed.length ? [`${r.viewers} viewers: ${r.node.closed.length} Node viewer connection(s) closed during the run (first: ${r.node.closed[0]})`] : []),
    ...(r.node.foreign || r.page.foreign ? [`${r.viewers} viewers: ${r.node.foreign + r.page.foreign} message(s) that were not this level's items`] : []),
    ...(r.node.unmatched ? [`${r.viewers} viewers: ${r.node.unmatched} Node deliveries without a send time`] : []),
    ...(r.page.problems.length ? [`${r.viewers} viewers: the page reported ${r.page.problems.length} problem(s), first: ${r.page.problems[0]}`] : []),
    ...(r.page.longFrames.length ? [`${r.viewers} viewers: ${r.page.longFrames.length} long animation frame(s) in the page, longest ${ms(Math.max(...r.page.longFrames.map(([, duration]) => duration)), 0)} ms`] : []),
  ]);
  if (notes.length) {
    out.push('');
    for (const note of notes) out.push(`- ${note}`);
  }
  const goal = results.find((r) => r.viewers === 1000);
  if (goal) {
    out.push('');
    out.push(`Goal (p99 under 50 ms at 1,000 viewers, nothing lost): p99 ${ms(goal.page.p99)} ms, lost ${goal.page.lost} in the page and ${goal.node.lost} in the Node viewers — ${goal.page.p99 < 50 && goal.page.lost === 0 && goal.node.lost === 0 ? 'met' : 'NOT met'}.`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
