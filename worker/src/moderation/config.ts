import { NETWORKS } from '@livewall/contract';
import { CONFIG_FIELDS, MODERATION_MODES, parseDuration, type Checker, type ModerationMode, type Path, type WorkerConfig } from '../config.js';
import { emptyAuthorLists, type AuthorLists, type ModeratedFeed, type ModerationConfig } from './rules.js';

/** The config's feeds as the moderation book takes them: a feed all of whose networks play recordings is not live. */
export function feedsToModerate(config: Pick<WorkerConfig, 'feeds' | 'sources'>): ModeratedFeed[] {
  return config.feeds.map(({ name, networks, moderation }) => ({ name, live: networks.some((network) => !config.sources[network]?.replay), ...(moderation === undefined ? {} : { moderation }) }));
}

/**
 * Reads a `moderation:` section, the top level's or a feed's (the same keys; a feed's add to the global ones):
 * `blockedWords`, `blockedAuthors` and `allowedAuthors` (a list per network), `profanity` (true or false) and
 * `perAuthor` (`{ posts: 3, per: 10m }`, or false). Problems go to `check` at their file:line:col.
 */
export function parseModeration(check: Checker, value: unknown, path: Path, fields: readonly string[] = CONFIG_FIELDS.moderation): ModerationConfig | undefined {
  if (value === undefined) return undefined;
  const node = check.object(value, path, fields);
  if (!node) return undefined;
  const label = path.map((part) => (typeof part === 'number' ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[');
  const strings = (entry: unknown, at: Path): string[] => check.list(entry, at).flatMap((item, index) => check.string(item, [...at, index], { required: true }) ?? []);
  const authors = (key: 'blockedAuthors' | 'allowedAuthors'): AuthorLists => {
    const lists = emptyAuthorLists();
    if (node[key] === undefined) return lists;
    const byNetwork = check.object(node[key], [...path, key], NETWORKS) ?? {};
    for (const network of NETWORKS) lists[network] = strings(byNetwork[network], [...path, key, network]).filter((name) => name.trim() !== '');
    return lists;
  };
  const rules: ModerationConfig = { blockedWords: strings(node.blockedWords, [...path, 'blockedWords']), blockedAuthors: authors('blockedAuthors'), allowedAuthors: authors('allowedAuthors') };
  rules.blockedWords.forEach((word, index) => {
    if (!/[\p{L}\p{N}]/u.test(word)) check.problem([...path, 'blockedWords', index], `${label}.blockedWords[${index}] has no letter or digit to match`);
  });
  if (node.profanity !== undefined) rules.profanity = check.boolean(node.profanity, [...path, 'profanity'], true);
  if (node.perAuthor === false) rules.perAuthor = false;
  else if (node.perAuthor !== undefined) {
    const limit = check.object(node.perAuthor, [...path, 'perAuthor'], ['posts', 'per']) ?? {};
    const posts = limit.posts;
    if (typeof posts !== 'number' || !Number.isInteger(posts) || posts < 1) check.problem([...path, 'perAuthor', 'posts'], `${label}.perAuthor.posts must be a whole number of posts, at least 1`);
    const perText = check.string(limit.per, [...path, 'perAuthor', 'per'], { required: true });
    const perMs = perText === undefined ? undefined : parseDuration(perText);
    if (perText !== undefined && (perMs === undefined || perMs <= 0)) check.problem([...path, 'perAuthor', 'per'], `${label}.perAuthor.per must be a duration such as 10m or 1h, not ${JSON.stringify(perText)}`);
    if (typeof posts === 'number' && perMs !== undefined) rules.perAuthor = { posts, perMs };
  }
  return rules;
}

/**
 * A feed's `moderation.mode`: `auto` or `manual` (approval mode); undefined when not written. Problems go to `check`
 * at their file:line:col (the section's other keys are parseModeration's).
 */
export function parseModerationMode(check: Checker, value: unknown, path: Path): ModerationMode | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const mode = check.string((value as Record<string, unknown>).mode, [...path, 'mode'], { required: false });
  if (mode === undefined) return undefined;
  if (!(MODERATION_MODES as readonly string[]).includes(mode)) {
    const label = path.map((part) => (typeof part === 'number' ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[');
    check.problem([...path, 'mode'], `${label}.mode must be auto or manual, not ${JSON.stringify(mode)}`);
    return undefined;
  }
  return mode as ModerationMode;
}
