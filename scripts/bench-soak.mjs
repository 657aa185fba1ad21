#!/usr/bin/env node
// The measurement behind `scripts/bench soak`: the wall left open under a steady feed — one page (web/, built and
// served as in production, in headless Chromium; the desktop page at 1280 × 860, or screen mode at 1920 × 1080),
// 20 items/s for 30 minutes by default — and what that does to it: the JavaScript heap after garbage collection
// (CDP HeapProfiler.collectGarbage, then Runtime.getHeapUsage), the number of DOM elements, Chromium's own memory,
// long tasks (PerformanceObserver 'longtask' inside the page), frames, and, on the way, every item's publish →
// on-screen latency (the page's `livewall:shown` mark − the send time) and whether any went missing.
//
// A sample is taken before the first item and then every --sample seconds: garbage collected, heap, elements, CDP
// Performance.getMetrics (Nodes, JSEventListeners, the main thread's CPU time), Chromium's memory (PSS) by kind of
// process (renderer, GPU, network service, browser). Frames are counted in the page (an animation-frame callback:
// frames per second and gaps over 50 ms; the callback itself makes the page draw every frame). Each long task is
// put down to what its long animation frame spent the time on (scripts, the rendering update, or neither: GC,
// decoding, ...). The heap growth that counts is from the first sample after the wall is full (it keeps at most 200
// cards) to the last, taken after publishing stopped and the page showed the last item; Chromium's memory growth
// from the first sample after --warmup minutes to the last. Then every Chromium process is told memory is short
// (CDP Memory.simulatePressureNotification) and measured again: what it gives back was cache. The forced
// collections run on the page's main thread: a long task or frame gap that overlaps one is reported apart, as the
// benchmark's own.
//
// Run it through `scripts/bench soak`, which builds, starts a private broker and passes:
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… BENCH_STOMP_URL=ws://127.0.0.1:PORT
//   [BENCH_BROKER_PID=…] node scripts/bench-soak.mjs [options]
//
//   --minutes N    minutes of publishing (default 30)
//   --rate N       items per second (default 20)
//   --sample N     seconds between samples (default 60)
//   --warmup N     minutes after which Chromium's memory must not grow any more (default 10)
//   --screen       the page in screen mode (?screen), in a 1920 × 1080 window, instead of the desktop page
//   --trace-at N   from the sample at minute N on, record a Chrome trace (CDP Tracing) until 10 s before the next
//                  sample: the main thread's CPU time by event, and what ran in each long task (scripts/bench-trace.mjs)
//
// Progress goes to stderr, the markdown report to stdout. Exit code 1 when a goal is not met (heap growth under
// 5 MB, DOM under 1,400 elements, Chromium's memory growing less than 5 % after the warm-up, no long task, nothing
// lost).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { feedItems, openPublisher, publishPaced } from './bench-feed.mjs';
import { chromiumMemoryByKind, cpuBetween, cpuSnapshot, ms, nowMs, sleep, summary, positiveOption, usageError } from './bench-measure.mjs';
import { buildPage, launchChromium, openWall, pageRecord, servePage } from './bench-page.mjs';
import { mainThreadIn, startTrace, stopTrace } from './bench-trace.mjs';

const SCRIPT = 'bench-soak';

/** Chromium's memory may grow by less than this share of its size at the end of the warm-up. */
const GOALS = { heapGrowthBytes: 5 * 1024 * 1024, elements: 1400, longTaskMs: 50, memoryGrowthShare: 0.05 };
const KINDS = ['renderer', 'gpu', 'network', 'browser', 'other'];
/** The wall's cap (the server's default maxItems). */
const CARDS = 200;

