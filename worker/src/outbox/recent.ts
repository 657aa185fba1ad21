import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * The ids the outbox took lately, per address: a trigger writes a row for each message put, in the same statement
 * (so a crash keeps both or neither), and the row stays after the broker accepted the message, until the outbox
 * prunes it (beyond the newest RECENT_PER_ADDRESS of its address, or older than maxAge). A worker that starts again,
 * after a stop or a `kill -9`, reads them to seed its feeds' de-duplication: what a source offers again (Bluesky's
 * rewind, Mastodon's newest page, a replay's lines after its last committed place) and was put before is not put
 * twice. One b-tree keyed by address and the message's outbox position: the put costs one more insert, no fsync.
 */
export function createRecentTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS recent (
    address TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (address, seq)
  ) WITHOUT ROWID`);
  db.exec(`CREATE TRIGGER IF NOT EXISTS outbox_recent AFTER INSERT ON outbox BEGIN
    INSERT INTO recent (address, seq, message_id, at) VALUES (new.address, new.seq, new.message_id, new.enqueued_at);
  END`);
}

/** The newest `limit` ids of an address, oldest first. */
export const RECENT_IDS = 'SELECT message_id FROM (SELECT seq, message_id FROM recent WHERE address = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq';

/**
 * The ids an outbox file remembers for `address`: the newest `limit`, oldest first; none when there is no such file
 * or table yet. Read once, at the start, before the outbox itself is opened.
 */
export function recentlyPut(file: string, address: string, limit: number): string[] {
  if (file === ':memory:' || !existsSync(file)) return [];
  const db = new Database(file);
  try {
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'recent'").get() === undefined) return [];
    return db.prepare<[string, number]>(RECENT_IDS).pluck().all(address, limit) as string[];
  } finally {
    db.close();
  }
}
