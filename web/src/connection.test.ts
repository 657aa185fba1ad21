import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connect, STABLE_MS, unescapeHeader, type Connection, type TransportState } from './connection.js';

// stompjs stands in as a client whose life the test drives: beforeConnect, then onConnect or onWebSocketClose, as
// stompjs calls them. What is under test is connect()'s wiring: the waits, the URL rotation, the states.
const { clients } = vi.hoisted(() => ({ clients: [] as { config: Record<string, (...args: unknown[]) => unknown>; connected: boolean; brokerURL?: string }[] }));
vi.mock('@stomp/stompjs', () => {
  class Client {
    connected = false;
    brokerURL: string | undefined;
    constructor(readonly config: Record<string, (...args: unknown[]) => unknown>) {
      clients.push(this);
    }
    activate(): void {}
    async deactivate(): Promise<void> {}
    watchForReceipt(): void {}
    subscribe(): { unsubscribe(): void } {
      return { unsubscribe() {} };
    }
  }
  return { Client, TickerStrategy: { Worker: 'worker' } };
});

describe('unescapeHeader', () => {
  it('undoes STOMP 1.2 header escapes', () => {
    expect(unescapeHeader('Security Error occurred\\c User name [viewer] or password is invalid')).toBe(
      'Security Error occurred: User name [viewer] or password is invalid',
    );
    expect(unescapeHeader('a\\nb\\\\c\\rd')).toBe('a\nb\\c\rd');
    expect(unescapeHeader('plain text')).toBe('plain text');
  });
});

/** A connection over the stand-in client, with the random number its jitter gets settable. */
function open(): {
  connection: Connection;
  states: TransportState[];
  setRandom(value: number): void;
  /** One attempt: beforeConnect's wait, then the attempt's start; resolves with the URL it tries. */
  attempt(): Promise<string>;
  /** The attempt succeeds: STOMP CONNECTED. */
  up(): void;
  /** The socket closes (a failed attempt or a dropped connection); resolves with the wait before the next, in ms. */
  drop(): number;
} {
  let random = 0.999_999;
  const states: TransportState[] = [];
  const connection = connect({ urls: ['ws://a.example', 'ws://b.example'], onState: (state) => states.push(state), random: () => random });
  const client = clients.at(-1)!;
  return {
    connection,
    states,
    setRandom: (value) => (random = value),
    async attempt() {
      await client.config.beforeConnect!(client);
      return client.brokerURL!;
    },
    up() {
      client.connected = true;
      client.config.onConnect!({});
    },
    drop() {
      client.connected = false;
      client.config.onWebSocketClose!({ code: 1006 });
      const state = states.at(-1)!;
      if (state.state !== 'reconnecting') throw new Error(`after a close: ${state.state}`);
      return state.until - Date.now();
    },
  };
}

// The waits are timed on a fake clock (timers and Date.now alike).
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
  clients.length = 0;
});

