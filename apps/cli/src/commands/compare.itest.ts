/**
 * Every command `strata compare` prints in a migration plan runs, as printed, with the built CLI on the real stack:
 * the plans towards Feast (export, then the real `feast` reading the export), towards Hopsworks (export), and into
 * Strata from a Feast repo or a folder of Hopsworks DTOs (import, ingest each view, materialize). Only `<placeholders>`
 * for files the team has are filled in. And `compare --measure` reports p50/p99 for Strata serving and `feast serve`
 * over the exported registry on the same Redis. Needs STRATA_FEAST_PYTHON (infra/compat-peers.sh).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { migrationPlan } from '@strata/adapters';
import { connect, loadConfig, type RepoSpec, type Strata } from '@strata/sdk';
import {
  CLI_MAIN,
  type FreshSchema,
  freshSchema,
  requireBuilt,
  requireOrSkip,
  runCli,
  serviceUrls,
  strataEnv,
  uniqueName,
} from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const python = process.env.STRATA_FEAST_PYTHON;
const skip =
  requireBuilt('compare migration plans', CLI_MAIN) ||
  requireOrSkip('compare migration plans', !python && 'STRATA_FEAST_PYTHON is not set (eval "$(bash infra/compat-peers.sh)")');

const repo: RepoSpec = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'user_stats',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'clicks', valueType: 'INT64' }],
    },
  ],
  featureServices: [],
};

describe.skipIf(skip)('strata compare: every command of a migration plan runs as printed', () => {
  const project = uniqueName('mig');
  const work = mkdtempSync(join(tmpdir(), 'strata-migrate-'));
  const schemas: FreshSchema[] = [];
  const queues = new Map<FreshSchema, string>();
  let strata: Strata;
  const workers: { worker: Awaited<ReturnType<typeof createStrataWorker>>; running: Promise<void> }[] = [];

  const envFor = (schema: FreshSchema) => strataEnv({ schema: schema.schema, project, taskQueue: queues.get(schema) ?? 'none' });

  /** Runs each command line of a plan in `cwd` (lines starting with # are comments), filling in placeholders. */
  async function runPlan(lines: string[], schema: FreshSchema, cwd: string, files: Record<string, string>) {
    const redis = new URL(serviceUrls().redis);
    const env = {
      ...envFor(schema),
      PATH: `${dirname(python as string)}:${process.env.PATH}`,
      REDIS_CONNECTION_STRING: `${redis.hostname}:${redis.port}`,
      FEAST_USAGE: 'False',
    };
    const commands = lines.filter((l) => !l.startsWith('#'));
    expect(commands.length).toBeGreaterThan(0);
    for (const line of commands) {
      let cmd = line.replace(/<[^>]+>/g, (p) => {
        const file = Object.entries(files).find(([k]) => p.includes(k))?.[1];
        if (!file) throw new Error(`no file for placeholder ${p} in: ${line}`);
        return file;
      });
      cmd = cmd.replace(/^strata /, `'${process.execPath}' '${CLI_MAIN}' `);
      const r = await run('bash', ['-c', cmd], { cwd, env, maxBuffer: 16 * 1024 * 1024 }).catch(
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect('code' in r ? r.code : 0, `${line}\n${r.stderr.slice(-1500)}`).toBe(0);
    }
  }

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const s = await freshSchema();
      schemas.push(s);
      queues.set(s, uniqueName('tq'));
    }
    strata = await connect({ config: loadConfig({ env: envFor(schemas[0] as FreshSchema) }) });
    await strata.apply(repo);
    // The two schemas the plans import into ingest and materialize: a worker for each.
    for (const s of schemas.slice(1)) {
      const worker = await createStrataWorker(loadConfig({ env: envFor(s) }), { logLevel: 'ERROR' });
      workers.push({ worker, running: worker.worker.run() });
    }
  });

  afterAll(async () => {
    for (const w of workers) {
      w.worker.worker.shutdown();
      await w.running.catch(() => {});
      await w.worker.close();
    }
    await strata?.close();
    for (const s of schemas) await s.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('prints the plan it is asked for, and the CLI prints the same plan', async () => {
    const requirements = join(work, 'requirements.yaml');
    writeFileSync(requirements, 'deployment: managed\nstreaming: true\nstatistics: true\n');
    const r = await runCli(envFor(schemas[0] as FreshSchema), ['compare', '--requirements', requirements, '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(work, 'compare.md'), 'utf8');
    const block = md.split('```sh\n')[1]?.split('\n```')[0]?.split('\n');
    const repoNow = await strata.registry.loadRepo(project);
    expect(block).toEqual(migrationPlan(project, repoNow, 'hopsworks'));
    expect(md).toMatch(/Versions: Feast 0\.67 .*Hopsworks .*5\.x/);
  });

  it('runs the plans towards Feast and Hopsworks, then the plans back into Strata from each', async () => {
    const current = await strata.registry.loadRepo(project);
    const cwd = join(work, 'out');
    mkdirSync(cwd, { recursive: true });
    await runPlan(migrationPlan(project, current, 'feast'), schemas[0] as FreshSchema, cwd, {});
    await runPlan(migrationPlan(project, current, 'hopsworks'), schemas[0] as FreshSchema, cwd, {});
    const history = join(work, 'user_stats.csv');
    writeFileSync(history, 'user_id,event_timestamp,clicks\n1,2024-01-01T00:00:00Z,5\n2,2024-01-01T00:00:00Z,7\n');
    const files = { 'feast repo': join(cwd, 'migration', 'feast'), 'Hopsworks DTOs': join(cwd, 'migration', 'hopsworks') };
    await runPlan(migrationPlan(project, current, 'strata', 'feast'), schemas[1] as FreshSchema, cwd, {
      ...files,
      'history of user_stats': history,
    });
    await runPlan(migrationPlan(project, current, 'strata', 'hopsworks'), schemas[2] as FreshSchema, cwd, {
      ...files,
      'history of user_stats': history,
    });
    await runPlan(migrationPlan(project, current, 'strata', 'strata'), schemas[0] as FreshSchema, cwd, {});
    // The imported projects got the rows and the online store: both answer from Redis.
    const r = await runCli(envFor(schemas[2] as FreshSchema), [
      '--json',
      'get-online',
      '--features',
      'user_stats:clicks',
      '--entity',
      'user_id=2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/7/);
  });

  it('with --measure, reports p50/p99 of Strata serving and feast serve on the same Redis data', async () => {
    const out = join(work, 'measured');
    const requirements = join(work, 'requirements-latency.yaml');
    writeFileSync(requirements, 'latencyTargetMs: 1000\n');
    const env = { ...envFor(schemas[1] as FreshSchema), STRATA_FEAST_PYTHON: python };
    const r = await runCli(env, ['--json', 'compare', '--requirements', requirements, '--out', out, '--measure']);
    expect(r.code, r.stderr).toBe(0);
    const { measured } = JSON.parse(r.stdout);
    for (const system of ['strata', 'feast']) {
      expect(measured.results[system], `${system}: ${measured.notMeasured?.[system]}`).toMatchObject({ errors: 0 });
      expect(measured.results[system].p50Ms).toBeGreaterThan(0);
      expect(measured.results[system].p99Ms).toBeGreaterThanOrEqual(measured.results[system].p50Ms);
    }
    expect(measured.notMeasured.hopsworks).toMatch(/cluster/);
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(md).toMatch(/\| Online latency \(measured\) \| p99 <= 1000 ms \| yes: p50 [\d.]+ ms, p99 [\d.]+ ms over 400 requests/);
  });
});
