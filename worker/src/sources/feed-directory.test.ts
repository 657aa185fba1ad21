import type { Network } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { FeedDirectory, type DirectoryFeed } from './feed-directory.js';

const cats: DirectoryFeed = { name: 'cats', network: 'x', keywords: ['cat', 'kitten'] };
const dogs: DirectoryFeed = { name: 'dogs', network: 'x', keywords: ['dog'], rule: '(dog OR puppy) has:images' };
const skyCats: DirectoryFeed = { name: 'sky-cats', network: 'bluesky', keywords: ['cat', '#caturday'] };
const tootCats: DirectoryFeed = { name: 'toot-cats', network: 'mastodon', keywords: ['cats'] };

/** A directory and every network its `change` events named, in order. */
function watched(feeds: readonly DirectoryFeed[]) {
  const directory = new FeedDirectory(feeds);
  const changes: Network[] = [];
  directory.on('change', (network) => changes.push(network));
  return { directory, changes };
}

describe('FeedDirectory', () => {
  it('lists each network\'s feeds as a source needs them, in the order given', () => {
    // A feed from the config carries more than a source needs: where it is in the file, its dead letter.
    const fromConfig = [
      { ...cats, index: 0, deadLetter: 'file:cats.ndjson' },
      { ...skyCats, index: 1 },
      { ...dogs, index: 2 },
    ];
    const directory = new FeedDirectory(fromConfig);
    expect(directory.of('x')).toEqual([cats, dogs]);
    expect(directory.of('bluesky')).toEqual([skyCats]);
    expect(directory.of('mastodon')).toEqual([]);
    expect(new FeedDirectory().of('x')).toEqual([]);
  });

  it('keeps its own copy: changing the feeds it was given changes nothing', () => {
    const keywords = ['cat'];
    const directory = new FeedDirectory([{ name: 'cats', network: 'x', keywords }]);
    keywords.push('dog');
    expect(directory.of('x')).toEqual([{ name: 'cats', network: 'x', keywords: ['cat'] }]);
  });

  it('returns the same array until that network\'s feeds change', () => {
    const { directory } = watched([cats, skyCats]);
    const x = directory.of('x');
    const bluesky = directory.of('bluesky');
    expect(directory.of('x')).toBe(x);
    expect(directory.of('mastodon')).toBe(directory.of('mastodon'));

    // The same feeds again, as new objects, and a feed's position among other networks' feeds: no change.
    directory.update([{ ...skyCats, keywords: [...skyCats.keywords] }, { ...cats }]);
    expect(directory.of('x')).toBe(x);
    expect(directory.of('bluesky')).toBe(bluesky);

    directory.update([{ ...cats, keywords: ['cat', 'kitten', 'tabby'] }, skyCats]);
    expect(directory.of('x')).not.toBe(x);
    expect(directory.of('x')).toEqual([{ ...cats, keywords: ['cat', 'kitten', 'tabby'] }]);
    expect(directory.of('bluesky')).toBe(bluesky);
  });

  it('returns and emits the networks whose feeds changed, and only those', () => {
    const { directory, changes } = watched([cats, skyCats]);
    expect(changes).toEqual([]);

    expect(directory.update([cats, skyCats])).toEqual([]);
    expect(changes).toEqual([]);

    // A keyword, a new feed on another network.
    expect(directory.update([{ ...cats, keywords: ['cat'] }, skyCats, tootCats])).toEqual(['x', 'mastodon']);
    expect(changes).toEqual(['x', 'mastodon']);

    // A rule, and a network's last feed gone.
    changes.length = 0;
    expect(directory.update([{ ...cats, keywords: ['cat'], rule: 'cat has:images' }, tootCats])).toEqual(['x', 'bluesky']);
    expect(changes).toEqual(['x', 'bluesky']);
    expect(directory.of('bluesky')).toEqual([]);

    // A feed renamed, and feeds reordered within a network, are changes too (the rules' tags, the matching order).
    changes.length = 0;
    expect(directory.update([{ ...cats, name: 'kittens', keywords: ['cat'], rule: 'cat has:images' }, tootCats])).toEqual(['x']);
    expect(directory.update([tootCats, { ...tootCats, name: 'more-cats' }])).toEqual(['x', 'mastodon']);
    expect(directory.update([{ ...tootCats, name: 'more-cats' }, tootCats])).toEqual(['mastodon']);
    expect(changes).toEqual(['x', 'x', 'mastodon', 'mastodon']);
  });

  it('emits after the update, so that a listener reads the new feeds', () => {
    const directory = new FeedDirectory([cats]);
    const seen: (readonly DirectoryFeed[])[] = [];
    directory.on('change', (network) => seen.push(directory.of(network)));
    directory.update([dogs]);
    expect(seen).toEqual([[dogs]]);
  });
});
