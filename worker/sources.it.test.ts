import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageAllowList, parseFeedItem, type FeedItem } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp } from '../test/stomp.js';
import { root, startWorker } from '../test/worker.js';
import { appviewProfile, FakeAppview } from './src/sources/bluesky/fake-appview.js';
import { FakeJetstream } from './src/sources/bluesky/fake-jetstream.js';
import { DID, imagesPost, scriptedEvents, textOnlyPost } from './src/sources/bluesky/testing.js';
import { photoStatusWithId, textStatus } from './src/sources/mastodon/fake-statuses.js';
import { FakeMastodon } from './src/sources/mastodon/fake-mastodon.js';
import { FakeXServer } from './src/sources/x/fake-x-server.js';

/**
 * One worker, one config, every live source at once: two X feeds on one filtered stream, a Bluesky feed from
 * Jetstream and a Mastodon feed from a hashtag timeline — each service a local fake speaking its wire format, the
 * broker the real Artemis, the reader a STOMP-over-WebSocket viewer as the page is.
 */
const broker = testBroker();
let dir: string;
let viewer: Client;
const x = new FakeXServer();
let jetstream: FakeJetstream;
const appview = new FakeAppview([appviewProfile(DID, 'tabby.bsky.social', 'Tabby 🐈')]);
const mastodon = new FakeMastodon();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-sources-'));
  viewer = await connectStomp(broker.wsUrl);
});
afterAll(async () => {
  await viewer.deactivate();
  await Promise.all([x.close(), jetstream?.close(), appview.close(), mastodon.close()]);
  await rm(dir, { recursive: true, force: true });
});

