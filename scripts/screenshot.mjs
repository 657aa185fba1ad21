#!/usr/bin/env node
// Screenshot of a running wall in headless Chromium, for the README:
//   node scripts/screenshot.mjs [URL] [OUT]     (defaults: http://localhost:8080/ docs/screenshot.png)
// Start the demo first (./scripts/start); waits until the page is live and shows at least 10 loaded tiles.
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://localhost:8080/';
const out = process.argv[3] ?? 'docs/screenshot.png';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.waitForSelector('[data-testid="status"][data-state="live"]', { timeout: 30_000 });
  await page.waitForFunction(() => {
    const images = [...document.querySelectorAll('[data-testid="tile"] img')];
    return images.length >= 10 && images.every((img) => img.complete && img.naturalWidth > 0);
  }, undefined, { timeout: 60_000 });
  // Let the newest tiles finish fading in.
  await page.evaluate(() => Promise.all(document.getAnimations().filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished)));
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
}
