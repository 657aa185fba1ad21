import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BROKER_PROFILE_NAMES,
  brokerProfile,
  checkBranding,
  DEFAULT_BROKER_PROFILE,
  DEFAULT_IMAGE_HOSTS,
  FEED_NAME,
  ImageAllowList,
  isBrokerProfileName,
  PAGE_HEARTBEAT_MS,
  checkScreenTimings,
  type Branding,
  type BrokerProfileName,
  type ScreenTimings,
} from '@livewall/contract';

/** The environment variables the web server reads, and what it does without them. */
export const ENV = {
  port: 'LIVEWALL_WEB_PORT',
  host: 'LIVEWALL_WEB_HOST',
  brokerUrls: 'LIVEWALL_BROKER_WS_URLS',
  brokerProfile: 'LIVEWALL_BROKER_PROFILE',
  feeds: 'LIVEWALL_FEEDS',
  imageHosts: 'LIVEWALL_IMAGE_HOSTS',
  demoMedia: 'LIVEWALL_DEMO_MEDIA',
  viewerLogin: 'LIVEWALL_VIEWER_LOGIN',
  viewerPasscode: 'LIVEWALL_VIEWER_PASSCODE',
  webRoot: 'LIVEWALL_WEB_ROOT',
  maxItems: 'LIVEWALL_MAX_ITEMS',
  wsProxy: 'LIVEWALL_WS_PROXY',
  wsProxyPath: 'LIVEWALL_WS_PROXY_PATH',
  statusTopic: 'LIVEWALL_STATUS_TOPIC',
  heartbeatMs: 'LIVEWALL_HEARTBEAT_MS',
  moderatorUrl: 'LIVEWALL_MODERATOR_WS_URL',
  screen: 'LIVEWALL_SCREEN',
  wallTitle: 'LIVEWALL_WALL_TITLE',
  wallLogo: 'LIVEWALL_WALL_LOGO',
  wallAccent: 'LIVEWALL_WALL_ACCENT',
  callToAction: 'LIVEWALL_CALL_TO_ACTION',
  callToActionUrl: 'LIVEWALL_CALL_TO_ACTION_URL',
} as const;

/** Which variable sets each branding field, for errors that name it. */
const BRANDING_ENV: Record<keyof Branding, string> = {
  title: ENV.wallTitle,
  logo: ENV.wallLogo,
  accent: ENV.wallAccent,
  callToAction: ENV.callToAction,
  callToActionUrl: ENV.callToActionUrl,
};

/**
 * The broker's users who may write (activemq/write-users.sh). The page hands its login to every browser, so it must
 * never be one of these.
 */
export const WRITE_USERS = { admin: 'LIVEWALL_ADMIN_PASSWORD', publisher: 'LIVEWALL_PUBLISHER_PASSWORD', moderator: 'LIVEWALL_MODERATOR_PASSWORD' } as const;

/** The built page, next to this module's own output directory: web/dist-server/ → web/dist/. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../dist/', import.meta.url));

/** The local broker scripts/broker runs for a profile: its STOMP-over-WebSocket URL. */
function localBrokerUrl(profile: BrokerProfileName): string {
  const { webSocketUrl, localPorts } = brokerProfile(profile);
  return webSocketUrl('localhost', localPorts.webSocket);
}

/**
 * Where the local broker takes the moderator's login over STOMP-over-WebSocket: Artemis's private `stomp` acceptor
 * (every acceptor takes WebSocket upgrades; the public `stomp-ws` admits only viewers), RabbitMQ's Web-STOMP, which
 * takes every login.
 */
function localModeratorUrl(profile: BrokerProfileName): string {
  const { name, webSocketUrl, localPorts } = brokerProfile(profile);
  return webSocketUrl('localhost', name === 'artemis' ? localPorts.stomp : localPorts.webSocket);
}

