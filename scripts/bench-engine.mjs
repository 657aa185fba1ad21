#!/usr/bin/env node
// The measurement behind scripts/bench: items/s through the worker's real routes (the X source route: replay →
// decode → posts with pictures → hub:x; the feed route: hub:x → feed → map → contract → idempotent →
// amqp:/topic/feed.<name>, every message accepted by the broker), against two publishers without the engine on the
// same broker: a bare rhea publisher sending the same bodies ready-made, and a hand-written loop doing the route's
// per-item work itself (read line → decode → filters → map → validate → JSON → send). Run it through scripts/bench,
// which builds, starts a private broker and passes these settings; running it by hand needs a built worker
// (npx tsc -b) and:
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… node --expose-gc scripts/bench-engine.mjs [options]
//
//   --lines N      lines in the generated recording (default 50000; the bundled sample repeated, unique ids)
//   --repeats N    measured runs per side, alternating bare, hand-written, engine, bare, … (default 3)
//   --warmup N     unmeasured rounds (one run of each side) before that (default 1)
//   --only SIDE    bare, hand-written or engine (with --moderation: engine or engine+moderation): measure one side
//                  only (for profiling)
//   --moderation   measure the engine alone, alternating its runs with no moderation rules (profanity: false) and
//                  with heavy ones (1,000 blocked words and phrases, 1,000 blocked authors per network, the profanity
//                  filter), against the same broker; also times the moderation check alone on the recording's posts.
//                  Default --repeats 5 then.
//   --peer         measure the engine against Apache Camel doing the same work (scripts/peer/camel, built here once):
//                  alternating engine, camel-parallel (split over a thread pool) and camel-stock (one send at a time,
//                  on the first --stock-lines lines only: it is slow), after a wire check that the sides publish the
//                  same bodies. Needs BENCH_AMQP_VIEWER_PASSWORD too (the wire check subscribes as the viewer).
//                  Default --warmup 2 then (the JVM compiles its hot code over the first runs).
//   --stock-lines N  the camel-stock side's recording (default 2000 lines)
//   --threads N    the camel-parallel side's pool (default 128)
//   --baseline DIR another build of the worker (a checkout of another commit, after npx tsc -b there): its engine and
//                  routes run as a fourth side, engine-baseline, alternating with the others, for a before/after ratio
//                  taken in one run
//   --cpu-profile FILE   write a V8 CPU profile of the measured runs only (not the set-up or the warm-up) to FILE;
//                  meant for --only engine (or --only hand-written)
//   --top FILE     print the hottest functions (self time) of a .cpuprofile and exit; no broker needed
//
// Progress goes to stderr, the markdown report to stdout. Exit code 1 when a run did not deliver every item.
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { benchConfigText, repeatedSample } from './bench-recording.mjs';
import { buildCamelPeer, compareWire, openWireTap, processCpuSeconds, startCamelPeer } from './bench-peer.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => pathToFileURL(join(root, 'worker', 'dist', path)).href;
const say = (message) => process.stderr.write(`bench: ${message}\n`);

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '50000' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    top: { type: 'string' },
    'cpu-profile': { type: 'string' },
    baseline: { type: 'string' },
    moderation: { type: 'boolean', default: false },
    peer: { type: 'boolean', default: false },
    'stock-lines': { type: 'string', default: '2000' },
    threads: { type: 'string', default: '128' },
  },
  strict: true,
});

if (args.top) {
  printTopFunctions(args.top);
  process.exit(0);
}

const lineCount = positive('lines', args.lines);
const moderationMode = args.moderation;
const repeats = positive('repeats', moderationMode && !process.argv.includes('--repeats') ? '5' : args.repeats);
// The Camel side's JVM compiles its hot code over the first runs: two warm-up rounds by default there.
const warmupRounds = Number(args.peer && !process.argv.includes('--warmup') ? '2' : args.warmup);
if (!Number.isInteger(warmupRounds) || warmupRounds < 0) usage('--warmup must be a whole number');
const MODERATED = 'engine+moderation';
const peerMode = args.peer;
if (peerMode && moderationMode) usage('--peer and --moderation do not go together');
const BASELINE = 'engine-baseline';
const SIDES = moderationMode ? ['engine', MODERATED] : peerMode ? ['engine', 'camel-parallel', 'camel-stock'] : ['bare', 'hand-written', 'engine', ...(args.baseline ? [BASELINE] : [])];
if (args.only && !SIDES.includes(args.only)) usage(`--only must be one of ${SIDES.join(', ')}`);
const brokerPid = process.env.BENCH_BROKER_PID;
const url = process.env.BENCH_AMQP_URL;
const password = process.env.BENCH_AMQP_PASSWORD;
if (!url || !password) usage('BENCH_AMQP_URL and BENCH_AMQP_PASSWORD must be set (scripts/bench sets them)');

