import type { FeedItem, ImageAllowList } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';
import { RISKY_CLASSES, topClass, type ImageClass, type ImageScores, type RiskyClass } from './classes.js';
import type { ImageCheckConfig } from './config.js';

/** What the check found for one item: every picture passed, one reached a threshold, or one could not be checked. */
export type Verdict =
  | { kind: 'passed'; scores: ImageScores[] }
  | { kind: 'flagged'; flagged: RiskyClass; scores: ImageScores[] }
  | { kind: 'error'; reason: string; message: string };

/** Looks at every picture of an item: fetch and classify (image-check/checker.ts), or a test's fake. */
export interface ItemInspector {
  /**
   * Scores per picture, in order, fetching only from `allowList` (the config's as the route was built: a reload that
   * changes it builds the route again); rejects with an error carrying a `reason` (fetch refusal, decode refusal, busy).
   */
  inspect(item: FeedItem, config: ImageCheckConfig, allowList: ImageAllowList, signal: AbortSignal): Promise<ImageScores[]>;
}

/** The header the image check step sets: the item's verdict. */
export const IMAGE_CHECK_HEADER = 'imageCheck';

/** One outcome of the check, as /metrics counts it: what happened to the item, and the class (or error) it was for. */
export interface CheckOutcome {
  feed: string;
  /** passed: published; flagged: kept off (dropped, or to the pending queue in approval mode); error-passed, error-dropped: onError decided. */
  outcome: 'passed' | 'flagged' | 'error-passed' | 'error-dropped';
  /** The top class of a passed item, the class over its threshold of a flagged one, the reason of an error. */
  class: string;
}

/** Each feed's outcomes by class, for /metrics (`livewall_image_checks_total`). */
export class ImageCheckCounts {
  private readonly counts = new Map<string, { outcome: CheckOutcome; count: number }>();

  add(outcome: CheckOutcome): void {
    const key = `${outcome.feed}\0${outcome.outcome}\0${outcome.class}`;
    const entry = this.counts.get(key);
    if (entry) entry.count += 1;
    else this.counts.set(key, { outcome, count: 1 });
  }

  *entries(): Iterable<CheckOutcome & { count: number }> {
    for (const { outcome, count } of this.counts.values()) yield { ...outcome, count };
  }
}

/** The first risky class among an item's pictures whose probability reaches the feed's threshold. */
export function flaggedClass(scores: readonly ImageScores[], thresholds: ImageCheckConfig['thresholds']): RiskyClass | undefined {
  for (const picture of scores) {
    for (const name of RISKY_CLASSES) {
      const threshold = thresholds[name];
      if (threshold !== undefined && picture[name] >= threshold) return name;
    }
  }
  return undefined;
}

export interface ImageCheckStepOptions {
  feed: string;
  config: ImageCheckConfig;
  inspector: ItemInspector;
  /** The image allow-list the pictures are fetched from. */
  allowList: ImageAllowList;
  counts: ImageCheckCounts;
  /** Resolves after `ms`, or early when the signal aborts: the route's clock (a test passes a fake one). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * The image check as a route step (a transform): waits for the feed item's verdict, at most `timeoutMs`, and sets it
 * on the header `imageCheck`; `passesImageCheck` then keeps or drops the item. Many items are checked at once (as
 * many as the route's concurrency), but each one's verdict is handed on only after its predecessor's, so the route
 * sends them in the order they came: a later item that is checked first waits. What is kept waiting is bounded by
 * the route's concurrency and queue, so a slow classifier slows intake instead of growing memory.
 */
export function imageCheckStep(options: ImageCheckStepOptions): (exchange: Exchange) => Promise<FeedItem> {
  const { feed, config, inspector } = options;
  let previous: Promise<unknown> = Promise.resolve();
  return (exchange) => {
    const item = exchange.body as FeedItem;
    const verdict = verdictWithin(item);
    const inTurn = Promise.all([verdict, previous]).then(([found]) => {
      exchange.headers[IMAGE_CHECK_HEADER] = found;
      count(found);
      return item;
    });
    previous = inTurn;
    return inTurn;
  };

  async function verdictWithin(item: FeedItem): Promise<Verdict> {
    const due = new AbortController();
    const timedOut = options.sleep(config.timeoutMs, due.signal).then((): Verdict => ({ kind: 'error', reason: 'timeout', message: `no verdict within ${config.timeoutMs} ms` }));
    const checked = inspector.inspect(item, config, options.allowList, due.signal).then(
      (scores): Verdict => {
        const flagged = flaggedClass(scores, config.thresholds);
        return flagged ? { kind: 'flagged', flagged, scores } : { kind: 'passed', scores };
      },
      (error: Error & { reason?: string }): Verdict => ({ kind: 'error', reason: error.reason ?? 'failed', message: error.message }),
    );
    const verdict = await Promise.race([checked, timedOut]);
    // Ends the wait, or tells the fetch and the classifier's queue that nobody waits any more.
    due.abort();
    return verdict;
  }

  function count(verdict: Verdict): void {
    if (verdict.kind === 'passed') options.counts.add({ feed, outcome: 'passed', class: mostLikely(verdict.scores) });
    else if (verdict.kind === 'flagged') options.counts.add({ feed, outcome: 'flagged', class: verdict.flagged });
    else options.counts.add({ feed, outcome: config.onError === 'pass' ? 'error-passed' : 'error-dropped', class: verdict.reason });
  }
}

/** The most likely class over an item's pictures: the top class of the riskiest one. */
function mostLikely(scores: readonly ImageScores[]): ImageClass {
  const riskiest = scores.reduce<ImageScores | undefined>((worst, picture) => (!worst || Math.max(...RISKY_CLASSES.map((name) => picture[name])) > Math.max(...RISKY_CLASSES.map((name) => worst[name])) ? picture : worst), undefined);
  return riskiest ? topClass(riskiest) : 'Neutral';
}

/**
 * Keeps what the image check lets through: passed items, and items it could not check when onError is pass. Drops a
 * flagged item as `image:<Class>` (unless `toApproval`: a feed in approval mode sends it to its pending queue, see
 * isImageFlagged), and an unchecked one with onError drop as `image-error:<reason>`.
 */
export function passesImageCheck(config: ImageCheckConfig, toApproval: boolean): (exchange: Exchange) => boolean | string {
  return (exchange) => {
    const verdict = exchange.headers[IMAGE_CHECK_HEADER] as Verdict | undefined;
    if (!verdict || verdict.kind === 'passed') return true;
    if (verdict.kind === 'flagged') return toApproval ? true : `image:${verdict.flagged}`;
    return config.onError === 'pass' ? true : `image-error:${verdict.reason}`;
  };
}

/**
 * The item as a feed in approval mode puts it on its pending queue: with the check's scores (and the class it flagged),
 * which the moderator page shows and orders its queue by. An item the check could not score goes as it is.
 */
export function withImageScores(exchange: Exchange): FeedItem {
  const item = exchange.body as FeedItem;
  const verdict = exchange.headers[IMAGE_CHECK_HEADER] as Verdict | undefined;
  if (!verdict || verdict.kind === 'error') return item;
  return { ...item, imageCheck: { scores: verdict.scores, ...(verdict.kind === 'flagged' ? { flagged: verdict.flagged } : {}) } };
}

/** True for an item the image check flagged: in approval mode it goes to the pending queue even from an allowed author. */
export function isImageFlagged(exchange: Exchange): boolean {
  return (exchange.headers[IMAGE_CHECK_HEADER] as Verdict | undefined)?.kind === 'flagged';
}
