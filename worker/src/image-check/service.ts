import type { Agent } from 'node:https';
import type { ExtraMetric } from '../ops/metrics.js';
import { ThreadClassifier, type ThreadClassifierOptions } from './classifier.js';
import { FetchingInspector } from './inspector.js';
import { ImageCheckCounts, type ItemInspector } from './step.js';

/**
 * What every feed's image check shares in one worker: one model in one thread (loaded with the first picture, or by
 * `start`), the fetch rules, and the counts by feed, outcome and class. A reload keeps it.
 */
export class ImageCheckService {
  readonly counts = new ImageCheckCounts();
  readonly inspector: ItemInspector;
  private readonly classifier?: ThreadClassifier;

  constructor(options: { inspector?: ItemInspector; classifier?: Partial<ThreadClassifierOptions>; agent?: Agent } = {}) {
    if (options.inspector) this.inspector = options.inspector;
    else {
      this.classifier = new ThreadClassifier(options.classifier);
      this.inspector = new FetchingInspector(this.classifier, options.agent);
    }
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
    ];
  }
}
