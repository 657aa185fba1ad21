import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { brokerOrder, connect, ownOriginUrls, STABLE_MS, unescapeHeader, type Connection, type TransportState } from './connection.js';

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

/** A small seeded generator (mulberry32): the same seed, the same numbers in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('brokerOrder: how pages spread over the brokers', () => {
  const edges = ['ws://edge-1.example', 'ws://edge-2.example', 'ws://edge-3.example', 'ws://edge-4.example'];
  const orders = Array.from({ length: 2_400 }, (_, seed) => brokerOrder(edges, seeded(seed)));

  it('is an order of all the URLs, each once', () => {
    for (const order of orders) expect([...order].sort()).toEqual(edges);
  });

  it('starts at every URL, each for about a quarter of the pages', () => {
    const first = new Map<string, number>();
    for (const order of orders) first.set(order[0]!, (first.get(order[0]!) ?? 0) + 1);
    expect([...first.keys()].sort()).toEqual(edges);
    // 600 expected each; the binomial's standard deviation is about 21.
    for (const count of first.values()) expect(Math.abs(count - 600)).toBeLessThan(100);
  });

  it('sends the pages of one broker to all the others next, not all to its neighbour in the list', () => {
    for (const failed of edges) {
      const next = new Map<string, number>();
      for (const order of orders.filter((o) => o[0] === failed)) next.set(order[1]!, (next.get(order[1]!) ?? 0) + 1);
      expect([...next.keys()].sort()).toEqual(edges.filter((url) => url !== failed));
      // Of about 600 pages, about 200 each.
      for (const count of next.values()) expect(Math.abs(count - 200)).toBeLessThan(70);
    }
  });

  it('keeps the list’s order for a random source just under 1, and handles one URL', () => {
    expect(brokerOrder(edges, () => 0.999_999)).toEqual(edges);
    expect(brokerOrder(['ws://only.example'], Math.random)).toEqual(['ws://only.example']);
  });
});

describe('connect: the URLs it tries', () => {
  it('in a browser, keeps the URLs on the page’s own host and port (the web server’s proxy) first by default', async () => {
    vi.stubGlobal('location', { host: 'wall.example' });
    try {
      const urls = ['ws://wall.example/broker', 'ws://edge-1.example', 'ws://edge-2.example'];
      for (let seed = 0; seed < 10; seed++) {
        connect({ urls, onState: () => {}, random: seeded(seed) });
        const client = clients.at(-1)!;
        await client.config.beforeConnect!(client);
        expect(client.brokerURL).toBe('ws://wall.example/broker');
      }
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('keeps the first keepFirst URLs (the web server’s own proxy) first in every round, the others in its random order', async () => {
    const urls = ['ws://wall.example/broker', 'ws://edge-1.example', 'ws://edge-2.example', 'ws://edge-3.example'];
    const seconds = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      connect({ urls, keepFirst: 1, onState: () => {}, random: seeded(seed) });
      const client = clients.at(-1)!;
      const tried: string[] = [];
      for (let attempt = 0; attempt < 8; attempt++) {
        if (attempt > 0) {
          client.config.onWebSocketClose!({ code: 1006 });
          await vi.advanceTimersByTimeAsync(60_000);
        }
        await client.config.beforeConnect!(client);
        tried.push(client.brokerURL!);
      }
      expect(tried[0]).toBe('ws://wall.example/broker');
      expect(tried.slice(4)).toEqual(tried.slice(0, 4));
      expect([...tried.slice(1, 4)].sort()).toEqual(urls.slice(1));
      seconds.add(tried[1]!);
    }
    expect([...seconds].sort()).toEqual(urls.slice(1));
  });

  it('starts at the first URL of its order, then visits every other URL before it repeats one, round and round', async () => {
    const urls = ['ws://edge-1.example', 'ws://edge-2.example', 'ws://edge-3.example'];
    const firsts = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const order = brokerOrder(urls, seeded(seed));
      connect({ urls, onState: () => {}, random: seeded(seed) });
      const client = clients.at(-1)!;
      const tried: string[] = [];
      for (let attempt = 0; attempt < 7; attempt++) {
        if (attempt > 0) {
          client.config.onWebSocketClose!({ code: 1006 });
          await vi.advanceTimersByTimeAsync(60_000);
        }
        await client.config.beforeConnect!(client);
        tried.push(client.brokerURL!);
      }
      expect(tried).toEqual([...order, ...order, order[0]]);
      firsts.add(tried[0]!);
    }
    expect([...firsts].sort()).toEqual(urls);
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

describe('ownOriginUrls', () => {
  it('counts the leading URLs on the page’s own host and port (the web server’s proxy), and no others', () => {
    expect(ownOriginUrls(['ws://wall.example:8080/broker', 'ws://edge-1.example:61614', 'ws://edge-2.example:61614'], 'wall.example:8080')).toBe(1);
    expect(ownOriginUrls(['wss://WALL.example/broker', 'wss://edge-1.example'], 'wall.example')).toBe(1);
    expect(ownOriginUrls(['ws://edge-1.example:61614', 'ws://wall.example:8080/broker'], 'wall.example:8080')).toBe(0);
    expect(ownOriginUrls(['ws://wall.example:61614'], 'wall.example:8080')).toBe(0);
    expect(ownOriginUrls(['ws://edge-1.example', 'ws://edge-2.example'], 'wall.example')).toBe(0);
  });
});
