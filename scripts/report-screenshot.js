#!/usr/bin/env node
// Screenshots an HTML report in headless Chromium (Debian's chromium, network cut off), for
// docs/html-report.png:  node scripts/report-screenshot.js run.html out.png [--height 2300] [--width 1000] [--dark]
'use strict';
const { pathToFileURL } = require('node:url');
const { chromium } = require('playwright-core');

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args.splice(i, 2)[1]) : dflt;
  };
  const dark = args.includes('--dark') ? args.splice(args.indexOf('--dark'), 1) && true : false;
  const height = opt('height', 0);
  const width = opt('width', 1000);
  const [html, png] = args;
  if (!html || !png) throw new Error('usage: report-screenshot.js PAGE.html OUT.png [--height N] [--width N] [--dark]');
  const browser = await chromium.launch({
    executablePath: process.env.IOCPTLS_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width, height: 900 }, colorScheme: dark ? 'dark' : 'light' });
    const page = await context.newPage();
    await page.goto(pathToFileURL(html).href);
    await page.screenshot(height ? { path: png, fullPage: true, clip: { x: 0, y: 0, width, height } } : { path: png, fullPage: true });
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`report-screenshot: ${e.message}`);
  process.exit(1);
});
