/**
 * An ingest whose file the worker stages resumes from its heartbeated row cursor after a real crash: a worker process
 * (the built apps/worker) is killed with SIGKILL while it copies the file chunk by chunk; a second worker takes the
 * staging step after the (configured, short) heartbeat timeout, continues at the cursor the server kept, and the run
 * commits once: every row of the file exactly once (an exact duplicate across the kill resolved last-wins, as in one
 * pass), the same rows as the same file staged by the client, and no chunk or staging table left behind.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, loadConfig, type Strata } from '@strata/sdk';
import {
  activityRuns,
  killWorkerRunning,
  type FreshSchema,
  freshSchema,
  requireBuilt,
  spawnWorker,
  strataEnv,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';
import type { StageFileProgress } from '@strata/workflows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const t0 = Date.parse('2024-01-01T00:00:00Z');
const ROWS = 300_000;
const CHUNK_ROWS = 2_000;

const view = (name: string) => ({
  name,
  entities: ['user'],
  timestampField: 'ts',
  ttlSeconds: 0,
  online: false,
  features: [
    { name: 'a', valueType: 'DOUBLE' as const },
    { name: 'b', valueType: 'INT64' as const },
  ],
});

/** Row i of the file; the last row repeats row 0's key and event time with new values (it must win). */
function line(i: number): string {
  const k = i === ROWS - 1 ? 0 : i;
  return `${k % 5000},${new Date(t0 + k * 1000).toISOString()},${i / 4},${i}`;
}

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('user_id,ts,a,b\n');
  for (let i = 0; i < ROWS; i += 10_000) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(ROWS, i + 10_000); j++) lines.push(line(j));
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

