/**
 * `strata compare --measure`: starts Strata's serving app on loopback and, when feast is installed
 * (STRATA_FEAST_PYTHON names its python, or `feast` is on PATH), `feast serve` over `export feast` of the project on
 * the same Redis; runs the same short bounded load (the project's own online views and entity keys) against each and
 * stops both. Hopsworks is not measured: it needs a cluster (RonDB).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CompareInput, exportFeast, type Measurement, measureOnline } from '@strata/adapters';
import type { RepoSpec } from '@strata/core';
import type { Strata } from '@strata/sdk';

type Measured = NonNullable<CompareInput['measured']>;

const INTEGER_TYPES = new Set(['INT32', 'INT64', 'UNIX_TIMESTAMP']);

/** Request bodies for the project's online views: all features of a view for one entity row each (sampled keys). */
async function requestBodies(strata: Strata, repo: RepoSpec): Promise<unknown[]> {
  const bodies: unknown[] = [];
  for (const spec of repo.featureViews.filter((v) => v.online && v.features.length)) {
    const vv = await strata.getView(spec.name);
    const cols = vv.joinKeys.map((k) => `"${k.name.replace(/"/g, '""')}"`).join(', ');
    const { rows } = await strata.pool.query<Record<string, unknown>>(
      `SELECT DISTINCT ${cols} FROM "${strata.registry.schema}"."${vv.tableName}" LIMIT 50`,
    );
    for (const row of rows) {
      const entities = Object.fromEntries(
        vv.joinKeys.map((k) => [k.name, [INTEGER_TYPES.has(k.valueType) ? Number(row[k.name]) : row[k.name]]]),
      );
      bodies.push({ features: spec.features.map((f) => `${spec.name}:${f.name}`), entities });
    }
  }
  return bodies;
}

function feastBinary(env: NodeJS.ProcessEnv): string | undefined {
  if (env.STRATA_FEAST_PYTHON) return join(dirname(env.STRATA_FEAST_PYTHON), 'feast');
  const which = spawnSync('sh', ['-c', 'command -v feast'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/** Feast's connection string (host:port[,password=..][,ssl=true][,db=N]) for a redis:// URL. */
export function feastConnectionString(redisUrl: string): string {
  const u = new URL(redisUrl);
  const parts = [`${u.hostname}:${u.port || 6379}`];
  if (u.password) parts.push(`password=${decodeURIComponent(u.password)}`);
  if (u.protocol === 'rediss:') parts.push('ssl=true');
  const db = u.pathname.replace(/^\//, '');
  if (db) parts.push(`db=${db}`);
  return parts.join(',');
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startFeast(bin: string, repoDir: string, redisUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(bin, ['-c', repoDir, 'serve', '-h', '127.0.0.1', '-p', String(port), '--no-access-log'], {
    // The Redis address (and any password) goes by environment only, as the exported feature_store.yaml expects.
    env: { ...process.env, REDIS_CONNECTION_STRING: feastConnectionString(redisUrl), FEAST_USAGE: 'False' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`feast serve exited with code ${child.exitCode}`);
    const ok = await fetch(`${url}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { url, child };
    if (Date.now() > until) {
      child.kill('SIGTERM');
      throw new Error('feast serve did not answer /health within 120 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function measureSystems(
  strata: Strata,
  repo: RepoSpec,
  opts: { requests?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Measured> {
  const env = opts.env ?? process.env;
  const results: Partial<Record<'feast' | 'hopsworks' | 'strata', Measurement>> = {};
  const notMeasured: Measured['notMeasured'] = {
    hopsworks: 'needs a Hopsworks cluster (RonDB); none runs on this machine',
  };
  const bodies = await requestBodies(strata, repo);
  if (!bodies.length) {
    const why = 'the project has no online view with rows to read';
    return { results, notMeasured: { ...notMeasured, strata: why, feast: why } };
  }
  const load = { requests: opts.requests ?? 400, concurrency: 4 };
  const { serve } = await import('@strata/serving');
  const server = await serve(strata.config, { port: 0, host: '127.0.0.1' });
  try {
    results.strata = await measureOnline('strata', server.address, bodies, load);
  } finally {
    await server.stop();
  }
  const bin = feastBinary(env);
  if (!bin) {
    notMeasured.feast = 'feast is not installed (set STRATA_FEAST_PYTHON, see infra/compat-peers.sh)';
    return { results, notMeasured };
  }
  const dir = await mkdtemp(join(tmpdir(), 'strata-measure-'));
  let feast: ChildProcess | undefined;
  try {
    const extras = await strata.registry.getProjectExtras(strata.project, 'feast');
    await exportFeast(strata.project, { ...repo, ...(extras ? { extras } : {}) }, join(dir, 'feast'));
    const started = await startFeast(bin, join(dir, 'feast'), strata.config.redis.url);
    feast = started.child;
    results.feast = await measureOnline('feast', started.url, bodies, load);
  } catch (err) {
    notMeasured.feast = `feast serve could not be measured: ${(err as Error).message}`;
  } finally {
    feast?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
  return { results, notMeasured };
}
