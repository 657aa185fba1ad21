/**
 * One suite, two brokers: what livewall needs from its broker, checked against Apache Artemis and RabbitMQ alike.
 * Each profile gets a broker of its own (scripts/broker --broker NAME: own name, ports and data, removed after),
 * and every destination comes from the profile (contract/src/profiles.ts), as the worker and the page take theirs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKFILL_ITEMS, BROKER_PROFILE_NAMES, brokerProfile, ImageAllowList, parseFeedItem, type FeedItem } from '@livewall/contract';
import type { Client, IMessage } from '@stomp/stompjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { invalidCount, tileIds, WallHarness } from '../web/test/wall-harness.js';
import { sendOnce, type AmqpLogin } from './amqp.js';
import { freePort } from './ports.js';
import { PrivateBroker } from './private-broker.js';
import { collect, connectStomp, reconnectingSubscription, type StompLogin } from './stomp.js';
import { FakeJetstream } from '../worker/src/sources/bluesky/fake-jetstream.js';
import { caturdayPosts, postId } from '../worker/src/sources/bluesky/testing.js';
import { count, demoOrigin, loggedAt, recordingFor, root, startWorker, statusOf, workerConfig, type RunningWorker } from './worker.js';

const run = randomBytes(3).toString('hex');
const FEEDS = ['worker', 'backfill', 'viewer-send', 'anon-send', 'tap', 'takeover', 'restart', 'no-repeats', 'page'] as const;
const feedName = (label: (typeof FEEDS)[number]): string => `b-${run}-${label}`;

// The page's build, its server and Chromium, shared by both profiles; each profile serves the page for its broker.
const harness = new WallHarness('brokers');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-brokers-'));
  await harness.start([feedName('page')]);
});
afterAll(async () => {
  await harness.close();
  await rm(dir, { recursive: true, force: true });
});

/** A STOMP SEND with a receipt: 'receipt' if the broker took it, else the ERROR frame or the closed socket. */
function sendWithReceipt(client: Client, destination: string, body: string): Promise<string> {
  return new Promise((resolve) => {
    const receipt = `send-${randomBytes(4).toString('hex')}`;
    client.watchForReceipt(receipt, () => resolve('receipt'));
    client.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''}`);
    client.onWebSocketClose = () => resolve('closed');
    client.publish({ destination, body, headers: { receipt } });
  });
}

function runWorker(config: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'worker/dist/cli.js'), 'run', '--config', config], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

const bodies = (messages: IMessage[]): string[] => messages.map((message) => message.body);

describe.each(BROKER_PROFILE_NAMES)('on %s', (profileName) => {
  const profile = brokerProfile(profileName);
  let broker: PrivateBroker;
  const clients: Client[] = [];
  /** Worker processes a test started; killed after it, whatever happened. */
  const workers: RunningWorker[] = [];

  beforeAll(async () => {
    broker = await PrivateBroker.start(`test-${profileName}-${process.pid}`, {}, { profile: profileName, feeds: FEEDS.map(feedName) });
  });
  afterAll(async () => {
    await broker?.remove();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.deactivate()));
    await Promise.all(
      workers.splice(0).map(async (worker) => {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }),
    );
  });
  const cli = (args: string[]): RunningWorker => {
    const worker = startWorker(args, { TEST_PUBLISHER_PASSWORD: broker.info.passwords.publisher });
    workers.push(worker);
    return worker;
  };

  // Viewers on the public acceptor, as the page; admin and publisher on the operators' one (Artemis refuses their
  // logins on the public acceptor; RabbitMQ has one Web-STOMP listener).
  const stomp = async (login?: StompLogin): Promise<Client> => {
    const operator = login?.login === 'admin' || login?.login === 'publisher';
    const client = await connectStomp(operator ? broker.info.operatorWsUrl : broker.info.wsUrl, login);
    clients.push(client);
    return client;
  };
  const amqp = (username: keyof PrivateBroker['info']['passwords']): AmqpLogin => ({ host: broker.info.host, port: broker.info.amqpPort, username, password: broker.info.passwords[username] });

  test('the worker replays the recording and every post with a picture reaches an anonymous WebSocket viewer as a valid feed item, in order', async () => {
    const feed = feedName('worker');
    const viewer = await stomp();
    const received = collect(viewer, profile.stompDestination(feed));
    await received.ready;
    const config = join(dir, `${profileName}-worker.yaml`);
    await writeFile(config, workerConfig({ broker: broker.info, feeds: [feed], recording: await recordingFor(dir, feed), profile: profileName }));

    const worker = await runWorker(config, { TEST_PUBLISHER_PASSWORD: broker.info.passwords.publisher });
    expect(worker.code, worker.output).toBe(0);
    // 49 posts with photos and 3 with a video or GIF still; the 4 text-only posts are dropped.
    const messages = await received.waitFor(52);
    const allowList = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', demoOrigin]);
    const items = messages.map((message): FeedItem => {
      const parsed = parseFeedItem(message.binaryBody, allowList);
      if (!parsed.ok) throw new Error(`${message.body}: ${parsed.reason}`);
      return parsed.item;
    });
    expect(items.every((item) => item.feed === feed && item.network === 'x')).toBe(true);
    const recording = (await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8')).split('\r\n').filter((line) => line.trim());
    const expectedIds = recording
      .map((line) => JSON.parse(line) as { data: { id: string; attachments?: unknown } })
      .filter((event) => event.data.attachments)
      .map((event) => `x:${event.data.id}`);
    expect(items.map((item) => item.id)).toEqual(expectedIds);
    expect(JSON.parse(worker.output.trim().split('\n').at(-1) as string)).toMatchObject({ msg: 'stopped', abandoned: 0, routes: { [`feed:${feed}`]: { completed: 52, failed: 0 } } });
  });

  test(`a viewer that subscribes first gets the feed's last ${BACKFILL_ITEMS} items, in order, then live ones`, async () => {
    const feed = feedName('backfill');
    for (let n = 0; n < 30; n++) expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), `{"n":${n}}`)).toEqual({ result: 'accepted' });
    const viewer = await stomp();
    const received = collect(viewer, profile.stompDestination(feed));
    await received.ready;
    expect(bodies(await received.waitFor(BACKFILL_ITEMS))).toEqual(Array.from({ length: BACKFILL_ITEMS }, (_, index) => `{"n":${30 - BACKFILL_ITEMS + index}}`));
    expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), '{"n":"live"}')).toEqual({ result: 'accepted' });
    expect(bodies(await received.waitFor(BACKFILL_ITEMS + 1)).at(-1)).toBe('{"n":"live"}');
  });

  test.each([
    ['the viewer login', 'viewer-send', (): StompLogin | undefined => ({ login: 'viewer', passcode: broker.info.passwords.viewer })],
    ['an anonymous visitor', 'anon-send', (): StompLogin | undefined => undefined],
  ] as const)('%s cannot publish to a feed, over STOMP or AMQP: the broker refuses it and nobody receives it', async (_, label, login) => {
    const feed = feedName(label);
    const watcher = await stomp({ login: 'admin', passcode: broker.info.passwords.admin });
    const received = collect(watcher, profile.stompDestination(feed));
    await received.ready;
    // Where a page subscribes and where the worker publishes (the same destination on Artemis).
    for (const destination of new Set([profile.stompDestination(feed), profile.amqpTarget(feed)])) {
      // Artemis answers with an ERROR frame; RabbitMQ's Web-STOMP closes the socket (its log names the refusal).
      expect(await sendWithReceipt(await stomp(login()), destination, '{"spoof":"stomp"}')).toMatch(/^(ERROR|closed)/);
    }
    const viewerAmqp: AmqpLogin = login() ? amqp('viewer') : { ...amqp('viewer'), username: '', password: '' };
    expect((await sendOnce(viewerAmqp, profile.amqpTarget(feed), '{"spoof":"amqp"}')).result).not.toBe('accepted');
    // The publisher's message is the only one the watcher ever sees.
    expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), '{"real":true}')).toEqual({ result: 'accepted' });
    expect(bodies(await received.waitFor(1))).toEqual(['{"real":true}']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bodies(received.messages)).toEqual(['{"real":true}']);
  });

  test('the publisher sends to feeds and status only, and cannot subscribe to a feed', async () => {
    for (const address of ['/topic/orders', '/topic/feedx.cats', '/queue/feed.cats']) {
      expect((await sendOnce(amqp('publisher'), address, '{}')).result, address).not.toBe('accepted');
    }
    const publisher = await stomp({ login: 'publisher', passcode: broker.info.passwords.publisher });
    const answer = new Promise<string>((resolve) => {
      publisher.onStompError = (frame) => resolve(`ERROR ${frame.headers.message ?? ''}`);
      publisher.onWebSocketClose = () => resolve('closed');
      publisher.watchForReceipt('publisher-subscribed', () => resolve('receipt'));
    });
    publisher.subscribe(profile.stompDestination(feedName('worker')), () => undefined, { receipt: 'publisher-subscribed' });
    expect(await answer).toMatch(/^(ERROR|closed)/);
  });

  test('the workers’ status topic reaches an anonymous page, which cannot write to it', async () => {
    const page = await stomp();
    const received = collect(page, profile.statusTopic);
    await received.ready;
    expect(await sendOnce(amqp('publisher'), profile.statusTopic, '{"kind":"worker-status"}')).toEqual({ result: 'accepted' });
    // After the last few status messages, which Artemis replays to a new subscriber (the worker test's among them).
    await expect.poll(() => bodies(received.messages).at(-1)).toBe('{"kind":"worker-status"}');
    expect(await sendWithReceipt(await stomp(), profile.statusTopic, '{"spoof":true}')).toMatch(/^(ERROR|closed)/);
  });

  test('tap prints a feed’s items from this kind of broker, and by default looks for it on the kind’s local STOMP port', async () => {
    const feed = feedName('tap');
    // No --port: where tap connects is the profile's local broker. Nothing resolves a .invalid host, so it only says where.
    const elsewhere = cli(['tap', feed, '--profile', profileName, '--host', 'tap.invalid']);
    await elsewhere.waitFor(new RegExp(`"broker":"tap\\.invalid:${profile.localPorts.stomp} \\(no login\\)"`));
    elsewhere.child.kill('SIGINT');
    expect(await elsewhere.exited).toBe(0);

    // A feed no worker has published to does not exist on the broker yet: tap says so, and keeps trying; it never had
    // a subscription, so it never says one was lost.
    const early = cli(['tap', `b-${run}-not-yet`, '--profile', profileName, '--host', broker.info.host, '--port', String(broker.stompTcpPort)]);
    await early.waitFor(new RegExp(`"cause":"not-live"[^\n]*"msg":"feed\\.b-${run}-not-yet is not live yet \\(no such destination\\); trying again in \\d+ s"`));
    early.child.kill('SIGINT');
    expect(await early.exited).toBe(0);
    expect(early.output()).not.toContain('lost');

    const tap = cli(['tap', feed, '--profile', profileName, '--host', broker.info.host, '--port', String(broker.stompTcpPort), '--limit', '3', '--ndjson']);
    const items = [1, 2, 3].map((n) => ({ id: `x:${n}`, text: `item ${n}` }));
    // The broker hands a new subscriber the feed's recent items, so these arrive even if sent before it subscribed.
    for (const item of items) expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), JSON.stringify(item))).toEqual({ result: 'accepted' });
    expect(await tap.exited, tap.output()).toBe(0);
    expect(tap.output().trim().split('\n').filter((line) => line.startsWith('{"id"')).map((line) => JSON.parse(line))).toEqual(items);
  });

  test('a second worker started with --takeover takes the feed within seconds, and hands it back when it stops', { timeout: 120_000 }, async () => {
    const feed = feedName('takeover');
    const recording = await recordingFor(dir, feed);
    const ops = { server: await freePort(), laptop: await freePort() };
    const start = async (machine: keyof typeof ops, args: string[] = []): Promise<RunningWorker> => {
      const config = join(dir, `${profileName}-takeover-${machine}.yaml`);
      const extra = `region: ${machine}\nops: { port: ${ops[machine]} }\nownership: { lease: 1500ms, renew: 300ms }\nshutdownTimeout: 5s\n`;
      await writeFile(config, workerConfig({ broker: broker.info, feeds: [feed], recording, profile: profileName, replay: ['pace: 20/s', 'loop: true', 'restamp: true'], extra }));
      return cli(['run', '--config', config, ...args]);
    };
    const viewer = reconnectingSubscription(broker.info.wsUrl, profile.stompDestination(feed));
    try {
      const server = await start('server');
      await server.waitFor(new RegExp(`feed ${feed}: owned here`));

      // The taker hears who owns the feed as soon as it subscribes (the broker replays the recent leases), claims it
      // over the live owner, and gets it once the owner has drained and yielded.
      const laptop = await start('laptop', ['--takeover']);
      await laptop.waitFor(new RegExp(`feed ${feed}: owned here \\(yielded by \\S+:${server.child.pid}, epoch`), 20_000);
      expect(laptop.output()).toMatch(new RegExp(`feed ${feed}: taking over from \\S+:${server.child.pid} \\(server\\)`));
      await server.waitFor(new RegExp(`feed ${feed}: standby; \\S+:${laptop.child.pid} \\(laptop\\) owns it`));
      // It owns the feed only after it asked for it (and the first worker yielded): never two owners at once.
      expect(loggedAt(laptop, /owned here/)).toBeGreaterThanOrEqual(loggedAt(laptop, /taking over from/));
      const standby = await statusOf(ops.server);
      expect(standby.ownership.feeds).toEqual([expect.objectContaining({ feed, role: 'standby', owner: expect.objectContaining({ pid: laptop.child.pid, region: 'laptop' }) })]);
      expect(standby.routes.map((route) => [route.id, route.state])).toEqual([
        [`feed:${feed}`, 'stopped'],
        ['source:x', 'stopped'],
      ]);

      // The taker stops: it releases the feed, and the first worker takes it back and publishes again.
      laptop.child.kill('SIGTERM');
      expect(await laptop.exited, laptop.output()).toBe(0);
      expect(laptop.output()).toMatch(new RegExp(`ownership: released ${feed}`));
      await expect.poll(() => count(server, new RegExp(`feed ${feed}: owned here`)), { timeout: 10_000 }).toBe(2);
      expect(loggedAt(server, /owned here/, 2)).toBeGreaterThanOrEqual(loggedAt(laptop, /ownership: released/));
      const handedBack = loggedAt(server, /owned here/, 2);
      await expect
        .poll(() => viewer.messages.filter((message) => Date.parse((JSON.parse(message.body) as FeedItem).publishedAt) > handedBack).length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(3);
      server.child.kill('SIGTERM');
      expect(await server.exited, server.output()).toBe(0);
    } finally {
      await viewer.stop();
    }
  });

  test('a worker stopped and started again publishes nothing twice, though Bluesky resumes 5 s before its cursor', async () => {
    const feed = feedName('no-repeats');
    const first = caturdayPosts(6, 'a', Date.now() * 1000 - 2_000_000);
    const later = caturdayPosts(3, 'b', (first.at(-1)?.time_us ?? 0) + 1000);
    const jetstream = new FakeJetstream(first);
    const url = await jetstream.listen();
    const viewer = collect(await stomp(), profile.stompDestination(feed));
    await viewer.ready;
    const config = join(dir, `${profileName}-no-repeats.yaml`);
    await writeFile(
      config,
      `broker: { url: "amqp://${broker.info.host}:${broker.info.amqpPort}", username: publisher, password: "\${TEST_PUBLISHER_PASSWORD}", profile: ${profileName} }
sources: { bluesky: { endpoints: [${url}], cursorFile: ${profileName}-no-repeats.cursor, profiles: false } }
feeds: [ { name: ${feed}, network: bluesky, keywords: ["#caturday"] } ]
# One author writes every post: no limit per author.
moderation: { perAuthor: false }
ownership: { lease: 1500ms, renew: 300ms }
status: { enabled: false }
`,
    );
    try {
      const worker = cli(['run', '--config', config]);
      await viewer.waitFor(first.length, 20_000);
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toBe(0);
      const again = cli(['run', '--config', config]);
      await jetstream.whenRequested(2);
      for (const event of later) jetstream.send(event);
      await viewer.waitFor(first.length + later.length, 20_000);
      again.child.kill('SIGTERM');
      expect(await again.exited, again.output()).toBe(0);
      expect(viewer.messages.map((message) => (JSON.parse(message.body) as FeedItem).id)).toEqual([...first, ...later].map(postId));
    } finally {
      await jetstream.close();
    }
  });

  test('a wrong password is refused, not downgraded to an anonymous viewer', async () => {
    await expect(connectStomp(broker.info.wsUrl, { login: 'viewer', passcode: 'not-the-password' })).rejects.toThrow(/STOMP ERROR|closed/);
    await expect(connectStomp(broker.info.wsUrl, { login: 'nobody', passcode: 'x' })).rejects.toThrow(/STOMP ERROR|closed/);
    expect(await sendOnce({ ...amqp('publisher'), password: 'wrong' }, profile.amqpTarget(feedName('worker')), '{}')).toMatchObject({ result: 'connection-error' });
    // The right one still works.
    clients.push(await connectStomp(broker.info.wsUrl, { login: 'viewer', passcode: broker.info.passwords.viewer }));
  });

  test('the worker and a viewer carry on by themselves when the broker is killed and started again', { timeout: 150_000 }, async () => {
    const feed = feedName('restart');
    const viewer = reconnectingSubscription(broker.info.wsUrl, profile.stompDestination(feed));
    const config = join(dir, `${profileName}-restart.yaml`);
    await writeFile(config, workerConfig({ broker: broker.info, feeds: [feed], recording: await recordingFor(dir, feed), profile: profileName, replay: ['pace: 20/s', 'loop: true', 'restamp: true'] }));
    const worker = startWorker(['run', '--config', config], { TEST_PUBLISHER_PASSWORD: broker.info.passwords.publisher });
    try {
      await expect.poll(() => viewer.messages.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
      await broker.kill9();
      await broker.restart();
      const restartedAt = Date.now();
      await worker.waitFor(/"reconnects":[1-9][^\n]*"msg":"connected to broker"/, 60_000);
      // Items the worker publishes after the restart reach the viewer, which connected and subscribed again.
      const publishedAfter = (): number =>
        viewer.messages.filter((message) => Date.parse((JSON.parse(message.body) as FeedItem).publishedAt) > restartedAt).length;
      await expect.poll(publishedAfter, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
      expect(viewer.connects()).toBeGreaterThanOrEqual(2);
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toBe(0);
      expect(JSON.parse(worker.output().trim().split('\n').at(-1) as string)).toMatchObject({ msg: 'stopped', abandoned: 0 });
    } finally {
      worker.child.kill('SIGKILL');
      await viewer.stop();
    }
  });

  test('the page in Chromium shows the feed’s recent items on opening, then a new one, with no errors', async () => {
    const feed = feedName('page');
    const origin = await harness.serve((own) => ({ brokerUrls: [broker.info.wsUrl], brokerProfile: profileName, feeds: [{ name: feed, title: 'Page' }], imageHosts: [own] }));
    const earlier = [harness.feedItem(feed, origin), harness.feedItem(feed, origin), harness.feedItem(feed, origin)];
    // Published as the worker publishes: AMQP 1.0, a data section with content type and message id.
    for (const item of earlier) expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), JSON.stringify(item))).toEqual({ result: 'accepted' });

    const { page, problems, cspHeader } = await harness.openWall(feed, { origin });
    expect(cspHeader).toContain(`connect-src 'self' ${broker.info.wsUrl}`);
    await expect.poll(() => tileIds(page)).toEqual(earlier.map((item) => item.id).reverse());
    const live = harness.feedItem(feed, origin);
    expect(await sendOnce(amqp('publisher'), profile.amqpTarget(feed), JSON.stringify(live))).toEqual({ result: 'accepted' });
    await page.locator(`[data-testid="tile"][data-id="${live.id}"]`).waitFor();
    expect(await tileIds(page)).toEqual([live, ...earlier.slice().reverse()].map((item) => item.id));
    expect(await invalidCount(page)).toBe('0');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