const say = (message) => process.stderr.write(`bench soak: ${message}\n`);

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '20' },
    sample: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
    screen: { type: 'boolean', default: false },
    'trace-at': { type: 'string' },
  },
  strict: true,
});
const minutes = positiveOption(SCRIPT, 'minutes', args.minutes);
const rate = positiveOption(SCRIPT, 'rate', args.rate);
const sampleSeconds = positiveOption(SCRIPT, 'sample', args.sample);
const warmupMinutes = positiveOption(SCRIPT, 'warmup', args.warmup);
const traceAt = args['trace-at'] === undefined ? undefined : positiveOption(SCRIPT, 'trace-at', args['trace-at']);
const viewport = args.screen ? { width: 1920, height: 1080 } : { width: 1280, height: 860 };
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
  // The publisher first: its link creates the feed's address, which a viewer may only subscribe to once it exists.
  const publisher = await openPublisher({ url: amqpUrl, password, feed });
  const wall = await openWall(browser, server.origin, feed, { viewport }, args.screen ? '?screen' : '');
  const { cdp, page } = wall;
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.enable');

  const record = pageRecord(wall);
  const { shown, longTasks, longFrames, slowFrames, collect } = record;
  /** Page-clock windows [start, end] of the benchmark's own forced garbage collections. */
  const gcWindows = [];
  const pageNow = () => page.evaluate(() => performance.timeOrigin + performance.now());

  const samples = [];
  const started = nowMs();
  let lastSampleAt;
  let traced;
  const sample = async (label) => {
    await collect();
    const gcStart = await pageNow();
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    gcWindows.push([gcStart, await pageNow()]);
    const dom = await page.evaluate(() => ({ elements: document.getElementsByTagName('*').length, cards: document.querySelectorAll('[data-testid="tile"]').length }));
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(({ name, value }) => [name, value]));
    const memory = chromiumMemoryByKind(process.pid);
    const chromiumPss = sum(memory);
    const at = nowMs();
    const fps = lastSampleAt === undefined ? 0 : record.frames / ((at - lastSampleAt) / 1000);
    record.frames = 0;
    lastSampleAt = at;
    const entry = { label, minute: (at - started) / 60_000, shown: shown.size, heap: heap.usedSize, heapTotal: heap.totalSize, ...dom, nodes: metrics.Nodes, listeners: metrics.JSEventListeners, taskSeconds: metrics.TaskDuration, threadSeconds: metrics.ThreadTime, scriptSeconds: metrics.ScriptDuration, layoutSeconds: metrics.LayoutDuration, styleSeconds: metrics.RecalcStyleDuration, chromiumPss, memory, fps, longTasks: longTasks.length, slowFrames: slowFrames.length };
    samples.push(entry);
    say(`${label}: ${entry.shown} shown, heap ${mb(entry.heap)} MB after GC, ${entry.elements} elements (${entry.cards} cards), ${entry.listeners} listeners, Chromium ${mb(chromiumPss, 0)} MB (renderer ${mb(memory.renderer, 0)}, GPU ${mb(memory.gpu, 0)}, network ${mb(memory.network, 0)}, browser ${mb(memory.browser, 0)}), ${fps.toFixed(0)} frames/s, ${longTasks.length} long task(s) so far`);
    return entry;
  };

  await collect();
  const loadLongTasks = longTasks.splice(0);
  longFrames.splice(0);
  slowFrames.splice(0);
  const empty = await sample('before the first item');

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
    if (traceAt !== undefined && !traced && entry.minute >= traceAt) traced = trace(cdp, record, Math.max(1, sampleSeconds - 10) * 1000, entry.label);
  }
  const traceResult = await traced;
  const { sentAt, maxLate } = await sending;
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(cpuGroups, 'chromium'));
  const deadline = nowMs() + 20_000;
  while (shown.size < total && nowMs() < deadline) {
    await collect();
    await sleep(250);
  }
  const last = await sample('end (after the last item)');
  full ??= last;
  // Is what Chromium holds a cache it gives back, or held for good? Tell every process memory is short (as the
  // system would), then measure again.
  const browserCdp = await browser.newBrowserCDPSession();
  await browserCdp.send('Memory.simulatePressureNotification', { level: 'critical' });
  await sleep(10_000);
  const pressed = chromiumMemoryByKind(process.pid);
  await browserCdp.detach();
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
  const pageSlowFrames = slowFrames.filter((frame) => !duringGc(frame));
  const growth = last.heap - full.heap;
  const maxElements = Math.max(...samples.map((entry) => entry.elements));
  const longest = pageTasks.reduce((max, [, duration]) => Math.max(max, duration), 0);
  const warm = samples.find((entry) => entry.minute >= warmupMinutes) ?? last;
  const memoryGrowth = last.chromiumPss - warm.chromiumPss;
  const met = {
    heap: growth < GOALS.heapGrowthBytes,
    elements: maxElements < GOALS.elements,
    longTasks: pageTasks.length === 0,
    lost: lost === 0,
    memory: memoryGrowth < GOALS.memoryGrowthShare * warm.chromiumPss,
  };
  const measuredFps = samples.filter((entry) => entry.fps > 0).map((entry) => entry.fps);

  const out = [];
  out.push(`Feed: ${total} items at ${rate} items/s for ${minutes} min to one page (${args.screen ? 'screen mode, ?screen' : 'desktop page'}, ${viewport.width} × ${viewport.height}), feed \`${feed}\`; a sample every ${sampleSeconds} s (forced GC, then heap, DOM, CDP metrics, Chromium's memory by process). Publisher: ${outcomes.accepted} of ${total} accepted, sends at most ${ms(maxLate)} ms late.`);
  out.push('');
  out.push('| sample | min | items shown | heap after GC, MB | elements | cards | listeners | Chromium PSS, MB | renderer | GPU | network | browser | frames/s | long tasks so far | frame gaps > 50 ms so far |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const entry of samples) {
    const { renderer, gpu, network, browser: browserPss } = entry.memory;
    out.push(`| ${entry.label} | ${entry.minute.toFixed(1)} | ${entry.shown} | ${mb(entry.heap)} | ${entry.elements} | ${entry.cards} | ${entry.listeners} | ${mb(entry.chromiumPss, 0)} | ${mb(renderer, 0)} | ${mb(gpu, 0)} | ${mb(network, 0)} | ${mb(browserPss, 0)} | ${entry.fps ? entry.fps.toFixed(0) : '–'} | ${entry.longTasks} | ${entry.slowFrames} |`);
  }
  out.push('');
  out.push(`- **Heap growth** (after GC, from the first sample with a full wall, "${full.label}", ${mb(full.heap)} MB, to the end, ${mb(last.heap)} MB): **${signedMb(growth)} MB** (goal under 5 MB: ${met.heap ? 'met' : 'NOT met'}); from before the first item (${mb(empty.heap)} MB): ${signedMb(last.heap - empty.heap)} MB.`);
  out.push(`- **DOM**: at most **${maxElements} elements** (goal under 1,400: ${met.elements ? 'met' : 'NOT met'}), ${last.cards} cards at the end, ${last.nodes} nodes.`);
  out.push(`- **Chromium's memory** (PSS) after warm-up (from "${warm.label}", ${mb(warm.chromiumPss, 0)} MB, to the end, ${mb(last.chromiumPss, 0)} MB): **${signedMb(memoryGrowth, 0)} MB** (goal under ${GOALS.memoryGrowthShare * 100} % of the warm figure: ${met.memory ? 'met' : 'NOT met'}); by process: ${KINDS.map((kind) => `${kind} ${signedMb(last.memory[kind] - warm.memory[kind], 0)}`).join(', ')} MB.`);
  out.push(`- After a simulated critical memory pressure (CDP Memory.simulatePressureNotification, then 10 s): Chromium ${mb(sum(pressed), 0)} MB (${KINDS.map((kind) => `${kind} ${mb(pressed[kind], 0)}`).join(', ')}), ${signedMb(sum(pressed) - last.chromiumPss, 0)} MB from the end of the run: what it gives back is cache.`);
  out.push(`- **Long tasks** (over 50 ms) while publishing: **${pageTasks.length}**${pageTasks.length ? `, longest ${ms(longest, 0)} ms, median ${ms(summary(pageTasks.map(([, duration]) => duration)).p50, 0)} ms` : ''} (goal none: ${met.longTasks ? 'met' : 'NOT met'}); ${gcTasks.length} more overlapped the benchmark's forced GC${gcTasks.length ? ` (longest ${ms(Math.max(...gcTasks.map(([, duration]) => duration)), 0)} ms)` : ''}; ${loadLongTasks.length} while the page loaded.${pageTasks.length ? ` What their long animation frames spent the time on: ${causes(pageTasks, longFrames)}.` : ''}`);
  out.push(`- **Frames**: ${measuredFps.length ? `${ms(summary(measuredFps).p50, 0)} frames/s (median of the samples; lowest ${ms(Math.min(...measuredFps), 0)})` : 'not counted'}; **${pageSlowFrames.length} gaps over 50 ms** between two frames${pageSlowFrames.length ? ` (longest ${ms(Math.max(...pageSlowFrames.map(([, gap]) => gap)), 0)} ms)` : ''}, ${slowFrames.length - pageSlowFrames.length} more during the benchmark's forced GC. Long animation frames over 50 ms: ${longFrames.length}.`);
  out.push(`- **Latency** publish → on-screen: p50 ${ms(latency.p50)} ms, p95 ${ms(latency.p95)} ms, p99 ${ms(latency.p99)} ms, max ${ms(latency.max)} ms; **${lost} lost** of ${total}.`);
  const runSeconds = (nowMs() - started) / 1000;
  const perItem = (key) => `${(((last[key] - empty[key]) * 1000) / Math.max(1, shown.size)).toFixed(2)} ms`;
  out.push(`- Main thread busy (CDP TaskDuration, wall clock): ${(((last.taskSeconds - empty.taskSeconds) / runSeconds) * 100).toFixed(0)} % of the run; its CPU time (ThreadTime): ${(((last.threadSeconds - empty.threadSeconds) / runSeconds) * 100).toFixed(0)} % of a core, ${perItem('threadSeconds')} an item shown, of which script ${perItem('scriptSeconds')}, style ${perItem('styleSeconds')}, layout ${perItem('layoutSeconds')} (CDP's durations, wall clock).`);
  const { broker, chromium, bench } = cpu.cores;
  out.push(`- CPU while publishing, in cores (the machine has 2): Chromium ${chromium.toFixed(2)}, broker ${broker.toFixed(2)}, bench (publisher, web server) ${bench.toFixed(2)}, anything else ${Math.max(0, cpu.machine - chromium - broker - bench).toFixed(2)}; whole machine ${cpu.machine.toFixed(2)}.`);
  if (traceResult) out.push(traceResult);
  if (problems.length) out.push(`- The page reported ${problems.length} problem(s), first: ${problems[0]}`);
  return { text: out.join('\n'), met: Object.values(met).every(Boolean) };
}

