import { basename, resolve } from 'node:path';
import { parseUri } from '../engine/uri.js';
import { JETSTREAM_CURSOR_KEY } from '../components/jetstream/cursor-file.js';
import type { CursorStore } from '../outbox/cursors.js';

/**
 * Where sources keep their place, as sources see it (`settings.cursors`), with what feed ownership needs on top:
 * the latest place of each source, which an owner announces in its renewals and hands over when it yields or
 * releases a feed, and `adopt`, which makes the next start of a source begin where another worker's stopped.
 *
 * A source with a cursor (a replay: `replay:<file>` → `{ pass, line }`, see components/replay) sets its place only
 * up to where every message before it was dealt with (engine/settlement.ts): sent and accepted (with an outbox:
 * stored there), filtered out or dead-lettered. So a place is always safe to resume from: nothing before it is lost,
 * and what comes after it may be offered twice.
 *
 * Without an outbox there is no store underneath and places live in memory, which is all a handover needs.
 */
export class LeaseCursors implements CursorStore {
  private readonly latest = new Map<string, unknown>();

  /** `inner`: the outbox's cursor store, when there is one; whoever made it closes it. */
  constructor(private readonly inner?: CursorStore) {}

  get(key: string): unknown {
    return this.inner?.get(key) ?? this.latest.get(key);
  }

  set(key: string, value: unknown): void {
    this.latest.set(key, value);
    this.inner?.set(key, value);
  }

  /** Another worker's place for a source: the next start of the source begins there. */
  adopt(key: string, value: unknown): void {
    this.set(key, value);
  }

  /**
   * The place an earlier run of this worker left in the outbox file, while this process has not run the source yet:
   * after a crash and restart, fresher than the dead process's last renewal.
   */
  inherited(key: string): unknown {
    return this.latest.has(key) ? undefined : this.inner?.get(key);
  }

  /** The store underneath belongs to whoever made it. */
  close(): void {}
}

/**
 * Beside the sources' places, what a feed's owner hands over (and renews) holds, under this key, the item ids the
 * feed published last, newest last: the next owner's feed route does not publish them again when its sources
 * resume a little before the place (Jetstream's rewind) or from an earlier one (a place that was not yet committed).
 * Not a place: no source reads it.
 */
export const PUBLISHED = 'published';
/** At most this many ids, together at most this many characters: a lease message is at most 16 KiB. */
export const PUBLISHED_HANDOVER = { ids: 100, chars: 8 * 1024 } as const;

/**
 * The cursor key of a source route's `from` URI, as its component keys its place (a replay: `replay:<absolute file>`;
 * Jetstream: JETSTREAM_CURSOR_KEY); undefined for a source without a place.
 */
export function cursorKeyOf(from: string, baseDir: string): string | undefined {
  if (from.startsWith('jetstream:')) return JETSTREAM_CURSOR_KEY;
  if (!from.startsWith('replay:')) return undefined;
  return `replay:${resolve(baseDir, parseUri(from).path)}`;
}

/**
 * The key as another machine can match it: the recording's file name without its folder, which differs from one
 * machine to the next (`replay:x-cats.ndjson`).
 */
export function portableKey(key: string): string {
  const colon = key.indexOf(':');
  return colon === -1 ? key : `${key.slice(0, colon)}:${basename(key.slice(colon + 1))}`;
}

/**
 * Compares two places of one source: negative when `a` comes first. Replay places are `{ pass, line }`; numbers (a
 * time) compare as numbers; anything else cannot be compared (undefined).
 */
export function comparePlaces(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const pa = a as { pass?: unknown; line?: unknown } | undefined;
  const pb = b as { pass?: unknown; line?: unknown } | undefined;
  if (typeof pa?.pass === 'number' && typeof pa.line === 'number' && typeof pb?.pass === 'number' && typeof pb.line === 'number') {
    return pa.pass !== pb.pass ? pa.pass - pb.pass : pa.line - pb.line;
  }
  return undefined;
}

/** The earlier of two places; the first when they cannot be compared. */
export function earlier(a: unknown, b: unknown): unknown {
  return (comparePlaces(b, a) ?? 0) < 0 ? b : a;
}

/** The later of two places; the first when they cannot be compared. */
export function later(a: unknown, b: unknown): unknown {
  return (comparePlaces(b, a) ?? 0) > 0 ? b : a;
}
