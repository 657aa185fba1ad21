import { afterEach, describe, expect, it } from 'vitest';
import { ImageAllowList } from '@livewall/contract';
import { newExchange } from '../../engine/steps.js';
import type { Exchange, Producer } from '../../engine/types.js';
import { blueskyProfilesMetrics } from '../../ops/metrics.js';
import { contractVerdict } from '../../pipeline/testing.js';
import type { Post } from '../../post.js';
import { decodeJetstreamEvent } from '../../sources/bluesky/decode.js';
import { appviewProfile, FakeAppview, type AppviewProfile } from '../../sources/bluesky/fake-appview.js';
import { identityEvent, imagesPost } from '../../sources/bluesky/testing.js';
import { endpointContext, fakeClock, settle, testLogger, type FakeClock, type TestLogger } from '../testing.js';
import { appviewComponent } from './index.js';
import { rateLimitOf } from './get-profiles.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A did:plc as Bluesky makes them: 24 base32 characters. */
const did = (name: string): string => `did:plc:${name.padEnd(24, 'a')}`;
const ALICE = did('alice');
const BOB = did('bob');
const CAROL = did('carol');
const FEEDS = [{ name: 'sky-cats', keywords: ['caturday'] }];

let rkeys = 0;
/** A post by `author` as the source route hands it on: decoded from a real Jetstream event, matched to sky-cats. */
function postBy(author: string): Post {
  rkeys++;
  const event = decodeJetstreamEvent(JSON.stringify({ ...imagesPost, did: author, commit: { ...imagesPost.commit, rkey: `3l3qo2vuo${String(rkeys).padStart(4, '2')}` } }), FEEDS);
  if (event.kind !== 'post') throw new Error('not a post');
  return event.post;
}

/** The identity event of `author` as the decoder makes it. */
function identityOf(author: string, handle: string): unknown {
  return decodeJetstreamEvent(JSON.stringify({ ...identityEvent, did: author, identity: { ...identityEvent.identity, did: author, handle } }));
}

interface Setup {
  appview: FakeAppview;
  producer: Producer;
  clock: FakeClock;
  log: TestLogger;
  /** Sends a post by `author` (or any body); resolves with the exchange once the producer is done with it. */
  send(body: Post | unknown): Promise<Exchange>;
  /** Moves the clock over the batch window and waits for the `count`-th request to be answered. */
  lookup(count: number): Promise<void>;
}

const BATCH_MS = 25;
const MAX_WAIT_MS = 500;

async function setup(profiles: readonly AppviewProfile[], options = ''): Promise<Setup> {
  const appview = new FakeAppview(profiles);
  const url = await appview.listen();
  cleanups.push(() => appview.close());
  // The AppView's reset times are wall-clock time, as the route's clock is outside tests.
  const clock = fakeClock(Date.now());
  const log = testLogger();
  const producer = appviewComponent.createProducer!(endpointContext(appviewComponent, `appview:?url=${url}&batchWindow=${BATCH_MS}ms&maxWait=${MAX_WAIT_MS}ms${options}`, { clock, log }));
  await producer.start();
  cleanups.push(() => producer.stop(1000));
  const send = async (body: unknown): Promise<Exchange> => {
    const exchange = newExchange(body);
    await producer.send(exchange);
    return exchange;
  };
  const lookup = async (count: number): Promise<void> => {
    await clock.advance(BATCH_MS);
    await appview.whenRequested(count);
  };
  return { appview, producer, clock, log, send, lookup };
}

const authorOf = (exchange: Exchange) => (exchange.body as Post).author;

