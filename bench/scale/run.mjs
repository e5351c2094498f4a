// Scale benchmarks, each a ratio measured in one run:
//  (1) serving on a Redis Cluster (3 masters + 3 replicas, loopback) vs a standalone Redis, same data: the same
//      serving app (apps/serving/dist) twice, one per store, batch 1 and batch 100 entities x 50 features, autocannon
//      rounds alternating between the two; goal cluster/standalone >= 0.8.
//  (2) materialization with 2 worker processes vs 1 (apps/worker/dist, same task queue, partitions 4), same rows
//      into the standalone Redis.
// Usage (after `pnpm build`, `bash infra/stack.sh up` and `bash infra/stack.sh cluster-up`; env from `stack.sh env`):
//   node bench/scale/run.mjs [--duration 5] [--rows 200000] [--port-base 16570] [--only serving|materialize]
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, loadConfig, tableFromRows } from '@strata/sdk';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const DURATION = Number(arg('duration', '5'));
const ROWS = Number(arg('rows', '200000'));
const PORT_BASE = Number(arg('port-base', '16570'));
const ONLY = arg('only', '');
const redisUrl = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';
const clusterUrl = process.env.STRATA_REDIS_CLUSTER_URL;
const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const temporal = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const stamp = Date.now().toString(36);
const log = (m) => process.stderr.write(`[scale] ${m}\n`);
const procs = [];

function start(name, args, env) {
  const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  p.on('exit', (code) => code && log(`${name} exited ${code}: ${err}`));
  procs.push(p);
  return p;
}