// The worker's own modules, as built: the same routes the worker runs, and the same pipeline functions.
const { default: rhea } = await import('rhea');
const { pino } = await import('pino');
const { validateFeedItem } = await import('@livewall/contract');
const { parseConfig } = await import(dist('config.js'));
const { routesOf } = await import(dist('run.js'));
const { Engine } = await import(dist('engine/engine.js'));
const { defaultComponents } = await import(dist('components/index.js'));
const { systemClock } = await import(dist('engine/types.js'));
const { decodeXLine } = await import(dist('sources/x/decode.js'));
const { dropReason } = await import(dist('pipeline/filter.js'));
const { toFeedItem } = await import(dist('pipeline/mapper.js'));
const { ModerationBook } = await import(dist('moderation/rules.js'));
/** What an engine side runs: this build's engine and routes, or with --baseline another build's. */
const kit = { Engine, defaultComponents, routesOf };
const baselineKit = args.baseline ? await builtKit(args.baseline) : undefined;

async function builtKit(dir) {
  const built = (path) => pathToFileURL(join(dir, 'worker', 'dist', path)).href;
  return { Engine: (await import(built('engine/engine.js'))).Engine, defaultComponents: (await import(built('components/index.js'))).defaultComponents, routesOf: (await import(built('run.js'))).routesOf };
}
const { ProfanityFilter } = await import(dist('moderation/profanity.js'));
const { feedsToModerate } = await import(dist('moderation/config.js'));

// A feed (and so a topic) of this run's own.
const feed = `bench-${randomBytes(4).toString('hex')}`;
const topic = `/topic/feed.${feed}`;
const work = mkdtempSync(join(tmpdir(), 'livewall-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => process.exit(code));

// 1. The recording: the bundled sample repeated to `lineCount` lines, every post an id of its own, for this feed.
const recording = repeatedSample(lineCount, feed);
const recordingFile = join(work, 'recording.ndjson');
writeFileSync(recordingFile, `${recording.join('\n')}\n`);
const configFile = join(work, 'bench.yaml');
const configText = benchConfigText(feed);
writeFileSync(configFile, configText);
const config = parseConfig(configText, configFile, process.env);
const target = new URL(url);

// With --moderation: the same config twice, once with no moderation rules, once with heavy ones. The words and
// authors are made up (letters from a fixed seed, so every run uses the same ones) and none is in the recording: both
// sides publish every item. (YAML reads the JSON written into it.)
const MODERATION_REASONS = ['blocked-author', 'blocked-word', 'profanity', 'author-rate'];
const moderationRules = moderationMode ? heavyModeration() : undefined;
const configs = moderationMode
  ? {
      engine: parseConfig(`${configText}moderation: ${JSON.stringify({ profanity: false })}\n`, configFile, process.env),
      [MODERATED]: parseConfig(`${configText}moderation: ${JSON.stringify(moderationRules)}\n`, configFile, process.env),
    }
  : { engine: config };

/** 1,000 blocked words and phrases (one in ten of two words) and 1,000 blocked authors per network, with the profanity filter. */
function heavyModeration() {
  // mulberry32: a small PRNG of 32-bit integer steps.
  let seed = 20261207;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const word = (min, max) => Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 26)]).join('');
  const words = new Set();
  while (words.size < 1000) words.add(words.size % 10 === 9 ? `${word(3, 8)} ${word(3, 8)}` : word(4, 10));
  const authors = (make) => {
    const names = new Set();
    while (names.size < 1000) names.add(make());
    return [...names];
  };
  return {
    blockedWords: [...words],
    blockedAuthors: {
      x: authors(() => `${word(4, 12)}_${Math.floor(random() * 1000)}`),
      bluesky: authors(() => `${word(4, 12)}.bsky.social`),
      mastodon: authors(() => `${word(4, 10)}@${word(4, 8)}.social`),
    },
    profanity: true,
  };
}

