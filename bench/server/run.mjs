// Server benchmarks, ratios in one run (docs/benchmarks.md, "CP control plane"):
//  A. ingest of an N-row CSV uploaded through the API (`strata --server ... ingest`, the remote CLI streaming the file
//     to a real `strata server`) against the local CLI's ingest of the same file (`strata ingest`), each into its
//     own empty view; both wait for the ingest workflow's commit; the worker and the server run in this process.
//  B. an N-row training set downloaded as an Arrow IPC stream through the API (POST /historical-features, written
//     to a file by the remote SDK) against the local SDK writing it directly (writeHistoricalFeatures, Arrow file).
//  C. the Python client's get_historical_features (the same N entity rows, pandas out) against pyarrow reading the
//     same training set from a Parquet file (read_table().to_pandas()); needs STRATA_CLIENT_PYTHON
//     (eval "$(bash infra/python-client.sh)").
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   node bench/server/run.mjs [--rows 1000000] [--dir /tmp/strata-bench]
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, Identity, loadConfig, RemoteStrata } from '@strata/sdk';
import { createServer } from '@strata/server';
import { createStrataWorker } from '@strata/worker';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'apps', 'cli', 'dist', 'main.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ROWS = Number(arg('rows', '1000000'));
const DIR = arg('dir', join(tmpdir(), 'strata-bench'));
const log = (m) => process.stderr.write(`[p5] ${m}\n`);
const stamp = Date.now().toString(36);
const ADMIN = `bench-admin-${stamp}-0123456789`;

async function writeLines(path, header, n, line) {
  if (existsSync(path)) return;
  log(`writing ${n} rows to ${path}`);
  const out = createWriteStream(`${path}.part`);
  out.write(`${header}\n`);
  let chunk = [];
  for (let i = 0; i < n; i++) {
    chunk.push(line(i));
    if (chunk.length === 100_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await new Promise((r) => out.once('drain', r));
      chunk = [];
    }
  }
  if (chunk.length) out.write(`${chunk.join('\n')}\n`);
  await new Promise((r) => out.end(r));
  await run('mv', [`${path}.part`, path]);
}

const T0 = Date.parse('2024-01-01T00:00:00Z');
const users = Math.max(1, Math.floor(ROWS / 10));

async function time(fn) {
  const t = process.hrtime.bigint();
  const out = await fn();
  return { secs: Number(process.hrtime.bigint() - t) / 1e9, out };
}

