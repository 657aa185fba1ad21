import type { Agent } from 'node:https';
import type { FeedItem, ImageAllowList } from '@livewall/contract';
import type { ImageScores } from './classes.js';
import type { ImageClassifier } from './classifier.js';
import type { ImageCheckConfig } from './config.js';
import { fetchImage } from './fetch-image.js';
import type { ItemInspector } from './step.js';

/**
 * Looks at an item's pictures for real: fetches each one's thumbnail (the smallest size the network serves, enough
 * for a 224-pixel model) by the fetch rules, and has the classifier score it, one picture after the other.
 */
export class FetchingInspector implements ItemInspector {
  constructor(
    private readonly classifier: ImageClassifier,
    /** The TLS agent for the fetches; a test passes one that trusts its own certificate. */
    private readonly agent?: Agent,
  ) {}

  async inspect(item: FeedItem, config: ImageCheckConfig, allowList: ImageAllowList, signal: AbortSignal): Promise<ImageScores[]> {
    const scores: ImageScores[] = [];
    for (const image of item.images) {
      const bytes = await fetchImage(image.thumb, { allowList, maxBytes: config.maxBytes, signal, ...(this.agent ? { agent: this.agent } : {}) });
      scores.push(await this.classifier.classify(bytes, config.maxPixels, signal));
    }
    return scores;
  }
}
