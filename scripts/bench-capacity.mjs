// How many viewers one Artemis holds, and what each costs it (scripts/bench capacity; docs/BENCHMARKS.md).
//
// Idle viewers: N STOMP-over-WebSocket subscribers (scripts/bench-viewers.mjs: the `ws` package and a few lines of
// STOMP 1.2 — CONNECT with the page's 10 s heart-beats, SUBSCRIBE to a feed's topic with a receipt, heart-beats —
// the lightest client that still speaks real STOMP over real WebSockets), forked into --processes child processes,
// added level by level (--levels, cumulative: 1,000, then 4,000 more, then 5,000 more). At each level, after
// --settle seconds, the broker's heap after a full GC (jcmd GC.run, then GC.heap_info) and its resident memory
// (VmRSS) against the same before the first viewer: per connection, the difference over N. Then every viewer must
// still be connected (none closed by the broker).
//
// Through a tier, a link phase (--link-rate 200 items/s for --link-seconds 20; 0 skips it) before the fan-out: the
// core's CPU per item and the bytes per item on its link to edge A, with nobody watching.
//
// Warm-up first (--warmup, default 3,000 items at 200/s to 100 viewers; 0 skips it), so that the brokers' JIT has
// compiled the delivery path before anything is measured.
//
// Fan-out (--fanout-viewers, default 1,000; --rates 5,50; --seconds 30 each; 0 viewers skips it): that many viewers
// on a fresh feed, an AMQP 1.0 publisher (as the worker) sends rate × seconds items paced; the broker's CPU time
// (utime + stime of its JVM, /proc) over the deliveries made gives µs per delivery, and each delivery's publish →
// receive latency in the viewer process gives p50/p99. Every viewer must get every item once.
//
// Through an edge tier (scripts/bench tier): BENCH_AMQP_URL is the core's, BENCH_STOMP_URL and BENCH_BROKER_PID edge
// A's; with BENCH_CORE_PID the fan-out also reports the core's CPU per item, and with BENCH_TIER_PORT (edge A's tier
// acceptor) the bytes the core sent edge A per item, from the kernel's count on that connection (`ss -ti`:
// bytes_received of the edge's side of the socket, AMQP frames and TCP payload, no headers).
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… BENCH_STOMP_URL=ws://127.0.0.1:PORT
//   BENCH_BROKER_PID=… [BENCH_CORE_PID=… BENCH_TIER_PORT=…] node scripts/bench-capacity.mjs [--levels 1000,5000,10000] [--processes 2]
//     [--concurrency 50] [--settle 10] [--fanout-viewers 1000] [--rates 5,50] [--seconds 30] [--warmup 3000]
//     [--link-rate 200] [--link-seconds 20]
//
// Prints a markdown report on stdout, progress on stderr; exits 1 if a viewer could not connect, was closed, or
// missed an item.
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { feedItems, openPublisher, publishPaced } from './bench-feed.mjs';
import { LatencyHistogram, cpuBetween, cpuSnapshot, ms, nowMs, sleep, usageError } from './bench-measure.mjs';

const SCRIPT = 'bench-capacity';
const say = (message) => process.stderr.write(`${SCRIPT}: ${message}\n`);
const list = (name, text) => {
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1)) usageError(SCRIPT, `--${name} must list whole numbers above 0`);
  return values;
};
const whole = (name, text, min = 1) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) usageError(SCRIPT, `--${name} must be a whole number, at least ${min}`);
  return value;
};

const { values: args } = parseArgs({
  options: {
    levels: { type: 'string', default: '1000,5000,10000' },
    processes: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '50' },
    settle: { type: 'string', default: '10' },
    'fanout-viewers': { type: 'string', default: '1000' },
    rates: { type: 'string', default: '5,50' },
    seconds: { type: 'string', default: '30' },
    drain: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3000' },
    'link-rate': { type: 'string', default: '200' },
    'link-seconds': { type: 'string', default: '20' },
  },
});
const levels = list('levels', args.levels).sort((a, b) => a - b);
const processes = whole('processes', args.processes);
const concurrency = whole('concurrency', args.concurrency);
const settleSeconds = whole('settle', args.settle, 0);
const fanoutViewers = whole('fanout-viewers', args['fanout-viewers'], 0);
const rates = list('rates', args.rates);
const seconds = whole('seconds', args.seconds);
const drainSeconds = whole('drain', args.drain);
const warmupItems = whole('warmup', args.warmup, 0);
const linkRate = whole('link-rate', args['link-rate']);
const linkSeconds = whole('link-seconds', args['link-seconds'], 0);

