import type { Consumer, Sink } from '../../engine/types.js';
import { mockEndpoint } from './endpoint.js';

/** `from: mock:NAME`: offers what the test emits on `mockEndpoint(NAME)` until it calls `end()`. */
export class MockConsumer implements Consumer {
  constructor(
    private readonly name: string,
    readonly live: boolean,
  ) {}

  run(sink: Sink, signal: AbortSignal): Promise<void> {
    return mockEndpoint(this.name).serve(sink, this.live, signal);
  }
}
