import { execFile } from 'node:child_process';
import { cp, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brokerProfile, type BrokerProfileName } from '@livewall/contract';
import { declareFeed, type TestBroker } from './broker.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

export interface PrivateBrokerOptions {
  /** Which kind of broker (scripts/broker --broker); default artemis. */
  profile?: BrokerProfileName;
  /** Feeds the broker declares when it starts (RabbitMQ: their recent-history exchanges); more with declareFeeds. */
  feeds?: string[];
}

/**
 * A broker of one test's own (scripts/broker, its own name and ports), for tests that kill or restart a broker,
 * or that need a broker of another kind: the shared Artemis test broker must stay up for the others.
 */
export class PrivateBroker {
  private constructor(
    readonly name: string,
    readonly profile: BrokerProfileName,
    private readonly env: NodeJS.ProcessEnv,
    readonly info: TestBroker,
  ) {}

  /** `passwords`: the users' passwords (another broker's, for a failover pair); generated when not given. */
  static async start(name: string, passwords: Partial<TestBroker['passwords']> = {}, options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
    const profile = options.profile ?? 'artemis';
    const [amqp, stomp, core, stompTcp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LIVEWALL_BROKER_NAME: name,
      LIVEWALL_BROKER_HOST: '127.0.0.1',
      LIVEWALL_ADMIN_PASSWORD: passwords.admin ?? '',
      LIVEWALL_PUBLISHER_PASSWORD: passwords.publisher ?? '',
      LIVEWALL_VIEWER_PASSWORD: passwords.viewer ?? '',
      LIVEWALL_MODERATOR_PASSWORD: passwords.moderator ?? '',
      LIVEWALL_AMQP_PORT: String(amqp),
      LIVEWALL_STOMP_PORT: String(stomp),
      LIVEWALL_CORE_PORT: String(core),
      LIVEWALL_STOMP_TCP_PORT: String(stompTcp),
      LIVEWALL_FEEDS: (options.feeds ?? []).join(','),
    };
    if (profile === 'rabbitmq') {
      // Every port of a RabbitMQ node, the Erlang ones included: nothing shared with a system node or another run.
      env.LIVEWALL_MANAGEMENT_PORT = String(await freePort());
      env.LIVEWALL_DIST_PORT = String(await freePort());
      env.LIVEWALL_EPMD_PORT = String(await freePort());
    }
    const broker = new PrivateBroker(name, profile, env, {
      host: '127.0.0.1',
      amqpPort: amqp,
      stompPort: stomp,
      wsUrl: brokerProfile(profile).webSocketUrl('127.0.0.1', stomp),
      stompTcpPort: stompTcp,
      // RabbitMQ has no operators' WebSocket listener of its own: its one Web-STOMP listener takes every login.
      operatorWsUrl: profile === 'rabbitmq' ? brokerProfile(profile).webSocketUrl('127.0.0.1', stomp) : `ws://127.0.0.1:${stompTcp}`,
      passwords: { admin: '', publisher: '', viewer: '', moderator: '' },
    });
    await broker.script('start');
    const { stdout } = await broker.script('env');
    const value = (key: string): string => (new RegExp(`^${key}='(.*)'$`, 'm').exec(stdout)?.[1] ?? '').replaceAll(`'\\''`, `'`);
    broker.info.passwords = {
      admin: value('LIVEWALL_ADMIN_PASSWORD'),
      publisher: value('LIVEWALL_PUBLISHER_PASSWORD'),
      viewer: value('LIVEWALL_VIEWER_PASSWORD'),
      moderator: value('LIVEWALL_MODERATOR_PASSWORD'),
    };
    // RabbitMQ declared them as it started (LIVEWALL_FEEDS); Artemis's feeds appear with their publisher.
    if (profile === 'artemis' && options.feeds?.length) await broker.declareFeeds(...options.feeds);
    return broker;
  }

  /** Plain STOMP over TCP (`livewall-worker tap`): a RabbitMQ node's own listener, Artemis's operators' acceptor. */
  get stompTcpPort(): number {
    return this.info.stompTcpPort;
  }

  private script(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(`${root}/scripts/broker`, ['--broker', this.profile, ...args], { env: this.env, cwd: root });
  }

  private get instance(): string {
    return `${root}/.run/${this.name}`;
  }

  /**
   * Makes feeds usable before any worker published to them: RabbitMQ declares each one's recent-history exchange;
   * on Artemis the publisher's sender attaches to each feed's topic, as a worker's does when it starts.
   */
  async declareFeeds(...feeds: string[]): Promise<void> {
    if (this.profile === 'rabbitmq') {
      await this.script('declare', ...feeds);
      return;
    }
    for (const feed of feeds) await declareFeed(feed, this.info);
  }

  /** The environment its scripts/broker commands run with (its name and ports): for running others, as `repair`. */
  get environment(): NodeJS.ProcessEnv {
    return { ...this.env };
  }

  /** The broker's process id. */
  async pid(): Promise<number> {
    return Number((await readFile(`${this.instance}/livewall.pid`, 'utf8')).trim());
  }

  /** What the broker has logged so far (Artemis: the instance's log/artemis.log). */
  async log(): Promise<string> {
    return readFile(`${this.instance}/log/artemis.log`, 'utf8').catch(() => '');
  }

  /** A clean stop, as an operator's scripts/broker stop. */
  async stop(): Promise<void> {
    await this.script('stop');
  }

  /** `kill -9` of the broker's process: no shutdown, no goodbye to clients. */
  async kill9(): Promise<void> {
    const pid = await this.pid();
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Starts it again on the same ports, with its data: durable queues and their messages are back. */
  async restart(): Promise<void> {
    await this.script('start');
  }

  /**
   * Stops it and deletes its data. Its log stays in .run/logs/brokers/<name>/ (the last run's), so that a failure seen in a
   * full run — a connection the broker closed, an alarm — can be read afterwards.
   */
  async remove(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    const kept = `${root}/.run/logs/brokers/${this.name}`;
    await rm(kept, { recursive: true, force: true });
    await cp(`${this.instance}/log`, kept, { recursive: true }).catch(() => undefined);
    await rm(this.instance, { recursive: true, force: true });
    await rm(`${this.instance}.create.log`, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
