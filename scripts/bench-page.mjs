// The page under benchmark: built with Vite into a scratch folder, served by the real web server (createApp from
// web/dist-server, the sample pictures at /demo/media/), opened in Debian's headless Chromium with playwright-core,
// with recorders installed before the page's own scripts run:
//   - every `livewall:shown` mark the wall takes (web/src/wall.ts: one per card, once its frame is rendered), as
//     [item id, performance.timeOrigin + startTime] — the on-screen time of each item, taken inside the page;
//   - every long task (PerformanceObserver 'longtask') and, where Chromium has them, long animation frames with
//     where their time went (scripts, rendering update, style and layout);
//   - frames: an animation-frame callback counts the frames drawn and notes each gap over 50 ms between two.
// Benchmarks drain the recorders with drain() as they go, so the page keeps nothing extra for long.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { createApp } from '../web/dist-server/server.js';
import { MEDIA_DIR } from './bench-feed.mjs';
import { nowMs } from './bench-measure.mjs';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

/** Builds the page (vite build) into `dir`/dist and returns that folder. */
export async function buildPage(dir) {
  const outDir = join(dir, 'dist');
  await build({ root: webDir, configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/**
 * Serves the built page on a free port of 127.0.0.1, for `feeds` (names), with `brokerUrl` as the page's broker and
 * the server's own origin as the image host. Resolves with { origin, close }.
 */
export async function servePage({ webRoot, brokerUrl, feeds }) {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  server.on('request', createApp({ webRoot, demoMedia: MEDIA_DIR, brokerUrls: [brokerUrl], feeds: feeds.map((name) => ({ name, title: name })), imageHosts: [origin] }));
  return {
    origin,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** Debian's Chromium, headless, with the flags that keep it off the (closed) network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Runs in the page before its scripts: the recorders described at the top of this file. */
function installRecorders() {
  const recorded = { shown: [], longTasks: [], longFrames: [], frames: 0, slowFrames: [] };
  globalThis.__livewallBench = recorded;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === 'livewall:shown') recorded.shown.push([entry.detail.id, performance.timeOrigin + entry.startTime]);
    }
  }).observe({ type: 'mark' });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) recorded.longTasks.push([performance.timeOrigin + entry.startTime, entry.duration]);
  }).observe({ type: 'longtask', buffered: true });
  if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // Where the frame's time went: scripts (with the first one's invoker), and the rendering update from
        // renderStart on (rAF callbacks, style, layout, paint); the rest is work no script ran (GC, parsing, ...).
        const end = entry.startTime + entry.duration;
        const scriptMs = entry.scripts.reduce((sum, script) => sum + script.duration, 0);
        const renderMs = entry.renderStart > 0 ? end - entry.renderStart : 0;
        const styleLayoutMs = entry.styleAndLayoutStart > 0 ? end - entry.styleAndLayoutStart : 0;
        const longest = entry.scripts.reduce((max, script) => (!max || script.duration > max.duration ? script : max), undefined);
        recorded.longFrames.push([performance.timeOrigin + entry.startTime, entry.duration, entry.blockingDuration, scriptMs, renderMs, styleLayoutMs, longest ? `${longest.invoker} (${Math.round(longest.duration)} ms)` : '']);
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  }
  // Frames: an animation-frame callback counts each one the page draws, and notes those more than 50 ms after the last.
  let last;
  const frame = (now) => {
    recorded.frames++;
    if (last !== undefined && now - last > 50) recorded.slowFrames.push([performance.timeOrigin + last, now - last]);
    last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/**
 * Opens /<search>#/<feed> (`search`: e.g. '?screen' for screen mode) in a context of its own (a desktop window,
 * 1280 × 860, unless `contextOptions` say otherwise) and waits until the page says it is live (subscribed). Resolves with the
 * page, a CDP session on it, the problems it reported (console errors, page errors), and drain(), which takes what
 * the recorders hold: { shown: [[id, ms]], longTasks: [[startMs, durationMs]], longFrames: [[startMs, durationMs,
 * blockingMs, scriptMs, renderMs, styleLayoutMs, longest script]], frames (drawn since the last drain), slowFrames:
 * [[startMs, gapMs]] }.
 */
export async function openWall(browser, origin, feed, contextOptions = {}, search = '') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...contextOptions });
  await context.addInitScript(installRecorders);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${origin}/${search}#/${feed}`);
  try {
    await page.waitForSelector('[data-testid="status"][data-state="live"]', { state: 'attached', timeout: 30_000 });
  } catch (error) {
    const status = await page.evaluate(() => document.querySelector('[data-testid="status"]')?.outerHTML).catch(() => undefined);
    throw new Error(`the wall did not go live in 30 s (status: ${status}; problems: ${problems.join(' | ') || 'none'})`, { cause: error });
  }
  const cdp = await context.newCDPSession(page);
  return {
    page,
    cdp,
    problems,
    drain: () =>
      page.evaluate(() => {
        const recorded = globalThis.__livewallBench;
        const frames = recorded.frames;
        recorded.frames = 0;
        return { shown: recorded.shown.splice(0), longTasks: recorded.longTasks.splice(0), longFrames: recorded.longFrames.splice(0), frames, slowFrames: recorded.slowFrames.splice(0) };
      }),
    close: () => context.close(),
  };
}

/**
 * What a wall's recorders held, gathered over many drains: each item's first on-screen time (id → ms), the long
 * tasks and the long animation frames. `collect()` drains the page into them; the arrays may be emptied in place.
 */
export function pageRecord(wall) {
  const record = { shown: new Map(), longTasks: [], longFrames: [], frames: 0, slowFrames: [] };
  record.collect = async () => {
    const drained = await wall.drain();
    for (const [id, at] of drained.shown) if (!record.shown.has(id)) record.shown.set(id, at);
    record.longTasks.push(...drained.longTasks);
    record.longFrames.push(...drained.longFrames);
    record.frames += drained.frames;
    record.slowFrames.push(...drained.slowFrames);
  };
  return record;
}

/**
 * How far the page's clock (performance.timeOrigin + now) is from this process's nowMs(): the tightest of `tries`
 * brackets [before, after] around reading the page's clock. A page time inside its bracket means the two clocks
 * agree to within the bracket's width.
 */
export async function clockCheck(page, tries = 20) {
  let best;
  for (let attempt = 0; attempt < tries; attempt++) {
    const before = nowMs();
    const inPage = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = nowMs();
    if (!best || after - before < best.after - best.before) best = { before, inPage, after };
  }
  return { width: best.after - best.before, pageMinusBefore: best.inPage - best.before, afterMinusPage: best.after - best.inPage };
}
