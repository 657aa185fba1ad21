import { describe, expect, it } from 'vitest';
import { blueskyThumb, decodeJetstreamEvent } from './decode.js';
import { CID_1, CID_2, DID, accountEvent, deletePost, identityEvent, imagesPost, likeCommit, recordWithMediaPost, replyPost, textOnlyPost } from './testing.js';

const decode = (event: unknown) => decodeJetstreamEvent(JSON.stringify(event));

/** `event` with `change` applied to a deep copy of it. */
function altered<T>(event: T, change: (copy: T) => void): T {
  const copy = structuredClone(event);
  change(copy);
  return copy;
}

describe('decodeJetstreamEvent: posts', () => {
  it('decodes a post with app.bsky.embed.images', () => {
    expect(decode(imagesPost)).toEqual({
      kind: 'post',
      timeUs: 1725911162329308,
      post: {
        network: 'bluesky',
        nativeId: `${DID}/3l3qo2vuowo2b`,
        url: `https://bsky.app/profile/${DID}/post/3l3qo2vuowo2b`,
        author: { id: DID, handle: DID, url: `https://bsky.app/profile/${DID}` },
        text: 'Monday mood #caturday 🐈',
        createdAt: '2024-09-09T19:46:02.102Z',
        media: [
          { kind: 'photo', url: `https://cdn.bsky.app/img/feed_fullsize/plain/${DID}/${CID_1}@jpeg`, alt: 'A tabby cat asleep on a keyboard', width: 2000, height: 1500 },
          { kind: 'photo', url: `https://cdn.bsky.app/img/feed_fullsize/plain/${DID}/${CID_2}@jpeg` },
        ],
        feeds: [],
      },
    });
  });

  it('takes the images of app.bsky.embed.recordWithMedia, not the quoted record', () => {
    const event = decode(recordWithMediaPost);
    expect(event.kind).toBe('post');
    if (event.kind !== 'post') return;
    expect(event.post.media).toEqual([
      { kind: 'photo', url: `https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:z72i7hdynmk6r22z27h6tvur/${CID_2}@jpeg`, alt: 'Same cat, other keyboard', width: 1080, height: 1080 },
    ]);
  });

  it('decodes a post without images with no media (the pipeline drops it)', () => {
    const event = decode(textOnlyPost);
    expect(event).toMatchObject({ kind: 'post', post: { text: 'Guten Morgen!', media: [] } });
  });

  it('decodes a reply from a did:web author like any post, normalising its createdAt to UTC', () => {
    const event = decode(replyPost);
    expect(event).toMatchObject({
      kind: 'post',
      post: { nativeId: 'did:web:cats.example.com/3l3qo2wrzyk2a', createdAt: '2024-09-09T17:46:02.566Z', media: [{ kind: 'photo', alt: 'Proof' }] },
    });
  });

  it('falls back to time_us when createdAt is not an RFC 3339 datetime', () => {
    for (const createdAt of ['yesterday', '2024-09-09', '2024-13-45T99:99:99Z', 12, undefined]) {
      const event = decode(altered(imagesPost, (copy) => Object.assign(copy.commit.record, { createdAt })));
      expect(event).toMatchObject({ kind: 'post', post: { createdAt: new Date(1725911162329).toISOString() } });
    }
  });

  it('reads legacy blobs (a bare cid), and skips images whose blob is not a CID', () => {
    const event = decode(
      altered(imagesPost, (copy) => {
        copy.commit.record.embed.images = [
          { alt: 'legacy', image: { cid: CID_1, mimeType: 'image/jpeg' } } as never,
          { alt: 'hostile', image: { $type: 'blob', ref: { $link: '../../evil.example/x' }, mimeType: 'image/jpeg', size: 1 } },
        ];
      }),
    );
    expect(event).toMatchObject({ kind: 'post', post: { media: [{ kind: 'photo', alt: 'legacy' }] } });
  });

  it('marks a post whose author self-labelled it adult or graphic, with the values; other self-labels are not', () => {
    const labelled = (values: string[]) =>
      decode(altered(imagesPost, (copy) => Object.assign(copy.commit.record, { labels: { $type: 'com.atproto.label.defs#selfLabels', values: values.map((val) => ({ val })) } })));
    const porn = labelled(['porn']);
    expect(porn.kind === 'post' && porn.post.sensitive).toEqual({ reasons: ['porn'] });
    const several = labelled(['!no-unauthenticated', 'graphic-media', 'gore', 'nudity', 'sexual', 'gore']);
    expect(several.kind === 'post' && several.post.sensitive).toEqual({ reasons: ['graphic-media', 'gore', 'nudity', 'sexual'] });
    for (const event of [labelled(['!no-unauthenticated']), labelled([]), decode(imagesPost)]) expect(event.kind === 'post' && 'sensitive' in event.post).toBe(false);
  });

  it('fills feeds by keyword when given them', () => {
    const event = decodeJetstreamEvent(JSON.stringify(imagesPost), [{ name: 'cats', keywords: ['#caturday'] }, { name: 'dogs', keywords: ['dog'] }]);
    expect(event).toMatchObject({ kind: 'post', post: { feeds: ['cats'] } });
  });

  it('replaces lone surrogates in text and alt', () => {
    const text = JSON.stringify(imagesPost).replace('Monday mood', '\\ud800 mood').replace('A tabby', '\\udc00 tabby');
    const event = decodeJetstreamEvent(text);
    expect(event).toMatchObject({ kind: 'post', post: { text: '\ufffd mood #caturday 🐈' } });
    expect(event.kind === 'post' && event.post.media[0]?.alt).toBe('\ufffd tabby cat asleep on a keyboard');
  });
});

