#!/usr/bin/env node
// What livewall keeps on a RabbitMQ node: its users and their permissions, the policy for subscribers' queues, the
// moderation log (a stream), and per feed two recent-history exchanges (its items, its ownership leases) and a
// pending queue (approval mode). Used by scripts/rabbitmq/broker; safe to run by hand.
//
//   definitions.mjs write DIR          DIR/definitions.json (imported by the node on every start) and DIR/livewall.env
//   definitions.mjs declare FEED...    declares feeds on a running node through its management API
//   definitions.mjs sweep              deletes the durable subscriber queues visitors declared; prints how many
//
// write: each of admin, publisher, viewer and moderator gets LIVEWALL_<USER>_PASSWORD from the environment, else the
// value an earlier run kept in DIR/livewall.env, else a new random one (anonymous: kept or random); the feeds are
// LIVEWALL_FEEDS (`name` or `name:Title`, comma-separated, as the web server reads it); LIVEWALL_MAX_VIEWERS (default
// 1000) sizes the visitors' limits. Both files are readable by their owner only; passwords are never printed.
// declare, sweep: LIVEWALL_MANAGEMENT_URL (default http://127.0.0.1:15673) and LIVEWALL_ADMIN_PASSWORD.
//
// Feed F (contract/src/profiles.ts, profile rabbitmq; test/rabbitmq-definitions.test.ts keeps the two in step):
//   the worker publishes to amq.topic with routing key feed.F (AMQP 1.0 target /topic/feed.F);
//   exchange feed.F, type x-recent-history, keeps the last 24 messages and is bound to amq.topic with key feed.F;
//   the page subscribes to /exchange/feed.F: a queue of its own bound to feed.F, first given those 24 messages;
//   the workers send the feed's leases to amq.topic with key owner.F (AMQP 1.0 target /topic/owner.F), and exchange
//   owner.F, type x-recent-history, keeps the last 16 and is bound to amq.topic with key owner.F; each worker listens
//   on /exchange/owner.F (worker/src/ownership/), first given those 16, so it learns the feed's owner at once;
//   queue pending.F (durable, at most 10000 messages, x-overflow drop-head) holds the feed's items in approval
//   mode: the worker publishes them to amq.topic with key pending.F (AMQP 1.0 target /topic/pending.F), bound to the
//   queue; a moderator reads /amq/queue/pending.F and puts an item back there (the default exchange).
// Moderation (contract/src/moderation.ts): the stream queue moderation.log (durable, its oldest entries dropped past
// 100 MB) that moderators write to and moderators and workers read from its first entry (/amq/queue/moderation.log,
// x-stream-offset: first); moderators send takedowns to amq.topic with key feed.F, as the worker sends items.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FEED_NAME = /^[a-z0-9-]{1,32}$/;
const BACKFILL_ITEMS = 24;
/** How many of a feed's recent lease messages a worker that starts hears first (LEASE_HISTORY in the profiles). */
const LEASE_HISTORY = 16;
/** A subscriber that falls this far behind loses the oldest messages, as Artemis's ring queues do. */
const SUBSCRIBER_QUEUE_LENGTH = 500;
/** …or this many bytes of them: what one subscriber's queue may hold, whatever its items weigh. */
const SUBSCRIBER_QUEUE_BYTES = 4 * 1024 * 1024;
/** A subscriber's queue outlives its last consumer by this long (ms), whatever the client asked for. */
const SUBSCRIBER_QUEUE_EXPIRES = 10_000;
/** The subscriber queues a page holds: its feed and the workers' status. */
const QUEUES_PER_VIEWER = 2;
/** Names of the queues a STOMP subscription declares; viewers and visitors may declare no other. */
const SUBSCRIBER_QUEUES = '^stomp-subscription-';
const USERS = ['admin', 'publisher', 'viewer', 'moderator', 'anonymous'];
const VHOST = '/';
/** The moderation log (MODERATION_LOG in the contract): a stream, so every reader starts from its first entry. */
const MODERATION_LOG = 'moderation.log';
/** What the log keeps: past this, its oldest segments are dropped (a takedown is a few hundred bytes). */
const MODERATION_LOG_BYTES = 100 * 1024 * 1024;
/** The log's segment size: retention drops whole segments, so the log holds between 90 and 100 MB once full. */
const MODERATION_LOG_SEGMENT_BYTES = 10 * 1024 * 1024;
/**
 * Items one feed's pending queue holds; past that each new one drops the oldest (x-overflow drop-head). Not
 * reject-publish, Artemis's FAIL: RabbitMQ 3.10's AMQP 1.0 plugin cannot pass a refused publish on (its session process
 * has no clause for basic.nack, crashes, and the worker's whole connection is reset), and the worker would resend the
 * item after reconnecting, again and again (docs/brokers.md).
 */