export const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  /** The broker URL defaults to this profile's local broker (localBrokerUrl). */
  brokerProfile: DEFAULT_BROKER_PROFILE,
  feeds: [{ name: 'cats', title: 'Cats' }],
  maxItems: 200,
  heartbeatMs: PAGE_HEARTBEAT_MS.default,
  statusTopic: brokerProfile(DEFAULT_BROKER_PROFILE).statusTopic,
  wsProxyPath: '/stomp',
} as const;

export interface Feed {
  name: string;
  title: string;
}

/** What createApp accepts: every field has a default. */
export interface WebOptions {
  port?: number;
  host?: string;
  /**
   * WebSocket URLs of the broker's STOMP acceptor, for the page and for CSP connect-src. Default: the local broker,
   * or none when wsProxy is set (the page then uses only the proxy).
   */
  brokerUrls?: string[];
  /** Which kind of broker the URLs lead to (contract/src/profiles.ts), handed to the page. Default artemis. */
  brokerProfile?: string;
  feeds?: Feed[];
  /** Image hosts allowed on top of DEFAULT_IMAGE_HOSTS: host names (https) or origins. */
  imageHosts?: string[];
  /** A directory served at /demo/media/. */
  demoMedia?: string;
  viewerLogin?: string;
  viewerPasscode?: string;
  /** The built page (index.html, assets/). */
  webRoot?: string;
  maxItems?: number;
  /** The page's STOMP heart-beats each way, in ms (1,000 to 60,000): a silent link is noticed in about twice that. */
  heartbeatMs?: number;
  /** Where the worker publishes its status (its config's status.topic); '' turns the worker panel off. */
  statusTopic?: string;
  /**
   * The broker's ws:// or wss:// URL to forward WebSocket upgrades on wsProxyPath to: a same-origin path for
   * browsers that cannot reach the broker's port. Off when unset.
   */
  wsProxy?: string;
  /** The path the proxy accepts upgrades on. Default /stomp. */
  wsProxyPath?: string;
  /**
   * The ws:// or wss:// URL the moderator page (/moderate) connects to with the moderator's own login, typed into
   * the page: a STOMP endpoint that takes that login. Default: the local broker's (localModeratorUrl).
   */
  moderatorUrl?: string;
  /**
   * Screen mode (web/src/screen/): `always` opens every page of this wall in it (a page's `?mode=normal` still
   * leaves it); the timings are for tests, which run a wall's minutes in seconds (SCREEN_TIMING_MS has the defaults).
   */
  screen?: { always?: boolean } & Partial<ScreenTimings>;
  /** The wall's title, logo, accent colour and call to action with its QR code (checkBranding). */
  branding?: Branding;
}

/** The same-origin WebSocket proxy: upgrades on `path` are tunnelled to `target`. */
export interface WsProxyOptions {
  target: URL;
  path: string;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  brokerUrls: string[];
  brokerProfile: BrokerProfileName;
  feeds: Feed[];
  /** DEFAULT_IMAGE_HOSTS followed by the extra entries, without repeats. */
  imageHosts: string[];
  allowList: ImageAllowList;
  demoMedia: string | undefined;
  viewerLogin: string | undefined;
  viewerPasscode: string | undefined;
  webRoot: string;
  maxItems: number;
  heartbeatMs: number;
  statusTopic: string;
  wsProxy: WsProxyOptions | undefined;
  /** The moderator page's broker URL, as its CSP and /moderate/config.json name it. */
  moderatorUrl: string;
  screen: { always: boolean } & ScreenTimings;
  branding: Branding;
}

/** A bad setting; the message starts with the environment variable that holds it. */
export class OptionsError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = 'OptionsError';
  }
}

const MAX_ITEMS_LIMIT = 1000;

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function wholeNumber(variable: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d+$/.test(value.trim())) throw new OptionsError(variable, `${JSON.stringify(value)} is not a whole number`);
  return Number(value.trim());
}

