import { describe, expect, it } from 'vitest';
import { fakeClock } from '../engine/testing.js';
import { FeedLease, type LeaseOutgoing, type LeaseTimings, type RoleChange } from './lease.js';
import type { LeaseKind, LeaseMessage, OwnerInfo } from './messages.js';

const TIMINGS: LeaseTimings = { leaseMs: 5000, renewMs: 1000, settleMs: 1500 };
const ME: OwnerInfo = { id: 'laptop:200:bbbbbb', host: 'laptop', pid: 200, region: 'home' };
const OWNER: OwnerInfo = { id: 'server:100:aaaaaa', host: 'server', pid: 100, region: 'us-east' };
const RIVAL: OwnerInfo = { id: 'zz-other:300:cccccc', host: 'zz-other', pid: 300 };
/** An id that sorts before ME's: at the same epoch, ME wins. */
const LOWER: OwnerInfo = { id: 'aa-other:400:dddddd', host: 'aa-other', pid: 400 };
const PLACE = { 'replay:x.ndjson': { pass: 1, line: 42 } };

/** A lease for feed cats on a fake clock, ticked every 100 ms as the coordinator does, with its effects recorded. */
function harness(options: { takeover?: boolean } = {}) {
  const clock = fakeClock(1_000_000);
  const sent: LeaseOutgoing[] = [];
  const changes: RoleChange[] = [];
  const activated: (Record<string, unknown> | undefined)[] = [];
  const from: (string | undefined)[] = [];
  let deactivations = 0;
  let place: Record<string, unknown> | undefined = { 'replay:x.ndjson': { pass: 1, line: 7 } };
  const lease = new FeedLease('cats', ME, TIMINGS, { takeover: options.takeover ?? false, now: clock.now() }, {
    send: (message) => sent.push(message),
    activate: (handover) => {
      activated.push(handover?.cursors);
      from.push(handover?.from.id);
    },
    deactivate: () => (deactivations += 1),
    cursors: () => place,
    changed: (change) => changes.push(change),
  });
  return {
    clock,
    lease,
    sent,
    changes,
    activated,
    from,
    get deactivations() {
      return deactivations;
    },
    setPlace(next: Record<string, unknown> | undefined) {
      place = next;
    },
    /** What another worker says on the address, heard now. */
    hear(owner: OwnerInfo, kind: LeaseKind, epoch: number, extra: Partial<LeaseMessage> = {}) {
      lease.receive({ v: 1, kind, feed: 'cats', epoch, owner, leaseMs: TIMINGS.leaseMs, at: new Date(clock.now()).toISOString(), ...extra }, clock.now());
    },
    /** Lets `ms` pass, ticking the lease every 100 ms. */
    async pass(ms: number, every?: () => void) {
      for (let elapsed = 0; elapsed < ms; elapsed += 100) {
        await clock.advance(100);
        every?.();
        lease.tick(clock.now());
      }
    },
    roles: () => changes.map((change) => `${change.role}:${change.reason}`),
  };
}

