#!/usr/bin/env node
// The measurement behind `scripts/bench wan`: the worker publishing across a slow link. Its real routes (replay →
// decode → feed → map → validate → amqp:/topic/feed.<name>) send through the test TCP proxy (test/tcp-proxy.ts,
// compiled into a scratch folder, run in a process of its own) at 0, 50 and 150 ms round trip — with the outbox and without — against a publisher
// that sends one message and waits for the broker's acceptance before the next. A run is done when the broker has
// accepted every item (with the outbox: when the outbox is empty). Run it through scripts/bench, which builds, starts
// a private broker and passes these settings; by hand:
//
//   BENCH_AMQP_URL=amqp://127.0.0.1:PORT BENCH_AMQP_PASSWORD=… node scripts/bench-wan.mjs [options]
//
//   --lines N        lines in the recording (default 50000: the bundled sample repeated, ids of their own; a run is
//                    timed from engine.start(), connecting included — a few round trips — so a short one
//                    is weighed down by the set-up at 150 ms as much as by the publishing)
//   --rtt LIST       round trips in ms (default 0,50,150)
//   --one-by-one N   messages the one-at-a-time publisher sends per round trip (default 100; it is slow by design)
//
// Progress goes to stderr, the markdown report to stdout. Exit code 1 when a run lost an item, 2 when the goal (at
// 150 ms the worker keeps at least 80% of its 0 ms rate, with and without the outbox) is not met.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repeatedSample } from './bench-recording.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => pathToFileURL(join(root, 'worker', 'dist', path)).href;
const say = (message) => process.stderr.write(`bench: ${message}\n`);
const GOAL = 0.8;

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '50000' },
    rtt: { type: 'string', default: '0,50,150' },
    'one-by-one': { type: 'string', default: '100' },
  },
  strict: true,
});
const lineCount = Number(args.lines);
const rtts = args.rtt.split(',').map(Number);
const oneByOne = Number(args['one-by-one']);
if (!Number.isInteger(lineCount) || lineCount < 1 || rtts.some((rtt) => !Number.isInteger(rtt) || rtt < 0) || !Number.isInteger(oneByOne) || oneByOne < 1) {
  say('usage: --lines N, --rtt 0,50,150, --one-by-one N (whole numbers)');
  process.exit(64);
}
const url = process.env.BENCH_AMQP_URL;
const password = process.env.BENCH_AMQP_PASSWORD;
if (!url || !password) {
  say('BENCH_AMQP_URL and BENCH_AMQP_PASSWORD must be set (scripts/bench sets them)');
  process.exit(64);
}
const target = new URL(url);

const work = mkdtempSync(join(tmpdir(), 'livewall-bench-wan-'));
/** The proxy processes still running: a benchmark stopped midway (Ctrl-C, SIGTERM, an error) takes them with it. */
const proxies = new Set();
process.on('exit', () => {
  for (const child of proxies) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => process.exit(code));

// The proxy the chaos tests use, compiled on the spot (the one link model for tests and benchmarks).
say('compiling test/tcp-proxy.ts');
execFileSync(
  join(root, 'node_modules', '.bin', 'tsc'),
  ['--ignoreConfig', '--outDir', join(work, 'lib'), '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', join(root, 'test', 'tcp-proxy.ts')],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
writeFileSync(join(work, 'lib', 'package.json'), '{"type":"module"}\n');
const { default: rhea } = await import('rhea');
const { pino } = await import('pino');
const { parseConfig } = await import(dist('config.js'));
const { routesOf } = await import(dist('run.js'));
const { Engine } = await import(dist('engine/engine.js'));
const { defaultComponents } = await import(dist('components/index.js'));
const { outboxStats } = await import(dist('components/amqp/index.js'));
const { systemClock } = await import(dist('engine/types.js'));

// Each run's recording: the bundled sample repeated, each post an id of its own, for a feed of the run's own.
const recording = (feed, salt) => `${repeatedSample(lineCount, feed, 10n ** 18n + BigInt(salt) * 10n ** 9n).join('\n')}\n`;

/**
 * A proxy in front of the broker with `rtt` ms round trip (half each way), in a process of its own so that its work
 * is not counted against the worker's.
 */
async function link(rtt) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { TcpProxy } = await import(${JSON.stringify(pathToFileURL(join(work, 'lib', 'tcp-proxy.js')).href)});
    const proxy = new TcpProxy(${JSON.stringify(target.hostname)}, ${Number(target.port)}, { latencyMs: ${rtt / 2} });
    console.log(await proxy.listen());
    // The benchmark holds the other end of stdin: when it is gone, even killed with -9, so is this proxy.
    process.stdin.on('end', () => process.exit(0)).resume();
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  proxies.add(child);
  child.once('exit', () => proxies.delete(child));
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`the proxy exited (${code})`)));
  });
  const close = () => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill();
  });
  return { proxy: { close }, url: `amqp://127.0.0.1:${port}` };
}

