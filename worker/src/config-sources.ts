import { resolve } from 'node:path';
import { NETWORKS, type Network } from '@livewall/contract';
import { defaultComponents } from './components/index.js';
import { networkPath, type Checker, type FeedConfig, type Path } from './config.js';
import type { Component, OptionSpec } from './engine/types.js';
import { unreadable, unwritable } from './config-files.js';
import { UriError } from './engine/uri.js';
import { parsePace } from './sources/replay/replay.js';
import type { MediaRewrite } from './sources/replay/restamp.js';

/**
 * The `sources:` section: for each network, where its feeds read from — the live service (with the keys that point
 * it elsewhere: a test server, a proxy, a recording tool) or a recording played back (`replay:`). A network no feed
 * uses is not read at all.
 *
 *   sources:
 *     x:        { baseUrl: https://api.x.com, tokenEnv: X_BEARER_TOKEN }
 *     bluesky:  { endpoints: [wss://jetstream2.us-east.bsky.network], cursorFile: state/bluesky.cursor }
 *     mastodon: { instances: [mastodon.social], interval: 30s }
 *   # or, for any network:
 *     x:        { replay: { file: ../samples/x-cats.ndjson, pace: 2/s, loop: true } }
 */
export interface SourceConfig {
  network: Network;
  /** Set: the network's feeds read this recording instead of the live service. */
  replay?: ReplaySourceConfig;
  /** The live component's URI options, as strings (lists joined with commas). */
  options: Record<string, string>;
  /** Mastodon: the instances whose hashtag timelines are followed (`host`, or `http://host:port` for a test server). */
  instances: string[];
  /**
   * Bluesky: the `appview:` options (as strings) that give authors their handles and names; undefined: authors stay
   * DIDs. On by default for the live source; a replay resolves only when its section says `profiles`.
   */
  profiles?: Record<string, string>;
}

export interface ReplaySourceConfig {
  file: string;
  pace?: number;
  loop: boolean;
  startOffset: number;
  /** Replayed posts look new on every pass: fresh timestamps, and ids of their own after the first pass. */
  restamp: boolean;
  /** Recorded media URLs pointed at local copies. */
  rewriteMedia?: MediaRewrite;
}

export type SourcesConfig = Partial<Record<Network, SourceConfig>>;

/** The component each network's live source is, and the section keys that are not its URI options. */
export const LIVE: Readonly<Record<Network, { scheme: string; sectionOnly: readonly string[]; derived: readonly string[] }>> = {
  x: { scheme: 'x', sectionOnly: [], derived: [] },
  // `profiles` (authors' handles and names) holds the options of the appview: step, and applies to a replay too.
  bluesky: { scheme: 'jetstream', sectionOnly: ['profiles'], derived: [] },
  // The tag comes from each feed's keywords, the instance and scheme from `instances`.
  mastodon: { scheme: 'mastodon', sectionOnly: ['instances'], derived: ['tag', 'scheme'] },
};

/** The section key of Bluesky's author lookups, and the component it configures. */
export const PROFILES = { key: 'profiles', scheme: 'appview' } as const;

/** The `appview:` URI of a Bluesky source's `profiles` settings (its options, as strings). */
export function profilesUri(profiles: Readonly<Record<string, string>>): string {
  const query = new URLSearchParams(profiles).toString();
  return `${PROFILES.scheme}:${query ? `?${query}` : ''}`;
}

/** Options whose values name an environment variable that must be set for the live source to start. */
const TOKEN_OPTIONS = ['tokenEnv'];

/** The settings of a `replay:` section. */
export const REPLAY_FIELDS = ['file', 'pace', 'loop', 'startOffset', 'restamp', 'rewriteMedia'] as const;

/** The live component's options a network's section takes, by name: all of them but those made from the feeds. */
export function liveOptions(network: Network, component: Component): [string, OptionSpec][] {
  return Object.entries(component.options).filter(([key]) => !LIVE[network].derived.includes(key));
}

