// P4 training-set benchmark: one point-in-time-correct training set (N entity rows x 3 feature views, M feature rows
// in all, written to Parquet) built by Strata's Postgres engine, by Strata's columnar engine (in process, and as a
// workflow on 1 and on 2 worker processes), by DuckDB's ASOF JOIN (the anchor: @duckdb/node-api, the same DuckDB the
// columnar engine embeds, tables loaded first) and optionally by Feast's get_historical_features (local file offline
// store), on the same data, in one run. Loading data is not timed (the commits' Parquet copies are reported).
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`; Feast's venv outside the repo, see bench/README.md):
//   [FEAST_PYTHON=<venv>/bin/python] node bench/training/run.mjs [--entities 1000000] [--feature-rows 10000000]
//     [--feast-entities N] [--dir /tmp/strata-bench] [--skip-postgres] [--workers 0] [--repeat N] [--no-pin]
// --repeat N: the columnar engine and the DuckDB anchor N times each, alternating, on the data loaded once (each round
// also the columnar engine on its tie-breaking key, ADR 0018), then the workflow on 1 and on 2 workers N times each,
// alternating (medians).
// Worker processes run with one DuckDB thread each and, unless --no-pin, each is pinned to a CPU of its own
// (`taskset -c i`), as pods with a 1-CPU limit would be: 1 worker has one core, 2 workers two. Unpinned, one worker
// already runs its 4 partitions at once on every core of a small machine, so a second process adds no core.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { connect, csvFastPathHeader, loadConfig, stageCsvFile } from '@strata/sdk';
import { strataEnv } from '../env.mjs';

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
const SKIP_PG = process.argv.includes('--skip-postgres');
// A hot standby of the stack's Postgres (`infra/stack.sh replica-up`): also times the join on it (offline.readUrl).
const REPLICA_URL = process.env.STRATA_PG_REPLICA_URL;
const WORKERS = Number(arg('workers', '2')); // 0: no workflow runs; else 1 worker, then `WORKERS` workers
const REPEAT = Math.max(1, Number(arg('repeat', '1')));
const PIN = !process.argv.includes('--no-pin') && cpus().length >= 2;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run("SET TimeZone = 'UTC'");
  for (const f of ['entities', ...VIEWS]) {
    if (existsSync(join(DIR, `${f}.parquet`))) continue;
    const cols =
      f === 'entities'
        ? "row_id::BIGINT AS row_id, user_id::BIGINT AS user_id, (event_timestamp::TIMESTAMPTZ AT TIME ZONE 'UTC') AS event_timestamp, label::BIGINT AS label"
        : "user_id::BIGINT AS user_id, (event_timestamp::TIMESTAMPTZ AT TIME ZONE 'UTC') AS event_timestamp, (created::TIMESTAMPTZ AT TIME ZONE 'UTC') AS created, f1::DOUBLE AS f1, f2::DOUBLE AS f2";
    await c.run(
      `COPY (SELECT ${cols} FROM read_csv('${join(DIR, `${f}.csv`)}', all_varchar=true)) TO '${join(DIR, `${f}.parquet`)}' (FORMAT parquet)`,
    );
  }
  c.closeSync();
  db.closeSync();
}

/** The anchor: DuckDB's ASOF JOIN over the same Parquet data, tables loaded first (not timed), output to Parquet. */
async function duckAnchor() {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const t = process.hrtime.bigint();
  await c.run(`CREATE TABLE e AS SELECT * FROM read_parquet('${join(DIR, 'entities.parquet')}')`);
  for (const v of VIEWS) await c.run(`CREATE TABLE ${v} AS SELECT * FROM read_parquet('${join(DIR, `${v}.parquet`)}')`);
  const load = Number(process.hrtime.bigint() - t) / 1e9;
  const joins = VIEWS.map(
    (v) => `ASOF LEFT JOIN ${v} ON e.user_id = ${v}.user_id AND e.event_timestamp >= ${v}.event_timestamp`,
  ).join(' ');
  const cols = VIEWS.map((v) => `${v}.f1 AS ${v}__f1, ${v}.f2 AS ${v}__f2`).join(', ');
  const { rm } = await import('node:fs/promises');
  const runs = [];
  let check;
  return {
    async once() {
      const out = join(DIR, `duck_${stamp}.parquet`);
      const t0 = process.hrtime.bigint();
      await c.run(
        `COPY (SELECT e.user_id, e.event_timestamp, e.label, ${cols} FROM e ${joins} ORDER BY e.row_id) TO '${out}' (FORMAT parquet)`,
      );
      runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
      log(`duckdb: ${runs[runs.length - 1].toFixed(2)} s`);
      check = (await c.runAndReadAll(`SELECT count(*), count(va__f1) FROM read_parquet('${out}')`)).getRowsJS()[0];
      await rm(out, { force: true });
    },
    result() {
      c.closeSync();
      db.closeSync();
      return {
        peer: 'duckdb (@duckdb/node-api 1.5.6)',
        seconds: median(runs),
        runs,
        loadSeconds: +load.toFixed(2),
        rows: Number(check?.[0]),
        vaMatched: Number(check?.[1]),
      };
    },
  };
}

async function strataRun(anchor) {
  const schema = `strata_bench_p4_${stamp}`;
  const root = join(DIR, `columnar_${stamp}`);
  const offline = { engine: 'postgres', columnarRoot: root };
  const cfg = (engine) =>
    loadConfig({
      env: {},
      configPath: undefined,
      overrides: { project: 'bench', postgres: { url: pgUrl, schema }, offline: { ...offline, engine } },
    });
  const strata = await connect({ config: cfg('postgres') });
  const results = {};
  const { rm } = await import('node:fs/promises');
  const workers = [];
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
    let commitSecs = 0;
    for (const v of VIEWS) {
      // Staged by the CSV fast path and committed directly (the workflow's validation pass is P3's subject); each
      // commit also writes its Parquet copy (ADR 0006).
      const vv = await strata.getView(v);
      const path = join(DIR, `${v}.csv`);
      await stageCsvFile(strata.offline, vv, `load-${v}`, path, await csvFastPathHeader(vv, path));
      const tc = process.hrtime.bigint();
      await strata.offline.commit(`load-${v}`);
      commitSecs += Number(process.hrtime.bigint() - tc) / 1e9;
      await strata.pool.query(`ANALYZE "${schema}"."${vv.tableName}"`);
    }
    results.load = {
      seconds: +(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1),
      commitSecondsWithParquet: +commitSecs.toFixed(1),
    };
    log(
      `strata: loaded ${M} feature rows in ${results.load.seconds} s (commits incl. Parquet copies ${results.load.commitSecondsWithParquet} s)`,
    );
    const request = {
      features: VIEWS.flatMap((v) => [`${v}:f1`, `${v}:f2`]),
      entities: { path: join(DIR, 'entities.parquet') },
      fullFeatureNames: true,
    };
    const timed = async (name, fn) => {
      const out = join(DIR, `strata_${name}_${stamp}.parquet`);
      const rss0 = process.memoryUsage().rss;
      const t0 = process.hrtime.bigint();
      const w = await fn(out);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      await rm(out, { force: true });
      results[name] = { seconds: secs, rows: w.rows, rssMiB: Math.round(Math.max(rss0, process.memoryUsage().rss) / 2 ** 20) };
      log(`${name}: ${secs.toFixed(2)} s for ${w.rows} rows`);
    };
    if (!SKIP_PG) {
      const pgRequest = (out) => ({
        ...request,
        out,
        workMem: '256MB',
        ...(process.env.P4_STRATEGY ? { strategy: process.env.P4_STRATEGY } : {}),
      });
      await timed('postgres', (out) => strata.writeHistoricalFeatures(pgRequest(out)));
      // The same join with the entity rows as array parameters (the read replica's way) instead of a COPY'd temp table.
      await timed('postgres_inline', (out) => strata.writeHistoricalFeatures({ ...pgRequest(out), entityLoad: 'inline' }));
      if (REPLICA_URL) {
        // On a hot standby of the same Postgres (offline.readUrl); waits for the load to be replayed there first.
        const base = cfg('postgres');
        const viaReplica = await connect({
          config: { ...base, offline: { ...base.offline, readUrl: REPLICA_URL, readMaxWaitMs: 600_000 } },
        });
        try {
          let route;
          await timed('postgres_replica', (out) =>
            viaReplica.writeHistoricalFeatures({ ...pgRequest(out), onRoute: (r) => (route = r) }),
          );
          results.postgres_replica.route = route;
        } finally {
          await viaReplica.close();
        }
      }
    }
    const columnar = await connect({ config: cfg('columnar') });
    try {
      // Alternating with the anchor: columnar, DuckDB, columnar, DuckDB, ... (medians reported). Each round also
      // times the columnar join on its tie-breaking key: the commit files' facts (ADR 0018) are cleared, so the engine
      // can no longer prove the data tie-free, then recorded again from the files by a backfill (that is timed too).
      const runs = [];
      const tieBreak = [];
      const facts = [];
      const clearFacts = () =>
        strata.pool.query(`UPDATE "${schema}".commit_files SET key_time_unique = NULL, min_event_us = NULL, max_event_us = NULL`);
      for (let r = 0; r < REPEAT; r++) {
        await timed('columnar', (out) => columnar.writeHistoricalFeatures({ ...request, out }));
        runs.push(results.columnar.seconds);
        await anchor.once();
        await clearFacts();
        await timed('columnar_tie_break_key', (out) => columnar.writeHistoricalFeatures({ ...request, out }));
        tieBreak.push(results.columnar_tie_break_key.seconds);
        const tf = process.hrtime.bigint();
        const b = await columnar.backfillColumnar();
        facts.push(Number(process.hrtime.bigint() - tf) / 1e9);
        if (b.facts !== VIEWS.length) throw new Error(`expected the facts of ${VIEWS.length} files again, got ${b.facts}`);
      }
      results.columnar = { ...results.columnar, seconds: median(runs), runs };
      results.columnar_tie_break_key = { ...results.columnar_tie_break_key, seconds: median(tieBreak), runs: tieBreak };
      results.factsOfAllFilesSeconds = { seconds: median(facts), runs: facts };
      // Worker processes (the built apps/worker), one DuckDB thread each so the count of processes is what varies:
      // a pool of 1 and a pool of `WORKERS`, each on its own task queue, started before any timing; then the
      // workflow runs on each pool in turn, REPEAT times (medians), so both see the same machine.
      const main = join(here, '..', '..', 'apps', 'worker', 'dist', 'main.js');
      const pools = [];
      try {
        for (const n of WORKERS ? [1, WORKERS] : []) {
          const taskQueue = `p4_${stamp}_${n}`;
          const env = strataEnv({
            pgUrl,
            schema,
            taskQueue,
            STRATA_OFFLINE_ENGINE: 'columnar',
            STRATA_COLUMNAR_ROOT: root,
            STRATA_DUCKDB_THREADS: '1',
            // Pinned, a worker takes 2 activities at a time, so the 4 partitions spread 2 + 2 over two workers
            // instead of all going to whichever worker polls first; on one core, 2 at a time or 4 is the same work.
            ...(PIN ? { STRATA_WORKER_MAX_ACTIVITIES: '2' } : {}),
          });
          // taskset execs the worker, so each child's pid is the worker's own.
          const procs = Array.from({ length: n }, (_v, i) =>
            PIN
              ? spawn('taskset', ['-c', String(i % cpus().length), process.execPath, main], { env, stdio: 'ignore' })
              : spawn(process.execPath, [main], { env, stdio: 'ignore' }),
          );
          workers.push(...procs);
          const base = cfg('columnar');
          const client = await connect({
            config: {
              ...base,
              temporal: { ...base.temporal, taskQueue, address: process.env.TEMPORAL_ADDRESS ?? base.temporal.address },
            },
          });
          pools.push({ n, client, procs, name: `workflow_${n}_worker${n > 1 ? 's' : ''}`, runs: [] });
          // Not timed: the workers start (they bundle the workflow code) and poll the activity queue.
          const wf = await client.workflowClient();
          for (;;) {
            const d = await wf.workflowService.describeTaskQueue({
              namespace: base.temporal.namespace,
              taskQueue: { name: taskQueue },
              taskQueueType: 2, // activity
            });
            if ((d.pollers ?? []).length >= n) break;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        for (let r = 0; r < REPEAT; r++) {
          for (const pool of pools) {
            await timed(pool.name, async (out) => {
              const run = await pool.client.startTrainingSet({ ...request, out, partitions: 4, parallel: 4 });
              return run.result();
            });
            pool.runs.push(results[pool.name].seconds);
          }
        }
        for (const pool of pools) results[pool.name] = { ...results[pool.name], seconds: median(pool.runs), runs: pool.runs };
      } finally {
        for (const pool of pools) {
          await pool.client.close();
          for (const p of pool.procs) p.kill('SIGTERM');
        }
      }
    } finally {
      await columnar.close();
    }
    results.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    return results;
  } finally {
    for (const p of workers) p.kill('SIGKILL');
    await strata.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await strata.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function peer(python, mode, extra = []) {
  const { stdout } = await run(python, [join(here, 'peers.py'), mode, DIR, ...extra], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function main() {
  await generate();
  const anchor = await duckAnchor();
  const strata = await strataRun(anchor);
  const duck = anchor.result();
  let feast;
  if (feastPython) {
    feast = await peer(feastPython, 'feast', FEAST_N < N ? [String(FEAST_N)] : []);
    log(`feast: ${feast.seconds.toFixed(2)} s for ${feast.entity_rows} entity rows`);
  }
  const ratio = (a, b) => (a && b ? +(a.seconds / b.seconds).toFixed(2) : null);
  const two = strata[`workflow_${WORKERS}_workers`];
  process.stdout.write(
    `${JSON.stringify(
      {
        entityRows: N,
        featureRows: M,
        strata,
        duckdb: duck,
        feast: feast ?? 'skipped (set FEAST_PYTHON)',
        columnarOverDuckdb: ratio(strata.columnar, duck),
        // With --repeat: the ratio of each alternating pair (columnar run i / DuckDB run i), and their median.
        columnarOverDuckdbPairs: strata.columnar?.runs?.map((c, i) => +(c / duck.runs[i]).toFixed(2)),
        columnarOverDuckdbPairMedian: strata.columnar?.runs
          ? +median(strata.columnar.runs.map((c, i) => c / duck.runs[i])).toFixed(2)
          : null,
        // The same engine on the tie-breaking struct key (facts cleared) over the event-time key, per round.
        tieBreakKeyOverTimeKeyPairs: strata.columnar_tie_break_key?.runs?.map(
          (t, i) => +(t / strata.columnar.runs[i]).toFixed(2),
        ),
        postgresOverDuckdb: ratio(strata.postgres, duck),
        postgresOverColumnar: ratio(strata.postgres, strata.columnar),
        inlineOverCopy: ratio(strata.postgres_inline, strata.postgres),
        replicaOverPrimary: ratio(strata.postgres_replica, strata.postgres),
        oneWorkerOverTwo: two ? ratio(strata.workflow_1_worker, two) : null,
        oneWorkerOverTwoPairs: two?.runs?.map((t, i) => +(strata.workflow_1_worker.runs[i] / t).toFixed(2)),
        workersPinned: PIN ? 'each worker process on a CPU of its own (taskset)' : 'no (--no-pin or one CPU)',
        feastOverStrataPerEntityRow: feast
          ? +(feast.seconds / feast.entity_rows / (strata.columnar.seconds / N)).toFixed(2)
          : null,
        goals: 'strata (columnar) within 2x of duckdb; feast >= 10x slower than strata; 2 workers faster than 1',
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
