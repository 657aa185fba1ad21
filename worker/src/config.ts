import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BROKER_PROFILE_NAMES, brokerProfile, DEFAULT_BROKER_PROFILE, DEFAULT_IMAGE_HOSTS, FEED_NAME, ImageAllowList, isBrokerProfileName, NETWORKS, type BrokerProfileName, type Network } from '@livewall/contract';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { MAX_WINDOW } from './amqp/window.js';
import { fileOfUri, unwritable } from './config-files.js';
import { parseSources, type SourcesConfig } from './config-sources.js';
import { parseImageCheck, type ImageCheckConfig } from './image-check/config.js';
import { parseModeration, parseModerationMode } from './moderation/config.js';
import type { ModerationConfig } from './moderation/rules.js';
import { SENSITIVE_MEDIA, type SensitiveMedia } from './post.js';

export type { ReplaySourceConfig, SourceConfig, SourcesConfig } from './config-sources.js';

/**
 * The worker's configuration file (YAML). Every problem is reported as `file:line:column: message`, all at once.
 * Strings may use `${VAR}` or `${VAR:-default}` to take a value from the environment; a missing variable
 * without a default is an error.
 */
export interface WorkerConfig {
  file: string;
  /** `profile`: which kind of broker this is (contract/src/profiles.ts), default artemis. */
  /**
   * `stomp`: the broker's STOMP port, where the worker reads the moderation log (with the same login); without it the
   * worker knows only the takedowns its local state kept.
   */
  broker: { url: string; failover?: string[]; username?: string; password?: string; idleTimeoutMs?: number; window?: number; profile: BrokerProfileName; stomp?: { url: string; host: string; port: number } };
  /** The durable outbox between the routes and the broker; without one, routes wait for the broker's acceptance. */
  outbox?: { file: string; maxItems: number; maxAgeMs: number };
  imageHosts: ImageAllowList;
  /** Image host entries as written, for logs. */
  imageHostEntries: string[];
  videoPreviews: boolean;
  shutdownTimeoutMs: number;
  /** Where each network's feeds read from: the live service or a recording (see config-sources.ts). */
  sources: SourcesConfig;
  feeds: FeedConfig[];
  /** Where a feed's items go after their last failed attempt (a feed may name its own). */
  deadLetter?: string;
  /** The ops HTTP endpoint (/healthz, /readyz, /status, /metrics); off when no port is set. */
  ops?: { port: number; host: string };
  /** A label for where this worker runs, shown in status messages (e.g. us-east). */
  region?: string;
  /** Feed ownership leases on the broker (worker/src/ownership/): how long one lasts unrenewed, how often it is renewed. */
  ownership: { leaseMs: number; renewMs: number };
  /** The status message the worker publishes for the page. */
  status: { topic: string; intervalMs: number; enabled: boolean };
  /** The automatic moderation rules of every feed (`moderation:`); each feed's own add to them (moderation/rules.ts). */
  moderation?: ModerationConfig;
}

export interface FeedConfig {
  name: string;
  /**
   * The networks the feed reads, in the order written: `network: x` (one; x when neither is written) or
   * `networks: [x, bluesky, mastodon]`. Their items go to the one topic in the order they arrive.
   */
  networks: Network[];
  /** Which key named them (`network` or `networks`): where a problem of one of them is reported. */
  networksKey: 'network' | 'networks';
  /**
   * What the live sources match for this feed, one list for all its networks: X makes its stream rule of them,
   * Bluesky matches words and hashtags in the text, Mastodon follows them as hashtags.
   */
  keywords: string[];
  /** The feed's X network only: the operator's own stream rule, used instead of the one made from the keywords. */
  rule?: string;
  deadLetter?: string;
  /** The feed's own moderation rules, added to the global ones. */
  moderation?: ModerationConfig;
  /**
   * `moderation.mode`: `auto` (the default) publishes what passes the rules to the feed's topic; `manual` sends it to
   * the feed's pending queue instead, where a moderator approves or rejects it (allowed authors still go straight to
   * the topic).
   */
  moderationMode?: ModerationMode;
  /**
   * What the feed does with posts their network flags as sensitive (adult or graphic media): `drop` them (counted as
   * `sensitive:<network>`) or `show` them. Unset: drop, unless the older `sources.mastodon.sensitive: true` asks
   * a Mastodon feed to show them (see sensitiveOf in feeds.ts).
   */
  sensitive?: SensitiveMedia;
  /** `imageCheck:`: each picture classified before the item is published (image-check/); off when not set. */
  imageCheck?: ImageCheckConfig;
  /** Where the feed is in the file's `feeds:` list, for problems found later. */
  index: number;
}

