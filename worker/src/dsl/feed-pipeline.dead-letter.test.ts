import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withInvalidUtf8 } from '../../../test/fuzz.js';
import { defaultComponents } from '../components/index.js';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { fakeClock, testLogger } from '../components/testing.js';
import { parseConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import { feedRoutes } from '../feeds.js';
import { FakeJetstream } from '../sources/bluesky/fake-jetstream.js';
import { DID, imagesPost } from '../sources/bluesky/testing.js';
import { FakeMastodon } from '../sources/mastodon/fake-mastodon.js';
import { photoStatusWithId } from '../sources/mastodon/fake-statuses.js';

/**
 * The dead-letter endpoint of the Bluesky and Mastodon source routes, as the config makes them: a live fake source,
 * the routes of `feedRoutes`, the real `file:` producer. (The X source's is tested end to end in worker/sources.it.test.ts.)
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  resetMocks();
});

/** An engine running every route of `configText` (feeds to mock:<topic>); resolves once the dead-letter file had `count` sends. */
async function running(configText: string, dir: string) {
  const config = parseConfig(configText, join(dir, 'worker.yaml'), {});
  const engine = new Engine(defaultComponents().register(mockComponent), { baseDir: dir, clock: fakeClock(), log: testLogger(), settings: {} });
  for (const route of feedRoutes(config, { producerUri: (topic) => `mock:${topic}` })) engine.add(route);
  const deadLetters = join(dir, 'rejected.ndjson');
  let sent = 0;
  const watchers: { count: number; resolve: () => void }[] = [];
  engine.on('sent', ({ uri }: { uri: string }) => {
    if (!uri.startsWith('file:')) return;
    sent++;
    for (const watcher of watchers.filter((w) => sent >= w.count)) watcher.resolve();
  });
  await engine.start();
  cleanups.push(() => engine.stop(1000));
  return {
    /** The dead-letter file's lines once `count` of them were written. */
    async deadLettered(count: number): Promise<unknown[]> {
      if (sent < count) await new Promise<void>((resolve) => watchers.push({ count, resolve }));
      return (await readFile(deadLetters, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    },
  };
}

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'livewall-dead-letter-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the dead-letter endpoint of the live sources', () => {
  it('gets a Jetstream event the decoder rejected, and one that is not JSON, with reason, network and raw text; the feed goes on', async () => {
    const badDid = { ...imagesPost, did: 'did:evil:<script>', time_us: 1_725_911_100_000_000 };
    const next = { ...imagesPost, time_us: 1_725_911_100_002_000, commit: { ...imagesPost.commit, rkey: '3l3qo2next' } };
    const jetstream = new FakeJetstream([imagesPost, badDid]);
    const url = await jetstream.listen();
    cleanups.push(() => jetstream.close());
    const dir = await temporaryDir();
    const { deadLettered } = await running(
      ['broker: { url: "amqp://localhost:5672" }', 'sources:', `  bluesky: { endpoints: [${url}], profiles: false }`, 'feeds:', '  - { name: sky-cats, network: bluesky, keywords: ["#caturday"] }', 'deadLetter: file:rejected.ndjson'].join('\n'),
      dir,
    );
    const feed = mockEndpoint('/topic/feed.sky-cats');
    feed.expectedCount(1);
    await feed.assertIsSatisfied();
    const truncated = withInvalidUtf8('{"did":"BROKEN","time_us":1725911100001000,"kind":"comm', 'BROKEN');
    jetstream.sendText(truncated);
    jetstream.send(next);
    feed.expectedCount(2);
    await feed.assertIsSatisfied();

    expect(await deadLettered(2)).toEqual(
      expect.arrayContaining([
        { rejected: 'bad-did', network: 'bluesky', raw: JSON.stringify(badDid), at: expect.any(String) },
        { rejected: 'not-json', network: 'bluesky', raw: truncated.toString('utf8'), at: expect.any(String) },
      ]),
    );
    expect(feed.bodies().map((item) => (item as { id: string }).id)).toEqual([`bluesky:${DID}/${imagesPost.commit.rkey}`, `bluesky:${DID}/3l3qo2next`]);
  });

  it('gets a Mastodon status the decoder rejected, with reason, network and raw text; the feed goes on', async () => {
    const noAuthor = photoStatusWithId('113370000000000102', { account: { acct: 'evil<script>', url: 'https://mastodon.social/@evil' } });
    const mastodon = new FakeMastodon([photoStatusWithId('113370000000000101'), noAuthor, photoStatusWithId('113370000000000103')]);
    const port = await mastodon.listen();
    cleanups.push(() => mastodon.close());
    const dir = await temporaryDir();
    const { deadLettered } = await running(
      [
        'broker: { url: "amqp://localhost:5672" }',
        'imageHosts: [files.mastodon.social]',
        'sources:',
        `  mastodon: { instances: ["http://127.0.0.1:${port}"] }`,
        'feeds:',
        '  - { name: toot-cats, network: mastodon, keywords: [cats] }',
        'deadLetter: file:rejected.ndjson',
      ].join('\n'),
      dir,
    );
    const feed = mockEndpoint('/topic/feed.toot-cats');
    feed.expectedCount(2);
    await feed.assertIsSatisfied();

    expect(await deadLettered(1)).toEqual([{ rejected: 'no-author', network: 'mastodon', raw: JSON.stringify(noAuthor), at: expect.any(String) }]);
    expect(feed.bodies().map((item) => (item as { id: string }).id).sort()).toEqual(['mastodon:113370000000000101', 'mastodon:113370000000000103']);
  });
});
