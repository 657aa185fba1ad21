/**
 * Jetstream events as the public instances send them (captured September 2024, handles and text changed), for
 * the decoder's tests and the fake Jetstream's scripts.
 */
import type { ScriptedEvent } from './fake-jetstream.js';

export const DID = 'did:plc:eygmaihciaxprqvxpfvl6flk';
export const CID_1 = 'bafkreibjfgx2gprinfvicegelk5kosd6y2frmqpqzwqkg7usac74l3t2v4';
export const CID_2 = 'bafkreihwihm6kpd6zuwhhlro75p5qks5qtrcu55jp3gddbyjsieyaq3ctq';

export const imagesPost = {
  did: DID,
  time_us: 1725911162329308,
  kind: 'commit',
  commit: {
    rev: '3l3qo2vutsw2b',
    operation: 'create',
    collection: 'app.bsky.feed.post',
    rkey: '3l3qo2vuowo2b',
    record: {
      $type: 'app.bsky.feed.post',
      createdAt: '2024-09-09T19:46:02.102Z',
      embed: {
        $type: 'app.bsky.embed.images',
        images: [
          {
            alt: 'A tabby cat asleep on a keyboard',
            aspectRatio: { height: 1500, width: 2000 },
            image: { $type: 'blob', ref: { $link: CID_1 }, mimeType: 'image/jpeg', size: 347712 },
          },
          {
            alt: '',
            image: { $type: 'blob', ref: { $link: CID_2 }, mimeType: 'image/png', size: 1201337 },
          },
        ],
      },
      langs: ['en'],
      text: 'Monday mood #caturday 🐈',
    },
    cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi',
  },
};