export function parseSources(check: Checker, node: unknown, base: string, feeds: readonly FeedConfig[], env: NodeJS.ProcessEnv): SourcesConfig {
  const sections = check.object(node ?? {}, ['sources'], [...NETWORKS]) ?? {};
  const components = defaultComponents();
  const sources: SourcesConfig = {};
  for (const network of NETWORKS) {
    const used = feeds.filter((feed) => feed.networks.includes(network));
    if (sections[network] === undefined && used.length === 0) continue;
    const source = parseSource(check, network, sections[network] ?? {}, base, components.get(LIVE[network].scheme) as Component);
    if (!source) continue;
    sources[network] = source;
    if (source.replay || used.length === 0) continue;
    for (const feed of used) {
      // An X rule stands in for the keywords on X alone: the feed's other networks match by keyword.
      if (feed.keywords.length === 0 && (network !== 'x' || feed.rule === undefined)) check.problem(['feeds', feed.index], `feed ${feed.name} reads the live ${network} source, so it needs keywords${network === 'x' ? ' (or a rule)' : ''}`);
    }
    for (const option of TOKEN_OPTIONS) {
      // X needs its token; Mastodon only when one is named (without, it polls).
      const name = source.options[option] ?? (network === 'x' ? 'X_BEARER_TOKEN' : undefined);
      if (name !== undefined && !env[name] && check.checkEnv) {
        const at: Path = sections[network] !== undefined ? ['sources', network, option] : networkPath(used[0] as FeedConfig, network);
        check.problem(at, `environment variable ${name} is not set; the live ${network} source needs it (feeds ${used.map((feed) => feed.name).join(', ')}), or give sources.${network} a replay`);
      }
    }
    if (network === 'mastodon') checkMastodon(check, source, used);
  }
  for (const feed of feeds) {
    for (const network of feed.networks) if (!sources[network]) check.problem(networkPath(feed, network), `feed ${feed.name} is on ${network}, but sources.${network} is invalid`);
  }
  return sources;
}

function parseSource(check: Checker, network: Network, node: unknown, base: string, component: Component): SourceConfig | undefined {
  const path: Path = ['sources', network];
  const live = LIVE[network];
  const liveKeys = liveOptions(network, component).map(([key]) => key);
  const section = check.object(node, path, ['replay', ...live.sectionOnly, ...liveKeys]);
  if (!section) return undefined;
  const source: SourceConfig = { network, options: {}, instances: [] };
  if (network === 'bluesky') {
    const profiles = parseProfiles(check, section[PROFILES.key], [...path, PROFILES.key], section.replay === undefined);
    if (profiles) source.profiles = profiles;
  }
  if (section.replay !== undefined) {
    const others = Object.keys(section).filter((key) => key !== 'replay' && key !== PROFILES.key);
    if (others.length > 0) check.problem([...path, others[0] as string], `sources.${network} has a replay, so the live setting ${others[0]} would not be used; remove one of them`, true);
    const replay = parseReplay(check, section.replay, [...path, 'replay'], base);
    if (replay) source.replay = replay;
    return source;
  }
  source.options = optionStrings(check, section, path, component, liveKeys);
  // Where Bluesky's cursor is kept must be writable before the source runs.
  const cursorProblem = source.options.cursorFile === undefined || !check.checkFiles ? undefined : unwritable(resolve(base, source.options.cursorFile));
  if (cursorProblem) check.problem([...path, 'cursorFile'], `sources.${network}.cursorFile: ${cursorProblem}`);
  if (network === 'mastodon') {
    source.instances = check.list(section.instances, [...path, 'instances']).flatMap((entry, index) => check.string(entry, [...path, 'instances', index], { required: true }) ?? []);
  }
  // The component checks the values (durations, URLs) as it will when the route is built.
  const probe = network === 'mastodon' ? { ...source.options, tag: 'probe' } : source.options;
  try {
    defaultComponents().check(`${live.scheme}:${network === 'x' ? 'stream' : network === 'mastodon' ? 'probe.example' : ''}?${new URLSearchParams(probe).toString()}`, 'consumer');
  } catch (error) {
    // At the option the component refused, when the section wrote it (a derived one has no place of its own).
    const option = error instanceof UriError ? error.option : undefined;
    check.problem(option !== undefined && section[option] !== undefined ? [...path, option] : path, `sources.${network}: ${(error as Error).message}`);
  }
  return source;
}

/**
 * The URI options (as strings) a section gives `component`: lists joined with commas, booleans and numbers as
 * written, durations with their unit.
 */
function optionStrings(check: Checker, section: Record<string, unknown>, path: Path, component: Component, keys: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const key of keys) {
    if (section[key] === undefined) continue;
    const value = Array.isArray(section[key])
      ? check.list(section[key], [...path, key]).map((entry, index) => check.string(entry, [...path, key, index], { required: true }) ?? '').join(',')
      : typeof section[key] === 'boolean'
        ? String(section[key])
        : check.string(section[key], [...path, key], { required: true });
    // Elsewhere in the config a bare number is seconds, in a URI milliseconds: here a duration needs its unit.
    if (value !== undefined && component.options[key]?.type === 'duration' && /^\s*\d+(?:\.\d+)?\s*$/.test(value)) {
      check.problem([...path, key], `${path.join('.')}.${key} must be a duration with a unit, such as 500ms or 10s, not ${value}`);
      continue;
    }
    if (value !== undefined) options[key] = value;
  }
  return options;
}

/**
 * `sources.bluesky.profiles`: false (authors stay DIDs), true (the defaults) or the `appview:` options. Unset: on for
 * the live source, off for a replay (a recording plays offline).
 */
