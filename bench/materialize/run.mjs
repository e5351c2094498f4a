// P2 materialization benchmark: rows/s of Strata's materialize workflow (Postgres -> Redis, newer-wins Lua writes,
// real Temporal worker in this process) against (a) a raw pipelined HSET of the same rows (pre-encoded, 500 per
// round trip: the Redis write limit) and (b) `feast materialize` of the same rows from a Parquet file (Feast's local
// provider), in one run. Bounded: fixed row count; loopback only.
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   FEAST_PYTHON=<venv>/bin/python node bench/materialize/run.mjs [--rows 100000] [--features 10] [--partitions 4]
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeTimestamp, encodeValue, featureFieldHash, redisKey, timestampField } from '@strata/online-redis';
import { connect, loadConfig, tableFromRows } from '@strata/sdk';
import { createStrataWorker } from '@strata/worker';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ROWS = Number(arg('rows', '100000'));
const FEATURES = Number(arg('features', '10'));
const PARTITIONS = Number(arg('partitions', '1'));
const feastPython = process.env.FEAST_PYTHON;
const redisUrl = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';
const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const stamp = Date.now().toString(36);
const log = (m) => process.stderr.write(`[p2] ${m}\n`);
const features = Array.from({ length: FEATURES }, (_, j) => `f${j}`);
const ts = new Date('2024-01-01T00:00:00Z');

async function strataRun() {
  const project = `bench_p2_${stamp}`;
  const config = loadConfig({
    env: {},
    configPath: undefined,
    overrides: {
      project,
      postgres: { url: pgUrl, schema: `strata_bench_p2_${stamp}` },
      redis: { url: redisUrl },
      temporal: { address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', taskQueue: `bench-${stamp}` },
    },
  });
  const strata = await connect({ config });
  await strata.apply({
    entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
    featureViews: [
      {
        name: 'bench',
        entities: ['user'],
        timestampField: 'event_timestamp',
        ttlSeconds: 0,
        online: true,
        features: features.map((name) => ({ name, valueType: 'DOUBLE' })),
      },
    ],
  });
  const cols = [
    { name: 'user_id', valueType: 'INT64' },
    { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
    ...features.map((name) => ({ name, valueType: 'DOUBLE' })),
  ];
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    user_id: i + 1,
    event_timestamp: ts,
    ...Object.fromEntries(features.map((f, j) => [f, i + 1 + j / 100])),
  }));
  const worker = await createStrataWorker(config, { logLevel: 'WARN' });
  const running = worker.worker.run();
  try {
    log(`ingesting ${ROWS} rows (not timed)`);
    await (await strata.ingest('bench', tableFromRows(cols, rows), { validationPolicy: 'NONE' })).result();
    const started = performance.now();
    const result = await (await strata.materialize('bench', { partitions: PARTITIONS, batchSize: 5000 })).result();
    const seconds = (performance.now() - started) / 1000;
    if (result.rowsWritten !== ROWS) throw new Error(`materialized ${result.rowsWritten} of ${ROWS}`);
    return { rows: ROWS, seconds, project };
  } finally {
    worker.worker.shutdown();
    await running.catch(() => {});
    await worker.close();
    await strata.close();
  }
}

async function rawHset() {
  const project = `bench_p2raw_${stamp}`;
  const redis = new Redis(redisUrl);
  const keys = [{ name: 'user_id', valueType: 'INT64' }];
  const fields = features.map((f) => featureFieldHash('bench', f));
  const tsField = timestampField('bench');
  const tsBytes = Buffer.from(encodeTimestamp(ts));
  // Encoding is done before the clock starts: this is the pure Redis write limit.
  const args = Array.from({ length: ROWS }, (_, i) => {
    const a = [redisKey(project, keys, { user_id: i + 1 })];
    for (let j = 0; j < FEATURES; j++) a.push(fields[j], Buffer.from(encodeValue('DOUBLE', i + 1 + j / 100)));
    a.push(tsField, tsBytes);
    return a;
  });
  const started = performance.now();
  for (let s = 0; s < ROWS; s += 500) {
    const p = redis.pipeline();
    for (const a of args.slice(s, s + 500)) p.hset(...a);
    await p.exec();
  }
  const seconds = (performance.now() - started) / 1000;
  redis.disconnect();
  return { rows: ROWS, seconds };
}

async function feast() {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-feast-p2-'));
  const project = `bench_p2feast_${stamp}`;
  const py = join(here, '..', 'serving', 'feast_repo.py');
  log('writing the Parquet source and applying the Feast repo (not timed)');
  await run(
    feastPython,
    [
      py,
      'setup',
      '--dir',
      dir,
      '--redis',
      redisUrl,
      '--project',
      project,
      '--rows',
      String(ROWS),
      '--features',
      String(FEATURES),
      '--parquet',
    ],
    {
      maxBuffer: 1 << 24,
    },
  );
  const { stdout } = await run(feastPython, [py, 'materialize', '--dir', dir], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

// Everything a run writes is removed at the end: its Redis hashes (keys end with the project) and its schema.
async function cleanup() {
  const redis = new Redis(redisUrl);
  let removed = 0;
  for (const project of [`bench_p2_${stamp}`, `bench_p2raw_${stamp}`, `bench_p2feast_${stamp}`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', `*${project}`, 'COUNT', 5000);
      cursor = String(next);
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "strata_bench_p2_${stamp}" CASCADE`);
  await client.end();
  log(`cleaned up ${removed} Redis hashes and schema strata_bench_p2_${stamp}`);
}

const out = {};
out.strata = await strataRun();
log(`strata: ${ROWS} rows in ${out.strata.seconds.toFixed(2)} s`);
out.rawHset = await rawHset();
log(`raw HSET: ${ROWS} rows in ${out.rawHset.seconds.toFixed(2)} s`);
if (feastPython) {
  out.feast = await feast();
  log(`feast materialize: ${out.feast.rows} rows in ${out.feast.seconds.toFixed(2)} s`);
} else log('FEAST_PYTHON is not set: skipping feast materialize');
const rps = (r) => Math.round(r.rows / r.seconds);
const lines = [
  `| run | rows | features | seconds | rows/s |`,
  `| --- | --- | --- | --- | --- |`,
  `| strata materialize (partitions ${PARTITIONS}) | ${ROWS} | ${FEATURES} | ${out.strata.seconds.toFixed(2)} | ${rps(out.strata)} |`,
  `| raw pipelined HSET | ${ROWS} | ${FEATURES} | ${out.rawHset.seconds.toFixed(2)} | ${rps(out.rawHset)} |`,
  ...(out.feast
    ? [`| feast materialize | ${out.feast.rows} | ${FEATURES} | ${out.feast.seconds.toFixed(2)} | ${rps(out.feast)} |`]
    : []),
  '',
  `strata/raw HSET = ${(rps(out.strata) / rps(out.rawHset)).toFixed(2)} (goal >= 0.60)` +
    (out.feast ? `; strata/feast = ${(rps(out.strata) / rps(out.feast)).toFixed(1)}x (goal >= 20x)` : ''),
];
process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(out)}\n`);
await cleanup();
process.exit(0);