const PENDING_ITEMS = 10_000;
/** A stream a visitor declares is held to SUBSCRIBER_QUEUE_BYTES in segments of this size (the policy wins). */
const SUBSCRIBER_STREAM_SEGMENT_BYTES = 1024 * 1024;

/**
 * A feed's recent-history exchanges, each named as the routing key it is published with on amq.topic: `feed.F`, which
 * a page subscribes to, and `owner.F`, which the workers running the feed listen to for its leases.
 */
function feedExchanges(feed) {
  if (!FEED_NAME.test(feed)) throw new Error(`invalid feed name ${JSON.stringify(feed)}: expected [a-z0-9-]{1,32}`);
  return [
    { name: `feed.${feed}`, history: BACKFILL_ITEMS },
    { name: `owner.${feed}`, history: LEASE_HISTORY },
  ].map(({ name, history }) => ({
    exchange: { name, vhost: VHOST, type: 'x-recent-history', durable: true, auto_delete: false, internal: false, arguments: { 'x-recent-history-length': history } },
    binding: { source: 'amq.topic', vhost: VHOST, destination: name, destination_type: 'exchange', routing_key: name, arguments: {} },
  }));
}

/**
 * A feed's pending queue (approval mode), named as the routing key the worker publishes its items with on amq.topic,
 * and that binding. Durable and bounded: a full queue drops its oldest item for each new one (see PENDING_ITEMS).
 */
function pendingQueue(feed) {
  if (!FEED_NAME.test(feed)) throw new Error(`invalid feed name ${JSON.stringify(feed)}: expected [a-z0-9-]{1,32}`);
  const name = `pending.${feed}`;
  return {
    queue: { name, vhost: VHOST, durable: true, auto_delete: false, arguments: { 'x-max-length': PENDING_ITEMS, 'x-overflow': 'drop-head' } },
    binding: { source: 'amq.topic', vhost: VHOST, destination: name, destination_type: 'queue', routing_key: name, arguments: {} },
  };
}

/** The moderation log: a durable stream queue, bounded in bytes. */
const moderationLog = {
  name: MODERATION_LOG,
  vhost: VHOST,
  durable: true,
  auto_delete: false,
  arguments: { 'x-queue-type': 'stream', 'x-max-length-bytes': MODERATION_LOG_BYTES, 'x-stream-max-segment-size-bytes': MODERATION_LOG_SEGMENT_BYTES },
};

/** RabbitMQ's default password hash (rabbit_password_hashing_sha256): base64(salt ++ sha256(salt ++ password)). */
function passwordHash(password) {
  const salt = randomBytes(4);
  return Buffer.concat([salt, createHash('sha256').update(Buffer.concat([salt, Buffer.from(password, 'utf8')])).digest()]).toString('base64');
}

// A subscription (STOMP /exchange/feed.F or /topic/status.W) is a server-named queue, stomp-subscription-…, that the
// subscriber declares, binds and reads: so viewers configure, write (bind) and read only those, and read the feed
// exchanges and amq.topic (status, and feeds without backfill) — never write to an exchange, so they cannot publish.
const SUBSCRIBE_ONLY = { configure: '^stomp-subscription-.+$', write: '^stomp-subscription-.+$', read: '^(amq\\.topic|feed\\..+|stomp-subscription-.+)$' };
// On amq.topic they bind one feed's or the status key each: no `#` or `*`, no lease key (owner.F), nothing else.
const SUBSCRIBE_ONLY_TOPICS = { write: '^$', read: '^(feed\\.[a-z0-9-]{1,32}|status\\.workers)$' };

/**
 * What the visitors may hold, RabbitMQ 3.10's own limits (docs/security-rabbitmq.md): connections per user (a STOMP
 * connection is one channel), and queues on the vhost — 3.10 cannot count them per connection or per user, so this
 * bounds the node's memory, it is no fair share. Twice what the pages need: a page that reconnects holds its old
 * queues for a moment, and the workers' lease receivers are queues too. The publisher and admin have no limit.
 */
function visitorLimits(maxViewers) {
  return { user: { 'max-connections': maxViewers, 'max-channels': maxViewers }, vhost: { 'max-queues': QUEUES_PER_VIEWER * 2 * maxViewers } };
}

