// The console's speed goal of issue 12 in one run (docs/benchmarks.md, "C3 console goal"): one seeded view of 100
// features with 200 commits (bench/console/seed.mjs, through C1's first run with --keep), then on that same data
// C1 (bench/console/api.mjs: every API call of the feature-view page, p50/p95 against GET /whoami and SELECT 1) and
// C2 (bench/console/page.mjs: the feature-view tabs in headless Chromium, time to interactive from the browser's own
// timeline, p50/p95 against the console's not-found page), run one after the other so neither loads the machine for
// the other. Prints both tables and the goals: each tab interactive in < 1 s (p95), each API call < 100 ms (p95),
// and the ratios to the anchors (the figures to compare across machines). The seeded schema is dropped at the end.
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`; Debian's chromium):
//   node bench/console/run.mjs [--commits 200] [--features 100] [--rows 100] [--api-n 200] [--page-n 10]
//     [--keep | --schema <kept schema>]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const COMMITS = arg('commits', '200');
const FEATURES = arg('features', '100');
const ROWS = arg('rows', '100');
const API_N = arg('api-n', '200');
const PAGE_N = arg('page-n', '10');
const INTERACTIVE_GOAL_MS = 1000;
const API_GOAL_MS = 100;
const log = (m) => process.stderr.write(`[c3] ${m}\n`);

/** Runs one of the sibling benchmarks, passing its stderr through, and returns its JSON (its stdout). */
function run(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolve(JSON.parse(out.slice(out.indexOf('{'))));
      } catch (err) {
        reject(new Error(`${script} printed no JSON: ${err.message}\n${out.slice(0, 500)}`));
      }
    });
  });
}

const fmt = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : '-');

async function main() {
  const t0 = Date.now();
  // --schema <kept>: measure a view seeded by an earlier run (C1's --keep, or this script's --keep); kept as it is.
  const reuse = arg('schema', undefined);
  const seed = reuse ? ['--schema', reuse] : ['--commits', COMMITS, '--features', FEATURES, '--rows', ROWS, '--keep'];
  const api = await run('api.mjs', [...seed, '--n', API_N]);
  const schema = api.schema;
  let page;
  try {
    page = await run('page.mjs', ['--schema', schema, '--n', PAGE_N]);
  } finally {
    if (reuse || process.argv.includes('--keep')) log(`kept schema ${schema} (reuse: --schema ${schema})`);
    else {
      const pool = new pg.Pool({
        connectionString: process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata',
      });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e) => log(`could not drop ${schema}: ${e.message}`));
      await pool.end();
    }
  }
  finish(t0, api, page);
}

function finish(t0, api, page) {
  const calls = Object.entries(api.results).filter(([name]) => !name.includes('(anchor)'));
  const tabs = Object.entries(page.results).filter(([name]) => !name.includes('(anchor)'));
  const apiWorst = calls.reduce((a, b) => (b[1].p95 > a[1].p95 ? b : a));
  const pageWorst = tabs.reduce((a, b) => (b[1].p95 > a[1].p95 ? b : a));
  const anchorPage = Object.entries(page.results).find(([name]) => name.includes('(anchor)'))?.[1];
  const anchorApi = api.results['whoami (anchor)'];
  log('');
  log(`C3: ${api.commits} commits x ${api.features} features; ${API_N} calls per API route, ${PAGE_N} cold loads per tab`);
  log(
    `${'feature-view tab (headless Chromium)'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'x anchor'.padStart(9)}  < 1 s`,
  );
  for (const [name, r] of Object.entries(page.results))
    log(
      `${name.padEnd(40)} ${fmt(r.p50).padStart(8)} ${fmt(r.p95).padStart(8)} ${fmt(r.ratio, 2).padStart(9)}  ${name.includes('(anchor)') ? '' : r.p95 < INTERACTIVE_GOAL_MS ? 'yes' : 'NO'}`,
    );
  log(`${'API call'.padEnd(40)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'x whoami'.padStart(9)}  < 100 ms`);
  for (const [name, r] of Object.entries(api.results))
    log(
      `${name.padEnd(40)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p95, 2).padStart(8)} ${fmt(r.ratio, 1).padStart(9)}  ${name.includes('(anchor)') ? '' : r.p95 < API_GOAL_MS ? 'yes' : 'NO'}`,
    );
  const summary = {
    commits: api.commits,
    features: api.features,
    interactive: {
      goalMs: INTERACTIVE_GOAL_MS,
      worstTab: pageWorst[0],
      worstP95Ms: pageWorst[1].p95,
      anchorP95Ms: anchorPage?.p95,
      met: tabs.every(([, r]) => r.p95 < INTERACTIVE_GOAL_MS),
    },
    api: {
      goalMs: API_GOAL_MS,
      worstCall: apiWorst[0],
      worstP95Ms: apiWorst[1].p95,
      anchorP95Ms: anchorApi?.p95,
      met: calls.every(([, r]) => r.p95 < API_GOAL_MS),
    },
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  log(
    `goal: interactive < 1 s: ${summary.interactive.met ? 'met' : 'NOT met'} (worst p95 ${fmt(pageWorst[1].p95)} ms, ${pageWorst[0]}); ` +
      `API < 100 ms: ${summary.api.met ? 'met' : 'NOT met'} (worst p95 ${fmt(apiWorst[1].p95, 1)} ms, ${apiWorst[0]})`,
  );
  console.log(JSON.stringify({ summary, page: page.results, api: api.results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
