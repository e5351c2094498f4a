/**
 * Materialization at scale on the real Temporal dev server, Postgres and Redis: fan-out into child workflows by
 * entity-key hash partition (with a worker process killed mid-run), the history of runs, and periodic
 * materialization with Temporal Schedules through the SDK and the built `strata schedule` command.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  connect,
  createMaterializeSchedule,
  deleteMaterializeSchedule,
  describeSchedule,
  listMaterializeSchedules,
  loadConfig,
  materializationHistory,
  type Strata,
  type StrataConfig,
  tableFromRows,
  triggerMaterializeSchedule,
} from '@strata/sdk';
import {
  CLI_MAIN,
  eventually,
  freshSchema,
  type FreshSchema,
  activityRuns,
  decodeFirstPayload,
  requireBuilt,
  settled,
  runCli,
  spawnWorker,
  strataEnv,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import type { MaterializeProgress } from '@strata/workflows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const noCli = requireBuilt('schedules from the CLI', CLI_MAIN);
const t0 = Date.parse('2021-03-01T00:00:00Z');

const repo = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'big_view',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'v', valueType: 'DOUBLE' as const }],
    },
  ],
  featureServices: [],
};
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'v', valueType: 'DOUBLE' as const },
];
const rows = (n: number, hour: number, base = 0) =>
  Array.from({ length: n }, (_, i) => ({ user_id: i + 1, dt: new Date(t0 + hour * 3600_000), v: base + i }));

function configFor(schema: string, prefix: string): StrataConfig {
  return loadConfig({ env: strataEnv(testScope(schema, prefix)) });
}

function envFor(config: StrataConfig): NodeJS.ProcessEnv {
  return strataEnv({ schema: config.postgres.schema, project: config.project, taskQueue: config.temporal.taskQueue });
}

describe('fan-out materialization, history and schedules (in-process worker)', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;

  beforeAll(async () => {
    fresh = await freshSchema();
    config = configFor(fresh.schema, 'fan');
    strata = await connect({ config });
    await strata.apply(repo);
    worker = await createStrataWorker(config, { logLevel: 'WARN' });
    running = worker.worker.run();
  });

  afterAll(async () => {
    for (const s of await listMaterializeSchedules(strata).catch(() => [])) {
      await deleteMaterializeSchedule(strata, s.view).catch(() => {});
    }
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await fresh?.drop();
  });

  it('fans out into child workflows by key hash and records the run in the history', async () => {
    const n = 5000;
    await (await strata.ingest('big_view', tableFromRows(cols, rows(n, 0)))).result();
    const handle = await strata.materialize('big_view', { partitions: 4, batchSize: 300 });
    const result = await handle.result();
    expect(result.partitions).toBe(4);
    expect(result.rowsWritten).toBe(n);
    const client = await strata.workflowClient();
    const children = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const h = client.workflow.getHandle(`${handle.workflowId}:part${i}of4`);
        const r = (await h.result()) as { written: number };
        return r.written;
      }),
    );
    // Disjoint partitions that cover every key, each with a fair share.
    expect(children.reduce((a, b) => a + b, 0)).toBe(n);
    for (const c of children) expect(c).toBeGreaterThan(n / 8);
    const online = await strata.getOnlineFeatures({ features: ['big_view:v'], entities: { user_id: [1, 2500, n] } });
    expect(online.results[1]?.values).toEqual([0, 2499, n - 1]);

    const history = await materializationHistory(strata, 'big_view');
    expect(history[0]).toMatchObject({ status: 'completed', rowsWritten: n, mode: 'incremental' });
    expect(history[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(history[0]?.workflowId).toBe(handle.workflowId);
  });

  it('creates, lists, triggers and deletes a materialization schedule', async () => {
    await (await strata.ingest('big_view', tableFromRows(cols, rows(10, 5, 1000)))).result();
    const created = await createMaterializeSchedule(strata, 'big_view', { every: '1h' });
    expect(created).toMatchObject({ scheduleId: `materialize:${config.project}:big_view`, every: '1h', paused: false });
    await expect(createMaterializeSchedule(strata, 'big_view', { every: '1h' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const listed = await listMaterializeSchedules(strata);
    expect(listed.map((s) => s.view)).toEqual(['big_view']);
    const runsBefore = (await materializationHistory(strata, 'big_view')).length;
    await triggerMaterializeSchedule(strata, 'big_view');
    const d = await eventually(async () => {
      const s = await describeSchedule(strata, 'big_view');
      return s.recentRuns.length ? s : undefined;
    }, 30_000);
    const wfId = d.recentRuns[0]?.workflowId as string;
    expect(wfId.startsWith(`materialize:${config.project}:big_view:scheduled`)).toBe(true);
    const client = await strata.workflowClient();
    const r = (await client.workflow.getHandle(wfId).result()) as { rowsWritten: number };
    expect(r.rowsWritten).toBe(10);
    expect((await materializationHistory(strata, 'big_view')).length).toBe(runsBefore + 1);
    const online = await strata.getOnlineFeatures({ features: ['big_view:v'], entities: { user_id: [3] } });
    expect(online.results[1]?.values).toEqual([1002]);

    await deleteMaterializeSchedule(strata, 'big_view');
    expect(await listMaterializeSchedules(strata)).toEqual([]);
    await expect(describeSchedule(strata, 'big_view')).rejects.toMatchObject({ code: 'UNKNOWN_OBJECT' });
  });

  it.skipIf(noCli)('drives schedules from the built CLI', async () => {
    const env = envFor(config);
    const strataCli = async (...args: string[]) => {
      const r = await runCli(env, args);
      return { code: r.code, stdout: `${r.stdout}${r.code === 0 ? '' : r.stderr}` };
    };
    const created = await strataCli('schedule', 'create', 'big_view', '--every', '15m');
    expect(created.stdout).toContain(`materialize:${config.project}:big_view`);
    expect(created.code).toBe(0);
    const listed = await strataCli('--json', 'schedule', 'list');
    expect(JSON.parse(listed.stdout)).toMatchObject([{ view: 'big_view', every: '15m' }]);
    const bad = await strataCli('schedule', 'create', 'big_view', '--every', 'soon');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/not an interval/);
    expect((await strataCli('schedule', 'delete', 'big_view')).code).toBe(0);
    expect(JSON.parse((await strataCli('--json', 'schedule', 'list')).stdout)).toEqual([]);
    const hist = await strataCli('--json', 'materializations', 'big_view');
    expect(JSON.parse(hist.stdout)[0]).toMatchObject({ view: 'big_view', status: 'completed' });
  });
});

const noWorker = requireBuilt('worker kill during fan-out', WORKER_MAIN);

describe.skipIf(noWorker)('a worker process killed during a fanned-out materialization', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  const children: ChildProcess[] = [];
  const startWorker = () => {
    const c = spawnWorker(envFor(config));
    children.push(c);
    return c;
  };

  beforeAll(async () => {
    fresh = await freshSchema();
    config = configFor(fresh.schema, 'fank');
    strata = await connect({ config });
    await strata.apply(repo);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await strata?.close();
    await fresh?.drop();
  });

  it('each child resumes from its own cursor: every row lands, none older than before', async () => {
    const n = 40_000;
    const first = startWorker();
    // A newer value for user 7 is online first; the resumed run must not regress it.
    await (
      await strata.ingest('big_view', tableFromRows(cols, [{ user_id: 7, dt: new Date(t0 + 9 * 3600_000), v: -7 }]))
    ).result();
    await (await strata.materialize('big_view')).result();
    await (await strata.ingest('big_view', tableFromRows(cols, rows(n, 1)))).result();
    const handle = await strata.materialize('big_view', { partitions: 4, batchSize: 200 });
    const client = await strata.workflowClient();
    await eventually(
      async () => {
        for (let i = 1; i <= 4; i++) {
          const d = await client.workflow
            .getHandle(`${handle.workflowId}:part${i}of4`)
            .describe()
            .catch(() => undefined);
          if (d?.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.length) return true;
        }
        return undefined;
      },
      60_000,
      100,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    // With no worker running, each child's pending heartbeat details are frozen: where its resume must begin.
    const beats = new Map<number, MaterializeProgress>();
    for (let i = 1; i <= 4; i++) {
      const beat = (await settled(async () => {
        const d = await client.workflow
          .getHandle(`${handle.workflowId}:part${i}of4`)
          .describe()
          .catch(() => undefined);
        return decodeFirstPayload(d?.raw.pendingActivities?.[0]?.heartbeatDetails) ?? null;
      })) as MaterializeProgress | null;
      if (beat) beats.set(i, beat);
    }
    expect(beats.size).toBeGreaterThan(0);
    startWorker();
    const result = await handle.result();
    expect(result.partitions).toBe(4);
    expect(result.rowsWritten + result.rowsSkippedOlder).toBeGreaterThanOrEqual(n);
    const online = await strata.getOnlineFeatures({ features: ['big_view:v'], entities: { user_id: [1, 7, n / 2, n] } });
    expect(online.results[1]?.values).toEqual([0, -7, n / 2 - 1, n - 1]);
    expect(online.results[1]?.statuses).toEqual(['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT']);
    // Each child that had heartbeated resumed at its own cursor: its retried attempt began where the heartbeat
    // left off, and all children together wrote fewer rows after the kill than the run holds.
    let afterKill = 0;
    for (const [i, beat] of beats) {
      const history = await client.workflow.getHandle(`${handle.workflowId}:part${i}of4`).fetchHistory();
      const [run] = activityRuns(history, 'materializeRange');
      expect(run?.attempt).toBeGreaterThan(1);
      const done = run?.result as MaterializeProgress;
      expect(done.starts?.at(-1)).toEqual({
        attempt: run?.attempt,
        cursor: beat.cursor,
        written: beat.written,
        skipped: beat.skipped,
      });
      if (beat.cursor) expect(beat.written + beat.skipped).toBeGreaterThan(0);
      afterKill += done.written + done.skipped - beat.written - beat.skipped;
    }
    expect([...beats.values()].some((b) => b.cursor !== null)).toBe(true);
    expect(afterKill).toBeLessThan(n);
  });
});