describe('appview: resolving authors', () => {
  it("gives a post its author's handle and display name, linked to the profile, as a valid feed item", async () => {
    const { appview, send, lookup } = await setup([appviewProfile(ALICE, 'alice.bsky.social', 'Alice 🐈')]);
    const sent = send(postBy(ALICE));
    await lookup(1);
    const exchange = await sent;
    expect(appview.requests).toEqual([[ALICE]]);
    expect(authorOf(exchange)).toEqual({ id: ALICE, handle: 'alice.bsky.social', name: 'Alice 🐈', url: 'https://bsky.app/profile/alice.bsky.social' });
    expect(contractVerdict(exchange.body as Post, new ImageAllowList(['cdn.bsky.app']))).toBe('ok');
  });

  it('shows a handle that failed verification (handle.invalid) as the DID, keeping the name, and an unknown account as the DID', async () => {
    const { appview, send, lookup, producer } = await setup([appviewProfile(ALICE, 'handle.invalid', 'Alice')]);
    const sent = [send(postBy(ALICE)), send(postBy(BOB))];
    await lookup(1);
    const [alice, bob] = await Promise.all(sent);
    expect(appview.requests).toEqual([[ALICE, BOB]]);
    expect(authorOf(alice as Exchange)).toEqual({ id: ALICE, handle: ALICE, name: 'Alice', url: `https://bsky.app/profile/${ALICE}` });
    expect(authorOf(bob as Exchange)).toEqual({ id: BOB, handle: BOB, url: `https://bsky.app/profile/${BOB}` });
    expect(producer.stats?.()).toMatchObject({ resolved: 1, unknown: 1, lookups: 1 });
  });

  it('leaves a display name that is markup or control characters to the mapper, which cleans it as every name', async () => {
    const { send, lookup } = await setup([appviewProfile(ALICE, 'alice.bsky.social', '<b>Alice</b>\u0007 ')]);
    const sent = send(postBy(ALICE));
    await lookup(1);
    const post = (await sent).body as Post;
    expect(contractVerdict(post, new ImageAllowList(['cdn.bsky.app']))).toBe('ok');
  });

  it('passes on what is not a Bluesky post of some feed, untouched and without a lookup', async () => {
    const { appview, send } = await setup([]);
    const unmatched = { ...postBy(ALICE), feeds: [] };
    expect((await send(unmatched)).body).toBe(unmatched);
    expect((await send('text')).body).toBe('text');
    expect(appview.requests).toEqual([]);
  });
});

