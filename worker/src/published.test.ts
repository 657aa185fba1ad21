import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import type { StepDefinition } from './engine/definition.js';
import { newExchange } from './engine/steps.js';
import { feedRoute } from './feeds.js';
import { feedItemKey, PublishedItems } from './published.js';

const config = parseConfig(['broker: { url: "amqp://localhost:5672" }', 'sources: { bluesky: {} }', 'feeds:', '  - { name: sky-cats, network: bluesky, keywords: [cat] }'].join('\n'), '/etc/livewall/worker.yaml', {});

describe('PublishedItems', () => {
  it("seeds a feed route's de-duplication step, when first asked, with the ids the feed published before", () => {
    const asked: string[] = [];
    const published = new PublishedItems((feed) => {
      asked.push(feed);
      return ['bluesky:did:plc:a/1', 'bluesky:did:plc:a/2'];
    });
    const step = feedRoute(config, config.feeds[0] as never).steps.find((candidate): candidate is Extract<StepDefinition, { kind: 'idempotent' }> => candidate.kind === 'idempotent');
    const repository = published.repository(`feed:sky-cats/${step?.name ?? ''}`, step?.window ?? 0);
    // The key is the one the feed route computes for the item.
    const key = step?.key(newExchange({ feed: 'sky-cats', id: 'bluesky:did:plc:a/2' })) ?? '';
    expect(key).toBe(feedItemKey('sky-cats', 'bluesky:did:plc:a/2'));
    expect(repository.add(key)).toBe(false);
    expect(repository.add(feedItemKey('sky-cats', 'bluesky:did:plc:a/3'))).toBe(true);
    // The same repository for the life of the process: a restarted route keeps what it let through.
    expect(published.repository('feed:sky-cats/id', 10_000)).toBe(repository);
    expect(asked).toEqual(['sky-cats']);
  });

  it("keeps other steps' repositories without a seed", () => {
    const published = new PublishedItems(() => {
      throw new Error('not a feed route: nothing to seed');
    });
    expect(published.repository('my-route/id', 10).add('k')).toBe(true);
    expect(published.repository('feed:sky-cats/other', 10).add('k')).toBe(true);
  });

});
