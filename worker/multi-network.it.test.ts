import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerProfile, ImageAllowList, parseFeedItem, type BrokerProfileName, type FeedItem } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { declareFeed, testBroker, type TestBroker } from '../test/broker.js';
import { PrivateBroker } from '../test/private-broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp, type Collector } from '../test/stomp.js';
import { threeNetworks } from '../test/three-networks.js';
import { startWorker, type RunningWorker } from '../test/worker.js';

/**
 * One feed from three networks (`networks: [x, bluesky, mastodon]`): the X filtered stream, Bluesky's Jetstream and
 * a Mastodon hashtag timeline, each a local fake speaking its wire format, into one topic on the real Artemis, read
 * by a STOMP-over-WebSocket viewer as the page is.
 */
const broker = testBroker();
let dir: string;
// A viewer per test: the public acceptor closes a viewer that stays quiet too long (as while another test runs).
let viewer: Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-networks-'));
});
beforeEach(async () => {
  viewer = await connectStomp(broker.wsUrl);
});
afterEach(async () => {
  await viewer.deactivate();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const itemOf = (body: string): FeedItem => {
  const parsed = parseFeedItem(body, new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', 'files.mastodon.social']));
  if (!parsed.ok) throw new Error(`${body}: ${parsed.reason}`);
  return parsed.item;
};

/** A broker and its kind, and a viewer connected to its public WebSocket. */
interface OnBroker {
  broker: TestBroker;
  profile: BrokerProfileName;
  viewer: Client;
}

function configText(sources: string, opsPort: number, feeds: string, on: Omit<OnBroker, 'viewer'> = { broker, profile: 'artemis' }): string {
  return `broker:
  url: amqp://${on.broker.host}:${on.broker.amqpPort}
  username: publisher
  password: \${TEST_PUBLISHER_PASSWORD}
  profile: ${on.profile}
imageHosts: [files.mastodon.social]
${sources}
feeds:
${feeds}
# Each fake writes its posts as one author: no limit per author.
moderation: { perAuthor: false }
status: { enabled: false }
ops: { port: ${opsPort} }
`;
}

const run = (config: string, args: string[] = [], on: TestBroker = broker): RunningWorker => startWorker(['run', '--config', config, ...args], { TEST_PUBLISHER_PASSWORD: on.passwords.publisher, TEST_X_TOKEN: 'x-bearer-secret' });
const idsOf = (collector: Collector): string[] => collector.messages.map((message) => itemOf(message.body).id);

interface Status {
  routes: { id: string; state: string; source?: { stats: Record<string, number> } }[];
  networks: Record<string, Record<string, { received: number; sent: number }>>;
}
const statusOf = async (opsPort: number): Promise<Status> => (await (await fetch(`http://127.0.0.1:${opsPort}/status`)).json()) as Status;

/** One feed from the three fakes on `on`'s broker (its feed declared already), read by `on`'s viewer. */
async function oneWallFromThree(feed: string, on: OnBroker): Promise<void> {
  const fakes = await threeNetworks(feed);
  const opsPort = await freePort();
  const config = join(dir, `three-networks-${on.profile}.yaml`);
  await writeFile(config, configText(fakes.sources, opsPort, `  - { name: ${feed}, networks: [x, bluesky, mastodon], keywords: [caturday] }`, on));
  const wall = collect(on.viewer, brokerProfile(on.profile).stompDestination(feed));
  await wall.ready;

  const worker = run(config, [], on.broker);
  try {
    // Each network's own query from the one keyword list: X's rule, Mastodon's hashtag timeline (Bluesky matches the
    // words in the worker).
    await fakes.x.connection(1);
    expect(fakes.x.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([{ value: '(caturday) has:images -is:retweet', tag: feed }]);
    await fakes.mastodon.waitForRequest((request) => request.path === '/api/v1/timelines/tag/caturday');
    await fakes.jetstream.whenRequested(1);

    // One post at a time, taking turns: each reaches the wall before the next is posted, so the wall's order is the
    // order they arrived in.
    const sent: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const network of ['x', 'bluesky', 'mastodon'] as const) {
        sent.push(await fakes.post[network]());
        await wall.waitFor(sent.length, 20_000);
      }
    }
    expect(idsOf(wall)).toEqual(sent);

    // Then all at once: every one arrives, once, each network's in its own order.
    const burst = { x: [] as string[], bluesky: [] as string[], mastodon: [] as string[] };
    for (let n = 0; n < 3; n++) for (const network of ['x', 'bluesky', 'mastodon'] as const) burst[network].push(await fakes.post[network]());
    await wall.waitFor(sent.length + 9, 20_000);
    const after = idsOf(wall).slice(sent.length);
    expect(new Set(after)).toEqual(new Set([...burst.x, ...burst.bluesky, ...burst.mastodon]));
    for (const network of ['x', 'bluesky', 'mastodon'] as const) expect(after.filter((id) => id.startsWith(`${network}:`))).toEqual(burst[network]);
    // The topic's order is the order the worker published them in.
    const published = wall.messages.map((message) => itemOf(message.body).publishedAt);
    expect(published).toEqual([...published].sort());
    const items = wall.messages.map((message) => itemOf(message.body));
    expect(new Set(items.map((item) => item.feed))).toEqual(new Set([feed]));
    expect(items.map((item) => item.network)).toEqual(items.map((item) => item.id.split(':')[0]));

    // Per network, in /status and /metrics.
    const figures = { received: 6, sent: 6 };
    await expect.poll(async () => (await statusOf(opsPort)).networks[feed]).toEqual({ x: figures, bluesky: figures, mastodon: figures });
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    for (const network of ['x', 'bluesky', 'mastodon']) {
      expect(metrics).toContain(`livewall_feed_received_total{feed="${feed}",network="${network}"} 6\n`);
      expect(metrics).toContain(`livewall_feed_sent_total{feed="${feed}",network="${network}"} 6\n`);
    }

    // One network fails (Jetstream goes away): it reconnects with its own backoff, the other two carry on, and the
    // worker stays ready (it can publish every feed it owns).
    await fakes.jetstream.close();
    const onAfterFailure = [await fakes.post.x(), fakes.post.mastodon(), await fakes.post.x()];
    await wall.waitFor(sent.length + 9 + 3, 20_000);
    expect(idsOf(wall).slice(-3).sort()).toEqual([...onAfterFailure].sort());
    await expect.poll(async () => (await statusOf(opsPort)).routes.find((route) => route.id === 'source:bluesky')?.source?.stats.reconnects ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
    expect(ready.status).toBe(200);
    expect((await statusOf(opsPort)).routes.find((route) => route.id === 'source:bluesky')?.state).toBe('started');
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);
  await fakes.close();
  // Nothing came twice.
  expect(new Set(idsOf(wall)).size).toBe(wall.messages.length);
  expect(worker.output()).not.toContain('x-bearer-secret');
}

test('a feed from X, Bluesky and Mastodon: one topic, every item once, in the order they arrived, counted per network', async () => {
  const feed = `wall-${randomUUID().slice(0, 6)}`;
  await declareFeed(feed);
  await oneWallFromThree(feed, { broker, profile: 'artemis', viewer });
}, 120_000);

test('the same on RabbitMQ', async () => {
  const feed = `wall-${randomUUID().slice(0, 6)}`;
  const rabbit = await PrivateBroker.start(`test-networks-rabbitmq-${process.pid}`, {}, { profile: 'rabbitmq', feeds: [feed] });
  const rabbitViewer = await connectStomp(rabbit.info.wsUrl);
  try {
    await oneWallFromThree(feed, { broker: rabbit.info, profile: 'rabbitmq', viewer: rabbitViewer });
  } finally {
    await rabbitViewer.deactivate();
    await rabbit.remove();
  }
}, 240_000);

test('run --watch adds a network to a feed and takes one away, and the other networks and feeds carry on untouched', async () => {
  const feed = `grow-${randomUUID().slice(0, 6)}`;
  const other = `other-${randomUUID().slice(0, 6)}`;
  const fakes = await threeNetworks(feed);
  const opsPort = await freePort();
  const config = join(dir, 'watch-networks.yaml');
  const write = (networks: string): Promise<void> =>
    writeFile(config, configText(fakes.sources, opsPort, `  - { name: ${feed}, networks: [${networks}], keywords: [caturday] }\n  - { name: ${other}, network: bluesky, keywords: [caturday] }`));
  await write('x, bluesky');
  await declareFeed(feed);
  await declareFeed(other);
  const wall = collect(viewer, `/topic/feed.${feed}`);
  const otherWall = collect(viewer, `/topic/feed.${other}`);
  await Promise.all([wall.ready, otherWall.ready]);

  const worker = run(config, ['--watch']);
  try {
    await fakes.x.connection(1);
    await fakes.jetstream.whenRequested(1);
    const sent = [await fakes.post.x(), fakes.post.bluesky()];
    await wall.waitFor(2, 20_000);
    await otherWall.waitFor(1, 20_000);
    expect(fakes.mastodon.requests).toEqual([]);

    // Mastodon joins the feed: its source route is added; the feed's route, X's stream, Bluesky's connection and the
    // other feed's route carry on.
    await write('x, bluesky, mastodon');
    await expect.poll(() => reloads(worker).length, { timeout: 20_000 }).toBe(1);
    const reloaded = reloads(worker)[0] as Reload;
    expect(reloaded.added).toEqual([`source:mastodon:127.0.0.1:${fakes.mastodonPort}#caturday`]);
    expect(reloaded.replaced).toEqual([]);
    expect(reloaded.removed).toEqual([]);
    expect([...reloaded.unchanged].sort()).toEqual([`feed:${feed}`, `feed:${other}`, 'source:bluesky', 'source:x'].sort());
    await fakes.mastodon.waitForRequest((request) => request.path === '/api/v1/timelines/tag/caturday');
    sent.push(fakes.post.mastodon(), await fakes.post.x(), fakes.post.bluesky());
    await wall.waitFor(5, 20_000);
    await otherWall.waitFor(2, 20_000);
    expect(idsOf(wall).sort()).toEqual([...sent].sort());

    // Bluesky leaves the feed, but not the other feed: its source route stays, connected as it was.
    await write('x, mastodon');
    await expect.poll(() => reloads(worker).length, { timeout: 20_000 }).toBe(2);
    const second = reloads(worker)[1] as Reload;
    expect(second.replaced).toEqual([]);
    expect(second.removed).toEqual([]);
    expect(second.added).toEqual([]);
    const onlyOther = fakes.post.bluesky();
    sent.push(await fakes.post.x(), fakes.post.mastodon());
    await otherWall.waitFor(3, 20_000);
    expect(idsOf(otherWall).at(-1)).toBe(onlyOther);
    await wall.waitFor(7, 20_000);
    expect(idsOf(wall).sort()).toEqual([...sent].sort());

    // The streams never reconnected, and the other feed saw every Bluesky post once.
    expect(fakes.x.streamRequests).toBe(1);
    expect(fakes.jetstream.requests).toHaveLength(1);
    expect(idsOf(otherWall)).toHaveLength(3);
    expect(worker.output()).not.toContain('route source:x stopping');
    expect(worker.output()).not.toContain('route source:bluesky stopping');
    for (const route of [feed, other]) expect(worker.output()).not.toContain(`route feed:${route} stopping`);
    // The figures of the networks the feed kept stay; Bluesky's went with it.
    await expect.poll(async () => (await statusOf(opsPort)).networks[feed]).toEqual({ x: { received: 3, sent: 3 }, mastodon: { received: 2, sent: 2 } });
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);
  await fakes.close();
  expect(new Set(idsOf(wall)).size).toBe(wall.messages.length);
});

interface Reload {
  added: string[];
  removed: string[];
  replaced: string[];
  unchanged: string[];
}

/** The `config reloaded` lines the worker logged so far, parsed. */
function reloads(worker: RunningWorker): Reload[] {
  return worker.output().split('\n').filter((line) => line.includes('"msg":"config reloaded"')).map((line) => JSON.parse(line) as Reload);
}
