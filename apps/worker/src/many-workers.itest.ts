/**
 * Several worker processes (the built apps/worker) on one task queue, on the real Temporal dev server, Postgres and
 * Redis: a fanned-out materialization and a big training set are shared between them (the activity worker
 * identities in the workflow histories prove it), with every row written once and none lost; and SIGTERM drains a
 * worker: it stops taking tasks, its running activity finishes, and it exits cleanly.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, loadConfig, type Strata, type StrataConfig, tableFromRows } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, spawnWorker, strataEnv, testScope, WORKER_MAIN } from '@strata/testkit';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const t0 = Date.parse('2020-12-07T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'strata-many-'));

const repo = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'agg',
      entities: ['user'],
      timestampField: 'dt',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'f1', valueType: 'DOUBLE' as const }],
    },
  ],
  featureServices: [],
};
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'f1', valueType: 'DOUBLE' as const },
];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Identities of the workers that ran each started activity of a workflow, with the activity type and attempt. */
async function activityRuns(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const runs: { type: string; identity: string; attempt: number; completed: boolean }[] = [];
  const byStarted = new Map<string, (typeof runs)[number]>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const s = e.activityTaskStartedEventAttributes;
    if (s) {
      const run = {
        type: scheduled.get(String(s.scheduledEventId)) ?? '',
        identity: s.identity ?? '',
        attempt: s.attempt ?? 1,
        completed: false,
      };
      runs.push(run);
      byStarted.set(id, run);
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const run = byStarted.get(String(c.startedEventId));
      if (run) run.completed = true;
    }
  }
  const children = (history.events ?? [])
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
    .filter((x): x is string => Boolean(x));
  return { runs, children };
}

