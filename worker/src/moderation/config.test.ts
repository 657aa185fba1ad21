import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type WorkerConfig } from '../config.js';
import { BLUESKY_CONFIG_HEAD, blueskyConfig, blueskyConfigProblems } from '../config-testing.js';
import { routeSignature } from '../engine/reload.js';
import { newExchange } from '../engine/steps.js';
import { feedRoutes } from '../feeds.js';
import type { Post } from '../post.js';
import { feedsToModerate } from './config.js';
import { ModerationBook } from './rules.js';

const HEAD = BLUESKY_CONFIG_HEAD;
const configOf = blueskyConfig;
const problemsOf = blueskyConfigProblems;

const RULES = [
  'moderation:',
  '  blockedWords: [spam, "buy now"]',
  '  blockedAuthors: { bluesky: [did:plc:troll], mastodon: ["troll@example.social"] }',
  '  perAuthor: { posts: 5, per: 1m }',
  'feeds:',
  '  - name: cats',
  '    network: bluesky',
  '    keywords: [cat]',
  '    moderation: { blockedWords: [dog], allowedAuthors: { bluesky: [vet.example] }, profanity: false }',
  '  - { name: kittens, network: bluesky, keywords: [kitten] }',
];

function post(text: string, handle = 'alice.example'): Post {
  return { network: 'bluesky', nativeId: text, url: 'https://bsky.app/profile/a/post/1', author: { handle }, text, createdAt: '2026-01-01T00:00:00Z', media: [], feeds: ['cats'] };
}

describe('moderation: in the config', () => {
  it('reads the global rules and each feed\'s, which add to them', () => {
    const config = configOf(RULES);
    expect(config.moderation).toEqual({ blockedWords: ['spam', 'buy now'], blockedAuthors: { x: [], bluesky: ['did:plc:troll'], mastodon: ['troll@example.social'] }, allowedAuthors: { x: [], bluesky: [], mastodon: [] }, perAuthor: { posts: 5, perMs: 60_000 } });
    const book = new ModerationBook(config.moderation, feedsToModerate(config));
    expect(book.of('cats')?.rules).toMatchObject({ blockedWords: ['spam', 'buy now', 'dog'], profanity: false, perAuthor: { posts: 5, perMs: 60_000 } });
    expect(book.of('kittens')?.rules).toMatchObject({ blockedWords: ['spam', 'buy now'], profanity: true });
  });

  it('has profanity on and 3 posts per author per 10 minutes for a live feed with no moderation: section, no rate limit for a recording', () => {
    const live = configOf(['feeds: [{ name: cats, network: bluesky, keywords: [cat] }]']);
    expect(new ModerationBook(live.moderation, feedsToModerate(live)).of('cats')?.rules).toMatchObject({ profanity: true, perAuthor: { posts: 3, perMs: 600_000 } });
    const replay = parseConfig(['broker: { url: "amqp://localhost:5672" }', 'sources: { bluesky: { replay: { file: b.ndjson } } }', 'feeds: [{ name: cats, network: bluesky }]'].join('\n'), 'worker.yaml', {});
    expect(new ModerationBook(replay.moderation, feedsToModerate(replay)).of('cats')?.rules).toMatchObject({ profanity: true, perAuthor: false });
  });

  it('reports each wrong setting at its file:line:col', () => {
    expect(problemsOf(['moderation:', '  blockedWords: "spam"', '  blockedAuthors: { threads: [a] }', '  profanity: sometimes', '  perAuthor: { posts: 0, per: soon }', 'feeds: [{ name: cats, network: bluesky, keywords: [cat], moderation: { blockedWords: ["!!"], colour: red } }]'])).toEqual([
      // The feeds are read before the global rules.
      'worker.yaml:9:94: unknown field "colour" in feeds[0].moderation; expected one of blockedWords, blockedAuthors, allowedAuthors, profanity, perAuthor, mode',
      'worker.yaml:9:87: feeds[0].moderation.blockedWords[0] has no letter or digit to match',
      'worker.yaml:5:17: moderation.blockedWords must be a list',
      'worker.yaml:6:21: unknown field "threads" in moderation.blockedAuthors; expected one of x, bluesky, mastodon',
      'worker.yaml:7:14: moderation.profanity must be true or false',
      'worker.yaml:8:23: moderation.perAuthor.posts must be a whole number of posts, at least 1',
      'worker.yaml:8:31: moderation.perAuthor.per must be a duration such as 10m or 1h, not "soon"',
    ]);
  });

  it('a rules change swaps the feed route\'s rules in place: the route\'s signature stays, so a reload restarts nothing', () => {
    const before = configOf(RULES);
    const after = configOf(RULES.map((line) => line.replace('[spam, "buy now"]', '[spam, "buy now", fish]')));
    const book = new ModerationBook(before.moderation, feedsToModerate(before));
    const cats = (config: WorkerConfig) => feedRoutes(config, { moderation: book }).find((route) => route.id === 'feed:cats')!;
    const route = cats(before);
    const step = route.steps.find((candidate) => candidate.kind === 'filter' && candidate.name === 'moderation');
    const moderate = (text: string, handle?: string) => (step?.kind === 'filter' ? step.predicate(newExchange(post(text, handle))) : undefined);
    expect(moderate('a fish')).toBe(true);
    expect(moderate('SPAM!')).toBe('blocked-word');
    expect(moderate('a dog', 'vet.example')).toBe(true);
    book.update(after.moderation, feedsToModerate(after));
    expect(routeSignature(cats(after))).toBe(routeSignature(route));
    expect(moderate('a fish')).toBe('blocked-word');
  });

  it('takes the example of docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const example = /```yaml\n(moderation:[\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(`${HEAD.join('\n')}\n${example}`, 'docs/configuration.md', {});
    expect(config.moderation?.blockedAuthors.x).toEqual(['spammer42', '1234567890']);
    expect(config.feeds[0]?.moderation?.blockedWords).toEqual(['dog']);
  });
});
