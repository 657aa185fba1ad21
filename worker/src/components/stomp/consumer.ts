import { missingDestination } from '@livewall/contract';
import type { Clock, Consumer, Logger, Sink } from '../../engine/types.js';
import { jitteredBackoff } from '../../engine/backoff.js';
import { StompConnectError, StompConnection } from './connection.js';
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

/** Why a subscriber is about to try again. */
export type StompRetryCause =
  /** It could not connect or log in. */
  | 'unreachable'
  /** The broker refused the subscription because the destination does not exist yet: nothing was published there. */
  | 'not-live'
  /** The connection ended before the broker confirmed the subscription (a refusal for another reason included). */
  | 'connection-lost'
  /** A subscription the broker had confirmed was lost with its connection. */
  | 'subscription-lost';

/** Where a subscriber is, for whoever shows it: the worker's log (logStompEvents), or `tap`'s lines for a person. */
export type StompConsumerEvent =
  | { kind: 'connecting' }
  | { kind: 'subscribed' }
  | {
      kind: 'retrying';
      cause: StompRetryCause;
      reason: Error;
      retryInMs: number;
      /** Attempts in a row that did not get as far as a subscription, this one included. */
      failures: number;
      /** With cause not-live: the broker's name for the destination, e.g. feed.cats. */
      notLive?: string;
    };

function retryCause(reason: Error): StompRetryCause {
  if (reason instanceof StompConnectError) return 'unreachable';
  return missingDestination(reason.message) === undefined ? 'connection-lost' : 'not-live';
}

/** The worker's log lines for a subscriber's events: fixed messages, the particulars in fields. */
export function logStompEvents(log: Logger, destination: string, target: StompTarget): (event: StompConsumerEvent) => void {
  const broker = describeTarget(target);
  return (event) => {
    if (event.kind === 'connecting') log.debug({ broker, destination }, 'stomp: connecting');
    else if (event.kind === 'subscribed') log.info({ broker, destination }, 'stomp: subscribed');
    else {
      const fields = { broker, destination, reason: event.reason.message, retryInMs: event.retryInMs, failures: event.failures };
      if (event.cause === 'subscription-lost') log.warn(fields, 'stomp: subscription lost; subscribing again');
      else if (event.cause === 'not-live') log.warn({ ...fields, notLive: event.notLive }, 'stomp: the destination does not exist yet; subscribing again');
      else log.warn(fields, 'stomp: could not subscribe; trying again');
    }
  };
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
    /** Told where the subscriber is; the worker's log lines by default. */
    private readonly report: (event: StompConsumerEvent) => void = logStompEvents(log, destination, target),
  ) {}

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    /** Attempts in a row that did not get as far as a subscription. */
    let failures = 0;
    while (!signal.aborted) {
      let reason: Error;
      let cause: StompRetryCause;
      try {
        const lost = await this.subscribeUntilLost(sink, signal);
        if (signal.aborted) break;
        failures = 0;
        reason = lost ?? new Error('the connection ended');
        cause = 'subscription-lost';
      } catch (error) {
        if (signal.aborted) break;
        reason = error as Error;
        cause = retryCause(reason);
      }
      const delay = jitteredBackoff(failures++, 1000, 30_000);
      const notLive = cause === 'not-live' ? missingDestination(reason.message) : undefined;
      this.report({ kind: 'retrying', cause, reason, retryInMs: delay, failures, ...(notLive === undefined ? {} : { notLive }) });
      await this.clock.sleep(delay, signal);
    }
  }

  /**
   * One connection: resolves with why it was lost after subscribing (or undefined when `signal` aborted);
   * rejects when it could not connect or subscribe.
   */
  private async subscribeUntilLost(sink: Sink, signal: AbortSignal): Promise<Error | undefined> {
    this.report({ kind: 'connecting' });
    const connection = await StompConnection.connect(this.target, this.clock, signal);
    const stop = whenAborted(signal);
    try {
      await Promise.race([connection.subscribe(this.destination, (body, headers) => this.deliver(sink, body, headers)), stop.aborted]);
      if (signal.aborted) return undefined;
      this.report({ kind: 'subscribed' });
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
