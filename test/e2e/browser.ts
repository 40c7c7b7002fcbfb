// The end-to-end tests' browser: Debian's Chromium driven by playwright-core, one per test
// file, against a real app serving the built UI on http://localhost. Every page a test
// visits can be checked: axe-core (no serious or critical violation), no CSP violation, no
// console error, nothing wider than the viewport at 360 px, and screenshots at 1440 and 360 px.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { WEB_DIST } from '../../src/platform/http/web-ui.ts';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/accounts.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app.ts';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`CI needs Chromium for the e2e tests at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
}
if (!hasChromium) {
  console.warn(`\n[rampart e2e] SKIPPED: no Chromium at ${CHROMIUM}. Install it (apt-get install -y chromium) to run the browser tests.\n`);
}
if (hasChromium && !existsSync(join(WEB_DIST, 'index.html'))) {
  throw new Error('The web UI is not built: run `npm run prepare` (npm ci does) before the e2e tests');
}
/** Skip the file (with the notice above) when Chromium is missing outside CI. */
export const skipWithoutChromium = !hasChromium;

export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'e2e');

export interface UiServer {
  t: TestApp;
  /** http://localhost:<port>: a secure context, so the __Host- cookie works over plain http. */
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startUiServer(options: TestAppOptions = {}): Promise<UiServer> {
  const t = await startTestApp('embedded', options);
  await t.app.listen({ host: 'localhost', port: 0 });
  const address = t.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await launchChromium();
  return {
    t,
    url: `http://localhost:${port}`,
    browser,
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  /** CSP violations seen by the page (securitypolicyviolation events). */
  cspViolations: () => Promise<string[]>;
  consoleErrors: string[];
  dialogs: string[];
}

/** A new context and page, with everything a test must see recorded. */
export async function openPage(server: UiServer): Promise<Watched> {
  const context = await server.browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } });
  // Injected by the browser's debugging protocol, not by the page: the CSP does not apply to it.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    // The browser logs every 4xx the UI asked for (a 401 before sign-in); the UI shows those itself.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return {
    page,
    context,
    consoleErrors,
    dialogs,
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []),
  };
}

/**
 * The checks every page passes: axe-core finds no serious or critical violation, the CSP
 * blocked nothing, no console error, and at 360 px nothing makes the page scroll sideways.
 * Screenshots at 1440 and 360 px go to test-results/e2e/<name>-<width>.png.
 */
export async function checkPage(watched: Watched, name: string): Promise<void> {
  const { page } = watched;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.setViewportSize({ width: 1440, height: 900 });
  const axe = await new AxeBuilder({ page }).analyze();
  const serious = axe.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
  expect(serious, `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-1440.png`), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-360.png`), fullPage: true });
  // Wide tables scroll inside their own box; the page itself never scrolls sideways.
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return Array.from(document.querySelectorAll('body *'))
      .filter((element) => element.getBoundingClientRect().right > width + 1 && !element.closest('.table-wrap'))
      .map((element) => `${element.tagName.toLowerCase()}#${element.id}.${element.className}`);
  });
  expect(overflow, `${name}: elements wider than 360 px`).toEqual([]);
  await page.setViewportSize({ width: 1440, height: 900 });
  expect(await watched.cspViolations(), `CSP violations on ${name}`).toEqual([]);
  expect(watched.consoleErrors, `console errors on ${name}`).toEqual([]);
}

/** Registers through the UI's own form and lands signed in. */
export async function registerInUi(page: Page, label = 'e2e'): Promise<{ email: string; password: string }> {
  const email = uniqueEmail(label);
  await page.goto('/register');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(`${label} person`);
  await page.getByLabel('Password').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  return { email, password: GOOD_PASSWORD };
}

export async function signInInUi(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
