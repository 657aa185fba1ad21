import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, expect, test } from 'vitest';
import { testBroker } from '../../../test/broker.js';
import { LeaseChannel } from './channel.js';
import type { LeaseMessage } from './messages.js';

/** The lease channel against the real broker: what a worker hears on a feed's lease address, and when. */
const broker = testBroker();
const log = pino({ level: 'silent' });
const channels: LeaseChannel[] = [];
afterEach(async () => {
  await Promise.all(channels.splice(0).map((channel) => channel.close()));
});

function channel(username: 'publisher' | 'viewer'): LeaseChannel {
  const opened = new LeaseChannel({ urls: [`amqp://${broker.host}:${broker.amqpPort}`], profile: 'artemis', username, password: broker.passwords[username], containerId: `lease-test-${randomUUID().slice(0, 6)}` }, log);
  channels.push(opened);
  return opened;
}

/** What a channel hears on `feed`, in order, `synced` included. */
function listen(lease: LeaseChannel, feed: string): string[] {
  const heard: string[] = [];
  lease.on('message', (message) => heard.push(`${message.kind}:${message.epoch}`));
  lease.on('synced', (synced) => synced === feed && heard.push('synced'));
  lease.watch(feed);
  lease.start();
  return heard;
}

const renew = (feed: string, epoch: number): LeaseMessage => ({ v: 1, kind: 'renew', feed, epoch, owner: { id: 'test:1:aaaaaa', host: 'test', pid: 1 }, leaseMs: 5000, at: new Date().toISOString() });

test('a worker hears the address live once synced, and a worker that subscribes later first hears its last messages', async () => {
  const feed = `lease-${randomUUID().slice(0, 8)}`;
  const first = channel('publisher');
  const heard = listen(first, feed);
  await expect.poll(() => heard).toEqual(['synced']);
  expect(first.send(renew(feed, 1))).toBe(true);
  expect(first.send(renew(feed, 2))).toBe(true);
  await expect.poll(() => heard).toEqual(['synced', 'renew:1', 'renew:2']);

  const later = listen(channel('publisher'), feed);
  // The replayed messages come before the hello that marks the worker synced.
  await expect.poll(() => later).toEqual(['renew:1', 'renew:2', 'synced']);
});

test('the broker refuses the lease address to a viewer: the channel says so instead of retrying, and what the broker lacks', async () => {
  const feed = `lease-${randomUUID().slice(0, 8)}`;
  const viewer = channel('viewer');
  const refused: string[] = [];
  viewer.on('refused', (which, reason, remedy) => refused.push(`${which}: ${reason} | ${remedy}`));
  listen(viewer, feed);
  await expect.poll(() => refused).toEqual([expect.stringMatching(new RegExp(`^${feed}: .*does not have permission.* \\| give the publisher role .*\\(activemq/broker\\.xml\\)$`))]);
});
