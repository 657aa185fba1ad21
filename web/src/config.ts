import { HEARTBEAT_MS } from './connection.js';
import {
  BROKER_PROFILE_NAMES,
  brokerProfile,
  checkBranding,
  DEFAULT_BROKER_PROFILE,
  FEED_NAME,
  ImageAllowList,
  isBrokerProfileName,
  PAGE_HEARTBEAT_MS,
  checkScreenTimings,
  type Branding,
  type BrokerProfileName,
  type ScreenTimings,
} from '@livewall/contract';

/** One feed the page can show; its STOMP destination comes from the broker profile. */
export interface FeedConfig {
  name: string;
  title: string;
}

/** What the server hands the page at /config.json. */
export interface WallConfig {
  /** `profile`: which kind of broker the URLs lead to (contract/src/profiles.ts); artemis when /config.json names none. */
  broker: { urls: string[]; login?: string; passcode?: string; profile: BrokerProfileName };
  feeds: FeedConfig[];
  imageHosts: string[];
  /** The most cards the wall keeps; older ones leave at the bottom. Default DEFAULT_MAX_ITEMS. */
  maxItems: number;
  /**
   * Where the workers publish their status (host, region, items per minute per feed), subscribed on the same
   * connection as the feed; '' turns it off. Default DEFAULT_STATUS_TOPIC.
   */
  statusTopic: string;
  /**
   * STOMP heart-beats each way, in ms: a silent link (a route that died without a reset) is noticed within about
   * twice this long. Default HEARTBEAT_MS; within PAGE_HEARTBEAT_MS (the contract's, which the server checks too).
   */
  heartbeatMs: number;
  /** Screen mode: whether this wall always opens in it, and its timings (SCREEN_TIMING_MS). */
  screen: { always: boolean } & ScreenTimings;
  /** The wall's title, logo, accent and call to action (checkBranding); {} when it has none. */
  branding: Branding;
}

export type ConfigResult = { ok: true; config: WallConfig; allowList: ImageAllowList } | { ok: false; error: string };
export type FeedChoice = { ok: true; feed: FeedConfig } | { ok: false; error: string };

