/**
 * The page's defences in a real Chromium against the real test broker: Trusted Types and the CSP enforced with no
 * violation in a normal run, hostile feed items shown as text or dropped, no write credential in anything the browser
 * gets, and the same-origin WebSocket proxy.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@stomp/stompjs';
import type { FeedItem } from '@livewall/contract';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareFeed, testBroker } from '../test/broker.js';
import { connectStomp } from '../test/stomp.js';
import { createApp, resolveOptions, UpgradeHandler, type WebOptions } from './server/server.js';
import { CAT_LOOKS, catPng } from './test/png.js';

const webDir = path.dirname(fileURLToPath(import.meta.url));
const run = randomBytes(4).toString('hex');
/** A feed of its own for each test: the broker replays a feed's last items to new subscribers. */
const feedName = (label: string): string => `safe-${run}-${label}`;

let dir: string;
let outDir: string;
let media: string;
let browser: Browser;
let publisher: Client;
let base: string;
const servers: Server[] = [];
const upgradeHandlers: UpgradeHandler[] = [];

/** Serves createApp and the upgrade handler, as main() does, on a free port; options may depend on the origin. */
async function serve(input: (origin: string) => WebOptions): Promise<{ origin: string; upgrades: UpgradeHandler }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const options = resolveOptions(input(origin));
  // The feeds exist on the broker, as a worker's publisher makes them: a viewer may not.
  await Promise.all(options.feeds.map((feed) => declareFeed(feed.name)));
  const upgrades = new UpgradeHandler(options.wsProxy);
  upgradeHandlers.push(upgrades);
  server.on('request', createApp(options));
  server.on('upgrade', upgrades.listener);
  return { origin, upgrades };
}

const siteOptions = (origin: string, feed: string): WebOptions => ({
  webRoot: outDir,
  feeds: [{ name: feed, title: feed }],
  imageHosts: [origin],
  demoMedia: media,
});

