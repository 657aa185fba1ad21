import type { Network } from '@livewall/contract';
import type { Exchange } from '../engine/types.js';
import type { Post } from '../post.js';
import { ProfanityFilter } from './profanity.js';
import { foldText, WordMatcher } from './words.js';

/** Authors per network: X handle or id, Bluesky handle or DID, Mastodon `user@instance`. */
export type AuthorLists = Record<Network, string[]>;

/** The moderation rules as the config writes them, globally (`moderation:`) or for one feed (`feeds[].moderation`). */
export interface ModerationConfig {
  /** Words and phrases whose posts are dropped (text and images' alt text), matched whole in any case and script. */
  blockedWords: string[];
  blockedAuthors: AuthorLists;
  /** Authors whose posts always pass these rules (and, once there is one, skip the approval queue). */
  allowedAuthors: AuthorLists;
  /** The stock English profanity filter (obscenity); undefined: as the global rules say, or on. */
  profanity?: boolean;
  /**
   * At most `posts` posts of one author per `perMs` in a feed; false for no limit; undefined: as the global rules say,
   * or 3 per 10 minutes for a live feed and none for a replayed recording (which repeats its few authors on purpose).
   */
  perAuthor?: { posts: number; perMs: number } | false;
}

/** What a live feed gets when neither it nor the global rules say otherwise. */
export const DEFAULT_PER_AUTHOR = { posts: 3, perMs: 10 * 60_000 } as const;

export function emptyAuthorLists(): AuthorLists {
  return { x: [], bluesky: [], mastodon: [] };
}

/** A feed's rules: the global ones with the feed's added (lists joined; the feed's profanity and perAuthor win). */
export function feedRules(global: ModerationConfig | undefined, feed: ModerationConfig | undefined, live = true): Required<ModerationConfig> {
  const join = (key: 'blockedAuthors' | 'allowedAuthors'): AuthorLists => {
    const lists = emptyAuthorLists();
    for (const network of ['x', 'bluesky', 'mastodon'] as const) lists[network] = [...(global?.[key][network] ?? []), ...(feed?.[key][network] ?? [])];
    return lists;
  };
  return {
    blockedWords: [...(global?.blockedWords ?? []), ...(feed?.blockedWords ?? [])],
    blockedAuthors: join('blockedAuthors'),
    allowedAuthors: join('allowedAuthors'),
    profanity: feed?.profanity ?? global?.profanity ?? true,
    perAuthor: feed?.perAuthor ?? global?.perAuthor ?? (live ? { ...DEFAULT_PER_AUTHOR } : false),
  };
}

/** An author's name as the lists compare it: folded, without a leading `@`. */
function authorKey(network: Network, name: string): string {
  return `${network}:${foldText(name.trim()).replace(/^@/, '')}`;
}

/** The names a post's author goes by: handle and, when known, the network's id (Bluesky's DID). */
function authorKeys(post: Post): string[] {
  const keys = [authorKey(post.network, post.author.handle)];
  if (post.author.id !== undefined) keys.push(authorKey(post.network, post.author.id));
  return keys;
}

function authorSet(lists: AuthorLists): Set<string> {
  return new Set((['x', 'bluesky', 'mastodon'] as const).flatMap((network) => lists[network].map((name) => authorKey(network, name))));
}

let profanityFilter: ProfanityFilter | undefined;
/** Built on first use and shared: the dataset does not change. */
function profanity(): ProfanityFilter {
  profanityFilter ??= new ProfanityFilter();
  return profanityFilter;
}

/**
 * Counts each author's recent posts in one feed: at most `posts` per `perMs`, the oldest forgotten as the window
 * slides. Authors not seen for a window are forgotten too, so the map stays as small as the window's authors.
 */
export class AuthorRate {
  private readonly seen = new Map<string, number[]>();
  private sweptAt = 0;

  constructor(readonly limit: { posts: number; perMs: number }) {}

