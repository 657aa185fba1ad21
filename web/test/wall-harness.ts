/**
 * What the page's Chromium tests share: the page built with Vite, served by createApp on free ports, fed by STOMP
 * SENDs as admin to the real test broker, and opened in Debian's headless Chromium (playwright-core).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@stomp/stompjs';
import type { FeedItem } from '@livewall/contract';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { build } from 'vite';
import { expect } from 'vitest';
import { declareFeed, testBroker, type TestBroker } from '../../test/broker.js';
import { connectStomp } from '../../test/stomp.js';
import { TcpProxy } from '../../test/tcp-proxy.js';
import { createApp, type WebOptions } from '../server/server.js';
import { CAT_LOOKS, catPng } from './png.js';

const webDir = fileURLToPath(new URL('..', import.meta.url));

export interface WallPage {
  page: Page;
  /** Console errors, page errors and CSP or Trusted Types violations seen by the page. */
  problems: string[];
  cspHeader: string;
}

export interface OpenOptions {
  /** The server to open; the harness's own by default. */
  origin?: string;
  /** How the page names the feed: `?feed=` (the older link) or `#/` (the default). */
  link?: 'query' | 'hash';
  context?: BrowserContextOptions;
  /** Runs on the new context before the page opens: init scripts, WebSocket routes. */
  prepare?: (context: BrowserContext) => Promise<unknown>;
}

export class WallHarness {
  /** Unique per test file: feed names and item ids of one run never meet another's. */
  readonly run = randomBytes(4).toString('hex');
  dir = '';
  /** The harness's server: serve() makes more. */
  base = '';
  browser!: Browser;
  publisher!: Client;
  private readonly servers: Server[] = [];
  private readonly proxies: TcpProxy[] = [];
  private sequence = 0;

  constructor(private readonly label: string) {}

  /** A feed of its own for each test: the broker replays a feed's last items to new subscribers. */
  feedName(label: string): string {
    return `${this.label}-${this.run}-${label}`;
  }

  /** The test broker's STOMP-over-WebSocket URL. */
  get brokerUrl(): string {
    return testBroker().wsUrl;
  }

  get webRoot(): string {
    return path.join(this.dir, 'dist');
  }

  get media(): string {
    return path.join(this.dir, 'media');
  }

  /** Builds the page, serves it with `feeds`, connects the publisher and starts Chromium. */
  async start(feeds: string[], options: Partial<WebOptions> = {}): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), `livewall-${this.label}-it-`));
    await build({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: this.webRoot, emptyOutDir: true } });
    await mkdir(this.media);
    await Promise.all(CAT_LOOKS.map((look, index) => writeFile(path.join(this.media, `cat-${index}.png`), catPng(look))));

    const broker = testBroker();
    this.base = await this.serve((origin) => ({ brokerUrls: [this.brokerUrl], feeds: feeds.map((name) => ({ name, title: name })), imageHosts: [origin], ...options }));
    // Heart-beats keep it through a long quiet test (a broker restart elsewhere): without them the broker drops an
    // idle connection after its connection TTL (60 s).
    this.publisher = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin }, { heartbeatMs: 10_000 });
    this.browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.publisher?.deactivate();
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise((resolve) => {
            server.closeAllConnections();
            server.close(resolve);
          }),
      ),
    );
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Serves createApp(options) on a free port, with the built page and the test images; the options may depend on
   * the port (the image host entry).
   */
  async serve(options: (origin: string) => WebOptions, broker: TestBroker = testBroker()): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const served = options(origin);
    // The feeds exist on the broker, as a worker's publisher makes them: a viewer may not.
    await Promise.all((served.feeds ?? []).map((feed) => declareFeed(feed.name, broker)));
    server.on('request', createApp({ webRoot: this.webRoot, demoMedia: this.media, ...served }));
    return origin;
  }

  /** A TCP proxy in front of the broker's STOMP port, closed with the harness; resolves with its ws:// URL. */
  async brokerProxy(): Promise<{ proxy: TcpProxy; url: string }> {
    const broker = testBroker();
    const proxy = new TcpProxy(broker.host, broker.stompPort);
    this.proxies.push(proxy);
    return { proxy, url: `ws://127.0.0.1:${await proxy.listen()}` };
  }

  /** A valid item for `feed` whose image the server at `origin` serves. */
  feedItem(feed: string, origin = this.base, change: Partial<FeedItem> = {}): FeedItem {
    const n = ++this.sequence;
    const now = new Date(Date.now() - 1000 + n).toISOString();
    const image = `${origin}/demo/media/cat-${n % CAT_LOOKS.length}.png`;
    return {
      v: 1,
      id: `bluesky:${this.run}-${n}`,
      feed,
      network: 'bluesky',
      url: `https://bsky.app/profile/alice.bsky.social/post/${this.run}${n}`,
      author: { handle: 'alice.bsky.social', name: 'Alice' },
      text: `post number ${n}`,
      images: [{ url: image, thumb: image, alt: 'A cat', width: 320, height: 320 }],
      createdAt: now,
      receivedAt: now,
      publishedAt: now,
      ...change,
    };
  }

  publish(feed: string, body: FeedItem | string): void {
    this.publisher.publish({ destination: `/topic/feed.${feed}`, body: typeof body === 'string' ? body : JSON.stringify(body) });
  }

  /** Opens `feed` in a page of its own and waits until it is live. */
  async openWall(feed: string, options: OpenOptions = {}): Promise<WallPage> {
    const context = await this.browser.newContext(options.context);
    await options.prepare?.(context);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy|Refused to|Trusted Type/.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const link = options.link === 'query' ? `/?feed=${feed}` : `/#/${feed}`;
    const response = await page.goto(`${options.origin ?? this.base}${link}`);
    expect(response?.status()).toBe(200);
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 20_000 });
    return { page, problems, cspHeader: (await response?.headerValue('content-security-policy')) ?? '' };
  }
}

