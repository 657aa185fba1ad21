/**
 * The demo as a user starts it: `scripts/start --broker NAME`, then Ctrl-C. Each profile's demo gets a broker
 * instance, ports and log folder of its own (the settings scripts/start documents), so it runs beside a user's demo and
 * the test broker; the broker it leaves running, as documented, is stopped and removed after.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BROKER_PROFILE_NAMES, brokerProfile, ImageAllowList, parseFeedItem, type BrokerProfileName } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from './ports.js';
import { collect, connectStomp } from './stomp.js';
import { root } from './worker.js';

const run = promisify(execFile);

/** The processes of a process group, by /proc: pid and command line. */
async function groupMembers(pgid: number): Promise<{ pid: number; command: string }[]> {
  const members: { pid: number; command: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pgid) continue;
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
      members.push({ pid: Number(entry), command });
    } catch {
      // It ended while being read.
    }
  }
  return members;
}

/** The web server's, the worker's ops and the broker's WebSocket port, and every port the demo uses. */
interface DemoPorts {
  web: number;
  ops: number;
  stomp: number;
  all: number[];
}

/** The settings scripts/start and the broker scripts read, all of this demo's own. */
async function demoEnvironment(profile: BrokerProfileName, logs: string): Promise<{ env: NodeJS.ProcessEnv; ports: DemoPorts }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of a demo this shell may have set up: the script's defaults, derived from the ports below.
  for (const key of Object.keys(env)) if (key.startsWith('LIVEWALL_')) delete env[key];
  env.LIVEWALL_BROKER_NAME = `test-start-${profile}-${process.pid}`;
  env.LIVEWALL_LOG_DIR = logs;
  // A caller that exported the moderator's password: it sets the broker's, and reaches neither the worker nor the web server.
  env.LIVEWALL_MODERATOR_PASSWORD = `caller-${process.pid}`;
  const portSettings = ['LIVEWALL_WEB_PORT', 'LIVEWALL_OPS_PORT', 'LIVEWALL_STOMP_PORT', 'LIVEWALL_STOMP_TCP_PORT', 'LIVEWALL_AMQP_PORT', 'LIVEWALL_CORE_PORT'];
  // A RabbitMQ node's other ports, the Erlang ones included.
  if (profile === 'rabbitmq') portSettings.push('LIVEWALL_MANAGEMENT_PORT', 'LIVEWALL_DIST_PORT', 'LIVEWALL_EPMD_PORT');
  const all: number[] = [];
  for (const setting of portSettings) {
    const port = await freePort();
    env[setting] = String(port);
    all.push(port);
  }
  const [web, ops, stomp] = all as [number, number, number];
  return { env, ports: { web, ops, stomp, all } };
}

/** Whether something accepts TCP connections on the loopback port. */
function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Broker log lines the demo may write that docs/operations.md explains: a viewer leaving (its connection closed under
 * it, or its subscription gone before the acknowledgement of the last message it was sent), and a retroactive address's divert already there after a restart.
 */
const EXPLAINED_BROKER_LINES = [/AMQ222061: Client connection failed|AMQ222067: Connection failure has been detected|StompSession\] AMQ229028: Consumer \d+ doesn't exist on the server/, /AMQ222006: Binding already exists with name \$\.artemis\.internal\.[a-z0-9.-]+\.divert\.retro/];

