#!/usr/bin/env node
// Screenshots of a running wall in headless Chromium, for the README and docs/: desktop and phone, light and dark.
//   node scripts/screenshot.mjs [URL] [DOCS] [DEVICES]     (defaults: http://localhost:8080/ docs desktop,phone,screen)
// writes DOCS/screenshots/{desktop,phone,screen}-{light,dark}.png, and DOCS/screenshot.png (the README's hero) as a
// copy of desktop-dark. `screen` is screen mode (?screen) on a 1920×1080 TV, with whatever branding the web server has
// (LIVEWALL_WALL_TITLE, LIVEWALL_CALL_TO_ACTION…). Start the demo first (./scripts/start); each shot waits until the page is live and its tiles'
// images have loaded. The sample posts have emoji: without a colour emoji font (Debian: fonts-noto-color-emoji)
// Chromium draws them as empty boxes.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://localhost:8080/';
const docs = process.argv[3] ?? 'docs';
const shotsDir = path.join(docs, 'screenshots');
const only = process.argv[4]?.split(',');

const devices = {
  desktop: { viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, minTiles: 15 },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, minTiles: 6 },
  screen: { viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1, minTiles: 20, screenMode: true },
};
const schemes = ['light', 'dark'];
const hero = 'desktop-dark';

/** In the page: at least `minTiles` tiles, and the image of every one in view loaded (the rest load lazily). */
function loaded(minTiles) {
  const tiles = [...document.querySelectorAll('[data-testid="tile"]')];
  const inView = tiles.filter((tile) => tile.getBoundingClientRect().top < innerHeight);
  const shown = (img) => img !== null && img.complete && img.naturalWidth > 0;
  const spotlight = document.getElementById('spotlight');
  const spotlit = !spotlight || spotlight.hidden || shown(spotlight.querySelector('img'));
  return tiles.length >= minTiles && inView.every((tile) => shown(tile.querySelector('img'))) && spotlit;
}

/**
 * The demo posts twice a second, and a post arriving mid-shot shifts every tile. While `hold` is on, frames from
 * the broker wait here instead of reaching the page; `release` delivers them in order.
 */
async function holdBrokerFrames(context) {
  let holding = false;
  const held = [];
  await context.routeWebSocket(/^wss?:/, (pageSide) => {
    const brokerSide = pageSide.connectToServer();
    brokerSide.onMessage((frame) => (holding ? held.push(() => pageSide.send(frame)) : pageSide.send(frame)));
  });
  return {
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const deliver of held.splice(0)) deliver();
    },
  };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  await mkdir(shotsDir, { recursive: true });
  for (const [device, { minTiles, screenMode, ...options }] of Object.entries(devices).filter(([name]) => !only || only.includes(name))) {
    const target = new URL(url);
    if (screenMode) target.searchParams.set('screen', '');
    for (const colorScheme of schemes) {
      // Reduced motion: a tile caught mid fade-in would look washed out; the page at rest is the same either way.
      const context = await browser.newContext({ ...options, colorScheme, reducedMotion: 'reduce' });
      const frames = await holdBrokerFrames(context);
      const page = await context.newPage();
      await page.goto(target.href);
      await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 30_000 });
      await page.waitForFunction(loaded, minTiles, { timeout: 60_000 });
      // Screen mode at work: a new post in the spotlight over the wall (the demo brings one every half second).
      if (screenMode) await page.waitForSelector('#spotlight[data-kind="new"]:not([hidden])', { timeout: 30_000 });
      frames.hold();
      await page.waitForFunction(loaded, minTiles, { timeout: 10_000 });
      const out = path.join(shotsDir, `${device}-${colorScheme}.png`);
      await page.screenshot({ path: out });
      frames.release();
      process.stdout.write(`wrote ${out}\n`);
      await context.close();
    }
  }
  if (!only || only.includes(hero.split('-')[0])) {
    await copyFile(path.join(shotsDir, `${hero}.png`), path.join(docs, 'screenshot.png'));
    process.stdout.write(`wrote ${path.join(docs, 'screenshot.png')} (a copy of ${hero})\n`);
  }
} finally {
  await browser.close();
}
