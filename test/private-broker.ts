import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestBroker } from './broker.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * An Artemis instance of one test's own (scripts/broker, its own name and ports), for tests that kill or restart a
 * broker: the shared test broker must stay up for the others.
 */
export class PrivateBroker {
  private constructor(
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly info: TestBroker,
  ) {}

  /** `passwords`: the users' passwords (another broker's, for a failover pair); generated when not given. */
  static async start(name: string, passwords: Partial<TestBroker['passwords']> = {}): Promise<PrivateBroker> {
    const [amqp, stomp, core] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LIVEWALL_BROKER_NAME: name,
      LIVEWALL_BROKER_HOST: '127.0.0.1',
      LIVEWALL_ADMIN_PASSWORD: passwords.admin ?? '',
      LIVEWALL_PUBLISHER_PASSWORD: passwords.publisher ?? '',
      LIVEWALL_VIEWER_PASSWORD: passwords.viewer ?? '',
      LIVEWALL_AMQP_PORT: String(amqp),
      LIVEWALL_STOMP_PORT: String(stomp),
      LIVEWALL_CORE_PORT: String(core),
    };
    await run(`${root}/scripts/broker`, ['start'], { env, cwd: root });
    const { stdout } = await run(`${root}/scripts/broker`, ['env'], { env, cwd: root });
    const value = (key: string): string => (new RegExp(`^${key}='(.*)'$`, 'm').exec(stdout)?.[1] ?? '').replaceAll(`'\\''`, `'`);
    const info: TestBroker = {
      host: '127.0.0.1',
      amqpPort: amqp,
      stompPort: stomp,
      wsUrl: `ws://127.0.0.1:${stomp}`,
      passwords: { admin: value('LIVEWALL_ADMIN_PASSWORD'), publisher: value('LIVEWALL_PUBLISHER_PASSWORD'), viewer: value('LIVEWALL_VIEWER_PASSWORD') },
    };
    return new PrivateBroker(name, env, info);
  }

  private get instance(): string {
    return `${root}/.run/${this.name}`;
  }

  /** `kill -9` of the broker's JVM: no shutdown, no goodbye to clients. */
  async kill9(): Promise<void> {
    const pid = Number((await readFile(`${this.instance}/livewall.pid`, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Starts it again on the same ports, with its journal: durable queues and their messages are back. */
  async restart(): Promise<void> {
    await run(`${root}/scripts/broker`, ['start'], { env: this.env, cwd: root });
  }

  async remove(): Promise<void> {
    await run(`${root}/scripts/broker`, ['stop'], { env: this.env, cwd: root }).catch(() => undefined);
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
