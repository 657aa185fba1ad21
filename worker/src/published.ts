import { MemoryIdempotentRepository, type IdempotentRepositories, type IdempotentRepository } from './engine/idempotent.js';
import { feedOfRoute } from './feeds.js';

/** The name of a feed route's `idempotent` step (feeds.ts), which drops the items the feed published already. */
const FEED_STEP = 'id';

/** The feed whose route's de-duplication step a repository name (`feed:<name>/id`) is, if it is one. */
function feedOfStep(name: string): string | undefined {
  const slash = name.lastIndexOf('/');
  return slash !== -1 && name.slice(slash + 1) === FEED_STEP ? feedOfRoute(name.slice(0, slash)) : undefined;
}

/** The key a feed route de-duplicates by: the feed and the item id, as the pipeline's `itemKey` makes it. */
export function feedItemKey(feed: string, id: string): string {
  return `${feed}/${id}`;
}

/**
 * What the worker's routes let through lately: their `idempotent` repositories (settings.idempotent), kept for the
 * life of the process, so that a feed route stopped at a handover and started again at the hand-back, or replaced
 * by a reload, still knows what it published. A feed's is seeded, when its route first asks, with the item ids the
 * feed published before this process started (`seed`: with an outbox, those it took lately, which neither a stop nor
 * a `kill -9` loses), so that what the sources offer again after a restart is not published twice.
 */
export class PublishedItems implements IdempotentRepositories {
  private readonly repositories = new Map<string, MemoryIdempotentRepository>();

  constructor(private readonly seed: (feed: string) => Iterable<string> = () => []) {}

  repository(name: string, window: number): IdempotentRepository {
    let repository = this.repositories.get(name);
    if (repository === undefined) {
      repository = new MemoryIdempotentRepository(window);
      const feed = feedOfStep(name);
      if (feed !== undefined) for (const id of this.seed(feed)) repository.add(feedItemKey(feed, id));
      this.repositories.set(name, repository);
    }
    return repository;
  }
}
