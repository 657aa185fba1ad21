/**
 * Filtered-stream rules, reconciled with the configured feeds: one rule per feed, tagged with the feed's name (the
 * decoder turns `matching_rules[].tag` back into feeds). Only rules we own are ever deleted: those tagged with a
 * configured feed's name, or with the owned tag prefix. Rules with other tags (another tool's, an operator's) are
 * never touched. Rules take effect without reconnecting the stream.
 */

/** One feed of the live X source, as `settings.xFeeds` lists it. */
export interface XFeed {
  /** The feed's name: the rule's tag, and the feed the decoder assigns matching posts to. */
  name: string;
  /** Words, `#hashtags` or phrases, any of which selects a post. */
  keywords: readonly string[];
  /** An operator's own rule value, used as it is instead of the one built from the keywords. */
  rule?: string;
}

/** A rule as `GET /2/tweets/search/stream/rules` lists it. */
export interface StreamRule {
  id: string;
  value: string;
  tag?: string;
}

export interface RuleToAdd {
  value: string;
  tag: string;
}

export interface RulesPlan {
  rulesToAdd: RuleToAdd[];
  ruleIdsToDelete: string[];
}

/** Posts with images, no retweets (a retweet repeats an image the wall has already shown). */
const RULE_SUFFIX = 'has:images -is:retweet';

