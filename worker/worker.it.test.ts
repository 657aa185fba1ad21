import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageAllowList, parseFeedItem, type FeedItem } from '@livewall/contract';
import type { Client } from '@stomp/stompjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { collect, connectStomp, durableSubscription } from '../test/stomp.js';
import { demoOrigin, recordingFor, root, workerConfig } from '../test/worker.js';

const broker = testBroker();
let dir: string;
let viewer: Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-worker-'));
  viewer = await connectStomp(broker.wsUrl);
});
afterAll(async () => {
  await viewer.deactivate();
  await rm(dir, { recursive: true, force: true });
});

function runWorker(config: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'worker/dist/cli.js'), 'run', '--config', config], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

test('the worker replays the recording and every post with a picture reaches a STOMP-over-WebSocket viewer as a valid feed item', async () => {
  const feed = `it-${randomUUID().slice(0, 8)}`;
  const config = join(dir, 'worker.yaml');
  await writeFile(config, workerConfig({ broker, feeds: [feed], recording: await recordingFor(dir, feed) }));
  await declareFeed(feed);
  const received = collect(viewer, `/topic/feed.${feed}`);
  await received.ready;

  const run = await runWorker(config, { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher });
  expect(run.code).toBe(0);
  // 49 posts with photos and 3 with a video or GIF still; the 4 text-only posts are dropped.
  const messages = await received.waitFor(52);
  expect(messages).toHaveLength(52);

  const allowList = new ImageAllowList(['pbs.twimg.com', 'cdn.bsky.app', demoOrigin]);
  const items: FeedItem[] = messages.map((message) => {
    const parsed = parseFeedItem(message.body, allowList);
    if (!parsed.ok) throw new Error(`${message.body}: ${parsed.reason}`);
    return parsed.item;
  });
  expect(new Set(items.map((item) => item.id)).size).toBe(52);
  expect(items.every((item) => item.feed === feed && item.network === 'x')).toBe(true);

  // In the recording's order, one message per post.
  const recording = (await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8')).split('\r\n').filter((line) => line.trim());
  const expectedIds = recording
    .map((line) => JSON.parse(line) as { data: { id: string; attachments?: unknown } })
    .filter((event) => event.data.attachments)
    .map((event) => `x:${event.data.id}`);
  expect(items.map((item) => item.id)).toEqual(expectedIds);

  const first = items[0] as FeedItem;
  const firstEvent = JSON.parse(recording[0] as string) as { data: { id: string; text: string }; includes: { media: { url: string }[]; users: { username: string }[] } };
  expect(first.url).toBe(`https://x.com/${firstEvent.includes.users[0]?.username}/status/${firstEvent.data.id}`);
  expect(first.images[0]?.url).toBe(firstEvent.includes.media[0]?.url.replace('https://pbs.twimg.com/media/', `${demoOrigin}/demo/media/`));
  expect(Date.parse(first.publishedAt)).toBeGreaterThanOrEqual(Date.parse(first.receivedAt));

  // One line per state change, the counters at the end, and never a password.
  const lines = run.output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.length).toBeLessThan(16);
  expect(lines.at(-1)).toMatchObject({
    msg: 'stopped',
    abandoned: 0,
    routes: {
      // The source route reads the recording's 56 events and hands the 52 posts with pictures to the feed's route.
      'source:x': { received: 56, completed: 52, failed: 0, dropped: { 'no-media': 4 } },
      [`feed:${feed}`]: { received: 52, completed: 52, failed: 0, dropped: {} },
    },
  });
  expect(run.output).not.toContain(broker.passwords.publisher);
});

test('a config error names the file and line, and the worker exits 1 without connecting', async () => {
  const config = join(dir, 'broken.yaml');
  await writeFile(config, 'broker:\n  url: amqp://localhost:1\nsources:\n  x:\n    replay:\n      file: x.ndjson\n      pase: 5/s\nfeeds:\n  - name: Cats\n');
  const run = await runWorker(config, {});
  expect(run.code).toBe(1);
  expect(run.output).toContain(`${config}:7:7: unknown field "pase" in sources.x.replay`);
  expect(run.output).toContain(`${config}:9:11: feed name "Cats" must match [a-z0-9-]{1,32}`);
});

test('SIGTERM during a burst loses nothing already taken from the source: a durable queue on the feed holds every item', async () => {
  const feed = `it-${randomUUID().slice(0, 8)}`;
  const config = join(dir, 'burst.yaml');
  const recording = await recordingFor(dir, feed);
  await writeFile(config, workerConfig({ broker, feeds: [feed], recording, replay: ['pace: 300/s', 'loop: true', 'restamp: true'] }));
  await declareFeed(feed);
  // The judge is the broker, not the worker's own counters: a durable subscription keeps what reached the feed.
  const queue = durableSubscription(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin }, `/topic/feed.${feed}`, `${feed}-judge`);
  await queue.ready;
  const worker = spawn(process.execPath, [join(root, 'worker/dist/cli.js'), 'run', '--config', config], {
    env: { ...process.env, TEST_PUBLISHER_PASSWORD: broker.passwords.publisher },
  });
  let output = '';
  worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));

  try {
    // Mid-burst: the route has items queued and in flight when the signal lands.
    await expect.poll(() => queue.ids.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(100);
    worker.kill('SIGTERM');
    expect(await exited, output).toBe(0);

    const summary = JSON.parse(output.trim().split('\n').at(-1) as string) as {
      msg: string;
      abandoned: number;
      routes: Record<string, { received: number; dropped: Record<string, number> }>;
    };
    expect(summary).toMatchObject({ msg: 'stopped', abandoned: 0 });
    // The items the source took: its first `received` events, through the looping recording, less those without a
    // picture; a later pass gives each post an id of its own (restamp).
    const taken = summary.routes['source:x']?.received ?? 0;
    const events = (await readFile(recording, 'utf8')).split('\r\n').filter((line) => line.trim());
    const expected: string[] = [];
    for (let index = 0; index < taken; index++) {
      const event = JSON.parse(events[index % events.length] as string) as { data: { id: string; attachments?: unknown } };
      const pass = Math.floor(index / events.length) + 1;
      if (event.data.attachments) expected.push(`x:${event.data.id}${pass > 1 ? `-p${pass}` : ''}`);
    }
    expect(expected.length).toBeGreaterThanOrEqual(100);
    // Nothing dropped but the posts without a picture: no queue-full, no duplicate, nothing thrown away at the stop.
    expect(summary.routes['source:x']?.dropped).toEqual({ 'no-media': taken - expected.length });
    expect(summary.routes[`feed:${feed}`]?.dropped).toEqual({});
    // Every item taken reached the broker, in the order taken (a redelivery may repeat one, never lose one).
    const firstSeen = (): string[] => [...new Set(queue.ids)];
    await expect.poll(() => firstSeen().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(expected.length);
    expect(firstSeen()).toEqual(expected);
  } finally {
    worker.kill('SIGKILL');
    await queue.stop();
  }
});
