import './style.css';
import { feedTopic, parseFeedItem, type ImageAllowList } from '@livewall/contract';
import { feedHref, parseConfig, selectFeed, type FeedConfig, type WallConfig } from './config.js';
import { connect } from './connection.js';
import { StatusView } from './status.js';
import { WallModel } from './wall-model.js';
import { WallView } from './wall.js';

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html lacks #${id}`);
  return element as T;
}

const ui = {
  title: byId('feed-title'),
  feeds: byId('feeds'),
  itemCount: byId('item-count'),
  itemNoun: byId('item-noun'),
  invalidCount: byId('invalid-count'),
  notice: byId('notice'),
  empty: byId('empty'),
  wall: byId('wall'),
};
const status = new StatusView(byId('status'), byId('status-text'), byId('status-detail'), byId('status-announce'));
const debugging = new URLSearchParams(location.search).has('debug');

/** A problem that stops the page: shown in words, never as a blank page. */
function fatal(message: string): void {
  status.show({ state: 'error', reason: message });
  ui.notice.textContent = message;
  ui.notice.hidden = false;
  ui.empty.hidden = true;
}

function renderFeedTabs(feeds: readonly FeedConfig[], current: FeedConfig | undefined): void {
  if (feeds.length < 2) return;
  ui.feeds.replaceChildren(
    ...feeds.map((feed) => {
      const link = document.createElement('a');
      link.href = feedHref(feeds, feed);
      link.textContent = feed.title;
      link.className = 'feed-tab';
      if (feed.name === current?.name) link.setAttribute('aria-current', 'page');
      return link;
    }),
  );
  ui.feeds.hidden = false;
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

function start(config: WallConfig, allowList: ImageAllowList, feed: FeedConfig): void {
  ui.title.textContent = feed.title;
  document.title = `${feed.title} · livewall`;
  ui.empty.textContent = `Waiting for posts in ${feed.title}…`;

  const wall = new WallView(ui.wall, new WallModel(config.maxItems));
  let invalid = 0;

  const showCounts = (): void => {
    ui.itemCount.textContent = String(wall.size);
    ui.itemNoun.textContent = wall.size === 1 ? 'post' : 'posts';
    ui.invalidCount.textContent = String(invalid);
    ui.empty.hidden = wall.size > 0;
  };

  const onMessage = (body: Uint8Array): void => {
    // The page trusts nothing: every frame is parsed and checked against the contract and the image allow-list.
    const result = parseFeedItem(body, allowList);
    const reason = !result.ok
      ? result.reason
      : result.item.feed !== feed.name
        ? `item is for feed ${JSON.stringify(result.item.feed)}, not ${feed.name}`
        : undefined;
    if (result.ok && reason === undefined) {
      wall.add(result.item);
    } else {
      invalid += 1;
      console.warn(`livewall: skipped an invalid message: ${reason}`);
    }
    showCounts();
  };

  const connection = connect({
    urls: config.broker.urls,
    ...(config.broker.login !== undefined ? { login: config.broker.login } : {}),
    ...(config.broker.passcode !== undefined ? { passcode: config.broker.passcode } : {}),
    destination: feedTopic(feed.name),
    onState: (state) => status.show(state),
    onMessage,
    ...(debugging ? { debug: (message: string) => console.debug(`stomp: ${message}`) } : {}),
  });

  addEventListener('online', () => connection.retryNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      connection.retryNow();
      wall.refreshTimes();
    }
  });
  setInterval(() => wall.refreshTimes(), 30_000);
  showCounts();
}

async function main(): Promise<void> {
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
  const { config, allowList } = parsed;
  const choice = selectFeed(config.feeds, location.search);
  renderFeedTabs(config.feeds, choice.ok ? choice.feed : undefined);
  if (!choice.ok) {
    fatal(`Unknown feed: ${choice.error}.`);
    return;
  }
  start(config, allowList, choice.feed);
}

main().catch((error: unknown) => fatal(`The wall failed to start: ${(error as Error).message}`));