function mb(bytes, digits = 2) {
  return (bytes / 1024 / 1024).toFixed(digits);
}

/** Chromium's memory over all kinds of process. */
function sum(memory) {
  return Object.values(memory).reduce((total, bytes) => total + bytes, 0);
}

function signedMb(bytes, digits = 2) {
  return `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes), digits)}`;
}

/**
 * What the long animation frames around `tasks` spent their time on: the frame that overlaps a task is put down to
 * scripts, to the rendering update (style, layout, paint) or, when neither is half of it, to other work (GC, image
 * decoding, ...); with the scripts that took longest.
 */
function causes(tasks, frames) {
  const counts = { script: 0, rendering: 0, other: 0, 'no frame': 0 };
  const invokers = new Map();
  for (const [start, duration] of tasks) {
    const frame = frames.find(([from, length]) => start < from + length && start + duration > from);
    if (!frame) {
      counts['no frame']++;
      continue;
    }
    const [, length, , scriptMs, renderMs, , longest] = frame;
    const cause = scriptMs >= length / 2 ? 'script' : renderMs >= length / 2 ? 'rendering' : 'other';
    counts[cause]++;
    if (cause === 'script' && longest) invokers.set(longest.replace(/ \(.*/, ''), (invokers.get(longest.replace(/ \(.*/, '')) ?? 0) + 1);
  }
  const top = [...invokers].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, count]) => `${name} ×${count}`);
  return `${Object.entries(counts).filter(([, count]) => count > 0).map(([cause, count]) => `${cause} ${count}`).join(', ')}${top.length ? ` (scripts: ${top.join(', ')})` : ''}`;
}

