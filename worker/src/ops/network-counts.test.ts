import { describe, expect, it } from 'vitest';
import { newExchange } from '../engine/steps.js';
import { testEngine } from '../engine/testing.js';
import { createMetrics, networkCountsMetrics } from './metrics.js';
import { NetworkCounts } from './network-counts.js';

/** Posts of a feed on several networks, as its route's counting steps see them: the source's header `network`. */
function count(counts: NetworkCounts, feed: string, stage: 'received' | 'sent', ...networks: string[]): void {
  const step = stage === 'received' ? counts.countReceived(feed) : counts.countSent(feed);
  for (const network of networks) {
    const exchange = newExchange({ id: `${network}:1` }, { network });
    // A counting step keeps the body as it is.
    expect(step(exchange)).toBe(exchange.body);
  }
}

describe('NetworkCounts: a feed\'s figures per network', () => {
  it('counts what each network brought and what went out, per feed, for /status', () => {
    const counts = new NetworkCounts();
    count(counts, 'caturday', 'received', 'x', 'bluesky', 'bluesky', 'mastodon', 'x', 'bluesky');
    count(counts, 'caturday', 'sent', 'x', 'bluesky', 'mastodon', 'bluesky');
    count(counts, 'dogs', 'received', 'x');
    expect(counts.status()).toEqual({
      caturday: { x: { received: 2, sent: 1 }, bluesky: { received: 3, sent: 2 }, mastodon: { received: 1, sent: 1 } },
      dogs: { x: { received: 1, sent: 0 } },
    });
  });

  it('keeps the figures of the feeds and networks a reload keeps, and forgets the rest', () => {
    const counts = new NetworkCounts();
    count(counts, 'caturday', 'received', 'x', 'bluesky', 'mastodon');
    count(counts, 'dogs', 'received', 'x');
    counts.retain([{ name: 'caturday', networks: ['x', 'mastodon'] }]);
    expect(counts.status()).toEqual({ caturday: { x: { received: 1, sent: 0 }, mastodon: { received: 1, sent: 0 } } });
  });

  it('shows in /metrics as livewall_feed_received_total and livewall_feed_sent_total by feed and network', async () => {
    const counts = new NetworkCounts();
    count(counts, 'caturday', 'received', 'x', 'bluesky', 'bluesky');
    count(counts, 'caturday', 'sent', 'bluesky');
    const { engine } = testEngine();
    const text = await createMetrics(engine, { extraMetrics: networkCountsMetrics(() => counts.entries()) }).metrics();
    expect(text).toContain('# TYPE livewall_feed_received_total counter\n');
    expect(text).toContain('livewall_feed_received_total{feed="caturday",network="x"} 1\n');
    expect(text).toContain('livewall_feed_received_total{feed="caturday",network="bluesky"} 2\n');
    expect(text).toContain('livewall_feed_sent_total{feed="caturday",network="x"} 0\n');
    expect(text).toContain('livewall_feed_sent_total{feed="caturday",network="bluesky"} 1\n');
  });
});