export const DEFAULT_MAX_ITEMS = 200;
/** The default profile's status topic; a page on another profile defaults to that profile's. */
export const DEFAULT_STATUS_TOPIC = brokerProfile(DEFAULT_BROKER_PROFILE).statusTopic;
/** A STOMP topic the page may subscribe to: the broker's multicast prefix and a plain address. */
const TOPIC = /^\/topic\/[A-Za-z0-9._-]{1,200}$/;
export const MAX_ITEMS_LIMIT = 1000;
const MAX_URLS = 16;
const MAX_TITLE = 80;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function brokerUrl(value: unknown, where: string, pageProtocol: string | undefined): string {
  if (typeof value !== 'string') fail(`${where} must be a string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${where} ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`${where} ${JSON.stringify(value)} must be a ws:// or wss:// URL`);
  if (url.username || url.password) fail(`${where} must not carry credentials (use broker.login and broker.passcode)`);
  if (url.hash) fail(`${where} must not have a #fragment`);
  // A page served over https may not open ws:// sockets (mixed content): say so instead of failing silently.
  if (pageProtocol === 'https:' && url.protocol === 'ws:') fail(`${where} ${JSON.stringify(value)} is ws:// but this page is served over https: use wss://`);
  return value;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(`${where} must be a string`);
  return value;
}

function screenSettings(value: unknown): WallConfig['screen'] {
  if (value !== undefined && !isRecord(value)) fail('screen must be an object');
  const always = value?.always ?? false;
  if (typeof always !== 'boolean') fail('screen.always must be true or false');
  const timings = checkScreenTimings(value ?? {});
  if (!timings.ok) fail(timings.error);
  return { always, ...timings.timings };
}

function check(value: unknown, pageProtocol: string | undefined): { config: WallConfig; allowList: ImageAllowList } {
  if (!isRecord(value)) fail('the configuration must be a JSON object');

  const broker = value.broker;
  if (!isRecord(broker)) fail('broker must be an object with a list of urls');
  if (!Array.isArray(broker.urls) || broker.urls.length === 0) fail('broker.urls must list at least one ws:// or wss:// URL');
  if (broker.urls.length > MAX_URLS) fail(`broker.urls lists more than ${MAX_URLS} URLs`);
  const urls = broker.urls.map((url, index) => brokerUrl(url, `broker.urls[${index}]`, pageProtocol));
  const login = optionalString(broker.login, 'broker.login');
  const passcode = optionalString(broker.passcode, 'broker.passcode');
  if (passcode !== undefined && login === undefined) fail('broker.passcode is set but broker.login is not');
  const profile = broker.profile ?? DEFAULT_BROKER_PROFILE;
  if (!isBrokerProfileName(profile)) fail(`broker.profile must be one of ${BROKER_PROFILE_NAMES.join(', ')}`);

  if (!Array.isArray(value.feeds) || value.feeds.length === 0) fail('feeds must list at least one feed');
  const names = new Set<string>();
  const feeds = value.feeds.map((feed: unknown, index): FeedConfig => {
    const where = `feeds[${index}]`;
    if (!isRecord(feed)) fail(`${where} must be an object with a name`);
    if (typeof feed.name !== 'string' || !FEED_NAME.test(feed.name)) fail(`${where}.name must match [a-z0-9-]{1,32}`);
    if (names.has(feed.name)) fail(`${where}.name ${JSON.stringify(feed.name)} is listed twice`);
    names.add(feed.name);
    const title = optionalString(feed.title, `${where}.title`)?.trim() || feed.name;
    if (title.length > MAX_TITLE) fail(`${where}.title is longer than ${MAX_TITLE} characters`);
    return { name: feed.name, title };
  });

  if (!Array.isArray(value.imageHosts) || value.imageHosts.length === 0) fail('imageHosts must list at least one image host');
  const imageHosts = value.imageHosts.map((host, index) => {
    if (typeof host !== 'string') fail(`imageHosts[${index}] must be a string`);
    return host;
  });
  let allowList: ImageAllowList;
  try {
    allowList = new ImageAllowList(imageHosts);
  } catch (error) {
    fail(`imageHosts: ${(error as Error).message}`);
  }

  let maxItems = DEFAULT_MAX_ITEMS;
  if (value.maxItems !== undefined) {
    if (typeof value.maxItems !== 'number' || !Number.isInteger(value.maxItems) || value.maxItems < 1 || value.maxItems > MAX_ITEMS_LIMIT) {
      fail(`maxItems must be a whole number from 1 to ${MAX_ITEMS_LIMIT}`);
    }
    maxItems = value.maxItems;
  }

  let statusTopic = brokerProfile(profile).statusTopic;
  if (value.statusTopic !== undefined) {
    if (typeof value.statusTopic !== 'string' || (value.statusTopic !== '' && !TOPIC.test(value.statusTopic))) {
      fail('statusTopic must be a topic such as /topic/status.workers, or "" for none');
    }
    statusTopic = value.statusTopic;
  }

  let heartbeatMs: number = HEARTBEAT_MS;
  if (value.heartbeatMs !== undefined) {
    const { min, max } = PAGE_HEARTBEAT_MS;
    if (typeof value.heartbeatMs !== 'number' || !Number.isInteger(value.heartbeatMs) || value.heartbeatMs < min || value.heartbeatMs > max) {
      fail(`heartbeatMs must be a whole number of milliseconds from ${min} to ${max}`);
    }
    heartbeatMs = value.heartbeatMs;
  }

  const screen = screenSettings(value.screen);
  const checked = checkBranding(value.branding ?? {}, allowList);
  if (!checked.ok) fail(`branding: ${checked.error}`);

  const config: WallConfig = { broker: { urls, profile }, feeds, imageHosts, maxItems, statusTopic, heartbeatMs, screen, branding: checked.branding };
  if (login !== undefined) config.broker.login = login;
  if (passcode !== undefined) config.broker.passcode = passcode;
  return { config, allowList };
}

/**
 * Validates the parsed /config.json. `pageProtocol` (location.protocol) lets it refuse ws:// URLs on an https page.
 * The error names the first field that is wrong.
 */
export function parseConfig(value: unknown, pageProtocol?: string): ConfigResult {
  try {
    return { ok: true, ...check(value, pageProtocol) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: error.message };
    throw error;
  }
}

/** Where the page finds the feed it should show: location.hash and location.search. */
export interface FeedLocation {
  hash: string;
  search: string;
}

/** The feed named in `#/name`, or else in `?feed=name` (the older links); '' when neither names one. */
export function wantedFeed(where: FeedLocation): string {
  const hash = where.hash.replace(/^#\/?/, '');
  if (hash !== '') {
    try {
      return decodeURIComponent(hash);
    } catch {
      return hash;
    }
  }
  return new URLSearchParams(where.search).get('feed') ?? '';
}

/** The feed the location asks for (`#/name`, then `?feed=name`), or the first feed. */
export function selectFeed(feeds: readonly FeedConfig[], where: FeedLocation): FeedChoice {
  const wanted = wantedFeed(where);
  if (wanted === '') {
    const first = feeds[0];
    return first ? { ok: true, feed: first } : { ok: false, error: 'no feeds are configured' };
  }
  const feed = feeds.find((candidate) => candidate.name === wanted);
  if (feed) return { ok: true, feed };
  const known = feeds.map((candidate) => candidate.name).join(', ');
  return { ok: false, error: `there is no feed named ${JSON.stringify(wanted.slice(0, 40))}; this wall shows: ${known}` };
}

/** The link that selects `feed` without reloading the page: `#/name`. */
export function feedHref(feed: FeedConfig): string {
  return `#/${encodeURIComponent(feed.name)}`;
}
