/**
 * One wall from three networks, end to end: a worker reads a fake X stream, Jetstream and Mastodon instance into one
 * feed (`networks: [x, bluesky, mastodon]`), and the page in Chromium shows their posts as one wall, newest first in
 * the order they arrived, each card marked with its network. The networks' image hosts are answered by the test
 * (there is no internet here) under the page's own CSP.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrokerProfileName } from '@livewall/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../test/broker.js';
import { PrivateBroker } from '../test/private-broker.js';
import { threeNetworks } from '../test/three-networks.js';
import { startWorker } from '../test/worker.js';
import { accessibility, tileIds, WallHarness } from './test/wall-harness.js';

const harness = new WallHarness('networks');
const feed = harness.feedName('mixed');
/** The image hosts of the three networks' posts (X's and Bluesky's are allowed by default). */
const NETWORK_IMAGES = /^https:\/\/(pbs\.twimg\.com|cdn\.bsky\.app|files\.mastodon\.social)\//;

beforeAll(async () => {
  await harness.start([feed], { imageHosts: ['files.mastodon.social'] });
});
afterAll(() => harness.close());

/** The worker on `broker` and the page at `origin` (served for that broker), the feed `wall` read from three fakes. */
async function mixedWall(wall: string, broker: TestBroker, profile: BrokerProfileName, origin: string): Promise<void> {
  const fakes = await threeNetworks(wall);
  const config = path.join(harness.dir, `mixed-${profile}.yaml`);
  await writeFile(
    config,
    `broker: { url: "amqp://${broker.host}:${broker.amqpPort}", username: publisher, password: "\${TEST_PUBLISHER_PASSWORD}", profile: ${profile} }
imageHosts: [files.mastodon.social]
${fakes.sources}
feeds:
  - { name: ${wall}, networks: [x, bluesky, mastodon], keywords: [caturday] }
moderation: { perAuthor: false }
status: { enabled: false }
`,
  );
  const worker = startWorker(['run', '--config', config], { TEST_PUBLISHER_PASSWORD: broker.passwords.publisher, TEST_X_TOKEN: 'token' });
  const picture = await readFile(path.join(harness.media, 'cat-0.png'));
  const requested: string[] = [];
  try {
    const { page, problems } = await harness.openWall(wall, {
      origin,
      prepare: (context) =>
        context.route(NETWORK_IMAGES, (route) => {
          requested.push(new URL(route.request().url()).host);
          return route.fulfill({ status: 200, contentType: 'image/png', body: picture });
        }),
    });
    await fakes.x.connection(1);
    await fakes.jetstream.whenRequested(1);

    // Taking turns, each on the wall before the next is posted.
    const sent: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const network of ['x', 'bluesky', 'mastodon'] as const) {
        sent.push(await fakes.post[network]());
        await page.locator(`[data-testid="tile"][data-id="${sent.at(-1)}"]`).waitFor({ state: 'attached', timeout: 20_000 });
      }
    }
    // One wall, newest first.
    expect(await page.locator('[data-testid="wall"]').count()).toBe(1);
    expect(await tileIds(page)).toEqual([...sent].reverse());
    const cards = await page.$$eval('[data-testid="tile"]', (tiles) =>
      tiles.map((tile) => ({ network: (tile as HTMLElement).dataset.network, badge: (tile.querySelector('time') as HTMLElement).dataset.networkName, badgeShown: getComputedStyle(tile.querySelector('time') as Element, '::before').content })),
    );
    const badges = { x: 'X', bluesky: 'Bluesky', mastodon: 'Mastodon' } as const;
    expect(cards).toEqual(
      [...sent].reverse().map((id) => {
        const network = id.split(':')[0] as keyof typeof badges;
        return { network, badge: badges[network], badgeShown: expect.stringContaining(badges[network]) as unknown as string };
      }),
    );
    // As assistive technology reads them: each card's description names its network.
    const described = await accessibility(page, '[data-testid="tile"]');
    expect(described.map((card) => card.description.match(/\b(X|Bluesky|Mastodon)\b/)?.[1])).toEqual(cards.map((card) => card.badge));
    // The pictures came from each network's own image host, allowed by the page's CSP: no violation, no error.
    await expect.poll(() => new Set(requested)).toEqual(new Set(['pbs.twimg.com', 'cdn.bsky.app', 'files.mastodon.social']));
    expect(problems).toEqual([]);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await fakes.close();
  }
}

it('a feed from X, Bluesky and Mastodon is one wall, in the order the posts arrived, each card with its network', async () => {
  await mixedWall(feed, testBroker(), 'artemis', harness.base);
}, 120_000);

it('the same on RabbitMQ', async () => {
  const wall = harness.feedName('mixed-rabbitmq');
  const rabbit = await PrivateBroker.start(`test-wall-networks-${process.pid}`, {}, { profile: 'rabbitmq', feeds: [wall] });
  try {
    const origin = await harness.serve(() => ({ brokerUrls: [rabbit.info.wsUrl], brokerProfile: 'rabbitmq', feeds: [{ name: wall, title: wall }], imageHosts: ['files.mastodon.social'] }), rabbit.info);
    await mixedWall(wall, rabbit.info, 'rabbitmq', origin);
  } finally {
    await rabbit.remove();
  }
}, 240_000);
