/** What the wall shows of a Bluesky account: its verified handle (absent: show the DID) and display name. */
export interface Profile {
  handle?: string;
  displayName?: string;
}

interface Entry {
  /** Null: the AppView does not know the account (deleted, taken down, not indexed yet). */
  profile: Profile | null;
  expiresAt: number;
}

/**
 * Profiles by DID, at most `size` of them, each for `ttlMs`: the least recently used one goes first. A Map keeps
 * its keys in insertion order, so taking an entry out and putting it back makes it the most recent.
 */
export class ProfileCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get count(): number {
    return this.entries.size;
  }

  /** The profile of `did` (null: unknown to the AppView), or undefined when it is not cached or has expired. */
  get(did: string): Profile | null | undefined {
    const entry = this.entries.get(did);
    if (entry === undefined) return undefined;
    this.entries.delete(did);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(did, entry);
    return entry.profile;
  }

  /** Keeps `profile` for the TTL, or for `ttlMs` when given (an unknown account is asked about again sooner). */
  set(did: string, profile: Profile | null, ttlMs = this.ttlMs): void {
    this.entries.delete(did);
    this.entries.set(did, { profile, expiresAt: this.now() + ttlMs });
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** A new handle for a cached account (Jetstream's identity event); true when there was one to update. */
  updateHandle(did: string, handle: string | undefined): boolean {
    const entry = this.entries.get(did);
    if (entry === undefined || entry.profile === null) return false;
    const { handle: _old, ...rest } = entry.profile;
    entry.profile = handle === undefined ? rest : { ...rest, handle };
    return true;
  }
}
