#!/usr/bin/env node
// The measurement behind `scripts/bench soak`: the wall left open under a steady feed — one page (web/, built and
// served as in production, in headless Chromium), 20 items/s for 30 minutes — and what that does to it: the
// JavaScript heap after garbage collection (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage), the number
// of DOM elements, long tasks (PerformanceObserver 'longtask' inside the page), and, on the way, every item's
// publish → on-screen latency (the page's `livewall:shown` mark − the send time) and whether any went missing.
//
// A sample is taken before the first item and then every --sample seconds: garbage collected, heap, elements, CDP
// Performance.getMetrics (Nodes, JSEventListeners), Chromium's memory (PSS, all its processes). The heap growth that counts is from
// the first sample after the wall is full (it keeps at most 200 cards; at 20 items/s that is after 10 s) to the
// last, taken after publishing stopped and the page showed the last item. The forced collections run on the page's
// main thread: a long task that overlaps one is reported apart, as the benchmark's own.
//
// Run it through `scripts/bench soak`, which builds, starts a private broker and passes:
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… BENCH_STOMP_URL=ws://127.0.0.1:PORT
//   [BENCH_BROKER_PID=…] node scripts/bench-soak.mjs [options]
//
//   --minutes N    minutes of publishing (default 30)
//   --rate N       items per second (default 20)
//   --sample N     seconds between samples (default 60)
//
// Progress goes to stderr, the markdown report to stdout. Exit code 1 when a goal is not met (heap growth under
// 5 MB, DOM under 1,400 elements, no long task, nothing lost).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { feedItems, openPublisher, publishPaced } from './bench-feed.mjs';
import { cpuBetween, cpuSnapshot, descendants, ms, nowMs, proportionalBytes, sleep, summary, positiveOption, usageError } from './bench-measure.mjs';
import { buildPage, launchChromium, openWall, pageRecord, servePage } from './bench-page.mjs';

const SCRIPT = 'bench-soak';

const GOALS = { heapGrowthBytes: 5 * 1024 * 1024, elements: 1400, longTaskMs: 50 };
/** The wall's cap (the server's default maxItems). */
const CARDS = 200;

const say = (message) => process.stderr.write(`bench soak: ${message}\n`);

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '20' },
    sample: { type: 'string', default: '60' },
  },
  strict: true,
});
const minutes = positiveOption(SCRIPT, 'minutes', args.minutes);
const rate = positiveOption(SCRIPT, 'rate', args.rate);
const sampleSeconds = positiveOption(SCRIPT, 'sample', args.sample);
const { BENCH_AMQP_URL: amqpUrl, BENCH_AMQP_PASSWORD: password, BENCH_STOMP_URL: stompUrl, BENCH_BROKER_PID: brokerPid } = process.env;
if (!amqpUrl || !password || !stompUrl) usageError(SCRIPT, 'BENCH_AMQP_URL, BENCH_AMQP_PASSWORD and BENCH_STOMP_URL must be set (scripts/bench sets them)');

const run = randomBytes(4).toString('hex');
const feed = `soak-${run}`;
const total = rate * minutes * 60;
const work = mkdtempSync(join(tmpdir(), 'livewall-bench-soak-'));
let cleanup = async () => undefined;
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => cleanup().finally(() => process.exit(code)));

say('building the page (vite build)');
const webRoot = await buildPage(work);
const server = await servePage({ webRoot, brokerUrl: stompUrl, feeds: [feed] });
const browser = await launchChromium();
cleanup = async () => {
  await browser.close().catch(() => undefined);
  await server.close();
};

let report;
try {
  report = await soak();
} finally {
  await cleanup();
}
process.stdout.write(`${report.text}\n`);
process.exit(report.met ? 0 : 1);

