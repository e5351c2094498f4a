// P1 serving benchmark: Strata's server vs the limit (a minimal Node process doing only the pipelined HMGETs) vs
// Feast's Python feature server (`feast serve`), on the same Redis data, batch 1 and batch 100 entities x 50
// features. Load comes from autocannon in a separate process; loopback only; every run is bounded (-d seconds).
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   FEAST_PYTHON=<venv>/bin/python node bench/serving/run.mjs [--duration 10] [--connections 16] [--port-base 16566]
//     [--rounds 1] [--base-serving <other tree>/apps/serving/dist/main.js]
// --rounds N measures every target N times per batch size, alternating the order each round (the ratios are of the
// means, so load drift from other processes hits every target alike). --base-serving adds a second Strata serving
// build (e.g. an older commit's, built in a scratch copy) on the same data: strata/base is an A/B of two builds.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, loadConfig } from '@strata/sdk';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const DURATION = Number(arg('duration', '10'));
const CONNECTIONS = Number(arg('connections', '16'));
const ENTITIES = 10_000;
const FEATURES = 50;
const PROJECT = 'bench_p1';
const SCHEMA = 'strata_bench';
const feastPython = process.env.FEAST_PYTHON;
const redisUrl = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';
const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const PORT_BASE = Number(arg('port-base', '16566'));
const ROUNDS = Math.max(1, Number(arg('rounds', '1')));
const BASE_SERVING = arg('base-serving', '');
const ports = { strata: PORT_BASE, limit: PORT_BASE + 1, feast: PORT_BASE + 2, base: PORT_BASE + 3 };
const procs = [];

function log(msg) {
  process.stderr.write(`[p1] ${msg}\n`);
}

async function waitHttp(url, ms = 120_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

function start(name, cmd, args, env = {}) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  p.on('exit', (code) => code && log(`${name} exited ${code}: ${err}`));
  procs.push(p);
  return p;
}

const features = Array.from({ length: FEATURES }, (_, j) => `f${j}`);
const body = (batch) =>
  JSON.stringify({
    features: features.map((f) => `bench:${f}`),
    entities: { user_id: Array.from({ length: batch }, (_, i) => 1 + ((i * 97) % ENTITIES)) },
  });

