import type { Agent } from 'node:https';
import type { FeedItem, ImageAllowList } from '@livewall/contract';
import type { ImageScores } from './classes.js';
import type { ImageClassifier } from './classifier.js';
import type { ImageCheckConfig } from './config.js';
import { fetchImage, ImageFetchError, isLoopbackHttp } from './fetch-image.js';
import type { ItemInspector } from './step.js';

/** Pictures whose scores are kept by URL: a few minutes of a busy wall's pictures, a few hundred kilobytes. */
export const SCORES_CACHED = 2000;

/**
 * Looks at an item's pictures for real: fetches each one's thumbnail (the smallest size the network serves, enough
 * for a 224-pixel model) by the fetch rules, and has the classifier score it, one picture after the other.
 *
 * Scores are kept by the thumbnail's URL (the SCORES_CACHED most recently used): reposts and quotes show the same
 * picture again, and the networks' media URLs name their content (X's media key, Bluesky's blob CID), so the same
 * URL is the same picture and need not be fetched or scored twice; a picture being looked at for one item (another
 * feed's copy of the post) is waited for, not looked at again. Errors are not kept: the next item tries again.
 */
export class FetchingInspector implements ItemInspector {
  private readonly scored = new Map<string, ImageScores>();
  private readonly inFlight = new Map<string, SharedLook>();
  /** Pictures answered from the cache, and scored: for the benchmark and /metrics. */
  readonly cache = { hits: 0, misses: 0 };

  constructor(
    private readonly classifier: ImageClassifier,
    /** The TLS agent for the fetches; a test passes one that trusts its own certificate. */
    private readonly agent?: Agent,
    private readonly cacheSize = SCORES_CACHED,
  ) {}

  async inspect(item: FeedItem, config: ImageCheckConfig, allowList: ImageAllowList, signal: AbortSignal): Promise<ImageScores[]> {
    const scores: ImageScores[] = [];
    for (const image of item.images) scores.push(await this.scoresOf(image.thumb, config, allowList, signal));
    return scores;
  }

  private scoresOf(url: string, config: ImageCheckConfig, allowList: ImageAllowList, signal: AbortSignal): Promise<ImageScores> {
    // The fetch rules are asked again: a URL scored before a reload took its host off the list, or for a feed that
    // takes plain http from this machine, is refused now as its fetch would be.
    const fetchable = allowList.refusal(url) === undefined && (url.startsWith('https://') || (config.loopbackHttp && isLoopbackHttp(url)));
    if (fetchable) {
      const known = this.scored.get(url);
      if (known) {
        this.cache.hits += 1;
        // Most recently used last: the Map's first key is the one to forget.
        this.scored.delete(url);
        this.scored.set(url, known);
        return Promise.resolve(known);
      }
      // Being looked at for another item (another feed's copy of the post, a repost right after it): wait for that.
      const shared = this.inFlight.get(url);
      if (shared) {
        this.cache.hits += 1;
        return shared.join(signal);
      }
    }
    this.cache.misses += 1;
    const look = new SharedLook(async (lookSignal) => {
      const bytes = await fetchImage(url, { allowList, maxBytes: config.maxBytes, signal: lookSignal, loopbackHttp: config.loopbackHttp, ...(this.agent ? { agent: this.agent } : {}) });
      return this.classifier.classify(bytes, config.maxPixels, lookSignal);
    });
    this.inFlight.set(url, look);
    look.done.then(
      (scores) => {
        this.scored.set(url, scores);
        if (this.scored.size > this.cacheSize) this.scored.delete(this.scored.keys().next().value as string);
      },
      () => undefined,
    );
    void look.done.finally(() => this.inFlight.delete(url)).catch(() => undefined);
    return look.join(signal);
  }
}

/**
 * One picture's fetch and classification, waited for by one item or several: each waiter stops waiting when its own
 * signal aborts (its verdict is due), and the work itself is called off only once nobody waits any more.
 */
class SharedLook {
  readonly done: Promise<ImageScores>;
  private readonly off = new AbortController();
  private waiting = 0;

  constructor(work: (signal: AbortSignal) => Promise<ImageScores>) {
    this.done = work(this.off.signal);
  }

  join(signal: AbortSignal): Promise<ImageScores> {
    this.waiting += 1;
    return new Promise<ImageScores>((resolve, reject) => {
      let left = false;
      // Once per waiter: when its signal aborts, or when the work settles, whichever comes first.
      const leave = (): boolean => {
        if (left) return false;
        left = true;
        signal.removeEventListener('abort', onAbort);
        this.waiting -= 1;
        return true;
      };
      const onAbort = (): void => {
        if (!leave()) return;
        if (this.waiting === 0) this.off.abort();
        reject(new ImageFetchError('timeout', 'given up before the picture was looked at'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.done.then(
        (scores) => leave() && resolve(scores),
        (error: unknown) => leave() && reject(error as Error),
      );
    });
  }
}