async function main() {
  mkdirSync(DIR, { recursive: true });
  const csv = join(DIR, `p5_features_${ROWS}.csv`);
  await writeLines(csv, 'user_id,event_timestamp,f0,f1,f2', ROWS, (i) => {
    const ts = new Date(T0 + (i % 8_640_000) * 1000).toISOString();
    return `${(i * 7919) % users},${ts},${(i % 1000) / 7},${i % 97},${((i * 31) % 1009) / 3}`;
  });
  const entitiesCsv = join(DIR, `p5_entities_${ROWS}.csv`);
  await writeLines(entitiesCsv, 'user_id,event_timestamp', ROWS, (i) => {
    const ts = new Date(T0 + 86_400_000 + ((i * 104729) % 8_640_000) * 1000).toISOString();
    return `${i % users},${ts}`;
  });
  const schema = `strata_bench_p5_${stamp}`;
  const env = {
    ...process.env,
    STRATA_CONFIG: '',
    STRATA_PROJECT: 'bench',
    STRATA_POSTGRES_SCHEMA: schema,
    STRATA_TASK_QUEUE: `bench-p5-${stamp}`,
  };
  delete env.STRATA_SERVER_URL;
  delete env.STRATA_API_KEY;
  const config = loadConfig({ env });
  const strata = await connect({ config });
  const worker = await createStrataWorker(config, { logLevel: 'ERROR' });
  const running = worker.worker.run();
  const identity = new Identity(strata.pool, schema, { adminKey: ADMIN });
  const app = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-p5-')) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const results = {};
  try {
    const view = (name) => ({
      name,
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: false,
      features: [
        { name: 'f0', valueType: 'DOUBLE' },
        { name: 'f1', valueType: 'INT64' },
        { name: 'f2', valueType: 'DOUBLE' },
      ],
    });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [view('local_view'), view('api_view')],
    });

    // A. ingest: local CLI vs remote CLI through the server (same file, each into an empty view).
    const local = await time(() =>
      run(process.execPath, [cli, '--json', 'ingest', 'local_view', csv], { env, maxBuffer: 1 << 26 }),
    );
    const remoteEnv = { ...env, STRATA_SERVER_URL: url, STRATA_API_KEY: ADMIN };
    const api = await time(() =>
      run(process.execPath, [cli, '--json', 'ingest', 'api_view', csv], { env: remoteEnv, maxBuffer: 1 << 26 }),
    );
    const lr = JSON.parse(local.out.stdout);
    const ar = JSON.parse(api.out.stdout);
    if (lr.rows !== ROWS || ar.rows !== ROWS) throw new Error(`ingest rows: local ${lr.rows}, api ${ar.rows}`);
    results.ingest = { localSecs: local.secs, apiSecs: api.secs, ratio: local.secs / api.secs };
    log(
      `A ingest ${ROWS} rows (${(statSync(csv).size / 1e6).toFixed(0)} MB): local ${local.secs.toFixed(1)} s, api ${api.secs.toFixed(1)} s, api/local throughput ${(local.secs / api.secs).toFixed(2)}`,
    );

    // B. training set as Arrow: SDK writing directly vs the API's Arrow stream written by the remote SDK.
    const req = { features: ['local_view:f0', 'local_view:f1', 'local_view:f2'], entities: { path: entitiesCsv } };
    // Twice each, alternating, best of two (the first run also warms Postgres' cache for the second).
    const sdkOut = join(DIR, `p5_sdk_${stamp}.arrow`);
    const remote = new RemoteStrata({ url, apiKey: ADMIN, project: 'bench' });
    const apiOut = join(DIR, `p5_api_${stamp}.arrow`);
    let sdk;
    let viaApi;
    for (let round = 0; round < 2; round++) {
      const s = await time(() => strata.writeHistoricalFeatures({ ...req, out: sdkOut }));
      const a = await time(() => remote.writeHistoricalFeatures({ ...req, out: apiOut }));
      log(`B round ${round + 1}: sdk ${s.secs.toFixed(1)} s, api ${a.secs.toFixed(1)} s`);
      if (!sdk || s.secs < sdk.secs) sdk = s;
      if (!viaApi || a.secs < viaApi.secs) viaApi = a;
    }
    if (sdk.out.rows !== ROWS || viaApi.out.rows !== ROWS)
      throw new Error(`training rows: sdk ${sdk.out.rows}, api ${viaApi.out.rows}`);
    results.training = { sdkSecs: sdk.secs, apiSecs: viaApi.secs, ratio: sdk.secs / viaApi.secs };
    log(
      `B training set ${ROWS} rows as Arrow: sdk ${sdk.secs.toFixed(1)} s, api ${viaApi.secs.toFixed(1)} s, api/sdk throughput ${(sdk.secs / viaApi.secs).toFixed(2)}`,
    );

    // C. Python: get_historical_features vs pyarrow reading the same training set from Parquet.
    const py = process.env.STRATA_CLIENT_PYTHON;
    if (py) {
      const parquet = join(DIR, `p5_${stamp}.parquet`);
      await strata.writeHistoricalFeatures({ ...req, out: parquet });
      const script = [
        'import sys, time, pyarrow.parquet as pq',
        'from strata_client import Client',
        'url, key, entities, parquet = sys.argv[1:5]',
        'c = Client(url, api_key=key, project="bench")',
        't = time.perf_counter(); df = c.get_historical_features(entities, features=["local_view:f0", "local_view:f1", "local_view:f2"]); api = time.perf_counter() - t',
        't = time.perf_counter(); ref = pq.read_table(parquet).to_pandas(); local = time.perf_counter() - t',
        'assert len(df) == len(ref), (len(df), len(ref))',
        'print(f"{api} {local} {len(df)}")',
      ].join('\n');
      const { stdout } = await run(py, ['-c', script, url, ADMIN, entitiesCsv, parquet], { maxBuffer: 1 << 20 });
      const [apiS, localS, n] = stdout.trim().split(' ').map(Number);
      results.python = { apiSecs: apiS, parquetSecs: localS, rows: n, ratio: localS / apiS };
      log(
        `C python ${n} rows: get_historical_features ${apiS.toFixed(2)} s, pyarrow read_table(parquet).to_pandas() ${localS.toFixed(2)} s, ratio ${(localS / apiS).toFixed(3)}`,
      );
    } else log('C skipped: STRATA_CLIENT_PYTHON is not set (eval "$(bash infra/python-client.sh)")');
    console.log(JSON.stringify({ rows: ROWS, ...results }, null, 2));
  } finally {
    await app.close();
    worker.worker.shutdown();
    await running.catch(() => {});
    await worker.close();
    await strata.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await strata.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