/** Whether `promise` settles within `ms` of fake time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await vi.advanceTimersByTimeAsync(ms);
  return settled;
}

describe('connect: the reconnect waits', () => {
  it('grows the wait 1 s → 30 s as attempts fail, and does not try again before it is over', async () => {
    const wall = open();
    expect(await wall.attempt()).toBe('ws://a.example'); // the first attempt waits for nothing
    const waits: number[] = [];
    for (let failure = 0; failure < 7; failure++) {
      const wait = wall.drop();
      waits.push(wait);
      const next = wall.attempt();
      expect(await settlesWithin(next, wait - 1)).toBe(false);
      expect(await settlesWithin(next, 1)).toBe(true);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    // Each attempt tries the next URL, and says which.
    expect(wall.states.filter((state) => state.state === 'connecting').map((state) => state.url)).toEqual(['ws://a.example', 'ws://b.example', 'ws://a.example', 'ws://b.example', 'ws://a.example', 'ws://b.example', 'ws://a.example', 'ws://b.example']);
  });

  it('takes a random part of each step off (jitter), at most half of it', async () => {
    const waitsWith = async (random: number): Promise<number[]> => {
      const wall = open();
      wall.setRandom(random);
      await wall.attempt();
      const waits: number[] = [];
      for (let failure = 0; failure < 6; failure++) {
        waits.push(wall.drop());
        await vi.advanceTimersByTimeAsync(waits.at(-1)!);
        await wall.attempt();
      }
      return waits;
    };
    expect(await waitsWith(0)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000]);
    expect(await waitsWith(0.5)).toEqual([750, 1_500, 3_000, 6_000, 12_000, 22_500]);
  });

  it('starts again from 1 s after a connection that stayed up 30 s, not after a shorter one', async () => {
    const wall = open();
    await wall.attempt();
    for (const wait of [1_000, 2_000, 4_000]) {
      expect(wall.drop()).toBe(wait);
      await vi.advanceTimersByTimeAsync(wait);
      await wall.attempt();
    }
    // Up, but not for long (a subscription the broker refuses, a flapping link): the backoff keeps growing.
    wall.up();
    await vi.advanceTimersByTimeAsync(STABLE_MS - 1_000);
    expect(wall.drop()).toBe(8_000);
    await vi.advanceTimersByTimeAsync(8_000);
    await wall.attempt();
    wall.up();
    await vi.advanceTimersByTimeAsync(STABLE_MS);
    expect(wall.drop()).toBe(1_000);
  });
});

describe('connect: retrying early', () => {
  /** A connection that failed four times: 16 s to wait. */
  async function waitingLong(): Promise<ReturnType<typeof open>> {
    const wall = open();
    await wall.attempt();
    for (let failure = 0; failure < 4; failure++) {
      wall.drop();
      await vi.advanceTimersByTimeAsync(30_000);
      await wall.attempt();
    }
    expect(wall.drop()).toBe(16_000);
    return wall;
  }

  it('online again: tries within the spread, at a random point of it, and shows the new countdown', async () => {
    const wall = await waitingLong();
    const next = wall.attempt();
    wall.setRandom(0.25);
    wall.connection.retrySoon(3_000);
    expect(wall.states.at(-1)).toMatchObject({ state: 'reconnecting', until: Date.now() + 750 });
    expect(await settlesWithin(next, 749)).toBe(false);
    expect(await settlesWithin(next, 1)).toBe(true);
  });

  it('online again: keeps a wait that ends sooner, and does nothing while connected', async () => {
    const wall = open();
    await wall.attempt();
    expect(wall.drop()).toBe(1_000);
    const states = wall.states.length;
    wall.setRandom(0.9);
    wall.connection.retrySoon(3_000); // 2.7 s: later than the wait's end
    expect(wall.states.length).toBe(states);
    expect(await settlesWithin(wall.attempt(), 1_000)).toBe(true);
    wall.up();
    const connected = wall.states.length;
    wall.connection.retrySoon(3_000);
    wall.connection.retryNow();
    expect(wall.states.length).toBe(connected);
  });

  it('a tab shown again: tries at once', async () => {
    const wall = await waitingLong();
    const next = wall.attempt();
    wall.connection.retryNow();
    expect(await settlesWithin(next, 0)).toBe(true);
  });
});

describe('connect: refusals', () => {
  it('a feed nobody has published to yet is not live, and is tried again after the wait; any other refusal is an error', async () => {
    const { states, attempt } = open();
    const client = clients.at(-1)!;
    await attempt();
    client.config.onStompError!({ headers: { message: 'livewall: no such destination: feed.cats' }, body: '' });
    client.config.onWebSocketClose!({ code: 1006 });
    expect(states.at(-1)).toMatchObject({ state: 'error', notLive: 'feed.cats', reason: 'Nothing has been published to feed.cats at a.example yet' });
    const { until } = states.at(-1) as { until: number };
    expect(until).toBeGreaterThan(Date.now());
    await vi.advanceTimersByTimeAsync(until - Date.now());
    expect(await attempt()).toBe('ws://b.example');
    client.config.onStompError!({ headers: { message: 'login "admin" is not accepted on this port' }, body: '' });
    client.config.onWebSocketClose!({ code: 1006 });
    const refused = states.at(-1)!;
    expect(refused).toMatchObject({ state: 'error', reason: 'The broker at b.example refused: login "admin" is not accepted on this port' });
    expect(refused).not.toHaveProperty('notLive');
  });

  it('says when each subscription is (re)made, before its SUBSCRIBE: at once when connected, and after every reconnect', async () => {
    const { connection, attempt, up, drop } = open();
    const events: string[] = [];
    const client = clients.at(-1)! as unknown as { subscribe(destination: string): unknown };
    const subscribe = client.subscribe.bind(client);
    client.subscribe = (destination: string) => {
      events.push(`SUBSCRIBE ${destination}`);
      return subscribe(destination);
    };
    connection.subscribe('/topic/feed.cats', { onSubscribing: () => events.push('subscribing'), onMessage: () => {} });
    expect(events).toEqual([]);
    await attempt();
    up();
    drop();
    await vi.advanceTimersByTimeAsync(60_000);
    await attempt();
    up();
    expect(events).toEqual(['subscribing', 'SUBSCRIBE /topic/feed.cats', 'subscribing', 'SUBSCRIBE /topic/feed.cats']);
  });
});