/**
 * How long a test waits for cards that come only in a subscription's backfill (a page opened on items published
 * before, a reconnect's replay): the wall holds a backfill until its broker has been quiet for a second after
 * confirming the subscription (web/src/backfill.ts), longer than expect.poll's default second. A bound, not a
 * measure: the wait ends as soon as the cards are there.
 */
export const BACKFILLED = { timeout: 10_000 } as const;

/** The ids of the cards on the wall, top first. */
export const tileIds = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid="tile"]', (tiles) => tiles.map((tile) => (tile as HTMLElement).dataset.id ?? ''));

export const invalidCount = (page: Page): Promise<string | null> => page.textContent('[data-testid="invalid-count"]');

/** Resolves after the page has rendered two more frames: what a scroll or a click set in motion has been handled. */
export const frames = (page: Page): Promise<void> =>
  page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));

/** What assistive technology is told about an element: its role, accessible name and description, as Chromium computes them. */
export interface Accessible {
  role: string;
  name: string;
  description: string;
}

/** The accessibility of every element matching `selector`, in document order (through CDP, so CSS content counts). */
export async function accessibility(page: Page, selector: string): Promise<Accessible[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector });
    const found: Accessible[] = [];
    for (const nodeId of nodeIds) {
      const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
      const node = nodes[0];
      found.push({ role: String(node?.role?.value ?? ''), name: String(node?.name?.value ?? ''), description: String(node?.description?.value ?? '') });
    }
    return found;
  } finally {
    await cdp.detach();
  }
}

/**
 * Holds what the broker sends a page while `holding` is on; `release` hands it all over at once, in one WebSocket
 * message (STOMP frames end with a NUL, so several may share one: stompjs parses them in turn, in one task).
 * Install with `prepare` when opening the page.
 */
export class HeldFrames {
  holding = false;
  private held: string[] = [];
  private send: ((frames: string) => void) | undefined;

  /** STOMP MESSAGE frames waiting. */
  get messages(): number {
    return this.held.filter((frame) => frame.startsWith('MESSAGE')).length;
  }

  install = (context: BrowserContext): Promise<void> =>
    context.routeWebSocket(/^wss?:/, (pageSide) => {
      const brokerSide = pageSide.connectToServer();
      brokerSide.onMessage((frame) => {
        if (!this.holding) return pageSide.send(frame);
        this.held.push(frame.toString());
        this.send = (frames) => pageSide.send(frames);
      });
    });

  release(): void {
    this.holding = false;
    const frames = this.held.join('');
    this.held = [];
    if (frames !== '') this.send?.(frames);
  }
}
