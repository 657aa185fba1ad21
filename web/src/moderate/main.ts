import '../trusted-types.js';
import '../style.css';
import './moderate.css';
import { brokerProfile, parseFeedItem, parseFeedMessage, type FeedItem, type ImageAllowList } from '@livewall/contract';
import type { IMessage } from '@stomp/stompjs';
import { parseConfig, type FeedConfig, type WallConfig } from '../config.js';
import { createCard } from '../tile.js';
import { approvedItem, claimedItemId, decision, moderationAction } from './actions.js';
import { LiveBoard } from './live.js';
import { imageCheckSummary, PendingQueue, type Done, type PendingEntry } from './queue.js';
import { ModeratorSession, PENDING_WINDOW, RECEIPTS_AT_COMMIT, type Send, type SessionState } from './session.js';

/**
 * The moderator's page (/moderate): sign in with a broker login of the `moderator` role, typed here and kept only in
 * this module's memory (never in storage, the URL or a log); then, for one feed, decide on the posts waiting in its
 * pending queue (keyboard: A approve, R reject, S skip, U undo) and take posts on its live wall down.
 */

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`moderate.html lacks #${id}`);
  return element as T;
}

const ui = {
  title: byId('title'),
  who: byId('who'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  status: byId('status'),
  statusText: byId('status-text'),
  notice: byId('notice'),
  loginForm: byId<HTMLFormElement>('login-form'),
  login: byId<HTMLInputElement>('login'),
  passcode: byId<HTMLInputElement>('passcode'),
  feed: byId<HTMLSelectElement>('feed'),
  desk: byId('desk'),
  pendingCount: byId('pending-count'),
  skippedCount: byId('skipped-count'),
  approvedCount: byId('approved-count'),
  rejectedCount: byId('rejected-count'),
  invalidCount: byId('invalid-count'),
  approve: byId<HTMLButtonElement>('approve'),
  reject: byId<HTMLButtonElement>('reject'),
  skip: byId<HTMLButtonElement>('skip'),
  undo: byId<HTMLButtonElement>('undo'),
  reasonForm: byId<HTMLFormElement>('reason-form'),
  reason: byId<HTMLInputElement>('reason'),
  cancelReject: byId<HTMLButtonElement>('cancel-reject'),
  announce: byId('announce'),
  last: byId('last'),
  pendingEmpty: byId('pending-empty'),
  pendingRetry: byId<HTMLButtonElement>('pending-retry'),
  pending: byId('pending'),
  live: byId('live'),
};

function showNotice(message: string | undefined): void {
  ui.notice.textContent = message ?? '';
  ui.notice.hidden = message === undefined;
}

function showStatus(state: string, text: string): void {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
}

/** Tells the moderator (and a screen reader) what just happened. */
function say(message: string): void {
  ui.last.textContent = message;
  ui.announce.textContent = message;
}

async function loadConfig(): Promise<unknown> {
  const response = await fetch('/moderate/config.json', { cache: 'no-store', headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`Could not load /moderate/config.json: HTTP ${response.status}`);
  return response.json();
}


const handleOf = (item: FeedItem): string => `@${item.author.handle.replace(/^@/, '')}`;

/** One signed-in session on one feed; ends when the broker refuses the login (the form comes back). */
function moderate(config: WallConfig, allowList: ImageAllowList, feed: FeedConfig, login: string, passcode: string): void {
  const profile = brokerProfile(config.broker.profile);
  const destinations = {
    pending: profile.moderation.pendingDestination(feed.name),
    feedSend: profile.moderation.feedSendDestination(feed.name),
    log: profile.moderation.logDestination,
    live: profile.stompDestination(feed.name),
  };
  const queue = new PendingQueue<IMessage>();
  const counts = { approved: 0, rejected: 0, invalid: 0 };
  let busy = false;
  const subscribed = { pending: false, live: false };

  const showCounts = (): void => {
    ui.pendingCount.textContent = String(queue.waiting.length + queue.held.length);
    ui.skippedCount.textContent = String(queue.held.length);
    ui.approvedCount.textContent = String(counts.approved);
    ui.rejectedCount.textContent = String(counts.rejected);
    ui.invalidCount.textContent = String(counts.invalid);
  };

  /** Each held post's row, made once: a render moves and marks rows, it does not rebuild them. */
  const rows = new Map<string, { element: HTMLElement; dispose(): void }>();

  /** The posts held, in order: the current one first and marked, then the others waiting, then the skipped. */
  const render = (): void => {
    const current = queue.current;
    const order = [...queue.waiting, ...queue.held];
    const keys = new Set(order.map((entry) => entry.key));
    for (const [key, shown] of rows) {
      if (keys.has(key)) continue;
      shown.dispose();
      shown.element.remove();
      rows.delete(key);
    }
    let previous: Element | null = null;
    for (const entry of order) {
      let shown = rows.get(entry.key);
      if (!shown) {
        shown = row(entry);
        rows.set(entry.key, shown);
      }
      const { element } = shown;
      element.dataset.skipped = String(queue.isSkipped(entry.key));
      if (entry === current) element.setAttribute('aria-current', 'true');
      else element.removeAttribute('aria-current');
      const next: Element | null = previous ? previous.nextElementSibling : ui.pending.firstElementChild;
      if (next !== element) ui.pending.insertBefore(element, next);
      previous = element;
    }
    ui.pending.setAttribute('aria-busy', busy ? 'true' : 'false');
    ui.pending.dataset.current = current?.item.id ?? '';
    ui.pendingEmpty.hidden = current !== undefined;
    ui.pendingEmpty.textContent =
      ui.pending.dataset.state === 'absent'
        ? `${feed.title} has no approval queue: it is not in approval mode, or its worker has not started it yet. Its live wall is below.`
        : queue.held.length > 0
          ? 'Only skipped posts are held here: U brings the last one back, and leaving the page gives them back to the queue.'
          : 'Nothing waiting.';
    const none = current === undefined || busy;
    ui.approve.disabled = none;
    ui.reject.disabled = none;
    ui.skip.disabled = none;
    ui.undo.disabled = busy || queue.last === undefined;
    showCounts();
    focusCurrent();
  };

  /**
   * Keeps keyboard focus on the current post while the moderator works the queue (focus in the queue, or nowhere
   * after the post it was on left); focus the moderator put elsewhere stays there.
   */
  const focusCurrent = (): void => {
    if (!ui.reasonForm.hidden) return;
    const element = ui.pending.querySelector<HTMLElement>('[aria-current="true"] > article');
    const active = document.activeElement;
    if (!element || active === element) return;
    if (active === null || active === document.body || ui.pending.contains(active)) element.focus();
  };

  const row = (entry: PendingEntry<IMessage>): { element: HTMLElement; dispose(): void } => {
    const element = document.createElement('div');
    element.className = 'mod-row';
    element.setAttribute('role', 'listitem');
    element.dataset.testid = 'pending-item';
    element.dataset.id = entry.item.id;
    // A post whose pictures do not load is still decided on: the card stays.
    const card = createCard(entry.item, { now: Date.now(), allowList, onBroken: () => undefined });
    // What the image check found, as text: the queue is ordered by it (riskiest first).
    const summary = imageCheckSummary(entry.item);
    const scores = summary === undefined ? undefined : Object.assign(document.createElement('p'), { className: 'mod-image-check', textContent: summary });
    if (scores) {
      scores.dataset.testid = 'image-check';
      if (entry.item.imageCheck?.flagged) scores.dataset.flagged = entry.item.imageCheck.flagged;
    }
    if (card) {
      element.append(card.element, ...(scores ? [scores] : []));
      return { element, dispose: () => card.dispose() };
    }
    // No picture the page may load: the post as text, never as HTML.
    const text = document.createElement('article');
    text.className = 'tile mod-text-only';
    text.tabIndex = 0;
    text.textContent = `${handleOf(entry.item)}: ${entry.item.text}`;
    element.append(text, ...(scores ? [scores] : []));
    return { element, dispose: () => undefined };
  };

  const showState = (): void => {
    if (!session.connected) return;
    if ((subscribed.pending || pendingAbsent) && subscribed.live) showStatus('live', `Moderating ${feed.title}`);
    else showStatus('connecting', 'Subscribing…');
  };

  /**
   * The feed's pending queue, read with client-individual acknowledgements and a small window. A feed that is not in
   * approval mode has none (its worker makes it): the broker refuses the subscription (and, on Artemis, livewall's
   * guard closes the connection, which comes back by itself without it). The page says so, keeps the live wall, and
   * looks again when the moderator asks.
   */
  const pendingName = destinations.pending.slice(destinations.pending.lastIndexOf('/') + 1);
  let pendingAbsent = false;
  let stopPending: ((refused?: boolean) => void) | undefined;
  const subscribePending = (): void => {
    stopPending?.(true);
    ui.pendingRetry.hidden = true;
    stopPending = session.subscribe(destinations.pending, { ack: 'client-individual', ...PENDING_WINDOW[profile.name] }, onPending, () => {
      subscribed.pending = true;
      pendingAbsent = false;
      ui.pending.dataset.state = 'subscribed';
      render();
      showState();
    });
  };
  const pendingRefused = (): void => {
    stopPending?.(true);
    stopPending = undefined;
    subscribed.pending = false;
    pendingAbsent = true;
    ui.pending.dataset.state = 'absent';
    ui.pendingRetry.hidden = false;
    render();
    showState();
  };

  /** Runs one broker operation at a time; the buttons and keys wait while it runs. */
  const run = async (what: () => Promise<void>): Promise<void> => {
    if (busy) return;
    busy = true;
    render();
    try {
      await what();
      showNotice(undefined);
    } catch (error) {
      showNotice(`Not done: ${(error as Error).message}`);
    } finally {
      busy = false;
      render();
    }
  };

  /** A takedown travels twice: first to the durable log (the record workers read), then to the feed's topic. */
  const takedown = async (body: string): Promise<void> => {
    await session.send({ destination: destinations.log, body, headers: { persistent: 'true' } });
    await session.send({ destination: destinations.feedSend, body });
  };

  const approve = (): Promise<void> =>
    run(async () => {
      const entry = queue.current;
      if (!entry) return;
      const published = approvedItem(entry.item, allowList);
      const action = decision('approve', entry.item, login);
      const sends: Send[] = [
        { destination: destinations.feedSend, body: JSON.stringify(published) },
        { destination: destinations.log, body: JSON.stringify(action), headers: { persistent: 'true' } },
      ];
      await session.transaction(sends);
      await session.ack(entry.handle);
      queue.settle(entry.key, { kind: 'approve', item: entry.item });
      counts.approved += 1;
      say(`Approved the post by ${handleOf(entry.item)}.`);
    });

  const reject = (reason: string): Promise<void> =>
    run(async () => {
      const entry = queue.current;
      if (!entry) return;
      const action = decision('reject', entry.item, login, reason);
      await session.transaction([{ destination: destinations.log, body: JSON.stringify(action), headers: { persistent: 'true' } }]);
      await session.ack(entry.handle);
      queue.settle(entry.key, { kind: 'reject', item: entry.item, ...(action.reason !== undefined ? { reason: action.reason } : {}) });
      counts.rejected += 1;
      say(`Rejected the post by ${handleOf(entry.item)}${action.reason ? `: ${action.reason}` : ''}.`);
    });

  const skip = (): void => {
    if (busy) return;
    const entry = queue.skip();
    if (entry) say(`Skipped the post by ${handleOf(entry.item)}; it stays held until you leave.`);
    render();
  };

  const undo = (): Promise<void> =>
    run(async () => {
      const done: Done<IMessage> | undefined = queue.undo();
      if (!done) return;
      try {
        if (done.kind === 'skip') {
          say(`Back to the post by ${handleOf(done.entry.item)}.`);
        } else if (done.kind === 'approve') {
          // It is on the wall already: take it down everywhere.
          const hide = moderationAction({ action: 'hide', feed: feed.name, itemId: done.item.id, by: login, reason: 'approval undone' });
          await takedown(JSON.stringify(hide));
          counts.approved -= 1;
          say(`Undone: the post by ${handleOf(done.item)} is hidden again.`);
        } else {
          // Back on the pending queue, for this moderator or another.
          await session.send({ destination: destinations.pending, body: JSON.stringify(done.item), headers: { persistent: 'true' } });
          counts.rejected -= 1;
          say(`Undone: the post by ${handleOf(done.item)} is waiting again.`);
        }
      } catch (error) {
        queue.restore(done);
        throw error;
      }
    });

  /** A pending message that is not a valid item for this feed: counted and rejected as invalid, never shown. */
  const rejectInvalid = async (message: IMessage, why: string): Promise<void> => {
    counts.invalid += 1;
    showCounts();
    console.warn(`livewall moderate: an invalid pending message: ${why}`);
    try {
      const itemId = claimedItemId(message.binaryBody);
      if (itemId !== undefined) {
        const action = moderationAction({ action: 'reject', feed: feed.name, itemId, by: login, reason: `invalid: ${why}` });
        await session.transaction([{ destination: destinations.log, body: JSON.stringify(action), headers: { persistent: 'true' } }]);
      }
      await session.ack(message);
    } catch (error) {
      showNotice(`An invalid pending message could not be rejected: ${(error as Error).message}`);
    }
  };

  const onPending = (message: IMessage): void => {
    const result = parseFeedItem(message.binaryBody, allowList);
    const why = !result.ok ? result.reason : result.item.feed !== feed.name ? `item is for feed ${JSON.stringify(result.item.feed)}, not ${feed.name}` : undefined;
    if (!result.ok || why !== undefined) {
      void rejectInvalid(message, why ?? 'invalid');
      return;
    }
    // STOMP 1.2 names a delivery to acknowledge by its `ack` header (client-individual); 1.1 by its message-id.
    const key = message.headers.ack ?? message.headers['message-id'];
    if (key !== undefined && queue.add({ key, item: result.item, handle: message })) render();
  };

  const board = new LiveBoard(ui.live, {
    allowList,
    maxItems: config.maxItems,
    onHide: (item) =>
      void run(async () => {
        const hide = moderationAction({ action: 'hide', feed: feed.name, itemId: item.id, by: login });
        await takedown(JSON.stringify(hide));
        say(`Hidden: the post by ${handleOf(item)}.`);
      }),
    onBlock: (item) =>
      void run(async () => {
        const block = moderationAction({ action: 'block', feed: feed.name, author: { network: item.network, handle: item.author.handle }, by: login });
        await takedown(JSON.stringify(block));
        say(`Blocked ${handleOf(item)} on ${feed.title}.`);
      }),
  });

  const onLive = (message: IMessage): void => {
    const result = parseFeedMessage(message.binaryBody, allowList);
    if (!result.ok) return;
    if (result.action) {
      if (result.action.feed === feed.name) board.apply(result.action);
    } else if (result.item.feed === feed.name) {
      board.offer(result.item);
    }
  };

  const session = new ModeratorSession({
    url: config.broker.urls[0]!,
    login,
    passcode,
    heartbeatMs: config.heartbeatMs,
    ...(profile.stompVirtualHost !== undefined ? { virtualHost: profile.stompVirtualHost } : {}),
    receiptsAtCommit: RECEIPTS_AT_COMMIT[profile.name],
    onConnect: () => {
      // What the last connection held went back to the queue: it arrives again, maybe to another moderator. The live
      // wall keeps its cards: the feed's backfill brings them again (shown once) with any takedown since.
      queue.clear();
      render();
      subscribed.pending = false;
      subscribed.live = false;
      render();
    },
    onState: (state: SessionState) => {
      switch (state.state) {
        case 'connecting':
          showStatus('connecting', 'Connecting…');
          break;
        case 'connected':
          showNotice(undefined);
          showState();
          break;
        case 'reconnecting':
          showStatus('reconnecting', 'Reconnecting…');
          showNotice(state.reason);
          break;
        case 'error':
          // The broker's refusal names the queue (Artemis: the address, RabbitMQ: NOT_FOUND … 'pending.F').
          if (state.reason.includes(pendingName)) pendingRefused();
          else showNotice(state.reason);
          break;
        case 'refused':
          showStatus('error', 'Signed out');
          showNotice(`Could not sign in: ${state.reason}`);
          signOut();
          break;
      }
    },
  });

  const onKey = (event: KeyboardEvent): void => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
    switch (event.key.toLowerCase()) {
      case 'a':
        event.preventDefault();
        if (queue.current) void approve();
        break;
      case 'r':
        event.preventDefault();
        openReason();
        break;
      case 's':
        event.preventDefault();
        skip();
        break;
      case 'u':
        event.preventDefault();
        void undo();
        break;
    }
  };

  const openReason = (): void => {
    if (busy || !queue.current) return;
    ui.reasonForm.hidden = false;
    ui.reason.value = '';
    ui.reason.focus();
  };
  /** Back from the reason field to the current post. */
  const focusCard = (): void => ui.pending.querySelector<HTMLElement>('[aria-current="true"] > article')?.focus();
  const closeReason = (): void => {
    ui.reasonForm.hidden = true;
    render();
    focusCard();
  };

  const listeners = new AbortController();
  const signal = listeners.signal;
  document.addEventListener('keydown', onKey, { signal });
  ui.approve.addEventListener('click', () => void approve(), { signal });
  ui.reject.addEventListener('click', openReason, { signal });
  ui.skip.addEventListener('click', skip, { signal });
  ui.undo.addEventListener('click', () => void undo(), { signal });
  ui.pendingRetry.addEventListener('click', subscribePending, { signal });
  ui.signOut.addEventListener(
    'click',
    () => {
      signOut();
      showStatus('signed-out', 'Signed out');
      say('');
    },
    { signal },
  );
  ui.reasonForm.addEventListener(
    'submit',
    (event) => {
      event.preventDefault();
      const reason = ui.reason.value;
      ui.reasonForm.hidden = true;
      void reject(reason).then(focusCard);
    },
    { signal },
  );
  ui.cancelReject.addEventListener('click', closeReason, { signal });
  ui.reason.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Escape') closeReason();
    },
    { signal },
  );

  /** Ends the session: the connection closes (what it held goes back to the queue) and the login is forgotten. */
  const signOut = (): void => {
    listeners.abort();
    void session.stop();
    ui.signOut.hidden = true;
    board.reset();
    queue.clear();
    render();
    ui.desk.hidden = true;
    ui.who.hidden = true;
    ui.loginForm.hidden = false;
    ui.login.focus();
  };

  // Nothing of an earlier session on this page: its queue's state, counts and notices.
  delete ui.pending.dataset.state;
  ui.pendingRetry.hidden = true;
  showNotice(undefined);
  ui.title.textContent = `Moderate ${feed.title}`;
  document.title = `Moderate ${feed.title} · livewall`;
  ui.who.textContent = `Signed in as ${login}`;
  ui.who.hidden = false;
  ui.signOut.hidden = false;
  ui.loginForm.hidden = true;
  ui.desk.hidden = false;
  say('');
  render();
  subscribePending();
  session.subscribe(destinations.live, {}, onLive, () => {
    subscribed.live = true;
    showState();
  });
  session.start();
}