async function soak() {
  const items = feedItems({ feed, run, imageOrigin: server.origin });
  const wall = await openWall(browser, server.origin, feed);
  const { cdp, page } = wall;
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.enable');

  const { shown, longTasks, longFrames, collect } = pageRecord(wall);
  /** Page-clock windows [start, end] of the benchmark's own forced garbage collections. */
  const gcWindows = [];
  const pageNow = () => page.evaluate(() => performance.timeOrigin + performance.now());

  const samples = [];
  const started = nowMs();
  const sample = async (label) => {
    await collect();
    const gcStart = await pageNow();
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    gcWindows.push([gcStart, await pageNow()]);
    const dom = await page.evaluate(() => ({ elements: document.getElementsByTagName('*').length, cards: document.querySelectorAll('[data-testid="tile"]').length }));
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(({ name, value }) => [name, value]));
    const chromiumPss = descendants(process.pid).reduce((sum, pid) => sum + proportionalBytes(pid), 0);
    const entry = { label, minute: (nowMs() - started) / 60_000, shown: shown.size, heap: heap.usedSize, heapTotal: heap.totalSize, ...dom, nodes: metrics.Nodes, listeners: metrics.JSEventListeners, taskSeconds: metrics.TaskDuration, chromiumPss, longTasks: longTasks.length };
    samples.push(entry);
    say(`${label}: ${entry.shown} shown, heap ${mb(entry.heap)} MB after GC, ${entry.elements} elements (${entry.cards} cards), ${entry.nodes} nodes, ${entry.listeners} listeners, ${longTasks.length} long task(s) so far`);
    return entry;
  };

  await collect();
  const loadLongTasks = longTasks.splice(0);
  longFrames.splice(0);
  const empty = await sample('before the first item');

  const publisher = await openPublisher({ url: amqpUrl, password, feed });
  say(`publishing ${total} items at ${rate}/s for ${minutes} min, a sample every ${sampleSeconds} s`);
  const cpuGroups = { broker: () => (brokerPid ? [Number(brokerPid)] : []) };
  const cpuBefore = cpuSnapshot(cpuGroups, 'chromium');
  let publishing = true;
  const sending = publishPaced({ publisher, items, rate, count: total }).finally(() => (publishing = false));
  let full;
  for (let next = 1; publishing; next++) {
    const due = started + next * sampleSeconds * 1000;
    while (publishing && nowMs() < due) await Promise.race([sleep(Math.min(5000, due - nowMs())), sending]);
    if (!publishing) break;
    const entry = await sample(sampleSeconds % 60 === 0 ? `${(next * sampleSeconds) / 60} min` : `${next * sampleSeconds} s`);
    if (!full && entry.cards >= CARDS) full = entry;
  }
  const { sentAt, maxLate } = await sending;
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(cpuGroups, 'chromium'));
  const deadline = nowMs() + 20_000;
  while (shown.size < total && nowMs() < deadline) {
    await collect();
    await sleep(250);
  }
  const last = await sample('end (after the last item)');
  full ??= last;
  const outcomes = publisher.outcomes;
  await publisher.close();
  const problems = [...wall.problems];
  await wall.close();

  const latencies = [];
  for (const [id, at] of shown) {
    const seq = Number(id.slice(items.idPrefix.length));
    if (id.startsWith(items.idPrefix) && seq >= 0 && seq < total) latencies.push(at - sentAt[seq]);
  }
  const latency = summary(latencies);
  const lost = total - latencies.length;
  const duringGc = ([start, duration]) => gcWindows.some(([from, to]) => start < to && start + duration > from);
  const pageTasks = longTasks.filter((task) => !duringGc(task));
  const gcTasks = longTasks.filter(duringGc);
  const growth = last.heap - full.heap;
  const maxElements = Math.max(...samples.map((entry) => entry.elements));
  const longest = pageTasks.reduce((max, [, duration]) => Math.max(max, duration), 0);
  const met = { heap: growth < GOALS.heapGrowthBytes, elements: maxElements < GOALS.elements, longTasks: pageTasks.length === 0, lost: lost === 0 };

  const out = [];
  out.push(`Feed: ${total} items at ${rate} items/s for ${minutes} min to one page (desktop window, 1280 × 860), feed \`${feed}\`; a sample every ${sampleSeconds} s (forced GC, then heap, DOM, CDP metrics). Publisher: ${outcomes.accepted} of ${total} accepted, sends at most ${ms(maxLate)} ms late.`);
  out.push('');
  out.push('| sample | min | items shown | heap after GC, MB | elements | cards | DOM nodes | listeners | Chromium memory (PSS), MB | long tasks so far |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const entry of samples) {
    out.push(`| ${entry.label} | ${entry.minute.toFixed(1)} | ${entry.shown} | ${mb(entry.heap)} | ${entry.elements} | ${entry.cards} | ${entry.nodes} | ${entry.listeners} | ${mb(entry.chromiumPss, 0)} | ${entry.longTasks} |`);
  }
  out.push('');
  out.push(`- **Heap growth** (after GC, from the first sample with a full wall, "${full.label}", ${mb(full.heap)} MB, to the end, ${mb(last.heap)} MB): **${signedMb(growth)} MB** (goal under 5 MB: ${met.heap ? 'met' : 'NOT met'}); from before the first item (${mb(empty.heap)} MB): ${signedMb(last.heap - empty.heap)} MB.`);
  out.push(`- **DOM**: at most **${maxElements} elements** (goal under 1,400: ${met.elements ? 'met' : 'NOT met'}), ${last.cards} cards at the end, ${last.nodes} nodes.`);
  out.push(`- **Long tasks** (over 50 ms) while publishing: **${pageTasks.length}**${pageTasks.length ? `, longest ${ms(longest, 0)} ms, median ${ms(summary(pageTasks.map(([, duration]) => duration)).p50, 0)} ms` : ''} (goal none: ${met.longTasks ? 'met' : 'NOT met'}); ${gcTasks.length} more overlapped the benchmark's forced GC${gcTasks.length ? ` (longest ${ms(Math.max(...gcTasks.map(([, duration]) => duration)), 0)} ms)` : ''}; ${loadLongTasks.length} while the page loaded. Long animation frames over 50 ms: ${longFrames.length}${longFrames.length ? `, longest ${ms(Math.max(...longFrames.map(([, duration]) => duration)), 0)} ms` : ''}.`);
  out.push(`- **Latency** publish → on-screen: p50 ${ms(latency.p50)} ms, p95 ${ms(latency.p95)} ms, p99 ${ms(latency.p99)} ms, max ${ms(latency.max)} ms; **${lost} lost** of ${total}.`);
  out.push(`- Main thread busy (CDP TaskDuration): ${(((last.taskSeconds - empty.taskSeconds) / ((nowMs() - started) / 1000)) * 100).toFixed(0)} % of the run.`);
  const { broker, chromium, bench } = cpu.cores;
  out.push(`- CPU while publishing, in cores (the machine has 2): Chromium ${chromium.toFixed(2)}, broker ${broker.toFixed(2)}, bench (publisher, web server) ${bench.toFixed(2)}, anything else ${Math.max(0, cpu.machine - chromium - broker - bench).toFixed(2)}; whole machine ${cpu.machine.toFixed(2)}.`);
  if (problems.length) out.push(`- The page reported ${problems.length} problem(s), first: ${problems[0]}`);
  return { text: out.join('\n'), met: Object.values(met).every(Boolean) };
}

function mb(bytes, digits = 2) {
  return (bytes / 1024 / 1024).toFixed(digits);
}

function signedMb(bytes) {
  return `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`;
}