export const recordWithMediaPost = {
  did: 'did:plc:z72i7hdynmk6r22z27h6tvur',
  time_us: 1725911162400001,
  kind: 'commit',
  commit: {
    rev: '3l3qo2wbxtk2c',
    operation: 'create',
    collection: 'app.bsky.feed.post',
    rkey: '3l3qo2w7k3s2y',
    record: {
      $type: 'app.bsky.feed.post',
      createdAt: '2024-09-09T19:46:02.351Z',
      embed: {
        $type: 'app.bsky.embed.recordWithMedia',
        media: {
          $type: 'app.bsky.embed.images',
          images: [{ alt: 'Same cat, other keyboard', aspectRatio: { height: 1080, width: 1080 }, image: { $type: 'blob', ref: { $link: CID_2 }, mimeType: 'image/jpeg', size: 200311 } }],
        },
        record: {
          $type: 'app.bsky.embed.record',
          record: { cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi', uri: `at://${DID}/app.bsky.feed.post/3l3qo2vuowo2b` },
        },
      },
      langs: ['en'],
      text: 'Quoting this because mine does it too',
    },
    cid: 'bafyreiaw5xq3xzdnl4dj3dxqsuhmskr6ivwczg4sbumdudv3d2ntfv3ahq',
  },
};

export const textOnlyPost = {
  did: 'did:plc:ragtjsm2j2vknwkz3zp4oxrd',
  time_us: 1725911162500123,
  kind: 'commit',
  commit: {
    rev: '3l3qo2wjm5k2s',
    operation: 'create',
    collection: 'app.bsky.feed.post',
    rkey: '3l3qo2wi4xc2p',
    record: { $type: 'app.bsky.feed.post', createdAt: '2024-09-09T19:46:02.455Z', langs: ['de'], text: 'Guten Morgen!' },
    cid: 'bafyreihqd2xaqrrhgxmrjwdjs6euuhsszgqphg5sksrdlbdngwzqyvqvfe',
  },
};

export const replyPost = {
  did: 'did:web:cats.example.com',
  time_us: 1725911162600456,
  kind: 'commit',
  commit: {
    rev: '3l3qo2wsl4c2a',
    operation: 'create',
    collection: 'app.bsky.feed.post',
    rkey: '3l3qo2wrzyk2a',
    record: {
      $type: 'app.bsky.feed.post',
      createdAt: '2024-09-09T19:46:02.566+02:00',
      embed: { $type: 'app.bsky.embed.images', images: [{ alt: 'Proof', image: { $type: 'blob', ref: { $link: CID_1 }, mimeType: 'image/webp', size: 9001 } }] },
      reply: {
        parent: { cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi', uri: `at://${DID}/app.bsky.feed.post/3l3qo2vuowo2b` },
        root: { cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi', uri: `at://${DID}/app.bsky.feed.post/3l3qo2vuowo2b` },
      },
      text: 'Mine too!',
    },
    cid: 'bafyreif2sx6mfeyzxbhb6nbrn7uhnrixkxlcznrd3vyv2kmhuvuugj2cdy',
  },
};

export const deletePost = {
  did: DID,
  time_us: 1725911162700789,
  kind: 'commit',
  commit: { rev: '3l3qo2x2ucb2b', operation: 'delete', collection: 'app.bsky.feed.post', rkey: '3l3qo2vuowo2b' },
};

export const likeCommit = {
  did: DID,
  time_us: 1725911162750000,
  kind: 'commit',
  commit: {
    rev: '3l3qo2x5abc2b',
    operation: 'create',
    collection: 'app.bsky.feed.like',
    rkey: '3l3qo2x5ab22b',
    record: { $type: 'app.bsky.feed.like', createdAt: '2024-09-09T19:46:02.700Z', subject: { cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi', uri: `at://${DID}/app.bsky.feed.post/3l3qo2vuowo2b` } },
    cid: 'bafyreibvdzx4jxqq5vyfimnq3f4fazhsx7r2uqamvvyvtytsokefvkq6yq',
  },
};

export const identityEvent = {
  did: DID,
  time_us: 1725911162800000,
  kind: 'identity',
  identity: { did: DID, handle: 'tabby.bsky.social', seq: 1409752997, time: '2024-09-09T19:46:02.790Z' },
};

export const accountEvent = {
  did: DID,
  time_us: 1725911162900000,
  kind: 'account',
  account: { active: true, did: DID, seq: 1409753154, time: '2024-09-09T19:46:02.890Z' },
};

export const realEvents: readonly Record<string, unknown>[] = [imagesPost, recordWithMediaPost, textOnlyPost, replyPost, deletePost, likeCommit, identityEvent, accountEvent];

/**
 * `count` events for the fake Jetstream, one millisecond apart from `startUs`: mostly image posts (each its own
 * rkey), with a delete and an identity event among them, as a real stream mixes them.
 */
export function scriptedEvents(count: number, startUs = 1_725_911_000_000_000): ScriptedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const time_us = startUs + i * 1000;
    if (i % 7 === 3) return { ...identityEvent, time_us, identity: { ...identityEvent.identity, seq: 1_000 + i } };
    if (i % 7 === 5) return { ...deletePost, time_us, commit: { ...deletePost.commit, rkey: `3l3qo2x${i}aa2b`, rev: `3l3qo2y${i}aa2b` } };
    return { ...imagesPost, time_us, commit: { ...imagesPost.commit, rkey: `3l3qo2v${i}ow2b`, rev: `3l3qo2w${i}tw2b` } };
  });
}

/**
 * `count` image posts about #caturday, one millisecond apart from `startUs` (well within a 5 s rewind), their rkeys
 * (and so their item ids) told apart by `series`, one letter: posts of one series never share an id with another's.
 */
export function caturdayPosts(count: number, series: string, startUs: number): (typeof imagesPost)[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(3, '0');
    return { ...imagesPost, time_us: startUs + i * 1000, commit: { ...imagesPost.commit, rkey: `3l${series}${n}qow2b`, rev: `3l${series}${n}wtw2b` } };
  });
}

/** The item id of a post event. */
export function postId(event: typeof imagesPost): string {
  return `bluesky:${event.did}/${event.commit.rkey}`;
}
