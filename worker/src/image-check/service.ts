import type { Agent } from 'node:https';
import type { ExtraMetric } from '../ops/metrics.js';
import { FetchingInspector } from './inspector.js';
import { ClassifierPool, type ClassifierPoolOptions } from './pool.js';
import { ImageCheckCounts, type ItemInspector } from './step.js';

/**
 * What every feed's image check shares in one worker: the model in its threads (loaded with the first picture, or by
 * `start`), the fetch rules, the scores kept by URL, and the counts by feed, outcome and class. A reload keeps it.
 */
export class ImageCheckService {
  readonly counts = new ImageCheckCounts();
  readonly inspector: ItemInspector;
  /** The model's threads (none with a test's inspector). */
  readonly classifier?: ClassifierPool;
  private readonly fetching?: FetchingInspector;

  /** `cacheSize` 0 keeps no scores (the benchmark's runs without repeats measure the model, not the cache). */
  constructor(options: { inspector?: ItemInspector; classifier?: Partial<ClassifierPoolOptions>; agent?: Agent; cacheSize?: number } = {}) {
    if (options.inspector) this.inspector = options.inspector;
    else {
      this.classifier = new ClassifierPool(options.classifier);
      this.fetching = new FetchingInspector(this.classifier, options.agent, options.cacheSize);
      this.inspector = this.fetching;
    }
  }

  /** Classifier threads (0 with a test's inspector). */
  get threads(): number {
    return this.classifier?.size ?? 0;
  }

  /** Loads the model now (when some feed checks images), so the first item does not wait for it. */
  async start(): Promise<void> {
    await this.classifier?.start();
  }

  async stop(): Promise<void> {
    await this.classifier?.stop();
  }

  /** `livewall_image_checks_total{feed,outcome,class}` and the classifier's queue, for /metrics. */
  metrics(): ExtraMetric[] {
    return [
      {
        name: 'image_checks_total',
        help: "Items the image check decided on, by feed, outcome (passed, flagged, error-passed, error-dropped) and class (a passed item's top class, the class a flagged one reached its threshold in, an error's reason)",
        type: 'counter',
        labelNames: ['feed', 'outcome', 'class'],
        read: () => [...this.counts.entries()].map(({ count, ...labels }) => ({ labels, value: count })),
      },
      {
        name: 'image_check_queue',
        help: 'Pictures waiting for the image classifier, or in it.',
        type: 'gauge',
        labelNames: [],
        read: () => [{ labels: {}, value: this.classifier?.depth ?? 0 }],
      },
      {
        name: 'image_check_cache_total',
        help: 'Pictures the image check looked up by URL: hit (scored before, neither fetched nor classified again) or miss.',
        type: 'counter',
        labelNames: ['result'],
        read: () => (this.fetching ? [{ labels: { result: 'hit' }, value: this.fetching.cache.hits }, { labels: { result: 'miss' }, value: this.fetching.cache.misses }] : []),
      },
    ];
  }
}
