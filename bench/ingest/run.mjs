// P3 ingest benchmark: rows/s of a CSV ingested end to end through Strata (the SDK's ingest, what `strata ingest` runs: COPY into staging, the
// ingest workflow on a real worker — validate/profile pass, atomic commit into the view table with its indexes)
// against a plain `\copy` of the same file by psql into a plain table without indexes, in the same run. Reports the
// peak RSS of the ingesting process and of the worker (/usr/bin/time -v).
// --view-partitions picks the layout of the view table (postgres.viewPartitions): 0 (default) partitioned by commit,
// where a big commit's staging table becomes its partition (ADR 0013, rows written once); 1 a plain table, where
// the commit inserts every row again (the layout before ADR 0013). Alternate runs of both for a before/after.
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   node bench/ingest/run.mjs [--rows 10000000] [--dir /tmp/strata-bench] [--view-partitions 0|1]
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, loadConfig } from '@strata/sdk';
import { strataEnv } from '../env.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'apps', 'cli', 'dist', 'main.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ROWS = Number(arg('rows', '10000000'));
const DIR = arg('dir', join(tmpdir(), 'strata-bench'));
const VIEW_PARTITIONS = Number(arg('view-partitions', '0'));
const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const stamp = Date.now().toString(36);
const log = (m) => process.stderr.write(`[p3] ${m}\n`);

async function generate(path) {
  if (existsSync(path)) return;
  log(`writing ${ROWS} rows to ${path}`);
  const out = createWriteStream(`${path}.part`);
  out.write('user_id,event_timestamp,f0,f1,f2\n');
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  const users = Math.max(1, Math.floor(ROWS / 10));
  let chunk = [];
  for (let i = 0; i < ROWS; i++) {
    const ts = new Date(t0 + (i % 8_640_000) * 1000).toISOString();
    chunk.push(`${(i * 7919) % users},${ts},${(i % 1000) / 7},${i % 97},${((i * 31) % 1009) / 3}`);
    if (chunk.length === 100_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await new Promise((r) => out.once('drain', r));
      chunk = [];
    }
  }
  if (chunk.length) out.write(`${chunk.join('\n')}\n`);
  await new Promise((r) => out.end(r));
  await run('mv', [`${path}.part`, path]);
}

/** Runs a command under /usr/bin/time -v; returns seconds, peak RSS (MiB) and output. */
function timed(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const p = spawn('/usr/bin/time', ['-v', cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => {
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ secs, rss, stdout, stderr });
    });
  });
}

async function main() {
  mkdirSync(DIR, { recursive: true });
  const csv = join(DIR, `p3_${ROWS}.csv`);
  await generate(csv);
  const mb = statSync(csv).size / 1e6;
  log(`file ${csv}: ${mb.toFixed(0)} MB`);
  const schema = `strata_bench_p3_${stamp}`;
  const strata = await connect({
    config: loadConfig({
      env: {},
      configPath: undefined,
      overrides: {
        project: 'bench',
        postgres: { url: pgUrl, schema, viewPartitions: VIEW_PARTITIONS },
        temporal: { address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', taskQueue: `bench-p3-${stamp}` },
      },
    }),
  });
  const client = strata.pool;
  const env = strataEnv({
    pgUrl,
    schema,
    taskQueue: `bench-p3-${stamp}`,
    STRATA_POSTGRES_VIEW_PARTITIONS: String(VIEW_PARTITIONS),
  });
  let worker;
  try {
    // 1. plain COPY by psql into a plain table (no indexes, logged), same file.
    await client.query('DROP TABLE IF EXISTS bench_p3_raw');
    await client.query(
      'CREATE TABLE bench_p3_raw (user_id bigint, event_timestamp timestamptz, f0 float8, f1 float8, f2 float8)',
    );
    const raw = await timed(
      'psql',
      [pgUrl, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy bench_p3_raw FROM '${csv}' WITH (FORMAT csv, HEADER true)`],
      env,
    );
    log(`raw COPY: ${raw.secs.toFixed(1)} s`);
    await client.query('DROP TABLE bench_p3_raw');
    log('applying the view and starting a worker');

    // 2. Strata end to end: apply, a worker in its own process, `strata ingest` (waits for the commit).
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'bench',
          entities: ['user'],
          timestampField: 'event_timestamp',
          ttlSeconds: 0,
          online: false,
          features: ['f0', 'f1', 'f2'].map((name) => ({ name, valueType: 'DOUBLE' })),
        },
      ],
    });
    let workerDone;
    const workerResult = new Promise((r) => (workerDone = r));
    worker = spawn('/usr/bin/time', ['-v', process.execPath, cli, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let wErr = '';
    worker.stderr.on('data', (d) => (wErr += d));
    worker.on('close', () => workerDone(Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(wErr)?.[1] ?? 0) / 1024));
    await new Promise((r) => setTimeout(r, 3000));
    log('ingesting');
    // The ingest runs in this process (SDK, what `strata ingest` calls), so staging and workflow time are split.
    const rssBefore = process.resourceUsage().maxRSS / 1024;
    const t0 = process.hrtime.bigint();
    const handle = await strata.ingest('bench', csv, { validationPolicy: 'NONE' });
    const t1 = process.hrtime.bigint();
    log(`staged ${handle.stagedRows} rows in ${(Number(t1 - t0) / 1e9).toFixed(1)} s; waiting for the workflow`);
    const result = await handle.result();
    const t2 = process.hrtime.bigint();
    const ing = { secs: Number(t2 - t0) / 1e9, stage: Number(t1 - t0) / 1e9, workflow: Number(t2 - t1) / 1e9 };
    log(
      `strata ingest: ${ing.secs.toFixed(1)} s (staging ${ing.stage.toFixed(1)} s, workflow ${ing.workflow.toFixed(1)} s), ${result.rows} rows, commit ${result.commitSeq}`,
    );
    const peak = process.resourceUsage().maxRSS / 1024;
    const child = (await run('pgrep', ['-P', String(worker.pid)]).catch(() => ({ stdout: '' }))).stdout.trim().split('\n')[0];
    if (child) process.kill(Number(child), 'SIGTERM');
    const workerRss = await Promise.race([workerResult, new Promise((r) => setTimeout(() => r(Number.NaN), 30_000))]);
    worker = undefined;
    const rawRate = ROWS / raw.secs;
    const strataRate = ROWS / ing.secs;
    const report = {
      rows: ROWS,
      layout:
        VIEW_PARTITIONS === 0
          ? 'partitioned by commit (big commit attached)'
          : VIEW_PARTITIONS === 1
            ? 'plain table (commit inserts)'
            : `${VIEW_PARTITIONS} hash partitions (commit inserts)`,
      loadAverage: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
      fileMB: Math.round(mb),
      rawCopy: { seconds: +raw.secs.toFixed(2), rowsPerSec: Math.round(rawRate) },
      strata: {
        seconds: +ing.secs.toFixed(2),
        stagingSeconds: +ing.stage.toFixed(2),
        workflowSeconds: +ing.workflow.toFixed(2),
        rowsPerSec: Math.round(strataRate),
        stagingRowsPerSec: Math.round(ROWS / ing.stage),
        ingestProcessPeakRssMiB: Math.round(peak),
        ingestProcessRssBeforeMiB: Math.round(rssBefore),
        workerPeakRssMiB: Math.round(workerRss),
      },
      ratio: +(strataRate / rawRate).toFixed(3),
      goal: 'strata >= 0.6 x raw COPY, peak RSS < 1024 MiB',
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    if (worker) worker.kill('SIGTERM');
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await strata.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