async function autocannon(url, payload, duration = DURATION) {
  const bin = join(root, 'bench', 'node_modules', '.bin', 'autocannon');
  const { stdout } = await run(
    bin,
    [
      '-j',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(duration),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      payload,
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout);
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

async function main() {
  const config = loadConfig({
    env: {},
    configPath: undefined,
    overrides: { project: PROJECT, postgres: { url: pgUrl, schema: SCHEMA }, redis: { url: redisUrl } },
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
  const vv = await strata.getView('bench');
  log(`writing ${ENTITIES} entities x ${FEATURES} features to Redis`);
  const ts = new Date('2024-01-01T00:00:00Z');
  await strata.online.writeRows(
    { project: PROJECT, view: vv.spec, joinKeys: vv.joinKeys },
    Array.from({ length: ENTITIES }, (_, i) => ({
      entityKey: { user_id: i + 1 },
      eventTime: ts,
      values: Object.fromEntries(features.map((f, j) => [f, i + 1 + j / 100])),
    })),
  );
  await strata.close();

  const env = {
    STRATA_CONFIG: '',
    STRATA_PROJECT: PROJECT,
    STRATA_POSTGRES_URL: pgUrl,
    STRATA_POSTGRES_SCHEMA: SCHEMA,
    STRATA_REDIS_URL: redisUrl,
    STRATA_SERVING_PORT: String(ports.strata),
  };
  start('strata', process.execPath, [join(root, 'apps', 'serving', 'dist', 'main.js')], env);
  start('limit', process.execPath, [
    join(here, 'limit-server.mjs'),
    String(ports.limit),
    redisUrl,
    PROJECT,
    'bench',
    String(FEATURES),
  ]);
  const targets = [
    {
      name: 'strata',
      url: `http://127.0.0.1:${ports.strata}/get-online-features`,
      health: `http://127.0.0.1:${ports.strata}/health`,
    },
    { name: 'limit', url: `http://127.0.0.1:${ports.limit}/`, health: null },
  ];
  if (BASE_SERVING) {
    start('base', process.execPath, [BASE_SERVING], { ...env, STRATA_SERVING_PORT: String(ports.base) });
    targets.push({
      name: 'base',
      url: `http://127.0.0.1:${ports.base}/get-online-features`,
      health: `http://127.0.0.1:${ports.base}/health`,
    });
  }
  if (feastPython) {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-feast-'));
    log('setting up the Feast repo');
    await run(feastPython, [
      join(here, 'feast_repo.py'),
      'setup',
      '--dir',
      dir,
      '--redis',
      redisUrl,
      '--project',
      PROJECT,
      '--features',
      String(FEATURES),
    ]);
    const feastBin = join(dirname(feastPython), 'feast');
    start('feast', feastBin, ['--chdir', dir, 'serve', '--host', '127.0.0.1', '--port', String(ports.feast), '--no-access-log']);
    targets.push({
      name: 'feast',
      url: `http://127.0.0.1:${ports.feast}/get-online-features`,
      health: `http://127.0.0.1:${ports.feast}/health`,
    });
  } else log('FEAST_PYTHON is not set: skipping feast serve');

  for (const t of targets) if (t.health) await waitHttp(t.health);
  await new Promise((r) => setTimeout(r, 500));

  // Same answers first: every target returns 50 present features for a known entity.
  for (const t of targets) {
    const r = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(1) });
    const j = await r.json();
    if (r.status !== 200) throw new Error(`${t.name}: HTTP ${r.status} ${JSON.stringify(j).slice(0, 300)}`);
    if (t.name !== 'limit') {
      const f49 = j.results[j.metadata.feature_names.indexOf('f49')];
      if (f49.values[0] !== 1.49) throw new Error(`${t.name}: wrong value ${f49.values[0]}`);
    } else if (j.present !== 1) throw new Error('limit: entity not found');
  }

  const results = [];
  for (const batch of [1, 100]) {
    for (const t of targets) await autocannon(t.url, body(batch), 3).catch(() => {}); // warm-up (bounded)
    const rounds = new Map(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const r = await autocannon(t.url, body(batch));
        rounds.get(t.name).push(r);
        log(`batch ${batch} round ${round + 1} ${t.name}: ${r.rps} req/s p50 ${r.p50} ms p99 ${r.p99} ms non2xx ${r.non2xx}`);
      }
    }
    for (const t of targets) {
      const rs = rounds.get(t.name);
      const mean = (k) => Math.round(rs.reduce((a, r) => a + r[k], 0) / rs.length);
      results.push({
        batch,
        target: t.name,
        rps: mean('rps'),
        p50: mean('p50'),
        p99: mean('p99'),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        errors: rs.reduce((a, r) => a + r.errors, 0),
        roundsRps: rs.map((r) => r.rps),
      });
    }
  }
  const get = (batch, name) => results.find((r) => r.batch === batch && r.target === name);
  const lines = [
    '| batch | target | req/s | entities/s | p50 ms | p99 ms | non-2xx |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results)
    lines.push(`| ${r.batch} | ${r.target} | ${r.rps} | ${r.rps * r.batch} | ${r.p50} | ${r.p99} | ${r.non2xx} |`);
  lines.push('');
  for (const batch of [1, 100]) {
    const s = get(batch, 'strata');
    const l = get(batch, 'limit');
    const f = get(batch, 'feast');
    const b = get(batch, 'base');
    lines.push(
      `batch ${batch}: strata/limit = ${(s.rps / l.rps).toFixed(2)} (goal >= 0.60)` +
        (f ? `; strata/feast = ${(s.rps / f.rps).toFixed(1)}x (goal >= 5x), p99 ${s.p99} vs ${f.p99} ms` : '') +
        (b ? `; strata/base = ${(s.rps / b.rps).toFixed(2)} (base/limit ${(b.rps / l.rps).toFixed(2)})` : ''),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS, results })}\n`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const p of procs) p.kill('SIGTERM');
  });
