import { feedTopic, validateFeedItem, type FeedItem } from '@livewall/contract';
import type { Logger } from 'pino';
import type { AmqpPublisher } from './amqp/publisher.js';
import type { WorkerConfig } from './config.js';
import { dropReason } from './pipeline/filter.js';
import { toFeedItem } from './pipeline/mapper.js';
import type { Post } from './post.js';
import { replayLines } from './sources/replay/replay.js';
import { restamp, rewriteMedia } from './sources/replay/restamp.js';
import { decodeXLine } from './sources/x/decode.js';

/** What happened to the events the worker took in. Labels are short, fixed reasons. */
export class Counters {
  received = 0;
  keepAlives = 0;
  published = 0;
  failed = 0;
  readonly invalid = new Map<string, number>();
  readonly dropped = new Map<string, number>();
  readonly streamErrors = new Map<string, number>();

  count(map: Map<string, number>, reason: string): void {
    map.set(reason, (map.get(reason) ?? 0) + 1);
  }

  snapshot(): Record<string, unknown> {
    return {
      received: this.received,
      published: this.published,
      failed: this.failed,
      invalid: Object.fromEntries(this.invalid),
      dropped: Object.fromEntries(this.dropped),
      streamErrors: Object.fromEntries(this.streamErrors),
    };
  }
}

/**
 * The spine's route: replay source → X decoder → keep posts with pictures → map to feed items → validate →
 * publish to each matching feed's topic. Reading pauses while the publisher has no room.
 */
export class Worker {
  readonly counters = new Counters();
  private readonly feeds: Set<string>;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly config: WorkerConfig,
    private readonly publisher: AmqpPublisher,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.feeds = new Set(config.feeds.map((feed) => feed.name));
  }

  /**
   * Runs until the source ends or `signal` aborts. What it handed to the publisher may still be in flight: close
   * the publisher (which bounds the wait), then await `drained()`.
   */
  async run(signal: AbortSignal): Promise<void> {
    const replay = this.config.source.replay;
    for await (const { line, pass } of replayLines(replay, signal)) {
      const event = decodeXLine(line);
      switch (event.kind) {
        case 'keep-alive':
          this.counters.keepAlives++;
          continue;
        case 'invalid':
          this.counters.received++;
          this.counters.count(this.counters.invalid, event.reason);
          continue;
        case 'stream-error':
          this.counters.count(this.counters.streamErrors, event.title);
          this.log.warn({ title: event.title, detail: event.detail }, 'error event in the stream');
          continue;
        case 'post': {
          this.counters.received++;
          let post = event.post;
          if (replay.rewriteMedia) post = rewriteMedia(post, replay.rewriteMedia);
          if (replay.restamp) post = restamp(post, pass, this.now());
          await this.handle(post);
        }
      }
    }
  }

  /** Resolves when every publish this worker started has been settled one way or the other. */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async handle(post: Post): Promise<void> {
    const reason = dropReason(post, this.config);
    if (reason) {
      this.counters.count(this.counters.dropped, reason);
      return;
    }
    const feeds = post.feeds.filter((feed) => this.feeds.has(feed));
    if (feeds.length === 0) {
      this.counters.count(this.counters.dropped, 'no-feed');
      return;
    }
    const receivedAt = this.now();
    for (const feed of feeds) {
      const mapped = toFeedItem(post, feed, { ...this.config, receivedAt });
      if (!mapped.ok) {
        this.counters.count(this.counters.dropped, mapped.reason);
        continue;
      }
      await this.publisher.room();
      const item: FeedItem = { ...mapped.item, publishedAt: this.now().toISOString() };
      const validation = validateFeedItem(item, this.config.imageHosts);
      if (!validation.ok) {
        this.counters.count(this.counters.dropped, 'contract');
        this.log.debug({ id: item.id, reason: validation.reason }, 'mapped item breaks the contract');
        continue;
      }
      this.send(feed, item);
    }
  }

  private send(feed: string, item: FeedItem): void {
    const sent = this.publisher.publish(feedTopic(feed), item.id, JSON.stringify(item)).then(
      () => {
        this.counters.published++;
      },
      (error: Error) => {
        this.counters.failed++;
        this.log.warn({ id: item.id, feed, err: error.message }, 'publish failed');
      },
    );
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }
}
