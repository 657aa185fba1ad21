import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client, IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { brokerProfile, type BrokerProfileName } from '@livewall/contract';
import { declareFeed, testBroker, type TestBroker } from '../test/broker.js';
import { PrivateBroker } from '../test/private-broker.js';
import { freePort } from '../test/ports.js';
import { collect, connectStomp } from '../test/stomp.js';
import { longRecording, recordingFor, root, startWorker, workerConfig } from '../test/worker.js';

/**
 * Live takedown and approval mode, worker side, against the real Artemis: `moderate` (the CLI, with the moderator
 * login) writes each action to the moderation log and the feed's topic; a worker reads the log from its start over
 * STOMP (broker.stomp) before it publishes anything, and never publishes a hidden item or a blocked author's post.
 */
const broker = testBroker();
const execFileAsync = promisify(execFile);
let dir: string;
let admin: Client;

/** A broker the tests run against: the test Artemis, or a RabbitMQ node of their own; its kind, and an admin's STOMP client. */
interface Target {
  broker: TestBroker;
  profile: BrokerProfileName;
  admin: Client;
}
let artemis: Target;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-moderation-'));
  admin = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin });
  artemis = { broker, profile: 'artemis', admin };
});
afterAll(async () => {
  await admin.deactivate();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `livewall-worker moderate ARGS` with the moderator's password (or `env`'s); resolves with its exit code and output. */
async function moderate(args: string[], env?: Record<string, string>, on: Target = artemis): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [join(root, 'worker/dist/cli.js'), 'moderate', '--profile', on.profile, '--port', String(on.broker.stompTcpPort), '--host', on.broker.host, ...args], {
      env: { ...process.env, LIVEWALL_MODERATOR_PASSWORD: '', ...(env ?? { LIVEWALL_MODERATOR_PASSWORD: on.broker.passwords.moderator }) },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What arrived on a feed's topic: the items' ids, and the moderation actions, told apart by `kind`. */
function feedTopic(feed: string, on: Target = artemis): { ready: Promise<void>; itemIds: () => string[]; actions: () => { action: string; itemId?: string }[] } {
  const collector = collect(on.admin, brokerProfile(on.profile).stompDestination(feed));
  const bodies = (): Record<string, unknown>[] => collector.messages.map((message: IMessage) => JSON.parse(message.body) as Record<string, unknown>);
  return {
    ready: collector.ready,
    itemIds: () => bodies().filter((body) => body.kind === undefined).map((body) => body.id as string),
    actions: () => bodies().filter((body) => body.kind === 'moderation') as { action: string; itemId?: string }[],
  };
}

/** A worker config for `feed` replaying its own copy of the recording (or `recording`) once, reading the moderation log. */
async function replayConfig(feed: string, name: string, extra = '', recording?: string, on: Target = artemis): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const config = workerConfig({ broker: on.broker, profile: on.profile, feeds: [feed], recording: recording ?? (await recordingFor(dir, feed)), replay: ['pace: 200/s'], extra: `status: { enabled: false }\n${extra}` }).replace(
    '  password: ${TEST_PUBLISHER_PASSWORD}\n',
    `  password: \${TEST_PUBLISHER_PASSWORD}\n  stomp: stomp://${on.broker.host}:${on.broker.stompTcpPort}\n`,
  );
  await writeFile(file, config);
  return file;
}

/** Runs the worker on `config` until its replay is done; resolves with its output. */
async function replayOnce(config: string, on: Target = artemis): Promise<string> {
  const worker = startWorker(['run', '--config', config], { TEST_PUBLISHER_PASSWORD: on.broker.passwords.publisher });
  expect(await worker.exited).toBe(0);
  return worker.output();
}

/** The X ids of the recording's posts with pictures by `handle`, as feed items name them. */
async function idsBy(feed: string, handle: string): Promise<string[]> {
  const lines = (await readFile(join(dir, `${feed}.ndjson`), 'utf8')).split('\r\n').filter((line) => line.trim() !== '');
  return lines.flatMap((line) => {
    const event = JSON.parse(line) as { data: { id: string; author_id: string; attachments?: unknown }; includes?: { users?: { id: string; username: string }[] } };
    const author = event.includes?.users?.find((user) => user.id === event.data.author_id)?.username;
    return author === handle && event.data.attachments ? [`x:${event.data.id}`] : [];
  });
}

/**
 * A worker replays a recording to `feed`; while it is down a moderator hides one of its items; the worker replays the
 * same recording from its start: every item comes again but that one.
 */
async function restartAfterTakedown(feed: string, on: Target): Promise<void> {
  const topic = feedTopic(feed, on);
  await topic.ready;
  // 240 posts, each with an id of its own; a feed hands the next owner the ids it published last (100 at most), so
  // a replay from the start publishes the earlier ones again: at-least-once, but never a hidden one.
  const { file: recording } = await longRecording(dir, feed, 240);
  const first = await replayOnce(await replayConfig(feed, `${feed}-1`, '', recording, on), on);
  expect(first).toContain('moderation log read: publishing the feeds');
  const published = topic.itemIds();
  expect(published.length).toBeGreaterThan(150);
  const hidden = published[3] as string;

  // While the worker is down, a moderator hides one of its items.
  const hide = await moderate(['hide', feed, hidden, '--reason', 'posted without consent'], undefined, on);
  expect(hide).toMatchObject({ code: 0, stderr: '' });
  expect(hide.stdout).toContain(`hide ${hidden} on feed ${feed}: recorded in the moderation log and sent to ${brokerProfile(on.profile).moderation.feedSendDestination(feed)}`);
  // The copy on the feed's topic is what open pages act on.
  await expect.poll(() => topic.actions()).toEqual([expect.objectContaining({ action: 'hide', itemId: hidden })]);

  // The same recording again from its start (a copy: a file of another name has no place kept): the items beyond
  // the handed-over ids come again, every one but the hidden one.
  const again = join(dir, `${feed}-again.ndjson`);
  await writeFile(again, await readFile(recording));
  const second = await replayOnce(await replayConfig(feed, `${feed}-2`, '', again, on), on);
  const early = published.slice(0, 50);
  await expect.poll(() => topic.itemIds().length - published.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(early.length - 1);
  expect(topic.itemIds().slice(published.length, published.length + early.length - 1)).toEqual(early.filter((id) => id !== hidden));
  expect(topic.itemIds().filter((id) => id === hidden)).toHaveLength(1);
  // The worker learned the takedown from the log before it published anything.
  expect(second.indexOf('moderation: hide on feed')).toBeGreaterThan(-1);
  expect(second.indexOf('moderation: hide on feed')).toBeLessThan(second.indexOf('moderation log read: publishing the feeds'));
  const list = await moderate(['list', feed, '--json'], undefined, on);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toMatchObject({ feed, hidden: [hidden], blockedAuthors: [], entries: [expect.objectContaining({ action: 'hide', itemId: hidden, by: 'moderator', reason: 'posted without consent' })] });
}

test('a worker restarted after a takedown issued while it was down does not publish the item again: the replay brings every other item', async () => {
  await restartAfterTakedown(`takedown-${randomUUID().slice(0, 6)}`, artemis);
}, 120_000);

test('the same on RabbitMQ: the log is a stream read from its first entry, the takedown reaches the worker that was down', async () => {
  const feed = `takedown-${randomUUID().slice(0, 6)}`;
  const rabbit = await PrivateBroker.start(`test-takedown-rabbitmq-${process.pid}`, {}, { profile: 'rabbitmq', feeds: [feed] });
  const client = await connectStomp(rabbit.info.operatorWsUrl, { login: 'admin', passcode: rabbit.info.passwords.admin });
  try {
    await restartAfterTakedown(feed, { broker: rabbit.info, profile: 'rabbitmq', admin: client });
  } finally {
    await client.deactivate();
    await rabbit.remove();
  }
}, 240_000);

test('moderate block keeps an author\'s later posts off the feed, counted as blocked-author in /metrics and /status', async () => {
  const feed = `block-${randomUUID().slice(0, 6)}`;
  const topic = feedTopic(feed);
  await topic.ready;
  const port = await freePort();
  const config = await replayConfig(feed, feed, `ops: { port: ${port} }\n`);
  const blocked = await idsBy(feed, 'midnightzoomies');
  expect(blocked.length).toBeGreaterThan(3);
  const block = await moderate(['block', feed, 'x:@MidnightZoomies', '--reason', 'spam']);
  expect(block).toMatchObject({ code: 0, stderr: '' });

  const worker = startWorker(['run', '--config', config, '--watch'], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
  try {
    await worker.waitFor(/moderation log read: publishing the feeds/);
    // Ready once the log is read (the feed's endpoint was held until then).
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    await expect.poll(() => topic.itemIds().length, { timeout: 20_000 }).toBeGreaterThan(20);
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await expect.poll(async () => (await metrics()).match(new RegExp(`livewall_dropped_total\\{route="feed:${feed}",reason="blocked-author"\\} (\\d+)`))?.[1], { timeout: 20_000 }).toBe(String(blocked.length));
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { moderation: { held: boolean; log: { caughtUp: boolean }; feeds: Record<string, { blockedAuthors: string[]; dropped: Record<string, number> }> } };
    expect(status.moderation).toMatchObject({ held: false, log: { caughtUp: true }, feeds: { [feed]: { blockedAuthors: ['x:midnightzoomies'], dropped: { 'blocked-author': blocked.length, hidden: 0 } } } });
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  expect(topic.itemIds().filter((id) => blocked.includes(id))).toEqual([]);

  // unblock ends it: the feed has no blocked author any more, and the log keeps both actions.
  expect((await moderate(['unblock', feed, 'x:midnightzoomies'])).code).toBe(0);
  const list = await moderate(['list', feed]);
  expect(list.code).toBe(0);
  expect(list.stdout).toContain(`feed ${feed}: 0 hidden items, 0 blocked authors`);
  expect(list.stdout).toMatch(/ moderator {2}block x:MidnightZoomies {2}— spam\n.* moderator {2}unblock x:midnightzoomies\n/);
}, 90_000);

test('moderate: a refused login, an unreachable broker, bad arguments and a missing password each fail clearly, and the password is never printed', async () => {
  const wrong = await moderate(['hide', 'cats', 'x:1'], { LIVEWALL_MODERATOR_PASSWORD: 'not-the-password' });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/^livewall-worker moderate hide: stomp: cannot connect to 127\.0\.0\.1:\d+ as moderator: /);
  expect(wrong.stderr).not.toContain('not-the-password');

  const closed = await freePort();
  const unreachable = await moderate(['list', 'cats', '--port', String(closed)]);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain(`cannot connect to 127.0.0.1:${closed} as moderator: connect ECONNREFUSED`);
  expect(unreachable.stderr).not.toContain(broker.passwords.moderator);

  const badAuthor = await moderate(['block', 'cats', 'troll']);
  expect(badAuthor.code).toBe(2);
  expect(badAuthor.stderr).toContain('name the author as NETWORK:HANDLE');
  const badItem = await moderate(['hide', 'cats', 'not an id']);
  expect(badItem.code).toBe(2);
  const badFeed = await moderate(['hide', 'Cats!', 'x:1']);
  expect(badFeed.code).toBe(2);
  expect(badFeed.stderr).toContain('feed must match');
  const unknown = await moderate(['erase', 'cats', 'x:1']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown action "erase"');
  const noPassword = await moderate(['hide', 'cats', 'x:1'], {});
  expect(noPassword.code).toBe(2);
  expect(noPassword.stderr).toContain('LIVEWALL_MODERATOR_PASSWORD is not set');

  // A login that may not write the log (the publisher's) is refused by the broker: nothing recorded.
  const publisher = await moderate(['hide', 'cats', 'x:1', '--login', 'publisher'], { LIVEWALL_MODERATOR_PASSWORD: broker.passwords.publisher });
  expect(publisher.code).toBe(1);
  expect(publisher.stderr).toMatch(/moderate hide: not recorded: .*the broker refused/);
}, 60_000);

test('tap --moderation prints the moderation log: who, what, when, why', async () => {
  const feed = `tap-${randomUUID().slice(0, 6)}`;
  // A feed nobody published to has no topic yet: the moderator cannot make one, and the action is recorded but not sent.
  const early = await moderate(['hide', feed, 'x:41']);
  expect(early.code).toBe(1);
  expect(early.stderr).toContain(`livewall-worker moderate hide: recorded in the moderation log (workers will apply it) but not sent to /topic/feed.${feed}`);
  await declareFeed(feed);
  expect((await moderate(['hide', feed, 'x:42', '--reason', 'off topic'])).code).toBe(0);
  expect((await moderate(['block', feed, 'bluesky:troll.bsky.social'])).code).toBe(0);
  const { stdout } = await execFileAsync(
    process.execPath,
    [join(root, 'worker/dist/cli.js'), 'tap', '--moderation', feed, '--limit', '3', '--ndjson', '--login', 'moderator', '--host', broker.host, '--port', String(broker.stompTcpPort)],
    { env: { ...process.env, LIVEWALL_TAP_PASSCODE: broker.passwords.moderator }, timeout: 20_000 },
  );
  const actions = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(actions).toEqual([
    expect.objectContaining({ action: 'hide', feed, itemId: 'x:41', by: 'moderator' }),
    expect.objectContaining({ action: 'hide', feed, itemId: 'x:42', by: 'moderator', reason: 'off topic', at: expect.stringMatching(/^\d{4}-/) }),
    expect.objectContaining({ action: 'block', feed, author: { network: 'bluesky', handle: 'troll.bsky.social' }, by: 'moderator' }),
  ]);
}, 60_000);

test('approval mode: a feed\'s items go to its pending queue, not its topic; an allowed author\'s go straight to the topic', async () => {
  const feed = `manual-${randomUUID().slice(0, 6)}`;
  const topic = feedTopic(feed);
  await topic.ready;
  const config = await replayConfig(feed, feed, '');
  const allowedIds = await idsBy(feed, 'captainfloof');
  await writeFile(config, (await readFile(config, 'utf8')).replace(`  - name: ${feed}`, `  - name: ${feed}\n    moderation: { mode: manual, allowedAuthors: { x: [CaptainFloof] } }`));
  await replayOnce(config);
  const pending = collect(admin, `/queue/pending.${feed}`);
  await pending.ready;
  await expect.poll(() => pending.messages.length, { timeout: 20_000 }).toBeGreaterThan(10);
  const pendingIds = pending.messages.map((message) => (JSON.parse(message.body) as { id: string }).id);
  expect(pendingIds.filter((id) => allowedIds.includes(id))).toEqual([]);
  // The allowed author's posts, and only theirs, went straight to the topic.
  await expect.poll(() => topic.itemIds().length).toBeGreaterThan(2);
  expect(topic.itemIds().filter((id) => !allowedIds.includes(id))).toEqual([]);
}, 90_000);

test('approval mode: an item the full pending queue refuses is dropped and counted as overflow, not tried again', async () => {
  const feed = `overflow-${randomUUID().slice(0, 6)}`;
  // More items than the broker's bound of a pending queue (activemq/broker.xml: max-size-messages 10000, FAIL).
  const { file: recording, ids } = await longRecording(dir, feed, 12_500);
  expect(ids.length).toBeGreaterThan(10_000);
  const port = await freePort();
  const config = await replayConfig(feed, feed, `ops: { port: ${port} }\n`, recording);
  await writeFile(config, (await readFile(config, 'utf8')).replace('pace: 200/s', 'pace: 5000/s').replace(`  - name: ${feed}`, `  - name: ${feed}\n    moderation: { mode: manual }`));
  const worker = startWorker(['run', '--config', config, '--watch'], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
  try {
    const figure = async (name: string, labels: string): Promise<number> => Number((await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).match(new RegExp(`^${name}\\{${labels}\\} (\\d+)`, 'm'))?.[1] ?? 0);
    await expect.poll(() => figure('livewall_dropped_total', `route="feed:${feed}",reason="overflow"`), { timeout: 60_000, interval: 500 }).toBe(ids.length - 10_000);
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { moderation: { feeds: Record<string, { dropped: Record<string, number> }> } };
    expect(status.moderation.feeds[feed]?.dropped.overflow).toBe(ids.length - 10_000);
    // A refusal is not a failure of the route (nothing was tried again, nothing dead-lettered): every item went through.
    expect(await figure('livewall_failed_total', `route="feed:${feed}"`)).toBe(0);
    expect(await figure('livewall_sent_total', `route="feed:${feed}"`)).toBe(ids.length);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}, 120_000);
