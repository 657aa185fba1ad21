import { describe, expect, it } from 'vitest';
import { describeState } from './status.js';

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

  it('shows the reason of an error, and the retry if there is one', () => {
    expect(describeState({ state: 'error', reason: 'bad config' }, now)).toEqual({ label: 'Error', detail: 'bad config' });
    expect(describeState({ state: 'error', reason: 'refused', until: now + 3_000 }, now).detail).toBe('refused · retrying in 3 s');
  });
});
