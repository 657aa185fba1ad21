import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sendOnce } from '../test/amqp.js';
import { declarePublisherTopic, testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp } from '../test/stomp.js';
import { recordingFor, root, startWorker as start, workerConfig } from '../test/worker.js';

const broker = testBroker();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(feeds: string[], recording: string, extra = ''): string {
  return workerConfig({ broker, feeds, recording, replay: ['pace: 50/s', 'loop: true', 'restamp: true'], extra });
}

test('the ops endpoint reports real figures while the worker runs: /metrics, /readyz, /status', async () => {
  const feed = `ops-${randomUUID().slice(0, 8)}`;
  // A second feed on the same broker connection, which gets every other post of the recording.
  const other = `${feed}-b`;
  const port = await freePort();
  const file = join(dir, 'ops.yaml');
  // The page reads the worker's status messages as an anonymous viewer.
  const page = await connectStomp(broker.wsUrl);
  const statusTopic = `/topic/status.ops-${feed}`;
  await declarePublisherTopic(statusTopic);
  const statuses = collect(page, statusTopic);
  await statuses.ready;
  const recording = await recordingFor(dir, feed);
  const lines = (await readFile(recording, 'utf8')).split('\r\n');
  await writeFile(recording, lines.map((line, index) => (index % 2 ? line.replaceAll(`"tag":"${feed}"`, `"tag":"${other}"`) : line)).join('\r\n'));
  await writeFile(file, `${config([feed, other], recording, `ops:\n  port: ${port}\nregion: test-region\nstatus:\n  topic: ${statusTopic}\n  interval: 500ms\n`)}`);
  const started = Date.now() / 1000;
  const worker = start(['run', '--config', file], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
  try {
    await worker.waitFor(/ops endpoint listening/);
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{route="feed:${feed}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    await expect.poll(() => metric('livewall_sent_total'), { timeout: 20_000 }).toBeGreaterThan(10);
    // The recording's first posts without a picture (lines 12 and 13) come right after its first eleven with one:
    // wait for the scrape that has seen them, not merely for eleven sent.
    const noMedia = /livewall_dropped_total\{route="source:x",reason="no-media"\} [1-9]/;
    let metrics = '';
    await expect.poll(async () => noMedia.test((metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())), { timeout: 20_000 }).toBe(true);
    // Both from one scrape: items keep flowing between two.
    const figure = (name: string): number => Number(metrics.split('\n').find((line) => line.startsWith(`${name}{route="feed:${feed}"`))?.split(' ').at(-1) ?? 0);
    expect(figure('livewall_received_total')).toBeGreaterThanOrEqual(figure('livewall_sent_total'));
    // Posts without pictures are dropped once, by the source route, before they reach any feed.
    expect(metrics).toMatch(noMedia);
    expect(metrics).toMatch(new RegExp(`livewall_publish_latency_seconds_count\\{uri="amqp:/topic/feed.${feed}"\\} [1-9]`));
    expect(metrics).toContain('livewall_build_info{version="0.1.0",region="test-region"} 1');
    expect(metrics).toContain(`livewall_reconnects_total{endpoint="amqp:/topic/feed.${feed}"} 0`);

    // Each feed's broker outcomes, and when the broker last took one of its items, by feed name.
    const sample = (name: string, labels: string): number | undefined => {
      const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    expect(metrics).toMatch(/^# TYPE livewall_amqp_outcomes_total counter$/m);
    expect(metrics).toMatch(/^# TYPE livewall_last_published_timestamp_seconds gauge$/m);
    for (const name of [feed, other]) {
      expect(sample('livewall_amqp_outcomes_total', `feed="${name}",outcome="accepted"`)).toBeGreaterThan(0);
      for (const outcome of ['released', 'rejected', 'modified']) expect(sample('livewall_amqp_outcomes_total', `feed="${name}",outcome="${outcome}"`)).toBe(0);
      expect(sample('livewall_amqp_resent_total', `feed="${name}"`)).toBe(0);
      const published = sample('livewall_last_published_timestamp_seconds', `feed="${name}"`) as number;
      expect(published).toBeGreaterThanOrEqual(started);
      expect(published).toBeLessThanOrEqual(Date.now() / 1000);
    }
    // Node's and the process's own metrics under their standard names, for stock dashboards.
    expect(metrics).toMatch(/^process_cpu_seconds_total \S+$/m);
    expect(metrics).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    expect(metrics).not.toMatch(/^livewall_(process|nodejs)_/m);
    expect(metrics).not.toMatch(/^# TYPE \S+_total gauge$/m);

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    type Figures = { accepted: number; [name: string]: number };
    type Endpoint = { uri: string; ready: boolean; stats: Figures };
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
      region: string;
      routes: { id: string; state: string; counters: { completed: number }; endpoints: Endpoint[] }[];
      amqpConnections: { broker: string; connected: boolean; addresses: string[]; stats: Figures }[];
    };
    expect(status.region).toBe('test-region');
    expect(status.routes).toEqual([
      expect.objectContaining({ id: `feed:${feed}`, state: 'started' }),
      expect.objectContaining({ id: `feed:${other}`, state: 'started' }),
      expect.objectContaining({ id: 'source:x', state: 'started', from: expect.stringMatching(/^replay:/) }),
    ]);
    expect(status.routes[0]?.counters.completed).toBeGreaterThan(0);
    expect(status.routes[0]?.endpoints).toEqual([{ uri: `amqp:/topic/feed.${feed}`, ready: true, stats: expect.objectContaining({ accepted: expect.any(Number), reconnects: 0 }) }]);
    // One connection carries both feeds and the status messages: each endpoint counts its own address's items, and
    // the connection (apart) all of them.
    const [first, second] = [status.routes[0]?.endpoints[0] as Endpoint, status.routes[1]?.endpoints[0] as Endpoint];
    expect(status.amqpConnections).toEqual([{ broker: `amqp://${broker.host}:${broker.amqpPort}`, user: 'publisher', connected: true, addresses: expect.arrayContaining([`/topic/feed.${feed}`, `/topic/feed.${other}`, statusTopic]), stats: expect.objectContaining({ reconnects: 0 }) }]);
    const connection = status.amqpConnections[0]?.stats as Figures;
    expect(first.stats.accepted).toBeGreaterThan(0);
    expect(second.stats.accepted).toBeGreaterThan(0);
    expect(first.stats.accepted).toBeLessThan(connection.accepted);
    expect(second.stats.accepted).toBeLessThan(connection.accepted);
    // Status messages went on the same connection: the two feeds' items are not all it carried.
    expect(first.stats.accepted + second.stats.accepted).toBeLessThan(connection.accepted);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // The feed runs once this worker owns it, a moment after the start: the status messages list it from then on.
    const latestStatus = (): { kind: string; region: string; feeds: { feed: string; state: string; itemsPerMinute: number }[] } => JSON.parse(statuses.messages.at(-1)?.body ?? '{}') as never;
    await expect.poll(() => latestStatus().feeds?.[0]?.itemsPerMinute ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const latest = latestStatus();
    expect(latest).toMatchObject({ kind: 'worker-status', region: 'test-region', feeds: [{ feed, state: 'started' }, { feed: other, state: 'started' }] });
    expect(latest.feeds[0]?.itemsPerMinute).toBeGreaterThan(0);
  } finally {
    worker.child.kill('SIGTERM');
    await page.deactivate();
  }
  expect(await worker.exited).toBe(0);
});

test('--watch: an invalid edit is reported and the routes carry on; a valid one adds and removes only what changed', async () => {
  const [cats, dogs] = [`w-${randomUUID().slice(0, 6)}`, `w-${randomUUID().slice(0, 6)}`];
  const replay = await recordingFor(dir, cats as string);
  const file = join(dir, 'watch.yaml');
  await writeFile(file, config([cats as string], replay));
  const worker = start(['run', '--config', file, '--watch', '--dry-run']);
  try {
    await worker.waitFor(new RegExp(`route feed:${cats} started`));

    await writeFile(file, `${config([cats as string], replay)}\nbogus: true\n`);
    await worker.waitFor(/config changed but is invalid; the running routes carry on/);
    expect(worker.output()).toContain(`${file}:17:1: unknown field \\"bogus\\" in the top level`);
    expect(worker.output()).not.toContain(`route feed:${cats} stopping`);

    await writeFile(file, config([cats as string, dogs as string], replay));
    const reloaded = await worker.waitFor(/\{[^\n]*"msg":"config reloaded"\}/);
    // The new feed is a route of its own; the recording's source route and the first feed's route keep running.
    expect(JSON.parse(reloaded)).toMatchObject({ added: [`feed:${dogs}`], removed: [], replaced: [], unchanged: ['source:x', `feed:${cats}`] });
    expect(worker.output()).not.toContain(`route feed:${cats} stopping`);
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);
});

test('a worker that cannot reach its broker is not ready, says why per feed, and stops promptly on SIGTERM', async () => {
  const feed = `down-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const file = join(dir, 'down.yaml');
  const nowhere = { ...broker, amqpPort: await freePort() };
  await writeFile(file, workerConfig({ broker: nowhere, feeds: [feed], recording: await recordingFor(dir, feed), extra: `ops:\n  port: ${port}\n` }));
  const worker = start(['run', '--config', file], { TEST_PUBLISHER_PASSWORD: 'unused' });
  try {
    await worker.waitFor(/ops endpoint listening/);
    await worker.waitFor(/"msg":"nothing accepts connections at amqp:\/\/127\.0\.0\.1:\d+ \(is the broker running, and is this its port\?\); retrying"/);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, routes: expect.arrayContaining([expect.objectContaining({ id: `feed:${feed}`, ownership: 'listening' })]) });
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^livewall_ready 0$/m);
  } finally {
    worker.child.kill('SIGTERM');
  }
  // Exit 0, not 3: it stopped within shutdownTimeout, before its watchdog would have ended it (a hang fails the test).
  expect(await worker.exited).toBe(0);
});

test('a refused login is named as such, with the user and URL, at error level, on every attempt', async () => {
  const feed = `auth-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const file = join(dir, 'auth.yaml');
  await writeFile(file, workerConfig({ broker, feeds: [feed], recording: await recordingFor(dir, feed), extra: `ops:\n  port: ${port}\n` }));
  const worker = start(['run', '--config', file], { TEST_PUBLISHER_PASSWORD: 'not-the-password' });
  try {
    const url = `amqp://${broker.host}:${broker.amqpPort}`;
    const refused = (attempt: number): RegExp => new RegExp(`"level":50,[^\\n]*"component":"amqp"[^\\n]*"attempt":${attempt},[^\\n]*"msg":"authentication failed for user publisher at ${url.replaceAll('.', '\\.')}: check the broker password; retrying"`);
    await worker.waitFor(refused(1));
    await worker.waitFor(refused(3), 20_000);
    await worker.waitFor(/"msg":"ownership: authentication failed for user publisher/);
    expect(worker.output()).not.toContain('write after end');
    expect(worker.output()).not.toContain('not-the-password');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);
});

test('tap prints each item of a feed as it arrives, as ndjson when piped, from the port LIVEWALL_STOMP_TCP_PORT names', async () => {
  const feed = `tap-${randomUUID().slice(0, 8)}`;
  // The port from the environment, as `scripts/broker env` prints it.
  const tap = start(['tap', feed, '--host', broker.host, '--profile', 'artemis', '--limit', '3'], { LIVEWALL_STOMP_TCP_PORT: String(broker.stompTcpPort) });
  const items = [1, 2, 3].map((n) => ({ id: `x:${n}`, text: `item ${n}` }));
  // The broker hands a new subscriber the feed's recent items, so these arrive even if sent before it subscribed.
  for (const item of items) {
    expect(await sendOnce({ host: broker.host, port: broker.amqpPort, username: 'publisher', password: broker.passwords.publisher }, `/topic/feed.${feed}`, JSON.stringify(item))).toEqual({ result: 'accepted' });
  }
  expect(await tap.exited).toBe(0);
  const lines = tap.output().trim().split('\n').filter((line) => line.startsWith('{"id"'));
  expect(lines.map((line) => JSON.parse(line))).toEqual(items);
});

test('tap names the broker kinds it knows when --profile is another', async () => {
  const tap = start(['tap', 'cats', '--profile', 'kafka']);
  expect(await tap.exited).toBe(2);
  expect(tap.output()).toContain('tap: --profile must be one of artemis, rabbitmq, not kafka');
});

test('every command answers --help and -h with its own usage on stdout (exit 0), --version names the version, and a usage slip exits 2 with a hint', async () => {
  for (const command of ['run', 'lint', 'tap', 'record']) {
    for (const flag of ['--help', '-h']) {
      const help = start([command, flag]);
      expect(await help.exited, `${command} ${flag}`).toBe(0);
      expect(help.output()).toMatch(new RegExp(`^usage: livewall-worker ${command} `));
    }
  }
  const version = start(['--version']);
  expect(await version.exited).toBe(0);
  expect(version.output().trim()).toMatch(/^livewall-worker \d+\.\d+\.\d+$/);
  const slip = start(['run', 'worker/config/demo.yaml']);
  expect(await slip.exited).toBe(2);
  expect(slip.output()).toContain('run: unexpected argument "worker/config/demo.yaml" (did you mean run --config worker/config/demo.yaml?)');
  const unknown = start(['run', '--config', 'x.yaml', '--verbose']);
  expect(await unknown.exited).toBe(2);
  expect(unknown.output()).toMatch(/Unknown option '--verbose'/);
});

test('an ops port in use and an unknown LOG_LEVEL are one line each with what to do, exit 1, no stack trace', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const feed = `busy-${randomUUID().slice(0, 8)}`;
    const file = join(dir, 'busy.yaml');
    await writeFile(file, config([feed], await recordingFor(dir, feed), `ops:\n  port: ${port}\n`));
    const worker = start(['run', '--config', file], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain(`livewall-worker: ops server cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}: another program (another worker?) listens there`);
    expect(worker.output()).not.toMatch(/^\s+at /m);
  } finally {
    busy.close();
  }
  const verbose = start(['run', '--config', 'worker/config/demo.yaml', '--dry-run'], { LOG_LEVEL: 'verbose' });
  expect(await verbose.exited).toBe(1);
  expect(verbose.output().trim()).toBe('livewall-worker: LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, not "verbose"');
});

test('npx livewall-worker runs this checkout’s worker, never a package of that name from the registry', async () => {
  const { stdout } = await promisify(execFile)('npm', ['exec', '--no', '--', 'livewall-worker', '--version'], { cwd: root });
  expect(stdout.trim()).toMatch(/^livewall-worker \d+\.\d+\.\d+$/);
});