const { BENCH_AMQP_URL: amqpUrl, BENCH_AMQP_PASSWORD: password, BENCH_STOMP_URL: stompUrl, BENCH_BROKER_PID: brokerPid } = process.env;
if (!amqpUrl || !password || !stompUrl || !brokerPid) usageError(SCRIPT, 'BENCH_AMQP_URL, BENCH_AMQP_PASSWORD, BENCH_STOMP_URL and BENCH_BROKER_PID must be set (scripts/bench sets them)');

const { BENCH_CORE_PID: corePid, BENCH_TIER_PORT: tierPort } = process.env;
const tier = Boolean(corePid);

/**
 * A byte count the kernel keeps per TCP connection (`ss -ti`: bytes_received or bytes_sent, payload only), summed over
 * the established connections whose local port is `port`; undefined without `ss`.
 */
function socketBytes(port, field) {
  if (!port) return undefined;
  try {
    const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', maxBuffer: 256 * MiB });
    return [...out.matchAll(new RegExp(`${field}:(\\d+)`, 'g'))].reduce((sum, match) => sum + Number(match[1]), 0);
  } catch {
    return undefined;
  }
}
/** What the core has sent edge A (edge A's side of the link: received). */
const linkBytes = () => socketBytes(tierPort, 'bytes_received');
/** What the broker (edge A) has sent its viewers, on its public acceptor. */
const viewerBytes = () => socketBytes(new URL(stompUrl).port, 'bytes_sent');

const run = randomBytes(4).toString('hex');
const MiB = 1024 * 1024;
let children = [];
/** How many viewers the child processes hold together. */
let childrenHold = 0;
const stopChildren = async () => {
  await Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.send({ type: 'stop' });
    setTimeout(() => child.kill(), 60_000).unref();
  })));
  children = [];
  childrenHold = 0;
};
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => { for (const child of children) child.kill(); process.exit(code); });

/** Sends `message` to `child` and resolves with its answer of type `type`. */
function ask(child, message, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (answer) => {
      if (answer.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(answer);
    };
    const onExit = (code) => reject(new Error(`a viewer process exited (${code}) while asked ${message.type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

/** The broker's heap in use after a full GC, and its resident memory, in bytes. */
function brokerMemory() {
  execFileSync('jcmd', [brokerPid, 'GC.run'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const info = execFileSync('jcmd', [brokerPid, 'GC.heap_info'], { encoding: 'utf8' });
  const used = /heap\s+total\s+\d+K,\s+used\s+(\d+)K/.exec(info);
  if (!used) throw new Error(`cannot read the heap from jcmd GC.heap_info:\n${info}`);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${brokerPid}/status`, 'utf8'));
  return { heap: Number(used[1]) * 1024, rss: Number(rss[1]) * 1024 };
}
const rssOf = (pid) => {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return 0;
  }
};

/** Makes a feed's address (a viewer may not): its publisher sends one item of another run, which viewers count as foreign. */
async function makeFeed(feed) {
  const publisher = await openPublisher({ url: amqpUrl, password, feed });
  await publishPaced({ publisher, items: feedItems({ feed, run: `${run}-setup`, imageOrigin: 'http://localhost:8080' }), rate: 100, count: 1 });
  for (let wait = 0; publisher.outcomes.accepted < 1; wait++) {
    if (publisher.outcomes.other.length > 0 || wait > 100) throw new Error(`the setup item of feed ${feed} was not accepted: ${publisher.outcomes.other.join(', ')}`);
    await sleep(100);
  }
  return publisher;
}