describe('appview: batching and the cache', () => {
  it('asks once for a burst: every author of the batch window in one request, at most 25 a request', async () => {
    const authors = Array.from({ length: 30 }, (_, index) => did(`cat${'bcdefghijklmnopqrstuvwxyz'[index % 25]}${index >= 25 ? 'x' : ''}`));
    const { appview, send, lookup } = await setup(authors.map((author, index) => appviewProfile(author, `cat${index}.bsky.social`)));
    // 30 authors, one of them posting twice: a full batch of 25 goes at once, the other 5 after the window.
    const sent = [...authors, authors[0] as string].map((author) => send(postBy(author)));
    await appview.whenRequested(1);
    await lookup(2);
    const exchanges = await Promise.all(sent);
    expect(appview.requests.map((actors) => actors.length)).toEqual([25, 5]);
    expect(new Set(appview.requests.flat())).toEqual(new Set(authors));
    expect(exchanges.map((exchange) => authorOf(exchange).handle)).toEqual([...authors.map((_, index) => `cat${index}.bsky.social`), 'cat0.bsky.social']);
  });

  it('has at most two requests out: the authors that come meanwhile go together once one returns', async () => {
    const authors = Array.from({ length: 60 }, (_, index) => did(`many${'bcdefghijklmnopqrstuvwxyz'[index % 25]}${'xyz'[Math.floor(index / 25)]}`));
    const { appview, send, clock } = await setup(authors.map((author, index) => appviewProfile(author, `many${index}.bsky.social`)));
    appview.holding = true;
    const sent = authors.slice(0, 55).map((author) => send(postBy(author)));
    await appview.whenRequested(2);
    await clock.advance(BATCH_MS);
    const more = authors.slice(55).map((author) => send(postBy(author)));
    await clock.advance(BATCH_MS);
    await settle();
    expect(appview.requests.map((actors) => actors.length)).toEqual([25, 25]);
    appview.release();
    await Promise.all([...sent, ...more]);
    expect(appview.requests.map((actors) => actors.length)).toEqual([25, 25, 10]);
  });

  it('costs a busy author one lookup, asks again after the TTL, and forgets the least recently used past cacheSize', async () => {
    const { appview, send, lookup, clock, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social'), appviewProfile(BOB, 'bob.bsky.social'), appviewProfile(CAROL, 'carol.bsky.social')], '&cacheSize=2&cacheTtl=10m');
    const first = Promise.all([send(postBy(ALICE)), send(postBy(ALICE)), send(postBy(BOB))]);
    await lookup(1);
    await first;
    for (let index = 0; index < 5; index++) expect(authorOf(await send(postBy(ALICE))).handle).toBe('alice.bsky.social');
    expect(appview.requests).toEqual([[ALICE, BOB]]);
    expect(producer.stats?.()).toMatchObject({ resolved: 3, hit: 5, lookups: 1, cached: 2 });

    // Carol pushes out Bob, the least recently used.
    const carol = send(postBy(CAROL));
    await lookup(2);
    await carol;
    const bob = send(postBy(BOB));
    await lookup(3);
    await bob;
    expect(appview.requests.slice(1)).toEqual([[CAROL], [BOB]]);

    await clock.advance(10 * 60_000);
    const alice = send(postBy(ALICE));
    await lookup(4);
    await alice;
    expect(appview.requests[3]).toEqual([ALICE]);
  });

  it("takes a handle change from Jetstream's identity event without a lookup; a handle.invalid shows the DID", async () => {
    const { appview, send, lookup, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social', 'Alice')]);
    const first = send(postBy(ALICE));
    await lookup(1);
    await first;
    await send(identityOf(ALICE, 'alice.example.com'));
    expect(authorOf(await send(postBy(ALICE)))).toEqual({ id: ALICE, handle: 'alice.example.com', name: 'Alice', url: 'https://bsky.app/profile/alice.example.com' });
    await send(identityOf(ALICE, 'handle.invalid'));
    expect(authorOf(await send(postBy(ALICE)))).toEqual({ id: ALICE, handle: ALICE, name: 'Alice', url: `https://bsky.app/profile/${ALICE}` });
    // An account not cached has nothing to refresh: its first post looks it up.
    await send(identityOf(BOB, 'bob.bsky.social'));
    expect(appview.requests).toEqual([[ALICE]]);
    expect(producer.stats?.()).toMatchObject({ identityUpdates: 2, hit: 2, lookups: 1 });
  });

  it('lets an identity event that comes while the lookup is out win over its answer, which may predate it', async () => {
    const { appview, send, lookup, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social', 'Alice')]);
    appview.holding = true;
    const sent = send(postBy(ALICE));
    await lookup(1);
    await send(identityOf(ALICE, 'alice.example.com'));
    appview.release();
    expect(authorOf(await sent)).toEqual({ id: ALICE, handle: 'alice.example.com', name: 'Alice', url: 'https://bsky.app/profile/alice.example.com' });
    expect(authorOf(await send(postBy(ALICE))).handle).toBe('alice.example.com');
    expect(producer.stats?.()).toMatchObject({ identityUpdates: 1, resolved: 1, hit: 1 });
  });
});

describe('appview: a slow, failing or rate-limited AppView', () => {
  it('lets a post wait at most maxWait, then sends it with the DID (late); the late answer still fills the cache', async () => {
    const { appview, send, clock, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social')]);
    appview.holding = true;
    const sent = send(postBy(ALICE));
    await clock.advance(BATCH_MS);
    await appview.whenRequested(1);
    let done = false;
    void sent.then(() => (done = true));
    await clock.advance(MAX_WAIT_MS - BATCH_MS - 1);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(authorOf(await sent)).toEqual({ id: ALICE, handle: ALICE, url: `https://bsky.app/profile/${ALICE}` });
    expect(producer.stats?.()).toMatchObject({ late: 1, waiting: 1 });

    appview.release();
    await expect.poll(() => producer.stats?.().waiting).toBe(0);
    expect(authorOf(await send(postBy(ALICE))).handle).toBe('alice.bsky.social');
    expect(producer.stats?.()).toMatchObject({ late: 1, hit: 1, lookups: 1 });
  });

  it('keeps the order: a post whose author is cached waits behind an earlier one still waiting for its author', async () => {
    const { appview, send, lookup, clock } = await setup([appviewProfile(ALICE, 'alice.bsky.social'), appviewProfile(BOB, 'bob.bsky.social')]);
    const warm = send(postBy(ALICE));
    await lookup(1);
    await warm;
    appview.holding = true;
    const done: string[] = [];
    const sends = [postBy(BOB), postBy(ALICE), postBy(ALICE), postBy(BOB)].map((post, index) => send(post).then((exchange) => done.push(`${index}:${authorOf(exchange).handle}`)));
    await settle();
    expect(done).toEqual([]);
    await clock.advance(BATCH_MS);
    await appview.whenRequested(2);
    appview.release();
    await Promise.all(sends);
    expect(done).toEqual(['0:bob.bsky.social', '1:alice.bsky.social', '2:alice.bsky.social', '3:bob.bsky.social']);

    // The same with a lookup that ends late: the cached authors' posts wait for the late one, then follow it.
    appview.holding = true;
    const carol = send(postBy(CAROL)).then((exchange) => done.push(`carol:${authorOf(exchange).handle}`));
    const alice = send(postBy(ALICE)).then((exchange) => done.push(`alice:${authorOf(exchange).handle}`));
    await clock.advance(MAX_WAIT_MS);
    await Promise.all([carol, alice]);
    expect(done.slice(4)).toEqual([`carol:${CAROL}`, 'alice:alice.bsky.social']);
  });

  it('honours a 429: no request before its reset, the posts meanwhile go out with the DID, counted rate-limited', async () => {
    const { appview, send, lookup, clock, producer, log } = await setup([appviewProfile(ALICE, 'alice.bsky.social'), appviewProfile(BOB, 'bob.bsky.social')]);
    const resetAt = Math.ceil(clock.now() / 1000) + 60;
    appview.rateLimitedUntil = resetAt;
    const first = send(postBy(ALICE));
    await lookup(1);
    expect(authorOf(await first).handle).toBe(ALICE);
    for (const author of [ALICE, BOB]) expect(authorOf(await send(postBy(author))).handle).toBe(author);
    await clock.advance(resetAt * 1000 - clock.now() - 1);
    expect(authorOf(await send(postBy(BOB))).handle).toBe(BOB);
    expect(appview.requests).toHaveLength(1);
    expect(producer.stats?.()).toMatchObject({ rateLimited: 4, lookups: 1, lookupsRateLimited: 1 });
    expect(log.lines.find((line) => line.level === 'warn')?.fields).toMatchObject({ cause: 'rate-limited', reason: 'HTTP 429: Rate Limit Exceeded', resumeAt: new Date(resetAt * 1000).toISOString() });

    appview.rateLimitedUntil = undefined;
    await clock.advance(1);
    const after = send(postBy(BOB));
    await lookup(2);
    expect(authorOf(await after).handle).toBe('bob.bsky.social');
  });

  it('reads the rate-limit headers: ratelimit-reset in unix seconds, retry-after in seconds or as a date', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(rateLimitOf(new Headers({ 'ratelimit-limit': '3000', 'ratelimit-remaining': '0', 'ratelimit-reset': String(now / 1000 + 42) }), now)).toEqual({ remaining: 0, resetAt: now + 42_000 });
    expect(rateLimitOf(new Headers({ 'retry-after': '7' }), now)).toEqual({ resetAt: now + 7000 });
    expect(rateLimitOf(new Headers({ 'retry-after': 'Mon, 07 Dec 2026 12:01:00 GMT' }), now)).toEqual({ resetAt: now + 60_000 });
    expect(rateLimitOf(new Headers({}), now)).toBeUndefined();
  });

  it('after a failed lookup (5xx) sends posts with the DID and waits a backoff before the next request', async () => {
    const { appview, send, lookup, clock, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social')]);
    appview.failWith = 503;
    const first = send(postBy(ALICE));
    await lookup(1);
    expect(authorOf(await first).handle).toBe(ALICE);
    expect(authorOf(await send(postBy(ALICE))).handle).toBe(ALICE);
    expect(producer.stats?.()).toMatchObject({ failed: 2, lookups: 1, lookupsFailed: 1 });
    appview.failWith = undefined;
    // The first backoff is 1 s ±20 %.
    await clock.advance(1200);
    const after = send(postBy(ALICE));
    await lookup(2);
    expect(authorOf(await after).handle).toBe('alice.bsky.social');
  });

  it('counts every outcome for /metrics: livewall_bluesky_profiles_total{outcome} and the lookups', async () => {
    const { appview, send, lookup, producer } = await setup([appviewProfile(ALICE, 'alice.bsky.social')]);
    const first = send(postBy(ALICE));
    await lookup(1);
    await first;
    await send(postBy(ALICE));
    appview.failWith = 500;
    const failed = send(postBy(BOB));
    await lookup(2);
    await failed;
    const [profiles, lookups, errors, cache] = blueskyProfilesMetrics(() => [producer.stats?.() ?? {}]).map((metric) => [...metric.read()]);
    expect(profiles).toEqual(['hit', 'resolved', 'unknown', 'late', 'failed', 'rate-limited'].map((outcome) => ({ labels: { outcome }, value: { hit: 1, resolved: 1, failed: 1 }[outcome] ?? 0 })));
    expect(lookups).toEqual([{ labels: {}, value: 2 }]);
    expect(errors).toEqual([{ labels: { reason: 'failed' }, value: 1 }, { labels: { reason: 'rate-limited' }, value: 0 }]);
    expect(cache).toEqual([{ labels: {}, value: 1 }]);
  });
});