/**
 * One item's work as the routes do it, without the engine: a recorded line → the feed item to publish, or undefined
 * for a line the routes drop (keep-alive, not a post, another feed's post, no picture, not mapped, not valid).
 */
function itemOf(line) {
  if (line.trim() === '') return undefined;
  const event = decodeXLine(line);
  if (event.kind !== 'post' || dropReason(event.post, config) || !event.post.feeds.includes(feed)) return undefined;
  const now = new Date();
  const mapped = toFeedItem({ ...event.post, feeds: [feed] }, feed, { imageHosts: config.imageHosts, videoPreviews: config.videoPreviews, receivedAt: now });
  if (!mapped.ok) return undefined;
  const item = { ...mapped.item, publishedAt: new Date().toISOString() };
  return validateFeedItem(item, config.imageHosts).ok ? item : undefined;
}

// 2. What the routes will publish, computed beforehand with the same functions, for the bare publisher.
const ids = [];
const bodies = [];
/** The posts that become items, as the feed route's moderation step sees them (for timing the check alone). */
const posts = [];
for (const line of recording) {
  const item = itemOf(line);
  if (!item) continue;
  if (moderationMode) posts.push({ ...decodeXLine(line).post, feeds: [feed] });
  ids.push(item.id);
  bodies.push(Buffer.from(JSON.stringify(item), 'utf8'));
}
if (new Set(ids).size !== ids.length) throw new Error('the generated recording has duplicate ids');
const items = bodies.length;
const sizes = bodies.map((body) => body.length).sort((a, b) => a - b);
const meanSize = Math.round(sizes.reduce((sum, size) => sum + size, 0) / items);
say(`recording: ${lineCount} lines → ${items} feed items, body ${sizes[0]}–${sizes[items - 1]} B (mean ${meanSize} B), topic ${topic}`);

/**
 * The moderation check alone, as the feed route's moderation step calls it, on each post of the recording that
 * becomes an item: CPU µs per post (the median of 5 passes after a warm-up pass). Fails when the rules drop a post.
 */
function checkCost(side) {
  const built = performance.now();
  const moderation = new ModerationBook(configs[side].moderation, feedsToModerate(configs[side])).of(feed);
  buildMs[side] = performance.now() - built;
  const passes = [];
  for (let pass = 0; pass < 6; pass++) {
    const cpu = process.cpuUsage();
    for (const post of posts) {
      const verdict = moderation.check(post, Date.now());
      if (verdict !== true) throw new Error(`the generated moderation rules drop a post of the recording (${verdict}): ${JSON.stringify(post.text)}`);
    }
    const { user, system } = process.cpuUsage(cpu);
    if (pass > 0) passes.push((user + system) / posts.length);
  }
  return median(passes);
}
const buildMs = {};
// The profanity filter is built once per process, on first use (here, timed on its own).
const profanityBuilt = performance.now();
if (moderationMode) new ProfanityFilter();
const profanityBuildMs = performance.now() - profanityBuilt;
const checkCosts = moderationMode ? Object.fromEntries(SIDES.map((side) => [side, checkCost(side)])) : undefined;
if (checkCosts) say(`moderation check alone: ${SIDES.map((side) => `${side} ${checkCosts[side].toFixed(2)} µs/post`).join(', ')} (CPU, ${posts.length} posts, ${posts.reduce((sum, post) => sum + 1 + post.media.filter((media) => media.alt).length, 0)} texts)`);

/**
 * With --peer: the Camel application, started once and kept (its JVM warms up over the runs), the camel-stock side's
 * shorter recording (a prefix of the same one), and a check that the engine and both Camel configurations publish the
 * same messages: one subscriber on the topic, then each side in turn on the first `CHECK_LINES` lines, every message
 * compared with the engine's (body but for the timestamps' values, message_id, content_type, durable).
 */
const CHECK_LINES = 200;
const peer = peerMode ? await startPeer() : undefined;
const stockLines = peerMode ? positive('stock-lines', args['stock-lines']) : 0;
const stockFile = join(work, 'stock.ndjson');
const stockItems = peerMode ? writePrefix(stockFile, stockLines) : 0;
const wireCheck = peerMode ? await checkWire() : undefined;

/** Writes the first `count` lines of the recording to `file`; returns how many feed items they make. */
function writePrefix(file, count) {
  const prefix = recording.slice(0, count);
  writeFileSync(file, `${prefix.join('\n')}\n`);
  return prefix.filter((line) => itemOf(line)).length;
}

