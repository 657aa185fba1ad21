import { MemoryIdempotentRepository, type IdempotentRepositories } from './engine/idempotent.js';
import { feedOfRoute, feedRouteId } from './feeds.js';

/** The name of a feed route's `idempotent` step (feeds.ts), which drops the items the feed published already. */
const FEED_STEP = 'id';
/** That step's window (feeds.ts). */
const FEED_WINDOW = 10_000;

/** The repository name of a feed route's de-duplication step. */
function feedStep(feed: string): string {
  return `${feedRouteId(feed)}/${FEED_STEP}`;
}

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

  repository(name: string, window: number): MemoryIdempotentRepository {
    let repository = this.repositories.get(name);
    if (repository === undefined) {
      repository = new MemoryIdempotentRepository(window);
      const feed = feedOfStep(name);
      if (feed !== undefined) for (const id of this.seed(feed)) repository.add(feedItemKey(feed, id));
      this.repositories.set(name, repository);
    }
    return repository;
  }

  /**
   * The ids `feed` published last here, newest last: at most `limit`, and together at most `maxChars` long (they
   * travel in a lease message, which has a size limit).
   */
  recent(feed: string, limit: number, maxChars: number): string[] {
    const prefix = feedItemKey(feed, '');
    const ids: string[] = [];
    let chars = 0;
    for (const key of (this.repositories.get(feedStep(feed))?.recent(limit) ?? []).reverse()) {
      const id = key.slice(prefix.length);
      chars += id.length + 3;
      if (chars > maxChars) break;
      ids.push(id);
    }
    return ids.reverse();
  }

  /** Ids `feed` published elsewhere (the previous owner's, at a handover): its route here will not publish them again. */
  learn(feed: string, ids: readonly string[]): void {
    const repository = this.repository(feedStep(feed), FEED_WINDOW);
    for (const id of ids) repository.add(feedItemKey(feed, id));
  }
}
