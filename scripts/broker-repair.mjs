#!/usr/bin/env node
// Cleans a running Artemis broker of what anonymous clients could make under livewall's older configuration, in
// which viewers could create feed and status addresses and change their routing type (scripts/broker repair runs it).
// It speaks Artemis's management API over AMQP as admin, so it works on a broker with thousands of addresses.
//
//   broker-repair.mjs [--keep FEED,...] [--dry-run]
//
// For each address named feed.* or status.*:
//   - a name that is not a feed's or status topic's (wildcards, capitals, over 32 characters): deleted;
//   - a routing type besides multicast (a refused SEND /queue/feed.X added anycast, after which no page could
//     subscribe, even after a restart): its anycast queues are removed and the address is multicast only again;
//   - a feed that is not kept and has no recent items (nothing was ever published to it: a guest's SUBSCRIBE made
//     it): deleted, with its history resources.
// Kept: the feeds named by --keep, else by LIVEWALL_FEEDS (`name` or `name:Title`, comma-separated); with neither,
// every feed that holds recent items. A kept feed is never deleted. Workers re-create their feeds when they start.
//
// Settings (environment): LIVEWALL_REPAIR_HOST (default 127.0.0.1), LIVEWALL_AMQP_PORT (5672),
// LIVEWALL_ADMIN_PASSWORD (required). Exit 0 when the broker is clean (or would be, with --dry-run), 1 on an error.
import { managementClient } from './artemis-management.mjs';

const NAME = /^(feed|status)\.[a-z0-9-]{1,32}$/;
const say = (message) => process.stderr.write(`broker repair: ${message}\n`);

function usage(message) {
  say(message);
  say('usage: scripts/broker repair [--keep FEED,...] [--dry-run]');
  process.exit(2);
}

const args = process.argv.slice(2);
let dryRun = false;
let keepList;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dry-run') dryRun = true;
  else if (args[i] === '--keep') keepList = args[++i] ?? usage('--keep needs a comma-separated list of feeds');
  else if (args[i].startsWith('--keep=')) keepList = args[i].slice('--keep='.length);
  else usage(`unknown argument ${args[i]}`);
}
keepList ??= process.env.LIVEWALL_FEEDS || undefined;
const keep = keepList === undefined ? undefined : new Set(keepList.split(',').map((entry) => entry.split(':')[0].trim()).filter(Boolean).map((feed) => `feed.${feed}`));
const password = process.env.LIVEWALL_ADMIN_PASSWORD;
if (!password) usage('LIVEWALL_ADMIN_PASSWORD is not set (scripts/broker repair takes it from the instance)');

const host = process.env.LIVEWALL_REPAIR_HOST ?? '127.0.0.1';
const port = Number(process.env.LIVEWALL_AMQP_PORT || 5672);
const broker = managementClient({ host, port, password });
try {
  await broker.ready;
  const addresses = await broker.call('broker', { op: 'getAddressNames' });
  const queues = new Set(await broker.call('broker', { op: 'getQueueNames' }));
  const plan = { deleted: [], multicastAgain: [], kept: [] };
  for (const address of addresses.filter((name) => /^(feed|status)\./.test(name)).sort()) {
    if (!NAME.test(address)) {
      plan.deleted.push({ address, why: 'not a feed or status name' });
      continue;
    }
    const routingTypes = await broker.call(`address.${address}`, { attribute: 'RoutingTypes' });
    if (routingTypes.some((type) => type !== 'MULTICAST')) plan.multicastAgain.push({ address, routingTypes });
    if (!address.startsWith('feed.')) continue;
    // Recent items live in the address's retroactive queue: a feed that was ever published to has some.
    const history = `$.artemis.internal.${address}.queue.multicast.retro`;
    const recent = queues.has(history) ? await broker.call(`queue.${history}`, { attribute: 'MessageCount' }) : 0;
    const kept = keep ? keep.has(address) : recent > 0;
    if (kept) plan.kept.push(address);
    else if (recent === 0) plan.deleted.push({ address, why: keep ? 'not a kept feed, and nothing was ever published to it' : 'nothing was ever published to it' });
    else say(`leaving ${address}: not in the kept feeds, but it holds ${recent} recent items (name it in --keep, or delete it with bin/artemis address delete)`);
  }
  const deleting = new Set(plan.deleted.map(({ address }) => address));
  plan.multicastAgain = plan.multicastAgain.filter(({ address }) => !deleting.has(address));

  for (const { address, routingTypes } of plan.multicastAgain) {
    say(`${dryRun ? 'would make' : 'making'} ${address} multicast only (it is ${routingTypes.join(', ')})`);
    if (dryRun) continue;
    for (const queue of await broker.call(`address.${address}`, { attribute: 'QueueNames' })) {
      if ((await broker.call(`queue.${queue}`, { attribute: 'RoutingType' })) === 'ANYCAST') await broker.call('broker', { op: 'destroyQueue', args: [queue, true] });
    }
    await broker.call('broker', { op: 'updateAddress', args: [address, 'MULTICAST'] });
  }
  const shown = plan.deleted.slice(0, 20);
  for (const { address, why } of shown) say(`${dryRun ? 'would delete' : 'deleting'} ${address.length > 80 ? `${address.slice(0, 80)}…` : address}: ${why}`);
  if (plan.deleted.length > shown.length) say(`… and ${plan.deleted.length - shown.length} more`);
  if (!dryRun) {
    // A few requests in flight at a time: thousands of addresses take seconds, not minutes.
    const work = [...plan.deleted];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let item = work.shift(); item; item = work.shift()) await broker.call('broker', { op: 'deleteAddress', args: [item.address, true] });
      }),
    );
  }
  say(
    `${dryRun ? 'would change' : 'done'}: ${plan.deleted.length} address(es) ${dryRun ? 'to delete' : 'deleted'}, ` +
      `${plan.multicastAgain.length} made multicast only, ${plan.kept.length} feed(s) kept${plan.kept.length ? ` (${plan.kept.join(', ')})` : ''}`,
  );
} catch (error) {
  say(error.message);
  process.exitCode = 1;
} finally {
  broker.close();
}
