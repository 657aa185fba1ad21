import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import type { TestBroker } from './broker.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
// An instance and ports of this run's own: a running demo, or another test run, is never disturbed.
const name = `test-broker-${process.pid}`;

const env: NodeJS.ProcessEnv = {
  ...process.env,
  LIVEWALL_BROKER_NAME: name,
  LIVEWALL_BROKER_HOST: '127.0.0.1',
  // The test instance makes its own passwords: a demo's LIVEWALL_*_PASSWORD must not leak into it.
  LIVEWALL_ADMIN_PASSWORD: '',
  LIVEWALL_PUBLISHER_PASSWORD: '',
  LIVEWALL_VIEWER_PASSWORD: '',
  LIVEWALL_MODERATOR_PASSWORD: '',
  LIVEWALL_EDGE_PASSWORD: '',
};

async function broker(command: string): Promise<string> {
  const { stdout } = await run(`${root}/scripts/broker`, [command], { env, cwd: root });
  return stdout;
}

function passwordsFrom(shell: string): TestBroker['passwords'] {
  const value = (key: string): string => {
    const match = new RegExp(`^${key}='(.*)'$`, 'm').exec(shell);
    if (!match?.[1]) throw new Error(`scripts/broker env did not print ${key}`);
    return match[1].replaceAll(`'\\''`, `'`);
  };
  return {
    admin: value('LIVEWALL_ADMIN_PASSWORD'),
    publisher: value('LIVEWALL_PUBLISHER_PASSWORD'),
    viewer: value('LIVEWALL_VIEWER_PASSWORD'),
    moderator: value('LIVEWALL_MODERATOR_PASSWORD'),
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  env.LIVEWALL_AMQP_PORT = String(await freePort());
  env.LIVEWALL_STOMP_PORT = String(await freePort());
  env.LIVEWALL_CORE_PORT = String(await freePort());
  env.LIVEWALL_STOMP_TCP_PORT = String(await freePort());
  await broker('start');
  const stompPort = Number(env.LIVEWALL_STOMP_PORT);
  project.provide('broker', {
    host: '127.0.0.1',
    amqpPort: Number(env.LIVEWALL_AMQP_PORT),
    stompPort,
    wsUrl: `ws://127.0.0.1:${stompPort}`,
    stompTcpPort: Number(env.LIVEWALL_STOMP_TCP_PORT),
    operatorWsUrl: `ws://127.0.0.1:${env.LIVEWALL_STOMP_TCP_PORT}`,
    passwords: passwordsFrom(await broker('env')),
  });
  return async () => {
    await broker('stop');
    await rm(`${root}/.run/${name}`, { recursive: true, force: true });
  };
}
