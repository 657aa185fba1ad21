import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeJetstream } from '../worker/src/sources/bluesky/fake-jetstream.js';
import { caturdayPosts, postId } from '../worker/src/sources/bluesky/testing.js';
import { photoStatusWithId } from '../worker/src/sources/mastodon/fake-statuses.js';
import { FakeMastodon } from '../worker/src/sources/mastodon/fake-mastodon.js';
import { FakeXServer } from '../worker/src/sources/x/fake-x-server.js';
import { root } from './worker.js';

/** The bundled recording's X posts with pictures, as stream lines matched to `feed`'s rule; with their item ids. */
async function xPosts(feed: string): Promise<{ line: string; id: string }[]> {
  const lines = (await readFile(join(root, 'samples/x-cats.ndjson'), 'utf8')).split('\r\n').filter((line) => line.includes('"media_keys"') && line.includes('"tag":"cats"'));
  return lines.map((line) => {
    const event = JSON.parse(line.replaceAll('"tag":"cats"', `"tag":"${feed}"`)) as { data: { id: string } };
    return { line: JSON.stringify(event), id: `x:${event.data.id}` };
  });
}

/**
 * Three live fakes — the X filtered stream, Jetstream and a Mastodon instance — for one feed that reads all three,
 * a way to put one post on any of them (resolving with the item id it makes), and the `sources:` section that points
 * a worker at them.
 */
export async function threeNetworks(feed: string) {
  const x = new FakeXServer();
  const jetstream = new FakeJetstream([]);
  const mastodon = new FakeMastodon();
  const [xUrl, jetstreamUrl, mastodonPort] = await Promise.all([x.listen(), jetstream.listen(), mastodon.listen()]);
  const fromX = await xPosts(feed);
  const fromSky = caturdayPosts(20, 'm', 1_725_911_000_000_000);
  let xIndex = 0;
  let skyIndex = 0;
  let tootId = 113_600_000_000_000_000n;
  const post = {
    x: async (): Promise<string> => {
      const next = fromX[xIndex++] as { line: string; id: string };
      await (await x.connection(1)).write(`${next.line}\r\n`);
      return next.id;
    },
    bluesky: (): string => {
      const event = fromSky[skyIndex++] as (typeof fromSky)[number];
      jetstream.send(event);
      return postId(event);
    },
    mastodon: (): string => {
      const id = String((tootId += 1n));
      mastodon.post(photoStatusWithId(id));
      return `mastodon:${id}`;
    },
  };
  const sources = `sources:
  x: { baseUrl: "${xUrl}", tokenEnv: TEST_X_TOKEN }
  bluesky: { endpoints: ["${jetstreamUrl}"], profiles: false }
  mastodon: { instances: ["http://127.0.0.1:${mastodonPort}"], interval: 300ms }`;
  return { x, jetstream, mastodon, mastodonPort, post, sources, close: () => Promise.all([x.close(), jetstream.close(), mastodon.close()]) };
}