async function main(): Promise<void> {
  let raw: unknown;
  try {
    raw = await loadConfig();
  } catch (error) {
    showStatus('error', 'Cannot start');
    showNotice((error as Error).message);
    return;
  }
  const parsed = parseConfig(raw, location.protocol);
  if (!parsed.ok) {
    showStatus('error', 'Cannot start');
    showNotice(`The moderator page is misconfigured (/moderate/config.json): ${parsed.error}.`);
    return;
  }
  const { config, allowList } = parsed;
  ui.feed.replaceChildren(
    ...config.feeds.map((feed) => {
      const option = document.createElement('option');
      option.value = feed.name;
      option.textContent = feed.title;
      return option;
    }),
  );
  // A link may preselect the feed: /moderate#/cats.
  const wanted = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  if (config.feeds.some((feed) => feed.name === wanted)) ui.feed.value = wanted;
  ui.loginForm.hidden = false;
  ui.loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const login = ui.login.value.trim();
    const passcode = ui.passcode.value;
    // The password stays in the session's memory only: not in the form, not in any storage.
    ui.passcode.value = '';
    const feed = config.feeds.find((candidate) => candidate.name === ui.feed.value);
    if (!login || !feed) return;
    showNotice(undefined);
    moderate(config, allowList, feed, login, passcode);
  });
  ui.login.focus();
}

main().catch((error: unknown) => {
  showStatus('error', 'Cannot start');
  showNotice(`The moderator page failed to start: ${(error as Error).message}`);
});