/** on/off, true/false, yes/no or 1/0; undefined when unset. */
function onOff(variable: string, value: string | undefined): boolean | undefined {
  const word = value?.trim().toLowerCase();
  if (word === undefined || word === '') return undefined;
  if (['1', 'on', 'true', 'yes'].includes(word)) return true;
  if (['0', 'off', 'false', 'no'].includes(word)) return false;
  throw new OptionsError(variable, `${JSON.stringify(value)} must be on or off`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `name` or `name:Title`, comma-separated. */
export function parseFeeds(value: string): Feed[] {
  return (list(value) ?? []).map((entry) => {
    const colon = entry.indexOf(':');
    const name = (colon < 0 ? entry : entry.slice(0, colon)).trim();
    const title = colon < 0 ? '' : entry.slice(colon + 1).trim();
    return { name, title: title || name };
  });
}

/** Reads the options from the environment (see ENV) and checks them. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const input: WebOptions = {};
  const port = wholeNumber(ENV.port, env[ENV.port]);
  if (port !== undefined) input.port = port;
  const host = nonEmpty(env[ENV.host]?.trim());
  if (host !== undefined) input.host = host;
  const brokerUrls = list(env[ENV.brokerUrls]);
  if (brokerUrls !== undefined) input.brokerUrls = brokerUrls;
  const profile = nonEmpty(env[ENV.brokerProfile]?.trim());
  if (profile !== undefined) input.brokerProfile = profile;
  const feeds = env[ENV.feeds];
  if (feeds !== undefined && feeds.trim() !== '') input.feeds = parseFeeds(feeds);
  const imageHosts = list(env[ENV.imageHosts]);
  if (imageHosts !== undefined) input.imageHosts = imageHosts;
  const demoMedia = nonEmpty(env[ENV.demoMedia]);
  if (demoMedia !== undefined) input.demoMedia = demoMedia;
  const viewerLogin = nonEmpty(env[ENV.viewerLogin]);
  if (viewerLogin !== undefined) input.viewerLogin = viewerLogin;
  const viewerPasscode = nonEmpty(env[ENV.viewerPasscode]);
  if (viewerPasscode !== undefined) input.viewerPasscode = viewerPasscode;
  const webRoot = nonEmpty(env[ENV.webRoot]);
  if (webRoot !== undefined) input.webRoot = webRoot;
  const maxItems = wholeNumber(ENV.maxItems, env[ENV.maxItems]);
  if (maxItems !== undefined) input.maxItems = maxItems;
  const heartbeatMs = wholeNumber(ENV.heartbeatMs, env[ENV.heartbeatMs]);
  if (heartbeatMs !== undefined) input.heartbeatMs = heartbeatMs;
  const wsProxy = nonEmpty(env[ENV.wsProxy]?.trim());
  if (wsProxy !== undefined) input.wsProxy = wsProxy;
  const statusTopic = env[ENV.statusTopic];
  if (statusTopic !== undefined) input.statusTopic = statusTopic.trim();
  const wsProxyPath = nonEmpty(env[ENV.wsProxyPath]?.trim());
  if (wsProxyPath !== undefined) input.wsProxyPath = wsProxyPath;
  const moderatorUrl = nonEmpty(env[ENV.moderatorUrl]?.trim());
  if (moderatorUrl !== undefined) input.moderatorUrl = moderatorUrl;
  const screen = onOff(ENV.screen, env[ENV.screen]);
  if (screen !== undefined) input.screen = { always: screen };
  const branding: Branding = {};
  for (const [field, variable] of Object.entries(BRANDING_ENV) as [keyof Branding, string][]) {
    const value = nonEmpty(env[variable]?.trim());
    if (value !== undefined) branding[field] = value;
  }
  if (Object.keys(branding).length > 0) input.branding = branding;
  const options = resolveOptions(input);
  // A write user's password as the viewer passcode would hand it to every browser, whatever the login says.
  if (options.viewerPasscode !== undefined) {
    for (const [user, variable] of Object.entries(WRITE_USERS)) {
      if (nonEmpty(env[variable]) === options.viewerPasscode) {
        throw new OptionsError(ENV.viewerPasscode, `is the broker's ${user} password (${variable}); the page sends its passcode to every browser, so use the viewer's`);
      }
    }
  }
  return options;
}

/** A plain ws:// or wss:// URL, or an OptionsError naming `variable`. */
function wsUrl(value: string, variable: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OptionsError(variable, `${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new OptionsError(variable, `${JSON.stringify(value)} must start with ws:// or wss://`);
  }
  if (url.username || url.password) {
    throw new OptionsError(variable, `a URL must not carry credentials (${variable === ENV.moderatorUrl ? 'the moderator types the login into the page' : `use ${ENV.viewerLogin}`})`);
  }
  if (url.search || url.hash) throw new OptionsError(variable, `${JSON.stringify(value)} must not have a ?query or #fragment`);
  // Characters that would end or split a CSP source list.
  if (/[\s;,'"]/.test(value)) throw new OptionsError(variable, `${JSON.stringify(value)} contains characters not allowed in a URL here`);
  return url;
}

/** A broker URL as a CSP source and as the page gets it; throws on anything but a plain ws:// or wss:// URL. */
function brokerUrl(value: string, variable: string = ENV.brokerUrls): string {
  const url = wsUrl(value, variable);
  return url.pathname === '/' && !value.endsWith('/') ? `${url.protocol}//${url.host}` : url.href;
}

/** The proxy's path: plain URL path characters only, as it also goes into the CSP and /config.json. */
const PROXY_PATH = /^(?:\/[A-Za-z0-9._~-]+)+\/?$/;

function wsProxyOptions(target: string | undefined, path: string | undefined): WsProxyOptions | undefined {
  if (target === undefined) {
    if (path !== undefined) throw new OptionsError(ENV.wsProxyPath, `is set but ${ENV.wsProxy} is not`);
    return undefined;
  }
  const proxyPath = path ?? DEFAULTS.wsProxyPath;
  if (proxyPath.length > 200 || !PROXY_PATH.test(proxyPath)) {
    throw new OptionsError(ENV.wsProxyPath, `${JSON.stringify(proxyPath)} must be a path such as /stomp (letters, digits, . _ ~ - between slashes)`);
  }
  return { target: wsUrl(target, ENV.wsProxy), path: proxyPath };
}

/** Fills in defaults and checks every option; throws OptionsError naming the variable. */
export function resolveOptions(input: WebOptions = {}): ResolvedOptions {
  const port = input.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OptionsError(ENV.port, `${port} is not a port number (0 to 65535)`);

  const host = input.host ?? DEFAULTS.host;
  if (host.trim() === '' || /[\s/]/.test(host)) throw new OptionsError(ENV.host, `${JSON.stringify(host)} is not a host name or address`);

  const profile = input.brokerProfile ?? DEFAULTS.brokerProfile;
  if (!isBrokerProfileName(profile)) throw new OptionsError(ENV.brokerProfile, `${JSON.stringify(profile)} must be one of ${BROKER_PROFILE_NAMES.join(', ')}`);

  const wsProxy = wsProxyOptions(input.wsProxy, input.wsProxyPath);
  // With the proxy on, the page needs no other URL; listed ones are tried after the proxy.
  const rawUrls = input.brokerUrls ?? (wsProxy ? [] : [localBrokerUrl(profile)]);
  if (rawUrls.length === 0 && !wsProxy) throw new OptionsError(ENV.brokerUrls, `list at least one ws:// or wss:// URL (or set ${ENV.wsProxy})`);
  const brokerUrls = [...new Set(rawUrls.map((url) => brokerUrl(url)))];

  const feeds = input.feeds ?? DEFAULTS.feeds.map((feed) => ({ ...feed }));
  if (feeds.length === 0) throw new OptionsError(ENV.feeds, 'list at least one feed');
  const names = new Set<string>();
  for (const feed of feeds) {
    if (!FEED_NAME.test(feed.name)) throw new OptionsError(ENV.feeds, `feed name ${JSON.stringify(feed.name)} must match [a-z0-9-]{1,32}`);
    if (names.has(feed.name)) throw new OptionsError(ENV.feeds, `feed ${JSON.stringify(feed.name)} is listed twice`);
    names.add(feed.name);
    if (feed.title.length > 80) throw new OptionsError(ENV.feeds, `the title of feed ${feed.name} is longer than 80 characters`);
  }

  const imageHosts = [...new Set([...DEFAULT_IMAGE_HOSTS, ...(input.imageHosts ?? [])])];
  let allowList: ImageAllowList;
  try {
    allowList = new ImageAllowList(imageHosts);
  } catch (error) {
    throw new OptionsError(ENV.imageHosts, (error as Error).message);
  }
  for (const source of allowList.cspSources()) {
    if (/[\s;,'"]/.test(source)) throw new OptionsError(ENV.imageHosts, `${JSON.stringify(source)} cannot be a CSP source`);
  }

  let demoMedia: string | undefined;
  if (input.demoMedia !== undefined) {
    demoMedia = path.resolve(input.demoMedia);
    if (!existsSync(demoMedia) || !statSync(demoMedia).isDirectory()) throw new OptionsError(ENV.demoMedia, `${demoMedia} is not a directory`);
  }

  const viewerLogin = input.viewerLogin;
  const viewerPasscode = input.viewerPasscode;
  if (viewerPasscode !== undefined && viewerLogin === undefined) {
    throw new OptionsError(ENV.viewerPasscode, `is set but ${ENV.viewerLogin} is not`);
  }
  const writeUser = Object.keys(WRITE_USERS).find((user) => user === viewerLogin?.trim().toLowerCase());
  if (writeUser !== undefined) {
    throw new OptionsError(
      ENV.viewerLogin,
      `${JSON.stringify(viewerLogin)} is the broker's ${writeUser} user, who may write; the page sends its login to every browser, so use a subscribe-only user such as viewer (or none: anonymous guests may subscribe)`,
    );
  }

  const webRoot = path.resolve(input.webRoot ?? DEFAULT_WEB_ROOT);
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    throw new OptionsError(ENV.webRoot, `${webRoot} has no index.html: build the page first (npm run build -w web)`);
  }

  const maxItems = input.maxItems ?? DEFAULTS.maxItems;
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > MAX_ITEMS_LIMIT) {
    throw new OptionsError(ENV.maxItems, `${maxItems} must be a whole number from 1 to ${MAX_ITEMS_LIMIT}`);
  }

  const heartbeatMs = input.heartbeatMs ?? DEFAULTS.heartbeatMs;
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < PAGE_HEARTBEAT_MS.min || heartbeatMs > PAGE_HEARTBEAT_MS.max) {
    throw new OptionsError(ENV.heartbeatMs, `${heartbeatMs} must be a whole number of milliseconds from ${PAGE_HEARTBEAT_MS.min} to ${PAGE_HEARTBEAT_MS.max}`);
  }
  const statusTopic = input.statusTopic ?? brokerProfile(profile).statusTopic;
  if (statusTopic !== '' && !/^\/topic\/status\.[A-Za-z0-9_.-]+$/.test(statusTopic)) {
    throw new OptionsError(ENV.statusTopic, `${JSON.stringify(statusTopic)} must be a topic under /topic/status. (the worker's status.topic) without wildcards, or empty to show no worker status`);
  }

  // The moderator page's broker: never handed to the public wall, only to /moderate/config.json and its CSP.
  const moderatorUrl = brokerUrl(input.moderatorUrl ?? localModeratorUrl(profile), ENV.moderatorUrl);

  const timings = checkScreenTimings(input.screen ?? {});
  if (!timings.ok) throw new OptionsError(ENV.screen, timings.error);
  const screen = { always: input.screen?.always ?? false, ...timings.timings };

  const checked = checkBranding(input.branding ?? {}, allowList);
  if (!checked.ok) {
    throw new OptionsError(checked.field ? BRANDING_ENV[checked.field] : ENV.wallTitle, checked.error);
  }

  return { port, host, brokerUrls, brokerProfile: profile, feeds, imageHosts, allowList, demoMedia, viewerLogin, viewerPasscode, webRoot, maxItems, heartbeatMs, statusTopic, wsProxy, moderatorUrl, screen, branding: checked.branding };
}