/** Adds `count` viewers of `feed` over `processes` child processes (forking them on first use). */
async function addViewers(feed, count, total, idPrefix) {
  while (children.length < processes) children.push(fork(fileURLToPath(new URL('bench-viewers.mjs', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const started = nowMs();
  const answers = await Promise.all(
    children.map((child, index) => {
      const share = Math.floor(count / processes) + (index < count % processes ? 1 : 0);
      return ask(child, { type: 'connect', url: stompUrl, destination: `/topic/feed.${feed}`, viewers: share, concurrency, total, idPrefix }, 'connected');
    }),
  );
  const failed = answers.flatMap((answer) => answer.failed);
  // Each process answers with all the viewers it holds, those of earlier calls included.
  const holding = answers.reduce((sum, answer) => sum + answer.connected, 0);
  const connected = holding - childrenHold;
  childrenHold = holding;
  return { connected, failed, seconds: (nowMs() - started) / 1000 };
}

async function reports() {
  return (await Promise.all(children.map((child) => ask(child, { type: 'report' }, 'report')))).map((answer) => answer.report);
}

const problems = [];
const idle = [];
const fanout = [];

// Idle viewers, level by level.
{
  const feed = `capacity-${run}-idle`;
  say(`idle: making feed ${feed}`);
  const publisher = await makeFeed(feed);
  await publisher.close();
  await sleep(settleSeconds * 1000);
  const base = brokerMemory();
  say(`idle: before any viewer: heap ${(base.heap / MiB).toFixed(1)} MiB after GC, RSS ${(base.rss / MiB).toFixed(1)} MiB`);
  let held = 0;
  for (const level of levels) {
    const adding = level - held;
    say(`idle: connecting ${adding} more viewers (${level} in all), ${concurrency} at a time per process`);
    const added = await addViewers(feed, adding, 1, `bluesky:bench-${run}-idle-`);
    held += added.connected;
    if (added.failed.length > 0) problems.push(`${level}: ${added.failed.length} viewers could not subscribe, first: ${added.failed[0]}`);
    say(`idle: ${held} viewers subscribed (${added.connected} in ${added.seconds.toFixed(1)} s); settling ${settleSeconds} s`);
    await sleep(settleSeconds * 1000);
    const memory = brokerMemory();
    const closed = (await reports()).reduce((sum, report) => sum + report.closed.length, 0);
    if (closed > 0) problems.push(`${level}: ${closed} viewers were closed`);
    const loadRss = children.reduce((sum, child) => sum + rssOf(child.pid), 0);
    idle.push({ level, held: held - closed, connectSeconds: added.seconds, ...memory, base, loadRss });
    say(`idle: ${level}: heap ${(memory.heap / MiB).toFixed(1)} MiB, RSS ${(memory.rss / MiB).toFixed(1)} MiB, ${closed} closed`);
  }
  await stopChildren();
}

// Warm-up: the brokers' JIT compiles the delivery path on the first thousands of items; a fresh JVM's fan-out would
// count that compilation as the cost of its deliveries (through a tier, the core's too).
if (fanoutViewers > 0 && warmupItems > 0) {
  const feed = `capacity-${run}-warmup`;
  const items = feedItems({ feed, run: `${run}-warmup`, imageOrigin: 'http://localhost:8080' });
  say(`warm-up: ${warmupItems} items at 200/s to 100 viewers`);
  const publisher = await makeFeed(feed);
  await addViewers(feed, 100, warmupItems, items.idPrefix);
  await publishPaced({ publisher, items, rate: 200, count: warmupItems });
  await sleep(3_000);
  await publisher.close();
  await stopChildren();
}

// Through a tier, the core's own cost and the link's: items at --link-rate to a feed nobody watches (both edges
// still take every one), the core's CPU net of its idle use, and the bytes it sent edge A.
let linkPhase;
if (tier && linkSeconds > 0) {
  const feed = `capacity-${run}-link`;
  const count = linkRate * linkSeconds;
  const items = feedItems({ feed, run: `${run}-link`, imageOrigin: 'http://localhost:8080' });
  const publisher = await makeFeed(feed);
  const groups = { core: () => [Number(corePid)], edge: () => [Number(brokerPid)] };
  const idleBefore = cpuSnapshot(groups, 'other');
  await sleep(5_000);
  const idle = cpuBetween(idleBefore, cpuSnapshot(groups, 'other')).cores;
  say(`link: ${count} items at ${linkRate}/s, nobody watching`);
  const before = cpuSnapshot(groups, 'other');
  const bytesBefore = linkBytes();
  await publishPaced({ publisher, items, rate: linkRate, count });
  for (let wait = 0; publisher.outcomes.accepted < count + 1 && wait < 300; wait++) await sleep(100);
  await sleep(2_000); // the edges take the last items
  const cpu = cpuBetween(before, cpuSnapshot(groups, 'other'));
  const bytesAfter = linkBytes();
  const net = (name) => ((Math.max(0, cpu.cores[name] - idle[name]) * cpu.wallSeconds) / count) * 1e6;
  linkPhase = { rate: linkRate, count, accepted: publisher.outcomes.accepted - 1, coreCores: cpu.cores.core, coreIdle: idle.core, coreUs: net('core'), edgeUs: net('edge'), bytes: bytesBefore === undefined || bytesAfter === undefined ? undefined : (bytesAfter - bytesBefore) / count };
  if (linkPhase.accepted < count) problems.push(`link: ${count - linkPhase.accepted} of ${count} items not accepted by the core`);
  await publisher.close();
}

// Fan-out at each rate: a fresh feed and fresh viewers.
for (const rate of fanoutViewers > 0 ? rates : []) {
  const feed = `capacity-${run}-fanout-${rate}`;
  const count = rate * seconds;
  const items = feedItems({ feed, run: `${run}-${rate}`, imageOrigin: 'http://localhost:8080' });
  say(`fan-out ${rate}/s: ${fanoutViewers} viewers on feed ${feed}`);
  const publisher = await makeFeed(feed);
  const added = await addViewers(feed, fanoutViewers, count, items.idPrefix);
  if (added.failed.length > 0) problems.push(`fan-out ${rate}/s: ${added.failed.length} viewers could not subscribe, first: ${added.failed[0]}`);
  const groups = { broker: () => [Number(brokerPid)], viewers: () => children.map((child) => child.pid), ...(tier ? { core: () => [Number(corePid)] } : {}) };
  // The core's own CPU with nothing to do (its timers, GC, the links' heart-beats), over 5 s, to take off the
  // figure per item: at a few items a second it would otherwise be mostly that.
  const idleBefore = cpuSnapshot(groups, 'other');
  await sleep(tier ? 5_000 : 2_000);
  const idleCores = tier ? cpuBetween(idleBefore, cpuSnapshot(groups, 'other')).cores.core : 0;
  const before = cpuSnapshot(groups, 'other');
  const linkBefore = linkBytes();
  const viewersBefore = viewerBytes();
  say(`fan-out ${rate}/s: publishing ${count} items`);
  const sending = await publishPaced({ publisher, items, rate, count, onSent: (seq, at) => { for (const child of children) child.send({ type: 'sent', seq, at }); } });
  // Until every viewer has every item, or the drain time is up; the CPU is read when the deliveries are done.
  const expected = count * added.connected;
  let received = 0;
  const deadline = nowMs() + drainSeconds * 1000;
  while (nowMs() < deadline) {
    received = (await Promise.all(children.map((child) => ask(child, { type: 'progress' }, 'progress')))).reduce((sum, answer) => sum + answer.received, 0);
    if (received >= expected) break;
    await sleep(100);
  }
  const cpu = cpuBetween(before, cpuSnapshot(groups, 'other'));
  const linkAfter = linkBytes();
  const link = linkBefore === undefined || linkAfter === undefined ? undefined : (linkAfter - linkBefore) / count;
  const viewersAfter = viewerBytes();
  // Per delivery, heart-beats included (a few bytes per viewer every 10 s).
  const deliveryBytes = viewersBefore === undefined || viewersAfter === undefined ? undefined : (viewersAfter - viewersBefore) / Math.max(received, 1);
  const all = await reports();
  const histogram = new LatencyHistogram();
  for (const report of all) histogram.merge(report.latency);
  const duplicates = all.reduce((sum, report) => sum + report.duplicates, 0);
  const closed = all.reduce((sum, report) => sum + report.closed.length, 0);
  if (received < expected) problems.push(`fan-out ${rate}/s: ${expected - received} of ${expected} deliveries missing`);
  if (duplicates > 0 || closed > 0) problems.push(`fan-out ${rate}/s: ${duplicates} duplicates, ${closed} viewers closed`);
  const brokerSeconds = cpu.cores.broker * cpu.wallSeconds;
  const coreUsPerItem = tier ? ((Math.max(0, cpu.cores.core - idleCores) * cpu.wallSeconds) / count) * 1e6 : undefined;
  fanout.push({ rate, viewers: added.connected, count, expected, received, duplicates, closed, cpu, brokerSeconds, perDeliveryUs: (brokerSeconds / Math.max(received, 1)) * 1e6, latency: histogram.summary(), maxLate: sending.maxLate, coreUsPerItem, idleCores, link, deliveryBytes });
  say(`fan-out ${rate}/s: ${received}/${expected} deliveries, broker ${cpu.cores.broker.toFixed(2)} cores`);
  await publisher.close();
  await stopChildren();
}

const mib = (bytes) => (bytes / MiB).toFixed(1);
const kib = (bytes) => (bytes / 1024).toFixed(1);
const where = tier ? 'on edge A of a tier (a core and two edges)' : 'on one broker';
console.log(`### Idle STOMP-over-WebSocket viewers ${where}

Each viewer: one WebSocket, STOMP CONNECT with 10 s heart-beats both ways, one SUBSCRIBE to a feed's topic (a
non-durable queue of its own, holding the feed's backfill). Heap: in use after a full GC (\`jcmd GC.heap_info\`);
RSS: the broker JVM's resident memory; per connection: the growth since before the first viewer
(heap ${mib(idle[0]?.base.heap ?? 0)} MiB, RSS ${mib(idle[0]?.base.rss ?? 0)} MiB), over the viewers held.
Load generator: ${processes} Node processes (\`ws\`).

| viewers | held at the end | connect time of the added ones | broker heap after GC | heap per connection | broker RSS | RSS per connection | load generator RSS |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${idle
  .map((row) => `| ${row.level} | ${row.held} | ${row.connectSeconds.toFixed(1)} s | ${mib(row.heap)} MiB | ${kib((row.heap - row.base.heap) / row.level)} KiB | ${mib(row.rss)} MiB | ${kib((row.rss - row.base.rss) / row.level)} KiB | ${mib(row.loadRss)} MiB |`)
  .join('\n')}
`);
if (fanout.length > 0) {
  console.log(`### Fan-out: broker CPU per delivery${tier ? ', through the core to edge A' : ''}

${fanoutViewers} viewers per rate (a fresh feed each), ${seconds} s of items paced by one AMQP 1.0 publisher${tier ? ' on the core; the viewers on edge A (edge B takes every item too, with no viewers)' : ''}. CPU: the
${tier ? 'edge' : 'broker'} JVM's utime + stime from the first send until every delivery was made; latency: publish (the publisher's
send) → the viewer process's WebSocket message, same machine clock.

| rate | viewers | deliveries (made / due) | broker CPU (cores) | broker CPU per delivery | viewers' CPU (cores) | machine busy (of ${availableParallelism()}) | latency p50 | p99 | max |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${fanout
  .map((row) => `| ${row.rate}/s | ${row.viewers} | ${row.received} / ${row.expected} | ${row.cpu.cores.broker.toFixed(2)} | ${row.perDeliveryUs.toFixed(1)} µs | ${row.cpu.cores.viewers.toFixed(2)} | ${row.cpu.machine.toFixed(2)} | ${ms(row.latency.p50)} ms | ${ms(row.latency.p99)} ms | ${ms(row.latency.max)} ms |`)
  .join('\n')}
`);
  if (linkPhase) {
    console.log(`The core and the link on their own: ${linkPhase.count} items at ${linkPhase.rate}/s to a feed nobody watches (both edges take
each one). CPU net of each JVM's idle use over the 5 s before, per item.

| rate | items accepted | core CPU (cores) | core idle | core CPU per item (2 edges) | edge A CPU per item received | core → edge A per item |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${linkPhase.rate}/s | ${linkPhase.accepted} / ${linkPhase.count} | ${linkPhase.coreCores.toFixed(3)} | ${linkPhase.coreIdle.toFixed(3)} | ${linkPhase.coreUs.toFixed(0)} µs | ${linkPhase.edgeUs.toFixed(0)} µs | ${linkPhase.bytes === undefined ? 'not measured (no ss)' : `${linkPhase.bytes.toFixed(0)} B`} |
`);
  }
  if (tier) {
    console.log(`The core and its link to edge A over the same runs: the core JVM's CPU (it takes each item from the publisher,
journals it, and sends it to both edges) per item published, less what it used idle just before (5 s, no items),
and the bytes the core sent edge A per item.

| rate | core CPU (cores) | core idle (cores) | core CPU per item (2 edges) | core → edge A per item | core → edge A at this rate |
| ---: | ---: | ---: | ---: | ---: | ---: |
${fanout
  .map((row) => `| ${row.rate}/s | ${row.cpu.cores.core.toFixed(3)} | ${row.idleCores.toFixed(3)} | ${row.coreUsPerItem.toFixed(0)} µs | ${row.link === undefined ? 'not measured (no ss)' : `${row.link.toFixed(0)} B`} | ${row.link === undefined ? '–' : `${((row.link * row.rate * 8) / 1000).toFixed(1)} kbit/s`} |`)
  .join('\n')}
`);
  }
}
// The projection: how many edges of this machine's size N viewers need at R items/s, from this run's own figures.
if (fanout.length > 0 && idle.length > 0) {
  const cores = availableParallelism();
  const BUDGET = 0.7;
  const HEAP = 1024 * MiB; // the bench brokers' -Xmx1G
  const top = idle.at(-1);
  const heapPerViewer = (top.heap - top.base.heap) / top.level;
  // The most deliveries a second measured is the best estimate of the marginal cost (less fixed cost per delivery).
  const busiest = fanout.reduce((best, row) => (row.rate * row.viewers > best.rate * best.viewers ? row : best));
  const costAt = (rate) => fanout.find((row) => row.rate === rate && row.received === row.expected) ?? busiest;
  // The core's cost per item and edge, and the link's bytes: from the link phase when it ran (a rate high enough
  // for the core's per-item cost to show above its idle use), else from the fan-out.
  const coreUsPerLink = linkPhase ? linkPhase.coreUs / 2 : tier ? busiest.coreUsPerItem / 2 : undefined;
  const linkBytesPerItem = linkPhase?.bytes ?? busiest.link;
  const gbit = (bits) => (bits >= 1e9 ? `${(bits / 1e9).toFixed(2)} Gbit/s` : `${(bits / 1e6).toFixed(1)} Mbit/s`);
  const rows = [];
  for (const viewers of [100_000, 1_000_000]) {
    for (const rate of [5, 50]) {
      const row = costAt(rate);
      const byCpu = Math.floor((BUDGET * cores * 1e6) / (rate * row.perDeliveryUs));
      const byHeap = Math.floor((BUDGET * HEAP) / heapPerViewer);
      const perEdge = Math.min(byCpu, byHeap);
      const edges = Math.ceil(viewers / perEdge) + 1;
      const core = coreUsPerLink === undefined ? '–' : `${((rate * edges * coreUsPerLink) / 1e6).toFixed(2)} cores`;
      const link = linkBytesPerItem === undefined ? '–' : gbit(edges * rate * linkBytesPerItem * 8);
      const out = busiest.deliveryBytes === undefined ? '–' : gbit(perEdge * rate * busiest.deliveryBytes * 8);
      rows.push(`| ${viewers.toLocaleString('en')} | ${rate}/s | ${row.perDeliveryUs.toFixed(1)} µs (${row.rate}/s × ${row.viewers}) | ${byCpu.toLocaleString('en')} | ${byHeap.toLocaleString('en')} | **${edges}** | ${core} | ${link} | ${out} |`);
    }
  }
  console.log(`### Projection from this run's figures

Per edge of this machine's size (${cores} cores, a 1 GiB heap), keeping ${BUDGET * 100} % of each in reserve-free use:
viewers by CPU = ${BUDGET} × ${cores} cores ÷ (rate × edge CPU per delivery); viewers by heap = ${BUDGET} × 1 GiB ÷
${kib(heapPerViewer)} KiB (heap per idle viewer at ${top.level.toLocaleString('en')}); edges = viewers ÷ the smaller,
rounded up, + 1 so that the others can take a dead edge's viewers. ${coreUsPerLink === undefined ? '' : `The core: rate × edges × ${coreUsPerLink.toFixed(0)} µs
(half its net CPU per item with 2 edges: an upper bound per link, journaling included). `}Bandwidth: ${linkBytesPerItem === undefined ? '' : `core → edges = edges × rate × ${linkBytesPerItem.toFixed(0)} B; `}edge → its viewers
= viewers × rate × ${busiest.deliveryBytes === undefined ? '?' : busiest.deliveryBytes.toFixed(0)} B per delivery (STOMP frame in a WebSocket frame, payload).
Where it stops holding: each viewer is an open file (raise \`ulimit -n\` and the public acceptor's
\`connectionsAllowed\` past the viewers per edge); past a few GiB of heap, G1 pauses grow; the per-delivery cost here
was taken with the load generator on the same ${cores} cores.

| viewers | rate | edge CPU per delivery (from) | viewers per edge by CPU | by heap | edges | core CPU | core → edges | each edge → its viewers |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}
`);
}
console.log(problems.length === 0 ? 'Every viewer stayed connected and got every item once.\n' : `Problems:\n\n${problems.map((problem) => `- ${problem}`).join('\n')}\n`);
process.exit(problems.length === 0 ? 0 : 1);