let runs = 0;
/** The worker's routes on the engine through the link; done when the broker accepted every item. */
async function workerRun(rtt, outbox) {
  runs += 1;
  const feed = `wan-${randomBytes(3).toString('hex')}`;
  const dir = join(work, `run-${runs}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'recording.ndjson'), recording(feed, runs));
  const { proxy, url: through } = await link(rtt);
  const configFile = join(dir, 'bench.yaml');
  const configText = `broker:
  url: ${through}
  username: publisher
  password: \${BENCH_AMQP_PASSWORD}
${outbox ? `outbox: { file: ${join(dir, 'outbox.db')} }\n` : ''}sources:
  x:
    replay: { file: recording.ndjson }
feeds:
  - name: ${feed}
    network: x
`;
  writeFileSync(configFile, configText);
  const config = parseConfig(configText, configFile, process.env);
  const engine = new Engine(defaultComponents(), {
    baseDir: dirname(configFile),
    clock: systemClock,
    log: pino({ level: 'silent' }),
    settings: { amqp: config.broker, ...(config.outbox ? { outbox: config.outbox } : {}) },
  });
  for (const route of routesOf(config, { dryRun: false })) engine.add(route);
  const status = (id) => engine.status().find((route) => route.id === id);
  const feedRoute = `feed:${feed}`;
  const waiting = () => outboxStats().reduce((sum, stats) => sum + stats.depth, 0);
  const started = performance.now();
  await engine.start();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const source = status('source:x');
      const expected = source?.counters.completed ?? 0;
      if (source?.state === 'completed' && status(feedRoute).counters.completed >= expected && waiting() === 0) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const ms = performance.now() - started;
  const count = status(feedRoute).counters.completed;
  const abandoned = await engine.stop(30_000);
  await proxy.close();
  if (abandoned > 0 || status(feedRoute).counters.failed > 0) throw new Error(`worker run lost items: abandoned ${abandoned}, failed ${status(feedRoute).counters.failed}`);
  return { ms, count };
}

/** One message at a time: send, wait for the broker's acceptance, send the next. */
async function oneAtATime(rtt) {
  const { proxy, url: through } = await link(rtt);
  return new Promise((resolve, reject) => {
    const address = new URL(through);
    const container = rhea.create_container({ id: `livewall-bench-wan-${process.pid}` });
    const connection = container.connect({ host: address.hostname, port: Number(address.port), username: 'publisher', password, reconnect: false });
    const sender = connection.open_sender({ target: { address: `/topic/feed.wan-one-${randomBytes(3).toString('hex')}` } });
    const body = Buffer.from(JSON.stringify({ v: 1, note: 'x'.repeat(600) }));
    let sent = 0;
    let started;
    let finished = false;
    const next = () => {
      if (sent === oneByOne) {
        const ms = performance.now() - started;
        finished = true;
        connection.once('connection_close', () => void proxy.close().then(() => resolve({ ms, count: sent })));
        connection.close();
        return;
      }
      sent += 1;
      sender.send({ message_id: `one-${sent}`, durable: true, body: rhea.message.data_section(body) });
    };
    sender.once('sendable', () => {
      started = performance.now();
      next();
    });
    connection.on('accepted', next);
    connection.on('rejected', () => reject(new Error('the broker rejected a message')));
    connection.on('disconnected', (context) => {
      if (!finished) reject(new Error(`disconnected: ${context.error?.message ?? 'no reason'}`));
    });
  });
}

const rate = ({ ms, count }) => (count * 1000) / ms;
const format = (value) => Math.round(value).toLocaleString('en-US');
const rows = [];
for (const rtt of rtts) {
  const row = { rtt };
  for (const [key, outbox] of [['direct', false], ['outbox', true]]) {
    say(`${rtt} ms round trip, worker ${outbox ? 'with' : 'without'} the outbox`);
    const result = await workerRun(rtt, outbox);
    row[key] = rate(result);
    row.items = result.count;
  }
  say(`${rtt} ms round trip, one message at a time`);
  row.one = rate(await oneAtATime(rtt));
  rows.push(row);
  say(`  ${format(row.direct)} items/s without the outbox, ${format(row.outbox)} with it, ${format(row.one)} one at a time`);
}

const base = rows.find((row) => row.rtt === 0) ?? rows[0];
const lines = [
  `${base.items} feed items per worker run (${lineCount} recorded lines), each side alone through the proxy; one-at-a-time: ${oneByOne} messages.`,
  '',
  '| round trip | worker, no outbox | of its 0 ms rate | worker, outbox | of its 0 ms rate | one at a time |',
  '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (row) =>
      `| ${row.rtt} ms | ${format(row.direct)} items/s | ${((100 * row.direct) / base.direct).toFixed(1)}% | ${format(row.outbox)} items/s | ${((100 * row.outbox) / base.outbox).toFixed(1)}% | ${row.one.toFixed(1)} items/s |`,
  ),
];
const worst = rows.find((row) => row.rtt === 150);
let code = 0;
if (worst) {
  const kept = Math.min(worst.direct / base.direct, worst.outbox / base.outbox);
  lines.push('', `Goal: at 150 ms the worker keeps at least ${GOAL * 100}% of its 0 ms rate — ${kept >= GOAL ? 'met' : 'not met'} (${(100 * kept).toFixed(1)}% at worst).`);
  if (kept < GOAL) code = 2;
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(code);