export const MODERATION_MODES = ['auto', 'manual'] as const;
export type ModerationMode = (typeof MODERATION_MODES)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type Path = (string | number)[];

/**
 * The fields of each section of the config file that lint and run accept (the sources and routes sections are
 * config-sources.ts's and dsl/'s). `source` is known only to say that it is now `sources`. worker/config/schema.json
 * is generated from these lists (schema/config-schema.ts), so an editor offers what lint takes.
 */
export const CONFIG_FIELDS = {
  top: ['broker', 'outbox', 'imageHosts', 'videoPreviews', 'shutdownTimeout', 'source', 'sources', 'feeds', 'deadLetter', 'ops', 'region', 'ownership', 'status', 'moderation', 'routes'],
  broker: ['url', 'username', 'password', 'idleTimeout', 'window', 'profile', 'stomp'],
  feed: ['name', 'network', 'networks', 'keywords', 'rule', 'deadLetter', 'sensitive', 'moderation', 'imageCheck'],
  outbox: ['file', 'maxItems', 'maxAge'],
  ownership: ['lease', 'renew'],
  ops: ['port', 'host'],
  status: ['topic', 'interval', 'enabled'],
  moderation: ['blockedWords', 'blockedAuthors', 'allowedAuthors', 'profanity', 'perAuthor'],
  /** A feed's `moderation:` takes the same keys, and its mode. */
  feedModeration: ['blockedWords', 'blockedAuthors', 'allowedAuthors', 'profanity', 'perAuthor', 'mode'],
} as const;

export type { Path };

/** A dead-letter `file:` target must have a place to go (when the files are checked). */
function checkWritableUri(check: Checker, uri: string | undefined, path: Path, base: string): void {
  const file = uri === undefined || !check.checkFiles ? undefined : fileOfUri(uri, base);
  const problem = file === undefined ? undefined : unwritable(file);
  if (problem) check.problem(path, `${path.join('.')}: ${problem}`);
}

/** Reports problems at `file:line:column`, reading positions from the parsed YAML document. */
export class Checker {
  readonly problems: string[] = [];
  /** Whether the files the config reads and writes are looked at too (lint and run; not a config parsed alone). */
  checkFiles = false;
  /**
   * Whether a `${VAR}` the environment lacks (and that has no default) is a problem. Off (lint --skip-env-check), its
   * setting's value is unknown: neither reported nor checked further, as if it were not written.
   */
  checkEnv = true;

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
    /** Paths whose missing environment variables are not errors (the broker section in a dry run). */
    private readonly lenient: (path: Path) => boolean = () => false,
  ) {}

  /** Where `path` is in the file: the node itself, or the nearest parent that exists. */
  private where(path: Path): string {
    for (let length = path.length; length >= 0; length--) {
      const node = this.doc.getIn(path.slice(0, length), true) as Node | undefined;
      const offset = node?.range?.[0];
      if (offset !== undefined) {
        const { line, col } = this.lines.linePos(offset);
        return `${this.file}:${line}:${col}`;
      }
    }
    return `${this.file}:1:1`;
  }

  /** Where the key `path`'s last element is written, for "unknown field" problems. */
  private whereKey(path: Path): string {
    const parent = this.doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === path[path.length - 1]);
      const offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
      if (offset !== undefined) {
        const { line, col } = this.lines.linePos(offset);
        return `${this.file}:${line}:${col}`;
      }
    }
    return this.where(path);
  }

  problem(path: Path, message: string, atKey = false): undefined {
    this.problems.push(`${atKey ? this.whereKey(path) : this.where(path)}: ${message}`);
    return undefined;
  }

  private label(path: Path): string {
    return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
  }

  object(value: unknown, path: Path, known: readonly string[]): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.problem(path, `${this.label(path) || 'the file'} must be a mapping`);
    }
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.problem([...path, key], `unknown field "${key}" in ${this.label(path) || 'the top level'}; expected one of ${known.join(', ')}`, true);
    }
    return value as Record<string, unknown>;
  }

  string(value: unknown, path: Path, { required }: { required: boolean }): string | undefined {
    if (value === undefined || value === null) {
      return required ? this.problem(path, `${this.label(path)} is required`) : undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number') return this.problem(path, `${this.label(path)} must be a string`);
    return this.expand(String(value), path);
  }

  boolean(value: unknown, path: Path, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(path, `${this.label(path)} must be true or false`);
      return fallback;
    }
    return value;
  }

  list(value: unknown, path: Path): unknown[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.problem(path, `${this.label(path)} must be a list`);
      return [];
    }
    return value;
  }

  /** `${VAR}` and `${VAR:-default}` from the environment. */
  private expand(text: string, path: Path): string | undefined {
    let missing = false;
    const expanded = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const value = this.env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      if (this.lenient(path)) return '';
      missing = true;
      if (!this.checkEnv) return '';
      this.problem(path, `environment variable ${name} is not set (used by ${this.label(path)})`);
      return '';
    });
    return missing ? undefined : expanded;
  }
}

