import { BACKFILL_ITEMS } from '@livewall/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BROKER_PROFILES } from '@livewall/contract';
import { Backfill, BACKFILL_MAX_MS, BACKFILL_QUIET_MS } from './backfill.js';

describe('Backfill', () => {
  let done: number;
  let again: number;
  let backfill: Backfill;
  beforeEach(() => {
    vi.useFakeTimers();
    done = 0;
    again = 0;
    backfill = new Backfill({ onDone: () => (done += 1), onHoldAgain: () => (again += 1) });
  });
  afterEach(() => vi.useRealTimers());

  it('waits for the broker’s confirmation, then for a quiet time after the last frame', () => {
    backfill.start();
    expect(backfill.waiting).toBe(true);
    // Frames before the RECEIPT do not end it, however long the wait.
    backfill.frame();
    vi.advanceTimersByTime(BACKFILL_MAX_MS * 2);
    expect(done).toBe(0);
    backfill.subscribed();
    vi.advanceTimersByTime(BACKFILL_QUIET_MS - 1);
    backfill.frame();
    vi.advanceTimersByTime(BACKFILL_QUIET_MS - 1);
    expect(done).toBe(0);
    vi.advanceTimersByTime(1);
    expect(done).toBe(1);
    expect(backfill.waiting).toBe(false);
    // Live frames afterwards change nothing.
    backfill.frame();
    vi.advanceTimersByTime(BACKFILL_MAX_MS);
    expect(done).toBe(1);
  });

  it('ends at once when a whole backfill’s worth of frames came', () => {
    backfill.start();
    for (let n = 1; n < BACKFILL_ITEMS; n++) backfill.frame();
    expect(done).toBe(0);
    backfill.frame();
    expect(done).toBe(1);
    backfill.subscribed();
    vi.advanceTimersByTime(BACKFILL_MAX_MS);
    expect(done).toBe(1);
  });

  it('ends at the upper bound after the confirmation, on a feed whose frames never pause', () => {
    const slow = new Backfill({ onDone: () => (done += 1), frames: 1_000 });
    slow.start();
    slow.subscribed();
    for (let elapsed = 0; elapsed < BACKFILL_MAX_MS - 100; elapsed += 100) {
      vi.advanceTimersByTime(100);
      slow.frame();
    }
    expect(done).toBe(0);
    vi.advanceTimersByTime(100);
    expect(done).toBe(1);
  });

  it('starts over for each subscription (a reconnect), and a cancelled one never ends', () => {
    backfill.start();
    backfill.subscribed();
    backfill.start(); // the connection dropped; the subscription is made again
    vi.advanceTimersByTime(BACKFILL_MAX_MS);
    expect(done).toBe(0);
    backfill.subscribed();
    vi.advanceTimersByTime(BACKFILL_QUIET_MS);
    expect(done).toBe(1);
    backfill.start();
    backfill.subscribed();
    backfill.cancel();
    vi.advanceTimersByTime(BACKFILL_MAX_MS);
    expect(done).toBe(1);
    expect(backfill.waiting).toBe(false);
  });

  it('ends at the first live frame on a broker that marks backfilled ones, before the RECEIPT too', () => {
    backfill.start();
    backfill.frame(true);
    backfill.frame(true);
    expect(done).toBe(0);
    backfill.frame(false);
    expect(done).toBe(1);
    backfill.frame(false);
    expect(done).toBe(1);
    backfill.subscribed();
    vi.advanceTimersByTime(BACKFILL_MAX_MS);
    expect(done).toBe(1);
    expect(again).toBe(0);
  });

  it('holds again when a backfilled frame follows the live one that ended it, until the rest is in', () => {
    backfill.start();
    backfill.subscribed();
    backfill.frame(false);
    expect(done).toBe(1);
    backfill.frame(true);
    expect(again).toBe(1);
    expect(backfill.waiting).toBe(true);
    vi.advanceTimersByTime(BACKFILL_QUIET_MS - 1);
    backfill.frame(true);
    vi.advanceTimersByTime(BACKFILL_QUIET_MS - 1);
    expect(done).toBe(1);
    vi.advanceTimersByTime(1);
    expect(done).toBe(2);
    // Only once per subscription, and never after a backfill that ended by the rules that do not know a live frame.
    backfill.frame(true);
    expect(again).toBe(1);
    backfill.start();
    backfill.subscribed();
    vi.advanceTimersByTime(BACKFILL_QUIET_MS);
    backfill.frame(true);
    expect(again).toBe(1);
  });
});

describe('the profiles\' backfilled', () => {
  it('knows Artemis’s retroactive copies by the divert they name, and says nothing on RabbitMQ', () => {
    const retro = { _AMQ_ORIG_QUEUE: '$.artemis.internal.feed.cats.divert.retro', _AMQ_ORIG_ADDRESS: 'feed.cats', destination: '/topic/feed.cats' };
    expect(BROKER_PROFILES.artemis.backfilled(retro)).toBe(true);
    expect(BROKER_PROFILES.artemis.backfilled({ destination: '/topic/feed.cats', 'message-id': '52,67' })).toBe(false);
    expect(BROKER_PROFILES.rabbitmq.backfilled(retro)).toBeUndefined();
    expect(BROKER_PROFILES.rabbitmq.backfilled({ destination: '/topic/feed.cats' })).toBeUndefined();
  });
});
