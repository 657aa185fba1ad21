import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultComponents } from './components/index.js';
import { testLogger } from './components/testing.js';
import { parseConfig, type WorkerConfig } from './config.js';
import { feedPipeline } from './dsl/feed-pipeline.js';
import { systemClock, type Exchange } from './engine/types.js';
import type { Post } from './post.js';
import { record, RecordError } from './record.js';
import { FakeJetstream } from './sources/bluesky/fake-jetstream.js';
import { imagesPost, scriptedEvents } from './sources/bluesky/testing.js';
import { FakeMastodon } from './sources/mastodon/fake-mastodon.js';
import { photoStatusWithId } from './sources/mastodon/fake-statuses.js';
import { FakeXServer } from './sources/x/fake-x-server.js';
import { feedsOn } from './sources/feed-directory.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livewall-record-'));
  process.env.TEST_X_TOKEN = 'token';
});
afterAll(async () => {
  delete process.env.TEST_X_TOKEN;
  await rm(dir, { recursive: true, force: true });
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function configOf(sources: string, feeds: string): WorkerConfig {
  return parseConfig(`broker: { url: "amqp://localhost:5672" }\nimageHosts: [files.mastodon.social]\nsources:\n${sources}\nfeeds:\n${feeds}\n`, join(dir, 'worker.yaml'), { TEST_X_TOKEN: 'token' }, { requireBroker: false });
}

/** What the pipeline makes of each recorded line, as a replay of the file would decode it. */
function decodedPosts(lines: string[], decode: (exchange: Exchange) => unknown): Post[] {
  return lines.map((line) => decode({ id: 'replay', body: line, headers: {} }) as { kind: string; post?: Post }).map((event) => {
    if (event.kind !== 'post' || !event.post) throw new Error(`a recorded line is not a post: ${JSON.stringify(event)}`);
    return event.post;
  });
}

describe('record', () => {
  it('writes the feed\'s X events exactly as received, stops at --limit, and adds only the feed\'s own rule', async () => {
    const server = new FakeXServer();
    server.rules = [{ id: '7', value: '(dog) has:images -is:retweet', tag: 'dogs' }];
    const baseUrl = await server.listen();
    closers.push(() => server.close());
    const config = configOf(`  x: { baseUrl: "${baseUrl}", tokenEnv: TEST_X_TOKEN }`, '  - { name: cats, network: x, keywords: [cat] }\n  - { name: dogs, network: x, keywords: [dog] }');
    const out = join(dir, 'x.ndjson');
    const recording = record(config, { network: 'x', feed: 'cats', out, limit: 2 }, defaultComponents(), systemClock, testLogger(), new AbortController().signal);

    const stream = await server.connection(1);
    expect(server.rules.map((rule) => rule.tag).sort()).toEqual(['cats', 'dogs']);
    const post = (id: string, tag: string): string =>
      `{"data":{"id":"${id}","text":"a cat \\u00e9","author_id":"9","created_at":"2026-11-01T12:00:05.000Z","attachments":{"media_keys":["3_${id}"]}},` +
      `"includes":{"media":[{"media_key":"3_${id}","type":"photo","url":"https://pbs.twimg.com/media/${id}.jpg"}],"users":[{"id":"9","username":"alice","name":"Alice"}]},"matching_rules":[{"id":"1","tag":"${tag}"}]}`;
    // A keep-alive, a post for another feed, a broken line, then two of the feed's posts split across chunks.
    await stream.write('\r\n');
    await stream.write(`${post('101', 'dogs')}\r\n`);
    await stream.write('{"data": oops\r\n');
    const wanted = [post('102', 'cats'), post('103', 'cats')];
    const bytes = Buffer.from(`${wanted.join('\r\n')}\r\n${post('104', 'cats')}\r\n`);
    await stream.write(bytes.subarray(0, 77));
    await stream.write(bytes.subarray(77));

    const result = await recording;
    expect(result).toEqual({ recorded: 2, skipped: { 'other-feed': 1, 'invalid:not-json': 1 } });
    const lines = (await readFile(out, 'utf8')).split('\n');
    expect(lines).toEqual([...wanted, '']);
    const { decodeX } = feedPipeline({ imageHosts: config.imageHosts, videoPreviews: true, restamp: false });
    expect(decodedPosts(wanted, decodeX).map((decoded) => [decoded.nativeId, decoded.feeds])).toEqual([['102', ['cats']], ['103', ['cats']]]);
  });

  it('writes the Bluesky posts that match the feed\'s keywords, and the Mastodon statuses of its hashtags, until --duration', async () => {
    const jetstream = new FakeJetstream([...scriptedEvents(6), { ...imagesPost, time_us: 1_725_911_100_000_000, commit: { ...imagesPost.commit, rkey: '3l3qo2zzzzz2b', record: { ...imagesPost.commit.record, text: 'dogs' } } }]);
    const mastodon = new FakeMastodon([photoStatusWithId('113500000000000001'), photoStatusWithId('113500000000000002')]);
    const [jetstreamUrl, mastodonPort] = await Promise.all([jetstream.listen(), mastodon.listen()]);
    closers.push(() => jetstream.close(), () => mastodon.close());
    const config = configOf(
      `  bluesky: { endpoints: [${jetstreamUrl}] }\n  mastodon: { instances: ["http://127.0.0.1:${mastodonPort}"], interval: 1s }`,
      '  - { name: sky, network: bluesky, keywords: [caturday] }\n  - { name: toots, network: mastodon, keywords: [cats] }',
    );

    const skyOut = join(dir, 'sky.ndjson');
    const sky = await record(config, { network: 'bluesky', feed: 'sky', out: skyOut, limit: 4 }, defaultComponents(), systemClock, testLogger(), new AbortController().signal);
    expect(sky.recorded).toBe(4);
    const skyLines = (await readFile(skyOut, 'utf8')).trim().split('\n');
    const { decodeBluesky, decodeMastodon } = feedPipeline({ imageHosts: config.imageHosts, videoPreviews: true, restamp: false, feeds: (network) => feedsOn(config.feeds, network) });
    expect(decodedPosts(skyLines, decodeBluesky).every((post) => post.feeds.includes('sky'))).toBe(true);
    expect(skyLines.map((line) => (JSON.parse(line) as { time_us: number }).time_us)).toEqual(
      scriptedEvents(6)
        .filter((event) => (event as { commit?: { operation?: string } }).commit?.operation === 'create')
        .slice(0, 4)
        .map((event) => event.time_us),
    );

    const tootsOut = join(dir, 'toots.ndjson');
    const toots = await record(config, { network: 'mastodon', feed: 'toots', out: tootsOut, durationMs: 1500 }, defaultComponents(), systemClock, testLogger(), new AbortController().signal);
    expect(toots.recorded).toBe(2);
    const tootLines = (await readFile(tootsOut, 'utf8')).trim().split('\n');
    // Oldest first, as the timeline is read; a replay derives the instance from each status's uri.
    expect(decodedPosts(tootLines, decodeMastodon).map((post) => [post.nativeId, post.author.handle])).toEqual([
      ['113500000000000001', 'alice@mastodon.social'],
      ['113500000000000002', 'alice@mastodon.social'],
    ]);
  });

  it('refuses what it cannot record, saying why', async () => {
    const config = configOf('  x: { replay: { file: x.ndjson } }', '  - { name: cats, network: x }');
    const attempt = (options: { network: 'x' | 'bluesky'; feed: string }): Promise<unknown> =>
      record(config, { ...options, out: join(dir, 'never.ndjson') }, defaultComponents(), systemClock, testLogger(), new AbortController().signal);
    await expect(attempt({ network: 'x', feed: 'dogs' })).rejects.toThrow(new RecordError(`feed dogs is not in ${join(dir, 'worker.yaml')} (it has cats)`));
    await expect(attempt({ network: 'bluesky', feed: 'cats' })).rejects.toThrow('feed cats is on x, not bluesky');
    await expect(attempt({ network: 'x', feed: 'cats' })).rejects.toThrow('sources.x plays a recording; record reads the live service');
  });
});

describe('livewall-worker record (the built CLI)', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const run = (args: string[]): Promise<{ code: number; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [cli, 'record', ...args], { env: { PATH: process.env.PATH } }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
    });

  it('says what is missing or wrong: exit 2 for the command line, 1 for the config', { timeout: 30_000 }, async () => {
    const demo = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));
    const base = ['--config', demo, '--feed', 'cats', '--out', join(dir, 'cli.ndjson')];
    const [missing, source, duration, replay] = await Promise.all([
      run(['--source', 'x']),
      run([...base, '--source', 'tiktok']),
      run([...base, '--source', 'x', '--duration', 'soon']),
      run([...base, '--source', 'x']),
    ]);
    expect(missing).toEqual({ code: 2, stderr: expect.stringContaining('record: --config, --source, --feed and --out are required') });
    expect(source).toEqual({ code: 2, stderr: expect.stringContaining('--source must be x, bluesky or mastodon, not tiktok') });
    expect(duration).toEqual({ code: 2, stderr: expect.stringContaining('--duration must be a duration such as 90s or 10m, not soon') });
    expect(replay).toEqual({ code: 1, stderr: 'livewall-worker record: sources.x plays a recording; record reads the live service: give sources.x live settings (or none)\n' });
  });
});
