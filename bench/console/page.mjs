// The console's feature-view page, browser side (docs/benchmarks.md, "C2 console page"): a view of 100 features with
// 200 commits (bench/console/seed.mjs), served by a real `strata server` with the built console, loaded N times in
// headless Chromium (a fresh browser context each time: cold cache, signed in with an API key), per tab. "Interactive"
// is the browser's own timeline: from navigation start until the tab's content is in the DOM and the main thread has
// had no long task (> 50 ms, PerformanceObserver 'longtask') since; p50 and p95 against the anchor measured in the
// same run: the console's not-found page (the same shell, config call and bundle, no data).
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`; Debian's chromium):
//   node bench/console/page.mjs [--commits 200] [--features 100] [--rows 100] [--n 10] [--schema <kept>] [--keep]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig } from '@strata/sdk';
import { createServer } from '@strata/server';
import { createStrataWorker } from '@strata/worker';
import { chromium } from 'playwright-core';
import { seedConsoleView } from './seed.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const COMMITS = Number(arg('commits', '200'));
const FEATURES = Number(arg('features', '100'));
const ROWS = Number(arg('rows', '100'));
const N = Number(arg('n', '10'));
const KEEP = process.argv.includes('--keep');
const stamp = Date.now().toString(36);
const schema = arg('schema', `strata_bench_console_${stamp}`);
const reuse = process.argv.includes('--schema');
// the same variable the tests read (infra/chromium.sh prints it)
const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';
const log = (m) => process.stderr.write(`[c2] ${m}\n`);
const ADMIN = `bench-console-admin-${stamp}-0123456789`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

// Runs in the page before any of its scripts: records long tasks and when `selector` first appears.
const probe = (selector) => {
  window.__lt = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) window.__lt.push(e.startTime + e.duration);
  }).observe({ type: 'longtask', buffered: true });
  const seen = () => {
    if (window.__ready === undefined && document.querySelector(selector)) window.__ready = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true });
};

async function measure(browser, url, selector) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript((k) => sessionStorage.setItem('strata.apiKey', k), ADMIN);
  await ctx.addInitScript(probe, selector);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
  await page.goto(url);
  await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 30_000 });
  await page.waitForTimeout(600); // a quiet window: long tasks still running would show up
  const t = await page.evaluate(() => ({
    ready: window.__ready,
    lastLongTask: Math.max(0, ...window.__lt),
    domInteractive: performance.getEntriesByType('navigation')[0].domInteractive,
  }));
  await ctx.close();
  if (errors.length) throw new Error(`${url}: ${errors.join('; ')}`);
  return { ...t, interactive: Math.max(t.ready, t.lastLongTask) };
}

async function main() {
  const env = {
    ...process.env,
    STRATA_CONFIG: '',
    STRATA_PROJECT: 'bench',
    STRATA_POSTGRES_SCHEMA: schema,
    STRATA_TASK_QUEUE: `bench-console-${stamp}`,
  };
  delete env.STRATA_SERVER_URL;
  delete env.STRATA_API_KEY;
  const config = loadConfig({ env });
  const strata = await connect({ config });
  let app;
  let browser;
  try {
    if (!reuse) {
      const worker = await createStrataWorker(config, { logLevel: 'ERROR' });
      const running = worker.worker.run();
      const t = Date.now();
      const seeded = await seedConsoleView(strata, {
        commits: COMMITS,
        features: FEATURES,
        rowsPerCommit: ROWS,
        onProgress: (d) => d % 20 === 0 && log(`seeded ${d}/${COMMITS} commits`),
      });
      log(`seeded ${seeded.ingestionIds.length} commits x ${FEATURES} features in ${((Date.now() - t) / 1000).toFixed(0)} s`);
      worker.worker.shutdown();
      await running.catch(() => {});
      await worker.close();
    }
    const identity = new Identity(strata.pool, schema, { adminKey: ADMIN });
    app = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-c2-')) });
    const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    const index = await fetch(`${base}/`);
    if (!(await index.text()).includes('<div id="app">'))
      throw new Error('the console is not built: pnpm turbo build --filter=@strata/console');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const v = `${base}/views/bench/wide_view`;
    const pages = {
      'not-found page (anchor)': [`${base}/no-such-page`, '[data-testid="page-not-found"]'],
      'view: schema (100 features)': [v, '[data-testid="schema-table"] tbody tr'],
      'view: commits (200, windowed)': [`${v}?tab=commits`, '[data-testid="commits-table"] tbody tr[data-ingestion]'],
      'view: statistics + trend chart': [`${v}?tab=statistics&feature=f000`, '[data-testid="chart-data-trend"] tbody tr + tr'],
      'view: drift (3 charts)': [`${v}?tab=drift&feature=f000`, '[data-testid="chart-data-drift-js"] tbody tr + tr'],
    };
    for (const [url, sel] of Object.values(pages)) await measure(browser, url, sel); // warm-up (server caches, JIT)
    const times = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
    for (let i = 0; i < N; i++)
      for (const [name, [url, sel]] of Object.entries(pages)) times[name].push((await measure(browser, url, sel)).interactive);
    const anchor = pct(times['not-found page (anchor)'], 95);
    log(`${COMMITS} commits x ${FEATURES} features, ${N} cold loads each (ms to interactive; ratio = p95 / p95 of the anchor)`);
    log(`${'page'.padEnd(34)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'x anchor'.padStart(9)}`);
    const results = {};
    for (const [name, xs] of Object.entries(times)) {
      const r = { p50: pct(xs, 50), p95: pct(xs, 95), ratio: pct(xs, 95) / anchor };
      results[name] = r;
      log(`${name.padEnd(34)} ${r.p50.toFixed(0).padStart(7)} ${r.p95.toFixed(0).padStart(7)} ${r.ratio.toFixed(2).padStart(9)}`);
    }
    console.log(JSON.stringify({ commits: COMMITS, features: FEATURES, n: N, schema, results }, null, 2));
  } finally {
    await browser?.close();
    await app?.close();
    if (KEEP || reuse) log(`kept schema ${schema} (reuse: --schema ${schema})`);
    else await strata.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await strata.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