beforeAll(async () => {
  const broker = testBroker();
  dir = await mkdtemp(path.join(tmpdir(), 'livewall-safety-it-'));
  outDir = path.join(dir, 'dist');
  media = path.join(dir, 'media');
  // Built with the write passwords in the environment, as on a machine that runs the broker too: none may end up in
  // the bundle (Vite exposes only VITE_ variables, unless someone widens envPrefix or `define`s them).
  const saved = { admin: process.env.LIVEWALL_ADMIN_PASSWORD, publisher: process.env.LIVEWALL_PUBLISHER_PASSWORD };
  process.env.LIVEWALL_ADMIN_PASSWORD = broker.passwords.admin;
  process.env.LIVEWALL_PUBLISHER_PASSWORD = broker.passwords.publisher;
  try {
    await build({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    for (const [user, value] of Object.entries(saved)) {
      const variable = `LIVEWALL_${user.toUpperCase()}_PASSWORD`;
      if (value === undefined) delete process.env[variable];
      else process.env[variable] = value;
    }
  }
  await mkdir(media);
  await Promise.all(CAT_LOOKS.map((look, index) => writeFile(path.join(media, `cat-${index}.png`), catPng(look, 64))));

  ({ origin: base } = await serve((origin) => ({
    ...siteOptions(origin, feedName('x')),
    feeds: ['normal', 'hostile'].map((label) => ({ name: feedName(label), title: label })),
    brokerUrls: [broker.wsUrl],
    // The page logs in as the broker's subscribe-only viewer: its passcode is public, the write users' are not.
    viewerLogin: 'viewer',
    viewerPasscode: broker.passwords.viewer,
  })));
  publisher = await connectStomp(broker.operatorWsUrl, { login: 'admin', passcode: broker.passwords.admin });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

afterAll(async () => {
  await browser?.close();
  await publisher?.deactivate();
  for (const upgrades of upgradeHandlers) upgrades.closeAll();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

let sequence = 0;

function feedItem(feed: string, origin: string, change: Partial<FeedItem> = {}): FeedItem {
  const n = ++sequence;
  const now = new Date(Date.now() - 1000 + n).toISOString();
  const image = `${origin}/demo/media/cat-${n % CAT_LOOKS.length}.png`;
  return {
    v: 1,
    id: `bluesky:${run}-${n}`,
    feed,
    network: 'bluesky',
    url: `https://bsky.app/profile/alice.bsky.social/post/${run}${n}`,
    author: { handle: 'alice.bsky.social', name: 'Alice' },
    text: `post number ${n}`,
    images: [{ url: image, thumb: image, alt: 'A cat', width: 64, height: 64 }],
    createdAt: now,
    receivedAt: now,
    publishedAt: now,
    ...change,
  };
}

function publish(feed: string, body: object | string): void {
  publisher.publish({ destination: `/topic/feed.${feed}`, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Before any page script: a trap for injected code, and a record of every CSP and Trusted Types violation. */
const INIT_SCRIPT = `
  window.__pwned = [];
  window.__pwn = (where) => window.__pwned.push(String(where));
  window.__violations = [];
  window.addEventListener('securitypolicyviolation', (event) => {
    window.__violations.push(event.effectiveDirective + ' ' + event.blockedURI + ' ' + (event.sample || ''));
  }, true);
`;

interface WallPage {
  page: Page;
  /** Console errors and uncaught exceptions. */
  problems: string[];
  /** Every URL the page requested over HTTP. */
  requests: string[];
  /** WebSocket URLs the page opened. */
  sockets: string[];
  /** Dedicated workers the page started. */
  workers: string[];
  csp: string;
}

async function openWall(feed: string, origin = base): Promise<WallPage> {
  const page = await browser.newPage();
  const wall: WallPage = { page, problems: [], requests: [], sockets: [], workers: [], csp: '' };
  await page.addInitScript(INIT_SCRIPT);
  page.on('console', (message) => {
    if (message.type() === 'error') wall.problems.push(message.text());
  });
  page.on('pageerror', (error) => wall.problems.push(error.message));
  page.on('request', (request) => wall.requests.push(request.url()));
  page.on('websocket', (socket) => wall.sockets.push(socket.url()));
  page.on('worker', (worker) => wall.workers.push(worker.url()));
  const response = await page.goto(`${origin}/?feed=${feed}`);
  expect(response?.status()).toBe(200);
  wall.csp = (await response?.headerValue('content-security-policy')) ?? '';
  await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 20_000 });
  return wall;
}

const violations = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
const pwned = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __pwned: string[] }).__pwned);

/** Requests to anywhere but our origin (the heart-beat worker's blob: is ours too). */
const foreign = (requests: string[]): string[] => requests.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith(`blob:${base}/`));

/** The CSP's directives, by name. */
function directives(header: string): Map<string, string> {
  return new Map(
    header
      .split(';')
      .map((directive) => directive.trim())
      .filter(Boolean)
      .map((directive) => {
        const space = directive.indexOf(' ');
        return space < 0 ? [directive, ''] : [directive.slice(0, space), directive.slice(space + 1).trim()];
      }),
  );
}

describe('the page under Trusted Types and its CSP', () => {
  it('runs a normal session with no violation: heart-beat worker from a blob, a post and its image', async () => {
    const feed = feedName('normal');
    const wall = await openWall(feed);
    const { page } = wall;
    const csp = directives(wall.csp);
    expect(csp.get('require-trusted-types-for')).toBe("'script'");
    expect(csp.get('trusted-types')).toBe('default');
    expect(csp.get('connect-src')).toBe(`'self' ${testBroker().wsUrl}`);
    expect(csp.get('img-src')).toBe(`'self' https://pbs.twimg.com https://cdn.bsky.app ${base}`);
    expect(csp.get('worker-src')).toBe('blob:');
    expect(csp.get('script-src')).toBe("'self'");

    // stompjs's heart-beat ticker: new Worker(blob URL), let through by the default policy.
    await expect.poll(() => wall.workers.length).toBe(1);
    expect(wall.workers[0]).toMatch(new RegExp(`^blob:${base}/[0-9a-f-]{36}$`));

    const item = feedItem(feed, base);
    publish(feed, item);
    const tile = page.locator(`[data-testid="tile"][data-id="${item.id}"]`);
    await tile.waitFor();
    await expect.poll(() => tile.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(64);

    expect(await violations(page)).toEqual([]);
    expect(wall.problems).toEqual([]);
    expect(wall.sockets).toEqual([new URL(testBroker().wsUrl).href]);
    expect(foreign(wall.requests)).toEqual([]);
    await page.close();
  });

  it('enforces them: HTML and script sinks throw, no other policy can be made, no other worker can start', async () => {
    const { page } = await openWall(feedName('normal'));
    const outcomes = await page.evaluate(() => {
      const attempt = (run: () => void): string => {
        try {
          run();
          return 'allowed';
        } catch (error) {
          return (error as Error).message;
        }
      };
      const factory = (window as unknown as { trustedTypes: { createPolicy(name: string, rules: object): unknown } }).trustedTypes;
      return {
        innerHTML: attempt(() => {
          document.createElement('div').innerHTML = '<img src=x onerror="__pwn(`innerHTML`)">';
        }),
        insertAdjacentHTML: attempt(() => document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="__pwn(`adjacent`)">')),
        worker: attempt(() => new Worker('data:text/javascript,1')),
        sameOriginWorker: attempt(() => new Worker('/assets/evil.js')),
        policy: attempt(() => factory.createPolicy('escape-hatch', { createHTML: (input: string) => input })),
        secondDefault: attempt(() => factory.createPolicy('default', {})),
      };
    });
    expect(outcomes.innerHTML).toMatch(/livewall never turns a string into HTML/);
    expect(outcomes.insertAdjacentHTML).toMatch(/livewall never turns a string into HTML/);
    expect(outcomes.worker).toMatch(/livewall loads no script from "data:text\/javascript,1"/);
    expect(outcomes.sameOriginWorker).toMatch(/livewall loads no script from "\/assets\/evil\.js"/);
    expect(outcomes.policy).not.toBe('allowed');
    expect(outcomes.secondDefault).not.toBe('allowed');
    // The CSP refused the extra policy (and its violation reached our listener); nothing ran.
    expect(await violations(page)).toContainEqual(expect.stringMatching(/^trusted-types /));
    expect(await pwned(page)).toEqual([]);
    await page.close();
  });

  it('is built without a Trusted Types sink or a module-preload polyfill of its own', async () => {
    const assets = path.join(outDir, 'assets');
    const scripts = new Map<string, string>();
    for (const name of (await readdir(assets)).filter((file) => file.endsWith('.js'))) scripts.set(name, await readFile(path.join(assets, name), 'utf8'));
    expect(scripts.size).toBeGreaterThan(0);
    for (const [name, code] of scripts) {
      expect(code, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|srcdoc|createContextualFragment|new Function|\beval\(/);
      expect(code, name).not.toMatch(/modulepreload/);
    }
    // The only worker: stompjs's ticker, from a blob. (The wall and the moderator's page are built together: their
    // shared code, stompjs and the Trusted Types policy among it, is a chunk of its own.)
    const all = [...scripts.values()].join('\n');
    expect(all.match(/new Worker\(/g)).toHaveLength(1);
    expect(all).toMatch(/new Worker\(URL\.createObjectURL\(/);
    // The policy is made before anything else runs: first in its chunk, ahead of the worker, and that chunk is the
    // wall's entry or the first module the entry imports (imports run before the module that imports them).
    const withPolicy = [...scripts].filter(([, code]) => /createPolicy\([`'"]default[`'"]/.test(code)).map(([name]) => name);
    expect(withPolicy).toHaveLength(1);
    const policyChunk = scripts.get(withPolicy[0]!)!;
    const policy = policyChunk.search(/createPolicy\([`'"]default[`'"]/);
    if (policyChunk.includes('new Worker(')) expect(policy).toBeLessThan(policyChunk.indexOf('new Worker('));
    const html = await readFile(path.join(outDir, 'index.html'), 'utf8');
    const entry = /<script type="module"[^>]*\ssrc="\/assets\/([^"]+\.js)"/.exec(html)?.[1];
    expect(entry && scripts.has(entry), `index.html's script: ${entry}`).toBe(true);
    if (entry !== withPolicy[0]) expect(/^import\s*\{[^}]*\}\s*from\s*"\.\/([^"]+)"/.exec(scripts.get(entry!)!)?.[1]).toBe(withPolicy[0]);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });
});

describe('hostile feed items', () => {
  it('show as text or are dropped and counted: nothing runs, nothing is injected, no other host is asked', async () => {
    const feed = feedName('hostile');
    const wall = await openWall(feed);
    const { page } = wall;

    // A harmless post with the same parts (name, text, one image): what a tile is made of.
    const reference = feedItem(feed, base);
    publish(feed, reference);
    await page.locator(`[data-testid="tile"][data-id="${reference.id}"]`).waitFor();
    const shapeOf = (id: string): Promise<string[]> =>
      page.locator(`[data-testid="tile"][data-id="${id}"]`).evaluate((tile) => [...tile.querySelectorAll('*')].map((element) => element.tagName));
    const shape = await shapeOf(reference.id);

    const image = (thumb: string): FeedItem['images'] => [{ url: thumb, thumb, alt: 'A cat' }];
    const shown: FeedItem[] = [
      feedItem(feed, base, { text: `"><img src=x onerror=__pwn('text') javascript:__pwn('text') &lt;script&gt; &amp; '' "" \`\`` }),
      feedItem(feed, base, { author: { handle: `x" onmouseover="__pwn('handle')`, name: `<img src=x onerror=__pwn('name')` } }),
      feedItem(feed, base, {
        text: '\u202Egnp.exe\u202C \u2066isolated\u2069 \u200Fright-to-left mark, \u202Bembedding',
        author: { handle: 'bidi.example', name: '\u202EecilA' },
      }),
      feedItem(feed, base, { images: [{ ...feedItem(feed, base).images[0]!, alt: `" onerror="__pwn('alt')" data-x="` }] }),
      // An allowed image URL with markup in its query is still only a URL.
      feedItem(feed, base, { images: image(`${base}/demo/media/cat-1.png?"><script>__pwn('query')</script>`) }),
    ];
    const dropped: (object | string)[] = [
      feedItem(feed, base, { text: `<script>__pwn('script')</script>` }),
      feedItem(feed, base, { text: `<img src=x onerror=__pwn('img')>` }),
      feedItem(feed, base, { author: { handle: 'eve', name: `<svg onload=__pwn('svg')>` } }),
      feedItem(feed, base, { images: [{ ...feedItem(feed, base).images[0]!, alt: `<img src=x onerror=__pwn('alt-tag')>` }] }),
      feedItem(feed, base, { url: `javascript:__pwn('url')` }),
      feedItem(feed, base, { url: `\tJaVaScRiPt:__pwn('url-case')` }),
      feedItem(feed, base, { author: { handle: 'eve', url: `javascript:__pwn('author-url')` } }),
      // https, but off the post's network: a Bluesky post may link only to bsky.app.
      feedItem(feed, base, { url: 'https://bsky.app.evil.example/profile/alice.bsky.social/post/1' }),
      feedItem(feed, base, { author: { handle: 'eve', url: 'https://evil.example/@eve' } }),
      feedItem(feed, base, { images: image('https://evil.example/pwn.png') }),
      feedItem(feed, base, { images: image('//evil.example/protocol-relative.png') }),
      feedItem(feed, base, { images: image(`${base}@evil.example/credentials.png`) }),
      feedItem(feed, base, { images: image(`data:image/svg+xml,<svg onload="__pwn('data')"/>`) }),
      { ...feedItem(feed, base), html: `<img src=x onerror=__pwn('extra-field')>` },
      '<script>__pwn("not-json")</script>',
    ];
    for (const item of [...dropped, ...shown]) publish(feed, item);
    const last = feedItem(feed, base);
    publish(feed, last);
    await page.locator(`[data-testid="tile"][data-id="${last.id}"]`).waitFor();

    // Every hostile message was taken in: the dropped ones are counted, the rest are tiles, and the page is still live.
    expect(await page.textContent('[data-testid="invalid-count"]')).toBe(String(dropped.length));
    const ids = await page.$$eval('[data-testid="tile"]', (tiles) => tiles.map((tile) => (tile as HTMLElement).dataset.id));
    expect(ids).toEqual([last, ...[...shown].reverse(), reference].map((item) => item.id));
    expect(await page.getAttribute('[data-testid="status"]', 'data-state')).toBe('live');

    // A right-to-left override in a name or a text stays inside it: the handle, on the line after the name, still
    // reads left to right, and the name and the text are each isolated (bidi) from the rest of the card.
    const bidi = page.locator(`[data-testid="tile"][data-id="${shown[2]!.id}"]`);
    const handleReadsLeftToRight = await bidi.locator('.tile-author').evaluate((element) => {
      const text = element.firstChild as Text;
      const left = (index: number): number => {
        const range = document.createRange();
        range.setStart(text, index);
        range.setEnd(text, index + 1);
        return range.getBoundingClientRect().left;
      };
      return left(text.data.indexOf('@')) < left(text.data.length - 1);
    });
    expect(handleReadsLeftToRight).toBe(true);
    expect(await bidi.locator('.tile-author').evaluate((element) => getComputedStyle(element).unicodeBidi)).toBe('plaintext');
    expect(await bidi.locator('.tile-text').evaluate((element) => getComputedStyle(element).unicodeBidi)).toBe('isolate');

    for (const item of shown) {
      const tile = page.locator(`[data-testid="tile"][data-id="${item.id}"]`);
      expect(await shapeOf(item.id)).toEqual(shape);
      expect(await tile.locator('.tile-text').textContent()).toBe(item.text);
      expect(await tile.locator('.tile-author').textContent()).toBe(`${item.author.name}\n@${item.author.handle}`);
      expect(await tile.locator('img').getAttribute('alt')).toBe(item.images[0]!.alt);
      expect(await tile.locator('img').getAttribute('src')).toBe(item.images[0]!.thumb);
      expect(await tile.locator('a').getAttribute('href')).toBe(item.url);
    }
    // No event-handler attribute and no link other than https anywhere on the wall.
    const handlers = await page.$$eval('#wall *', (elements) =>
      elements.flatMap((element) => [...element.attributes].filter((attribute) => attribute.name.startsWith('on')).map((attribute) => attribute.name)),
    );
    expect(handlers).toEqual([]);
    expect(await page.$$eval('#wall a', (links) => links.map((link) => (link as HTMLAnchorElement).protocol).filter((protocol) => protocol !== 'https:'))).toEqual([]);
    // No image element points anywhere but our origin, so none can be requested from elsewhere later either.
    expect(await page.$$eval('#wall img', (images) => images.map((img) => img.getAttribute('src')).filter((src) => !src?.startsWith(`${location.origin}/`)))).toEqual([]);

    expect(await pwned(page)).toEqual([]);
    expect(await violations(page)).toEqual([]);
    expect(foreign(wall.requests)).toEqual([]);
    expect(wall.problems).toEqual([]);
    await page.close();
  });
});

describe('write credentials', () => {
  it('are in neither /config.json nor any built file; the viewer’s are the only ones the page gets', async () => {
    const { passwords } = testBroker();
    const config = await (await fetch(`${base}/config.json`)).text();
    expect(JSON.parse(config)).toMatchObject({ broker: { login: 'viewer', passcode: passwords.viewer } });
    const files = (await readdir(outDir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.length).toBeGreaterThan(2);
    for (const text of [config, ...(await Promise.all(files.map((file) => readFile(path.join(file.parentPath, file.name), 'utf8'))))]) {
      expect(text).not.toContain(passwords.admin);
      expect(text).not.toContain(passwords.publisher);
    }
  });
});

describe('the same-origin WebSocket proxy', () => {
  it('is the page’s only broker URL: the page goes live through it, and closing the page closes the tunnel', async () => {
    const broker = testBroker();
    const feed = feedName('proxy');
    const { origin, upgrades } = await serve((own) => ({ ...siteOptions(own, feed), wsProxy: broker.wsUrl }));
    const proxyUrl = `${origin.replace('http:', 'ws:')}/stomp`;
    expect(await (await fetch(`${origin}/config.json`)).json()).toMatchObject({ broker: { urls: [proxyUrl] } });

    const wall = await openWall(feed, origin);
    expect(directives(wall.csp).get('connect-src')).toBe(`'self' ${proxyUrl}`);
    expect(wall.sockets).toEqual([proxyUrl]);
    expect(upgrades.open).toBe(1);

    const item = feedItem(feed, origin);
    publish(feed, item);
    await wall.page.locator(`[data-testid="tile"][data-id="${item.id}"]`).waitFor();
    expect(await violations(wall.page)).toEqual([]);
    expect(wall.problems).toEqual([]);

    await wall.page.close();
    await expect.poll(() => upgrades.open).toBe(0);
  });
});
