import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageAllowList, validateFeedItem, type FeedItem } from '@livewall/contract';
import { defaultComponents } from '../components/index.js';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { parseConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import { systemClock } from '../engine/types.js';
import { feedRoutes } from '../feeds.js';
import { imagesPost } from '../sources/bluesky/testing.js';
import type { ImageScores } from './classes.js';
import { ImageCheckService } from './service.js';
import type { ItemInspector } from './step.js';

afterEach(() => resetMocks());

/** A Bluesky post of the recording: its own rkey, by `author`. */
function event(index: number, author: string) {
  return {
    ...imagesPost,
    did: `did:plc:${author.padEnd(24, 'a')}`,
    time_us: imagesPost.time_us + index,
    commit: { ...imagesPost.commit, rkey: `3l3qo2vuow${index}ab`, record: { ...imagesPost.commit.record, text: `cat ${index} #caturday` } },
  };
}

const neutral: ImageScores = { Drawing: 0.1, Hentai: 0, Neutral: 0.9, Porn: 0, Sexy: 0 };
const explicit: ImageScores = { Drawing: 0, Hentai: 0.05, Neutral: 0.05, Porn: 0.9, Sexy: 0 };

/** Scores each item by its post's rkey: w1 and w3 explicit, w2 not checkable, the rest neutral. */
const inspector: ItemInspector = {
  inspect(item) {
    const key = item.id.slice(-4, -2);
    if (key === 'w2') return Promise.reject(Object.assign(new Error('host is not on the image allow-list'), { reason: 'off-list' }));
    return Promise.resolve(item.images.map(() => (key === 'w1' || key === 'w3' ? explicit : neutral)));
  },
};

async function run(moderation: string): Promise<{ topic: FeedItem[]; pending: FeedItem[]; dropped: Record<string, number>; counts: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'livewall-image-check-'));
  try {
    writeFileSync(join(dir, 'sky.ndjson'), `${[0, 1, 2, 3, 4].map((index) => JSON.stringify(event(index, index >= 3 ? 'organiser' : 'someone'))).join('\n')}\n`);
    const config = parseConfig(
      [
        'broker: { url: "amqp://localhost:5672" }',
        'sources:',
        '  bluesky: { replay: { file: sky.ndjson }, profiles: false }',
        'feeds:',
        `  - { name: sky-cats, network: bluesky, keywords: ["#caturday"], imageCheck: true${moderation} }`,
      ].join('\n'),
      join(dir, 'worker.yaml'),
      {},
    );
    const service = new ImageCheckService({ inspector });
    const engine = new Engine(defaultComponents().register(mockComponent), { baseDir: dir, clock: systemClock, log: pino({ level: 'silent' }), settings: {} });
    for (const route of feedRoutes(config, { producerUri: (topic) => `mock:${topic}`, imageCheck: service })) engine.add(route);
    const played = new Promise<void>((resolve) => engine.on('state', ({ route, state }: { route: string; state: string }) => route === 'source:bluesky' && state === 'completed' && resolve()));
    await engine.start();
    await played;
    await engine.stop(5000);
    return {
      topic: mockEndpoint('/topic/feed.sky-cats').bodies() as FeedItem[],
      pending: mockEndpoint('/queue/pending.sky-cats').bodies() as FeedItem[],
      dropped: engine.route('feed:sky-cats')!.status().counters.dropped,
      counts: [...service.counts.entries()],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rkeys = (items: FeedItem[]) => items.map((item) => item.id.slice(-4, -2));

describe('a feed route with the image check', () => {
  it('publishes what passed, drops what reached a threshold and what could not be checked, each counted', async () => {
    const { topic, pending, dropped, counts } = await run('');
    expect(rkeys(topic)).toEqual(['w0', 'w4']);
    expect(pending).toEqual([]);
    expect(topic.every((item) => item.imageCheck === undefined)).toBe(true);
    expect(dropped).toEqual({ 'image:Porn': 2, 'image-error:off-list': 1 });
    expect(counts).toEqual([
      { feed: 'sky-cats', outcome: 'passed', class: 'Neutral', count: 2 },
      { feed: 'sky-cats', outcome: 'flagged', class: 'Porn', count: 2 },
      { feed: 'sky-cats', outcome: 'error-dropped', class: 'off-list', count: 1 },
    ]);
  });

  it('in approval mode puts the items on the pending queue with their scores, a flagged one even from an allowed author', async () => {
    const { topic, pending, dropped } = await run(`, moderation: { mode: manual, allowedAuthors: { bluesky: ["${event(3, 'organiser').did}"] } }`);
    // w3 and w4 are the allowed organiser's: w4 passed and goes straight on, w3 was flagged and waits.
    expect(rkeys(pending)).toEqual(['w0', 'w1', 'w3']);
    expect(rkeys(topic)).toEqual(['w4']);
    expect(topic[0]!.imageCheck).toBeUndefined();
    expect(dropped).toEqual({ 'image-error:off-list': 1 });
    // The recorded post has two pictures: a score for each.
    expect(pending.map((item) => item.imageCheck)).toEqual([
      { scores: [neutral, neutral] },
      { scores: [explicit, explicit], flagged: 'Porn' },
      { scores: [explicit, explicit], flagged: 'Porn' },
    ]);
    for (const item of pending) expect(validateFeedItem(item, new ImageAllowList(['cdn.bsky.app']))).toMatchObject({ ok: true });
  });
});
