/**
 * Hardening of an ingestion's life on the real stack (built CLI and worker in child processes, Temporal, Postgres):
 * options that fail closed (did you mean), 5 concurrent submitters of one id who all get its real outcome, a failed
 * run that cleans up after itself, a stager killed during COPY whose id a later submit takes over, the janitor
 * schedule and sweep, a deleted view taking its quarantined staging along, and a commit that heartbeats so a killed
 * worker's commit is retried after the heartbeat timeout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, ensureJanitorSchedule, loadConfig, runJanitor, type Strata, StrataError, tableFromRows } from '@strata/sdk';
import {
  CLI_MAIN,
  eventually,
  freshSchema,
  type FreshSchema,
  requireBuilt,
  runCli,
  spawnWorker,
  strataEnv,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';
import { arrowColumnBatch } from '@strata/offline-postgres';
import { createStrataWorker } from '@strata/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'strata-life-'));
const f = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const spec = (view: string, extra = '') =>
  [
    'entities:',
    '  - name: user',
    '    joinKeys: [{ name: user_id, valueType: INT64 }]',
    'featureViews:',
    `  - name: ${view}`,
    '    entities: [user]',
    '    timestampField: ts',
    '    online: false',
    '    features:',
    '      - { name: score, valueType: DOUBLE }',
    extra,
  ].join('\n');

const strictSuite = [
  '    validationPolicy: STRICT',
  '    expectationSuite:',
  '      name: s',
  '      expectations:',
  '        - { type: expect_column_values_to_be_between, kwargs: { column: score, min_value: 0, max_value: 1 } }',
].join('\n');

describe.skipIf(requireBuilt('ingestion lifecycle hardening', CLI_MAIN, WORKER_MAIN))('ingestion lifecycle hardening', () => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  let pgc: pg.Client;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  const cli = (...args: string[]) => runCli(env, args, dir);

  const count = async (sql: string, params: unknown[] = []) => Number((await pgc.query(sql, params)).rows[0]?.n);
  const stagingTables = () =>
    count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg\\_%'`, [fresh.schema]);
  const ingestion = async (id: string) =>
    (await pgc.query(`SELECT * FROM "${fresh.schema}".ingestions WHERE id = $1`, [id])).rows[0] as
      | { status: string; staging_table: string | null; error: { code?: string } | null; commit_seq: string | null }
      | undefined;

  beforeAll(async () => {
    fresh = await freshSchema();
    env = { ...strataEnv(testScope(fresh.schema, 'life')), STRATA_JANITOR_SCHEDULE: 'false' };
    const config = loadConfig({ env });
    strata = await connect({ config });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    pgc = new pg.Client({ connectionString: fresh.url });
    await pgc.connect();
    const applied = await cli('apply', f('spec.yaml', spec('scores')));
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await pgc?.end();
    await strata?.close();
    await fresh?.drop();
  });

  it('fails closed on unknown options, keys, suites and commands, naming what was meant', async () => {
    const csv = f('ok.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,0.5\n');
    const policy = await cli('ingest', 'scores', csv, '--policy', 'STRICTT');
    expect(policy.code).toBe(3);
    expect(policy.stderr).toContain("validation policy 'STRICTT' is not valid (did you mean STRICT?)");
    expect(policy.stderr).toContain('NONE, ALWAYS, STRICT');
    expect(await count(`SELECT count(*) AS n FROM "${fresh.schema}".ingestions`)).toBe(0);

    const key = await cli('apply', f('typo.yaml', 'featurViews:\n  - name: x\n    entities: []\n'));
    expect(key.code).toBe(3);
    expect(key.stderr).toContain("unknown key 'featurViews' (did you mean featureViews?)");
    const nested = await cli('apply', f('nested.yaml', spec('scores').replace('timestampField', 'timestampFeild')));
    expect(nested.code).toBe(3);
    expect(nested.stderr).toContain('did you mean timestampField?');
    const empty = await cli('apply', f('empty.yaml', '# nothing here\n'));
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/is empty/);

    const suite = await cli('validate', csv, '--suite', f('empty-suite.json', '{}'));
    expect(suite.code).toBe(3);
    expect(suite.stderr).toMatch(/no "expectations" list/);
    const none = await cli('validate', csv, '--suite', f('none.json', '{"name":"n","expectations":[]}'));
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/has no expectations/);

    const command = await cli('materialise', 'scores');
    expect(command.code).toBe(3);
    expect(command.stderr).toContain("unknown command 'materialise' (did you mean materialize?)");
    const kind = await cli('delete', 'feature-veiw', 'scores');
    expect(kind.code).toBe(3);
    expect(kind.stderr).toContain('did you mean feature_view?');
  });

  it('gives all 5 concurrent submitters of one ingestion id its committed outcome, committing once', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},2024-01-01T00:00:00Z,0.${i % 10}`).join('\n');
    const csv = f('same.csv', `user_id,ts,score\n${rows}\n`);
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => cli('--json', 'ingest', 'scores', csv, '--ingestion-id', 'same-id-5x')),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout) as { status: string; commitSeq: number; rows: number });
    expect(new Set(results.map((r) => r.commitSeq)).size).toBe(1);
    for (const r of results) expect(r).toMatchObject({ status: 'committed', rows: 20_000 });
    const vv = await strata.getView('scores');
    expect(await count(`SELECT count(*) AS n FROM "${fresh.schema}"."${vv.tableName}"`)).toBe(20_000);
    expect(await stagingTables()).toBe(0);
  });

  it('a run that fails marks the ingestion failed and drops its staging, without retrying a non-transient error', async () => {
    await cli('apply', f('doomed.yaml', spec('doomed')));
    const vv = await strata.getView('doomed');
    const table = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
        { name: 'score', valueType: 'DOUBLE' },
      ],
      [{ user_id: 1n, ts: new Date('2024-01-01T00:00:00Z'), score: 0.5 }],
    );
    await strata.offline.stage(vv, 'doomed-1', table.batches.map(arrowColumnBatch));
    expect((await ingestion('doomed-1'))?.status).toBe('staged');
    // The view's table disappears under the commit: INSERT fails with SQLSTATE 42P01 (undefined table), which
    // retrying cannot fix.
    await pgc.query(`DROP TABLE "${fresh.schema}"."${vv.tableName}"`);
    const handle = await strata.ingest('doomed', table, { ingestionId: 'doomed-1' });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).message).toMatch(/SQLSTATE 42P01/);
    const ing = await ingestion('doomed-1');
    expect(ing?.status).toBe('failed');
    expect(ing?.staging_table).toBeNull();
    expect(ing?.error?.code).toBe('INTERNAL');
    expect(await stagingTables()).toBe(0);
    // One attempt of the commit, not 20.
    const client = await strata.workflowClient();
    const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
    const commits = (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'commitIngestion',
    );
    expect(commits).toHaveLength(1);
    const started = (history.events ?? []).find((e) => e.activityTaskStartedEventAttributes?.attempt !== undefined && e.eventId);
    expect(started).toBeDefined();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1);
    expect(Math.max(...attempts)).toBe(1);
  });

  it('a stager killed during COPY does not block its id: a later submit takes it over', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 1_500_000; i++) rows.push(`${i},2024-01-0${1 + (i % 9)}T00:00:00Z,0.${i % 10}`);
    const big = f('big.csv', `user_id,ts,score\n${rows.join('\n')}\n`);
    const child: ChildProcess = spawn(process.execPath, [CLI_MAIN, 'ingest', 'scores', big, '--ingestion-id', 'killed-1'], {
      env,
      stdio: 'ignore',
    });
    await eventually(async () => (await ingestion('killed-1'))?.status === 'staging', 30_000, 20);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = await ingestion('killed-1');
    expect(left?.status).toBe('staging');
    const small = f('small.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,0.5\n2,2024-01-01T00:00:00Z,0.6\n');
    const again = await cli('--json', 'ingest', 'scores', small, '--ingestion-id', 'killed-1');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'committed', rows: 2 });
    expect(await stagingTables()).toBe(0);
  }, 120_000);

  it('the janitor schedule is idempotent; a sweep removes an old orphan and leaves a fresh one', async () => {
    const client = await strata.workflowClient();
    const opts = { schema: fresh.schema, taskQueue: strata.config.temporal.taskQueue, every: '1h', maxStagingAgeSeconds: 3600 };
    const first = await ensureJanitorSchedule(client, opts);
    const second = await ensureJanitorSchedule(client, { ...opts, every: '2h' });
    expect([first.created, second.created]).toEqual([true, false]);
    const described = await client.schedule.getHandle(first.scheduleId).describe();
    expect(described.action.type).toBe('startWorkflow');
    expect(described.spec.intervals?.[0]?.every).toBe(7_200_000);
    await client.schedule.getHandle(first.scheduleId).delete();

    await cli('apply', f('janitor.yaml', spec('swept')));
    const vv = await strata.getView('swept');
    const one = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
        { name: 'score', valueType: 'DOUBLE' },
      ],
      [{ user_id: 1n, ts: new Date('2024-01-01T00:00:00Z'), score: 0.5 }],
    );
    await strata.offline.stage(vv, 'old-orphan', one.batches.map(arrowColumnBatch));
    await strata.offline.stage(vv, 'fresh-staged', one.batches.map(arrowColumnBatch));
    await pgc.query(`UPDATE "${fresh.schema}".ingestions SET created_at = now() - interval '2 days' WHERE id = 'old-orphan'`);
    const oldTable = (await ingestion('old-orphan'))?.staging_table;
    // A table nobody refers to (what a crash between a row's delete and its table's drop leaves).
    await pgc.query(`CREATE TABLE "${fresh.schema}".stg_deadbeef (x int)`);
    const report = await runJanitor(strata, { maxStagingAgeSeconds: 86_400 });
    expect(report.removed.map((r) => r.ingestionId)).toEqual(['old-orphan']);
    expect(report.orphanTables).toEqual(['stg_deadbeef']);
    expect((await ingestion('old-orphan'))?.status).toBe('failed');
    expect((await ingestion('old-orphan'))?.error?.code).toBe('ABANDONED');
    expect(
      await count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, [fresh.schema, oldTable]),
    ).toBe(0);
    const freshIng = await ingestion('fresh-staged');
    expect(freshIng?.status).toBe('staged');
    expect(
      await count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, [
        fresh.schema,
        freshIng?.staging_table,
      ]),
    ).toBe(1);
    await strata.offline.abandon('fresh-staged', { code: 'TEST' });
  });

  it('delete feature-view drops the staging of its quarantined ingestions', async () => {
    const applied = await cli('apply', f('strict.yaml', spec('strict_view', strictSuite)));
    expect(applied.code, applied.stderr).toBe(0);
    const bad = f('bad.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,5\n');
    const ingest = await cli('ingest', 'strict_view', bad, '--ingestion-id', 'quarantined-1');
    expect(ingest.code).toBe(6);
    expect((await ingestion('quarantined-1'))?.status).toBe('quarantined');
    expect(await stagingTables()).toBe(1);
    const deleted = await cli('--json', 'delete', 'feature-view', 'strict_view');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout).droppedIngestions).toEqual(['quarantined-1']);
    expect(await stagingTables()).toBe(0);
    expect((await ingestion('quarantined-1'))?.status).toBe('failed');
  });

  it('the commit heartbeats: a worker killed during a commit is replaced after the heartbeat timeout', async () => {
    // Its own task queue, served first by a worker process that is killed mid-commit.
    const scope = testScope(fresh.schema, 'hb');
    const hbEnv = { ...strataEnv(scope), STRATA_JANITOR_SCHEDULE: 'false' };
    const hb = await connect({ config: loadConfig({ env: hbEnv }) });
    try {
      await hb.apply({
        entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: 'beats',
            entities: ['user'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: false,
            features: [{ name: 'score', valueType: 'DOUBLE' }],
          },
        ],
      });
      const first = spawnWorker(hbEnv);
      // Commits of the view wait for this lock: the commit activity blocks inside its transaction.
      const holder = new pg.Client({ connectionString: fresh.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-commit:${fresh.schema}:${scope.project}:beats`]);
      const csv = f('beats.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,0.5\n');
      const handle = await hb.ingest('beats', csv, { ingestionId: 'beats-1' });
      const wf = (await hb.workflowClient()).workflow.getHandle(handle.workflowId);
      await eventually(async () => {
        const d = await wf.describe();
        const pending = d.raw.pendingActivities?.[0];
        return pending?.activityType?.name === 'commitIngestion' && pending.state === 2 /* STARTED */;
      }, 60_000);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const second = spawnWorker(hbEnv);
      try {
        // The dead worker's attempt times out on its heartbeat (15 s), not on its 2 h start-to-close timeout.
        const retried = await eventually(async () => {
          const d = await wf.describe();
          const p = d.raw.pendingActivities?.[0];
          return p && Number(p.attempt ?? 1) >= 2 ? p : undefined;
        }, 60_000);
        expect(retried.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(4 /* TIMEOUT_TYPE_HEARTBEAT */);
        await holder.query('ROLLBACK');
        const result = await handle.result();
        expect(result).toMatchObject({ status: 'committed', rows: 1 });
      } finally {
        await holder.end().catch(() => {});
        second.kill('SIGTERM');
        await new Promise((r) => second.once('exit', r));
      }
    } finally {
      await hb.close();
    }
  }, 150_000);
});
