import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** Where sources keep their place: a key per source (e.g. `replay:<file>`), a JSON value. */
export interface CursorStore {
  get(key: string): unknown;
  /** Records a place; it is written within `flushMs`, or at `close`. */
  set(key: string, value: unknown): void;
  close(): void;
}

/**
 * Cursors in the outbox's own SQLite file (a table beside the outbox): a source's place and the items it led to
 * live and die together, so a worker moved with its outbox file carries on where it was. A place is set only once
 * what comes before it is in the outbox (see engine/settlement.ts); writes are gathered and made every `flushMs`,
 * so a `kill -9` at most makes the source offer that last moment's items again.
 */
export class SqliteCursors implements CursorStore {
  private readonly db: Database.Database;
  private readonly pending = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly write;
  private readonly read;

  constructor(file: string, flushMs = 200) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS cursors (key TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL)');
    this.write = this.db.prepare<[string, string, number]>('INSERT INTO cursors (key, value, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at');
    this.read = this.db.prepare<[string]>('SELECT value FROM cursors WHERE key = ?');
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  get(key: string): unknown {
    const pending = this.pending.get(key);
    if (pending !== undefined) return JSON.parse(pending) as unknown;
    const row = this.read.get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
  }

  set(key: string, value: unknown): void {
    this.pending.set(key, JSON.stringify(value));
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    this.db.transaction(() => {
      for (const [key, value] of this.pending) this.write.run(key, value, now);
    })();
    this.pending.clear();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    this.db.close();
  }
}
