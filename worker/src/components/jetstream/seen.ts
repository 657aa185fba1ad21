/**
 * What Jetstream sent lately, to skip the repeats a resume brings: a reconnect asks for events from the cursor
 * minus the rewind, and those already offered must not be offered again.
 *
 * An event is known by what it is, not by its time_us alone: another instance stamps the same commit with its own
 * time_us. A commit is `did/collection/rkey/operation/rev`; an identity or account event, `did/kind/time_us`.
 */
export class SeenEvents {
  /** Key → time_us, in the order first seen (about time order, which is what pruning relies on). */
  private readonly keys = new Map<string, number>();

  constructor(private readonly keepUs: number) {}

  /** True if `key` was seen already; otherwise remembers it (and forgets what is older than the window). */
  repeat(key: string, timeUs: number): boolean {
    if (this.keys.has(key)) return true;
    this.keys.set(key, timeUs);
    const horizon = timeUs - this.keepUs;
    for (const [oldKey, oldTime] of this.keys) {
      if (oldTime >= horizon) break;
      this.keys.delete(oldKey);
    }
    return false;
  }

  get size(): number {
    return this.keys.size;
  }

  /** The events remembered up to `timeUs`, as `[key, time_us]`, in the order first seen. */
  *upTo(timeUs: number): Iterable<readonly [string, number]> {
    for (const entry of this.keys) if (entry[1] <= timeUs) yield entry;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The time_us and identity of one Jetstream message, or undefined for one that has none (left to the decoder). */
export function eventKey(text: string): { timeUs: number; key: string } | undefined {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(event)) return undefined;
  const timeUs = event.time_us;
  if (typeof timeUs !== 'number' || !Number.isSafeInteger(timeUs) || timeUs <= 0) return undefined;
  const did = String(event.did);
  const commit = event.commit;
  if (event.kind === 'commit' && isRecord(commit)) {
    return { timeUs, key: [did, commit.collection, commit.rkey, commit.operation, commit.rev].map(String).join('/') };
  }
  return { timeUs, key: `${did}/${String(event.kind)}/${timeUs}` };
}
