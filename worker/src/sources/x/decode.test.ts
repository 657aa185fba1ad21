import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Post } from '../../post.js';
import { STREAM_PROBLEMS, decodeXLine, type XStreamEvent } from './decode.js';

const SAMPLE = new URL('../../../../samples/x-cats.ndjson', import.meta.url);

/** The recording's lines as the stream delivers them: every line, keep-alives included, ends with \r\n. */
function sampleLines(): string[] {
  const text = readFileSync(SAMPLE, 'utf8');
  expect(text.endsWith('\r\n')).toBe(true);
  return text.slice(0, -2).split('\r\n');
}

function postsOf(events: XStreamEvent[]): Post[] {
  return events.flatMap((event) => (event.kind === 'post' ? [event.post] : []));
}

function postOf(event: XStreamEvent): Post {
  if (event.kind !== 'post') throw new Error(`expected a post, got ${JSON.stringify(event)}`);
  return event.post;
}

/** A well-formed stream event; `change` edits a fresh copy (typed loosely: the tests put wrong types in it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function event(change: (raw: any) => void = () => undefined): string {
  const raw = {
    data: {
      id: '2116862840200253479',
      text: 'A ball of yarn &lt; a box',
      author_id: '755109284',
      created_at: '2026-11-01T12:00:05.000Z',
      attachments: { media_keys: ['3_1', '3_2'] },
      edit_history_tweet_ids: ['2116862840200253479'],
    },
    includes: {
      media: [
        { media_key: '3_1', type: 'photo', url: 'https://pbs.twimg.com/media/A.png', width: 480, height: 360, alt_text: 'yarn' },
        { media_key: '3_2', type: 'photo', url: 'https://pbs.twimg.com/media/B.png', width: 640, height: 480 },
      ],
      users: [{ id: '755109284', name: 'Midnight Zoomies', username: 'midnightzoomies' }],
    },
    matching_rules: [{ id: '2116458874819690496', tag: 'cats' }],
  };
  change(raw);
  return JSON.stringify(raw);
}

describe('decodeXLine on the recorded sample', () => {
  const lines = sampleLines();
  const events = lines.map(decodeXLine);
  const posts = postsOf(events);

  it('decodes every line: 5 keep-alives and 56 posts, nothing invalid', () => {
    expect(lines).toHaveLength(61);
    const counts: Record<string, number> = {};
    for (const e of events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    expect(counts).toEqual({ 'keep-alive': 5, post: 56 });
    expect(posts.filter((post) => post.sensitive)).toEqual([]);
    expect(events.map((e, index) => (e.kind === 'keep-alive' ? index : -1)).filter((index) => index >= 0)).toEqual([6, 23, 52, 54, 58]);
  });

  it('decodes a line that still carries its \\r the same way', () => {
    expect(decodeXLine(`${lines[0]}\r`)).toEqual(events[0]);
    expect(decodeXLine('\r')).toEqual({ kind: 'keep-alive' });
  });

  it('keeps the order of the recording: ids and times increase', () => {
    for (let index = 1; index < posts.length; index++) {
      expect(BigInt(posts[index]!.nativeId) > BigInt(posts[index - 1]!.nativeId)).toBe(true);
      expect(posts[index]!.createdAt > posts[index - 1]!.createdAt).toBe(true);
    }
  });

  it('decodes the first post field by field', () => {
    expect(posts[0]).toEqual({
      network: 'x',
      nativeId: '2116862840200253479',
      url: 'https://x.com/midnightzoomies/status/2116862840200253479',
      author: { id: '755109284', handle: 'midnightzoomies', name: 'Midnight Zoomies', url: 'https://x.com/midnightzoomies' },
      // Text is left as X sent it: cleaning is the pipeline's job.
      text: 'A ball of yarn &lt; a cardboard box &lt; the bag the yarn came in. Cat logic. 🧶📦',
      createdAt: '2026-11-01T12:00:05.000Z',
      media: [
        {
          kind: 'photo',
          url: 'https://pbs.twimg.com/media/G-2wLNqpvuDh6Ip.png',
          alt: 'Three balls of pink, leaf green and violet yarn with loose threads on an apricot floor.',
          width: 480,
          height: 360,
        },
      ],
      feeds: ['cats'],
    });
  });

  it('finds the media the sample is described with', () => {
    const photoPosts = posts.filter((post) => post.media.length > 0 && post.media.every((media) => media.kind === 'photo'));
    expect(photoPosts).toHaveLength(49);
    expect(photoPosts.map((post) => post.media.length).filter((count) => count > 1)).toEqual([2, 3, 4]);
    const photos = photoPosts.flatMap((post) => post.media);
    expect(photos).toHaveLength(55);
    expect(photos.filter((media) => media.alt !== undefined)).toHaveLength(45);
    for (const photo of photos) {
      expect(photo.url).toMatch(/^https:\/\/pbs\.twimg\.com\/media\/[\w-]+\.png$/);
      expect(photo.previewUrl).toBeUndefined();
      expect([photo.width, photo.height]).toEqual([480, 360]);
    }
    expect(posts.filter((post) => post.media.length === 0)).toHaveLength(4);
  });

  it('decodes videos and GIFs to their preview image', () => {
    const moving = posts.filter((post) => post.media.some((media) => media.kind !== 'photo'));
    expect(moving.map((post) => [post.nativeId, post.media.map((media) => media.kind)])).toEqual([
      ['2116864155277815842', ['video']],
      ['2116864401860694029', ['gif']],
      ['2116864839206088737', ['video']],
    ]);
    for (const post of moving) {
      const [media] = post.media;
      expect(media!.url).toBeUndefined();
      expect(media!.previewUrl).toMatch(/^https:\/\/pbs\.twimg\.com\/media\/[\w-]+\.png$/);
    }
  });

  it('gives the posts matching two rules both feeds', () => {
    const twoFeeds = posts.filter((post) => post.feeds.length > 1);
    expect(twoFeeds.map((post) => post.nativeId)).toEqual(['2116864500129234975', '2116865100284514312']);
    for (const post of twoFeeds) expect(post.feeds).toEqual(['cats', 'dogs']);
    expect(posts.filter((post) => post.feeds.length === 1 && post.feeds[0] === 'cats')).toHaveLength(54);
  });

  it('keeps X escaping in text and raw author names', () => {
    expect(posts.filter((post) => post.text.includes('&amp;'))).toHaveLength(4);
    expect(posts.find((post) => post.text.includes('&lt;3'))?.text).toBe('I &lt;3 my cat. Even when she knocks my pen off the desk. Especially then.');
    expect(new Set(posts.filter((post) => post.author.name?.includes('&')).map((post) => post.author.name))).toEqual(new Set(['Biscuit & Bean']));
  });
});

describe('decodeXLine on everything else', () => {
  it('treats empty and whitespace-only lines as keep-alives', () => {
    for (const line of ['', ' ', '\r', '\r\n', ' \t ']) expect(decodeXLine(line)).toEqual({ kind: 'keep-alive' });
  });

  it('rejects what is not JSON', () => {
    const full = event();
    expect(decodeXLine(full.slice(0, full.length / 2))).toEqual({ kind: 'invalid', reason: 'not-json' });
    expect(decodeXLine('{"data":')).toEqual({ kind: 'invalid', reason: 'not-json' });
    expect(decodeXLine('hello')).toEqual({ kind: 'invalid', reason: 'not-json' });
  });

  it('rejects JSON that is not an object', () => {
    for (const line of ['[1,2]', '[]', '42', '"text"', 'null', 'true']) {
      expect(decodeXLine(line), line).toEqual({ kind: 'invalid', reason: 'not-an-object' });
    }
  });

  it('rejects an object without data', () => {
    expect(decodeXLine('{}')).toEqual({ kind: 'invalid', reason: 'no-data' });
    expect(decodeXLine(event((raw) => delete raw.data))).toEqual({ kind: 'invalid', reason: 'no-data' });
    expect(decodeXLine(event((raw) => (raw.data = [raw.data])))).toEqual({ kind: 'invalid', reason: 'no-data' });
  });

  it('rejects a bad id, text or creation time', () => {
    expect(decodeXLine(event((raw) => (raw.data.id = 'abc')))).toEqual({ kind: 'invalid', reason: 'bad-id' });
    expect(decodeXLine(event((raw) => (raw.data.id = 2116862840)))).toEqual({ kind: 'invalid', reason: 'bad-id' });
    expect(decodeXLine(event((raw) => (raw.data.id = '12/../34')))).toEqual({ kind: 'invalid', reason: 'bad-id' });
    expect(decodeXLine(event((raw) => (raw.data.id = '')))).toEqual({ kind: 'invalid', reason: 'bad-id' });
    expect(decodeXLine(event((raw) => (raw.data.text = 42)))).toEqual({ kind: 'invalid', reason: 'bad-text' });
    expect(decodeXLine(event((raw) => delete raw.data.text))).toEqual({ kind: 'invalid', reason: 'bad-text' });
    expect(decodeXLine(event((raw) => (raw.data.created_at = 'yesterday')))).toEqual({ kind: 'invalid', reason: 'bad-created-at' });
    expect(decodeXLine(event((raw) => delete raw.data.created_at))).toEqual({ kind: 'invalid', reason: 'bad-created-at' });
  });

  it('rejects a post whose author is not in includes', () => {
    expect(decodeXLine(event((raw) => (raw.data.author_id = '1')))).toEqual({ kind: 'invalid', reason: 'no-author' });
    expect(decodeXLine(event((raw) => delete raw.includes.users))).toEqual({ kind: 'invalid', reason: 'no-author' });
    expect(decodeXLine(event((raw) => delete raw.includes))).toEqual({ kind: 'invalid', reason: 'no-author' });
    // A username that could not be a handle (and would break the permalink) is no author either.
    expect(decodeXLine(event((raw) => (raw.includes.users[0].username = 'evil/../x')))).toEqual({ kind: 'invalid', reason: 'no-author' });
  });

  it('decodes the well-formed event, normalising the creation time', () => {
    const post = postOf(decodeXLine(event((raw) => (raw.data.created_at = '2026-11-01T13:00:05+01:00'))));
    expect(post.createdAt).toBe('2026-11-01T12:00:05.000Z');
    expect(post.media).toEqual([
      { kind: 'photo', url: 'https://pbs.twimg.com/media/A.png', width: 480, height: 360, alt: 'yarn' },
      { kind: 'photo', url: 'https://pbs.twimg.com/media/B.png', width: 640, height: 480 },
    ]);
  });

  it('normalises creation times as Date.parse and toISOString do, also when it skips them (10,000 cases)', () => {
    const digits = (count: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: count, maxLength: count });
    // Mostly X's own form (the one-pass path), some other forms Date.parse reads, some it does not.
    const time = fc.oneof(
      { arbitrary: fc.tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3)).map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`), weight: 4 },
      fc.tuple(fc.constantFrom('2026', '2024', '1900', '0000'), fc.constantFrom('01', '02', '12', '13'), fc.constantFrom('01', '29', '30', '31'), fc.constantFrom('00:00:00', '23:59:59', '24:00:00', '12:60:00'), fc.constantFrom('Z', '.5Z', '.000Z', '+01:00', '.000+00:00', '', '.000z')).map(([y, mo, d, t, zone]) => `${y}-${mo}-${d}T${t}${zone}`),
      fc.constantFrom('Sun, 01 Nov 2026 12:00:05 GMT', '2026-11-01', ' 2026-11-01T12:00:05.000Z', '2026-11-01T12:00:05.000Z ', 'yesterday'),
    );
    fc.assert(
      fc.property(time, (createdAt) => {
        const decoded = decodeXLine(event((raw) => (raw.data.created_at = createdAt)));
        const expected = Number.isNaN(Date.parse(createdAt)) ? 'invalid' : new Date(createdAt).toISOString();
        expect(decoded.kind === 'post' ? decoded.post.createdAt : decoded.kind, createdAt).toBe(expected);
      }),
      { numRuns: 10_000 },
    );
  });

  it('leaves out media whose key is not in includes, keeping the others in order', () => {
    const post = postOf(decodeXLine(event((raw) => (raw.data.attachments.media_keys = ['3_9', '3_2', '3_1']))));
    expect(post.media.map((media) => media.url)).toEqual(['https://pbs.twimg.com/media/B.png', 'https://pbs.twimg.com/media/A.png']);
    const none = postOf(decodeXLine(event((raw) => (raw.data.attachments.media_keys = ['3_9']))));
    expect(none.media).toEqual([]);
    const noIncludes = postOf(decodeXLine(event((raw) => delete raw.includes.media)));
    expect(noIncludes.media).toEqual([]);
  });

  it('skips media of an unknown type', () => {
    const post = postOf(decodeXLine(event((raw) => (raw.includes.media[0].type = 'audio'))));
    expect(post.media.map((media) => media.url)).toEqual(['https://pbs.twimg.com/media/B.png']);
  });

  it('drops media fields of the wrong type', () => {
    const post = postOf(
      decodeXLine(
        event((raw) => {
          Object.assign(raw.includes.media[0], { url: 7, alt_text: '', width: 480.5, height: -1 });
        }),
      ),
    );
    expect(post.media[0]).toEqual({ kind: 'photo' });
  });

  it('takes feeds from the rule tags, once each, in order', () => {
    const post = postOf(
      decodeXLine(
        event((raw) => {
          raw.matching_rules = [{ id: '1', tag: 'dogs' }, { id: '2' }, { id: '3', tag: 'cats' }, { id: '4', tag: 'dogs' }, 'junk'];
        }),
      ),
    );
    expect(post.feeds).toEqual(['dogs', 'cats']);
    expect(postOf(decodeXLine(event((raw) => delete raw.matching_rules))).feeds).toEqual([]);
  });

  it('marks a post X flags possibly_sensitive; false or absent (as in the recording) is not flagged', () => {
    expect(postOf(decodeXLine(event((raw) => (raw.data.possibly_sensitive = true)))).sensitive).toEqual({ reasons: ['possibly_sensitive'] });
    expect('sensitive' in postOf(decodeXLine(event((raw) => (raw.data.possibly_sensitive = false))))).toBe(false);
    expect('sensitive' in postOf(decodeXLine(event()))).toBe(false);
  });

  it('leaves out an empty author name', () => {
    const post = postOf(decodeXLine(event((raw) => (raw.includes.users[0].name = ''))));
    expect(post.author).toEqual({ id: '755109284', handle: 'midnightzoomies', url: 'https://x.com/midnightzoomies' });
  });

  it('reports an error the stream sends before it disconnects', () => {
    const line = JSON.stringify({
      errors: [
        {
          title: 'operational-disconnect',
          disconnect_type: 'UpstreamOperationalDisconnect',
          detail: 'This stream has been disconnected upstream for operational reasons.',
          type: 'https://api.twitter.com/2/problems/operational-disconnect',
        },
      ],
    });
    expect(decodeXLine(line)).toEqual({
      kind: 'stream-error',
      problem: 'UpstreamOperationalDisconnect',
      title: 'operational-disconnect',
      detail: 'This stream has been disconnected upstream for operational reasons.',
    });
    expect(decodeXLine('{"errors":[{"title":"ConnectionException","message":"TooManyConnections"}]}')).toEqual({
      kind: 'stream-error',
      problem: 'TooManyConnections',
      title: 'ConnectionException',
      detail: 'TooManyConnections',
    });
    expect(decodeXLine('{"errors":[]}')).toEqual({ kind: 'stream-error', problem: 'unknown', title: 'unknown error', detail: '' });
  });

  it('reports a ConnectionException the stream sends on its own, not wrapped in errors, by its connection_issue', () => {
    const tooMany = {
      title: 'ConnectionException',
      detail: 'This stream is currently at the maximum allowed connection limit.',
      connection_issue: 'TooManyConnections',
      type: 'https://api.twitter.com/2/problems/streaming-connection',
    };
    expect(decodeXLine(JSON.stringify(tooMany))).toEqual({
      kind: 'stream-error',
      problem: 'TooManyConnections',
      title: 'ConnectionException',
      detail: 'This stream is currently at the maximum allowed connection limit.',
    });
    // Without a problem type it is not X's: an object without data, as any other.
    expect(decodeXLine(JSON.stringify({ ...tooMany, type: 'https://evil.example/2/problems/x' }))).toEqual({ kind: 'invalid', reason: 'no-data' });
  });

  it('names a stream error from a fixed set of labels, whatever the stream sends, and cuts X\'s words short', () => {
    const problemOf = (error: Record<string, unknown>): unknown => {
      const event = decodeXLine(JSON.stringify({ errors: [error] }));
      return event.kind === 'stream-error' ? event.problem : event;
    };
    expect(problemOf({ title: 'ConnectionException', detail: 'no issue named' })).toBe('ConnectionException');
    expect(problemOf({ title: 'operational-disconnect', disconnect_type: 'SlowReader' })).toBe('SlowReader');
    expect(problemOf({ title: 'operational-disconnect', disconnect_type: 'made-up' })).toBe('operational-disconnect');
    expect(problemOf({ title: 'ConnectionException', connection_issue: 'constructor' })).toBe('ConnectionException');
    for (const title of ['made-up-1', 'toString', '__proto__', 'x'.repeat(10_000), 'stream-error:TooManyConnections']) {
      expect(problemOf({ title, connection_issue: title, message: title })).toBe('unknown');
    }
    for (const problem of STREAM_PROBLEMS) expect(problem).toMatch(/^[A-Za-z-]{1,40}$/);
    const long = decodeXLine(JSON.stringify({ errors: [{ title: 't'.repeat(5000), detail: 'd'.repeat(5000) }] }));
    expect(long.kind === 'stream-error' && [long.title.length, long.detail.length]).toEqual([300, 300]);
  });

  it('decodes a post that comes with partial errors', () => {
    const line = event((raw) => (raw.errors = [{ title: 'Not Found Error', detail: 'Could not find media' }]));
    expect(decodeXLine(line).kind).toBe('post');
  });
});