async function startPeer() {
  const classpath = buildCamelPeer();
  const started = await startCamelPeer({ classpath, url, password, feed, threads: positive('threads', args.threads) });
  // A failed run leaves the JVM behind otherwise (it is gone already after a clean close).
  process.on('exit', () => {
    try {
      process.kill(started.pid);
    } catch {
      // already gone
    }
  });
  say(`Camel peer: Camel ${started.version}, pid ${started.pid}`);
  return started;
}

async function checkWire() {
  const viewerPassword = process.env.BENCH_AMQP_VIEWER_PASSWORD;
  if (!viewerPassword) usage('--peer needs BENCH_AMQP_VIEWER_PASSWORD (scripts/bench peer sets it)');
  const file = join(work, 'check.ndjson');
  const count = writePrefix(file, CHECK_LINES);
  const checkConfig = parseConfig(configText.replace('file: recording.ndjson', 'file: check.ndjson'), configFile, process.env);
  const tap = await openWireTap({ url, username: 'viewer', password: viewerPassword, topic });
  const sides = [];
  try {
    await engineRun(checkConfig, count);
    sides.push({ side: 'engine', messages: await tap.take(count) });
    for (const route of ['stock', 'parallel']) {
      const result = await peer.run(route, file);
      if (result.sent !== count || result.failed > 0) throw new Error(`wire check: camel-${route} sent ${result.sent} of ${count} items, ${result.failed} failed`);
      sides.push({ side: `camel-${route}`, messages: await tap.take(count) });
    }
  } finally {
    await tap.close();
  }
  const problems = sides.slice(1).flatMap((side) => compareWire(sides[0], side));
  if (problems.length > 0) throw new Error(`wire check: the sides' messages differ:\n${problems.slice(0, 10).join('\n')}`);
  const names = (side, key) => [...new Set(side.messages.flatMap((message) => message[key]))].join(', ') || 'none';
  say(`wire check: ${count} messages from each side agree (bodies but for the timestamps, message_id, content_type, durable)`);
  return { count, sides: sides.map((side) => ({ side: side.side, annotations: names(side, 'annotations'), properties: names(side, 'properties') })) };
}

/** A Camel side: the peer's route over the recording (camel-stock: over its prefix); every item must be sent and accepted. */
async function camelRun(route) {
  const [file, expected] = route === 'stock' ? [stockFile, stockItems] : [recordingFile, items];
  const result = await peer.run(route, file);
  if (result.sent !== expected || result.failed > 0) throw new Error(`camel-${route} run incomplete: sent ${result.sent} of ${expected}, failed ${result.failed}`);
  return { ms: result.ms, count: result.sent };
}

/**
 * A publisher without the engine: one connection, one sender to the topic, messages sent pipelined (while the
 * broker grants credit) with the worker's message properties; done when every message is accepted (any other outcome
 * fails the run). `produce(send, sendable)` sends the messages and resolves with how many it sent; `sendable()`
 * resolves when the sender has credit.
 */
function publisherRun(side, produce) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const container = rhea.create_container({ id: `livewall-bench-${side}-${process.pid}` });
    const connection = container.connect({ host: target.hostname, port: Number(target.port), username: 'publisher', password, reconnect: false });
    const sender = connection.open_sender({ target: { address: topic } });
    let accepted = 0;
    let total;
    let finished = false;
    let creditWaiter;
    const fail = (error) => {
      if (finished) return;
      finished = true;
      connection.close();
      reject(error);
    };
    const done = () => {
      if (finished || total === undefined || accepted < total) return;
      finished = true;
      const ms = performance.now() - started;
      connection.once('connection_close', () => resolve({ ms, count: accepted }));
      connection.close();
    };
    const send = (id, body) => sender.send({ message_id: id, content_type: 'application/json', durable: true, body: rhea.message.data_section(body) });
    const sendable = () => (sender.sendable() ? undefined : new Promise((wake) => (creditWaiter = wake)));
    sender.on('sendable', () => {
      const wake = creditWaiter;
      creditWaiter = undefined;
      wake?.();
    });
    connection.on('accepted', () => {
      accepted++;
      done();
    });
    for (const outcome of ['rejected', 'released', 'modified']) {
      connection.on(outcome, () => fail(new Error(`${side} publisher: the broker said ${outcome}`)));
    }
    connection.on('disconnected', (context) => fail(new Error(`${side} publisher: disconnected: ${context.error?.message ?? 'no reason'}`)));
    produce(send, sendable).then((count) => {
      total = count;
      done();
    }, fail);
  });
}