function parseProfiles(check: Checker, node: unknown, path: Path, live: boolean): Record<string, string> | undefined {
  if (node === undefined) return live ? {} : undefined;
  if (typeof node === 'boolean') return node ? {} : undefined;
  const component = defaultComponents().get(PROFILES.scheme) as Component;
  const section = check.object(node, path, Object.keys(component.options));
  if (!section) return undefined;
  const options = optionStrings(check, section, path, component, Object.keys(component.options));
  try {
    defaultComponents().check(profilesUri(options), 'producer');
  } catch (error) {
    const option = error instanceof UriError ? error.option : undefined;
    check.problem(option !== undefined && section[option] !== undefined ? [...path, option] : path, `${path.join('.')}: ${(error as Error).message}`);
  }
  return options;
}

function parseReplay(check: Checker, node: unknown, path: Path, base: string): ReplaySourceConfig | undefined {
  const label = path.join('.');
  const section = check.object(node, path, REPLAY_FIELDS);
  if (!section) return undefined;
  const file = check.string(section.file, [...path, 'file'], { required: true });
  const paceText = check.string(section.pace, [...path, 'pace'], { required: false });
  const pace = paceText === undefined ? undefined : parsePace(paceText) ?? check.problem([...path, 'pace'], `${label}.pace must be a rate such as 5/s or 120/min, not ${JSON.stringify(paceText)}`);
  const startOffset = section.startOffset ?? 0;
  if (typeof startOffset !== 'number' || !Number.isInteger(startOffset) || startOffset < 0) {
    check.problem([...path, 'startOffset'], `${label}.startOffset must be a whole number of lines`);
  }
  const problem = file === undefined || !check.checkFiles ? undefined : unreadable(resolve(base, file));
  if (problem) check.problem([...path, 'file'], `${label}.file: ${problem}`);
  const replay: ReplaySourceConfig = {
    file: file === undefined ? '' : resolve(base, file),
    loop: check.boolean(section.loop, [...path, 'loop'], false),
    startOffset: typeof startOffset === 'number' ? startOffset : 0,
    restamp: check.boolean(section.restamp, [...path, 'restamp'], false),
  };
  if (pace !== undefined) replay.pace = pace;
  if (section.rewriteMedia !== undefined) {
    const rule = check.object(section.rewriteMedia, [...path, 'rewriteMedia'], ['from', 'to']) ?? {};
    const from = check.string(rule.from, [...path, 'rewriteMedia', 'from'], { required: true });
    const to = check.string(rule.to, [...path, 'rewriteMedia', 'to'], { required: true });
    if (from !== undefined && to !== undefined) replay.rewriteMedia = { from, to };
  }
  return replay;
}

/** A hashtag as Mastodon allows one (the `mastodon:` component checks the same). */
const HASHTAG = /^[\p{L}\p{N}_\u00b7\u200c]{1,100}$/u;

/** An entry of `sources.mastodon.instances`: a host (mastodon.social), or http://host:port for a test server. */
export const MASTODON_INSTANCE = /^(?:https?:\/\/)?[A-Za-z0-9][A-Za-z0-9.-]*(?::\d{1,5})?\/?$/;

/** Mastodon follows hashtags: each keyword of a Mastodon feed must be one, and some instance must be listed. */
function checkMastodon(check: Checker, source: SourceConfig, feeds: readonly FeedConfig[]): void {
  if (source.instances.length === 0) check.problem(['sources', 'mastodon'], 'sources.mastodon.instances must list at least one instance (e.g. mastodon.social) for the Mastodon feeds');
  source.instances.forEach((instance, index) => {
    if (!MASTODON_INSTANCE.test(instance)) {
      check.problem(['sources', 'mastodon', 'instances', index], `${JSON.stringify(instance)} is not an instance: write its host (mastodon.social) or, for a test server, http://host:port`);
    }
  });
  for (const feed of feeds) {
    // A feed on several networks says which one a keyword fails: the same words may suit X and Bluesky.
    const whose = feed.networks.length > 1 ? `feed ${feed.name} is on mastodon, and ` : '';
    feed.keywords.forEach((keyword, k) => {
      if (!HASHTAG.test(mastodonTag(keyword))) check.problem(['feeds', feed.index, 'keywords', k], `${whose}Mastodon follows hashtags: ${JSON.stringify(keyword)} is not one (letters, digits and _ only)`);
    });
  }
}

/** A Mastodon feed's keyword as the hashtag it follows: `#Cats` → `cats`. */
export function mastodonTag(keyword: string): string {
  return keyword.trim().replace(/^#/, '').toLowerCase();
}

/** `mastodon.social` → `{ host: mastodon.social, scheme: https }`; `http://127.0.0.1:4000` → host with port, http. */
export function mastodonInstance(entry: string): { host: string; scheme: 'http' | 'https' } {
  const match = /^(?:(https?):\/\/)?([^/]+)\/?$/.exec(entry);
  return { host: match?.[2] ?? entry, scheme: match?.[1] === 'http' ? 'http' : 'https' };
}
