import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createRecentTable, RECENT_IDS } from './recent.js';

/** One message waiting for the broker: where it goes, its id, its body, when it came in. */
export interface OutboxEntry {
  /** Position in the outbox: messages leave in this order. */
  seq: number;
  address: string;
  messageId: string;
  body: string;
  /** Milliseconds since the epoch. */
  enqueuedAt: number;
}

export interface OutboxOptions {
  /** The SQLite file; its folder is created. `:memory:` for tests that need no durability. */
  file: string;
  /** More than this many waiting and the oldest are dropped (counted as `full`). */
  maxItems: number;
  /** Older than this and a message is dropped (counted as `expired`): a week-long outage cannot fill the disk. */
  maxAgeMs: number;
  /** How many of the ids put lately each address keeps (see `recentIds`); default RECENT_PER_ADDRESS. */
  recentPerAddress?: number;
  now?: () => number;
}

export interface OutboxStats {
  depth: number;
  /** Age of the oldest waiting message in milliseconds, 0 when empty. */
  oldestAgeMs: number;
  droppedFull: number;
  droppedExpired: number;
}

/** The ids put lately that each address keeps by default: a feed route's de-duplication window. */
export const RECENT_PER_ADDRESS = 10_000;

/**
 * The durable store between the routes and the broker: a message is in the outbox once `put` returns (SQLite in WAL
 * mode: a `kill -9` of the worker loses nothing put), and leaves it when the broker accepted it (`remove`). Bounded
 * by count and by age, dropping the oldest, counted.
 *
 * It also remembers which ids it took lately, per address (the `recent` table, written in the same statement as the
 * put, and kept after the message left for the broker): what was put before a stop or a crash, so that the next run does
 * not put it again (see recent.ts). The newest `recentPerAddress` of each address are kept, none older than maxAge.
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements;
  private droppedFull = 0;
  private droppedExpired = 0;
  private count: number;

  constructor(private readonly options: OutboxOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    // WAL: a commit is one append to the log; NORMAL syncs at checkpoints, which survives a crash of the process
    // (what `kill -9` is) though not a power cut of the machine mid-checkpoint.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      address TEXT NOT NULL,
      message_id TEXT NOT NULL,
      body TEXT NOT NULL,
      enqueued_at INTEGER NOT NULL
    )`);
    createRecentTable(this.db);
    this.now = options.now ?? Date.now;
    this.statements = {
      // The trigger of recent.ts notes the id in the same statement.
      put: this.db.prepare<[string, string, string, number]>('INSERT INTO outbox (address, message_id, body, enqueued_at) VALUES (?, ?, ?, ?)'),
      after: this.db.prepare<[number, number]>('SELECT seq, address, message_id AS messageId, body, enqueued_at AS enqueuedAt FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      remove: this.db.prepare<[number]>('DELETE FROM outbox WHERE seq = ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM outbox'),
      oldest: this.db.prepare('SELECT enqueued_at AS at FROM outbox ORDER BY seq LIMIT 1'),
      dropOldest: this.db.prepare<[number]>('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)'),
      expire: this.db.prepare<[number]>('DELETE FROM outbox WHERE enqueued_at < ?'),
      recent: this.db.prepare<[string, number]>(RECENT_IDS).pluck(),
      recentAddresses: this.db.prepare('SELECT DISTINCT address FROM recent').pluck(),
      pruneRecent: this.db.prepare<[string, string, number]>('DELETE FROM recent WHERE address = ? AND seq <= (SELECT seq FROM recent WHERE address = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)'),
      expireRecent: this.db.prepare<[number]>('DELETE FROM recent WHERE at < ?'),
    };
    this.count = (this.statements.count.get() as { n: number }).n;
  }

  /** Stores a message; when it returns, the message survives a crash. Returns its position. */
  put(address: string, messageId: string, body: string): number {
    const seq = Number(this.statements.put.run(address, messageId, body, this.now()).lastInsertRowid);
    this.count += 1;
    if (this.count > this.options.maxItems) {
      const excess = this.count - this.options.maxItems;
      const dropped = this.statements.dropOldest.run(excess).changes;
      this.count -= dropped;
      this.droppedFull += dropped;
    }
    return seq;
  }

  /** Up to `limit` messages after position `seq`, oldest first. */
  after(seq: number, limit: number): OutboxEntry[] {
    return this.statements.after.all(seq, limit) as OutboxEntry[];
  }

  /** The broker has it: the message leaves the outbox. Removing one that is gone (dropped meanwhile) is a no-op. */
  remove(seq: number): void {
    this.count -= this.statements.remove.run(seq).changes;
  }

  /** The last `limit` ids put for `address` (sent since, or not), oldest first. */
  recentIds(address: string, limit: number): string[] {
    return this.statements.recent.all(address, limit) as string[];
  }

  /**
   * Drops what is older than maxAge, and the remembered ids beyond each address's `recentPerAddress`; returns how many
   * messages it dropped.
   */
  expire(): number {
    const horizon = this.now() - this.options.maxAgeMs;
    this.statements.expireRecent.run(horizon);
    const keep = this.options.recentPerAddress ?? RECENT_PER_ADDRESS;
    for (const address of this.statements.recentAddresses.all() as string[]) this.statements.pruneRecent.run(address, address, keep);
    const dropped = this.statements.expire.run(horizon).changes;
    this.count -= dropped;
    this.droppedExpired += dropped;
    return dropped;
  }

  get depth(): number {
    return this.count;
  }

  stats(): OutboxStats {
    const oldest = this.statements.oldest.get() as { at: number } | undefined;
    return { depth: this.count, oldestAgeMs: oldest ? Math.max(0, this.now() - oldest.at) : 0, droppedFull: this.droppedFull, droppedExpired: this.droppedExpired };
  }

  close(): void {
    this.db.close();
  }
}