/** The bare publisher: the ready-made bodies, sent while the sender has credit. */
function bareRun() {
  return publisherRun('bare', async (send, sendable) => {
    for (let next = 0; next < items; next++) {
      const waiting = sendable();
      if (waiting) await waiting;
      send(ids[next], bodies[next]);
    }
    return items;
  });
}

/**
 * The hand-written publisher: the recording read line by line as the replay reads it (a file stream through
 * readline), each line through the same functions as the routes (decode, the feed and picture filters, map, stamp,
 * validate), then JSON.stringify and send, pipelined. No engine: no queue, no steps, no promise per message.
 */
function handWrittenRun() {
  return publisherRun('hand-written', async (send, sendable) => {
    const lines = createInterface({ input: createReadStream(recordingFile, { encoding: 'utf8' }), crlfDelay: Infinity });
    let sent = 0;
    for await (const line of lines) {
      const item = itemOf(line);
      if (!item) continue;
      const waiting = sendable();
      if (waiting) await waiting;
      send(item.id, Buffer.from(JSON.stringify(item), 'utf8'));
      sent++;
    }
    if (sent !== items) throw new Error(`hand-written publisher: made ${sent} items, expected ${items}`);
    return sent;
  });
}

/**
 * The worker's routes on the engine, built and run as the worker builds and runs them: every route of the config
 * (`routesOf`, as worker/src/run.ts adds them), the source route `source:x` and the feed route `feed:<name>`, which
 * reads from it through hub:x. Done when the source route has completed and the feed route has completed every item.
 */
async function engineRun(config, expected = items, { Engine, defaultComponents, routesOf } = kit) {
  const engine = new Engine(defaultComponents(), {
    baseDir: dirname(config.file),
    clock: systemClock,
    log: pino({ level: 'silent' }),
    settings: { amqp: config.broker },
  });
  for (const route of routesOf(config, { dryRun: false })) engine.add(route);
  const retries = [];
  engine.on('retry', ({ error }) => retries.push(error));
  const routeStatus = (id) => engine.status().find((status) => status.id === id);
  const feedRouteId = `feed:${feed}`;
  // The feed route reads from a hub and so never completes by itself: poll the counters (every 2 ms, a resolution well
  // under 0.1 % of a run).
  let timer;
  // A post the moderation rules drop is done too (and fails the run below).
  const settled = (counters) => counters.completed + counters.failed + MODERATION_REASONS.reduce((sum, reason) => sum + (counters.dropped[reason] ?? 0), 0);
  const finished = new Promise((resolve, reject) => {
    engine.on('state', ({ route, state }) => {
      if (state === 'failed') reject(new Error(`route ${route} failed`));
    });
    timer = setInterval(() => {
      const source = routeStatus('source:x');
      const feedRoute = routeStatus(feedRouteId);
      if (source?.state === 'completed' && feedRoute && settled(feedRoute.counters) >= expected) resolve();
    }, 2);
  }).finally(() => clearInterval(timer));
  const watchdog = setTimeout(() => say(`engine run still going after 120 s: ${JSON.stringify(engine.status())}`), 120_000);
  const started = performance.now();
  await engine.start();
  await finished;
  const ms = performance.now() - started;
  clearTimeout(watchdog);
  const abandoned = await engine.stop(30_000);
  const source = routeStatus('source:x');
  const { counters } = routeStatus(feedRouteId);
  if (abandoned > 0 || counters.failed > 0 || source.counters.failed > 0 || retries.length > 0 || counters.completed !== expected) {
    throw new Error(`engine run incomplete: completed ${counters.completed} of ${expected}, failed ${counters.failed}, abandoned ${abandoned}, retries ${JSON.stringify(retries)}`);
  }
  return { ms, count: counters.completed, dropped: { ...source.counters.dropped, ...counters.dropped } };
}

