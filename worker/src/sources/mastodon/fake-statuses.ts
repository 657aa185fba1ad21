/**
 * Status entities as Mastodon 4.x sends them (`GET /api/v1/timelines/tag/cats`), trimmed of fields livewall
 * never reads, for decoder and component tests.
 */

export type Status = Record<string, unknown> & { id: string };

const account = {
  id: '109302341234567890',
  username: 'alice',
  acct: 'alice',
  display_name: 'Alice 🐈',
  locked: false,
  bot: false,
  url: 'https://mastodon.social/@alice',
  avatar: 'https://files.mastodon.social/accounts/avatars/109/302/341/234/567/890/original/abc.png',
  followers_count: 12,
  emojis: [],
  fields: [],
};

const photo = {
  id: '111111111111111111',
  type: 'image',
  url: 'https://files.mastodon.social/media_attachments/files/111/111/111/original/cat.jpg',
  preview_url: 'https://files.mastodon.social/media_attachments/files/111/111/111/small/cat.jpg',
  remote_url: null,
  preview_remote_url: null,
  text_url: null,
  meta: {
    original: { width: 1600, height: 1200, size: '1600x1200', aspect: 1.3333333333333333 },
    small: { width: 554, height: 416, size: '554x416', aspect: 1.3317307692307692 },
    focus: { x: 0, y: 0 },
  },
  description: 'A grey cat asleep on a keyboard',
  blurhash: 'UFGIS$ofxu%M~qt7ofay%MWBRjofM{WBofWB',
};

const video = {
  id: '222222222222222222',
  type: 'video',
  url: 'https://files.mastodon.social/media_attachments/files/222/222/222/original/cat.mp4',
  preview_url: 'https://files.mastodon.social/media_attachments/files/222/222/222/small/cat.png',
  remote_url: null,
  meta: {
    original: { width: 1280, height: 720, frame_rate: '30/1', duration: 6.2, bitrate: 1_500_000 },
    small: { width: 400, height: 225, size: '400x225', aspect: 1.7777777777777777 },
  },
  description: null,
  blurhash: 'U7Fr{+00~q%M~q%Mxut7IUofxut7~q%MRjxu',
};

/** A status with one photo, linking, mentioning and tagging the way Mastodon's HTML does. */
export const photoStatus: Status = {
  id: '113370000000000001',
  created_at: '2024-10-28T09:15:02.123Z',
  in_reply_to_id: null,
  in_reply_to_account_id: null,
  sensitive: false,
  spoiler_text: '',
  visibility: 'public',
  language: 'en',
  uri: 'https://mastodon.social/users/alice/statuses/113370000000000001',
  url: 'https://mastodon.social/@alice/113370000000000001',
  replies_count: 0,
  reblogs_count: 3,
  favourites_count: 9,
  edited_at: null,
  content:
    '<p>Monday mood &amp; coffee <a href="https://mastodon.social/tags/cats" class="mention hashtag" rel="tag">#<span>cats</span></a></p>' +
    '<p>cc <span class="h-card" translate="no"><a href="https://chaos.social/@bob" class="u-url mention">@<span>bob</span></a></span>' +
    ' see <a href="https://example.com/a/very/long/path" target="_blank" rel="nofollow noopener noreferrer" translate="no">' +
    '<span class="invisible">https://</span><span class="ellipsis">example.com/a/very/</span><span class="invisible">long/path</span></a><br />it&#39;s &lt;3</p>',
  reblog: null,
  application: { name: 'Web', website: null },
  account,
  media_attachments: [photo],
  mentions: [{ id: '1', username: 'bob', url: 'https://chaos.social/@bob', acct: 'bob@chaos.social' }],
  tags: [{ name: 'cats', url: 'https://mastodon.social/tags/cats' }],
  emojis: [],
  card: null,
  poll: null,
};

/** A status from another instance, as mastodon.social relays it, with a video. */
export const videoStatus: Status = {
  ...photoStatus,
  id: '113370000000000002',
  created_at: '2024-10-28T09:16:40.000Z',
  uri: 'https://chaos.social/users/bob/statuses/113369999999999999',
  url: 'https://chaos.social/@bob/113369999999999999',
  content: '<p>Zoomies! <a href="https://chaos.social/tags/cats" class="mention hashtag" rel="tag">#<span>cats</span></a></p>',
  account: { ...account, id: '2', username: 'bob', acct: 'bob@chaos.social', display_name: '', url: 'https://chaos.social/@bob' },
  media_attachments: [video],
  mentions: [],
};

/** No media: the tag timeline leaves these out when asked `only_media=true`. */
export const textStatus: Status = {
  ...photoStatus,
  id: '113370000000000003',
  created_at: '2024-10-28T09:17:00.000Z',
  uri: 'https://mastodon.social/users/alice/statuses/113370000000000003',
  url: 'https://mastodon.social/@alice/113370000000000003',
  content: '<p>No picture today, sorry <a href="https://mastodon.social/tags/cats" class="mention hashtag" rel="tag">#<span>cats</span></a></p>',
  media_attachments: [],
};

/** Behind a content warning. */
export const sensitiveStatus: Status = {
  ...photoStatus,
  id: '113370000000000004',
  created_at: '2024-10-28T09:18:00.000Z',
  url: 'https://mastodon.social/@alice/113370000000000004',
  uri: 'https://mastodon.social/users/alice/statuses/113370000000000004',
  sensitive: true,
  spoiler_text: 'vet visit, needles',
};

/** A boost: the wrapper has empty content and no media; the boosted status is in `reblog`. */
export const reblogStatus: Status = {
  ...photoStatus,
  id: '113370000000000005',
  created_at: '2024-10-28T09:19:00.000Z',
  uri: 'https://mastodon.social/users/carol/statuses/113370000000000005/activity',
  url: 'https://mastodon.social/users/carol/statuses/113370000000000005/activity',
  content: '',
  account: { ...account, id: '3', username: 'carol', acct: 'carol', display_name: 'Carol', url: 'https://mastodon.social/@carol' },
  media_attachments: [],
  reblog: photoStatus,
};

export const realStatuses: Status[] = [photoStatus, videoStatus, textStatus, sensitiveStatus, reblogStatus];

/** A fresh photo status with id `id` (ids compare as Mastodon's do: longer is newer, then lexically). */
export function photoStatusWithId(id: string, overrides: Record<string, unknown> = {}): Status {
  return {
    ...photoStatus,
    id,
    uri: `https://mastodon.social/users/alice/statuses/${id}`,
    url: `https://mastodon.social/@alice/${id}`,
    content: `<p>cat number ${id}</p>`,
    ...overrides,
  };
}
