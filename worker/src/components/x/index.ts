import type { Component, Consumer, EndpointContext, Logger, OptionsSchema, Sink } from '../../engine/types.js';
import { X_API_BASE_URL, xClient, type XClient } from '../../sources/x/client.js';
import { reconcileRules, type RulesPlan, type XFeed } from '../../sources/x/rules.js';
import { FeedDirectory } from '../../sources/feed-directory.js';
import { streamX } from '../../sources/x/stream.js';

export const xOptionsSchema = {
  baseUrl: { type: 'url', schemes: ['https', 'http'], default: X_API_BASE_URL, doc: 'Where the X API is; another address for a test server or a recording proxy.' },
  tokenEnv: { type: 'string', default: 'X_BEARER_TOKEN', doc: 'Name of the environment variable holding the app bearer token (the token never goes in a URI).' },
  keepAliveTimeout: { type: 'duration', default: '30s', doc: 'Silence longer than this (X sends a keep-alive about every 20 s) closes the stream and reconnects.' },
  tagPrefix: {
    type: 'string',
    minLength: 1,
    doc: 'Rules whose tag starts with this are ours too: deleted when no feed in xFeeds has that name. Unset: only rules tagged with a configured feed name are ours. Never empty: every tagged rule would be ours, and other tools\' rules deleted.',
  },
} as const satisfies OptionsSchema;

/**
 * The X feeds: the worker's feed directory (`settings.feeds`, which a config reload updates), else `settings.xFeeds`,
 * checked: an array of `{ name, keywords, rule? }` (a route written for one purpose, or a test).
 */
export function xFeedsSetting(settings: Readonly<Record<string, unknown>>): XFeed[] {
  if (settings.feeds instanceof FeedDirectory) {
    const feeds = settings.feeds.of('x');
    if (feeds.length === 0) throw new Error('x: no feed of the config is on network x');
    return [...feeds];
  }
  const value = settings.xFeeds;
  if (!Array.isArray(value) || value.length === 0) throw new Error('x: the xFeeds setting must list the feeds: [{ name, keywords: [...], rule? }]');
  return value.map((entry: unknown, index) => {
    const feed = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const { name, keywords, rule } = feed;
    if (typeof name !== 'string' || name === '') throw new Error(`x: xFeeds[${index}] needs a name`);
    if (keywords !== undefined && !(Array.isArray(keywords) && keywords.every((keyword) => typeof keyword === 'string'))) {
      throw new Error(`x: feed "${name}": keywords must be a list of strings`);
    }
    if (rule !== undefined && typeof rule !== 'string') throw new Error(`x: feed "${name}": rule must be a string`);
    return { name, keywords: (keywords as string[] | undefined) ?? [], ...(rule === undefined ? {} : { rule }) };
  });
}

/**
 * The live X filtered stream. On start it reconciles the stream's rules with `settings.xFeeds` (one rule per
 * feed, tagged with its name), then streams; `reconcile` applies changed feeds while streaming, without
 * reconnecting. A live source: X disconnects readers that fall behind, so it is never paused.
 */
export class XStreamConsumer implements Consumer {
  readonly live = true;
  private client: XClient | undefined;
  private pending: Promise<void> | undefined;
  /** The feeds whose rules this source set last: a feed removed later has its rule deleted. */
  private managed = new Set<string>();
  /** Streams lost (each followed by another try), by X's failure class: shown in /status and /metrics. */
  private readonly figures = { reconnects: 0, network: 0, http: 0, rateLimited: 0 };
  private readonly log: Logger;

  constructor(private readonly context: EndpointContext) {
    this.log = context.log.child({ endpoint: context.uri.raw });
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    const client = this.connectClient();
    const directory = this.context.settings.feeds instanceof FeedDirectory ? this.context.settings.feeds : undefined;
    const reconciled = directory?.of('x');
    await this.reconcile(xFeedsSetting(this.context.settings));
    if (signal.aborted) return;
    const onChange = (network: string): void => {
      if (network === 'x') void this.reconcileChange(sink);
    };
    directory?.on('change', onChange);
    try {
      // A change while the rules were first reconciled came before anyone listened: apply it before streaming.
      if (directory && directory.of('x') !== reconciled) await this.reconcileChange(sink);
      await streamX(client, sink, signal, {
        clock: this.context.clock,
        log: this.log,
        keepAliveTimeoutMs: this.context.options.keepAliveTimeout as number,
        onLost: (failureClass) => {
          this.figures.reconnects += 1;
          this.figures[failureClass === 'rate-limit' ? 'rateLimited' : failureClass] += 1;
        },
      });
    } finally {
      directory?.off('change', onChange);
    }
  }

  /** The feeds changed while streaming: one reconcile at a time, the last change winning; a refusal is logged and counted. */
  private reconcileChange(sink: Sink): Promise<void> {
    this.pending = (this.pending ?? Promise.resolve()).then(async () => {
      try {
        await this.reconcile(xFeedsSetting(this.context.settings));
      } catch (error) {
        sink.reject('rules-refused', (error as Error).message);
        this.log.error({ err: error }, 'x: the changed feeds could not be applied to the stream rules; the previous rules stay');
      }
    });
    return this.pending;
  }

  stats(): Readonly<Record<string, number>> {
    return { ...this.figures };
  }

  /** Brings X's rules in line with `feeds` (after a config change): the open stream stays connected. */
  async reconcile(feeds: readonly XFeed[]): Promise<RulesPlan> {
    // A feed removed from the config since the last reconcile: its rule is ours to delete.
    const plan = await reconcileRules(this.connectClient(), feeds, this.context.options.tagPrefix as string | undefined, [...this.managed]);
    this.managed = new Set(feeds.map((feed) => feed.name));
    this.log.info({ feeds: feeds.map((feed) => feed.name), added: plan.rulesToAdd.map((rule) => rule.tag), deleted: plan.ruleIdsToDelete.length }, 'x: stream rules reconciled');
    return plan;
  }

  private connectClient(): XClient {
    if (this.client) return this.client;
    const tokenEnv = this.context.options.tokenEnv as string;
    const token = process.env[tokenEnv];
    if (token === undefined || token === '') {
      throw new Error(`x: environment variable ${tokenEnv} is not set; it must hold the X API app bearer token`);
    }
    this.client = xClient(token, this.context.options.baseUrl as string);
    return this.client;
  }
}

export const xComponent: Component = {
  scheme: 'x',
  doc: 'Reads the X API v2 filtered stream; its rules follow the xFeeds setting. A live source.',
  path: { doc: 'always `stream`: the filtered stream', required: true },
  options: xOptionsSchema,
  createConsumer(context) {
    if (context.uri.path !== 'stream') throw new Error(`x: unknown path "${context.uri.path}"; the only one is x:stream`);
    return new XStreamConsumer(context);
  },
};
