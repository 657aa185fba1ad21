import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Network } from '@livewall/contract';
import type { WorkerConfig } from './config.js';
import { feedPipeline, type SourceEvent } from './dsl/feed-pipeline.js';
import type { ComponentRegistry } from './engine/registry.js';
import type { Clock, Logger, Sink } from './engine/types.js';
import { sourceEndpoints } from './feeds.js';
import { FeedDirectory } from './sources/feed-directory.js';

export interface RecordOptions {
  network: Network;
  feed: string;
  out: string;
  /** Stop after this many events. */
  limit?: number;
  /** Stop after this long (ms). */
  durationMs?: number;
}

export interface RecordResult {
  recorded: number;
  /** Events that came but were not the feed's posts (keep-alive frames are not events): by reason. */
  skipped: Record<string, number>;
}

export class RecordError extends Error {}

/**
 * `livewall-worker record`: reads a network's live source the way the worker would for one feed, and writes each of
 * that feed's events to `out`, one per line, exactly as the source received it (Mastodon: the status object as the
 * timeline or stream sent it). The `replay:` component plays such a file through the same decoder. Only the feed's
 * own X rule is added (other rules, a running worker's included, are left alone); X allows one stream connection
 * per app, so stop a worker that uses the same token first.
 */
export async function record(config: WorkerConfig, options: RecordOptions, components: ComponentRegistry, clock: Clock, log: Logger, stop: AbortSignal): Promise<RecordResult> {
  const feed = config.feeds.find((candidate) => candidate.name === options.feed);
  if (!feed) throw new RecordError(`feed ${options.feed} is not in ${config.file} (it has ${config.feeds.map((f) => f.name).join(', ') || 'none'})`);
  if (!feed.networks.includes(options.network)) throw new RecordError(`feed ${feed.name} is on ${feed.networks.join(', ')}, not ${options.network}`);
  const source = config.sources[options.network];
  if (!source) throw new RecordError(`${config.file} has no sources.${options.network}`);
  if (source.replay) throw new RecordError(`sources.${options.network} plays a recording; record reads the live service: give sources.${options.network} live settings (or none)`);

  const directory = new FeedDirectory([feed]);
  const onlyThisFeed = { ...config, feeds: [feed] };
  const endpoints = sourceEndpoints(onlyThisFeed, source);
  const steps = feedPipeline({ imageHosts: config.imageHosts, videoPreviews: config.videoPreviews, restamp: false, feeds: (network) => directory.of(network) });
  const decode = { x: steps.decodeX, bluesky: steps.decodeBluesky, mastodon: steps.decodeMastodon }[options.network];

  const out = createWriteStream(options.out, { flags: 'a' });
  await new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', (error) => reject(new RecordError(`cannot write ${options.out}: ${error.message}`))));
  const result: RecordResult = { recorded: 0, skipped: {} };
  const done = new AbortController();
  const finish = (): void => done.abort();
  stop.addEventListener('abort', finish, { once: true });
  const timer = options.durationMs === undefined ? undefined : setTimeout(finish, options.durationMs);
  const skip = (reason: string): void => {
    result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
  };

  const sink: Sink = {
    async offer(body, headers = {}) {
      if (done.signal.aborted) return;
      const raw = String(body);
      const event = decode({ id: 'record', body: raw, headers: { ...headers } }) as SourceEvent;
      if (event.kind !== 'post') return skip(event.kind === 'invalid' ? `invalid:${(event as { reason: string }).reason}` : event.kind);
      if (!(event as Extract<SourceEvent, { kind: 'post' }>).post.feeds.includes(feed.name)) return skip('other-feed');
      // One event a line: the raw text has no line breaks of its own (JSON escapes them).
      if (!out.write(`${raw.replace(/[\r\n]+/g, ' ')}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      result.recorded += 1;
      if (options.limit !== undefined && result.recorded >= options.limit) finish();
    },
    reject: (reason) => skip(`source:${reason}`),
  };

  const environment = { baseDir: dirname(config.file), clock, log, settings: { feeds: directory } };
  log.info({ feed: feed.name, network: options.network, out: options.out, endpoints: endpoints.map((endpoint) => endpoint.uri) }, 'recording');
  try {
    await Promise.all(
      endpoints.map(async ({ uri }) => {
        const consumer = components.consumer(uri, environment);
        // A live source retries by itself inside run(); a failure here is one it cannot get past (no token, bad rule).
        await consumer.run(sink, done.signal);
      }),
    );
  } catch (error) {
    finish();
    throw new RecordError((error as Error).message);
  } finally {
    if (timer) clearTimeout(timer);
    stop.removeEventListener('abort', finish);
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  return result;
}