/** CPU seconds the broker's JVM has used so far (utime + stime from /proc), or undefined without its pid. */
function brokerCpuSeconds() {
  if (!brokerPid) return undefined;
  try {
    const fields = readFileSync(`/proc/${brokerPid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command: field 3 is the state, so utime and stime (fields 14 and 15) are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}
const clockTicks = Number(process.env.BENCH_CLK_TCK) || 100;

/** Runs one side, measuring its wall time and the CPU time Node and the broker spent meanwhile. */
async function measured(side) {
  const cpu = process.cpuUsage();
  const broker = brokerCpuSeconds();
  const jvm = peer && processCpuSeconds(peer.pid, clockTicks);
  const result = await run[side]();
  const { user, system } = process.cpuUsage(cpu);
  const brokerAfter = brokerCpuSeconds();
  return {
    ...result,
    nodeCpuUs: (user + system) / result.count,
    ...(peer ? { jvmCpuUs: ((processCpuSeconds(peer.pid, clockTicks) - jvm) * 1e6) / result.count } : {}),
    ...(broker === undefined || brokerAfter === undefined ? {} : { brokerCpuUs: ((brokerAfter - broker) * 1e6) / result.count }),
  };
}

// The profiler, when asked for, runs over the measured runs only.
let profiler;
async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
async function stopProfile() {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(args['cpu-profile'], JSON.stringify(profile));
  profiler.disconnect();
  say(`CPU profile of the measured runs: ${args['cpu-profile']}`);
}

const runs = [];
const sides = args.only ? [args.only] : SIDES;
const run = {
  bare: bareRun,
  'hand-written': handWrittenRun,
  engine: () => engineRun(configs.engine),
  [BASELINE]: () => engineRun(configs.engine, items, baselineKit),
  [MODERATED]: () => engineRun(configs[MODERATED]),
  'camel-parallel': () => camelRun('parallel'),
  'camel-stock': () => camelRun('stock'),
};
let lastDropped;
for (let round = 1; round <= warmupRounds + repeats; round++) {
  const warmup = round <= warmupRounds;
  if (round === warmupRounds + 1 && args['cpu-profile']) await startProfile();
  for (const side of sides) {
    globalThis.gc?.();
    const result = await measured(side);
    const rate = result.count / (result.ms / 1000);
    if (result.dropped) lastDropped = result.dropped;
    const cpu = `Node CPU ${result.nodeCpuUs.toFixed(0)} µs/item${result.jvmCpuUs === undefined ? '' : `, Camel JVM CPU ${result.jvmCpuUs.toFixed(0)} µs/item`}${result.brokerCpuUs === undefined ? '' : `, broker CPU ${result.brokerCpuUs.toFixed(0)} µs/item`}`;
    say(`${warmup ? 'warm-up' : `run ${round - warmupRounds}/${repeats}`} ${side}: ${result.count} items in ${(result.ms / 1000).toFixed(2)} s = ${Math.round(rate)} items/s (${cpu})`);
    if (!warmup) runs.push({ side, round: round - warmupRounds, ...result, rate });
  }
}
if (profiler) await stopProfile();
if (peer) await peer.close();

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
const medians = Object.fromEntries(sides.map((side) => [side, median(runs.filter((r) => r.side === side).map((r) => r.rate))]));

const out = [];
out.push(`Items: ${items} per run (from ${lineCount} recording lines), JSON body ${sizes[0]}–${sizes[items - 1]} bytes, mean ${meanSize}, median ${median(sizes)}; topic ${topic}; ${warmupRounds} warm-up round(s), then ${repeats} measured run(s) per side, alternating.`);
if (lastDropped) out.push(`Engine drops per run (lines that are not items): ${Object.entries(lastDropped).map(([reason, count]) => `${reason} ${count}`).join(', ')}.`);
if (moderationRules) {
  out.push('');
  out.push(
    `Moderation: \`engine\` runs the feed with \`moderation: { profanity: false }\` (no rules); \`${MODERATED}\` with ${moderationRules.blockedWords.length} blocked words and phrases (${moderationRules.blockedWords.filter((word) => word.includes(' ')).length} of two words), ${Object.entries(moderationRules.blockedAuthors).map(([network, names]) => `${names.length} blocked ${network} authors`).join(', ')} and \`profanity: true\`; none of them is in the recording, so both publish every item.`,
  );
  out.push(`The moderation check alone on the ${posts.length} posts that become items (CPU, median of 5 passes): ${SIDES.map((side) => `${side} **${checkCosts[side].toFixed(2)} µs per post**`).join(', ')}.`);
  out.push(`Building the heavy rules took ${buildMs[MODERATED].toFixed(1)} ms, and the profanity filter (once per process) ${profanityBuildMs.toFixed(1)} ms.`);
}
out.push('');
const micros = (value) => (value === undefined || Number.isNaN(value) ? '–' : value.toFixed(0));
// With --peer, the Camel JVM's CPU too (during a Node side it idles, during a Camel side Node does).
const cpuKeys = peer ? ['nodeCpuUs', 'jvmCpuUs', 'brokerCpuUs'] : ['nodeCpuUs', 'brokerCpuUs'];
const cpuNames = { nodeCpuUs: 'Node CPU µs/item', jvmCpuUs: 'Camel JVM CPU µs/item', brokerCpuUs: 'broker CPU µs/item' };
const cpuHeads = cpuKeys.map((key) => cpuNames[key]).join(' | ');
const cpuRule = cpuKeys.map(() => '---:').join(' | ');
out.push(`| run | side | items | seconds | items/s | ${cpuHeads} |`);
out.push(`| ---: | --- | ---: | ---: | ---: | ${cpuRule} |`);
for (const r of runs) out.push(`| ${r.round} | ${r.side} | ${r.count} | ${(r.ms / 1000).toFixed(3)} | ${Math.round(r.rate)} | ${cpuKeys.map((key) => micros(r[key])).join(' | ')} |`);
out.push('');
out.push(`| side | median items/s | min | max | wall µs/item | ${cpuHeads} |`);
out.push(`| --- | ---: | ---: | ---: | ---: | ${cpuRule} |`);
for (const side of sides) {
  const ofSide = runs.filter((r) => r.side === side);
  const rates = ofSide.map((r) => r.rate);
  const cpu = cpuKeys.map((key) => {
    const values = ofSide.map((r) => r[key]).filter((value) => value !== undefined);
    return micros(values.length ? median(values) : undefined);
  });
  out.push(`| ${side} | ${Math.round(medians[side])} | ${Math.round(Math.min(...rates))} | ${Math.round(Math.max(...rates))} | ${micros(1e6 / medians[side])} | ${cpu.join(' | ')} |`);
}
out.push('');
out.push(`CPU per item: medians over the runs of each side; Node is this process (user + system, all its threads)${peer ? ', the Camel JVM its process' : ''}, the broker its JVM (from /proc).`);
if (wireCheck) {
  out.push('');
  out.push(`Wire check (before the runs, the first ${CHECK_LINES} lines, ${wireCheck.count} messages a side): every message of camel-stock and camel-parallel has the engine's body but for the timestamps' values, its message_id, content_type and durable. Message annotations and application properties on the wire: ${wireCheck.sides.map((side) => `${side.side}: annotations ${side.annotations}; properties ${side.properties}`).join(' — ')}.`);
  out.push(`camel-stock runs over the first ${stockLines} lines (${stockItems} items), the other sides over all ${lineCount}.`);
}
const ratio = (a, b, note = () => '') => {
  if (!medians[a] || !medians[b]) return;
  const value = medians[a] / medians[b];
  out.push(`- **${a} / ${b} = ${(value * 100).toFixed(1)} %**${note(value)}`);
};
if (sides.length > 1 && moderationMode) {
  out.push('');
  out.push('Ratio of the medians, and of the runs of each round (taken one after the other):');
  out.push('');
  ratio(MODERATED, 'engine', (value) => ` (the goal, at least 90 %: ${value >= 0.9 ? 'met' : 'NOT met'})`);
  const rounds = [...new Set(runs.map((r) => r.round))].map((round) => runs.find((r) => r.round === round && r.side === MODERATED).rate / runs.find((r) => r.round === round && r.side === 'engine').rate);
  out.push(`- by round: ${rounds.map((value) => `${(value * 100).toFixed(1)} %`).join(', ')}; median ${(median(rounds) * 100).toFixed(1)} %`);
} else if (sides.length > 1 && peerMode) {
  out.push('');
  out.push('Ratios of the medians:');
  out.push('');
  ratio('engine', 'camel-parallel', (value) => ` (the goal, at least 120 %: ${value >= 1.2 ? 'met' : 'NOT met'})`);
  if (medians.engine && medians['camel-stock']) out.push(`- **engine / camel-stock = ${(medians.engine / medians['camel-stock']).toFixed(1)} ×**`);
} else if (sides.length > 1) {
  out.push('');
  out.push('Ratios of the medians:');
  out.push('');
  ratio('engine', 'bare', (value) => ` (the goal, at least 90 %: ${value >= 0.9 ? 'met' : 'NOT met'})`);
  ratio('engine', 'hand-written', (value) => ` (what the engine costs; the goal of issue 19, at least 95 %: ${value >= 0.95 ? 'met' : 'NOT met'})`);
  ratio('hand-written', 'bare', () => ' (what the per-item work costs without the engine)');
  ratio('engine', BASELINE, () => ` (this build against the one in ${args.baseline})`);
  ratio(BASELINE, 'hand-written', () => ' (the baseline build)');
}
process.stdout.write(`${out.join('\n')}\n`);

function positive(name, text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) usage(`--${name} must be a whole number of at least 1`);
  return value;
}

