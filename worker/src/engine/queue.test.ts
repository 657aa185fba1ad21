import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './queue.js';
import { settle } from './testing.js';

/** Whether `promise` has settled once everything ready has run. */
async function isDone(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await settle();
  return done;
}

describe('BoundedQueue', () => {
  it('refuses a capacity below 1', () => {
    expect(() => new BoundedQueue(0, 'drop-oldest')).toThrow('queue capacity must be at least 1, not 0');
    expect(() => new BoundedQueue(Number.NaN, 'drop-oldest')).toThrow('at least 1');
  });

  it('holds up to its capacity, in order', async () => {
    const queue = new BoundedQueue<number>(3, 'drop-oldest');
    for (const item of [1, 2, 3]) expect(queue.offer(item)).toEqual({});
    expect(queue.depth).toBe(3);
    expect([await queue.take(), await queue.take(), await queue.take()]).toEqual([1, 2, 3]);
    expect(queue.depth).toBe(0);
  });

  it('drop-oldest: a full queue drops its oldest item for the new one and returns it', async () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ dropped: 1 });
    expect(queue.offer(4)).toEqual({ dropped: 2 });
    expect(queue.depth).toBe(2);
    expect([await queue.take(), await queue.take()]).toEqual([3, 4]);
  });

  it('drop-newest: a full queue keeps what it has and returns the new item', async () => {
    const queue = new BoundedQueue<number>(2, 'drop-newest');
    queue.offer(1);
    queue.offer(2);
    expect(queue.offer(3)).toEqual({ dropped: 3 });
    expect([await queue.take(), await queue.take()]).toEqual([1, 2]);
  });

  it('hands an offer straight to a waiting taker, even at capacity 1', async () => {
    const queue = new BoundedQueue<number>(1, 'drop-newest');
    const taken = queue.take();
    expect(await isDone(taken)).toBe(false);
    expect(queue.offer(7)).toEqual({});
    expect(await taken).toBe(7);
    expect(queue.depth).toBe(0);
  });

  it('put waits while the queue is full and goes on, in order, as items are taken', async () => {
    const queue = new BoundedQueue<string>(2, 'drop-oldest');
    await queue.put('a');
    await queue.put('b');
    const c = queue.put('c');
    const d = queue.put('d');
    expect(await isDone(c)).toBe(false);
    expect(await isDone(d)).toBe(false);
    expect(await queue.take()).toBe('a');
    expect(await isDone(c)).toBe(true);
    expect(await isDone(d)).toBe(false);
    expect(await queue.take()).toBe('b');
    expect(await isDone(d)).toBe(true);
    expect([await queue.take(), await queue.take()]).toEqual(['c', 'd']);
  });

  it('take waits for an item', async () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    const first = queue.take();
    const second = queue.take();
    expect(await isDone(first)).toBe(false);
    await queue.put(1);
    queue.offer(2);
    expect([await first, await second]).toEqual([1, 2]);
  });

  it('close lets takers drain what is left, then gives them undefined', async () => {
    const queue = new BoundedQueue<number>(3, 'drop-oldest');
    queue.offer(1);
    queue.offer(2);
    queue.close();
    expect([await queue.take(), await queue.take(), await queue.take(), await queue.take()]).toEqual([1, 2, undefined, undefined]);
  });

  it('close wakes waiting takers with undefined', async () => {
    const queue = new BoundedQueue<number>(1, 'drop-oldest');
    const taken = queue.take();
    queue.close();
    expect(await taken).toBeUndefined();
  });

  it('close makes waiting puts give up without adding, and later puts add nothing', async () => {
    const queue = new BoundedQueue<number>(1, 'drop-oldest');
    await queue.put(1);
    const waiting = queue.put(2);
    expect(await isDone(waiting)).toBe(false);
    queue.close();
    expect(await isDone(waiting)).toBe(true);
    await queue.put(3);
    expect(queue.depth).toBe(1);
    expect([await queue.take(), await queue.take()]).toEqual([1, undefined]);
  });

  it('a closed queue takes no more offers: they come back as dropped, where no taker would ever find them', async () => {
    const queue = new BoundedQueue<number>(3, 'drop-oldest');
    queue.offer(1);
    queue.close();
    expect(queue.offer(2)).toEqual({ dropped: 2 });
    expect(queue.depth).toBe(1);
  });

  it('tryPut adds only when put would not wait (room, or a waiting taker, and not closed), and says whether it did', async () => {
    const queue = new BoundedQueue<number>(1, 'drop-oldest');
    const taken = queue.take();
    expect(queue.tryPut(1)).toBe(true);
    expect(await taken).toBe(1);
    expect(queue.tryPut(2)).toBe(true);
    expect(queue.tryPut(3)).toBe(false);
    expect(queue.depth).toBe(1);
    queue.close();
    expect(queue.tryPut(4)).toBe(false);
    expect([await queue.take(), await queue.take()]).toEqual([2, undefined]);
  });

  it('poll takes the next item without waiting, and lets a waiting put go on as take does', async () => {
    const queue = new BoundedQueue<string>(1, 'drop-oldest');
    expect(queue.poll()).toBeUndefined();
    await queue.put('a');
    const waiting = queue.put('b');
    expect(await isDone(waiting)).toBe(false);
    expect(queue.poll()).toBe('a');
    expect(await isDone(waiting)).toBe(true);
    expect(queue.poll()).toBe('b');
    expect(queue.poll()).toBeUndefined();
  });

  it('drain empties the queue, returns what was in it, and lets waiting puts go on', async () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    queue.offer(1);
    queue.offer(2);
    const waiting = queue.put(3);
    expect(queue.drain()).toEqual([1, 2]);
    await waiting;
    expect(queue.depth).toBe(1);
    expect(await queue.take()).toBe(3);
  });

  it('whenAdded calls its listener once, at once, with the item already in the queue, by every way of adding', async () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    const seen: (number | undefined)[] = [];
    const listen = (): void => queue.whenAdded(() => seen.push(queue.poll()));
    listen();
    queue.offer(1);
    expect(seen).toEqual([1]);
    // Once: the next add finds no listener until one is set again.
    queue.offer(2);
    expect(seen).toEqual([1]);
    expect(queue.poll()).toBe(2);
    listen();
    expect(queue.tryPut(3)).toBe(true);
    listen();
    await queue.put(4);
    expect(seen).toEqual([1, 3, 4]);
    expect(queue.depth).toBe(0);
  });

  it('whenAdded hears the close too, and finished says when a closed queue is empty', () => {
    const queue = new BoundedQueue<number>(2, 'drop-oldest');
    queue.offer(1);
    let heard = 0;
    queue.whenAdded(() => (heard += 1));
    queue.close();
    expect(heard).toBe(1);
    expect(queue.finished).toBe(false);
    expect(queue.poll()).toBe(1);
    expect(queue.finished).toBe(true);
  });
});
