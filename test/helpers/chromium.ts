// A real browser for the HTML report's tests: Debian's chromium driven by playwright-core,
// headless, with the network cut off (offline context, every non-file request aborted and
// recorded). Installs chromium with apt-get when it is missing, as .ci/run does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.IOCPTLS_CHROMIUM ?? '/usr/bin/chromium';

export function ensureChromium(): string {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium) or set IOCPTLS_CHROMIUM`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
  if (r.status !== 0 || !fs.existsSync(CHROMIUM)) throw new Error(`apt-get install chromium failed (exit ${r.status})`);
  return CHROMIUM;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: ensureChromium(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 120_000,
  });
}

export interface OpenedPage {
  page: Page;
  /** console errors, uncaught page errors, dialogs (alert/confirm...) */
  problems: string[];
  /** Every request other than the page's own file. */
  requests: string[];
  close(): Promise<void>;
}

export async function openFile(
  browser: Browser,
  file: string,
  opts: { colorScheme?: 'light' | 'dark'; width?: number } = {}
): Promise<OpenedPage> {
  const context = await browser.newContext({
    offline: true,
    colorScheme: opts.colorScheme ?? 'light',
    viewport: { width: opts.width ?? 1100, height: 900 },
    javaScriptEnabled: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog ${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems, requests, close: () => context.close() };
}
