import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BACKFILL_ITEMS } from '@livewall/contract';
import { managementClient } from '../scripts/artemis-management.mjs';
import { sendOnce } from './amqp.js';
import { PrivateBroker } from './private-broker.js';
import { frame, rawWebSocket } from './raw-stomp.js';
import { collect, connectStomp } from './stomp.js';

/**
 * `scripts/broker repair` on a broker in the state an older configuration let guests leave it in: a feed with an
 * anycast routing type added (and its queue), and addresses nobody publishes to, one of them a wildcard's name.
 * The admin makes that state here on the operators' acceptor, which is what a guest could do on the public one.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
let broker: PrivateBroker;
const env = (): NodeJS.ProcessEnv => broker.environment;

async function repair(...args: string[]): Promise<string> {
  const { stderr } = await run(`${root}/scripts/broker`, ['repair', ...args], { env: env(), cwd: root });
  return stderr;
}

async function look<T>(resource: string, request: { op?: string; attribute?: string }): Promise<T> {
  const management = managementClient({ host: broker.info.host, port: broker.info.amqpPort, password: broker.info.passwords.admin });
  try {
    return (await management.call(resource, request)) as T;
  } finally {
    management.close();
  }
}

const feedAddresses = async (): Promise<string[]> => (await look<string[]>('broker', { op: 'getAddressNames' })).filter((name) => name.startsWith('feed.')).sort();

beforeAll(async () => {
  broker = await PrivateBroker.start(`test-repair-${process.pid}`);
  const publisher = { host: broker.info.host, port: broker.info.amqpPort, username: 'publisher', password: broker.info.passwords.publisher };
  for (let n = 0; n < 30; n++) expect(await sendOnce(publisher, '/topic/feed.kept', `{"n":${n}}`)).toEqual({ result: 'accepted' });
  const admin = { login: 'admin', passcode: broker.info.passwords.admin };
  const poison = [
    frame('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...admin }),
    frame('SEND', { destination: '/queue/feed.kept', receipt: 'anycast' }, '{"spoof":true}'),
    ...Array.from({ length: 30 }, (_, n) => frame('SUBSCRIBE', { id: String(n), destination: `/topic/feed.junk-${n}` })),
    frame('SUBSCRIBE', { id: 'wild', destination: '/topic/feed.#', receipt: 'done' }),
  ];
  const outcome = await rawWebSocket(broker.info.operatorWsUrl, poison, { waitMs: 1500 });
  expect(outcome.frames.filter((received) => received.startsWith('RECEIPT'))).toHaveLength(2);
}, 120_000);

afterAll(async () => {
  await broker?.remove();
});

test('the poisoned state is what the repair is for: an anycast feed, thirty-one addresses nobody publishes to', async () => {
  expect(await look('address.feed.kept', { attribute: 'RoutingTypes' })).toEqual(['MULTICAST', 'ANYCAST']);
  expect(await feedAddresses()).toHaveLength(32);
});

test('--dry-run says what it would do and changes nothing', async () => {
  const said = await repair('--dry-run', '--keep', 'kept');
  expect(said).toContain('would make feed.kept multicast only (it is MULTICAST, ANYCAST)');
  expect(said).toContain('would delete feed.#: not a feed or status name');
  expect(said).toContain('would change: 31 address(es) to delete, 1 made multicast only, 1 feed(s) kept (feed.kept)');
  expect(await feedAddresses()).toHaveLength(32);
});

test('repair makes the feed multicast only, deletes the rest, keeps its history, and a second run finds nothing', async () => {
  expect(await repair('--keep', 'kept')).toContain('done: 31 address(es) deleted, 1 made multicast only, 1 feed(s) kept (feed.kept)');
  expect(await feedAddresses()).toEqual(['feed.kept']);
  expect(await look('address.feed.kept', { attribute: 'RoutingTypes' })).toEqual(['MULTICAST']);
  expect(await repair()).toContain('done: 0 address(es) deleted, 0 made multicast only, 1 feed(s) kept (feed.kept)');

  const page = await connectStomp(broker.info.wsUrl);
  try {
    const received = collect(page, '/topic/feed.kept');
    await received.ready;
    const backfill = await received.waitFor(BACKFILL_ITEMS);
    expect(backfill.map((message) => message.body)).toEqual(Array.from({ length: BACKFILL_ITEMS }, (_, n) => `{"n":${30 - BACKFILL_ITEMS + n}}`));
  } finally {
    await page.deactivate();
  }
  // And a deleted name is not there for a guest to subscribe to.
  const guest = await rawWebSocket(broker.info.wsUrl, [frame('CONNECT', { 'accept-version': '1.2', host: 'localhost' }), frame('SUBSCRIBE', { id: '1', destination: '/topic/feed.junk-1' })]);
  expect(guest.frames.at(-1)).toContain('livewall: no such destination: feed.junk-1');
});

test('after a restart the repaired broker stays repaired', async () => {
  await broker.stop();
  await broker.restart();
  expect(await feedAddresses()).toEqual(['feed.kept']);
  expect(await look('address.feed.kept', { attribute: 'RoutingTypes' })).toEqual(['MULTICAST']);
}, 120_000);
