/**
 * What scripts/rabbitmq/ sets up on a RabbitMQ node, checked without one: the definitions match the rabbitmq broker
 * profile (contract/src/profiles.ts), permissions allow exactly what each user needs, passwords are kept and hashed
 * as RabbitMQ hashes them. test/brokers.it.test.ts checks the same against a running node.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BACKFILL_ITEMS, brokerProfile, LEASE_HISTORY } from '@livewall/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts/rabbitmq/definitions.mjs');
const rabbitmq = brokerProfile('rabbitmq');

interface Definitions {
  users: { name: string; password_hash: string; hashing_algorithm: string; tags: string[]; limits?: Record<string, number> }[];
  parameters: { vhost: string; component: string; name: string; value: Record<string, number> }[];
  permissions: { user: string; configure: string; write: string; read: string }[];
  topic_permissions: { user: string; exchange: string; write: string; read: string }[];
  exchanges: { name: string; type: string; durable: boolean; arguments: Record<string, unknown> }[];
  queues: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: Record<string, unknown> }[];
  bindings: { source: string; destination: string; destination_type: string; routing_key: string }[];
  policies: { pattern: string; 'apply-to': string; definition: Record<string, unknown> }[];
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-rabbitmq-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(env: Record<string, string>): Promise<{ definitions: Definitions; secrets: string }> {
  await run(process.execPath, [script, 'write', dir], { env: { PATH: process.env.PATH, ...env } });
  return {
    definitions: JSON.parse(await readFile(join(dir, 'definitions.json'), 'utf8')) as Definitions,
    secrets: await readFile(join(dir, 'livewall.env'), 'utf8'),
  };
}

const secret = (secrets: string, user: string): string =>
  (new RegExp(`^LIVEWALL_${user.toUpperCase()}_PASSWORD='(.*)'$`, 'm').exec(secrets)?.[1] ?? '').replaceAll(`'\\''`, `'`);

/** Whether `hash` is RabbitMQ's rabbit_password_hashing_sha256 of `password`: base64(salt ++ sha256(salt ++ password)). */
function hashes(hash: string, password: string): boolean {
  const bytes = Buffer.from(hash, 'base64');
  const salt = bytes.subarray(0, 4);
  return createHash('sha256').update(Buffer.concat([salt, Buffer.from(password)])).digest().equals(bytes.subarray(4));
}

