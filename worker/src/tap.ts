import { brokerProfile, type BrokerProfileName, type FeedItem } from '@livewall/contract';
import type { ComponentRegistry } from './engine/registry.js';
import { systemClock, type Logger } from './engine/types.js';

export interface TapOptions {
  feed: string;
  host: string;
  port: number;
  login?: string;
  passcode?: string;
  /** Which kind of broker it is, for the feed's STOMP destination; default artemis. */
  profile?: BrokerProfileName;
  /** Human-readable lines (a terminal) or one JSON object per line (a pipe). */
  format: 'pretty' | 'ndjson';
  /** Stop after this many items. */
  limit?: number;
  write: (text: string) => void;
}

/** One readable line for a terminal: time, author, image count, text, link. */
export function prettyItem(item: Partial<FeedItem>): string {
  const time = typeof item.createdAt === 'string' ? item.createdAt.slice(11, 19) : '--:--:--';
  const images = Array.isArray(item.images) ? item.images.length : 0;
  const text = typeof item.text === 'string' ? item.text.replace(/\s+/g, ' ') : '';
  return `${time}  @${item.author?.handle ?? '?'}  [${images} image${images === 1 ? '' : 's'}]  ${text}  ${item.url ?? ''}`.trimEnd();
}

/**
 * `livewall-worker tap FEED`: subscribes to a feed on the broker (STOMP over TCP, as a viewer) and prints each
 * item until interrupted. Uses the stomp: component's consumer, which reconnects by itself.
 */
export async function tap(registry: ComponentRegistry, options: TapOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const profile = brokerProfile(options.profile);
  const query = new URLSearchParams({ host: options.host, port: String(options.port) });
  if (options.login !== undefined) query.set('login', options.login);
  if (options.passcode !== undefined) query.set('passcode', options.passcode);
  if (profile.stompVirtualHost !== undefined) query.set('vhost', profile.stompVirtualHost);
  const consumer = registry.consumer(`stomp:${profile.stompDestination(options.feed)}?${query.toString()}`, { baseDir: '.', clock: systemClock, log, settings: {} });
  const done = new AbortController();
  signal.addEventListener('abort', () => done.abort(), { once: true });
  let count = 0;
  await consumer.run(
    {
      offer: async (body) => {
        if (done.signal.aborted) return;
        count += 1;
        options.write(`${options.format === 'ndjson' ? (typeof body === 'string' ? body : JSON.stringify(body)) : prettyItem(body as Partial<FeedItem>)}\n`);
        if (options.limit !== undefined && count >= options.limit) done.abort();
      },
      reject: () => undefined,
    },
    done.signal,
  );
  return count;
}
