/**
 * What an `idempotent` step remembers, as Camel's IdempotentRepository: the keys of the exchanges it let through.
 * By default each step keeps its own, in memory, for as long as its route object lives. When the engine's settings
 * hold `idempotent` (an `IdempotentRepositories`), every step asks it for its repository by `<route id>/<step
 * name>`: whoever runs the engine can then keep one across a route's restart or replacement, and seed it with what
 * an earlier process or another worker let through.
 */
export interface IdempotentRepository {
  /** Remembers `key`; false when it was remembered already (a duplicate). */
  add(key: string): boolean;
  /** Forgets `key`: its exchange failed, so a redelivery must get through. */
  remove(key: string): void;
}

/** Where the steps' repositories come from (`settings.idempotent`). */
export interface IdempotentRepositories {
  /** The repository of step `name` (`<route id>/<step name>`), holding at least the last `window` keys. */
  repository(name: string, window: number): IdempotentRepository;
}

/**
 * The last `window` keys in memory. The window is a ring; `seen` maps each key to the number of the add that put it
 * there, so evicting a slot removes its key only if that add is still the key's current one. O(1) per key.
 */
export class MemoryIdempotentRepository implements IdempotentRepository {
  private readonly seen = new Map<string, number>();
  private readonly ring: (string | undefined)[];
  private adds = 0;

  constructor(private readonly window: number) {
    this.ring = new Array<string | undefined>(window);
  }

  add(key: string): boolean {
    if (this.seen.has(key)) return false;
    const number = this.adds++;
    const slot = number % this.window;
    const evicted = this.ring[slot];
    if (evicted !== undefined && this.seen.get(evicted) === number - this.window) this.seen.delete(evicted);
    this.ring[slot] = key;
    this.seen.set(key, number);
    return true;
  }

  remove(key: string): void {
    this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }

  /** The last `limit` keys added and still remembered, newest last. */
  recent(limit: number): string[] {
    const keys: string[] = [];
    for (let number = this.adds - 1; number >= Math.max(0, this.adds - this.window) && keys.length < limit; number--) {
      const key = this.ring[number % this.window];
      if (key !== undefined && this.seen.get(key) === number) keys.push(key);
    }
    return keys.reverse();
  }
}