/** Traces the page for `forMs` (CDP Tracing) and describes its main thread's CPU time and long tasks. */
async function trace(cdp, record, forMs, label) {
  await record.collect();
  const shownBefore = record.shown.size;
  await startTrace(cdp);
  await sleep(forMs);
  const { tasks, cpuMs, cpuByName } = mainThreadIn(await stopTrace(cdp));
  await record.collect();
  const items = record.shown.size - shownBefore;
  const perItem = (msTotal) => (items > 0 ? `${(msTotal / items).toFixed(2)} ms` : `${msTotal.toFixed(0)} ms in all`);
  const line = (pairs, format) => pairs.slice(0, 8).map(([name, selfMs]) => `${name} ${format(selfMs)}`).join(', ');
  const onCpu = tasks.filter((task) => task.cpuMs !== undefined && task.cpuMs > 50);
  const out = [
    `- **Trace** from "${label}" for ${Math.round(forMs / 1000)} s, ${items} items shown: the page's main thread used ${(cpuMs / 1000).toFixed(1)} s of CPU, ${perItem(cpuMs)} an item; by event (CPU self time an item): ${line(cpuByName, perItem)}.`,
    `  ${tasks.length} main-thread task(s) over 50 ms, ${onCpu.length} of them over 50 ms on a CPU (the rest waited for one)${tasks.length ? '; each (wall clock, CPU, then wall-clock self time by event):' : '.'}`,
  ];
  for (const task of tasks) out.push(`  - ${task.durationMs.toFixed(0)} ms${task.cpuMs === undefined ? '' : ` (${task.cpuMs.toFixed(0)} ms on a CPU)`}: ${line(task.top, (ms) => `${ms.toFixed(0)} ms`)}`);
  return out.join('\n');
}
