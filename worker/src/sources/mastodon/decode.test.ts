import { describe, expect, it } from 'vitest';
import { decodeMastodonJson, decodeMastodonStatus, htmlToText } from './decode.js';
import { photoStatus, reblogStatus, sensitiveStatus, textStatus, videoStatus } from './fake-statuses.js';

describe('decodeMastodonStatus', () => {
  it('decodes a photo status: permalink, local handle completed, HTML as text, alt and size', () => {
    expect(decodeMastodonStatus(photoStatus, 'mastodon.social', { feeds: ['cats'] })).toEqual({
      kind: 'post',
      post: {
        network: 'mastodon',
        nativeId: '113370000000000001',
        url: 'https://mastodon.social/@alice/113370000000000001',
        author: { handle: 'alice@mastodon.social', name: 'Alice 🐈', url: 'https://mastodon.social/@alice' },
        text: "Monday mood & coffee #cats\n\ncc @bob see https://example.com/a/very/long/path\nit's <3",
        createdAt: '2024-10-28T09:15:02.123Z',
        media: [
          {
            kind: 'photo',
            url: 'https://files.mastodon.social/media_attachments/files/111/111/111/original/cat.jpg',
            previewUrl: 'https://files.mastodon.social/media_attachments/files/111/111/111/small/cat.jpg',
            alt: 'A grey cat asleep on a keyboard',
            width: 1600,
            height: 1200,
          },
        ],
        feeds: ['cats'],
      },
    });
  });

  it('takes a video’s preview image, and keeps a remote account’s handle as it is', () => {
    const event = decodeMastodonStatus(videoStatus, 'mastodon.social');
    expect(event.kind).toBe('post');
    if (event.kind !== 'post') return;
    expect(event.post.author).toEqual({ handle: 'bob@chaos.social', url: 'https://chaos.social/@bob' });
    expect(event.post.media).toEqual([
      { kind: 'video', previewUrl: 'https://files.mastodon.social/media_attachments/files/222/222/222/small/cat.png', width: 1280, height: 720 },
    ]);
    expect(event.post.url).toBe('https://chaos.social/@bob/113369999999999999');
  });

  it('keeps the author’s profile link only on the status’s own instance, as the contract asks', () => {
    const elsewhere = decodeMastodonStatus({ ...photoStatus, account: { ...(photoStatus.account as Record<string, unknown>), url: 'https://evil.example/@alice' } }, 'mastodon.social');
    expect(elsewhere.kind).toBe('post');
    if (elsewhere.kind !== 'post') return;
    expect(elsewhere.post.author).toEqual({ handle: 'alice@mastodon.social', name: 'Alice 🐈' });
    expect(elsewhere.post.media).toHaveLength(1);
  });

  it('keeps a photo’s preview_url (its thumbnail) only when it is an https URL, and the photo either way', () => {
    const original = 'https://files.mastodon.social/media_attachments/files/1/original/cat.jpg';
    const mediaOf = (attachment: Record<string, unknown>) => {
      const event = decodeMastodonStatus({ ...photoStatus, media_attachments: [{ type: 'image', url: original, ...attachment }] }, 'mastodon.social');
      return event.kind === 'post' ? event.post.media : event;
    };
    expect(mediaOf({ preview_url: 'https://files.mastodon.social/media_attachments/files/1/small/cat.jpg' })).toEqual([
      { kind: 'photo', url: original, previewUrl: 'https://files.mastodon.social/media_attachments/files/1/small/cat.jpg' },
    ]);
    for (const preview of [undefined, null, '', 'http://files.mastodon.social/small/cat.jpg', 'javascript:alert(1)', 'not a url', 42, `https://f.example/${'a'.repeat(2048)}`]) {
      expect(mediaOf({ preview_url: preview }), String(preview)).toEqual([{ kind: 'photo', url: original }]);
    }
  });

  it('decodes a gifv as a gif with its preview', () => {
    const gif = { ...photoStatus, media_attachments: [{ type: 'gifv', url: 'https://f.example/x.mp4', preview_url: 'https://f.example/x.png', meta: {} }] };
    const event = decodeMastodonStatus(gif, 'mastodon.social');
    expect(event.kind === 'post' && event.post.media).toEqual([{ kind: 'gif', previewUrl: 'https://f.example/x.png' }]);
  });

  it('decodes a status without media (the pipeline drops it, counted)', () => {
    const event = decodeMastodonStatus(textStatus, 'mastodon.social');
    expect(event.kind === 'post' && event.post.media).toEqual([]);
  });

  it('skips reblogs: the original is in the tag timeline itself', () => {
    expect(decodeMastodonStatus(reblogStatus, 'mastodon.social')).toEqual({ kind: 'invalid', reason: 'reblog' });
  });

  it('marks a status its author flagged sensitive, and only such a one', () => {
    const flagged = decodeMastodonStatus(sensitiveStatus, 'mastodon.social');
    expect(flagged.kind === 'post' && flagged.post.sensitive).toEqual({ reasons: ['sensitive'] });
    const plain = decodeMastodonStatus(photoStatus, 'mastodon.social');
    expect(plain.kind === 'post' && 'sensitive' in plain.post).toBe(false);
  });

  it('falls back to uri when url is missing or not https', () => {
    const event = decodeMastodonStatus({ ...photoStatus, url: 'http://mastodon.social/@alice/1' }, 'mastodon.social');
    expect(event.kind === 'post' && event.post.url).toBe(photoStatus.uri);
    expect(decodeMastodonStatus({ ...photoStatus, url: null, uri: 'javascript:alert(1)' }, 'x').kind).toBe('invalid');
  });

  it('leaves out attachments it cannot show, and audio', () => {
    const media = [
      { type: 'image', url: 'http://insecure.example/a.jpg' },
      { type: 'audio', url: 'https://f.example/a.mp3', preview_url: 'https://f.example/a.png' },
      { type: 'unknown', url: 'https://f.example/b' },
      { type: 'video', url: 'https://f.example/v.mp4' },
      { type: 'image', url: 'https://f.example/ok.jpg', description: '', meta: { original: { width: 0, height: 5 } } },
      null,
    ];
    const event = decodeMastodonStatus({ ...photoStatus, media_attachments: media.slice(0, 4) }, 'm.example');
    expect(event.kind === 'post' && event.post.media).toEqual([]);
    const second = decodeMastodonStatus({ ...photoStatus, media_attachments: media.slice(4) }, 'm.example');
    expect(second.kind === 'post' && second.post.media).toEqual([{ kind: 'photo', url: 'https://f.example/ok.jpg' }]);
  });

  it('says what is missing, with a short fixed reason', () => {
    const cases: [unknown, string][] = [
      [null, 'not-an-object'],
      [[photoStatus], 'not-an-object'],
      [{ ...photoStatus, id: 12345 }, 'bad-id'],
      [{ ...photoStatus, id: '../../etc' }, 'bad-id'],
      [{ ...photoStatus, url: undefined, uri: undefined }, 'bad-url'],
      [{ ...photoStatus, created_at: 'yesterday' }, 'bad-created-at'],
      [{ ...photoStatus, content: null }, 'bad-content'],
      [{ ...photoStatus, account: undefined }, 'no-author'],
      [{ ...photoStatus, account: { acct: 'evil<script>' } }, 'no-author'],
      [{ ...photoStatus, media_attachments: Array(5).fill(photoStatus.media_attachments) }, 'too-many-media'],
    ];
    for (const [value, reason] of cases) expect(decodeMastodonStatus(value, 'mastodon.social')).toEqual({ kind: 'invalid', reason });
  });

  it('reads JSON text, the way the source offers a status', () => {
    expect(decodeMastodonJson(JSON.stringify(photoStatus), 'mastodon.social').kind).toBe('post');
    expect(decodeMastodonJson('{"id":', 'mastodon.social')).toEqual({ kind: 'invalid', reason: 'not-json' });
  });
});

describe('htmlToText', () => {
  it('turns paragraphs and breaks into lines, and decodes entities', () => {
    expect(htmlToText('<p>one<br>two<br/>three</p><p>four &amp; five &#x1F408; &quot;six&quot;</p>')).toBe('one\ntwo\nthree\n\nfour & five 🐈 "six"');
  });

  it('drops scripts and styles with their content, and anything that decodes to a tag', () => {
    expect(htmlToText('<p>hi<script>alert(1)</script><style>p{}</style> there &lt;img src=x onerror=alert(1)&gt;</p>')).toBe('hi there');
    expect(htmlToText('<<b>b>bold<</b>/b>')).toBe('bold');
  });

  it('treats raw newlines in the HTML as spaces, as a browser would', () => {
    expect(htmlToText('<p>one\ntwo</p>\n<p>three</p>')).toBe('one two\n\nthree');
  });
});
