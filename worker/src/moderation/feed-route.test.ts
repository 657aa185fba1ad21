import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultComponents } from '../components/index.js';
import { mockComponent, mockEndpoint, resetMocks } from '../components/mock/index.js';
import { parseConfig } from '../config.js';
import { Engine } from '../engine/engine.js';
import { systemClock } from '../engine/types.js';
import { feedRoutes } from '../feeds.js';
import { imagesPost } from '../sources/bluesky/testing.js';

afterEach(() => resetMocks());

/** A Bluesky post of the recording: its own rkey, by `author`, saying `text` (with the feed's hashtag). */
function event(index: number, author: string, text: string) {
  return {
    ...imagesPost,
    did: `did:plc:${author.padEnd(24, 'a')}`,
    time_us: imagesPost.time_us + index,
    commit: { ...imagesPost.commit, rkey: `3l3qo2vuow${index}ab`, record: { ...imagesPost.commit.record, text: `${text} #caturday` } },
  };
}

describe('a feed route with moderation rules', () => {
  it('drops by rule, each drop counted under its reason, and publishes the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'livewall-moderation-'));
    const events = [
      event(0, 'busy', 'my cat'),
      event(1, 'busy', 'my cat again'),
      event(2, 'troll', 'a cat'),
      event(3, 'busy', 'and again'),
      event(4, 'other', 'a cat at the ｃａｓｉｎｏ'),
      event(5, 'other', 'what the fuck, a cat'),
      event(6, 'busy', 'one too many'),
      event(7, 'other', 'a classic cat'),
    ];
    try {
      writeFileSync(join(dir, 'sky.ndjson'), `${events.map((entry) => JSON.stringify(entry)).join('\n')}\n`);
      const config = parseConfig(
        [
          'broker: { url: "amqp://localhost:5672" }',
          'sources:',
          '  bluesky: { replay: { file: sky.ndjson }, profiles: false }',
          'moderation:',
          '  blockedWords: [casino]',
          `  blockedAuthors: { bluesky: ["${events[2]!.did}"] }`,
          '  perAuthor: { posts: 3, per: 10m }',
          'feeds:',
          '  - { name: sky-cats, network: bluesky, keywords: ["#caturday"] }',
        ].join('\n'),
        join(dir, 'worker.yaml'),
        {},
      );
      const engine = new Engine(defaultComponents().register(mockComponent), { baseDir: dir, clock: systemClock, log: pino({ level: 'silent' }), settings: {} });
      for (const route of feedRoutes(config, { producerUri: (topic) => `mock:${topic}` })) engine.add(route);
      const played = new Promise<void>((resolve) => engine.on('state', ({ route, state }: { route: string; state: string }) => route === 'source:bluesky' && state === 'completed' && resolve()));
      await engine.start();
      await played;
      await engine.stop(5000);

      const rkeys = mockEndpoint('/topic/feed.sky-cats').received.map((exchange) => (exchange.body as { id: string }).id.slice(-4, -2));
      expect(rkeys).toEqual(['w0', 'w1', 'w3', 'w7']);
      expect(engine.route('feed:sky-cats')!.status().counters.dropped).toEqual({ 'blocked-author': 1, 'blocked-word': 1, profanity: 1, 'author-rate': 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
