import './trusted-types.js';
import './style.css';
import { brokerProfile, parseFeedMessage, type ImageAllowList } from '@livewall/contract';
import { Backfill } from './backfill.js';
import { feedHref, parseConfig, selectFeed, type FeedChoice, type FeedConfig, type WallConfig } from './config.js';
import { connect, ONLINE_RETRY_SPREAD_MS, type Connection, type TransportState } from './connection.js';
import { LiveControls } from './live-controls.js';
import { applyBranding } from './screen/branding.js';
import { screenModeWanted } from './screen/mode.js';
import { ScreenMode } from './screen/screen.js';
import { StatusView, presentState } from './status.js';
import { Wall } from './wall.js';
import { Takedowns } from './wall-model.js';
import { WorkerDirectory, describeServing, parseWorkerStatus } from './worker-status.js';

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html lacks #${id}`);
  return element as T;
}

const ui = {
  bar: document.querySelector<HTMLElement>('header.bar'),
  title: byId('feed-title'),
  feeds: byId('feeds'),
  itemCount: byId('item-count'),
  itemNoun: byId('item-noun'),
  invalidCount: byId('invalid-count'),
  workerStatus: byId('worker-status'),
  pause: byId<HTMLButtonElement>('pause'),
  pauseText: byId('pause-text'),
  pill: byId<HTMLButtonElement>('new-pill'),
  pillText: byId('new-pill-text'),
  notice: byId('notice'),
  empty: byId('empty'),
  wall: byId('wall'),
  logo: document.querySelector<HTMLElement>('.brand .logo'),
  cta: byId('cta'),
  ctaText: byId('cta-text'),
  ctaCode: byId('cta-code'),
  spotlight: byId('spotlight'),
  spotlightKind: byId('spotlight-kind'),
  spotlightCard: byId('spotlight-card'),
};
const status = new StatusView(byId('status'), byId('status-text'), byId('status-detail'), byId('status-announce'));
const debugging = new URLSearchParams(location.search).has('debug');

/** How often the "5m ago" times and the worker's status line are brought up to date. */
const TIMES_MS = 30_000;
const WORKERS_MS = 10_000;

/** A problem that stops the page: shown in words, never as a blank page. */
function fatal(message: string): void {
  status.show({ state: 'error', reason: message });
  showNotice(message);
}

function showNotice(message: string | undefined): void {
  ui.notice.textContent = message ?? '';
  ui.notice.hidden = message === undefined;
  if (message !== undefined) ui.empty.hidden = true;
}

function renderFeedTabs(feeds: readonly FeedConfig[], current: FeedConfig | undefined): void {
  if (feeds.length < 2) return;
  ui.feeds.replaceChildren(
    ...feeds.map((feed) => {
      const link = document.createElement('a');
      link.href = feedHref(feed);
      link.textContent = feed.title;
      link.className = 'feed-tab';
      if (feed.name === current?.name) link.setAttribute('aria-current', 'page');
      return link;
    }),
  );
  ui.feeds.hidden = false;
}

/** The sticky header's height, for scroll-padding (focus never lands under it) and the "N new" pill. */
function trackBarHeight(): void {
  const bar = ui.bar;
  if (!bar) return;
  new ResizeObserver(() => document.documentElement.style.setProperty('--bar-height', `${Math.ceil(bar.getBoundingClientRect().height)}px`)).observe(bar);
}

