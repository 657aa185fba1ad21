import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@stomp/stompjs';
import rhea, { type Connection, type Delivery, type EventContext, type Sender } from 'rhea';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { declareTopic } from './amqp.js';
import { freePort } from './ports.js';

/**
 * The high-availability pair (activemq/ha/, run by scripts/broker-ha) with a client of each kind livewall has: a
 * STOMP-over-WebSocket subscriber that tries the brokers' URLs in turn, as the page does, and an AMQP publisher that
 * rotates through them, as the worker does. Kill the primary with SIGKILL and both carry on with the backup; start
 * the primary again and it takes over once it has copied the backup's data back.
 *
 * A pair of its own (name and ports), never the demo's or the other tests' broker.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const name = `test-ha-${process.pid}`;
const roles = ['primary', 'backup'] as const;
type Role = (typeof roles)[number];
const kinds = ['amqp', 'stomp', 'stomp_tcp', 'core', 'cluster'] as const;
type Ports = Record<Role, Record<(typeof kinds)[number], number>>;

let ports: Ports;
let env: NodeJS.ProcessEnv;
let publisherPassword: string;
const cleanups: (() => Promise<void> | void)[] = [];

/** Runs scripts/broker-ha; resolves with what it said (it talks on stderr) and printed. */
async function pair(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(`${root}/scripts/broker-ha`, args, { env, cwd: root });
  return stderr + stdout;
}

beforeAll(async () => {
  ports = { primary: { amqp: 0, stomp: 0, stomp_tcp: 0, core: 0, cluster: 0 }, backup: { amqp: 0, stomp: 0, stomp_tcp: 0, core: 0, cluster: 0 } };
  env = {
    ...process.env,
    LIVEWALL_HA_NAME: name,
    LIVEWALL_BROKER_HOST: '127.0.0.1',
    // The pair makes its own passwords: a demo's must not leak into it.
    LIVEWALL_ADMIN_PASSWORD: '',
    LIVEWALL_PUBLISHER_PASSWORD: '',
    LIVEWALL_VIEWER_PASSWORD: '',
    LIVEWALL_MODERATOR_PASSWORD: '',
    LIVEWALL_CLUSTER_PASSWORD: '',
  };
  for (const role of roles) {
    for (const kind of kinds) {
      ports[role][kind] = await freePort();
      env[`LIVEWALL_HA_${role.toUpperCase()}_${kind.toUpperCase()}_PORT`] = String(ports[role][kind]);
    }
  }
  await pair('start');
  const password = /^LIVEWALL_PUBLISHER_PASSWORD='(.*)'$/m.exec(await pair('env'))?.[1];
  if (!password) throw new Error('scripts/broker-ha env did not print LIVEWALL_PUBLISHER_PASSWORD');
  publisherPassword = password.replaceAll(`'\\''`, `'`);
}, 150_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await pair('stop');
  await rm(`${root}/.run/${name}`, { recursive: true, force: true });
}, 60_000);

