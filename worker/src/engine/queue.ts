/**
 * The bounded queue between a route's source and its steps. A pausable source waits for room (`put`); a live
 * source is never made to wait (`offer`): when the queue is full the drop policy decides which item goes.
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest';

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T | undefined) => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  /** Called once, at once, when the next item is added or the queue closes (see `whenAdded`). */
  private listener: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly capacity: number,
    readonly dropPolicy: DropPolicy,
  ) {
    if (!(capacity >= 1)) throw new Error(`queue capacity must be at least 1, not ${capacity}`);
  }

  get depth(): number {
    return this.items.length;
  }

  /** Adds without waiting. Returns the item the drop policy dropped, if the queue was full. */
  offer(item: T): { dropped?: T } {
    // Once closed, takers stop at the first empty take: an item added now could be stranded, uncounted.
    if (this.closed) return { dropped: item };
    if (this.deliver(item)) return {};
    if (this.items.length < this.capacity) {
      this.add(item);
      return {};
    }
    if (this.dropPolicy === 'drop-newest') return { dropped: item };
    const dropped = this.items.shift() as T;
    this.add(item);
    return { dropped };
  }

  /** Adds, waiting while the queue is full (back-pressure for sources that can wait). */
  async put(item: T): Promise<void> {
    while (!this.closed && this.items.length >= this.capacity && this.takers.length === 0) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    if (this.closed) return;
    if (!this.deliver(item)) this.add(item);
  }

  /** Adds at once when `put` would not have to wait, and says whether it did: the common case, without a promise. */
  tryPut(item: T): boolean {
    if (this.closed || (this.items.length >= this.capacity && this.takers.length === 0)) return false;
    if (!this.deliver(item)) this.add(item);
    return true;
  }

  /** The next item, waiting for one; undefined once the queue is closed and empty. */
  take(): Promise<T | undefined> {
    const item = this.poll();
    if (item !== undefined) return Promise.resolve(item);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** The next item if there is one now, without waiting (and without a promise); undefined otherwise. */
  poll(): T | undefined {
    const item = this.items.shift();
    if (item !== undefined) this.roomWaiters.shift()?.();
    return item;
  }

  /**
   * Calls `listener` once, synchronously, when the next item is added (after it is in the queue) or the queue closes:
   * a reader that `poll`s then needs no promise per item, unlike `take`. A second call replaces the listener.
   */
  whenAdded(listener: () => void): void {
    this.listener = listener;
  }

  /** Closed, and nothing left to take. */
  get finished(): boolean {
    return this.closed && this.items.length === 0;
  }

  /** No more items will be added; takers drain what is left, then get undefined. Waiting `put`s give up. */
  close(): void {
    this.closed = true;
    for (const taker of this.takers.splice(0)) taker(undefined);
    for (const waiter of this.roomWaiters.splice(0)) waiter();
    this.notify();
  }

  /** Empties the queue, returning what was in it. */
  drain(): T[] {
    const items = this.items.splice(0);
    for (const waiter of this.roomWaiters.splice(0)) waiter();
    return items;
  }

  private add(item: T): void {
    this.items.push(item);
    this.notify();
  }

  private notify(): void {
    const listener = this.listener;
    if (listener === undefined) return;
    this.listener = undefined;
    listener();
  }

  private deliver(item: T): boolean {
    const taker = this.takers.shift();
    if (!taker) return false;
    taker(item);
    return true;
  }
}
