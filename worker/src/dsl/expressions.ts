import { DEFAULT_IMAGE_HOSTS, ImageAllowList } from '@livewall/contract';
import type { WorkerConfig } from '../config.js';
import type { KeyExpression, Predicate, Splitter, Transform } from '../engine/definition.js';
import { feedsOn } from '../sources/feed-directory.js';
import { feedPipeline } from './feed-pipeline.js';

/** What each kind of expression is: a route's steps take one kind each. */
export interface ExpressionTypes {
  /** filter, choice's when: true keeps the exchange; false or a string (the drop reason) does not. */
  predicate: Predicate;
  /** transform: the new body. */
  transform: Transform;
  /** split: the parts. */
  splitter: Splitter;
  /** idempotent: the key duplicates share. */
  key: KeyExpression;
}

export type ExpressionKind = keyof ExpressionTypes;

export interface NamedExpression<Kind extends ExpressionKind = ExpressionKind> {
  name: string;
  kind: Kind;
  fn: ExpressionTypes[Kind];
  /** One line for the docs. */
  doc: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * The named functions a route written in YAML may use (`expression: { ref: isPost }`). Each is registered once,
 * with its kind, so that a ref in the wrong place (a predicate where a split wants parts) is a lint error, not a
 * crash at run time. A ref resolves to the registered function itself: a YAML route and a TypeScript route that
 * use the same function compile to equal definitions.
 */
export class FunctionRegistry {
  private readonly expressions = new Map<string, NamedExpression>();

  /**
   * @param signature what the functions were made from (settings they read): a config reload that changes it
   *   replaces the routes that use them, even when the routes' own text is unchanged.
   */
  constructor(readonly signature?: string) {}

  predicate(fn: Predicate, doc: string, name = fn.name): this {
    return this.add({ name, kind: 'predicate', fn, doc });
  }

  transform(fn: Transform, doc: string, name = fn.name): this {
    return this.add({ name, kind: 'transform', fn, doc });
  }

  splitter(fn: Splitter, doc: string, name = fn.name): this {
    return this.add({ name, kind: 'splitter', fn, doc });
  }

  key(fn: KeyExpression, doc: string, name = fn.name): this {
    return this.add({ name, kind: 'key', fn, doc });
  }

  /** The expression registered under `name`, whatever its kind. */
  lookup(name: string): NamedExpression | undefined {
    return this.expressions.get(name);
  }

  /** The function registered under `name` when it is of `kind`. */
  get<Kind extends ExpressionKind>(name: string, kind: Kind): ExpressionTypes[Kind] | undefined {
    const found = this.expressions.get(name);
    return found?.kind === kind ? (found.fn as ExpressionTypes[Kind]) : undefined;
  }

  /** Names in registration order, of one kind or all. */
  names(kind?: ExpressionKind): string[] {
    return this.list()
      .filter((expression) => kind === undefined || expression.kind === kind)
      .map((expression) => expression.name);
  }

  list(): NamedExpression[] {
    return [...this.expressions.values()];
  }

  private add(expression: NamedExpression): this {
    if (!NAME.test(expression.name)) throw new Error(`expression name ${JSON.stringify(expression.name)} must match ${NAME.source}`);
    if (this.expressions.has(expression.name)) throw new Error(`expression ${expression.name} is registered twice`);
    this.expressions.set(expression.name, expression);
    return this;
  }
}

/**
 * The expressions the worker offers: the feed pipeline's pieces, with the settings they read taken from `config`
 * (`post` applies the X recording's rewriteMedia and restamp, when sources.x has a replay). Without a config (a file
 * too broken to load, still being linted) they take the defaults: lint only needs names.
 */
export function defaultFunctions(config?: WorkerConfig): FunctionRegistry {
  const replay = config?.sources.x?.replay;
  const steps = feedPipeline({
    imageHosts: config?.imageHosts ?? new ImageAllowList(DEFAULT_IMAGE_HOSTS),
    videoPreviews: config?.videoPreviews ?? true,
    restamp: replay?.restamp ?? false,
    ...(replay?.rewriteMedia ? { rewriteMedia: replay.rewriteMedia } : {}),
    feeds: (network) => feedsOn(config?.feeds ?? [], network),
  });
  const signature = config && JSON.stringify({ imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, rewriteMedia: replay?.rewriteMedia, restamp: replay?.restamp, feeds: config.feeds });
  return new FunctionRegistry(signature)
    .transform(steps.decodeX, 'A raw line of the X filtered stream (or a recording of it) → the event it carries; posts go to the feeds of their matching rules.')
    .transform(steps.decodeBluesky, 'A Jetstream message (or a recording of one) → the event it carries; posts go to the Bluesky feeds whose keywords they contain.')
    .transform(steps.decodeMastodon, 'A Mastodon status as JSON (or a recording of one) → the event it carries; posts go to the Mastodon feeds that follow its hashtag.')
    .predicate(steps.isRejected, 'True for raw events the decoder could not use: route them to a dead-letter endpoint in a choice.')
    .transform(steps.rejection, 'A rejected event as a dead-letter record: `{ rejected, network, raw, at }`.')
    .predicate(steps.isIdentity, "True for Jetstream's identity events (a handle changed): send them to appview: in a choice, to refresh its cache.")
    .predicate(steps.isPost, 'Keeps posts; drops keep-alives, other events and invalid ones (invalid:<reason>), each under its own reason.')
    .transform(steps.post, 'A post event → the post, with `sources.x.replay`\'s `rewriteMedia` and `restamp` applied when set.')
    .predicate(steps.hasPictures, 'Keeps posts with a picture the wall can show; drops no-media, no-photo, no-usable-image.')
    .splitter(steps.byFeed, 'One post per feed it matched, each matched to that feed alone.')
    .transform(steps.feedItem, 'A post → the feed item for its first feed, or why there is none.')
    .predicate(steps.isMapped, 'Keeps what feedItem mapped; drops the rest under the mapper\'s reason.')
    .transform(steps.stamp, 'The mapped item, stamped `publishedAt`; sets the headers `messageId` and `feed`.')
    .predicate(steps.meetsContract, 'Keeps feed items that meet the message contract; drops the rest as contract.')
    .key(steps.itemKey, 'A feed item\'s feed and id: one post sent to two feeds is not a duplicate.');
}
