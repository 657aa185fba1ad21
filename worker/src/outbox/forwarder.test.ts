import { describe, expect, it } from 'vitest';
import { testLogger } from '../components/testing.js';
import { OutboxForwarder, type WindowedPublisher } from './forwarder.js';
import { Outbox } from './outbox.js';

/** A publisher with a window of `size` whose outcomes the test decides, one message at a time. */
class ScriptedPublisher implements WindowedPublisher {
  readonly sent: { id: string; settle: (outcome: 'accepted' | 'rejected' | 'closed') => void }[] = [];
  private waiters: (() => void)[] = [];
  private sentWatchers: (() => void)[] = [];
  private open = 0;

  constructor(private readonly size: number) {}

  publish(_address: string, id: string): Promise<void> {
    this.open += 1;
    return new Promise((resolve, reject) => {
      this.sent.push({
        id,
        settle: (outcome) => {
          this.open -= 1;
          for (const waiter of this.waiters.splice(0)) waiter();
          if (outcome === 'accepted') resolve();
          else reject(Object.assign(new Error(outcome), { outcome }));
        },
      });
      for (const watcher of this.sentWatchers.splice(0)) watcher();
    });
  }

  hasRoom(): boolean {
    return this.open < this.size;
  }

  room(): Promise<void> {
    return this.hasRoom() ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  async sentCount(count: number): Promise<void> {
    while (this.sent.length < count) await new Promise<void>((resolve) => this.sentWatchers.push(resolve));
  }
}

const settleAll = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('OutboxForwarder', () => {
  it('sends in outbox order within the window, and removes what the broker accepted', async () => {
    const outbox = new Outbox({ file: ':memory:', maxItems: 100, maxAgeMs: 60_000 });
    const publisher = new ScriptedPublisher(2);
    const forwarder = new OutboxForwarder(outbox, publisher, testLogger());
    for (const id of ['a', 'b', 'c']) outbox.put('/topic/feed.cats', id, '{}');
    forwarder.start();
    await publisher.sentCount(2);
    await settleAll();
    // The window is full: the third waits.
    expect(publisher.sent.map((entry) => entry.id)).toEqual(['a', 'b']);
    publisher.sent[0]?.settle('accepted');
    await publisher.sentCount(3);
    expect(publisher.sent.map((entry) => entry.id)).toEqual(['a', 'b', 'c']);
    await settleAll();
    expect(outbox.after(0, 10).map((entry) => entry.messageId)).toEqual(['b', 'c']);

    // A message put later is sent when notified.
    outbox.put('/topic/feed.cats', 'd', '{}');
    forwarder.notify();
    publisher.sent[1]?.settle('accepted');
    await publisher.sentCount(4);
    for (const entry of publisher.sent.slice(2)) entry.settle('accepted');
    await forwarder.stop(1000);
    expect(outbox.depth).toBe(0);
    expect(forwarder.stats).toEqual({ forwarded: 4, refused: 0, dropped: 0 });
  });

  it('drops a refused message (counted), keeps one a shutdown interrupted, and sends what is left after a restart', async () => {
    const outbox = new Outbox({ file: ':memory:', maxItems: 100, maxAgeMs: 60_000 });
    const first = new ScriptedPublisher(3);
    const forwarder = new OutboxForwarder(outbox, first, testLogger());
    for (const id of ['a', 'b', 'c', 'd']) outbox.put('/topic/feed.cats', id, '{}');
    forwarder.start();
    await first.sentCount(3);
    first.sent[0]?.settle('rejected');
    first.sent[1]?.settle('accepted');
    await settleAll();
    const stopped = forwarder.stop(5000);
    // Closing the connection fails what was in flight with `closed`.
    for (const entry of first.sent.slice(2)) entry.settle('closed');
    await stopped;
    expect(forwarder.stats).toEqual({ forwarded: 1, refused: 1, dropped: 0 });
    // c and d were in flight (or not sent yet) when the connection closed: both wait for the next start.
    expect(outbox.after(0, 10).map((entry) => entry.messageId)).toEqual(['c', 'd']);

    const second = new ScriptedPublisher(10);
    const restarted = new OutboxForwarder(outbox, second, testLogger());
    restarted.start();
    await second.sentCount(2);
    expect(second.sent.map((entry) => entry.id)).toEqual(['c', 'd']);
    for (const entry of second.sent) entry.settle('accepted');
    await restarted.stop(1000);
    expect(outbox.depth).toBe(0);
  });
});
