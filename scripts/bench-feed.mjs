// The feed the wall benchmarks publish: realistic feed items made from the bundled sample's posts (their text,
// authors, alt texts and pictures, served locally), sent as the worker sends them — AMQP 1.0 with rhea, the JSON in
// a data section, `message_id` = the item's id, durable — at a fixed rate, each send time kept by sequence number.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ImageAllowList, validateFeedItem } from '@livewall/contract';
import rhea from 'rhea';
import { nowMs, sleep } from './bench-measure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const MEDIA_DIR = `${root}samples/media`;

const unescapeX = (text) => text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** The sample recording's posts with a photo, reduced to what a feed item shows. */
function samplePosts() {
  const posts = [];
  for (const line of readFileSync(`${root}samples/x-cats.ndjson`, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { data, includes } = JSON.parse(line);
    const photo = includes?.media?.find((media) => media.type === 'photo');
    const user = includes?.users?.find((candidate) => candidate.id === data?.author_id);
    if (!data || !photo || !user) continue;
    posts.push({ text: unescapeX(data.text), handle: user.username, name: user.name, file: photo.url.split('/').pop(), alt: photo.alt_text, width: photo.width, height: photo.height });
  }
  return posts;
}

/**
 * Makes the items of one benchmark feed. Item `seq` has the id `${idPrefix}${seq}`: the id comes second in the JSON,
 * so a Node viewer finds the sequence number without parsing the body. Every image URL is unique (`?n=seq`), as
 * real posts' are: the page fetches and decodes a picture per card instead of reusing a cached one.
 */
export function feedItems({ feed, run, imageOrigin }) {
  const posts = samplePosts();
  const idPrefix = `bluesky:bench-${run}-`;
  const item = (seq, publishedAt) => {
    const post = posts[seq % posts.length];
    const image = `${imageOrigin}/demo/media/${post.file}?n=${seq}`;
    return {
      v: 1,
      id: `${idPrefix}${seq}`,
      feed,
      network: 'bluesky',
      url: `https://bsky.app/profile/${post.handle}.bsky.social/post/${run}${seq}`,
      author: { handle: `${post.handle}.bsky.social`, name: post.name },
      text: post.text,
      images: [{ url: image, thumb: image, alt: post.alt, width: post.width, height: post.height }],
      createdAt: publishedAt,
      receivedAt: publishedAt,
      publishedAt,
    };
  };
  const allowList = new ImageAllowList([imageOrigin]);
  for (let seq = 0; seq < posts.length; seq++) {
    const checked = validateFeedItem(item(seq, new Date().toISOString()), allowList);
    if (!checked.ok) throw new Error(`the benchmark's feed item ${seq} breaks the contract: ${checked.reason}`);
  }
  return { idPrefix, item };
}

/**
 * An AMQP 1.0 publisher to /topic/feed.<feed>, as the worker's: resolves once the sender is attached. Outcomes are
 * counted; anything but `accepted` is kept as a failure for the report.
 */
export function openPublisher({ url, password, feed }) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const container = rhea.create_container({ id: `livewall-bench-wall-${process.pid}-${feed}` });
    const connection = container.connect({ host: target.hostname, port: Number(target.port), username: 'publisher', password, reconnect: false });
    const sender = connection.open_sender({ target: { address: `/topic/feed.${feed}` } });
    const outcomes = { accepted: 0, other: [] };
    connection.on('accepted', () => outcomes.accepted++);
    for (const outcome of ['rejected', 'released', 'modified']) connection.on(outcome, () => outcomes.other.push(outcome));
    connection.on('disconnected', (context) => reject(new Error(`publisher for feed ${feed}: disconnected: ${context.error?.message ?? 'no reason'}`)));
    sender.once('sendable', () =>
      resolve({
        outcomes,
        sendable: () => sender.sendable(),
        send: (id, body) => sender.send({ message_id: id, content_type: 'application/json', durable: true, body: rhea.message.data_section(body) }),
        close: () =>
          new Promise((done) => {
            connection.once('connection_close', done);
            connection.close();
          }),
      }),
    );
  });
}

/**
 * Publishes `count` items at `rate` per second, item `seq` due at start + seq / rate (not drifting with timer
 * lateness). The send time of each is taken just before it is built and sent, and handed to `onSent(seq, at)`.
 * Resolves with the send times and how late the sends were against their schedule.
 */
export async function publishPaced({ publisher, items, rate, count, onSent = () => undefined }) {
  const sentAt = new Float64Array(count);
  const interval = 1000 / rate;
  const start = nowMs() + interval;
  let maxLate = 0;
  let noCredit = 0;
  for (let seq = 0; seq < count; seq++) {
    const due = start + seq * interval;
    const wait = due - nowMs();
    if (wait > 0.5) await sleep(wait);
    while (!publisher.sendable()) {
      noCredit++;
      await sleep(1);
    }
    const at = nowMs();
    const item = items.item(seq, new Date(at).toISOString());
    publisher.send(item.id, Buffer.from(JSON.stringify(item), 'utf8'));
    sentAt[seq] = at;
    maxLate = Math.max(maxLate, at - due);
    onSent(seq, at);
  }
  return { sentAt, maxLate, noCredit, seconds: (nowMs() - start) / 1000 };
}