describe.skipIf(requireBuilt('ingest kill test', WORKER_MAIN))('an ingest whose staging worker is killed', () => {
  let fresh: FreshSchema;
  let dir: string;
  let csv: string;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    fresh = await freshSchema();
    dir = await mkdtemp(join(tmpdir(), 'strata-ingest-resume-'));
    csv = join(dir, 'events.csv');
    await writeCsv(csv);
    // The heartbeat timeout comes from the config (STRATA_HEARTBEAT_TIMEOUT), so the takeover needs seconds.
    env = { ...strataEnv(testScope(fresh.schema, 'isr')), STRATA_HEARTBEAT_TIMEOUT: '3s' };
    strata = await connect({ config: loadConfig({ env }) });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [view('v'), view('ref')],
    });
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await strata?.close();
    await fresh?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  function worker(identity: string): ChildProcess {
    const c = spawnWorker({ ...env, STRATA_WORKER_IDENTITY: identity });
    children.push(c);
    return c;
  }

  async function tables(): Promise<string[]> {
    const { rows } = await strata.offline.pool.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND (tablename LIKE 'stg\\_%' OR tablename LIKE 'stc\\_%')`,
      [fresh.schema],
    );
    return rows.map((r) => r.tablename);
  }

  it('resumes at the heartbeated row cursor and commits every row once, as a one-pass staging does', async () => {
    // Two workers from the start: the one running the step is killed, the other takes it over once it times out.
    const workers = { 'worker-a': worker('worker-a'), 'worker-b': worker('worker-b') };
    const run = await strata.ingest('v', csv, { stageOn: 'worker', chunkRows: CHUNK_ROWS, ingestionId: 'big-file' });
    const client = await strata.workflowClient();
    const h = client.workflow.getHandle(run.workflowId);
    // Killed once the server holds a cursor a few units in, while the step is still running; `beat` is the cursor
    // the retry must begin at.
    const { killed, details: beat } = await killWorkerRunning<StageFileProgress>(
      h,
      'stageIngestFile',
      workers,
      (d) => d.cursor.chunks >= 2,
    );
    expect(beat.cursor.rows).toBeLessThan(ROWS);
    expect((await strata.offline.getIngestion('big-file'))?.status).toBe('staging');
    const result = await run.result();

    // Committed once: the file's rows less the one exact duplicate, which the last row won.
    expect(result).toMatchObject({ status: 'committed', rows: ROWS - 1, duplicateRows: 1, alreadyCommitted: false });
    const vv = await strata.getView('v');
    const { rows: stats } = await strata.offline.pool.query<{ n: string; d: string; s: string; first: string }>(
      `SELECT count(*)::text AS n, count(DISTINCT b)::text AS d, sum(b)::text AS s,
              (SELECT b FROM "${fresh.schema}"."${vv.tableName}" WHERE user_id = 0 AND ts = $1)::text AS first
       FROM "${fresh.schema}"."${vv.tableName}"`,
      [new Date(t0)],
    );
    expect(stats[0]).toEqual({
      n: String(ROWS - 1),
      d: String(ROWS - 1),
      s: String((ROWS * (ROWS - 1)) / 2), // 0 + ... + (ROWS-1), without row 0 (b = 0), which lost to the last row
      first: String(ROWS - 1),
    });

    // The retry began at the heartbeated cursor (its result, from the history) and copied only the rest.
    const history = await h.fetchHistory();
    const [staging] = activityRuns(history, 'stageIngestFile');
    expect(staging?.attempt).toBeGreaterThan(1);
    const done = staging?.result as StageFileProgress;
    expect(done.starts.at(-1)).toEqual({ attempt: staging?.attempt, rows: beat.cursor.rows, chunks: beat.cursor.chunks });
    expect(done.starts[0]).toEqual({ attempt: 1, rows: 0, chunks: 0 });
    const afterKill = done.cursor.rows - beat.cursor.rows;
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(ROWS);
    expect(done).toMatchObject({ cursor: { rows: ROWS, chunks: ROWS / CHUNK_ROWS }, staged: ROWS });
    // The attempt that finished ran on the other worker, under the configured heartbeat timeout.
    expect(staging?.identity).toBe(killed === 'worker-a' ? 'worker-b' : 'worker-a');
    expect(staging?.heartbeatTimeoutSeconds).toBe(3);

    // The same rows as the file staged by this process in one pass (the usual path) and committed by the worker.
    const ref = await (await strata.ingest('ref', csv)).result();
    expect(ref.rows).toBe(ROWS - 1);
    const refView = await strata.getView('ref');
    const cols = '"user_id", "ts", "a", "b"';
    const { rows: diff } = await strata.offline.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         (SELECT ${cols} FROM "${fresh.schema}"."${vv.tableName}" EXCEPT ALL SELECT ${cols} FROM "${fresh.schema}"."${refView.tableName}")
         UNION ALL
         (SELECT ${cols} FROM "${fresh.schema}"."${refView.tableName}" EXCEPT ALL SELECT ${cols} FROM "${fresh.schema}"."${vv.tableName}")) d`,
    );
    expect(diff[0]?.n).toBe('0');

    // Nothing left behind: no chunk tables, no staging table; the same id again commits nothing new.
    expect(await tables()).toEqual([]);
    expect((await strata.offline.getIngestion('big-file'))?.stagingTable).toBeNull();
    const again = await (await strata.ingest('v', csv, { stageOn: 'worker', ingestionId: 'big-file' })).result();
    expect(again).toMatchObject({ alreadyCommitted: true, commitSeq: result.commitSeq, rows: ROWS - 1 });
    expect(await tables()).toEqual([]);
    workers[killed === 'worker-a' ? 'worker-b' : 'worker-a'].kill('SIGTERM');
  }, 240_000);

  it('a bad value in a late chunk fails the run with its line and column and leaves no chunk or staging behind', async () => {
    const bad = join(dir, 'bad.csv');
    const out = createWriteStream(bad);
    out.write('user_id,ts,a,b\n');
    for (let i = 0; i < 5_000; i++) out.write(`${i},${new Date(t0 + i * 1000).toISOString()},${i},${i === 4_321 ? 'x' : i}\n`);
    out.end();
    await once(out, 'finish');
    const w = worker('worker-c');
    const run = await strata.ingest('v', bad, { stageOn: 'worker', chunkRows: 1_000, ingestionId: 'bad-file' });
    const err = await run.result().catch((e: unknown) => e);
    w.kill('SIGTERM');
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    expect((err as Error).message).toMatch(/line 4323, row 4322, column 'b'/);
    expect(await tables()).toEqual([]);
    expect(await strata.offline.getIngestion('bad-file')).toMatchObject({ status: 'failed', stagingTable: null });
  }, 120_000);
});
