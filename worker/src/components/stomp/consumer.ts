import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { StompConnection } from './connection.js';
import { describeTarget, type StompTarget } from './options.js';

/** How long a closing subscriber waits for the broker's DISCONNECT receipt. */
const CLOSE_TIMEOUT_MS = 2000;

/** Resolves when `signal` aborts; `cancel` removes the listener once the race is over. */
function whenAborted(signal: AbortSignal): { aborted: Promise<void>; cancel: () => void } {
  let onAbort = (): void => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { aborted, cancel: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Subscribes to one destination and offers every message: a JSON body parsed, any other body as its text.
 * A subscription cannot be paused, so it is a live source. When the connection is lost it connects and
 * subscribes again, after 1 s doubling to 30 s with jitter on the route's clock, until the route stops it.
 * Messages sent while it was away are not replayed (topic semantics), beyond what the broker itself keeps.
 */
export class StompConsumer implements Consumer {
  readonly live = true;

  constructor(
    private readonly destination: string,
    private readonly target: StompTarget,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    /** Attempts in a row that did not get as far as a subscription. */
    let failures = 0;
    while (!signal.aborted) {
      let reason: Error;
      try {
        const lost = await this.subscribeUntilLost(sink, signal);
        if (signal.aborted) break;
        failures = 0;
        reason = lost ?? new Error('the connection ended');
      } catch (error) {
        if (signal.aborted) break;
        reason = error as Error;
      }
      const delay = jitteredBackoff(failures++, 1000, 30_000);
      this.log.warn({ broker: describeTarget(this.target), reason: reason.message, retryInMs: delay, failures }, 'stomp: subscription lost; subscribing again');
      await this.clock.sleep(delay, signal);
    }
  }

  /**
   * One connection: resolves with why it was lost after subscribing (or undefined when `signal` aborted);
   * rejects when it could not connect or subscribe.
   */
  private async subscribeUntilLost(sink: Sink, signal: AbortSignal): Promise<Error | undefined> {
    const connection = await StompConnection.connect(this.target, this.clock, signal);
    const stop = whenAborted(signal);
    try {
      await Promise.race([connection.subscribe(this.destination, (body, headers) => this.deliver(sink, body, headers)), stop.aborted]);
      if (signal.aborted) return undefined;
      this.log.info({ broker: describeTarget(this.target), destination: this.destination }, 'stomp: subscribed');
      return await Promise.race([connection.closed, stop.aborted.then(() => undefined)]);
    } finally {
      stop.cancel();
      await connection.close(this.clock, CLOSE_TIMEOUT_MS);
    }
  }

  private deliver(sink: Sink, text: string, frameHeaders: Record<string, string | undefined>): void {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: offered as the text it is; the route's steps decide what to make of it.
    }
    const messageId = frameHeaders['livewall-id'] ?? frameHeaders['message-id'];
    sink.offer(body, { destination: this.destination, messageId }).catch((error: unknown) => {
      this.log.warn({ destination: this.destination, messageId, reason: (error as Error).message }, 'stomp: the route refused a message');
    });
  }
}
