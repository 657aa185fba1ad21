import type { TransportState } from './connection.js';

/** What the connection is doing, as the page shows it. */
export type ConnectionState =
  | { state: 'connecting'; url: string }
  /** Connected, and the broker confirmed the feed's subscription: new posts will arrive. */
  | { state: 'live'; url: string }
  /** Waiting until `until` (epoch ms) before the next attempt, after a dropped or failed connection. */
  | { state: 'reconnecting'; until: number; reason: string }
  /** The browser says there is no network (navigator.onLine); `until` is the next attempt, if one is scheduled. */
  | { state: 'offline'; until?: number }
  /**
   * The broker refused us, or the page cannot start; `until` is set when another attempt is scheduled. `notLive`: the
   * feed does not exist on the broker yet (nobody has published to it), and the page keeps trying.
   */
  | { state: 'error'; reason: string; until?: number; notLive?: string };

/**
 * What the page shows for the connection's state: live only once the feed's subscription is confirmed, and offline
 * instead of connecting or a countdown while the browser reports no network (a refusal from the broker still shows:
 * it proves the network works). A connection that is up stays live even when the browser says offline: a broker
 * on this machine is still reachable, and a dead link is found by the heart-beats.
 */
export function presentState(transport: TransportState, feedSubscribed: boolean, online: boolean): ConnectionState {
  switch (transport.state) {
    case 'connected':
      return feedSubscribed ? { state: 'live', url: transport.url } : { state: 'connecting', url: transport.url };
    case 'connecting':
      return online ? transport : { state: 'offline' };
    case 'reconnecting':
      return online ? transport : { state: 'offline', until: transport.until };
    case 'error':
      return transport;
  }
}

export interface StatusText {
  label: string;
  detail: string;
}

function seconds(until: number, now: number): number {
  return Math.max(0, Math.ceil((until - now) / 1000));
}

function where(url: string): string {
  if (!url) return 'the broker';
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The pill's label and the longer explanation under it. */
export function describeState(state: ConnectionState, now: number): StatusText {
  switch (state.state) {
    case 'connecting':
      return { label: 'Connecting…', detail: `Connecting to ${where(state.url)}` };
    case 'live':
      return { label: 'Live', detail: `Receiving new posts from ${where(state.url)}` };
    case 'reconnecting': {
      const left = seconds(state.until, now);
      return { label: left > 0 ? `Reconnecting in ${left} s` : 'Reconnecting…', detail: state.reason };
    }
    case 'offline': {
      const left = state.until === undefined ? 0 : seconds(state.until, now);
      const next = left > 0 ? ` (next try in ${left} s)` : '';
      return { label: 'Offline', detail: `This device is offline: the wall reconnects as soon as the network is back${next}` };
    }
    case 'error': {
      const label = state.notLive ? 'Not live yet' : 'Error';
      if (state.until === undefined) return { label, detail: state.reason };
      const left = seconds(state.until, now);
      return { label, detail: `${state.reason} · retrying ${left > 0 ? `in ${left} s` : 'now'}` };
    }
  }
}

/** What a screen reader hears when the state changes. */
export function announcement(state: ConnectionState): string {
  switch (state.state) {
    case 'connecting':
      return 'Connecting to the live feed.';
    case 'live':
      return 'Live: new posts appear at the top.';
    case 'reconnecting':
      return `Connection lost. ${state.reason}. Reconnecting.`;
    case 'offline':
      return 'Offline. The wall reconnects when the network is back.';
    case 'error':
      return state.notLive ? `Not live yet. ${state.reason}. Trying again.` : `Error: ${state.reason}`;
  }
}

/** Renders the state into the header's pill (`data-testid="status"`) and the detail line below the header. */
export class StatusView {
  private current: ConnectionState | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly pill: HTMLElement,
    private readonly text: HTMLElement,
    private readonly detail: HTMLElement,
    /** A polite live region: told about changes of state, not about every tick of a countdown. */
    private readonly announce: HTMLElement,
  ) {}

  show(state: ConnectionState): void {
    const changed = this.current?.state !== state.state;
    this.current = state;
    this.render();
    if (changed) this.announce.textContent = announcement(state);
    const counting = (state.state === 'reconnecting' || state.state === 'offline' || state.state === 'error') && state.until !== undefined;
    if (counting && this.timer === undefined) {
      this.timer = setInterval(() => this.render(), 1000);
    } else if (!counting && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private render(): void {
    const state = this.current;
    if (!state) return;
    const { label, detail } = describeState(state, Date.now());
    this.pill.dataset.state = state.state;
    this.pill.title = detail;
    if (this.text.textContent !== label) this.text.textContent = label;
    // The detail line is for trouble only: a live wall keeps its header quiet.
    const troubled = state.state === 'reconnecting' || state.state === 'offline' || state.state === 'error';
    this.detail.hidden = !troubled;
    this.detail.dataset.state = state.state;
    const shown = troubled ? detail : '';
    if (this.detail.textContent !== shown) this.detail.textContent = shown;
  }
}
