#!/usr/bin/env node
// The worker's routes over time, as scripts/bench builds them (see bench-engine.mjs): the X source route and one feed
// route on the engine, publishing to the bench broker, every message accepted. Two modes:
//
//   latency [--rate N] [--seconds S] [--warmup S]
//       the recording replayed at N feed items a second (default 50; the replay's pace is set in lines a second so
//       that N of them are items), for S seconds (default 60) after the connection and a warm-up of --warmup seconds
//       (default 5, not counted): for each item, the time from the moment the source read its line (handed it to its
//       route) to the broker's acceptance of the published message; p50, p90, p99 and the maximum.
//       With --baseline DIR (another build of the worker, as scripts/bench --baseline takes it): that build's engine
//       and routes first, then this build's, each for S seconds, in one run.
//   memory [--minutes M] [--every S]
//       the recording looped at full speed for M minutes (default 10): this process's RSS, V8 heap (used, total) and
//       external memory every S seconds (default 15), and the heap used after a full garbage collection; whether it
//       grows after the first fifth of the run (the warm-up).
//
// Run it through scripts/bench (`scripts/bench latency …`, `scripts/bench memory …`), which builds, starts a private
// broker and sets BENCH_AMQP_URL and BENCH_AMQP_PASSWORD. Progress on stderr, the markdown report on stdout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { benchConfigText, repeatedSample } from './bench-recording.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => pathToFileURL(join(root, 'worker', 'dist', path)).href;
const say = (message) => process.stderr.write(`bench: ${message}\n`);

const mode = process.argv[2];
if (mode !== 'latency' && mode !== 'memory') usage('the first argument must be latency or memory');
const { values: args } = parseOptions({
  args: process.argv.slice(3),
  options: {
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    minutes: { type: 'string', default: '10' },
    every: { type: 'string', default: '15' },
    baseline: { type: 'string' },
  },
  strict: true,
});
const url = process.env.BENCH_AMQP_URL;
if (!url || !process.env.BENCH_AMQP_PASSWORD) usage('BENCH_AMQP_URL and BENCH_AMQP_PASSWORD must be set (scripts/bench sets them)');

const { pino } = await import('pino');
const { parseConfig } = await import(dist('config.js'));
const { systemClock } = await import(dist('engine/types.js'));
const { decodeXLine } = await import(dist('sources/x/decode.js'));
const { dropReason } = await import(dist('pipeline/filter.js'));

/** The engine and routes of this build, or of another one (--baseline). */
async function builtKit(dir) {
  const built = (path) => pathToFileURL(join(dir, 'worker', 'dist', path)).href;
  return {
    Engine: (await import(built('engine/engine.js'))).Engine,
    ComponentRegistry: (await import(built('engine/registry.js'))).ComponentRegistry,
    defaultComponents: (await import(built('components/index.js'))).defaultComponents,
    routesOf: (await import(built('run.js'))).routesOf,
  };
}
const kit = await builtKit(root);

