import { brokerProfile, type BrokerProfileName, type ModerationAction } from '@livewall/contract';
import { StompConsumer, type StompConsumerEvent } from './components/stomp/consumer.js';
import { stompComponent } from './components/stomp/index.js';
import { describeTarget, stompOptions, type StompTarget } from './components/stomp/options.js';
import { systemClock, type Clock, type Logger } from './engine/types.js';
import { parseUri, resolveOptions } from './engine/uri.js';
import { prettyItem } from './item-line.js';
import { ModerationLogFollower } from './moderation/log-follower.js';

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
  /** What it waits on between tries; the system's. */
  clock?: Clock;
}

/** A wait as a person reads it: whole seconds, at least 1. */
function seconds(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}

/**
 * What tap says about its subscription, as log lines whose messages a person reads (the fields hold the same for a
 * log collector): connecting (once), subscribed, and why it tries again. A feed that does not exist yet (its worker
 * has not published to it) is not live yet, and only a subscription the broker confirmed is ever "lost".
 */
export function tapEvents(log: Logger, destination: string, target: StompTarget): (event: StompConsumerEvent) => void {
  const broker = describeTarget(target);
  const where = `${target.host}:${target.port}`;
  const who = target.login ?? 'an anonymous viewer';
  let connectedBefore = false;
  return (event) => {
    switch (event.kind) {
      case 'connecting':
        // Each retry says what comes next already: say this once.
        if (!connectedBefore) log.info({ broker, destination }, `connecting to ${where} as ${who}…`);
        connectedBefore = true;
        return;
      case 'subscribed':
        log.info({ broker, destination }, `subscribed to ${destination} as ${who} — waiting for items`);
        return;
      case 'retrying': {
        const fields = { broker, destination, cause: event.cause, reason: event.reason.message, retryInMs: event.retryInMs };
        const wait = seconds(event.retryInMs);
        if (event.cause === 'not-live') log.info(fields, `${event.notLive ?? destination} is not live yet (no such destination); trying again in ${wait}`);
        else if (event.cause === 'unreachable') log.warn(fields, `cannot connect to ${where}: ${(event.reason.cause as Error | undefined)?.message ?? event.reason.message}; retrying in ${wait}`);
        else if (event.cause === 'connection-lost') log.warn(fields, `connection lost (${event.reason.message}); retrying in ${wait}`);
        else log.warn(fields, `subscription lost (${event.reason.message}); subscribing again in ${wait}`);
      }
    }
  };
}

/**
 * `livewall-worker tap FEED`: subscribes to a feed on the broker (STOMP over TCP, as a viewer) and prints each
 * item until interrupted. Uses the stomp: component's consumer, which reconnects by itself; what it goes through
 * goes to `log`, as tapEvents says it.
 */
export async function tap(options: TapOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const profile = brokerProfile(options.profile);
  const query = new URLSearchParams({ host: options.host, port: String(options.port) });
  if (options.login !== undefined) query.set('login', options.login);
  if (options.passcode !== undefined) query.set('passcode', options.passcode);
  if (profile.stompVirtualHost !== undefined) query.set('vhost', profile.stompVirtualHost);
  const uri = parseUri(`stomp:${profile.stompDestination(options.feed)}?${query.toString()}`);
  const target = stompOptions(resolveOptions(stompComponent, uri), {});
  const consumer = new StompConsumer(uri.path, target, options.clock ?? systemClock, log, tapEvents(log, uri.path, target));
  const done = new AbortController();
  signal.addEventListener('abort', () => done.abort(), { once: true });
  let count = 0;
  await consumer.run(
    {
      offer: async (body) => {
        if (done.signal.aborted) return;
        count += 1;
        options.write(`${options.format === 'ndjson' ? (typeof body === 'string' ? body : JSON.stringify(body)) : prettyItem(body)}\n`);
        if (options.limit !== undefined && count >= options.limit) done.abort();
      },
      reject: () => undefined,
    },
    done.signal,
  );
  return count;
}

export interface TapModerationOptions extends Omit<TapOptions, 'feed'> {
  /** Only this feed's actions; every feed's without. */
  feed?: string;
  /** The readable line of an action (moderate.ts's actionLine). */
  line: (action: ModerationAction) => string;
}

/**
 * `livewall-worker tap --moderation [FEED]`: reads the moderation log from its start (STOMP, with a login that may
 * read it), then its new entries as they come, and prints each action (a feed's alone with FEED) until interrupted:
 * the JSON action per line (ndjson) or a readable line. After a lost connection it reads the log again from its
 * start and prints only what it had not printed (actions are told apart by their actionId).
 */
export async function tapModeration(options: TapModerationOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const profile = brokerProfile(options.profile);
  const target: StompTarget = {
    host: options.host,
    port: options.port,
    heartbeatMs: 10_000,
    ...(options.login === undefined ? {} : { login: options.login }),
    ...(options.passcode === undefined ? {} : { passcode: options.passcode }),
    ...(profile.stompVirtualHost === undefined ? {} : { vhost: profile.stompVirtualHost }),
  };
  const printed = new Set<string>();
  const done = new AbortController();
  signal.addEventListener('abort', () => done.abort(), { once: true });
  const follower = new ModerationLogFollower({
    target,
    destination: profile.moderation.logDestination,
    headers: profile.moderation.logSubscribeHeaders,
    clock: options.clock ?? systemClock,
    log,
    onAction: (action) => {
      if (done.signal.aborted || printed.has(action.actionId) || (options.feed !== undefined && action.feed !== options.feed)) return;
      printed.add(action.actionId);
      options.write(`${options.format === 'ndjson' ? JSON.stringify(action) : options.line(action)}\n`);
      if (options.limit !== undefined && printed.size >= options.limit) done.abort();
    },
  });
  follower.on('caught-up', () => log.info({ destination: profile.moderation.logDestination, printed: printed.size }, `read the moderation log to its end (${printed.size} action${printed.size === 1 ? '' : 's'}${options.feed ? ` for ${options.feed}` : ''}); waiting for new ones`));
  follower.start();
  await new Promise<void>((resolve) => (done.signal.aborted ? resolve() : done.signal.addEventListener('abort', () => resolve(), { once: true })));
  await follower.stop();
  return printed.size;
}