async function loadConfig(): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch('/config.json', { cache: 'no-store', headers: { accept: 'application/json' } });
  } catch (error) {
    throw new Error(`Could not load /config.json: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) throw new Error(`Could not load /config.json: HTTP ${response.status}`);
  try {
    return await response.json();
  } catch (error) {
    throw new Error('/config.json is not valid JSON', { cause: error });
  }
}

/**
 * The live page: one connection for the whole visit, carrying the chosen feed's subscription (swapped without a
 * reload when the hash names another feed) and the workers' status topic.
 */
function start(config: WallConfig, allowList: ImageAllowList): void {
  // Where this kind of broker keeps a feed and its recent items (contract/src/profiles.ts).
  const profile = brokerProfile(config.broker.profile);
  let feed: FeedConfig | undefined;
  let feedError: string | undefined;
  let stopFeed: (() => void) | undefined;
  let connection: Connection | undefined;
  let transport: TransportState = { state: 'connecting', url: '' };
  let subscribed = false;
  let invalid = 0;
  const workers = new WorkerDirectory();
  /** Each feed's takedowns, kept for the visit: a reconnect or a switch to another feed and back forgets none. */
  const takedowns = new Map<string, Takedowns>();
  const takedownsOf = (name: string): Takedowns => {
    let state = takedowns.get(name);
    if (!state) takedowns.set(name, (state = new Takedowns()));
    return state;
  };

  const showCounts = (): void => {
    ui.itemCount.textContent = String(wall.size);
    ui.itemNoun.textContent = wall.size === 1 ? 'post' : 'posts';
    ui.invalidCount.textContent = String(invalid);
    ui.empty.hidden = wall.size > 0 || feed === undefined;
  };

  const wall = new Wall(ui.wall, {
    maxItems: config.maxItems,
    allowList,
    // The wall changes only after controls.start() below: by then `controls` is set.
    onChange: () => {
      controls.update();
      showCounts();
    },
    onRender: () => controls.rendered(),
    onShown: (items, backfill) => screen?.shown(items, backfill),
  });
  // Screen mode: a TV or event screen nobody touches (web/src/screen/); chosen by the URL or the server's setting.
  const screen = screenModeWanted(location.search, config.screen.always)
    ? new ScreenMode({ timings: config.screen, allowList, elements: { root: document.documentElement, spotlight: ui.spotlight, spotlightKind: ui.spotlightKind, spotlightCard: ui.spotlightCard }, wallItems: () => wall.items, notice: showNotice })
    : undefined;
  applyBranding(config.branding, { root: document.documentElement, logo: ui.logo, callToAction: ui.cta, callToActionText: ui.ctaText, callToActionCode: ui.ctaCode });
  const controls = new LiveControls(wall, { pause: ui.pause, pauseText: ui.pauseText, pill: ui.pill, pillText: ui.pillText });
  // The wall shows nothing of a subscription's backfill until all of it is in and its takedowns are applied.
  const backfill = new Backfill({ onDone: () => wall.hold('backfill', false), onHoldAgain: () => wall.hold('backfill', true) });
  controls.start();
  ui.pause.hidden = screen !== undefined;
  screen?.start();

  const showState = (): void => {
    status.show(feedError !== undefined ? { state: 'error', reason: feedError } : presentState(transport, subscribed, navigator.onLine));
  };

  const showWorkers = (): void => {
    const now = Date.now();
    const { state, text, detail } = feed ? describeServing(workers.serving(feed.name, now), now) : { state: 'unknown', text: '', detail: '' };
    ui.workerStatus.hidden = state === 'unknown';
    ui.workerStatus.dataset.state = state;
    if (ui.workerStatus.textContent !== text) ui.workerStatus.textContent = text;
    ui.workerStatus.title = detail;
  };

  const onFeedMessage = (shown: FeedConfig, body: Uint8Array, headers: Readonly<Record<string, string>>): void => {
    backfill.frame(profile.backfilled(headers));
    // The page trusts nothing: every frame is parsed and checked against the contract and the image allow-list. A
    // frame is an item or a moderator's action, told apart by a top-level `kind` and each validated strictly, so a
    // takedown cannot hide inside an item's fields.
    const result = parseFeedMessage(body, allowList);
    const feedOf = !result.ok ? undefined : result.item ? result.item.feed : result.action.feed;
    const reason = !result.ok
      ? result.reason
      : feedOf !== shown.name
        ? `${result.item ? 'item' : 'moderation action'} is for feed ${JSON.stringify(feedOf)}, not ${shown.name}`
        : undefined;
    if (result.ok && reason === undefined) {
      if (result.item) wall.offer(result.item);
      else wall.takedown(result.action);
      return;
    }
    invalid += 1;
    console.warn(`livewall: skipped an invalid message: ${reason}`);
    showCounts();
  };

  const connected = (): Connection => {
    if (connection) return connection;
    connection = connect({
      urls: config.broker.urls,
      heartbeatMs: config.heartbeatMs,
      ...(config.broker.login !== undefined ? { login: config.broker.login } : {}),
      ...(config.broker.passcode !== undefined ? { passcode: config.broker.passcode } : {}),
      onState: (state) => {
        transport = state;
        // Each new connection subscribes afresh: live again once the broker confirms the feed's subscription.
        subscribed = false;
        showState();
      },
      ...(debugging ? { debug: (message: string) => console.debug(`stomp: ${message}`) } : {}),
    });
    if (config.statusTopic !== '') {
      connection.subscribe(config.statusTopic, {
        onMessage: (body) => {
          const report = parseWorkerStatus(body);
          if (!report) return;
          workers.receive(report, Date.now());
          showWorkers();
        },
      });
    }
    return connection;
  };

  const showFeed = (choice: FeedChoice): void => {
    if (choice.ok && choice.feed.name === feed?.name) return;
    stopFeed?.();
    stopFeed = undefined;
    backfill.cancel();
    wall.reset(choice.ok ? takedownsOf(choice.feed.name) : undefined);
    wall.hold('backfill', false);
    invalid = 0;
    subscribed = false;
    scrollTo({ top: 0, behavior: 'instant' });

    if (!choice.ok) {
      feed = undefined;
      feedError = `Unknown feed: ${choice.error}.`;
      ui.title.textContent = config.branding.title ?? 'livewall';
      document.title = config.branding.title ?? 'livewall';
      renderFeedTabs(config.feeds, undefined);
      showNotice(feedError);
    } else {
      const shown = choice.feed;
      feed = shown;
      feedError = undefined;
      showNotice(undefined);
      renderFeedTabs(config.feeds, shown);
      // A wall's own title names it; the feed's then only in the tab's title, when there are several.
      ui.title.textContent = config.branding.title ?? shown.title;
      document.title = config.branding.title !== undefined ? (config.feeds.length > 1 ? `${shown.title} · ${config.branding.title}` : config.branding.title) : `${shown.title} · livewall`;
      ui.empty.textContent = `Waiting for posts in ${shown.title}…`;
      // Screen mode comes back from its own reload with the cards it had, before the broker's backfill arrives.
      for (const item of screen?.restore(shown.name) ?? []) wall.offer(item);
      stopFeed = connected().subscribe(profile.stompDestination(shown.name), {
        onSubscribing: () => {
          backfill.start();
          wall.hold('backfill', true);
        },
        onMessage: (body, headers) => onFeedMessage(shown, body, headers),
        onSubscribed: () => {
          subscribed = true;
          backfill.subscribed();
          showState();
        },
      });
    }
    showCounts();
    showState();
    showWorkers();
  };

  addEventListener('hashchange', () => showFeed(selectFeed(config.feeds, location)));
  addEventListener('online', () => {
    // Every tab on this network saw the same event: each retries at its own random moment, not all at once.
    connection?.retrySoon(ONLINE_RETRY_SPREAD_MS);
    showState();
  });
  addEventListener('offline', showState);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    connection?.retryNow();
    wall.refreshTimes();
    showWorkers();
  });
  setInterval(() => {
    if (!document.hidden) wall.refreshTimes();
  }, TIMES_MS);
  setInterval(() => {
    if (!document.hidden) showWorkers();
  }, WORKERS_MS);

  showFeed(selectFeed(config.feeds, location));
}

async function main(): Promise<void> {
  trackBarHeight();
  status.show({ state: 'connecting', url: '' });
  let raw: unknown;
  try {
    raw = await loadConfig();
  } catch (error) {
    fatal((error as Error).message);
    return;
  }
  const parsed = parseConfig(raw, location.protocol);
  if (!parsed.ok) {
    fatal(`This wall is misconfigured (/config.json): ${parsed.error}.`);
    return;
  }
  start(parsed.config, parsed.allowList);
}

main().catch((error: unknown) => fatal(`The wall failed to start: ${(error as Error).message}`));