/** Resolves once `check()` holds, polling; rejects after `timeoutMs` with `what`. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A page: anonymous, tries the brokers' URLs in turn, subscribes again on every connection, keeps every body. */
function pageSubscriber(urls: string[], destination: string): { connections: string[]; subscribed: string[]; bodies: string[] } {
  const connections: string[] = [];
  const subscribed: string[] = [];
  const bodies: string[] = [];
  let attempt = -1;
  const url = (): string => urls[attempt % urls.length] as string;
  const client = new Client({
    webSocketFactory: () => new WebSocket(url(), ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    beforeConnect: () => {
      attempt += 1;
    },
    reconnectDelay: 200,
    // Heart-beats, as the page has: a connection to a broker that stepped down without closing it is noticed.
    heartbeatIncoming: 1000,
    heartbeatOutgoing: 1000,
    onConnect: () => {
      const connectedTo = url();
      connections.push(connectedTo);
      const receipt = randomUUID();
      client.watchForReceipt(receipt, () => subscribed.push(connectedTo));
      client.subscribe(destination, (message) => bodies.push(message.body), { receipt });
    },
  });
  client.activate();
  cleanups.push(() => client.deactivate());
  return { connections, subscribed, bodies };
}

/** The worker's way with a pair: one AMQP connection that rotates through the brokers' ports until one accepts. */
class RotatingPublisher {
  /** The port of each connection that opened, in order. */
  readonly connections: number[] = [];
  private readonly connection: Connection;
  private sender: Sender | undefined;
  private trying = 0;
  private readonly outcomes = new Map<Delivery, (outcome: string) => void>();

  constructor(candidates: number[], private readonly address: string) {
    let attempt = 0;
    this.connection = rhea.create_container({ id: `ha-test-${randomUUID()}` }).connect({
      // connection_details below picks host and port for every attempt; these only satisfy the options' type.
      host: '127.0.0.1',
      port: candidates[0] as number,
      username: 'publisher',
      password: publisherPassword,
      reconnect: true,
      initial_reconnect_delay: 100,
      max_reconnect_delay: 500,
      all_errors_non_fatal: true,
      connection_details: () => {
        this.trying = candidates[attempt++ % candidates.length] as number;
        return { host: '127.0.0.1', port: this.trying };
      },
    });
    this.connection.on('connection_open', () => {
      this.connections.push(this.trying);
      this.sender = this.connection.open_sender({ target: { address: this.address } });
    });
    this.connection.on('disconnected', () => {
      this.sender = undefined;
      this.outcomes.clear();
    });
    for (const outcome of ['accepted', 'released', 'rejected', 'modified']) {
      this.connection.on(outcome, (context: EventContext) => {
        if (!context.delivery) return;
        this.outcomes.get(context.delivery)?.(outcome);
        this.outcomes.delete(context.delivery);
      });
    }
    cleanups.push(() => {
      this.connection.close();
    });
  }

  /**
   * Sends once a sender on an open connection has credit, and again after a reconnect if the connection was lost
   * before the broker answered (as the worker resends what was unsettled); resolves with the outcome and the port.
   */
  async publish(id: string): Promise<{ outcome: string; port: number }> {
    for (;;) {
      await until(`a sender with credit for ${id}`, () => this.sender?.sendable() === true);
      const sender = this.sender as Sender;
      const port = this.connections.at(-1) as number;
      const body = rhea.message.data_section(Buffer.from(JSON.stringify({ id })));
      const outcome = await new Promise<string | undefined>((resolve) => {
        const lost = (): void => resolve(undefined);
        this.connection.once('disconnected', lost);
        const delivery = sender.send({ message_id: id, content_type: 'application/json', durable: true, body });
        this.outcomes.set(delivery, (answer) => {
          this.connection.removeListener('disconnected', lost);
          resolve(answer);
        });
      });
      if (outcome !== undefined) return { outcome, port };
    }
  }
}

const ids = (bodies: string[]): string[] => bodies.map((body) => (JSON.parse(body) as { id: string }).id);

describe('the high-availability pair', () => {
  const topic = `/topic/feed.ha-${randomUUID().slice(0, 8)}`;
  let page: ReturnType<typeof pageSubscriber>;
  let worker: RotatingPublisher;
  let wsUrls: string[];

  test('a page and a worker connected to the primary carry on with the backup when the primary is killed', async () => {
    expect(await pair('status')).toMatch(/primary: active .*\n.*backup: passive, synchronized/);
    wsUrls = roles.map((role) => `ws://127.0.0.1:${ports[role].stomp}`);
    // The feed exists once its publisher attached, as a worker does when it starts: a page may not make it.
    await declareTopic({ host: '127.0.0.1', port: ports.primary.amqp, username: 'publisher', password: publisherPassword }, topic);
    page = pageSubscriber(wsUrls, topic);
    await until('the page subscribed on the primary', () => page.subscribed.length === 1);
    worker = new RotatingPublisher([ports.primary.amqp, ports.backup.amqp], topic);

    expect(await worker.publish('before')).toEqual({ outcome: 'accepted', port: ports.primary.amqp });
    await until('the page got "before"', () => page.bodies.length === 1);

    expect(await pair('kill', 'primary')).toMatch(/killing the primary/);
    // The worker reconnects to whichever broker accepts: the backup, once it has activated.
    expect(await worker.publish('after')).toEqual({ outcome: 'accepted', port: ports.backup.amqp });
    await until('the page got "after" from the backup', () => ids(page.bodies).includes('after'));

    expect(page.connections).toEqual([wsUrls[0], wsUrls[1]]);
    // The backup has the primary's data: its history of the feed hands "before" again to the page's new
    // subscription (the page de-duplicates by id), then "after". Nothing is missing, nothing out of order.
    expect(ids(page.bodies)).toEqual(['before', 'before', 'after']);
    expect(await pair('status')).toMatch(/primary: stopped\n.*backup: active/);
  });

  test('the primary, started again, copies the data back from the backup and takes over; the clients follow', { timeout: 150_000 }, async () => {
    expect(await pair('start', 'primary')).toMatch(/the backup is active: the primary copies its data back, then takes over[\s\S]*the primary is active/);
    expect(await worker.publish('back')).toEqual({ outcome: 'accepted', port: ports.primary.amqp });
    // The backup steps down only after the primary is active; on a loaded machine that takes a while.
    await until('the page got "back" from the primary', () => ids(page.bodies).includes('back'), 60_000);
    expect(page.connections).toEqual([wsUrls[0], wsUrls[1], wsUrls[0]]);
    expect(ids(page.bodies).filter((id) => id !== 'before' && id !== 'after')).toEqual(['back']);
    // The backup stepped down and started again as the primary's passive replica.
    await expect.poll(() => pair('status'), { timeout: 20_000, interval: 500 }).toMatch(/primary: active .*\n.*backup: passive, synchronized/);
  });
});
