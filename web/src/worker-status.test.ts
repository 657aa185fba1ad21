import { describe, expect, it } from 'vitest';
import { FRESH_MS, WorkerDirectory, describeServing, parseWorkerStatus, type WorkerReport } from './worker-status.js';

const now = Date.parse('2026-03-10T12:00:00.000Z');

/** A message as worker/src/ops/status-message.ts builds it. */
function message(change: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    kind: 'worker-status',
    host: 'worker-1',
    region: 'eu-west',
    version: '0.1.0',
    at: new Date(now).toISOString(),
    feeds: [
      { feed: 'cats', route: 'feed:cats', state: 'started', itemsPerMinute: 12.4, lastItemAt: new Date(now - 2_000).toISOString() },
      { feed: 'dogs', route: 'feed:dogs', state: 'suspended', itemsPerMinute: 0 },
    ],
    ...change,
  };
}

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function report(change: Partial<WorkerReport> = {}): WorkerReport {
  return { host: 'worker-1', region: 'eu-west', at: now, feeds: [{ feed: 'cats', state: 'started', itemsPerMinute: 12.4 }], ...change };
}

describe('parseWorkerStatus', () => {
  it('reads the worker’s message, keeping what the page shows', () => {
    expect(parseWorkerStatus(encode(message()))).toEqual({
      host: 'worker-1',
      region: 'eu-west',
      at: now,
      feeds: [
        { feed: 'cats', state: 'started', itemsPerMinute: 12.4 },
        { feed: 'dogs', state: 'suspended', itemsPerMinute: 0 },
      ],
    });
    const { region: _region, ...withoutRegion } = message();
    expect(parseWorkerStatus(JSON.stringify(withoutRegion))).not.toHaveProperty('region');
  });

  it.each([
    ['not JSON', '{"v":1,'],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['another kind', JSON.stringify(message({ kind: 'feed-item' }))],
    ['another version', JSON.stringify(message({ v: 2 }))],
    ['no host', JSON.stringify(message({ host: '' }))],
    ['a host with a newline', JSON.stringify(message({ host: 'a\nb' }))],
    ['a very long region', JSON.stringify(message({ region: 'r'.repeat(101) }))],
    ['no time', JSON.stringify(message({ at: 'yesterday' }))],
    ['feeds that are no list', JSON.stringify(message({ feeds: {} }))],
    ['a bad feed name', JSON.stringify(message({ feeds: [{ feed: 'Cats!', state: 'started', itemsPerMinute: 1 }] }))],
    ['a negative rate', JSON.stringify(message({ feeds: [{ feed: 'cats', state: 'started', itemsPerMinute: -1 }] }))],
    ['a rate as text', JSON.stringify(message({ feeds: [{ feed: 'cats', state: 'started', itemsPerMinute: '5' }] }))],
    ['too many bytes', new Uint8Array(64 * 1024 + 1)],
  ])('refuses %s', (_what, body) => {
    expect(parseWorkerStatus(body)).toBeUndefined();
  });
});

describe('WorkerDirectory', () => {
  it('names the workers that serve a feed, the most recently heard first, and only while their word is fresh', () => {
    const directory = new WorkerDirectory();
    directory.receive(report({ host: 'worker-1' }), now);
    directory.receive(report({ host: 'worker-2', region: 'us-east', feeds: [{ feed: 'cats', state: 'started', itemsPerMinute: 3 }] }), now + 1_000);
    directory.receive(report({ host: 'worker-3', feeds: [{ feed: 'dogs', state: 'started', itemsPerMinute: 1 }] }), now + 1_000);
    expect(directory.serving('cats', now + 2_000)).toEqual({
      workers: [
        { host: 'worker-2', region: 'us-east', state: 'started', itemsPerMinute: 3 },
        { host: 'worker-1', region: 'eu-west', state: 'started', itemsPerMinute: 12.4 },
      ],
      lastHeard: now + 1_000,
    });
    expect(directory.serving('cats', now + 1_000 + FRESH_MS + 1)).toEqual({ workers: [], lastHeard: now + 1_000 });
    expect(directory.serving('birds', now)).toEqual({ workers: [] });
  });

  it('keeps each host’s latest report only', () => {
    const directory = new WorkerDirectory();
    directory.receive(report(), now);
    directory.receive(report({ feeds: [{ feed: 'cats', state: 'started', itemsPerMinute: 30 }] }), now + 5_000);
    expect(directory.serving('cats', now + 5_000).workers.map((worker) => worker.itemsPerMinute)).toEqual([30]);
  });

  it('ignores old reports that the broker replays to a new subscriber', () => {
    const directory = new WorkerDirectory();
    directory.receive(report({ at: now - 10 * 60_000 }), now);
    expect(directory.serving('cats', now)).toEqual({ workers: [] });
  });
});

describe('describeServing', () => {
  it('says who serves the feed, where, and how fast', () => {
    expect(describeServing({ workers: [{ host: 'worker-1', region: 'eu-west', state: 'started', itemsPerMinute: 12.4 }], lastHeard: now }, now)).toEqual({
      state: 'fresh',
      text: 'worker-1 · eu-west · 12/min',
      detail: 'Served by worker-1 in eu-west: 12 posts a minute (started)',
    });
    expect(
      describeServing(
        {
          workers: [
            { host: 'a', state: 'suspended', itemsPerMinute: 0.25 },
            { host: 'b', state: 'started', itemsPerMinute: 1 },
          ],
          lastHeard: now,
        },
        now,
      ).text,
    ).toBe('a +1 · suspended · 1.3/min');
  });

  it('says how long no worker has reported the feed, and nothing when none ever did', () => {
    expect(describeServing({ workers: [], lastHeard: now - 95_000 }, now)).toMatchObject({ state: 'stale', text: 'No worker status for 1 min' });
    expect(describeServing({ workers: [] }, now)).toEqual({ state: 'unknown', text: '', detail: '' });
  });
});