function usage(message) {
  process.stderr.write(`bench-engine: ${message}\n`);
  process.exit(2);
}

/** Which part of the work a script URL belongs to, for the profile's summary. */
function areaOf(url) {
  if (/\/worker\/dist\/moderation\/|\/node_modules\/obscenity\//.test(url)) return 'moderation: rules, blocked words, profanity (worker/dist/moderation, obscenity)';
  if (/\/worker\/dist\/(sources|pipeline)\/|\/worker\/dist\/(feeds|post)\.js|\/worker\/dist\/dsl\/feed-pipeline\.js|\/contract\/dist\//.test(url)) return 'feed logic: decode, filter, map, stamp, validate (worker/dist/{sources,pipeline,dsl/feed-pipeline.js}, contract)';
  if (/\/worker\/dist\/engine\/|\/worker\/dist\/components\/hub\//.test(url)) return 'engine: routes, queues, steps, hub (worker/dist/engine, components/hub)';
  if (/\/worker\/dist\/(amqp|components\/amqp)\/|\/node_modules\/rhea\//.test(url)) return 'AMQP: publisher, amqp: component, rhea';
  if (/\/worker\/dist\/components\/replay\/|node:internal\/readline|node:readline|node:internal\/fs\/streams|node:string_decoder/.test(url)) return 'replay source: file, readline';
  if (/scripts\/bench-engine\.mjs/.test(url)) return 'bench harness';
  return undefined;
}

/** The functions with the most self time in a V8 .cpuprofile, and the time by part of the work. */
function printTopFunctions(file, limit = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const hits = new Map();
  const deltas = profile.timeDeltas;
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index];
    hits.set(id, (hits.get(id) ?? 0) + (deltas[index] ?? 0));
  }
  const total = [...hits.values()].reduce((sum, us) => sum + us, 0);
  const selfTime = new Map();
  const areaTime = new Map();
  for (const [id, us] of hits) {
    const { callFrame } = byId.get(id);
    const where = callFrame.url ? `${callFrame.url.replace(pathToFileURL(root).href, '').replace(/^file:\/\//, '')}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'}\t${where}`;
    selfTime.set(key, (selfTime.get(key) ?? 0) + us);
    // A sample counts for the nearest caller that belongs to a known part: JSON.parse under decodeXLine is feed
    // logic, a socket write under rhea is AMQP.
    let area = ['(garbage collector)', '(idle)', '(program)'].includes(callFrame.functionName) ? callFrame.functionName : undefined;
    for (let node = id; area === undefined && node !== undefined; node = parent.get(node)) area = areaOf(byId.get(node).callFrame.url);
    area ??= 'other (event loop, promises, Node internals)';
    areaTime.set(area, (areaTime.get(area) ?? 0) + us);
  }
  const idle = selfTime.get('(idle)\t') ?? 0;
  console.log(`${(total / 1e6).toFixed(2)} s sampled, of which ${((idle / total) * 100).toFixed(1)} % idle (the main thread waiting for I/O).\n`);
  console.log('| part of the work (self time, by nearest known caller) | % | ms |');
  console.log('| --- | ---: | ---: |');
  for (const [area, us] of [...areaTime].sort((a, b) => b[1] - a[1])) console.log(`| ${area} | ${((us / total) * 100).toFixed(1)} | ${Math.round(us / 1000)} |`);
  console.log('');
  console.log('| self % | self ms | function | where |');
  console.log('| ---: | ---: | --- | --- |');
  for (const [key, us] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const [name, where] = key.split('\t');
    console.log(`| ${((us / total) * 100).toFixed(1)} | ${Math.round(us / 1000)} | \`${name}\` | ${where} |`);
  }
}