describe('FeedLease', () => {
  it('listens until it has heard the address, claims a free feed, and owns it after the settle time', async () => {
    const h = harness();
    await h.pass(3000);
    expect(h.lease.role).toBe('listening');
    expect(h.sent).toEqual([]);

    h.lease.sync();
    await h.pass(100);
    expect(h.lease.role).toBe('claiming');
    expect(h.sent).toEqual([{ kind: 'claim', epoch: 1 }]);
    await h.pass(1400);
    expect(h.activated).toEqual([]);
    await h.pass(100);
    expect(h.lease.role).toBe('owner');
    expect(h.activated).toEqual([undefined]);
    // Renewed at once, then every second, with how far its sources got.
    expect(h.sent.slice(1)).toEqual([{ kind: 'renew', epoch: 1, cursors: { 'replay:x.ndjson': { pass: 1, line: 7 } } }]);
    await h.pass(3000);
    expect(h.sent.filter((message) => message.kind === 'renew')).toHaveLength(4);
    expect(h.roles()).toEqual(['claiming:free', 'owner:settled']);
    expect(h.lease.owner(h.clock.now())).toEqual({ owner: ME, epoch: 1 });
  });

  it('stands by while another worker renews, and takes the feed from where it got once its lease runs out', async () => {
    const h = harness();
    h.hear(OWNER, 'renew', 3, { cursors: PLACE });
    h.lease.sync();
    await h.pass(100);
    expect(h.lease.role).toBe('standby');
    expect(h.changes.at(-1)).toMatchObject({ role: 'standby', owner: OWNER, epoch: 3 });

    // Renewed every second for a while: the feed stays where it is.
    let lastRenewal = 0;
    let lastPlace: Record<string, unknown> = PLACE;
    await h.pass(20_000, () => {
      if (h.clock.now() % 1000 !== 0) return;
      lastRenewal = h.clock.now();
      lastPlace = { 'replay:x.ndjson': { pass: 1, line: lastRenewal / 1000 } };
      h.hear(OWNER, 'renew', 3, { cursors: lastPlace });
    });
    expect(h.lease.role).toBe('standby');
    expect(h.sent).toEqual([]);

    // The owner dies: 5 s after its last renewal a claim, after the settle time the feed, from the last place it gave.
    await h.pass(lastRenewal + 4900 - h.clock.now());
    expect(h.lease.role).toBe('standby');
    await h.pass(100);
    expect(h.sent).toEqual([{ kind: 'claim', epoch: 4 }]);
    await h.pass(1500);
    expect(h.lease.role).toBe('owner');
    expect(h.activated).toEqual([lastPlace]);
    expect(h.roles()).toEqual(['standby:held', 'claiming:expired', 'owner:settled']);
  });

  it('--takeover: claims above the live owner, waits while it drains and renews, and starts where the yield says', async () => {
    const h = harness({ takeover: true });
    h.hear(OWNER, 'renew', 3);
    h.lease.sync();
    await h.pass(100);
    expect(h.sent).toEqual([{ kind: 'claim', epoch: 4, takeover: true }]);
    expect(h.changes.at(-1)).toMatchObject({ role: 'claiming', reason: 'takeover', owner: OWNER });

    // Draining takes longer than the settle time: the owner's renewals keep the claim waiting.
    await h.pass(4000, () => h.clock.now() % 1000 === 0 && h.hear(OWNER, 'renew', 3));
    expect(h.lease.role).toBe('claiming');
    expect(h.activated).toEqual([]);

    h.hear(OWNER, 'yield', 4, { to: ME, cursors: PLACE });
    expect(h.lease.role).toBe('owner');
    expect(h.activated).toEqual([PLACE]);
    expect(h.from).toEqual([OWNER.id]);
    expect(h.sent.at(-1)).toMatchObject({ kind: 'renew', epoch: 4 });
    expect(h.roles()).toEqual(['claiming:takeover', 'owner:yielded by server:100']);
  });

  it('--takeover of an owner that is gone: the feed starts once its lease runs out, from its last renewal', async () => {
    const h = harness({ takeover: true });
    h.hear(OWNER, 'renew', 3, { cursors: PLACE });
    h.lease.sync();
    await h.pass(4800);
    expect(h.lease.role).toBe('claiming');
    await h.pass(300);
    expect(h.lease.role).toBe('owner');
    expect(h.activated).toEqual([PLACE]);
    expect(h.roles()).toEqual(['claiming:takeover', 'owner:expired']);
  });

  it('yields to a higher claim: drains, renews meanwhile, then hands over with where it stopped', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(1700);
    expect(h.lease.role).toBe('owner');
    h.sent.length = 0;

    h.hear(RIVAL, 'claim', 2, { takeover: true });
    expect(h.lease.role).toBe('yielding');
    expect(h.deactivations).toBe(1);
    expect(h.changes.at(-1)).toMatchObject({ role: 'yielding', reason: 'outranked', to: RIVAL });
    await h.pass(2000);
    expect(h.sent.map((message) => message.kind)).toEqual(['renew', 'renew']);

    h.lease.yielded(PLACE, h.clock.now());
    expect(h.sent.at(-1)).toEqual({ kind: 'yield', epoch: 2, to: RIVAL, cursors: PLACE });
    expect(h.lease.role).toBe('standby');
    expect(h.lease.owner(h.clock.now())).toEqual({ owner: RIVAL, epoch: 2 });
  });

  it('ignores a lower claim: the claimant hears the renewals and stands by', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(1700);
    h.hear(LOWER, 'claim', 1);
    expect(h.lease.role).toBe('owner');
    expect(h.deactivations).toBe(0);
  });

  it('hand-back: a release frees the feed at once, and it starts from the released place', async () => {
    const h = harness();
    h.hear(RIVAL, 'renew', 2);
    h.lease.sync();
    await h.pass(100);
    expect(h.lease.role).toBe('standby');
    h.hear(RIVAL, 'release', 2, { cursors: PLACE });
    await h.pass(100);
    expect(h.sent).toEqual([{ kind: 'claim', epoch: 3 }]);
    await h.pass(1500);
    expect(h.lease.role).toBe('owner');
    expect(h.activated).toEqual([PLACE]);
    expect(h.roles()).toEqual(['standby:held', 'claiming:released', 'owner:settled']);
  });

  it('two claims at once: the higher epoch, then the higher owner id, wins', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(100);
    h.hear(RIVAL, 'claim', 1);
    expect(h.lease.role).toBe('standby');
    await h.pass(2000, () => h.clock.now() % 1000 === 0 && h.hear(RIVAL, 'renew', 1));
    expect(h.activated).toEqual([]);

    const lower = harness();
    lower.lease.sync();
    await lower.pass(100);
    lower.hear(LOWER, 'claim', 1);
    // aa-other:… sorts before laptop:…: this worker's claim stands.
    expect(lower.lease.role).toBe('claiming');
    await lower.pass(1500);
    expect(lower.lease.role).toBe('owner');
  });

  it('a claim nobody heard is no claim: after a disconnect it listens and decides again', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(100);
    expect(h.lease.role).toBe('claiming');
    h.lease.lost(h.clock.now());
    await h.pass(5000);
    expect(h.lease.role).toBe('listening');
    expect(h.activated).toEqual([]);
    h.hear(OWNER, 'renew', 5);
    h.lease.sync();
    await h.pass(100);
    expect(h.lease.role).toBe('standby');
  });

  it('an owner keeps its feed while disconnected, and yields when it hears a higher lease afterwards', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(1700);
    h.lease.lost(h.clock.now());
    await h.pass(30_000);
    expect(h.lease.role).toBe('owner');
    // Meanwhile another worker took the feed after this one's lease ran out; its renewal comes in the replay.
    h.hear(RIVAL, 'renew', 2);
    expect(h.lease.role).toBe('yielding');
    expect(h.deactivations).toBe(1);
  });

  it('a standby worker follows the feed from owner to owner and does not claim while it is held', async () => {
    const h = harness();
    h.hear(OWNER, 'renew', 3);
    h.lease.sync();
    await h.pass(100);
    h.hear(RIVAL, 'claim', 4, { takeover: true });
    h.hear(OWNER, 'renew', 3);
    h.hear(OWNER, 'yield', 4, { to: RIVAL });
    expect(h.lease.owner(h.clock.now())).toEqual({ owner: RIVAL, epoch: 4 });
    expect(h.changes.at(-1)).toMatchObject({ role: 'standby', reason: 'new owner', owner: RIVAL });
    await h.pass(4000, () => h.clock.now() % 1000 === 0 && h.hear(RIVAL, 'renew', 4));
    expect(h.sent).toEqual([]);
  });

  it('runs the feed without coordination when the broker refuses the lease address', () => {
    const h = harness();
    h.lease.refused(h.clock.now());
    expect(h.lease.role).toBe('unmanaged');
    expect(h.activated).toEqual([undefined]);
    h.hear(RIVAL, 'claim', 9, { takeover: true });
    expect(h.deactivations).toBe(0);
  });

  it('releases on stop what it owned or claimed, and nothing else', async () => {
    const owner = harness();
    owner.lease.sync();
    await owner.pass(1700);
    owner.lease.release(PLACE, owner.clock.now());
    expect(owner.sent.at(-1)).toEqual({ kind: 'release', epoch: 1, cursors: PLACE });
    expect(owner.lease.role).toBe('stopped');

    const standby = harness();
    standby.hear(OWNER, 'renew', 1);
    standby.lease.sync();
    await standby.pass(100);
    standby.lease.release(undefined, standby.clock.now());
    expect(standby.sent).toEqual([]);
  });

  it('ignores its own messages coming back', async () => {
    const h = harness();
    h.lease.sync();
    await h.pass(1700);
    h.hear(ME, 'claim', 7);
    expect(h.lease.role).toBe('owner');
  });
});