const feed = `bench-${randomBytes(4).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'livewall-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => process.exit(code));

// The recording: the bundled sample repeated (long enough for the latency run not to loop; looped for memory). Not
// kept in this process once written, so that the memory samples are the worker's.
const plain = config();
const itemShare = writeRecording();

/** Writes the recording; returns the share of the lines the replay reads (not keep-alives) that become feed items. */
function writeRecording() {
  const recording = repeatedSample(50_000, feed);
  writeFileSync(join(work, 'recording.ndjson'), `${recording.join('\n')}\n`);
  const read = recording.filter((line) => line.trim() !== '');
  return read.filter((line) => isItem(line)).length / read.length;
}

function isItem(line) {
  const event = decodeXLine(line);
  return event.kind === 'post' && !dropReason(event.post, plain) && event.post.feeds.includes(feed);
}

/** The worker's config for this run: the replay paced (latency) or looped at full speed (memory). */
function config(replay) {
  const file = join(work, 'bench.yaml');
  const text = benchConfigText(feed, replay);
  writeFileSync(file, text);
  return parseConfig(text, file, process.env);
}

/**
 * The engine with the worker's routes for `cfg`; with `readAt`, the replay's sink stamps each line with the time it
 * was read (header benchReadAt) and the amqp: producer calls `readAt(ms)` once the broker accepted the message.
 */
function engineOf(cfg, accepted, { Engine, ComponentRegistry, defaultComponents, routesOf } = kit) {
  const registry = new ComponentRegistry();
  for (const component of defaultComponents().list()) registry.register(accepted ? timed(component, accepted) : component);
  const engine = new Engine(registry, { baseDir: work, clock: systemClock, log: pino({ level: 'silent' }), settings: { amqp: cfg.broker } });
  for (const route of routesOf(cfg, { dryRun: false })) engine.add(route);
  return engine;
}

/** The replay and amqp: components with the latency probes around them; the others as they are. */
function timed(component, accepted) {
  if (component.scheme === 'replay') {
    return {
      ...component,
      createConsumer: (context) => {
        const consumer = component.createConsumer(context);
        return {
          live: consumer.live,
          run: (sink, signal) =>
            consumer.run({ offer: (body, headers, settled) => sink.offer(body, { ...headers, benchReadAt: performance.now() }, settled), reject: (reason, detail) => sink.reject(reason, detail) }, signal),
        };
      },
    };
  }
  if (component.scheme === 'amqp') {
    return {
      ...component,
      createProducer: (context) => {
        const producer = component.createProducer(context);
        return {
          start: () => producer.start(),
          send: (exchange) => producer.send(exchange).then(() => accepted(performance.now() - exchange.headers.benchReadAt)),
          ready: () => producer.ready(),
          stats: () => producer.stats(),
          stop: (ms) => producer.stop(ms),
        };
      },
    };
  }
  return component;
}

function failures(engine) {
  const feedRoute = engine.status().find((status) => status.id === `feed:${feed}`);
  return feedRoute.counters.failed + feedRoute.counters.redelivered;
}
const completed = (engine) => engine.status().find((status) => status.id === `feed:${feed}`).counters.completed;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes) => (bytes / 1048576).toFixed(1);

async function latency() {
  const rate = positive('rate', args.rate);
  const seconds = positive('seconds', args.seconds);
  const warmup = Number(args.warmup);
  const pace = rate / itemShare;
  const out = [];
  out.push(`Latency from the source's read of a line to the broker's acceptance of its item, after ${warmup} s of warm-up, the replay paced at ${pace.toFixed(1)} lines/s (${(itemShare * 100).toFixed(1)} % of them feed items). Node CPU: this process, while measuring.`);
  out.push('');
  out.push('| build | items | items/s | p50 ms | p90 ms | p99 ms | max ms | Node CPU ms/s |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const builds = args.baseline ? [[`baseline (${args.baseline})`, await builtKit(args.baseline)], ['this build', kit]] : [['this build', kit]];
  for (const [name, built] of builds) {
    const r = await latencyRun(built, pace, seconds, warmup);
    say(`latency, ${name}: ${r.count} items, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
    out.push(`| ${name} | ${r.count} | ${(r.count / r.elapsed).toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${r.cpuMsPerS.toFixed(1)} |`);
  }
  return out;
}

/** One build's routes at `pace` lines a second: each item's latency over `seconds` after `warmup` seconds. */
async function latencyRun(built, pace, seconds, warmup) {
  const latencies = [];
  let counting = false;
  const engine = engineOf(config(`      pace: ${pace.toFixed(3)}/s\n`), (ms) => counting && latencies.push(ms), built);
  await engine.start();
  // The warm-up starts once connected: what the source read before waits for the connection, seconds on a busy machine.
  for (const deadline = Date.now() + 60_000; !engine.ready(); await sleep(10)) if (Date.now() > deadline) throw new Error('not connected to the broker after 60 s');
  await sleep(warmup * 1000);
  counting = true;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const failed = failures(engine);
  await engine.stop(10_000);
  if (failed > 0) throw new Error(`${failed} failed or redelivered exchanges`);
  if (latencies.length === 0) throw new Error('no item was accepted while measuring');
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, elapsed, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1], cpuMsPerS: (user + system) / 1000 / elapsed };
}

