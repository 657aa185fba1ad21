import type { OptionValues, OptionsSchema } from '../../engine/types.js';

/** Bluesky's public Jetstream instances (https://github.com/bluesky-social/jetstream#public-instances). */
export const PUBLIC_JETSTREAMS = [
  'wss://jetstream1.us-east.bsky.network',
  'wss://jetstream2.us-east.bsky.network',
  'wss://jetstream1.us-west.bsky.network',
  'wss://jetstream2.us-west.bsky.network',
];

/** The options of `jetstream:`, as docs, lint and the runtime read them. */
export const jetstreamOptionsSchema = {
  endpoints: {
    type: 'string',
    default: PUBLIC_JETSTREAMS.join(','),
    doc: 'Comma-separated Jetstream base URLs (ws: or wss:), tried in turn: each reconnect after a failure goes to the next. Default: the four public instances.',
  },
  cursorFile: {
    type: 'string',
    doc: "File (relative to the config) that keeps the time_us up to which every event was dealt with (with an outbox: is in it), written atomically at most once a second and at a stop, so that a restart resumes there; beside it, `<cursorFile>.seen` keeps the events a stop had dealt with, which the restart skips. Default: none; a start reads live, or from the place the feeds' previous owner handed over.",
  },
  rewind: {
    type: 'duration',
    default: '5s',
    doc: 'How far before the cursor a reconnect, a restart or a handover resumes, to cover events in flight and clock differences between instances; what was dealt with before is skipped (see operations.md, What repeats).',
  },
  maxBackoff: { type: 'duration', default: '30s', doc: 'The longest wait between reconnect attempts (1 s doubling, ±20 % jitter).' },
  pingInterval: {
    type: 'duration',
    default: '10s',
    doc: 'How often the source sends a WebSocket ping, so that a quiet but healthy connection still answers (a pong). Shorter than idleTimeout.',
  },
  idleTimeout: {
    type: 'duration',
    default: '30s',
    doc: 'A connection with neither a message nor a pong for this long is dead (half-open TCP, a proxy that stopped forwarding): the source drops it and reconnects to the next endpoint, as after any loss.',
  },
} as const satisfies OptionsSchema;

export interface JetstreamOptions {
  endpoints: string[];
  cursorFile?: string;
  rewindMs: number;
  maxBackoffMs: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
}

/** The checked URI values, typed; throws when an endpoint is not a ws: or wss: URL, or the ping does not fit the idle timeout. */
export function jetstreamOptions(values: OptionValues): JetstreamOptions {
  const endpoints = String(values.endpoints)
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  if (endpoints.length === 0) throw new Error('jetstream: option endpoints names no endpoint: give ws:// or wss:// URLs, comma-separated');
  for (const endpoint of endpoints) {
    let protocol: string | undefined;
    try {
      protocol = new URL(endpoint).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'ws:' && protocol !== 'wss:') throw new Error(`jetstream: endpoint "${endpoint}" is not a ws:// or wss:// URL`);
  }
  const pingIntervalMs = values.pingInterval as number;
  const idleTimeoutMs = values.idleTimeout as number;
  if (pingIntervalMs < 100) throw new Error(`jetstream: option pingInterval must be at least 100ms, not ${pingIntervalMs} ms`);
  if (pingIntervalMs >= idleTimeoutMs) {
    throw new Error(`jetstream: option pingInterval (${pingIntervalMs} ms) must be shorter than idleTimeout (${idleTimeoutMs} ms), or a quiet connection has no chance to answer; e.g. pingInterval=10s&idleTimeout=30s`);
  }
  const options: JetstreamOptions = { endpoints, rewindMs: values.rewind as number, maxBackoffMs: values.maxBackoff as number, pingIntervalMs, idleTimeoutMs };
  if (typeof values.cursorFile === 'string' && values.cursorFile !== '') options.cursorFile = values.cursorFile;
  return options;
}

/** `<endpoint>/subscribe?wantedCollections=app.bsky.feed.post[&cursor=…]`; an endpoint may already end in /subscribe. */
export function subscribeUrl(endpoint: string, cursorUs?: number): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/subscribe')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/subscribe`;
  url.searchParams.set('wantedCollections', 'app.bsky.feed.post');
  if (cursorUs !== undefined) url.searchParams.set('cursor', String(cursorUs));
  return url.toString();
}
