// The console's feature-view page, API side (docs/benchmarks.md, "C1 console API"): a view of 100 features with 200
// commits (bench/console/seed.mjs: real ingests through the SDK, each with statistics, drift and a report), then every
// API call the page makes, N times each in turn through a real `strata server` over HTTP with an API key, as p50 and
// p95, against two anchors measured in the same run: GET /api/v1/whoami (the server's smallest authenticated
// answer: the same HTTP, auth and JSON path with no work) and a bare `SELECT 1` round trip through the same pool.
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   node bench/console/api.mjs [--commits 200] [--features 100] [--rows 100] [--n 200] [--keep]
// --keep leaves the seeded schema (its name is printed) and --schema <name> reuses it instead of seeding again.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig } from '@strata/sdk';
import { createServer } from '@strata/server';
import { createStrataWorker } from '@strata/worker';
import { seedConsoleView } from './seed.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const COMMITS = Number(arg('commits', '200'));
const FEATURES = Number(arg('features', '100'));
const ROWS = Number(arg('rows', '100'));
const N = Number(arg('n', '200'));
const KEEP = process.argv.includes('--keep');
const stamp = Date.now().toString(36);
const schema = arg('schema', `strata_bench_console_${stamp}`);
const reuse = process.argv.includes('--schema');
const log = (m) => process.stderr.write(`[c1] ${m}\n`);
const ADMIN = `bench-console-admin-${stamp}-0123456789`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

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
    const view = 'wide_view';
    const identity = new Identity(strata.pool, schema, { adminKey: ADMIN });
    app = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-c1-')) });
    const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    const headers = { authorization: `Bearer ${ADMIN}` };
    const get = async (path) => {
      const res = await fetch(`${base}${path}`, { headers });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 300)}`);
      return body;
    };
    const p = (rest) => `/api/v1/projects/bench${rest}`;
    const commits = JSON.parse(await get(p(`/feature-views/${view}/commits`))).commits;
    const last = commits.filter((c) => c.status === 'committed').at(-1);
    const calls = {
      'whoami (anchor)': () => get('/api/v1/whoami'),
      'SELECT 1 (anchor)': () => strata.pool.query('SELECT 1'),
      repo: () => get(p('/repo')),
      view: () => get(p(`/feature-views/${view}`)),
      versions: () => get(p(`/feature-views/${view}/versions`)),
      commits: () => get(p(`/feature-views/${view}/commits`)),
      [`statistics (${FEATURES} features)`]: () => get(p(`/feature-views/${view}/statistics`)),
      'statistics (1 feature)': () => get(p(`/feature-views/${view}/statistics?features=f000`)),
      materialization: () => get(p(`/feature-views/${view}/materialization`)),
      schedules: () => get(p('/schedules')),
      'validation-report (1 commit)': () => get(p(`/ingestions/${last.ingestionId}/validation-report`)),
      'statistics (1 commit, full profile)': () => get(p(`/ingestions/${last.ingestionId}/statistics`)),
    };
    const series = JSON.parse(await get(p(`/feature-views/${view}/statistics`)));
    if (series.commits.length !== Math.min(200, commits.length) || series.features.length !== FEATURES)
      throw new Error(`statistics series: ${series.commits.length} commits x ${series.features.length} features`);
    const sizes = {};
    for (const [name, fn] of Object.entries(calls)) {
      const out = await fn();
      sizes[name] = typeof out === 'string' ? out.length : 0;
      for (let i = 0; i < 5; i++) await fn(); // warm-up
    }
    // Rounds over all calls in turn, so a slow moment of the machine hits every call alike.
    const times = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
    for (let i = 0; i < N; i++) {
      for (const [name, fn] of Object.entries(calls)) {
        const t = process.hrtime.bigint();
        await fn();
        times[name].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      if ((i + 1) % 10 === 0) log(`round ${i + 1}/${N}`);
    }
    const anchor = pct(times['whoami (anchor)'], 95);
    const sql = pct(times['SELECT 1 (anchor)'], 95);
    const results = {};
    log(`${commits.length} commits x ${FEATURES} features, ${N} calls each (ms; ratio = p95 / p95 of whoami)`);
    log(
      `${'call'.padEnd(38)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'x whoami'.padStart(9)} ${'x SELECT 1'.padStart(10)} bytes`,
    );
    for (const [name, xs] of Object.entries(times)) {
      const r = {
        p50: pct(xs, 50),
        p95: pct(xs, 95),
        ratio: pct(xs, 95) / anchor,
        ratioSql: pct(xs, 95) / sql,
        bytes: sizes[name],
      };
      results[name] = r;
      log(
        `${name.padEnd(38)} ${r.p50.toFixed(2).padStart(7)} ${r.p95.toFixed(2).padStart(7)} ${r.ratio.toFixed(1).padStart(9)} ${r.ratioSql.toFixed(1).padStart(10)} ${r.bytes}`,
      );
    }
    console.log(
      JSON.stringify({ commits: commits.length, features: FEATURES, rowsPerCommit: ROWS, n: N, schema, results }, null, 2),
    );
  } finally {
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
