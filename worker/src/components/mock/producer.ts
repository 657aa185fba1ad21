import type { Clock, Exchange, Producer } from '../../engine/types.js';
import { mockEndpoint } from './endpoint.js';
import type { MockOptions } from './options.js';

/** `to: mock:NAME`: hands each exchange to the named mock endpoint, failing or lagging as the URI says. */
export class MockProducer implements Producer {
  private sends = 0;
  private inFlight = 0;
  private readonly idleWatchers = new Set<() => void>();

  constructor(
    private readonly name: string,
    private readonly options: MockOptions,
    private readonly clock: Clock,
  ) {}

  async start(): Promise<void> {}

  async send(exchange: Exchange): Promise<void> {
    // Looked up per send, so that resetMocks() between tests takes effect on a producer that lives on.
    const endpoint = mockEndpoint(this.name);
    endpoint.attempts++;
    const attempt = ++this.sends;
    this.inFlight++;
    try {
      if (this.options.delay > 0) await this.clock.sleep(this.options.delay);
      if (attempt <= this.options.failFirst) throw new Error('mock failure');
      await endpoint.receive(exchange);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const watcher of [...this.idleWatchers]) watcher();
    }
  }

  ready(): boolean {
    return this.options.ready;
  }

  /** Waits up to `timeoutMs` (on the clock) for sends still under way; resolves with how many were left. */
  async stop(timeoutMs: number): Promise<number> {
    if (this.inFlight === 0) return 0;
    const timeout = new AbortController();
    let onIdle = (): void => {};
    const idle = new Promise<void>((resolve) => (onIdle = resolve));
    this.idleWatchers.add(onIdle);
    await Promise.race([idle, this.clock.sleep(timeoutMs, timeout.signal)]);
    this.idleWatchers.delete(onIdle);
    timeout.abort();
    return this.inFlight;
  }
}