const itemOf = (body: string): FeedItem => {
  const parsed = parseFeedItem(body, new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', 'files.mastodon.social']));
  if (!parsed.ok) throw new Error(`${body}: ${parsed.reason}`);
  return parsed.item;
};

test('one config runs two X feeds, a Bluesky feed and a Mastodon feed, each post to the feeds it matched', async () => {
  const id = randomUUID().slice(0, 6);
  const [cats, dogs, sky, toots] = [`x-cats-${id}`, `x-dogs-${id}`, `sky-${id}`, `toot-${id}`];

  // X: the bundled recording's events, its rule tags renamed to this test's feeds.
  const lines = (await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8'))
    .split('\r\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.replaceAll('"tag":"cats"', `"tag":"${cats}"`).replaceAll('"tag":"dogs"', `"tag":"${dogs}"`));
  const events = lines.map((line) => JSON.parse(line) as { data: { id: string; attachments?: unknown }; matching_rules: { tag: string }[] });
  const expectedX = (feed: string): string[] =>
    events.filter((event) => event.data.attachments && event.matching_rules.some((rule) => rule.tag === feed)).map((event) => `x:${event.data.id}`);
  // A cats post with pictures that X flags possibly_sensitive: the feed drops it (sensitive: drop by default).
  const pictured = JSON.parse(lines.find((line) => line.includes('"media_keys"') && line.includes(`"tag":"${cats}"`)) as string) as { data: Record<string, unknown> };
  const sensitiveX = JSON.stringify({ ...pictured, data: { ...pictured.data, id: '2116999999999999999', possibly_sensitive: true }, matching_rules: [{ id: '1', tag: cats }] });

  // Bluesky: image posts about #caturday, one image post about something else, a text-only post, other events.
  const skyEvents = [
    ...scriptedEvents(12),
    { ...imagesPost, time_us: 1_725_911_100_000_000, commit: { ...imagesPost.commit, rkey: '3l3qo2zzzzz2b', record: { ...imagesPost.commit.record, text: 'A dog at the beach' } } },
    { ...textOnlyPost, time_us: 1_725_911_100_001_000 },
    // About #caturday, with pictures, self-labelled porn by its author: the feed drops it.
    {
      ...imagesPost,
      time_us: 1_725_911_100_002_000,
      commit: { ...imagesPost.commit, rkey: '3l3qo2zzzzz3b', record: { ...imagesPost.commit.record, labels: { $type: 'com.atproto.label.defs#selfLabels', values: [{ val: 'porn' }] } } },
    },
  ];
  const expectedSky = skyEvents
    .filter((event) => (event as typeof imagesPost).commit?.record?.text === imagesPost.commit.record.text && (event as typeof imagesPost).commit.operation === 'create' && !('labels' in (event as typeof imagesPost).commit.record))
    .map((event) => `bluesky:${DID}/${(event as typeof imagesPost).commit.rkey}`);
  jetstream = new FakeJetstream(skyEvents);

  // Mastodon: the #cats timeline with five photo statuses, a text-only one and one its author marked sensitive.
  const statuses = ['113500000000000001', '113500000000000002', '113500000000000003', '113500000000000004', '113500000000000005'].map((statusId) => photoStatusWithId(statusId));
  for (const status of [...statuses, { ...textStatus, id: '113500000000000006' }, { ...photoStatusWithId('113500000000000007'), sensitive: true }]) mastodon.post(status);

  const [xUrl, jetstreamUrl, appviewUrl, mastodonPort, opsPort] = await Promise.all([x.listen(), jetstream.listen(), appview.listen(), mastodon.listen(), freePort()]);
  const config = join(dir, 'all-sources.yaml');
  const rejected = join(dir, 'rejected.ndjson');
  await writeFile(
    config,
    `broker:
  url: amqp://${broker.host}:${broker.amqpPort}
  username: publisher
  password: \${TEST_PUBLISHER_PASSWORD}
imageHosts: [files.mastodon.social]
sources:
  x:
    baseUrl: ${xUrl}
    tokenEnv: TEST_X_TOKEN
  bluesky:
    endpoints: [${jetstreamUrl}]
    profiles: { url: ${appviewUrl} }
  mastodon:
    instances: [http://127.0.0.1:${mastodonPort}]
    interval: 1s
feeds:
  - { name: ${cats}, network: x, keywords: [cat, kitten] }
  - { name: ${dogs}, network: x, keywords: [dog, puppy] }
  - { name: ${sky}, network: bluesky, keywords: ["#caturday"] }
  - { name: ${toots}, network: mastodon, keywords: [cats] }
# Each network's fake writes its posts as one author: no limit per author.
moderation: { perAuthor: false }
status: { enabled: false }
deadLetter: file:${rejected}
ops: { port: ${opsPort} }
`,
  );
  for (const feed of [cats, dogs, sky, toots]) await declareFeed(feed);
  const received = Object.fromEntries([cats, dogs, sky, toots].map((feed) => [feed, collect(viewer, `/topic/feed.${feed}`)] as const));
  await Promise.all(Object.values(received).map((collector) => collector.ready));

  const xCats = expectedX(cats);
  const xDogs = expectedX(dogs);
  const worker = startWorker(['run', '--config', config], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher, TEST_X_TOKEN: 'x-bearer-secret' });
  try {
    // X: the rules are the feeds' (one each, tagged with its name), set before the stream is read.
    const stream = await x.connection(1);
    expect(stream.authorization).toBe('Bearer x-bearer-secret');
    expect(x.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([
      { value: '(cat OR kitten) has:images -is:retweet', tag: cats },
      { value: '(dog OR puppy) has:images -is:retweet', tag: dogs },
    ]);
    // Half the recording, a line that is not JSON, then the link drops: the worker connects again (X's network
    // class: 250 ms) and the rest arrives on the new stream.
    const half = Math.floor(lines.length / 2);
    for (const line of lines.slice(0, half)) await stream.write(`${line}\r\n`);
    await stream.write('{"data":{"id":"1",\r\n');
    stream.destroy();
    const again = await x.connection(2);
    for (const line of [...lines.slice(half), sensitiveX]) await again.write(`${line}\r\n`);

    const ids = async (feed: string, count: number): Promise<string[]> => (await (received[feed] as ReturnType<typeof collect>).waitFor(count, 20_000)).map((message) => itemOf(message.body).id);
    // The recording has posts that matched both rules: each goes to both feeds.
    expect(xCats.filter((postId) => xDogs.includes(postId)).length).toBeGreaterThan(0);
    expect(await ids(cats, xCats.length)).toEqual(xCats);
    expect(await ids(dogs, xDogs.length)).toEqual(xDogs);
    expect(await ids(sky, expectedSky.length)).toEqual(expectedSky);
    expect(await ids(toots, statuses.length)).toEqual(statuses.map((status) => `mastodon:${status.id}`));

    const skyItem = itemOf((received[sky] as ReturnType<typeof collect>).messages[0]?.body as string);
    expect(skyItem).toMatchObject({ network: 'bluesky', feed: sky, images: [{ alt: 'A tabby cat asleep on a keyboard' }, {}] });
    // Bluesky's author is the handle and display name the AppView gave for the DID, asked for once.
    const skyAuthors = (received[sky] as ReturnType<typeof collect>).messages.map((message) => itemOf(message.body).author);
    expect(new Set(skyAuthors.map((author) => JSON.stringify(author)))).toEqual(new Set([JSON.stringify({ handle: 'tabby.bsky.social', name: 'Tabby 🐈', url: 'https://bsky.app/profile/tabby.bsky.social' })]));
    expect(appview.requests).toEqual([[DID]]);
    // The source's reconnect shows in /status and /metrics; the broken line went to the dead-letter file.
    const status = (await (await fetch(`http://127.0.0.1:${opsPort}/status`)).json()) as {
      routes: { id: string; endpoints: { uri: string; stats?: Record<string, number> }[]; source?: { uri: string; stats: Record<string, number> } }[];
    };
    const profiles = status.routes.find((route) => route.id === 'source:bluesky')?.endpoints.find((endpoint) => endpoint.uri.startsWith('appview:'))?.stats;
    expect(profiles).toMatchObject({ lookups: 1, lookupsFailed: 0, late: 0, failed: 0, rateLimited: 0, cached: 1 });
    // The flagged post was looked up too: the source route does not know which feeds show such posts.
    expect((profiles?.hit ?? 0) + (profiles?.resolved ?? 0)).toBe(expectedSky.length + 1);
    const xSource = status.routes.find((route) => route.id === 'source:x');
    expect(xSource?.source).toEqual({ uri: expect.stringMatching(/^x:stream\?/), stats: { reconnects: 1, network: 1, http: 0, rateLimited: 0 } });
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toContain(`livewall_reconnects_total{endpoint="${xSource?.source?.uri}"} 1`);
    expect(metrics).toContain('livewall_bluesky_profile_lookups_total 1\n');
    expect(metrics).toContain(`livewall_bluesky_profiles_total{outcome="resolved"} ${profiles?.resolved ?? 0}\n`);
    expect(metrics).toContain('livewall_bluesky_profiles_total{outcome="late"} 0\n');
    // The sensitive posts each feed dropped, by network.
    await expect.poll(async () => await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text()).toContain(`livewall_dropped_total{route="feed:${toots}",reason="sensitive:mastodon"} 1\n`);
    for (const [feed, network] of [[cats, 'x'], [sky, 'bluesky']]) expect(metrics).toContain(`livewall_dropped_total{route="feed:${feed}",reason="sensitive:${network}"} 1\n`);
    await expect.poll(async () => (await readFile(rejected, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown)).toEqual([
      { rejected: 'not-json', network: 'x', raw: '{"data":{"id":"1",', at: expect.any(String) },
    ]);
    const tootItem = itemOf((received[toots] as ReturnType<typeof collect>).messages[0]?.body as string);
    // A local account's handle is completed with the instance it was read from: here, the fake's address.
    expect(tootItem).toMatchObject({ network: 'mastodon', feed: toots, author: { handle: 'alice@127.0.0.1' }, images: [{ alt: 'A grey cat asleep on a keyboard' }] });
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);

  // Nothing more than expected arrived, and the token never reached the logs.
  expect((received[sky] as ReturnType<typeof collect>).messages).toHaveLength(expectedSky.length);
  expect((received[toots] as ReturnType<typeof collect>).messages).toHaveLength(statuses.length);
  expect(worker.output()).not.toContain('x-bearer-secret');
  const summary = JSON.parse(worker.output().trim().split('\n').at(-1) as string) as { msg: string; routes: Record<string, { received: number; completed: number; dropped: Record<string, number> }> };
  expect(summary.msg).toBe('stopped');
  expect(Object.keys(summary.routes).sort()).toEqual([`feed:${cats}`, `feed:${dogs}`, `feed:${sky}`, `feed:${toots}`, 'source:bluesky', `source:mastodon:127.0.0.1:${mastodonPort}#cats`, 'source:x'].sort());
  // Posts without pictures were dropped once, at their network's source route, and counted; Jetstream's other events
  // (identity, deletes) too, each under its kind. The Mastodon timeline is asked for statuses with media only: the text status never came.
  expect(summary.routes['source:x']?.dropped).toEqual({ 'no-media': 4, 'invalid:not-json': 1 });
  expect(summary.routes['source:bluesky']?.dropped).toEqual({ 'no-media': 1, other: 1, identity: 2 });
  expect(summary.routes[`source:mastodon:127.0.0.1:${mastodonPort}#cats`]).toMatchObject({ received: 6, dropped: {} });
  // Each feed route saw its network's posts with pictures and kept its own, less those flagged sensitive.
  expect(summary.routes[`feed:${cats}`]).toMatchObject({ received: 53, completed: xCats.length, dropped: { 'sensitive:x': 1 } });
  expect(summary.routes[`feed:${dogs}`]).toMatchObject({ received: 53, completed: xDogs.length, dropped: { 'other-feed': 53 - xDogs.length } });
  expect(summary.routes[`feed:${sky}`]).toMatchObject({ received: expectedSky.length + 2, completed: expectedSky.length, dropped: { 'other-feed': 1, 'sensitive:bluesky': 1 } });
  expect(summary.routes[`feed:${toots}`]).toMatchObject({ received: 6, completed: statuses.length, dropped: { 'sensitive:mastodon': 1 } });
});

test('run --watch: changed keywords change the X rules on the open stream, only by the difference', async () => {
  const feed = `watch-${randomUUID().slice(0, 6)}`;
  const server = new FakeXServer();
  // Another tool's rule on the same app: never touched.
  server.rules = [{ id: '42', value: 'from:someone', tag: 'marketing' }];
  const baseUrl = await server.listen();
  const config = join(dir, 'watch-x.yaml');
  const write = (keywords: string): Promise<void> =>
    writeFile(
      config,
      `broker: { url: "amqp://${broker.host}:${broker.amqpPort}", username: publisher, password: "\${TEST_PUBLISHER_PASSWORD}" }
sources: { x: { baseUrl: "${baseUrl}", tokenEnv: TEST_X_TOKEN } }
feeds: [ { name: ${feed}, network: x, keywords: [${keywords}] } ]
status: { enabled: false }
`,
    );
  await write('cat');
  const worker = startWorker(['run', '--config', config, '--watch'], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher, TEST_X_TOKEN: 'token' });
  try {
    await server.connection(1);
    const [first] = server.rules.filter((rule) => rule.tag === feed);
    expect(first?.value).toBe('(cat) has:images -is:retweet');
    const callsBefore = server.rulesCalls.length;

    await write('cat, kitten');
    await worker.waitFor(/"msg":"config reloaded"/);
    await expect.poll(() => server.rules.find((rule) => rule.tag === feed)?.value).toBe('(cat OR kitten) has:images -is:retweet');
    const newRule = { value: '(cat OR kitten) has:images -is:retweet', tag: feed };
    expect(server.rulesCalls.slice(callsBefore)).toEqual([
      { method: 'GET', query: {}, body: undefined },
      { method: 'POST', query: { dry_run: 'true' }, body: { add: [newRule] } },
      { method: 'POST', query: {}, body: { delete: { ids: [first?.id] } } },
      { method: 'POST', query: {}, body: { add: [newRule] } },
    ]);
    expect(server.rules.map(({ value, tag }) => ({ value, tag }))).toEqual([{ value: 'from:someone', tag: 'marketing' }, newRule]);
    // The stream stayed open: no second connection, and the source route was not restarted.
    expect(server.streamRequests).toBe(1);
    expect(worker.output()).not.toContain('route source:x stopping');
  } finally {
    worker.child.kill('SIGTERM');
  }
  expect(await worker.exited).toBe(0);
  await server.close();
});
