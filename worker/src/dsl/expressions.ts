import { DEFAULT_IMAGE_HOSTS, ImageAllowList } from '@livewall/contract';
import type { WorkerConfig } from '../config.js';
import type { KeyExpression, Predicate, Splitter, Transform } from '../engine/definition.js';
import { xPipeline } from './x-pipeline.js';

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
 * The expressions the worker offers: the X pipeline's pieces, with the settings they read taken from `config`.
 * Without a config (a file too broken to load, still being linted) they take the defaults: lint only needs names.
 */
export function defaultFunctions(config?: WorkerConfig): FunctionRegistry {
  const replay = config?.source.replay;
  const x = xPipeline({
    imageHosts: config?.imageHosts ?? new ImageAllowList(DEFAULT_IMAGE_HOSTS),
    videoPreviews: config?.videoPreviews ?? true,
    restamp: replay?.restamp ?? false,
    ...(replay?.rewriteMedia ? { rewriteMedia: replay.rewriteMedia } : {}),
  });
  const signature = config && JSON.stringify({ imageHosts: config.imageHostEntries, videoPreviews: config.videoPreviews, rewriteMedia: replay?.rewriteMedia, restamp: replay?.restamp });
  return new FunctionRegistry(signature)
    .transform(x.decodeX, 'A raw line of the X filtered stream (or a recording of it) → the event it carries.')
    .predicate(x.isPost, 'Keeps posts; drops keep-alives, stream errors and invalid lines, each under its own reason.')
    .transform(x.post, 'A post event → the post, with `source.replay`\'s `rewriteMedia` and `restamp` applied when set.')
    .predicate(x.hasPictures, 'Keeps posts with a picture the wall can show; drops no-media, no-photo, no-usable-image.')
    .splitter(x.byFeed, 'One post per feed it matched, each matched to that feed alone.')
    .transform(x.feedItem, 'A post → the feed item for its first feed, or why there is none.')
    .predicate(x.isMapped, 'Keeps what feedItem mapped; drops the rest under the mapper\'s reason.')
    .transform(x.stamp, 'The mapped item, stamped `publishedAt`; sets the headers `messageId` and `feed`.')
    .predicate(x.meetsContract, 'Keeps feed items that meet the message contract; drops the rest as contract.')
    .key(x.itemKey, 'A feed item\'s feed and id: one post sent to two feeds is not a duplicate.');
}
