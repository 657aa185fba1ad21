import { brokerProfile } from '@livewall/contract';
import type { WorkerConfig } from '../config.js';
import type { Clock, Logger } from '../engine/types.js';
import { feedRouteId } from '../feeds.js';
import { ModerationGate } from './gate.js';
import { ModerationLogFollower } from './log-follower.js';
import { Takedowns } from './takedowns.js';

/** The heart-beat the follower's STOMP connection offers both ways. */
const LOG_HEARTBEAT_MS = 10_000;

/**
 * Live takedown in a running worker: the takedowns as the moderation log has them (kept in `stateFile`, the outbox's
 * SQLite file, when there is one), the gate every feed item passes right before it is sent, and (with `broker.stomp`)
 * the follower that reads the log, holding the feeds until it has read it through after every (re)connect.
 */
export class LiveModeration {
  readonly takedowns: Takedowns;
  readonly gate: ModerationGate;
  readonly follower: ModerationLogFollower | undefined;

  constructor(config: WorkerConfig, options: { dryRun: boolean; stateFile?: string; clock: Clock; log: Logger; quietMs?: number }) {
    const log = options.log.child({ component: 'moderation' });
    this.takedowns = new Takedowns(options.stateFile);
    const stomp = options.dryRun ? undefined : config.broker.stomp;
    this.gate = new ModerationGate(this.takedowns, config.broker.profile, config.feeds.map((feed) => feed.name), stomp !== undefined);
    if (stomp) {
      const profile = brokerProfile(config.broker.profile);
      this.follower = new ModerationLogFollower({
        target: {
          host: stomp.host,
          port: stomp.port,
          heartbeatMs: LOG_HEARTBEAT_MS,
          ...(config.broker.username === undefined ? {} : { login: config.broker.username }),
          ...(config.broker.password === undefined ? {} : { passcode: config.broker.password }),
          ...(profile.stompVirtualHost === undefined ? {} : { vhost: profile.stompVirtualHost }),
        },
        destination: profile.moderation.logDestination,
        headers: profile.moderation.logSubscribeHeaders,
        onAction: (action) => {
          if (this.takedowns.apply(action)) log.info({ feed: action.feed, action: action.action, itemId: action.itemId, author: action.author, by: action.by, at: action.at }, `moderation: ${action.action} on feed ${action.feed}`);
        },
        clock: options.clock,
        log,
        ...(options.quietMs === undefined ? {} : { quietMs: options.quietMs }),
      });
      this.follower.on('caught-up', () => {
        if (this.gate.held) log.info({}, 'moderation log read: publishing the feeds');
        this.gate.release();
      });
      this.follower.on('lost', () => {
        if (!this.gate.held) log.warn({}, 'moderation log lost: holding the feeds until it is read again');
        this.gate.hold();
      });
    }
  }

  start(): void {
    this.follower?.start();
  }

  /** The feeds of a reloaded config. */
  setFeeds(feeds: readonly string[]): void {
    this.gate.setFeeds(feeds);
  }

  /** The gate's drops under each feed's route, for livewall_dropped_total. */
  *dropped(): Iterable<{ route: string; reason: string; count: number }> {
    for (const [feed, counts] of this.gate.feedCounts()) {
      for (const [reason, count] of Object.entries(counts)) yield { route: feedRouteId(feed), reason, count };
    }
  }

  /** What /status shows: the log, whether publishing is held, and each feed's takedowns and drops. */
  status(): unknown {
    const counts = this.gate.feedCounts();
    const feeds = [...new Set([...this.takedowns.feeds(), ...counts.keys()])].sort();
    return {
      log: this.follower ? { ...this.follower.stats } : 'not read (no broker.stomp)',
      held: this.gate.held,
      feeds: Object.fromEntries(feeds.map((feed) => [feed, { ...this.takedowns.of(feed), dropped: counts.get(feed) ?? { hidden: 0, 'blocked-author': 0, overflow: 0 } }])),
    };
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
    this.takedowns.close();
  }
}