  /** True and counted when the author may post now; false when they have had their share of the window. */
  admit(author: string, now: number): boolean {
    const since = now - this.limit.perMs;
    if (now - this.sweptAt > this.limit.perMs) this.sweep(since, now);
    const times = (this.seen.get(author) ?? []).filter((time) => time > since);
    if (times.length >= this.limit.posts) {
      this.seen.set(author, times);
      return false;
    }
    times.push(now);
    this.seen.set(author, times);
    return true;
  }

  private sweep(since: number, now: number): void {
    for (const [author, times] of this.seen) if ((times[times.length - 1] ?? 0) <= since) this.seen.delete(author);
    this.sweptAt = now;
  }
}

/**
 * One feed's rules, compiled once per rules change: `check(post)` says whether the post passes, or why not
 * (`blocked-author`, `blocked-word`, `profanity`, `author-rate`: the drop reasons counted). Allowed authors
 * always pass. The rate is counted last, so that a post dropped for another reason uses none of its author's share.
 */
export class FeedModeration {
  readonly rules: Required<ModerationConfig>;
  private readonly words: WordMatcher;
  private readonly blocked: Set<string>;
  private readonly allowed: Set<string>;

  constructor(rules: Required<ModerationConfig>, readonly rate: AuthorRate | undefined) {
    this.rules = rules;
    this.words = new WordMatcher(rules.blockedWords);
    this.blocked = authorSet(rules.blockedAuthors);
    this.allowed = authorSet(rules.allowedAuthors);
  }

  check(post: Post, now: number): true | 'blocked-author' | 'blocked-word' | 'profanity' | 'author-rate' {
    const authors = authorKeys(post);
    if (authors.some((author) => this.allowed.has(author))) return true;
    if (authors.some((author) => this.blocked.has(author))) return 'blocked-author';
    const texts = [post.text, ...post.media.flatMap((media) => (media.alt ? [media.alt] : []))];
    if (this.words.match(...texts) !== undefined) return 'blocked-word';
    if (this.rules.profanity && texts.some((text) => profanity().hasMatch(text))) return 'profanity';
    if (this.rate && !this.rate.admit(authors[0] as string, now)) return 'author-rate';
    return true;
  }
}

/** A feed as the moderation book takes it: its name, its own rules, and whether it reads a live source (not a recording). */
export interface ModeratedFeed {
  name: string;
  moderation?: ModerationConfig;
  live?: boolean;
}

/**
 * Every feed's compiled rules, as the feed routes read them while they run. A config reload swaps a feed's rules in
 * place (its route keeps running, its source stays connected); a feed's count of recent posts per author carries
 * over while its perAuthor limit stays the same.
 */
export class ModerationBook {
  private readonly byFeed = new Map<string, { key: string; moderation: FeedModeration }>();

  constructor(global?: ModerationConfig, feeds: readonly ModeratedFeed[] = []) {
    this.update(global, feeds);
  }

  of(feed: string): FeedModeration | undefined {
    return this.byFeed.get(feed)?.moderation;
  }

  /** Takes the rules of a new config; returns the feeds whose rules changed. */
  update(global: ModerationConfig | undefined, feeds: readonly ModeratedFeed[]): string[] {
    const changed: string[] = [];
    for (const feed of feeds) {
      const rules = feedRules(global, feed.moderation, feed.live ?? true);
      const key = JSON.stringify(rules);
      const current = this.byFeed.get(feed.name);
      if (current?.key === key) continue;
      const sameRate = current && JSON.stringify(current.moderation.rules.perAuthor) === JSON.stringify(rules.perAuthor);
      const rate = sameRate ? current.moderation.rate : rules.perAuthor ? new AuthorRate(rules.perAuthor) : undefined;
      this.byFeed.set(feed.name, { key, moderation: new FeedModeration(rules, rate) });
      changed.push(feed.name);
    }
    for (const name of this.byFeed.keys()) if (!feeds.some((feed) => feed.name === name)) this.byFeed.delete(name);
    return changed;
  }
}

/** The feed route's moderation step: keeps the posts that pass `feed`'s rules as they are now, drops the rest under the rule's reason. */
export function moderated(book: ModerationBook, feed: string, now: () => number = Date.now): (exchange: Exchange) => boolean | string {
  return (exchange) => book.of(feed)?.check(exchange.body as Post, now()) ?? true;
}
