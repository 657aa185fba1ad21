/**
 * When is a source's message dealt with for good? When every route it reached has finished with it: sent (with an
 * outbox: stored in it), filtered out, dead-lettered, or dropped by a full queue — but not while it waits in a queue
 * or a send, and not when a stop abandoned it. A source with a cursor commits the cursor only that far, so a
 * `kill -9` makes it read again what was not yet safe, and nothing it had committed is lost.
 *
 * The route that takes a message holds it once; a `hub:` send holds it again for each route it hands it to.
 */
export class Settlement {
  private holds = 1;

  constructor(private readonly settled: () => void) {}

  /** One more holder (a route the message was handed to); the returned function lets go, once. */
  retain(): () => void {
    this.holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** The first holder lets go. */
  release(): void {
    this.holds -= 1;
    if (this.holds === 0) this.settled();
  }
}

/**
 * The highest position of a source (a line, a time) up to which every message it offered has settled, although
 * they settle in any order: `track` each position in the order offered, call what it returns once that message
 * settled, and `advanced` hears each new watermark.
 */
export class Watermark<Position> {
  private positions: Position[] = [];
  private settled: boolean[] = [];
  /** The first pending entry of the arrays. */
  private head = 0;
  /** How many entries compaction has removed from the front: an entry's number minus this is its index. */
  private offset = 0;
  /** Who waits for every tracked position to settle. */
  private waiting: (() => void)[] = [];

  constructor(private readonly advanced: (position: Position) => void) {}

  track(position: Position): () => void {
    const entry = this.offset + this.positions.length;
    this.positions.push(position);
    this.settled.push(false);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.settle(entry - this.offset);
    };
  }

  /** Positions tracked and not yet under the watermark. */
  get pending(): number {
    return this.positions.length - this.head;
  }

  /** Resolves once every position tracked so far has settled (at once when none is pending). */
  whenSettled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private settle(index: number): void {
    this.settled[index] = true;
    if (index !== this.head) return;
    let last = this.positions[index] as Position;
    while (this.head < this.positions.length && this.settled[this.head]) {
      last = this.positions[this.head] as Position;
      this.head += 1;
    }
    // Now and then drop the settled front, so the arrays hold about what is still pending.
    if (this.head >= 1024 && this.head * 2 >= this.positions.length) {
      this.positions = this.positions.slice(this.head);
      this.settled = this.settled.slice(this.head);
      this.offset += this.head;
      this.head = 0;
    }
    this.advanced(last);
    if (this.pending === 0 && this.waiting.length > 0) for (const resolve of this.waiting.splice(0)) resolve();
  }
}
