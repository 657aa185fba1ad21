import { describe, expect, it } from 'vitest';
import { SqliteCursors } from '../outbox/cursors.js';
import { comparePlaces, cursorKeyOf, earlier, LeaseCursors, later, portableKey } from './cursors.js';

describe('LeaseCursors', () => {
  it('keeps places in memory without an outbox, and hands a source the adopted one', () => {
    const cursors = new LeaseCursors();
    expect(cursors.get('replay:/a/x.ndjson')).toBeUndefined();
    cursors.set('replay:/a/x.ndjson', { pass: 1, line: 10 });
    cursors.adopt('replay:/a/x.ndjson', { pass: 2, line: 3 });
    expect(cursors.get('replay:/a/x.ndjson')).toEqual({ pass: 2, line: 3 });
  });

  it('writes through to the outbox file, and tells what an earlier run left there until this one sets its own', () => {
    const outbox = new SqliteCursors(':memory:');
    outbox.set('replay:/a/x.ndjson', { pass: 1, line: 40 });
    const cursors = new LeaseCursors(outbox);
    expect(cursors.inherited('replay:/a/x.ndjson')).toEqual({ pass: 1, line: 40 });
    cursors.set('replay:/a/x.ndjson', { pass: 1, line: 41 });
    expect(outbox.get('replay:/a/x.ndjson')).toEqual({ pass: 1, line: 41 });
    expect(cursors.inherited('replay:/a/x.ndjson')).toBeUndefined();
    cursors.close();
    outbox.close();
  });
});

describe('places', () => {
  it('keys a replay by its absolute file, portably by its file name', () => {
    expect(cursorKeyOf('replay:../samples/x.ndjson?pace=2/s', '/srv/livewall/config')).toBe('replay:/srv/livewall/samples/x.ndjson');
    expect(cursorKeyOf('x:stream', '/srv')).toBeUndefined();
    expect(portableKey('replay:/srv/livewall/samples/x.ndjson')).toBe('replay:x.ndjson');
  });

  it('orders replay places by pass, then line; numbers as numbers; nothing else', () => {
    expect(comparePlaces({ pass: 1, line: 90 }, { pass: 2, line: 1 })).toBeLessThan(0);
    expect(comparePlaces({ pass: 2, line: 5 }, { pass: 2, line: 4 })).toBeGreaterThan(0);
    expect(comparePlaces(5, 3)).toBe(2);
    expect(comparePlaces('a', { pass: 1, line: 1 })).toBeUndefined();
    expect(earlier({ pass: 2, line: 1 }, { pass: 1, line: 9 })).toEqual({ pass: 1, line: 9 });
    expect(later({ pass: 2, line: 1 }, { pass: 1, line: 9 })).toEqual({ pass: 2, line: 1 });
    expect(later('a', 'b')).toBe('a');
  });
});