async function memory() {
  const minutes = positive('minutes', args.minutes);
  const every = positive('every', args.every);
  if (typeof globalThis.gc !== 'function') usage('memory needs node --expose-gc (scripts/bench passes it)');
  const engine = engineOf(config('      loop: true\n'));
  say(`memory: the recording looped at full speed for ${minutes} min, sampled every ${every} s`);
  const samples = [];
  const sample = (seconds, items) => {
    const found = process.memoryUsage();
    globalThis.gc();
    const collected = process.memoryUsage();
    samples.push({ seconds, items, rss: found.rss, heapUsed: found.heapUsed, heapTotal: found.heapTotal, external: found.external, heapAfterGc: collected.heapUsed, rssAfterGc: collected.rss });
    say(`${seconds} s: ${items} items, RSS ${mib(found.rss)} MiB, heap used ${mib(found.heapUsed)} MiB (${mib(collected.heapUsed)} after a full GC)`);
  };
  const started = performance.now();
  await engine.start();
  sample(0, 0);
  for (let next = every; next <= minutes * 60; next += every) {
    await sleep(Math.max(0, started + next * 1000 - performance.now()));
    sample(next, completed(engine));
  }
  const failed = failures(engine);
  await engine.stop(30_000);
  if (failed > 0) throw new Error(`${failed} failed or redelivered exchanges`);
  const out = [];
  const total = samples[samples.length - 1];
  out.push(`${total.items} items in ${minutes} min (${Math.round(total.items / total.seconds)} items/s), the recording looped; a sample every ${every} s: the process's memory as found, then the heap used and RSS right after a full garbage collection (\`gc()\`).`);
  out.push('');
  out.push('| s | items | items/s since last | RSS MiB | heap used MiB | heap total MiB | external MiB | heap used after GC MiB | RSS after GC MiB |');
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  samples.forEach((s, index) => {
    const previous = samples[index - 1];
    const rate = previous ? Math.round((s.items - previous.items) / (s.seconds - previous.seconds)) : '–';
    out.push(`| ${s.seconds} | ${s.items} | ${rate} | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.external)} | ${mib(s.heapAfterGc)} | ${mib(s.rssAfterGc)} |`);
  });
  // Growth after the warm-up (the first fifth): least-squares slope per minute, and first against last.
  const after = samples.filter((s) => s.seconds >= (minutes * 60) / 5);
  out.push('');
  for (const [key, name] of [['heapAfterGc', 'heap used after GC'], ['rss', 'RSS'], ['rssAfterGc', 'RSS after GC']]) {
    const first = after[0][key];
    const last = after[after.length - 1][key];
    const low = Math.min(...after.map((s) => s[key]));
    const high = Math.max(...after.map((s) => s[key]));
    out.push(`- ${name} after the warm-up (from ${after[0].seconds} s): ${mib(first)} → ${mib(last)} MiB (${last >= first ? '+' : ''}${mib(last - first)}), range ${mib(low)}–${mib(high)}, slope ${(slope(after, key) / 1048576).toFixed(2)} MiB/min`);
  }
  return out;
}

/** Least-squares slope of `key` against time, per minute. */
function slope(samples, key) {
  const n = samples.length;
  const mx = samples.reduce((sum, s) => sum + s.seconds / 60, 0) / n;
  const my = samples.reduce((sum, s) => sum + s[key], 0) / n;
  const num = samples.reduce((sum, s) => sum + (s.seconds / 60 - mx) * (s[key] - my), 0);
  const den = samples.reduce((sum, s) => sum + (s.seconds / 60 - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const report = mode === 'latency' ? await latency() : await memory();
process.stdout.write(`${report.join('\n')}\n`);
process.exit(0);

function positive(name, text) {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) usage(`--${name} must be a positive number`);
  return value;
}

/** parseArgs, with a mistyped option said in one line instead of a stack trace. */
function parseOptions(config) {
  try {
    return parseArgs(config);
  } catch (error) {
    return usage(`${error.message} (scripts/bench ${mode} --help lists the options)`);
  }
}

function usage(message) {
  process.stderr.write(`bench-steady: ${message}\n`);
  process.exit(2);
}
