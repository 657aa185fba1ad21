import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * The ids the outbox took lately, per address: a row is written in the same transaction as the message it names
 * (outbox.ts) and stays after the broker accepted the message, until the outbox prunes it (beyond the newest
 * RECENT_PER_ADDRESS of its address, or older than maxAge). A worker that starts again, after a stop or a `kill -9`,
 * reads them to seed its feeds' de-duplication: what a source offers again (Bluesky's rewind, Mastodon's newest
 * page, a replay's lines after its last committed place) and was put before is not put twice.
 */
export function createRecentTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS recent (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at INTEGER NOT NULL
  )`);
  db.exec('CREATE INDEX IF NOT EXISTS recent_by_address ON recent (address, seq)');
}

/** The newest `limit` ids of an address, oldest first. */
export const RECENT_IDS = 'SELECT message_id FROM (SELECT seq, message_id FROM recent WHERE address = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq';

/**
 * The ids an outbox file remembers for `address`: the newest `limit`, oldest first; none when there is no such file
 * yet. Read once, at the start, before the outbox itself is opened.
 */
export function recentlyPut(file: string, address: string, limit: number): string[] {
  if (file === ':memory:' || !existsSync(file)) return [];
  const db = new Database(file);
  try {
    createRecentTable(db);
    return db.prepare<[string, number]>(RECENT_IDS).pluck().all(address, limit) as string[];
  } finally {
    db.close();
  }
}
