// P4 training-set benchmark: one point-in-time-correct training set (N entity rows x 3 feature views, M feature rows
// in all, written to Parquet) built by Strata (Postgres), by DuckDB's ASOF JOIN and by Feast's
// get_historical_features (local file offline store), on the same data, in one run. Loading data is not timed.
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`; venvs outside the repo, see bench/README.md):
//   DUCKDB_PYTHON=<venv>/bin/python FEAST_PYTHON=<venv>/bin/python \
//     node bench/training/run.mjs [--entities 1000000] [--feature-rows 10000000] [--feast-entities N] [--dir /tmp/strata-bench]
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, csvFastPathHeader, loadConfig, stageCsvFile } from '@strata/sdk';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('entities', '1000000'));
const M = Number(arg('feature-rows', '10000000'));
const FEAST_N = Number(arg('feast-entities', String(N)));
const ROOT = arg('dir', join(tmpdir(), 'strata-bench'));
const DIR = join(ROOT, `p4_${N}_${M}`);
const duckPython = process.env.DUCKDB_PYTHON;
const feastPython = process.env.FEAST_PYTHON;
const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const stamp = Date.now().toString(36);
const log = (m) => process.stderr.write(`[p4] ${m}\n`);
const VIEWS = ['va', 'vb', 'vc'];
const T0 = Date.parse('2024-01-01T00:00:00Z');
const SPAN = 100 * 86400; // seconds of event time

async function writeLines(path, header, n, line) {
  const out = createWriteStream(`${path}.part`);
  out.write(`${header}\n`);
  let chunk = [];
  for (let i = 0; i < n; i++) {
    chunk.push(line(i));
    if (chunk.length === 50_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await new Promise((r) => out.once('drain', r));
      chunk = [];
    }
  }
  if (chunk.length) out.write(`${chunk.join('\n')}\n`);
  await new Promise((r) => out.end(r));
  await run('mv', [`${path}.part`, path]);
}

/** Deterministic data: users = N/10; each view has M/3 rows with unique (user, event time) and a created time. */
async function generate() {
  mkdirSync(DIR, { recursive: true });
  const users = Math.max(1, Math.floor(N / 10));
  const per = Math.floor(M / 3);
  const iso = (s) => new Date(T0 + s * 1000).toISOString();
  if (!existsSync(join(DIR, 'entities.csv'))) {
    log(`writing ${N} entity rows`);
    await writeLines(join(DIR, 'entities.csv'), 'row_id,user_id,event_timestamp,label', N, (i) => {
      const u = (i * 7919) % users;
      return `${i},${u},${iso((i * 104729) % SPAN)},${i % 2}`;
    });
  }
  for (const [k, v] of VIEWS.entries()) {
    const path = join(DIR, `${v}.csv`);
    if (existsSync(path)) continue;
    log(`writing ${per} rows of ${v}`);
    const slots = Math.ceil(per / users); // rows per user; event times spaced so (user, time) is unique
    const step = Math.floor(SPAN / slots);
    await writeLines(path, 'user_id,event_timestamp,created,f1,f2', per, (i) => {
      const u = i % users;
      const j = Math.floor(i / users);
      const s = j * step + ((u * 31 + k * 7) % step);
      return `${u},${iso(s)},${iso(s + 60)},${(i % 1000) / 10},${k * 1000 + (i % 997)}`;
    });
  }
  for (const f of ['entities', ...VIEWS]) {
    if (existsSync(join(DIR, `${f}.parquet`))) continue;
    const cols =
      f === 'entities'
        ? "row_id::BIGINT AS row_id, user_id::BIGINT AS user_id, (event_timestamp::TIMESTAMPTZ AT TIME ZONE 'UTC') AS event_timestamp, label::BIGINT AS label"
        : "user_id::BIGINT AS user_id, (event_timestamp::TIMESTAMPTZ AT TIME ZONE 'UTC') AS event_timestamp, (created::TIMESTAMPTZ AT TIME ZONE 'UTC') AS created, f1::DOUBLE AS f1, f2::DOUBLE AS f2";
    await run(duckPython, [
      '-c',
      `import duckdb; duckdb.sql("COPY (SELECT ${cols} FROM read_csv('${join(DIR, `${f}.csv`)}', all_varchar=true)) TO '${join(DIR, `${f}.parquet`)}' (FORMAT parquet)")`,
    ]);
  }
}

async function strataRun() {
  const schema = `strata_bench_p4_${stamp}`;
  const strata = await connect({
    config: loadConfig({ env: {}, configPath: undefined, overrides: { project: 'bench', postgres: { url: pgUrl, schema } } }),
  });
  try {
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: VIEWS.map((name) => ({
        name,
        entities: ['user'],
        timestampField: 'event_timestamp',
        createdTimestampField: 'created',
        ttlSeconds: 0,
        online: false,
        features: [
          { name: 'f1', valueType: 'DOUBLE' },
          { name: 'f2', valueType: 'DOUBLE' },
        ],
      })),
    });
    const t = process.hrtime.bigint();
    for (const v of VIEWS) {
      // Staged by the CSV fast path and committed directly (the workflow's validation pass is P3's subject).
      const vv = await strata.getView(v);
      const path = join(DIR, `${v}.csv`);
      await stageCsvFile(strata.offline, vv, `load-${v}`, path, await csvFastPathHeader(vv, path));
      await strata.offline.commit(`load-${v}`);
      await strata.pool.query(`ANALYZE "${schema}"."${vv.tableName}"`);
    }
    log(`strata: loaded ${M} feature rows in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s`);
    const out = join(DIR, `strata_${stamp}.parquet`);
    const t0 = process.hrtime.bigint();
    const marks = {};
    const at = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const w = await strata.writeHistoricalFeatures({
      onProgress: (p) => {
        if (p.stage === 'loading') marks.loaded = at();
        else marks.firstBatch ??= at();
      },
      features: VIEWS.flatMap((v) => [`${v}:f1`, `${v}:f2`]),
      entities: { path: join(DIR, 'entities.parquet') },
      fullFeatureNames: true,
      out,
      workMem: '256MB',
      ...(process.env.P4_STRATEGY ? { strategy: process.env.P4_STRATEGY } : {}),
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const peak = process.resourceUsage().maxRSS / 1024;
    const { rm } = await import('node:fs/promises');
    await rm(out, { force: true });
    return {
      seconds: secs,
      entitiesLoadedAt: +(marks.loaded ?? 0).toFixed(2),
      firstBatchAt: +(marks.firstBatch ?? 0).toFixed(2),
      rows: w.rows,
      peakRssMiB: Math.round(peak),
    };
  } finally {
    await strata.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await strata.close();
  }
}

async function peer(python, mode, extra = []) {
  const { stdout } = await run(python, [join(here, 'peers.py'), mode, DIR, ...extra], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  if (!duckPython) throw new Error('set DUCKDB_PYTHON to a python with duckdb (see bench/README.md)');
  await generate();
  const strata = await strataRun();
  log(`strata: ${strata.seconds.toFixed(2)} s for ${strata.rows} rows`);
  const duck = await peer(duckPython, 'duckdb');
  log(`duckdb: ${duck.seconds.toFixed(2)} s`);
  let feast;
  if (feastPython) {
    feast = await peer(feastPython, 'feast', FEAST_N < N ? [String(FEAST_N)] : []);
    log(`feast: ${feast.seconds.toFixed(2)} s for ${feast.entity_rows} entity rows`);
  }
  const perRow = (r) => r.seconds / (r.entity_rows ?? r.rows);
  process.stdout.write(
    `${JSON.stringify(
      {
        entityRows: N,
        featureRows: M,
        strata,
        duckdb: duck,
        feast: feast ?? 'skipped (set FEAST_PYTHON)',
        strataOverDuckdb: +(strata.seconds / duck.seconds).toFixed(2),
        feastOverStrataPerEntityRow: feast ? +(perRow(feast) / perRow(strata)).toFixed(2) : null,
        goals: 'strata within 2x of duckdb; feast >= 10x slower than strata',
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