/** A keyword as a rule term: a phrase in quotes, a word or hashtag as it is. */
function ruleTerm(keyword: string): string {
  const term = keyword.trim();
  return /[\s"()]/.test(term) ? `"${term.replace(/["\\]/g, '')}"` : term;
}

/** The rule value for one feed: `(cat OR kitten OR #caturday) has:images -is:retweet`, or the operator's own. */
export function ruleValue(feed: XFeed): string {
  const override = feed.rule?.trim();
  if (override) return override;
  const terms = [...new Set(feed.keywords.map(ruleTerm).filter((term) => term !== '' && term !== '""'))];
  if (terms.length === 0) throw new Error(`x: feed "${feed.name}" has neither keywords nor a rule; give it keywords in xFeeds`);
  return `(${terms.join(' OR ')}) ${RULE_SUFFIX}`;
}

/** The rules the feeds want, one per feed. */
export function desiredRules(feeds: readonly XFeed[]): RuleToAdd[] {
  const names = new Set<string>();
  return feeds.map((feed) => {
    if (feed.name.trim() === '') throw new Error('x: a feed in xFeeds has no name');
    if (names.has(feed.name)) throw new Error(`x: feed "${feed.name}" appears twice in xFeeds`);
    names.add(feed.name);
    return { value: ruleValue(feed), tag: feed.name };
  });
}

/**
 * What to change so that the current rules become the desired ones: our rules (tagged with a feed's name, a former
 * feed's, or the owned prefix) that no feed wants (or wants with another value) are deleted, wanted rules that do not exist yet are added, an unchanged rule stays as it is.
 */
export function planRules(feeds: readonly XFeed[], current: readonly StreamRule[], ownedTagPrefix?: string, formerFeeds: readonly string[] = []): RulesPlan {
  const desired = desiredRules(feeds);
  const feedNames = new Set([...desired.map((rule) => rule.tag), ...formerFeeds]);
  const isOurs = (tag: string | undefined): boolean =>
    tag !== undefined && (feedNames.has(tag) || (ownedTagPrefix !== undefined && ownedTagPrefix !== '' && tag.startsWith(ownedTagPrefix)));
  const stillWanted = new Set(desired.map((rule) => key(rule)));
  const kept = new Set<string>();
  const ruleIdsToDelete: string[] = [];
  for (const rule of current) {
    if (!isOurs(rule.tag)) continue;
    const ruleKey = key({ value: rule.value, tag: rule.tag ?? '' });
    // The first copy of a wanted rule stays; a duplicate of it goes.
    if (stillWanted.has(ruleKey) && !kept.has(ruleKey)) kept.add(ruleKey);
    else ruleIdsToDelete.push(rule.id);
  }
  return { rulesToAdd: desired.filter((rule) => !kept.has(key(rule))), ruleIdsToDelete };
}

function key(rule: RuleToAdd): string {
  return JSON.stringify([rule.tag, rule.value]);
}

/** The part of twitter-api-v2's v2 client that rules need. */
export interface RulesClient {
  streamRules(): Promise<{ data?: StreamRule[] }>;
  updateStreamRules(
    body: { add: RuleToAdd[] } | { delete: { ids: string[] } },
    query?: { dry_run?: boolean },
  ): Promise<{ errors?: unknown[] }>;
}

/** X refused a rule: `details` are X's own words for what is wrong with which value. */
export class RuleValidationError extends Error {
  constructor(readonly details: string[]) {
    super(`x: X refused the stream rules: ${details.join('; ')}`);
    this.name = 'RuleValidationError';
  }
}

/**
 * Brings the stream's rules in line with the feeds (and deletes the rules of `formerFeeds`, feeds this worker had
 * before a config change, that no feed wants any more): reads them, validates the additions with `dry_run` (a refusal
 * throws with X's message before anything changed), then deletes and adds only the difference.
 */
export async function reconcileRules(client: RulesClient, feeds: readonly XFeed[], ownedTagPrefix?: string, formerFeeds: readonly string[] = []): Promise<RulesPlan> {
  try {
    return await reconcile(client, feeds, ownedTagPrefix, formerFeeds);
  } catch (error) {
    throw withCause(error);
  }
}

/**
 * twitter-api-v2 says only "Request failed." when the request never got an answer (a closed port, a host that does
 * not resolve, TLS): the cause and the URL are on the error, out of its message. Put them in.
 */
export function withCause(error: unknown): unknown {
  const failed = (error ?? {}) as { type?: string; _options?: { error?: { message?: string; code?: string } }; requestError?: { message?: string; code?: string }; request?: { protocol?: string; host?: string; path?: string; getHeader?: (name: string) => unknown } };
  // ApiRequestError keeps the cause in its hidden options as `error` (its `requestError` getter reads another name).
  const requestError = failed.type === 'request' ? (failed.requestError ?? failed._options?.error) : undefined;
  const { request } = failed;
  if (!requestError) return error;
  // The Host header has the port; `host` alone does not.
  const host = String(request?.getHeader?.('host') ?? request?.host ?? '');
  const url = host ? `${request?.protocol ?? 'https:'}//${host}${(request?.path ?? '').split('?')[0]}` : 'the X API';
  // Node reports a refused connection to a name with several addresses as an AggregateError with an empty message.
  return new Error(`x: request to ${url} failed: ${requestError.message || requestError.code || 'no reason given'}`, { cause: error });
}

async function reconcile(client: RulesClient, feeds: readonly XFeed[], ownedTagPrefix: string | undefined, formerFeeds: readonly string[]): Promise<RulesPlan> {
  const current = (await client.streamRules()).data ?? [];
  const plan = planRules(feeds, current, ownedTagPrefix, formerFeeds);
  if (plan.rulesToAdd.length > 0) await checked(client.updateStreamRules({ add: plan.rulesToAdd }, { dry_run: true }));
  if (plan.ruleIdsToDelete.length > 0) await checked(client.updateStreamRules({ delete: { ids: plan.ruleIdsToDelete } }));
  if (plan.rulesToAdd.length > 0) await checked(client.updateStreamRules({ add: plan.rulesToAdd }));
  return plan;
}

/**
 * X reports refused rules in an `errors` array, in a 200 answer or in a 400 one (which twitter-api-v2 throws
 * as an ApiResponseError carrying the body as `data`): either way it becomes a RuleValidationError.
 */
async function checked(request: Promise<{ errors?: unknown[] }>): Promise<void> {
  let errors: unknown[] | undefined;
  try {
    errors = (await request).errors;
  } catch (error) {
    const data = (error as { data?: { errors?: unknown[] } }).data;
    if (!Array.isArray(data?.errors) || data.errors.length === 0) throw error;
    errors = data.errors;
  }
  if (errors && errors.length > 0) throw new RuleValidationError(errors.map(describeRuleError));
}

function describeRuleError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { title, value, details, detail } = error as { title?: unknown; value?: unknown; details?: unknown; detail?: unknown };
  const why = Array.isArray(details) ? details.join(', ') : typeof detail === 'string' ? detail : '';
  return [typeof title === 'string' ? title : 'error', typeof value === 'string' ? `"${value}"` : '', why].filter(Boolean).join(': ');
}