describe.each(BROKER_PROFILE_NAMES)('scripts/start --broker %s', (profileName) => {
  let logs: string;
  let env: NodeJS.ProcessEnv;
  let ports: DemoPorts;
  let start: ChildProcess | undefined;
  let viewer: Client | undefined;
  const broker = (...args: string[]) => run(join(root, 'scripts/broker'), ['--broker', profileName, ...args], { env, cwd: root });

  beforeAll(async () => {
    logs = await mkdtemp(join(tmpdir(), `livewall-start-${profileName}-`));
    ({ env, ports } = await demoEnvironment(profileName, logs));
  });
  afterAll(async () => {
    await viewer?.deactivate();
    if (start?.pid !== undefined && start.exitCode === null && start.signalCode === null) process.kill(-start.pid, 'SIGKILL');
    await broker('stop').catch(() => undefined);
    await rm(join(root, '.run', env.LIVEWALL_BROKER_NAME as string), { recursive: true, force: true });
    await rm(logs, { recursive: true, force: true });
  });

  test('runs the demo: the worker gets ready and an anonymous viewer receives the demo feed’s items; Ctrl-C stops the worker and the web server, exit 130', { timeout: 240_000 }, async () => {
    // Its own process group, as a terminal gives a command: Ctrl-C signals all of it.
    const child = spawn(join(root, 'scripts/start'), ['--broker', profileName], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    start = child;
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const pgid = child.pid as number;

    const readyz = async (): Promise<number | undefined> => fetch(`http://127.0.0.1:${ports.ops}/readyz`, { signal: AbortSignal.timeout(2000) }).then((response) => response.status, () => undefined);
    await Promise.race([
      expect.poll(readyz, { timeout: 180_000, interval: 500 }).toBe(200),
      exited.then((code) => Promise.reject(new Error(`scripts/start exited (${code}) before the worker was ready:\n${output}`))),
    ]);
    await expect.poll(() => output).toContain(`livewall is running: open http://localhost:${ports.web}/`);
    // It says so only once the worker answers.
    expect((await fetch(`http://127.0.0.1:${ports.ops}/healthz`)).status).toBe(200);

    // As the page does: the broker, its kind and the feeds from the web server's /config.json.
    const config = (await (await fetch(`http://127.0.0.1:${ports.web}/config.json`)).json()) as { broker: { urls: string[]; profile: BrokerProfileName }; feeds: { name: string }[]; imageHosts: string[] };
    expect(config.broker.profile).toBe(profileName);
    expect(config.broker.urls).toEqual([brokerProfile(profileName).webSocketUrl('localhost', ports.stomp)]);
    // The moderator page, whose address is printed, connects where the moderator's login is taken: Artemis's private
    // STOMP port (the public one admits viewers only), RabbitMQ's Web-STOMP.
    expect(output).toContain(`moderate    http://localhost:${ports.web}/moderate`);
    const moderation = (await (await fetch(`http://127.0.0.1:${ports.web}/moderate/config.json`)).json()) as { broker: { urls: string[] } };
    const moderatorPort = profileName === 'artemis' ? Number(env.LIVEWALL_STOMP_TCP_PORT) : ports.stomp;
    expect(moderation.broker.urls).toEqual([brokerProfile(profileName).webSocketUrl('localhost', moderatorPort)]);
    const feed = config.feeds[0]?.name as string;
    viewer = await connectStomp(config.broker.urls[0] as string);
    const received = collect(viewer, brokerProfile(profileName).stompDestination(feed));
    const [message] = await received.waitFor(1, 30_000);
    const parsed = parseFeedItem(message?.binaryBody as Uint8Array, new ImageAllowList(config.imageHosts));
    expect(parsed).toMatchObject({ ok: true, item: { feed, network: 'x' } });
    await viewer.deactivate();

    // What scripts/start runs itself: the web server and the worker.
    const demo = (await groupMembers(pgid)).filter(({ command }) => /^node (web\/dist-server\/server\.js|worker\/dist\/cli\.js run)/.test(command));
    expect(demo.map(({ command }) => command.split(' ')[1]).sort()).toEqual(['web/dist-server/server.js', 'worker/dist/cli.js']);
    // Each process has its own credential only: the worker the publisher's, the web server none (the page is the guest).
    for (const { pid, command } of demo) {
      const variables = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').map((entry) => entry.split('=')[0]);
      const secrets = variables.filter((name) => /^LIVEWALL_\w*PASSWORD$/.test(name ?? ''));
      expect(secrets, command).toEqual(command.includes('worker') ? ['LIVEWALL_PUBLISHER_PASSWORD'] : []);
    }
    // This machine only, by default: nothing listens on another address of it.
    const elsewhere = Object.values(networkInterfaces()).flat().find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
    if (elsewhere) {
      for (const port of [ports.web, ports.stomp]) expect(await listening(port, elsewhere), `${elsewhere}:${port}`).toBe(false);
    }

    process.kill(-pgid, 'SIGINT');
    expect(await exited, output).toBe(130);
    expect(output).toContain('stopping the worker and the web server');
    // The worker and the web server are gone; the worker stopped as it does on a signal.
    const alive = new Set((await groupMembers(pgid)).map(({ pid }) => pid));
    expect(demo.filter(({ pid }) => alive.has(pid))).toEqual([]);
    expect(await listening(ports.web)).toBe(false);
    expect(await listening(ports.ops)).toBe(false);
    expect(JSON.parse((await readFile(join(logs, 'worker.log'), 'utf8')).trim().split('\n').at(-1) as string)).toMatchObject({ msg: 'stopped' });

    // The broker keeps running, as documented, until it is stopped; then nothing of the demo is left.
    await broker('status');
    if (profileName === 'artemis') {
      // Its log has no warning or error that the runbook does not explain (docs/operations.md, "The public endpoint").
      const brokerLog = await readFile(join(root, '.run', env.LIVEWALL_BROKER_NAME as string, 'log', 'artemis.log'), 'utf8');
      const unexplained = brokerLog.split('\n').filter((line) => / (WARN|ERROR) /.test(line)).filter((line) => !EXPLAINED_BROKER_LINES.some((pattern) => pattern.test(line)));
      expect(unexplained).toEqual([]);
    }
    await broker('stop');
    // The node's launcher exits just after the node.
    await expect.poll(() => groupMembers(pgid), { timeout: 10_000 }).toEqual([]);
    for (const port of ports.all) expect(await listening(port), `port ${port}`).toBe(false);
  });
});

test('a broker on one address and a web server on every interface: pages are sent to that address; scripts/start names the part that died and shows the end of its log, exit 1', { timeout: 240_000 }, async () => {
  const logs = await mkdtemp(join(tmpdir(), 'livewall-start-dies-'));
  const { env, ports } = await demoEnvironment('artemis', logs);
  // The machine's address on its network (the loopback when it has none): the broker listens there only, so a page
  // must be sent there, not to localhost.
  const address = Object.values(networkInterfaces()).flat().find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address ?? '127.0.0.1';
  const name = address === '127.0.0.1' ? 'localhost' : address;
  Object.assign(env, { LIVEWALL_WEB_HOST: '0.0.0.0', LIVEWALL_BROKER_HOST: address });
  const child = spawn(join(root, 'scripts/start'), [], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await expect.poll(() => output, { timeout: 180_000, interval: 500 }).toContain(`livewall is running: open http://localhost:${ports.web}/`);
    const config = (await (await fetch(`http://127.0.0.1:${ports.web}/config.json`)).json()) as { broker: { urls: string[] } };
    expect(config.broker.urls).toEqual([`ws://${name}:${ports.stomp}`]);
    expect(await listening(ports.stomp, address)).toBe(true);
    const worker = (await groupMembers(child.pid as number)).find(({ command }) => command.startsWith('node worker/dist/cli.js run'));
    expect(worker).toBeDefined();
    process.kill(worker!.pid, 'SIGKILL');
    expect(await exited).toBe(1);
    expect(output).toContain(`start: the worker ended by itself; the end of ${logs}/worker.log:`);
    expect(output).toMatch(/"msg":"(starting|connected to broker|progress|route [^"]+)"/);
    // The worker reached the broker on that address too.
    expect(output).not.toContain('nothing accepts connections');
  } finally {
    if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
    await run(join(root, 'scripts/broker'), ['stop'], { env, cwd: root }).catch(() => undefined);
    await rm(join(root, '.run', env.LIVEWALL_BROKER_NAME as string), { recursive: true, force: true });
    await rm(logs, { recursive: true, force: true });
  }
});

test('a web server on one other address without an https origin is refused before anything starts, exit 2', { timeout: 120_000 }, async () => {
  const logs = await mkdtemp(join(tmpdir(), 'livewall-start-refused-'));
  const { env } = await demoEnvironment('artemis', logs);
  try {
    const outcome = await run(join(root, 'scripts/start'), [], { cwd: root, env: { ...env, LIVEWALL_WEB_HOST: '192.0.2.10' } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("start: LIVEWALL_WEB_HOST=192.0.2.10: the demo's pictures are served over http, which the page takes only from localhost");
    // Nothing was started: no broker instance of that name.
    await expect(stat(join(root, '.run', env.LIVEWALL_BROKER_NAME as string))).rejects.toThrow();
  } finally {
    await rm(logs, { recursive: true, force: true });
  }
});
