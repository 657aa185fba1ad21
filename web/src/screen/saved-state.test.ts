import { ImageAllowList, type FeedItem } from '@livewall/contract';
import { describe, expect, it } from 'vitest';
import { restoreState, SAVED_ITEMS, SAVED_MAX_AGE_MS, saveState } from './saved-state.js';

const allowList = new ImageAllowList(['cdn.bsky.app']);
const NOW = Date.parse('2026-12-07T20:00:00Z');

function item(n: number, change: Partial<FeedItem> = {}): FeedItem {
  const at = new Date(NOW - 60_000 + n).toISOString();
  const image = `https://cdn.bsky.app/img/${n}.jpg`;
  return {
    v: 1,
    id: `bluesky:${n}`,
    feed: 'cats',
    network: 'bluesky',
    url: `https://bsky.app/profile/alice.bsky.social/post/${n}`,
    author: { handle: 'alice.bsky.social', name: 'Alice' },
    text: `post ${n}`,
    images: [{ url: image, thumb: image, alt: 'A cat' }],
    createdAt: at,
    receivedAt: at,
    publishedAt: at,
    ...change,
  };
}

describe('the saved wall', () => {
  it('comes back as it was saved: the newest cards, oldest first for the wall to take', () => {
    const wall = [3, 2, 1].map((n) => item(n));
    expect(restoreState(saveState('cats', wall, NOW - 1_000), 'cats', allowList, NOW)).toEqual({ items: [item(1), item(2), item(3)], skipped: 0 });
  });

  it(`keeps at most ${SAVED_ITEMS} cards, the newest`, () => {
    const wall = Array.from({ length: SAVED_ITEMS + 10 }, (_, index) => item(SAVED_ITEMS + 10 - index));
    const { items } = restoreState(saveState('cats', wall, NOW), 'cats', allowList, NOW);
    expect(items).toHaveLength(SAVED_ITEMS);
    expect(items.at(-1)!.id).toBe(`bluesky:${SAVED_ITEMS + 10}`);
    expect(items[0]!.id).toBe('bluesky:11');
  });

  it('is untrusted input: an invalid, off-list, foreign or repeated card is skipped and counted, the rest restored', () => {
    const saved = JSON.stringify({
      v: 1,
      feed: 'cats',
      savedAt: NOW,
      items: [
        item(4),
        { ...item(5), images: [{ url: 'https://evil.example/x.jpg', thumb: 'https://evil.example/x.jpg' }] },
        { ...item(6), url: 'javascript:alert(1)' },
        item(7, { feed: 'dogs' }),
        item(4),
        'not an item',
        null,
        { ...item(8), extra: '<img src=x onerror=alert(1)>' },
        item(1),
      ],
    });
    expect(restoreState(saved, 'cats', allowList, NOW)).toEqual({ items: [item(1), item(4)], skipped: 7 });
  });

  it('refuses as a whole what is not a saved wall of this feed, or too old, or from the future', () => {
    const wall = [item(1)];
    const refused = (saved: string | null, now = NOW): string | undefined => {
      const restored = restoreState(saved, 'cats', allowList, now);
      expect(restored.items).toEqual([]);
      return restored.refused;
    };
    expect(refused(null)).toBeUndefined();
    for (const garbage of ['', '{', 'null', '[]', '"x"', '{"v":2,"feed":"cats","savedAt":0,"items":[]}', '{"v":1,"feed":"cats","savedAt":0}', '{"v":1,"feed":"cats","savedAt":"now","items":[]}']) {
      expect(refused(garbage), garbage).toBeTruthy();
    }
    expect(refused(saveState('dogs', wall, NOW))).toMatch(/another feed/);
    expect(refused(saveState('cats', wall, NOW - SAVED_MAX_AGE_MS - 1))).toMatch(/too old/);
    expect(refused(saveState('cats', wall, NOW + 60_000))).toMatch(/future/);
    expect(refused(`${saveState('cats', wall, NOW)}${' '.repeat(1_000_001)}`)).toMatch(/longer/);
  });
});