async function waitHttp(url, ms = 60_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

const baseEnv = (project, schema, queue) => ({
  STRATA_CONFIG: '',
  STRATA_PROJECT: project,
  STRATA_POSTGRES_URL: pgUrl,
  STRATA_POSTGRES_SCHEMA: schema,
  TEMPORAL_ADDRESS: temporal,
  STRATA_TASK_QUEUE: queue,
});

async function autocannon(url, payload, duration) {
  const bin = join(root, 'bench', 'node_modules', '.bin', 'autocannon');
  const args = [
    '-j',
    '-c',
    '16',
    '-d',
    String(duration),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-b',
    payload,
    url,
  ];
  const { stdout } = await run(bin, args, { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout);
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx };
}

async function servingBench() {
  if (!clusterUrl)
    throw new Error('STRATA_REDIS_CLUSTER_URL is not set: run `bash infra/stack.sh cluster-up` and eval `stack.sh env`');
  const project = 'bench_scale';
  const schema = 'strata_bench';
  const features = Array.from({ length: 50 }, (_, j) => `f${j}`);
  const entities = 10_000;
  const repo = {
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
  };
  const stores = { standalone: { type: 'redis', url: redisUrl }, cluster: { type: 'redis_cluster', url: clusterUrl } };
  const ts = new Date('2024-01-01T00:00:00Z');
  for (const [name, redis] of Object.entries(stores)) {
    const config = loadConfig({
      env: {},
      configPath: undefined,
      overrides: { project, postgres: { url: pgUrl, schema }, redis },
    });
    const strata = await connect({ config });
    await strata.apply(repo);
    const vv = await strata.getView('bench');
    log(`writing ${entities} entities x 50 features to the ${name} store`);
    await strata.online.writeRows(
      { project, view: vv.spec, joinKeys: vv.joinKeys },
      Array.from({ length: entities }, (_, i) => ({
        entityKey: { user_id: i + 1 },
        eventTime: ts,
        values: Object.fromEntries(features.map((f, j) => [f, i + 1 + j / 100])),
      })),
    );
    await strata.close();
  }
  const targets = Object.entries(stores).map(([name, redis], k) => {
    const port = PORT_BASE + k;
    start(`serving ${name}`, [join(root, 'apps', 'serving', 'dist', 'main.js')], {
      ...baseEnv(project, schema, 'unused'),
      STRATA_REDIS_TYPE: redis.type,
      STRATA_REDIS_URL: redis.url,
      STRATA_SERVING_PORT: String(port),
    });
    return { name, url: `http://127.0.0.1:${port}/get-online-features`, health: `http://127.0.0.1:${port}/health` };
  });
  for (const t of targets) await waitHttp(t.health);
  const body = (batch) =>
    JSON.stringify({
      features: features.map((f) => `bench:${f}`),
      entities: { user_id: Array.from({ length: batch }, (_, i) => 1 + ((i * 97) % entities)) },
    });
  for (const t of targets) {
    const r = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(100) });
    const j = await r.json();
    const f49 = j.results?.[j.metadata.feature_names.indexOf('f49')];
    if (r.status !== 200 || f49.values[0] !== 1.49 || f49.values[99] !== 1 + ((99 * 97) % entities) + 0.49) {
      throw new Error(`${t.name}: wrong answer ${JSON.stringify(j).slice(0, 300)}`);
    }
  }
  const out = [];
  for (const batch of [1, 100]) {
    for (const t of targets) await autocannon(t.url, body(batch), 2); // warm-up
    const sums = { standalone: [], cluster: [] };
    // Alternate the order each round, so load drift from other processes hits both alike.
    for (let round = 0; round < 4; round++) {
      const order = round % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        const r = await autocannon(t.url, body(batch), DURATION);
        if (r.non2xx) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers`);
        sums[t.name].push(r);
      }
    }
    const mean = (a) => a.reduce((x, r) => x + r.rps, 0) / a.length;
    const s = mean(sums.standalone);
    const c = mean(sums.cluster);
    out.push({ batch, standaloneRps: Math.round(s), clusterRps: Math.round(c), ratio: Number((c / s).toFixed(2)) });
    log(
      `batch ${batch}: standalone ${Math.round(s)} req/s, cluster ${Math.round(c)} req/s, cluster/standalone ${(c / s).toFixed(2)}`,
    );
  }
  for (const p of procs.splice(0)) p.kill('SIGTERM');
  return out;
}

async function materializeBench() {
  const project = `bench_mw_${stamp}`;
  const schema = `strata_bench_mw_${stamp}`;
  const features = Array.from({ length: 10 }, (_, j) => `f${j}`);
  const queue = `bench-mw-${stamp}`;
  const config = loadConfig({
    env: {},
    configPath: undefined,
    overrides: {
      project,
      postgres: { url: pgUrl, schema },
      redis: { url: redisUrl },
      temporal: { address: temporal, taskQueue: queue },
    },
  });
  const strata = await connect({ config });
  const view = (name) => ({
    name,
    entities: ['user'],
    timestampField: 'event_timestamp',
    ttlSeconds: 0,
    online: true,
    features: features.map((f) => ({ name: f, valueType: 'DOUBLE' })),
  });
  await strata.apply({
    entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
    featureViews: [view('one'), view('two')],
  });
  const cols = [
    { name: 'user_id', valueType: 'INT64' },
    { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
    ...features.map((f) => ({ name: f, valueType: 'DOUBLE' })),
  ];
  const ts = new Date('2024-01-01T00:00:00Z');
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    user_id: i + 1,
    event_timestamp: ts,
    ...Object.fromEntries(features.map((f, j) => [f, i + j / 10])),
  }));
  const workers = [];
  const startWorkers = async (n) => {
    for (let i = 0; i < n; i++) {
      workers.push(
        start(`worker ${i + 1}`, [join(root, 'apps', 'worker', 'dist', 'main.js')], {
          ...baseEnv(project, schema, queue),
          STRATA_REDIS_URL: redisUrl,
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
  };
  const stopWorkers = async () => {
    await Promise.all(
      workers.splice(0).map(
        (w) =>
          new Promise((r) => {
            w.once('exit', r);
            w.kill('SIGTERM');
          }),
      ),
    );
  };
  log(`ingesting ${ROWS} rows x 10 features into two views`);
  for (const name of ['one', 'two']) {
    await startWorkers(1);
    await (await strata.ingest(name, tableFromRows(cols, rows))).result();
    await stopWorkers();
  }
  const timed = async (name, n) => {
    await startWorkers(n);
    const t = Date.now();
    const r = await (await strata.materialize(name, { partitions: 4 })).result();
    const ms = Date.now() - t;
    await stopWorkers();
    if (r.rowsWritten !== ROWS) throw new Error(`${name}: wrote ${r.rowsWritten} of ${ROWS}`);
    log(`${n} worker(s): ${ROWS} rows in ${ms} ms (${Math.round(ROWS / (ms / 1000))} rows/s)`);
    return ms;
  };
  const one = await timed('one', 1);
  const two = await timed('two', 2);
  for (const name of ['one', 'two']) {
    const vv = await strata.getView(name);
    await strata.online.deleteView({ project, view: vv.spec, joinKeys: vv.joinKeys });
  }
  await strata.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await strata.close();
  return { rows: ROWS, oneWorkerMs: one, twoWorkersMs: two, speedup: Number((one / two).toFixed(2)) };
}

async function main() {
  const result = {};
  if (ONLY !== 'materialize') result.serving = await servingBench();
  if (ONLY !== 'serving') result.materialize = await materializeBench();
  const lines = [];
  for (const s of result.serving ?? []) {
    lines.push(
      `serving batch ${s.batch}: cluster ${s.clusterRps} req/s vs standalone ${s.standaloneRps} req/s = ${s.ratio} (goal >= 0.8)`,
    );
  }
  if (result.materialize) {
    const m = result.materialize;
    lines.push(
      `materialize ${m.rows} rows, 4 partitions: 1 worker ${m.oneWorkerMs} ms, 2 workers ${m.twoWorkersMs} ms = ${m.speedup}x`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n${JSON.stringify({ durationS: DURATION, ...result })}\n`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const p of procs) p.kill('SIGTERM');
  });