function definitions(passwords, feeds, maxViewers) {
  const limits = visitorLimits(maxViewers);
  return {
    users: USERS.map((name) => ({
      name,
      password_hash: passwordHash(passwords[name]),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: name === 'admin' ? ['administrator'] : [],
      ...(name === 'viewer' || name === 'anonymous' ? { limits: limits.user } : {}),
    })),
    vhosts: [{ name: VHOST }],
    parameters: [{ vhost: VHOST, component: 'vhost-limits', name: 'limits', value: limits.vhost }],
    permissions: [
      { user: 'admin', vhost: VHOST, configure: '.*', write: '.*', read: '.*' },
      // Publishes to amq.topic only, and (topic permissions below) only with the feeds', status, lease and pending
      // keys: never to the default exchange, so never to the moderation log. The feed ownership leases
      // (worker/src/ownership/) are also read: an AMQP 1.0 receiver on /exchange/owner.F is a server-named queue,
      // amq.gen-…, bound to the exchange owner.F. It reads the moderation log (STOMP /amq/queue/moderation.log) but
      // no pending queue.
      { user: 'publisher', vhost: VHOST, configure: '^amq\\.gen-.+$', write: '^(amq\\.topic|amq\\.gen-.+)$', read: '^(amq\\.gen-.+|owner\\..+|moderation\\.log)$' },
      { user: 'viewer', vhost: VHOST, ...SUBSCRIBE_ONLY },
      // Subscribes as a viewer does; reads the log and the pending queues; writes to amq.topic (takedowns and approved
      // items, feed keys only) and to the default exchange (amq.default: STOMP /amq/queue/X), which reaches any queue
      // by its name — RabbitMQ checks no permission on the queue itself (docs/security-rabbitmq.md).
      {
        user: 'moderator',
        vhost: VHOST,
        configure: SUBSCRIBE_ONLY.configure,
        write: '^(amq\\.topic|amq\\.default|stomp-subscription-.+)$',
        read: '^(amq\\.topic|feed\\..+|stomp-subscription-.+|moderation\\.log|pending\\..+)$',
      },
      { user: 'anonymous', vhost: VHOST, ...SUBSCRIBE_ONLY },
    ],
    topic_permissions: [
      { user: 'publisher', vhost: VHOST, exchange: 'amq.topic', write: '^(feed|status|owner|pending)\\..+', read: '^$' },
      { user: 'viewer', vhost: VHOST, exchange: 'amq.topic', ...SUBSCRIBE_ONLY_TOPICS },
      { user: 'moderator', vhost: VHOST, exchange: 'amq.topic', write: '^feed\\.[a-z0-9-]{1,32}$', read: SUBSCRIBE_ONLY_TOPICS.read },
      { user: 'anonymous', vhost: VHOST, exchange: 'amq.topic', ...SUBSCRIBE_ONLY_TOPICS },
    ],
    policies: [
      {
        vhost: VHOST,
        name: 'livewall-subscribers',
        pattern: SUBSCRIBER_QUEUES,
        'apply-to': 'queues',
        priority: 0,
        // A client's x-max-length, x-max-length-bytes or x-expires can only lower these (RabbitMQ takes the smaller).
        // expires removes the queues a client declared to outlive it (auto-delete:false, durable, /queue/…).
        definition: { 'max-length': SUBSCRIBER_QUEUE_LENGTH, 'max-length-bytes': SUBSCRIBER_QUEUE_BYTES, overflow: 'drop-head', expires: SUBSCRIBER_QUEUE_EXPIRES },
      },
      {
        // A stream a visitor declares (x-queue-type: stream; the node has streams for the moderation log). RabbitMQ
        // applies a policy only to the queue types that know all of its keys: the one above never reaches a stream
        // (expires, max-length, overflow), and this one only streams (segment size). On a stream the policy wins
        // over the client's arguments, so it keeps at most a few MB until the sweep at the next start deletes it.
        vhost: VHOST,
        name: 'livewall-subscriber-streams',
        pattern: SUBSCRIBER_QUEUES,
        'apply-to': 'queues',
        priority: 0,
        definition: { 'max-length-bytes': SUBSCRIBER_QUEUE_BYTES, 'stream-max-segment-size-bytes': SUBSCRIBER_STREAM_SEGMENT_BYTES },
      },
    ],
    queues: [moderationLog, ...feeds.map((feed) => pendingQueue(feed).queue)],
    exchanges: feeds.flatMap(feedExchanges).map(({ exchange }) => exchange),
    bindings: [...feeds.flatMap(feedExchanges).map(({ binding }) => binding), ...feeds.map((feed) => pendingQueue(feed).binding)],
  };
}

/** `NAME='value'` lines as scripts/broker's livewall.env has them (shell single quotes, ' written as '\''). */
function readSecrets(file) {
  const kept = {};
  if (!existsSync(file)) return kept;
  for (const match of readFileSync(file, 'utf8').matchAll(/^([A-Z_]+)='(.*)'$/gm)) kept[match[1]] = match[2].replaceAll(`'\\''`, `'`);
  return kept;
}

