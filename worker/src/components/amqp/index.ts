import { AmqpPublisher } from '../../amqp/publisher.js';
import { settledWithin } from '../../engine/route.js';
import type { Component, EndpointContext, Exchange, Producer } from '../../engine/types.js';

/** Broker settings the config gives every amqp: endpoint (`settings.amqp`). */
export interface AmqpSettings {
  url: string;
  username?: string;
  password?: string;
}

interface Shared {
  publisher: AmqpPublisher;
  users: number;
}

/** One connection per broker and login, shared by every amqp: endpoint of the process. */
const connections = new Map<string, Shared>();

function settingsOf(context: EndpointContext): AmqpSettings {
  const settings = context.settings.amqp as AmqpSettings | undefined;
  if (!settings?.url) throw new Error(`${context.uri.raw}: no broker configured (broker.url)`);
  return settings;
}

class AmqpProducer implements Producer {
  private shared?: Shared;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly context: EndpointContext) {}

  private get key(): string {
    const settings = settingsOf(this.context);
    return `${settings.url}|${settings.username ?? ''}`;
  }

  async start(): Promise<void> {
    if (this.shared) return;
    const settings = settingsOf(this.context);
    let shared = connections.get(this.key);
    if (!shared) {
      const log = this.context.log.child({ component: 'amqp' });
      const publisher = new AmqpPublisher(
        {
          url: settings.url,
          username: settings.username,
          password: settings.password,
          maxInFlight: this.context.options.maxInFlight as number,
        },
        log,
      );
      publisher.start();
      shared = { publisher, users: 0 };
      connections.set(this.key, shared);
    }
    shared.users += 1;
    this.shared = shared;
  }

  async send(exchange: Exchange): Promise<void> {
    const publisher = this.shared?.publisher;
    if (!publisher) throw new Error(`${this.context.uri.raw}: not started`);
    const body = exchange.body as { id?: unknown } | string;
    const id = String(exchange.headers.messageId ?? (typeof body === 'object' && body !== null && typeof body.id === 'string' ? body.id : exchange.id));
    const json = typeof body === 'string' ? body : JSON.stringify(body);
    await publisher.room();
    const sent = publisher.publish(this.context.uri.path, id, json);
    this.pending.add(sent);
    try {
      await sent;
    } finally {
      this.pending.delete(sent);
    }
  }

  ready(): boolean {
    return this.shared?.publisher.stats.connected ?? false;
  }

  /** The shared connection's figures, for /status and /metrics. */
  stats(): Readonly<Record<string, number>> {
    const stats = this.shared?.publisher.stats;
    if (!stats) return {};
    const { connected: _connected, ...figures } = stats;
    return figures;
  }

  async stop(timeoutMs: number): Promise<number> {
    const shared = this.shared;
    if (!shared) return 0;
    this.shared = undefined;
    shared.users -= 1;
    if (shared.users > 0) {
      // Others still use the connection: wait for this endpoint's own messages only.
      return (await settledWithin(Promise.allSettled([...this.pending]), timeoutMs, this.context.clock)) ? 0 : this.pending.size;
    }
    connections.delete(this.key);
    return shared.publisher.close(timeoutMs);
  }
}

export const amqpComponent: Component = {
  scheme: 'amqp',
  doc: 'Publishes each exchange as JSON over AMQP 1.0 (rhea) to a broker address, pipelined, resolving when the broker accepts it.',
  path: { doc: 'the target address, e.g. /topic/feed.cats', required: true },
  options: {
    maxInFlight: { type: 'integer', doc: 'messages sent but not yet settled on the shared connection', default: 1000, min: 1, max: 2000 },
  },
  createProducer: (context) => new AmqpProducer(context),
};
