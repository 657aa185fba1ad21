import type { Component, Consumer, Exchange, OptionsSchema, Producer, Sink } from '../../engine/types.js';
import { UriError } from '../../engine/uri.js';

/**
 * `hub:NAME` — hands each exchange a route sends `to: hub:NAME` to every route of the same worker that reads
 * `from: hub:NAME` (Camel's direct-vm, multicast). A network's source route decodes its stream once and sends the
 * posts to its hub; each feed of that network is a route reading from the hub. A route may read several hubs,
 * `from: hub:x,bluesky,mastodon` (a feed on several networks): their exchanges enter its queue in the order they
 * arrive. Bodies are shared between the readers, not copied: steps replace a body, they do not change it in place.
 */
export const hubOptionsSchema = {
  live: {
    type: 'boolean',
    default: false,
    doc: 'Reader side: true makes the reading route a live source, so that its full queue drops (by its drop policy) instead of holding up the sender and the other readers. Use it when a live stream feeds the hub.',
  },
} as const satisfies OptionsSchema;

class Hub {
  readonly readers = new Set<Sink>();
}

class HubConsumer implements Consumer {
  constructor(
    private readonly hubs: readonly Hub[],
    readonly live: boolean,
  ) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    for (const hub of this.hubs) hub.readers.add(sink);
    try {
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      for (const hub of this.hubs) hub.readers.delete(sink);
    }
  }
}

/** The hubs a reader's path names: `x`, or `x,bluesky,mastodon`, each once. */
function hubNames(path: string): string[] {
  const names = [...new Set(path.split(',').map((name) => name.trim()))];
  if (names.some((name) => name === '')) throw new UriError(`hub: ${JSON.stringify(path)} names an empty hub; write hub:x or hub:x,bluesky`);
  return names;
}

class HubProducer implements Producer {
  private delivered = 0;

  constructor(
    private readonly hub: Hub,
    private readonly name: string,
  ) {}

  async start(): Promise<void> {}

  /**
   * Offers the exchange to every reader; resolves when each has taken it into its queue (a reader that waits for
   * room holds up the send). With no reader it rejects, so that the sending route's redelivery covers the moment a
   * config reload replaces a reader, and its counters show what had nowhere to go.
   */
  async send(exchange: Exchange): Promise<void> {
    const { readers } = this.hub;
    if (readers.size === 0) throw new Error(`no route reads from hub:${this.name}`);
    // Each reader holds the source's message until it has dealt with it (see engine/settlement.ts), and gets headers
    // of its own to change. One reader (one feed per network, the common case) needs no array and no Promise.all.
    if (readers.size === 1) {
      for (const reader of readers) await reader.offer(exchange.body, { ...exchange.headers }, exchange.settlement?.retain());
    } else {
      await Promise.all([...readers].map((reader) => reader.offer(exchange.body, { ...exchange.headers }, exchange.settlement?.retain())));
    }
    this.delivered += 1;
  }

  /**
   * `send` without a promise when it can: one reader that takes the exchange at once (its queue has room), the common
   * case of one feed per network. Otherwise `send`'s promise.
   */
  sendNow(exchange: Exchange): void | Promise<void> {
    const { readers } = this.hub;
    if (readers.size !== 1) return this.send(exchange);
    for (const reader of readers) {
      if (!reader.tryOffer) break;
      const settled = exchange.settlement?.retain();
      const headers = { ...exchange.headers };
      if (reader.tryOffer(exchange.body, headers, settled)) {
        this.delivered += 1;
        return undefined;
      }
      // No room: the same hold goes with the waiting offer.
      return reader.offer(exchange.body, headers, settled).then(() => {
        this.delivered += 1;
      });
    }
    return this.send(exchange);
  }

  ready(): boolean {
    return true;
  }

  stats(): Readonly<Record<string, number>> {
    return { delivered: this.delivered, readers: this.hub.readers.size };
  }

  async stop(): Promise<number> {
    return 0;
  }
}

/** A `hub:` component with hubs of its own: one per engine, so that two workers in one process never share. */
export function hubComponent(): Component {
  const hubs = new Map<string, Hub>();
  const hub = (name: string): Hub => {
    let found = hubs.get(name);
    if (!found) hubs.set(name, (found = new Hub()));
    return found;
  };
  return {
    scheme: 'hub',
    doc: 'Hands exchanges from one route to every route of the worker that reads from the same hub.',
    path: { doc: 'the hub name, e.g. hub:x; a reader may name several, hub:x,bluesky', required: true },
    options: hubOptionsSchema,
    createConsumer: (context) => new HubConsumer(hubNames(context.uri.path).map(hub), context.options.live === true),
    createProducer: (context) => {
      if (context.uri.path.includes(',')) throw new UriError(`hub: a route sends to one hub, not ${JSON.stringify(context.uri.path)}`);
      return new HubProducer(hub(context.uri.path), context.uri.path);
    },
  };
}