describe.skipIf(!existsSync(WORKER_MAIN))('many worker processes on one task queue', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  const children: ChildProcess[] = [];

  function startWorker(identity: string, extra: Record<string, string> = {}): ChildProcess {
    const child = spawnWorker({
      ...strataEnv({ schema: config.postgres.schema, project: config.project, taskQueue: config.temporal.taskQueue }),
      STRATA_WORKER_IDENTITY: identity,
      ...extra,
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    fresh = await freshSchema();
    config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'many')) });
    strata = await connect({ config });
    await strata.apply(repo);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    const vv = await strata?.getView('agg').catch(() => undefined);
    if (vv) await strata.online.deleteView({ project: config.project, view: vv.spec, joinKeys: vv.joinKeys }).catch(() => {});
    await strata?.close();
    await fresh?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('three workers share a fanned-out materialization and a training set; every row once, none lost', async () => {
    const n = 30_000;
    // One activity at a time per worker, so parallel partitions and chunks must spread over the processes.
    const names = ['w1', 'w2', 'w3'];
    for (const name of names) startWorker(name, { STRATA_WORKER_MAX_ACTIVITIES: '1' });
    const rows = Array.from({ length: n }, (_, i) => ({ user_id: i + 1, dt: new Date(t0), f1: i + 0.25 }));
    await (await strata.ingest('agg', tableFromRows(cols, rows))).result();

    const handle = await strata.materialize('agg', { partitions: 6, batchSize: 500 });
    const result = await handle.result();
    // Each row written exactly once: a second write of the same row would be counted as skipped (equal event time).
    expect(result).toMatchObject({ rowsWritten: n, rowsSkippedOlder: 0, partitions: 6 });
    const client = await strata.workflowClient();
    const parent = await activityRuns(client, handle.workflowId);
    expect(parent.children).toHaveLength(6);
    const parts = await Promise.all(parent.children.map((id) => activityRuns(client, id)));
    const ran = parts.flatMap((p) => p.runs.filter((r) => r.type === 'materializeRange' && r.completed));
    expect(ran).toHaveLength(6);
    const usedBy = new Set(ran.map((r) => r.identity));
    expect(usedBy.size).toBeGreaterThan(1);
    for (const id of usedBy) expect(names).toContain(id);
    const vv = await strata.getView('agg');
    const [read] = await strata.online.readColumns(
      config.project,
      [{ view: vv.spec, joinKeys: vv.joinKeys, features: ['f1'] }],
      rows.map((r) => ({ user_id: r.user_id })),
    );
    expect(read?.columns[0]?.statuses.every((s) => s === 'PRESENT')).toBe(true);
    expect(read?.columns[0]?.values.every((v, i) => v === i + 0.25)).toBe(true);

    // A training set of 30,000 entity rows in 6 chunks, 3 at a time.
    const entities = join(dir, 'entities.csv');
    const lines = ['user_id,event_timestamp,label'];
    for (let i = 0; i < n; i++) lines.push(`${i + 1},${new Date(t0 + 60_000).toISOString()},${i}`);
    writeFileSync(entities, `${lines.join('\n')}\n`);
    const out = join(dir, 'train.csv');
    const run = await strata.startTrainingSet({
      features: ['agg:f1'],
      entities: { path: entities },
      out,
      chunkRows: 5000,
      parallel: 3,
    });
    expect(await run.result()).toMatchObject({ rows: n, chunks: 6 });
    const ts = await activityRuns(client, run.workflowId);
    const chunks = ts.runs.filter((r) => r.type === 'buildTrainingChunk' && r.completed);
    expect(chunks).toHaveLength(6);
    expect(new Set(chunks.map((r) => r.identity)).size).toBeGreaterThan(1);
    const text = readFileSync(out, 'utf8').trim().split('\n');
    expect(text).toHaveLength(n + 1);
    // Every entity row once, in order, with its feature value.
    text.slice(1).forEach((l, i) => {
      const [id, , label, x] = l.split(',');
      if (Number(id) !== i + 1 || Number(label) !== i || Number(x) !== i + 0.25) throw new Error(`row ${i}: ${l}`);
    });
    for (const c of children.splice(0)) c.kill('SIGTERM');
  });

  it('SIGTERM drains a worker: /health turns 503, its running activity finishes there, then it exits 0', async () => {
    const n = 30_000;
    const healthPort = await freePort();
    const health = async () => {
      const r = await fetch(`http://127.0.0.1:${healthPort}/health`);
      return { status: r.status, body: (await r.json()) as { status: string } };
    };
    const a = startWorker('drain-a', {
      STRATA_WORKER_SHUTDOWN_GRACE_SECONDS: '120',
      STRATA_WORKER_HEALTH_PORT: String(healthPort),
    });
    expect(await eventually(async () => (await health()).status === 200, 30_000)).toBe(true);
    expect(await health()).toEqual({ status: 200, body: { status: 'RUNNING' } });
    await (
      await strata.ingest(
        'agg',
        tableFromRows(
          cols,
          Array.from({ length: n }, (_, i) => ({ user_id: i + 1, dt: new Date(t0 + 3600_000), f1: -i })),
        ),
      )
    ).result();
    // Small pages: the one activity runs for a few seconds.
    const handle = await strata.materialize('agg', { batchSize: 100, partitions: 1 });
    const client = await strata.workflowClient();
    await eventually(
      async () => {
        const d = await client.workflow.getHandle(handle.workflowId).describe();
        const p = d.raw.pendingActivities?.[0];
        return p?.lastWorkerIdentity === 'drain-a' && p.heartbeatDetails?.payloads?.length ? true : undefined;
      },
      60_000,
      50,
    );
    // A second worker takes the workflow's remaining tasks; then the first one is told to stop.
    startWorker('drain-b');
    const exited = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
    a.kill('SIGTERM');
    // Draining: not ready any more, while the activity is still running on it.
    const draining = await eventually(
      async () => {
        const h = await health();
        return h.status === 503 ? h : undefined;
      },
      10_000,
      20,
    );
    expect(['STOPPING', 'DRAINING', 'DRAINED']).toContain(draining.body.status);
    const result = await handle.result();
    expect(result.rowsWritten).toBe(n);
    expect(await exited).toBe(0);
    const runs = (await activityRuns(client, handle.workflowId)).runs.filter((r) => r.type === 'materializeRange');
    // One attempt, run to completion by the worker that was draining.
    expect(runs).toEqual([{ type: 'materializeRange', identity: 'drain-a', attempt: 1, completed: true }]);
  });
});
