import type { FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { fakeClock, settle, testEngine } from '../engine/testing.js';
import { from } from '../engine/definition.js';
import type { Exchange } from '../engine/types.js';
import type { ImageScores } from './classes.js';
import { IMAGE_CHECK_DEFAULTS, type ImageCheckConfig } from './config.js';
import { ImageAllowList } from '@livewall/contract';
import { ImageCheckCounts, imageCheckStep, isImageFlagged, passesImageCheck, type ItemInspector } from './step.js';

const allowList = new ImageAllowList(['pbs.twimg.com']);

/** Scores with `risky` on one class and the rest on Neutral. */
function scores(risky: Partial<ImageScores> = {}): ImageScores {
  const base: ImageScores = { Drawing: 0, Hentai: 0, Neutral: 0, Porn: 0, Sexy: 0, ...risky };
  base.Neutral = 1 - Object.values(base).reduce((sum, value) => sum + value, 0);
  return base;
}

function item(id: string, images = 1): FeedItem {
  return { id: `x:${id}`, images: Array.from({ length: images }, (_, index) => ({ url: `https://pbs.twimg.com/media/${id}-${index}.jpg`, thumb: `https://pbs.twimg.com/media/${id}-${index}.jpg?name=small` })) } as unknown as FeedItem;
}

/** An inspector the test answers by hand, item by item (by id), in any order. */
function handInspector() {
  const waiting = new Map<string, { resolve(scores: ImageScores[]): void; reject(error: Error): void; signal: AbortSignal }>();
  const inspector: ItemInspector = {
    inspect: (feedItem, _config, _allowList, signal) => new Promise((resolve, reject) => waiting.set(feedItem.id, { resolve, reject, signal })),
  };
  return { inspector, waiting, answer: (id: string, ...found: ImageScores[]) => waiting.get(`x:${id}`)!.resolve(found), fail: (id: string, error: Error) => waiting.get(`x:${id}`)!.reject(error) };
}

function run(config: Partial<ImageCheckConfig> = {}, toApproval = false) {
  const clock = fakeClock();
  const hand = handInspector();
  const counts = new ImageCheckCounts();
  const full = { ...IMAGE_CHECK_DEFAULTS, ...config };
  const step = imageCheckStep({ feed: 'cats', config: full, inspector: hand.inspector, allowList, counts, sleep: (ms, signal) => clock.sleep(ms, signal) });
  const keep = passesImageCheck(full, toApproval);
  /** The items in the order the step hands them on, with what the filter says of each. */
  const out: { id: string; kept: boolean | string; flagged: boolean }[] = [];
  const offer = (id: string): Promise<void> => {
    const exchange: Exchange = { id, body: item(id), headers: {} };
    return step(exchange).then((body) => {
      out.push({ id: body.id.slice(2), kept: keep(exchange), flagged: isImageFlagged(exchange) });
    });
  };
  return { clock, hand, counts, offer, out };
}

describe('the image check step', () => {
  it('passes an item under every threshold and drops one that reaches a threshold, counting each by class', async () => {
    const { hand, counts, offer, out } = run();
    const done = [offer('a'), offer('b'), offer('c'), offer('d')];
    hand.answer('a', scores({ Drawing: 0.9 }));
    hand.answer('b', scores({ Porn: 0.7 }));
    // Sexy's threshold is 0.9: 0.89 passes.
    hand.answer('c', scores({ Sexy: 0.89 }));
    // The second picture of an item counts as much as the first.
    hand.answer('d', scores(), scores({ Hentai: 0.95 }));
    await Promise.all(done);
    expect(out).toEqual([
      { id: 'a', kept: true, flagged: false },
      { id: 'b', kept: 'image:Porn', flagged: true },
      { id: 'c', kept: true, flagged: false },
      { id: 'd', kept: 'image:Hentai', flagged: true },
    ]);
    expect([...counts.entries()]).toEqual([
      { feed: 'cats', outcome: 'passed', class: 'Drawing', count: 1 },
      { feed: 'cats', outcome: 'flagged', class: 'Porn', count: 1 },
      // Under its threshold, but still the picture's most likely class.
      { feed: 'cats', outcome: 'passed', class: 'Sexy', count: 1 },
      { feed: 'cats', outcome: 'flagged', class: 'Hentai', count: 1 },
    ]);
  });

  it('checks only the classes the feed sets a threshold for', async () => {
    const { hand, offer, out } = run({ thresholds: { Porn: 0.5 } });
    const done = [offer('a'), offer('b')];
    hand.answer('a', scores({ Sexy: 0.99 }));
    hand.answer('b', scores({ Porn: 0.5 }));
    await Promise.all(done);
    expect(out.map((entry) => entry.kept)).toEqual([true, 'image:Porn']);
  });

  it('in approval mode keeps a flagged item, marked, for the pending queue', async () => {
    const { hand, offer, out } = run({}, true);
    const done = offer('a');
    hand.answer('a', scores({ Porn: 0.99 }));
    await done;
    expect(out).toEqual([{ id: 'a', kept: true, flagged: true }]);
  });

  it('lets onError decide an item that could not be checked, counted under the reason', async () => {
    for (const onError of ['drop', 'pass'] as const) {
      const { hand, counts, offer, out } = run({ onError });
      const done = offer('a');
      hand.fail('a', Object.assign(new Error('host evil.example is not on the image allow-list'), { reason: 'off-list' }));
      await done;
      expect(out[0]!.kept).toBe(onError === 'drop' ? 'image-error:off-list' : true);
      expect([...counts.entries()]).toEqual([{ feed: 'cats', outcome: `error-${onError === 'drop' ? 'dropped' : 'passed'}`, class: 'off-list', count: 1 }]);
    }
  });

  it('gives an item its verdict after timeout at the latest, and tells the inspector to stop', async () => {
    const { clock, hand, counts, offer, out } = run({ timeoutMs: 2000, onError: 'drop' });
    const done = offer('slow');
    await clock.whenSleeping(1);
    await clock.advance(1999);
    expect(out).toEqual([]);
    expect(hand.waiting.get('x:slow')!.signal.aborted).toBe(false);
    await clock.advance(1);
    await done;
    expect(out).toEqual([{ id: 'slow', kept: 'image-error:timeout', flagged: false }]);
    expect(hand.waiting.get('x:slow')!.signal.aborted).toBe(true);
    expect([...counts.entries()]).toEqual([{ feed: 'cats', outcome: 'error-dropped', class: 'timeout', count: 1 }]);
  });

  it('hands items on in the order they came, whatever order their verdicts arrive in', async () => {
    const { hand, offer, out } = run();
    const done = ['a', 'b', 'c', 'd'].map(offer);
    hand.answer('d', scores());
    hand.answer('b', scores({ Porn: 0.99 }));
    await settle();
    expect(out).toEqual([]);
    hand.answer('a', scores());
    await settle();
    expect(out.map((entry) => entry.id)).toEqual(['a', 'b']);
    hand.answer('c', scores());
    await Promise.all(done);
    expect(out.map((entry) => entry.id)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('a route with the image check', () => {
  it('sends to the broker in the order items came, and a slow classifier holds the source back instead of growing memory', async () => {
    const { engine, source, producer } = testEngine();
    const hand = handInspector();
    const step = imageCheckStep({ feed: 'cats', config: IMAGE_CHECK_DEFAULTS, inspector: hand.inspector, allowList, counts: new ImageCheckCounts(), sleep: () => new Promise(() => undefined) });
    engine.add(from('test:in').routeId('cats').queue(3).concurrency(2).transform(step, 'image-check').filter(passesImageCheck(IMAGE_CHECK_DEFAULTS, false), 'image-check').to('test:out').build());
    await engine.start();
    const ids = Array.from({ length: 10 }, (_, index) => `i${index}`);
    source('in').emitAll(ids.map((id) => item(id)));
    source('in').end();
    await settle();
    // Two checked at once (the route's concurrency), three queued, one offer waiting: the rest stay in the source.
    expect(hand.waiting.size).toBe(2);
    const status = engine.route('cats')!.status();
    expect(status.inFlight).toBe(2);
    expect(status.queueDepth).toBe(3);
    expect(source('in').waiting).toBe(true);
    expect(source('in').accepted).toBe(5);
    // Each pair answered second first: still sent in order, the flagged one dropped.
    const answered = new Set<string>();
    while (answered.size < ids.length) {
      const pending = [...hand.waiting.keys()].filter((key) => !answered.has(key)).reverse();
      for (const key of pending) {
        hand.waiting.get(key)!.resolve([key === 'x:i3' ? scores({ Porn: 0.9 }) : scores()]);
        answered.add(key);
      }
      await settle();
    }
    await engine.stop(1000);
    expect(producer('out').bodies().map((body) => (body as FeedItem).id)).toEqual(ids.filter((id) => id !== 'i3').map((id) => `x:${id}`));
    expect(engine.route('cats')!.status().counters.dropped).toEqual({ 'image:Porn': 1 });
  });
});
