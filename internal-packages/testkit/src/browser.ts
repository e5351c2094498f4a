/**
 * A real browser for the web console's tests: Debian's Chromium (or STRATA_CHROMIUM), driven by playwright-core.
 * Playwright never downloads a browser here; infra/chromium.sh (run by infra/test.sh) installs Chromium with apt.
 */
import { existsSync } from 'node:fs';
import type { Browser, LaunchOptions } from 'playwright-core';
import { requireOrSkip } from './index.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium executable: STRATA_CHROMIUM when set, else Debian's /usr/bin/chromium; undefined when neither exists. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.STRATA_CHROMIUM) return existsSync(env.STRATA_CHROMIUM) ? env.STRATA_CHROMIUM : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** requireOrSkip for a browser suite: skips outside CI (with the reason) when there is no Chromium; fails under CI=true. */
export function requireChromium(suite: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = chromiumPath(env)
    ? undefined
    : env.STRATA_CHROMIUM
      ? `STRATA_CHROMIUM=${env.STRATA_CHROMIUM} does not exist`
      : 'no Chromium at /usr/bin/chromium (run bash infra/chromium.sh, or apt-get install chromium, or set STRATA_CHROMIUM)';
  return requireOrSkip(suite, missing);
}

/**
 * Launches headless Chromium. Throws with the reason when there is none (call requireChromium first to skip outside
 * CI). The sandbox is off, as Playwright's default, so it also runs as root in a container.
 */
export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath)
    throw new Error('no Chromium: install it (bash infra/chromium.sh, or apt-get install chromium) or set STRATA_CHROMIUM');
  const { chromium } = await import('playwright-core');
  return chromium.launch({ headless: true, ...opts, executablePath });
}