const shellQuote = (value) => `'${value.replaceAll(`'`, `'\\''`)}'`;
const variable = (user) => `LIVEWALL_${user.toUpperCase()}_PASSWORD`;

/** `name` or `name:Title`, comma-separated; the names only. */
function feedNames(list) {
  return [...new Set((list ?? '').split(',').map((entry) => entry.split(':')[0].trim()).filter((name) => name !== ''))];
}

/** Writes `file` readable by its owner only, replacing it whole. */
function writePrivate(file, text) {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function write(dir, env) {
  const secretsFile = join(dir, 'livewall.env');
  const kept = readSecrets(secretsFile);
  // The anonymous visitors' password is in the node's config (stomp.default_pass) and grants only what no login
  // does: it is always one of ours, plain hex.
  const given = (user) => (user === 'anonymous' ? undefined : env[variable(user)]);
  const passwords = Object.fromEntries(USERS.map((user) => [user, given(user) || kept[variable(user)] || randomBytes(18).toString('hex')]));
  const feeds = feedNames(env.LIVEWALL_FEEDS);
  const maxViewers = Number(env.LIVEWALL_MAX_VIEWERS || 1000);
  if (!Number.isSafeInteger(maxViewers) || maxViewers < 1) throw new Error(`LIVEWALL_MAX_VIEWERS must be a positive whole number, not ${JSON.stringify(env.LIVEWALL_MAX_VIEWERS)}`);
  writePrivate(join(dir, 'definitions.json'), `${JSON.stringify(definitions(passwords, feeds, maxViewers), null, 2)}\n`);
  writePrivate(secretsFile, USERS.map((user) => `${variable(user)}=${shellQuote(passwords[user])}\n`).join(''));
}

/** A call to the node's management API as admin: resolves with the answer's JSON (undefined when it has none). */
function managementApi(env) {
  const base = (env.LIVEWALL_MANAGEMENT_URL || 'http://127.0.0.1:15673').replace(/\/$/, '');
  const authorization = `Basic ${Buffer.from(`admin:${env.LIVEWALL_ADMIN_PASSWORD ?? ''}`).toString('base64')}`;
  return async (method, path, body) => {
    const response = await fetch(`${base}/api/${path}`, { method, headers: { authorization, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok && !(method === 'DELETE' && response.status === 404)) throw new Error(`${method} ${base}/api/${path}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
    const text = await response.text();
    return text === '' ? undefined : JSON.parse(text);
  };
}

async function declare(feeds, env) {
  const call = managementApi(env);
  const vhost = encodeURIComponent(VHOST);
  for (const { exchange, binding } of feeds.flatMap(feedExchanges)) {
    const { name, type, durable, auto_delete, internal, arguments: args } = exchange;
    await call('PUT', `exchanges/${vhost}/${encodeURIComponent(name)}`, { type, durable, auto_delete, internal, arguments: args });
    await call('POST', `bindings/${vhost}/e/${encodeURIComponent(binding.source)}/e/${encodeURIComponent(binding.destination)}`, { routing_key: binding.routing_key, arguments: {} });
  }
  for (const { queue, binding } of feeds.map(pendingQueue)) {
    const { name, durable, auto_delete, arguments: args } = queue;
    await call('PUT', `queues/${vhost}/${encodeURIComponent(name)}`, { durable, auto_delete, arguments: args });
    await call('POST', `bindings/${vhost}/e/${encodeURIComponent(binding.source)}/q/${encodeURIComponent(binding.destination)}`, { routing_key: binding.routing_key, arguments: {} });
  }
}

/**
 * A page's subscriber queue is never durable (it goes with its connection), so a durable one under the subscriber
 * names is a visitor's: SUBSCRIBE /queue/stomp-subscription-X, persistent:true, x-queue-type quorum or stream. Safe
 * while pages are connected. Prints how many it deleted.
 */
async function sweep(env) {
  const call = managementApi(env);
  const vhost = encodeURIComponent(VHOST);
  const queues = await call('GET', `queues/${vhost}?columns=name,durable`);
  const left = queues.filter((queue) => queue.durable && new RegExp(SUBSCRIBER_QUEUES).test(queue.name));
  for (const queue of left) await call('DELETE', `queues/${vhost}/${encodeURIComponent(queue.name)}`);
  console.log(left.length);
}

async function main([command, ...args]) {
  if (command === 'write' && args.length === 1) return write(args[0], process.env);
  if (command === 'declare' && args.length > 0) return declare(args, process.env);
  if (command === 'sweep' && args.length === 0) return sweep(process.env);
  throw new Error('usage: definitions.mjs write DIR | declare FEED... | sweep');
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`rabbitmq definitions: ${error.message}`);
  process.exit(1);
});