describe('decodeJetstreamEvent: other events keep their time_us', () => {
  it.each([
    ['a delete', deletePost],
    ['another collection', likeCommit],
    ['an account event', accountEvent],
    ['an update', altered(imagesPost, (copy) => Object.assign(copy.commit, { operation: 'update' }))],
  ])('%s', (_name, event) => {
    expect(decode(event)).toEqual({ kind: 'other', timeUs: event.time_us });
  });
});

describe('decodeJetstreamEvent: identity events', () => {
  it('keeps the DID and its new handle, for the profile cache', () => {
    expect(decode(identityEvent)).toEqual({ kind: 'identity', did: DID, handle: 'tabby.bsky.social', timeUs: identityEvent.time_us });
  });

  it('keeps one without a handle (the account has none now), and the handle as sent (handle.invalid)', () => {
    expect(decode({ ...identityEvent, identity: { did: DID, seq: 1, time: '2024-09-09T19:46:02.790Z' } })).toEqual({ kind: 'identity', did: DID, timeUs: identityEvent.time_us });
    expect(decode({ ...identityEvent, identity: 'broken' })).toEqual({ kind: 'identity', did: DID, timeUs: identityEvent.time_us });
    expect(decode({ ...identityEvent, identity: { ...identityEvent.identity, handle: 'handle.invalid' } })).toMatchObject({ kind: 'identity', handle: 'handle.invalid' });
  });
});

describe('decodeJetstreamEvent: garbage', () => {
  it.each([
    ['not-json', '{"did":'],
    ['not-json', ''],
    ['not-an-object', '[1,2]'],
    ['not-an-object', 'null'],
    ['no-time', JSON.stringify({ ...imagesPost, time_us: undefined })],
    ['no-time', JSON.stringify({ ...imagesPost, time_us: '1725911162329308' })],
    ['no-time', JSON.stringify({ ...imagesPost, time_us: -5 })],
    ['no-time', JSON.stringify({ ...imagesPost, time_us: 1.5 })],
    ['bad-did', JSON.stringify({ ...imagesPost, did: 'alice.bsky.social' })],
    ['bad-did', JSON.stringify({ ...imagesPost, did: 'did:plc:abc/../../x' })],
    ['bad-commit', JSON.stringify({ ...imagesPost, commit: 'create' })],
    ['bad-rkey', JSON.stringify(altered(imagesPost, (copy) => Object.assign(copy.commit, { rkey: '..' })))],
    ['bad-rkey', JSON.stringify(altered(imagesPost, (copy) => Object.assign(copy.commit, { rkey: 'a/b' })))],
    ['bad-record', JSON.stringify(altered(imagesPost, (copy) => Object.assign(copy.commit, { record: undefined })))],
    ['bad-record', JSON.stringify(altered(imagesPost, (copy) => Object.assign(copy.commit.record, { text: 42 })))],
  ])('%s: %s', (reason, text) => {
    expect(decodeJetstreamEvent(text)).toEqual({ kind: 'invalid', reason });
  });
});

describe('blueskyThumb', () => {
  it('turns a full-size CDN URL into its thumbnail, and leaves others alone', () => {
    expect(blueskyThumb(`https://cdn.bsky.app/img/feed_fullsize/plain/${DID}/${CID_1}@jpeg`)).toBe(`https://cdn.bsky.app/img/feed_thumbnail/plain/${DID}/${CID_1}@jpeg`);
    expect(blueskyThumb('https://pbs.twimg.com/media/x.jpg')).toBe('https://pbs.twimg.com/media/x.jpg');
  });
});