/** The exchange a STOMP destination or AMQP source `/exchange/X` reads, and the routing key of an AMQP target `/topic/K`. */
const exchangeOf = (address: string): string => address.replace(/^\/exchange\//, '');
/** The queue a STOMP destination `/amq/queue/Q` names. */
const queueOf = (destination: string): string => destination.replace(/^\/amq\/queue\//, '');
const routingKeyOf = (target: string): string => target.replace(/^\/topic\//, '');

describe('scripts/rabbitmq/definitions.mjs write', () => {
  it('declares each feed as the rabbitmq profile names it: recent-history exchanges for its items and its leases, bound to the worker’s routing keys', async () => {
    const { definitions } = await write({ LIVEWALL_FEEDS: 'cats:Cats, sky-cats ,cats' });
    // Per feed: where a page reads its items, and where its workers hear its leases.
    const expected = ['cats', 'sky-cats'].flatMap((feed) => [
      { exchange: exchangeOf(rabbitmq.stompDestination(feed)), key: routingKeyOf(rabbitmq.amqpTarget(feed)), history: BACKFILL_ITEMS },
      { exchange: exchangeOf(rabbitmq.leases.amqpSource(feed)), key: routingKeyOf(rabbitmq.leases.amqpTarget(feed)), history: LEASE_HISTORY },
    ]);
    expect(expected.map(({ exchange }) => exchange)).toEqual(['feed.cats', 'owner.cats', 'feed.sky-cats', 'owner.sky-cats']);
    expect(definitions.exchanges).toEqual(
      expected.map(({ exchange, history }) => ({
        name: exchange,
        vhost: '/',
        type: 'x-recent-history',
        durable: true,
        auto_delete: false,
        internal: false,
        arguments: { 'x-recent-history-length': history },
      })),
    );
    expect(definitions.bindings.filter((binding) => binding.destination_type === 'exchange')).toEqual(
      expected.map(({ exchange, key }) => ({
        source: 'amq.topic',
        vhost: '/',
        destination: exchange,
        destination_type: 'exchange',
        // The worker's AMQP target /topic/K publishes to amq.topic with routing key K.
        routing_key: key,
        arguments: {},
      })),
    );
    expect(definitions.policies).toEqual([
      expect.objectContaining({
        pattern: '^stomp-subscription-',
        'apply-to': 'queues',
        definition: { 'max-length': 500, 'max-length-bytes': 4 * 1024 * 1024, overflow: 'drop-head', expires: 10_000 },
      }),
      // A visitor's own stream (which the first policy cannot reach) keeps 4 MiB, in 1 MiB segments.
      expect.objectContaining({
        pattern: '^stomp-subscription-',
        'apply-to': 'queues',
        definition: { 'max-length-bytes': 4 * 1024 * 1024, 'stream-max-segment-size-bytes': 1024 * 1024 },
      }),
    ]);
  });

  it('declares the moderation log as a bounded stream, and per feed a bounded pending queue the worker’s AMQP target reaches', async () => {
    const { definitions } = await write({ LIVEWALL_FEEDS: 'cats,sky-cats' });
    const moderation = rabbitmq.moderation;
    expect(queueOf(moderation.logDestination)).toBe('moderation.log');
    // Read from its first entry: a stream, with an offset and a prefetch (streams need both, and acks for credit).
    expect(moderation.logSubscribeHeaders).toEqual({ 'x-stream-offset': 'first', 'prefetch-count': '100' });
    expect(definitions.queues).toEqual([
      {
        name: 'moderation.log',
        vhost: '/',
        durable: true,
        auto_delete: false,
        arguments: { 'x-queue-type': 'stream', 'x-max-length-bytes': 100 * 1024 * 1024, 'x-stream-max-segment-size-bytes': 10 * 1024 * 1024 },
      },
      ...['cats', 'sky-cats'].map((feed) => ({
        name: queueOf(moderation.pendingDestination(feed)),
        vhost: '/',
        durable: true,
        auto_delete: false,
        // A full queue drops its oldest item for each new one: RabbitMQ 3.10 resets an AMQP 1.0 connection whose publish
        // a reject-publish queue refuses (test/moderation-brokers.it.test.ts), where Artemis answers `rejected`.
        arguments: { 'x-max-length': 10_000, 'x-overflow': 'drop-head' },
      })),
    ]);
    // The worker publishes pending items to amq.topic (AMQP 1.0 target /topic/pending.F), bound to the queue.
    expect(definitions.bindings.filter((binding) => binding.destination_type === 'queue')).toEqual(
      ['cats', 'sky-cats'].map((feed) => ({
        source: 'amq.topic',
        vhost: '/',
        destination: queueOf(moderation.pendingDestination(feed)),
        destination_type: 'queue',
        routing_key: routingKeyOf(moderation.pendingAmqpTarget(feed)),
        arguments: {},
      })),
    );
    expect(moderation.pendingAmqpTarget('cats')).toBe('/topic/pending.cats');
  });

  it('limits the visitors, by LIVEWALL_MAX_VIEWERS: connections and channels per user, subscriber queues on the vhost', async () => {
    const limits = (definitions: Definitions) => ({
      users: Object.fromEntries(definitions.users.map((user) => [user.name, user.limits])),
      vhost: definitions.parameters.filter((parameter) => parameter.component === 'vhost-limits').map(({ vhost, name, value }) => ({ vhost, name, value })),
    });
    expect(limits((await write({})).definitions)).toEqual({
      users: { admin: undefined, publisher: undefined, viewer: { 'max-connections': 1000, 'max-channels': 1000 }, anonymous: { 'max-connections': 1000, 'max-channels': 1000 } },
      vhost: [{ vhost: '/', name: 'limits', value: { 'max-queues': 4000 } }],
    });
    expect(limits((await write({ LIVEWALL_MAX_VIEWERS: '40' })).definitions)).toMatchObject({
      users: { anonymous: { 'max-connections': 40, 'max-channels': 40 } },
      vhost: [{ value: { 'max-queues': 160 } }],
    });
    for (const wrong of ['0', '-3', '2.5', 'many']) {
      await expect(write({ LIVEWALL_MAX_VIEWERS: wrong })).rejects.toMatchObject({ stderr: expect.stringContaining(`LIVEWALL_MAX_VIEWERS must be a positive whole number, not "${wrong}"`) });
    }
  });

  it('keeps passwords: the environment first, then the kept file, else new ones; the files are the owner’s only', async () => {
    const first = await write({ LIVEWALL_ADMIN_PASSWORD: `it's "secret"` });
    expect(secret(first.secrets, 'admin')).toBe(`it's "secret"`);
    for (const user of ['publisher', 'viewer', 'moderator', 'anonymous']) expect(secret(first.secrets, user)).toMatch(/^[0-9a-f]{36}$/);
    for (const file of ['definitions.json', 'livewall.env']) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    for (const user of first.definitions.users) {
      expect(user.hashing_algorithm).toBe('rabbit_password_hashing_sha256');
      expect(hashes(user.password_hash, secret(first.secrets, user.name))).toBe(true);
    }
    expect(JSON.stringify(first.definitions)).not.toContain('secret');

    // Kept across starts; the environment wins, except for the anonymous visitors' password, which is always ours.
    const second = await write({ LIVEWALL_PUBLISHER_PASSWORD: 'pub-2', LIVEWALL_ANONYMOUS_PASSWORD: 'mine' });
    expect(secret(second.secrets, 'admin')).toBe(`it's "secret"`);
    expect(secret(second.secrets, 'publisher')).toBe('pub-2');
    expect(secret(second.secrets, 'viewer')).toBe(secret(first.secrets, 'viewer'));
    expect(secret(second.secrets, 'anonymous')).toBe(secret(first.secrets, 'anonymous'));
  });

  it('gives each user exactly what its Artemis role allows', async () => {
    const { definitions } = await write({});
    expect(definitions.users.map((user) => [user.name, user.tags])).toEqual([['admin', ['administrator']], ['publisher', []], ['viewer', []], ['moderator', []], ['anonymous', []]]);
    const vhost = (user: string) => definitions.permissions.find((permission) => permission.user === user);
    const topic = (user: string) => definitions.topic_permissions.find((permission) => permission.user === user && permission.exchange === 'amq.topic');
    const matches = (pattern: string | undefined, name: string): boolean => new RegExp(pattern ?? '^$').test(name);

    // The publisher writes feed items, status, leases and pending items to amq.topic, and nothing else anywhere: not
    // to the default exchange, through which it could write to the moderation log.
    for (const key of ['feed.cats', 'status.workers', 'owner.cats', 'pending.cats']) expect(matches(topic('publisher')?.write, key)).toBe(true);
    for (const key of ['other', 'feedx.cats', 'statusx']) expect(matches(topic('publisher')?.write, key)).toBe(false);
    expect(matches(vhost('publisher')?.write, 'amq.topic')).toBe(true);
    for (const exchange of ['feed.cats', 'owner.cats', 'amq.direct', 'amq.default']) expect(matches(vhost('publisher')?.write, exchange)).toBe(false);
    expect(matches(topic('publisher')?.read, 'feed.cats')).toBe(false);
    // It reads the feeds' leases (its receiver, a server-named queue, bound to owner.F), and no feed's items.
    expect(matches(vhost('publisher')?.read, 'owner.cats')).toBe(true);
    expect(matches(vhost('publisher')?.read, 'amq.gen-Xy3')).toBe(true);
    expect(matches(vhost('publisher')?.configure, 'amq.gen-Xy3')).toBe(true);
    expect(matches(vhost('publisher')?.write, 'amq.gen-Xy3')).toBe(true);
    for (const exchange of ['feed.cats', 'ownerx', 'amq.topic']) expect(matches(vhost('publisher')?.read, exchange)).toBe(false);
    // It reads the moderation log, and consumes no pending queue.
    expect(matches(vhost('publisher')?.read, 'moderation.log')).toBe(true);
    expect(matches(vhost('publisher')?.read, 'pending.cats')).toBe(false);

    // The moderator sends takedowns and approved items with a feed's key on amq.topic, and to the log and the pending
    // queues through the default exchange (STOMP /amq/queue/); reads the log and the pending queues; subscribes as
    // a viewer does; declares nothing but its subscription queues; never touches leases or status.
    expect(matches(vhost('moderator')?.write, 'amq.default')).toBe(true);
    expect(matches(vhost('moderator')?.write, 'amq.topic')).toBe(true);
    for (const exchange of ['feed.cats', 'owner.cats', 'amq.direct']) expect(matches(vhost('moderator')?.write, exchange)).toBe(false);
    expect(matches(topic('moderator')?.write, 'feed.cats')).toBe(true);
    for (const key of ['feed.#', 'status.workers', 'owner.cats', 'pending.cats', 'other']) expect(matches(topic('moderator')?.write, key), key).toBe(false);
    for (const queue of ['moderation.log', 'pending.cats', 'feed.cats', 'stomp-subscription-Ab3']) expect(matches(vhost('moderator')?.read, queue), queue).toBe(true);
    for (const name of ['owner.cats', 'amq.gen-Xy3']) expect(matches(vhost('moderator')?.read, name), name).toBe(false);
    for (const name of ['moderation.log', 'pending.cats', 'amq.gen-Xy3']) expect(matches(vhost('moderator')?.configure, name), name).toBe(false);
    for (const key of ['owner.cats', '#', 'feed.#']) expect(matches(topic('moderator')?.read, key), key).toBe(false);

    // Viewers and anonymous visitors subscribe (their own stomp-subscription-… queues) and write nowhere else.
    for (const user of ['viewer', 'anonymous']) {
      for (const exchange of ['feed.cats', 'amq.topic', 'amq.default']) expect(matches(vhost(user)?.write, exchange)).toBe(false);
      expect(matches(vhost(user)?.write, 'stomp-subscription-Ab3')).toBe(true);
      expect(matches(vhost(user)?.read, 'feed.cats')).toBe(true);
      expect(matches(topic(user)?.write, 'feed.cats')).toBe(false);
      expect(matches(topic(user)?.read, 'status.workers')).toBe(true);
      expect(matches(topic(user)?.read, 'owner.cats')).toBe(false);
      // One feed or the status key per binding: no wildcard takes in keys nobody declared.
      for (const key of ['#', '*', 'feed.#', 'feed.*', 'feed.cats.#', 'status.#', 'status.*', '*.cats', 'other']) expect(matches(topic(user)?.read, key), key).toBe(false);
      // Nor can they hear or tell who owns a feed, read the moderation log or a pending queue, or write to either.
      for (const queue of ['moderation.log', 'pending.cats']) expect(matches(vhost(user)?.read, queue), queue).toBe(false);
      expect(matches(vhost(user)?.write, 'amq.default')).toBe(false);
      expect(matches(topic(user)?.write, 'pending.cats')).toBe(false);
      expect(matches(vhost(user)?.read, 'owner.cats')).toBe(false);
      expect(matches(vhost(user)?.write, 'owner.cats')).toBe(false);
      expect(matches(topic(user)?.write, 'owner.cats')).toBe(false);
    }
  });

  it('refuses a feed name that is not one, naming it', async () => {
    await expect(write({ LIVEWALL_FEEDS: 'cats,Dogs' })).rejects.toMatchObject({ stderr: expect.stringContaining('invalid feed name "Dogs"') });
  });
});

describe('scripts/broker --broker rabbitmq start', () => {
  it('installs RabbitMQ when it is missing, saying so: it runs scripts/setup --rabbitmq', async () => {
    // The real scripts in a tree of their own, whose scripts/setup only notes how it was run.
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'scripts/rabbitmq'), { recursive: true });
    for (const file of ['scripts/broker', 'scripts/rabbitmq/broker', 'scripts/rabbitmq/definitions.mjs']) await symlink(join(root, file), join(tree, file));
    await writeFile(join(tree, 'scripts/setup'), `#!/bin/sh\necho "setup $*" >>"${join(dir, 'setup.log')}"\n`);
    await chmod(join(tree, 'scripts/setup'), 0o755);
    const started = await run(join(tree, 'scripts/broker'), ['--broker', 'rabbitmq', 'start'], {
      env: { PATH: process.env.PATH, LIVEWALL_BROKER_NAME: 'missing', LIVEWALL_RABBITMQ_HOME: join(dir, 'no-rabbitmq') },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(started.stderr).toContain(`broker[missing]: RabbitMQ is not installed (${join(dir, 'no-rabbitmq')}/bin/rabbitmq-server is missing): installing it with scripts/setup --rabbitmq`);
    expect(await readFile(join(dir, 'setup.log'), 'utf8')).toBe('setup --rabbitmq\n');
    // This setup installed nothing: the start stops there, naming where it looked.
    expect(started.code).toBe(1);
    expect(started.stderr).toMatch(/still no .*no-rabbitmq\/bin\/rabbitmq-server: .*LIVEWALL_RABBITMQ_HOME/);
  });
});

describe('scripts/rabbitmq/broker', () => {
  it('starts a new node with streams (the moderation log is one) and with the user limits on', async () => {
    const broker = await readFile(join(root, 'scripts/rabbitmq/broker'), 'utf8');
    const flags = (/^export RABBITMQ_FEATURE_FLAGS=(.+)$/m.exec(broker)?.[1] ?? '').split(',');
    expect(flags).toContain('user_limits');
    expect(flags).toContain('quorum_queue');
    expect(flags).toContain('stream_queue');
    // A restart sweeps the durable queues visitors declared.
    expect(broker).toMatch(/^start\(\) \{[\s\S]*?^ {2}sweep\n\}$/m);
  });
});

describe('scripts/rabbitmq/rabbitmq.conf', () => {
  it('bounds what an anonymous client holds on the listeners, and keeps admin on this machine', async () => {
    const template = await readFile(join(root, 'scripts/rabbitmq/rabbitmq.conf'), 'utf8');
    for (const line of [
      'stomp.implicit_connect = false',
      'stomp.login_timeout = 5000',
      'stomp.hide_server_info = true',
      'web_stomp.ws_opts.max_frame_size = 16384',
      'web_stomp.ws_opts.compress = false',
      'web_stomp.ws_opts.idle_timeout = @WS_IDLE_TIMEOUT@',
      'web_stomp.max_connections = @WS_MAX_CONNECTIONS@',
      'loopback_users.admin = true',
      'log.file.rotation.count = 5',
    ]) {
      expect(template.split('\n')).toContain(line);
    }
  });

  it('has binary Web-STOMP frames, no anonymous AMQP, and only placeholders scripts/rabbitmq/broker fills in', async () => {
    const template = await readFile(join(root, 'scripts/rabbitmq/rabbitmq.conf'), 'utf8');
    const broker = await readFile(join(root, 'scripts/rabbitmq/broker'), 'utf8');
    expect(template).toMatch(/^web_stomp\.ws_frame = binary$/m);
    expect(template).toMatch(/^amqp1_0\.default_user = none$/m);
    expect(template).toMatch(/^management\.tcp\.ip = 127\.0\.0\.1$/m);
    const placeholders = new Set(template.match(/@[A-Z_]+@/g));
    const filled = new Set(broker.match(/s\|@[A-Z_]+@\|/g)?.map((expression) => expression.slice(2, -1)));
    expect([...placeholders].sort()).toEqual([...filled].sort());
  });
});