/**
 * A feed's networks: `network: x` (one; x when neither key is written) or `networks: [x, bluesky]` (one or more,
 * each once). Empty when what is written is wrong (reported).
 */
function parseNetworks(check: Checker, feed: Record<string, unknown>, index: number): Pick<FeedConfig, 'networks' | 'networksKey'> {
  const known = (value: string, path: Path, label: string): value is Network => {
    if ((NETWORKS as readonly string[]).includes(value)) return true;
    check.problem(path, `feeds[${index}].${label} must be x, bluesky or mastodon, not ${JSON.stringify(value)}`);
    return false;
  };
  if (feed.networks === undefined) {
    const network = check.string(feed.network, ['feeds', index, 'network'], { required: false }) ?? 'x';
    return { networks: known(network, ['feeds', index, 'network'], 'network') ? [network] : [], networksKey: 'network' };
  }
  if (feed.network !== undefined) {
    check.problem(['feeds', index, 'networks'], `feeds[${index}] names both network and networks: keep networks (a list of one or more)`, true);
    return { networks: [], networksKey: 'networks' };
  }
  const entries = check.list(feed.networks, ['feeds', index, 'networks']);
  if (Array.isArray(feed.networks) && entries.length === 0) check.problem(['feeds', index, 'networks'], `feeds[${index}].networks must name at least one of x, bluesky, mastodon`);
  const networks: Network[] = [];
  let valid = entries.length > 0;
  entries.forEach((entry, k) => {
    const path: Path = ['feeds', index, 'networks', k];
    const network = check.string(entry, path, { required: true });
    if (network === undefined || !known(network, path, `networks[${k}]`)) valid = false;
    else if (networks.includes(network)) {
      check.problem(path, `feeds[${index}].networks names ${network} twice`);
      valid = false;
    } else networks.push(network);
  });
  return { networks: valid ? networks : [], networksKey: 'networks' };
}

/** Where a feed's network is written: its `network:`, or its entry in `networks:`. */
export function networkPath(feed: Pick<FeedConfig, 'index' | 'networks' | 'networksKey'>, network: Network): Path {
  return feed.networksKey === 'network' ? ['feeds', feed.index, 'network'] : ['feeds', feed.index, 'networks', feed.networks.indexOf(network)];
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `10s`, `2m`, `12h`, `7d`; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] as number);
}

