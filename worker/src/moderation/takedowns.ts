import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { authorKey, itemAuthorKey, type ModerationAction, type Network } from '@livewall/contract';
import Database from 'better-sqlite3';

/** Why the gate kept an item off its feed: a moderator hid it, or blocked its author. */
export type TakedownReason = 'hidden' | 'blocked-author';

/** One feed's takedowns as they stand: the hidden item ids and the blocked authors (`network:handle`, as authorKey makes them). */
export interface FeedTakedowns {
  hidden: string[];
  blockedAuthors: string[];
}

/** The part of a feed item the takedowns look at. */
export interface TakenItem {
  id: string;
  network: Network;
  author: { handle: string };
}

/**
 * Every feed's takedowns, as the moderation log has them so far: per feed, the items hidden and the authors blocked.
 * `apply` takes the log's actions in order: hide adds an item, unhide removes it, block adds an author, unblock
 * removes them; approve and reject change nothing. Applying the same actions again, in the same order, ends in the
 * same state, which is why a worker may read the whole log from its start on every (re)connect.
 *
 * With a file (the outbox's SQLite file: the worker's local state), every change is written before `apply` returns,
 * so that a worker started while the broker is unreachable still keeps off what was taken down before.
 */
export class Takedowns {
  private readonly hidden = new Map<string, Set<string>>();
  private readonly blocked = new Map<string, Set<string>>();
  private readonly db: Database.Database | undefined;
  private readonly statements;

  constructor(file?: string) {
    if (file === undefined) {
      this.statements = undefined;
      return;
    }
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS takedowns (
      feed TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('item', 'author')),
      key TEXT NOT NULL,
      action_id TEXT NOT NULL,
      at TEXT NOT NULL,
      PRIMARY KEY (feed, kind, key)
    )`);
    this.statements = {
      add: this.db.prepare<[string, string, string, string, string]>('INSERT INTO takedowns (feed, kind, key, action_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (feed, kind, key) DO UPDATE SET action_id = excluded.action_id, at = excluded.at'),
      remove: this.db.prepare<[string, string, string]>('DELETE FROM takedowns WHERE feed = ? AND kind = ? AND key = ?'),
      all: this.db.prepare('SELECT feed, kind, key FROM takedowns'),
    };
    for (const row of this.statements.all.all() as { feed: string; kind: 'item' | 'author'; key: string }[]) {
      this.setOf(row.kind === 'item' ? this.hidden : this.blocked, row.feed).add(row.key);
    }
  }

  private setOf(map: Map<string, Set<string>>, feed: string): Set<string> {
    let set = map.get(feed);
    if (!set) {
      set = new Set();
      map.set(feed, set);
    }
    return set;
  }

  /** Takes one action of the log; returns whether the takedowns changed. */
  apply(action: ModerationAction): boolean {
    const { feed } = action;
    if ((action.action === 'hide' || action.action === 'unhide') && action.itemId !== undefined) {
      return this.change(this.hidden, 'item', feed, action.itemId, action.action === 'hide', action);
    }
    if ((action.action === 'block' || action.action === 'unblock') && action.author !== undefined) {
      return this.change(this.blocked, 'author', feed, authorKey(action.author.network, action.author.handle), action.action === 'block', action);
    }
    return false;
  }

  private change(map: Map<string, Set<string>>, kind: 'item' | 'author', feed: string, key: string, add: boolean, action: ModerationAction): boolean {
    const set = this.setOf(map, feed);
    if (add === set.has(key)) return false;
    if (add) {
      set.add(key);
      this.statements?.add.run(feed, kind, key, action.actionId, action.at);
    } else {
      set.delete(key);
      this.statements?.remove.run(feed, kind, key);
    }
    return true;
  }

  /** Whether a feed has any takedown: the gate looks no further into the items of a feed that has none. */
  any(feed: string): boolean {
    return (this.hidden.get(feed)?.size ?? 0) > 0 || (this.blocked.get(feed)?.size ?? 0) > 0;
  }

  isHidden(feed: string, itemId: string): boolean {
    return this.hidden.get(feed)?.has(itemId) ?? false;
  }

  hasBlockedAuthors(feed: string): boolean {
    return (this.blocked.get(feed)?.size ?? 0) > 0;
  }

  isBlocked(feed: string, network: Network, handle: string): boolean {
    return this.blocked.get(feed)?.has(authorKey(network, handle)) ?? false;
  }

  /** Why `item` must stay off `feed`, or undefined when it may be published. */
  verdict(feed: string, item: TakenItem): TakedownReason | undefined {
    if (this.isHidden(feed, item.id)) return 'hidden';
    if (this.blocked.get(feed)?.has(itemAuthorKey(item as Parameters<typeof itemAuthorKey>[0]))) return 'blocked-author';
    return undefined;
  }

  /** A feed's takedowns now, sorted. */
  of(feed: string): FeedTakedowns {
    return { hidden: [...(this.hidden.get(feed) ?? [])].sort(), blockedAuthors: [...(this.blocked.get(feed) ?? [])].sort() };
  }

  /** The feeds that have a takedown. */
  feeds(): string[] {
    return [...new Set([...this.hidden.keys(), ...this.blocked.keys()])].filter((feed) => this.any(feed)).sort();
  }

  close(): void {
    this.db?.close();
  }
}
