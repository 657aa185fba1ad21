import type { Component, Consumer, Exchange, OptionsSchema, Producer, Sink } from '../../engine/types.js';

/**
 * `hub:NAME` — hands each exchange a route sends `to: hub:NAME` to every route of the same worker that reads
 * `from: hub:NAME` (Camel's direct-vm, multicast). A network's source route decodes its stream once and sends the
 * posts to its hub; each feed of that network is a route reading from the hub. Bodies are shared between the
 * readers, not copied: steps replace a body, they do not change it in place.
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
    private readonly hub: Hub,
    readonly live: boolean,
  ) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    this.hub.readers.add(sink);
    try {
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    } finally {
      this.hub.readers.delete(sink);
    }
  }
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
    path: { doc: 'the hub name, e.g. hub:x', required: true },
    options: hubOptionsSchema,
    createConsumer: (context) => new HubConsumer(hub(context.uri.path), context.options.live === true),
    createProducer: (context) => new HubProducer(hub(context.uri.path), context.uri.path),
  };
}