/** Reads and checks a config file; throws ConfigError listing every problem. */
export interface LoadOptions {
  /** False for a dry run, which never connects: the broker section's environment variables may be missing. */
  requireBroker?: boolean;
  /**
   * Check that the files the config reads exist and the ones it writes have a place to go. On for a config file
   * loaded to run or lint; off for config text parsed alone (its files are relative to a folder that may not exist).
   */
  checkFiles?: boolean;
  /** False: a `${VAR}` the environment lacks is no problem, its setting unknown and unchecked (see Checker.checkEnv). */
  checkEnv?: boolean;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): WorkerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read: ${(error as Error).message}`]);
  }
  return parseConfig(text, file, env, { checkFiles: true, ...options });
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): WorkerConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      return `${file}:${line}:${col}: ${error.message.split('\n')[0]}`;
    }));
  }
  const check = new Checker(file, doc, lines, env, (path) => options.requireBroker === false && path[0] === 'broker');
  check.checkFiles = options.checkFiles ?? false;
  check.checkEnv = options.checkEnv ?? true;
  const base = dirname(resolve(file));
  const rawRoot = doc.toJS() as unknown;
  const root = check.object(rawRoot, [], CONFIG_FIELDS.top) ?? {};
  if (root.source !== undefined) check.problem(['source'], 'source: is now sources:, with a section per network (source.replay is sources.x.replay)', true);

  const brokerNode = check.object(root.broker ?? {}, ['broker'], CONFIG_FIELDS.broker) ?? {};
  // One URL, or a list: the first, then the ones to fail over to in turn.
  const urls = Array.isArray(brokerNode.url)
    ? check.list(brokerNode.url, ['broker', 'url']).map((entry, index) => check.string(entry, ['broker', 'url', index], { required: true }))
    : [check.string(brokerNode.url, ['broker', 'url'], { required: true })];
  if (Array.isArray(brokerNode.url) && urls.length === 0) check.problem(['broker', 'url'], 'broker.url must name at least one broker');
  urls.forEach((url, index) => {
    const at = Array.isArray(brokerNode.url) ? ['broker', 'url', index] : ['broker', 'url'];
    if (url !== undefined && !/^amqps?:\/\/[^/]+/.test(url)) check.problem(at, `broker.url must look like amqp://host:5672, not ${JSON.stringify(url)}`);
  });
  const [url, ...failover] = urls;
  const profileName = check.string(brokerNode.profile, ['broker', 'profile'], { required: false }) ?? DEFAULT_BROKER_PROFILE;
  if (!isBrokerProfileName(profileName)) check.problem(['broker', 'profile'], `broker.profile must be one of ${BROKER_PROFILE_NAMES.join(', ')}, not ${JSON.stringify(profileName)}`);
  const profile = isBrokerProfileName(profileName) ? profileName : DEFAULT_BROKER_PROFILE;
  const broker: WorkerConfig['broker'] = { url: url ?? '', profile };
  if (failover.length > 0) broker.failover = failover.filter((entry): entry is string => entry !== undefined);
  const idleText = check.string(brokerNode.idleTimeout, ['broker', 'idleTimeout'], { required: false });
  if (idleText !== undefined) {
    const idle = parseDuration(idleText);
    if (idle === undefined || idle < 1000) check.problem(['broker', 'idleTimeout'], `broker.idleTimeout must be a duration of at least 1s, such as 10s, not ${JSON.stringify(idleText)}`);
    else broker.idleTimeoutMs = idle;
  }
  if (brokerNode.window !== undefined) {
    const window = brokerNode.window;
    if (typeof window !== 'number' || !Number.isInteger(window) || window < 1 || window > MAX_WINDOW) check.problem(['broker', 'window'], `broker.window must be a whole number of messages from 1 to ${MAX_WINDOW}`);
    else broker.window = window;
  }
  const username = check.string(brokerNode.username, ['broker', 'username'], { required: false });
  const password = check.string(brokerNode.password, ['broker', 'password'], { required: false });
  const stomp = check.string(brokerNode.stomp, ['broker', 'stomp'], { required: false });
  if (stomp !== undefined) {
    const match = /^stomp:\/\/(\[[^\]]+\]|[^/:[\]]+)(?::(\d{1,5}))?\/?$/.exec(stomp.trim());
    const port = match ? Number(match[2] ?? 61613) : NaN;
    if (!match || !(port >= 1 && port <= 65535)) check.problem(['broker', 'stomp'], `broker.stomp must look like stomp://host:61613 (the broker's STOMP port, where the worker reads the moderation log), not ${JSON.stringify(stomp)}`);
    else broker.stomp = { url: stomp.trim(), host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
  }
  if (username !== undefined) broker.username = username;
  if (password !== undefined) broker.password = password;

  const imageHostEntries = [...DEFAULT_IMAGE_HOSTS];
  check.list(root.imageHosts, ['imageHosts']).forEach((entry, index) => {
    const host = check.string(entry, ['imageHosts', index], { required: true });
    if (host === undefined) return;
    try {
      new ImageAllowList([host]);
      imageHostEntries.push(host);
    } catch (error) {
      check.problem(['imageHosts', index], (error as Error).message);
    }
  });

  const shutdownText = check.string(root.shutdownTimeout, ['shutdownTimeout'], { required: false }) ?? '10s';
  const shutdownTimeoutMs = parseDuration(shutdownText) ?? check.problem(['shutdownTimeout'], `shutdownTimeout must be a duration such as 10s or 500ms`) ?? 10_000;

  const feeds: FeedConfig[] = [];
  const feedList = check.list(root.feeds, ['feeds']);
  if (feedList.length === 0 && root.routes === undefined) check.problem(['feeds'], 'feeds must list at least one feed');
  feedList.forEach((entry, index) => {
    const feed = check.object(entry, ['feeds', index], CONFIG_FIELDS.feed);
    const name = feed && check.string(feed.name, ['feeds', index, 'name'], { required: true });
    if (!feed || name === undefined) return;
    const { networks, networksKey } = parseNetworks(check, feed, index);
    const keywords = check.list(feed.keywords, ['feeds', index, 'keywords']).map((keyword, k) => check.string(keyword, ['feeds', index, 'keywords', k], { required: true }) ?? '');
    const deadLetter = check.string(feed.deadLetter, ['feeds', index, 'deadLetter'], { required: false });
    checkWritableUri(check, deadLetter, ['feeds', index, 'deadLetter'], base);
    const rule = check.string(feed.rule, ['feeds', index, 'rule'], { required: false });
    const moderation = parseModeration(check, feed.moderation, ['feeds', index, 'moderation'], CONFIG_FIELDS.feedModeration);
    const moderationMode = parseModerationMode(check, feed.moderation, ['feeds', index, 'moderation']);
    if (rule !== undefined && networks.length > 0 && !networks.includes('x')) check.problem(['feeds', index, 'rule'], `feeds[${index}].rule is an X stream rule; feed ${name} is on ${networks.join(', ')}`);
    // `sensitive: true` is what a reader of the old sources.mastodon option would write: say which words it takes.
    const sensitive = typeof feed.sensitive === 'boolean' ? String(feed.sensitive) : check.string(feed.sensitive, ['feeds', index, 'sensitive'], { required: false });
    if (sensitive !== undefined && !(SENSITIVE_MEDIA as readonly string[]).includes(sensitive)) {
      check.problem(['feeds', index, 'sensitive'], `feeds[${index}].sensitive must be drop or show, not ${JSON.stringify(sensitive)}`);
    }

    const imageCheck = parseImageCheck(check, feed.imageCheck, ['feeds', index, 'imageCheck']);

    if (!FEED_NAME.test(name)) check.problem(['feeds', index, 'name'], `feed name ${JSON.stringify(name)} must match [a-z0-9-]{1,32}`);
    else if (feeds.some((other) => other.name === name)) check.problem(['feeds', index, 'name'], `feed ${JSON.stringify(name)} is defined twice`);
    else if (networks.length > 0) feeds.push({ name, networks, networksKey, keywords, ...(rule === undefined ? {} : { rule }), ...(deadLetter === undefined ? {} : { deadLetter }), ...(sensitive === 'drop' || sensitive === 'show' ? { sensitive } : {}), ...(moderation === undefined ? {} : { moderation }), ...(moderationMode === undefined ? {} : { moderationMode }), ...(imageCheck === undefined ? {} : { imageCheck }), index });
  });
  const sources = parseSources(check, root.sources, base, feeds, env);
  const moderation = parseModeration(check, root.moderation, ['moderation']);

  let outbox: WorkerConfig['outbox'];
  if (root.outbox !== undefined) {
    const node = check.object(root.outbox, ['outbox'], CONFIG_FIELDS.outbox) ?? {};
    const file = check.string(node.file, ['outbox', 'file'], { required: true });
    const maxItems = node.maxItems ?? 100_000;
    if (typeof maxItems !== 'number' || !Number.isInteger(maxItems) || maxItems < 1) check.problem(['outbox', 'maxItems'], 'outbox.maxItems must be a whole number of messages, at least 1');
    const ageText = check.string(node.maxAge, ['outbox', 'maxAge'], { required: false }) ?? '7d';
    const maxAgeMs = parseDuration(ageText);
    if (maxAgeMs === undefined || maxAgeMs <= 0) check.problem(['outbox', 'maxAge'], `outbox.maxAge must be a duration such as 7d, 12h or 30m, not ${JSON.stringify(ageText)}`);
    const unusable = file === undefined || file === ':memory:' || !check.checkFiles ? undefined : unwritable(resolve(base, file));
    if (unusable) check.problem(['outbox', 'file'], `outbox.file: ${unusable}`);
    if (file !== undefined) outbox = { file, maxItems: typeof maxItems === 'number' ? maxItems : 100_000, maxAgeMs: maxAgeMs ?? 7 * 86_400_000 };
  }

  const deadLetter = check.string(root.deadLetter, ['deadLetter'], { required: false });
  checkWritableUri(check, deadLetter, ['deadLetter'], base);
  const region = check.string(root.region, ['region'], { required: false });

  const ownershipNode = check.object(root.ownership ?? {}, ['ownership'], CONFIG_FIELDS.ownership) ?? {};
  const renewText = check.string(ownershipNode.renew, ['ownership', 'renew'], { required: false }) ?? '1s';
  const renewMs = parseDuration(renewText);
  if (renewMs === undefined || renewMs < 100) check.problem(['ownership', 'renew'], `ownership.renew must be a duration of at least 100ms, such as 1s, not ${JSON.stringify(renewText)}`);
  const leaseText = check.string(ownershipNode.lease, ['ownership', 'lease'], { required: false }) ?? '5s';
  const leaseMs = parseDuration(leaseText);
  if (leaseMs === undefined) check.problem(['ownership', 'lease'], `ownership.lease must be a duration such as 5s, not ${JSON.stringify(leaseText)}`);
  else if (renewMs !== undefined && leaseMs < 3 * renewMs) check.problem(['ownership', 'lease'], `ownership.lease (${leaseText}) must be at least three times ownership.renew (${renewText}), so that a missed renewal or two does not end it`);

  let ops: WorkerConfig['ops'];
  if (root.ops !== undefined) {
    const opsNode = check.object(root.ops, ['ops'], CONFIG_FIELDS.ops) ?? {};
    const portText = check.string(opsNode.port, ['ops', 'port'], { required: true });
    const port = Number(portText);
    // Not written, or not known (a variable lint was told not to check): reported already, or not to be.
    if (portText !== undefined && (!/^\s*\d+\s*$/.test(portText) || port > 65535)) check.problem(['ops', 'port'], 'ops.port must be a port number (0 picks a free one)');
    ops = { port, host: check.string(opsNode.host, ['ops', 'host'], { required: false }) ?? '127.0.0.1' };
  }

  const statusNode = check.object(root.status ?? {}, ['status'], CONFIG_FIELDS.status) ?? {};
  const statusTopic = check.string(statusNode.topic, ['status', 'topic'], { required: false }) ?? brokerProfile(profile).statusTopic;
  if (!statusTopic.startsWith('/topic/status.')) check.problem(['status', 'topic'], `status.topic must be under /topic/status. (the broker lets the publisher write there), not ${JSON.stringify(statusTopic)}`);
  const intervalText = check.string(statusNode.interval, ['status', 'interval'], { required: false }) ?? '5s';
  const statusIntervalMs = parseDuration(intervalText) ?? check.problem(['status', 'interval'], 'status.interval must be a duration such as 5s') ?? 5000;
  const statusEnabled = check.boolean(statusNode.enabled, ['status', 'enabled'], true);

  // Checked before the problems are counted, so that a wrong value is reported rather than replaced by the default.
  const videoPreviews = check.boolean(root.videoPreviews, ['videoPreviews'], true);

  if (check.problems.length > 0) throw new ConfigError(check.problems);
  return {
    file,
    broker,
    ...(outbox === undefined ? {} : { outbox }),
    imageHosts: new ImageAllowList(imageHostEntries),
    imageHostEntries,
    videoPreviews,
    shutdownTimeoutMs,
    sources,
    feeds,
    ...(deadLetter === undefined ? {} : { deadLetter }),
    ...(ops === undefined ? {} : { ops }),
    ...(region === undefined ? {} : { region }),
    ownership: { leaseMs: leaseMs ?? 5000, renewMs: renewMs ?? 1000 },
    status: { topic: statusTopic, intervalMs: statusIntervalMs, enabled: statusEnabled },
    ...(moderation === undefined ? {} : { moderation }),
  };
}
