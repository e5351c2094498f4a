/**
 * The browser side of the console's tests: a signed-in context per role (the key in sessionStorage, where the
 * console's sign-in form puts it), a watcher that records every console error, uncaught exception, failed request and
 * HTTP answer >= 400 while a page loads, the page's readiness (no `aria-busy` loading marker left), and axe-core.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConsoleStack, Role } from './stack.js';

/** Screenshots and layout are deterministic at this size. */
export const VIEWPORT = { width: 1280, height: 800 };
/** The console's sessionStorage key for the API key (apps/console/src/api.ts). */
export const KEY_STORAGE = 'strata.apiKey';

export async function signedIn(browser: Browser, stack: ConsoleStack, role: Role): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: stack.base,
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  await context.addInitScript({
    content: `window.sessionStorage.setItem(${JSON.stringify(KEY_STORAGE)}, ${JSON.stringify(stack.keys[role])});`,
  });
  return context;
}

/** The little of the DOM the page-side callbacks use (this package compiles without the DOM library). */
interface BrowserGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
}

export interface Watch {
  problems: string[];
  stop(): void;
}

/** Records what must not happen while a page is shown: console errors, page errors, failed requests, HTTP >= 400. */
export function watch(page: Page): Watch {
  const problems: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  };
  const onPageError = (e: Error) => problems.push(`uncaught: ${e.message}`);
  const onFailed = (r: { url(): string; failure(): { errorText: string } | null }) =>
    problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  const onResponse = (r: { url(): string; status(): number }) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  };
  page.on('console', onConsole);
  page.on('pageerror', onPageError);
  page.on('requestfailed', onFailed);
  page.on('response', onResponse);
  return {
    problems,
    stop() {
      page.off('console', onConsole);
      page.off('pageerror', onPageError);
      page.off('requestfailed', onFailed);
      page.off('response', onResponse);
    },
  };
}

/**
 * Waits until the page shows its data: the routed page (`data-testid="page-<name>"`, not the sign-in or error page)
 * with its heading, and no loading marker (`aria-busy="true"`) left.
 */
export async function ready(page: Page, timeoutMs = 30_000): Promise<void> {
  await page
    .locator('[data-testid^="page-"]:not([data-testid="page-signin"]):not([data-testid="page-error"]) h1')
    .first()
    .waitFor({ state: 'visible', timeout: timeoutMs });
  // A function, not a string: the console's CSP (script-src 'self') forbids evaluating strings in the page.
  await page.waitForFunction(
    () => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('[aria-busy="true"]').length === 0,
    undefined,
    {
      timeout: timeoutMs,
    },
  );
}

/**
 * Opens a console path and waits until it is ready; returns what went wrong meanwhile (empty: nothing). The watch
 * stops before the next navigation, so requests the browser cancels on leaving (an open event stream) do not count.
 */
export async function visit(page: Page, path: string): Promise<string[]> {
  const w = watch(page);
  try {
    await page.goto(path, { waitUntil: 'load' });
    await ready(page);
    // A beat for late answers (a chart's second request) to land or fail inside the watch.
    await page.waitForLoadState('load');
    await page.waitForTimeout(300);
    return [...w.problems];
  } finally {
    w.stop();
  }
}

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2 A/AA rules and best practices). */
export async function seriousA11y(page: Page): Promise<AxeFinding[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact ?? '',
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
}
