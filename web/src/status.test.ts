import { describe, expect, it } from 'vitest';
import { announcement, describeState, presentState } from './status.js';

const now = 1_000_000;

describe('describeState', () => {
  it('names the broker while connecting and live', () => {
    expect(describeState({ state: 'connecting', url: 'ws://broker.example:61614' }, now)).toEqual({
      label: 'Connecting…',
      detail: 'Connecting to broker.example:61614',
    });
    expect(describeState({ state: 'live', url: 'ws://broker.example:61614' }, now).label).toBe('Live');
  });

  it('counts down the reconnect wait in whole seconds', () => {
    expect(describeState({ state: 'reconnecting', until: now + 4_200, reason: 'Connection to b lost' }, now)).toEqual({
      label: 'Reconnecting in 5 s',
      detail: 'Connection to b lost',
    });
    expect(describeState({ state: 'reconnecting', until: now - 1, reason: 'x' }, now).label).toBe('Reconnecting…');
  });

  it('calls a feed that nobody has published to yet not live, not an error, and keeps counting down', () => {
    const state = { state: 'error', reason: 'Nothing has been published to feed.cats at broker:61614 yet', until: now + 5_000, notLive: 'feed.cats' } as const;
    expect(describeState(state, now)).toEqual({ label: 'Not live yet', detail: 'Nothing has been published to feed.cats at broker:61614 yet · retrying in 5 s' });
    expect(announcement(state)).toBe('Not live yet. Nothing has been published to feed.cats at broker:61614 yet. Trying again.');
    expect(describeState({ state: 'error', reason: 'refused', until: now + 5_000 }, now).label).toBe('Error');
  });

  it('shows the reason of an error, and the retry if there is one', () => {
    expect(describeState({ state: 'error', reason: 'bad config' }, now)).toEqual({ label: 'Error', detail: 'bad config' });
    expect(describeState({ state: 'error', reason: 'refused', until: now + 3_000 }, now).detail).toBe('refused · retrying in 3 s');
  });
});

describe('describeState offline', () => {
  it('says offline, and when the next try is if one is scheduled', () => {
    expect(describeState({ state: 'offline' }, now)).toEqual({
      label: 'Offline',
      detail: 'This device is offline: the wall reconnects as soon as the network is back',
    });
    expect(describeState({ state: 'offline', until: now + 7_500 }, now).detail).toMatch(/\(next try in 8 s\)$/);
  });
});

describe('presentState', () => {
  const url = 'ws://broker.example:61614';

  it('is live only once the feed’s subscription is confirmed', () => {
    expect(presentState({ state: 'connected', url }, false, true)).toEqual({ state: 'connecting', url });
    expect(presentState({ state: 'connected', url }, true, true)).toEqual({ state: 'live', url });
  });

  it('shows offline instead of attempts and countdowns while the browser has no network', () => {
    expect(presentState({ state: 'connecting', url }, false, false)).toEqual({ state: 'offline' });
    expect(presentState({ state: 'reconnecting', until: now, reason: 'Connection lost' }, false, false)).toEqual({ state: 'offline', until: now });
    expect(presentState({ state: 'reconnecting', until: now, reason: 'Connection lost' }, false, true)).toEqual({
      state: 'reconnecting',
      until: now,
      reason: 'Connection lost',
    });
  });

  it('keeps a working connection live, and a refusal an error, whatever navigator.onLine says', () => {
    expect(presentState({ state: 'connected', url }, true, false)).toEqual({ state: 'live', url });
    expect(presentState({ state: 'error', reason: 'refused' }, false, false)).toEqual({ state: 'error', reason: 'refused' });
  });
});
