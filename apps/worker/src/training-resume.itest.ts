/**
 * A training-set chunk resumes from its heartbeated cursor after a real crash: a worker process (the built
 * apps/worker) is killed with SIGKILL while it writes a chunk's segment files; a second worker takes the chunk after
 * the (configured, short) heartbeat timeout and continues at the cursor the server kept, so the output holds every
 * entity row exactly once and equals the output of an uninterrupted run of the same request.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, loadConfig, type Strata, tableFromRows } from '@strata/sdk';
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
import type { TrainingChunkProgress } from '@strata/workflows';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const H = 3600_000;
const t0 = Date.parse('2024-01-01T00:00:00Z');
const USERS = 2_000;
const ENTITY_ROWS = 60_000;
// Small segments make the chunk's step last seconds even on an idle machine: the server only sees heartbeat details
// every 0.8 x the heartbeat timeout (Temporal's throttle), so a step done in under that would never be caught midway.
const SEGMENT_ROWS = 50;

/** An Arrow IPC file's rows as JSON text, in file order (bigints as strings). */
function rowsOf(path: string): string[] {
  const table = arrow.tableFromIPC(readFileSync(path));
  return table.toArray().map((r) => JSON.stringify(r.toJSON(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

describe.skipIf(requireBuilt('training-set kill test', WORKER_MAIN))('a training-set chunk whose worker is killed', () => {
  let fresh: FreshSchema;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  let entities: arrow.Table;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    fresh = await freshSchema();
    dir = await mkdtemp(join(tmpdir(), 'strata-train-resume-'));
    // The heartbeat timeout comes from the config (STRATA_HEARTBEAT_TIMEOUT), so the takeover needs seconds.
    env = { ...strataEnv(testScope(fresh.schema, 'tsr')), STRATA_HEARTBEAT_TIMEOUT: '3s' };
    strata = await connect({ config: loadConfig({ env }) });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [
            { name: 'a', valueType: 'DOUBLE' },
            { name: 'b', valueType: 'INT64' },
          ],
        },
      ],
    });
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'a', valueType: 'DOUBLE' as const },
      { name: 'b', valueType: 'INT64' as const },
    ];
    const rows = Array.from({ length: USERS * 10 }, (_v, i) => ({
      user_id: i % USERS,
      ts: new Date(t0 + Math.floor(i / USERS) * H),
      a: i / 10,
      b: i,
    }));
    // Staged and committed in this process: no worker runs yet.
    const staged = await strata.stage('v', tableFromRows(cols, rows));
    await strata.offline.commit(staged.ingestionId);
    entities = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'label', valueType: 'INT64' },
      ],
      Array.from({ length: ENTITY_ROWS }, (_v, i) => ({
        user_id: (i * 7919) % (USERS + 50), // some users have no rows
        event_timestamp: new Date(t0 + ((i * 104729) % (12 * 3600)) * 1000),
        label: i,
      })),
    );
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

  it('resumes at the heartbeated cursor: every entity row once, the same output as an uninterrupted run', async () => {
    // Two workers from the start: the one running the step is killed, the other takes it over once it times out.
    const workers = { 'worker-a': worker('worker-a'), 'worker-b': worker('worker-b') };
    const out = join(dir, 'killed.arrow');
    const run = await strata.startTrainingSet({
      features: ['v:a', 'v:b'],
      entities,
      out,
      parallel: 1,
      segmentRows: SEGMENT_ROWS,
    });
    const client = await strata.workflowClient();
    const h = client.workflow.getHandle(run.workflowId);
    // Killed once the server holds a cursor a few units in, while the step is still running; `beat` is the cursor
    // the retry must begin at.
    const { killed: victim, details: beat } = await killWorkerRunning<TrainingChunkProgress>(
      h,
      'buildTrainingChunk',
      workers,
      (d) => d.cursor.segments >= 2,
    );
    expect(beat.cursor.next).toBeLessThan(ENTITY_ROWS);
    const result = await run.result();
    expect(result.rows).toBe(ENTITY_ROWS);

    // The retry began at the heartbeated cursor (its result, from the history) and built only the rest.
    const history = await h.fetchHistory();
    const [chunk] = activityRuns(history, 'buildTrainingChunk');
    expect(chunk?.attempt).toBeGreaterThan(1);
    const done = chunk?.result as TrainingChunkProgress;
    expect(done.starts.at(-1)).toEqual({ attempt: chunk?.attempt, next: beat.cursor.next, segments: beat.cursor.segments });
    expect(done.starts[0]).toEqual({ attempt: 1, next: 0, segments: 0 });
    const afterKill = done.cursor.next - beat.cursor.next;
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(ENTITY_ROWS);
    expect(done.cursor).toMatchObject({ next: ENTITY_ROWS, segments: ENTITY_ROWS / SEGMENT_ROWS });
    // The configured heartbeat timeout is what the chunk ran under.
    // The attempt that finished ran on the other worker, under the configured heartbeat timeout.
    expect(chunk?.identity).toBe(victim === 'worker-a' ? 'worker-b' : 'worker-a');
    expect(chunk?.heartbeatTimeoutSeconds).toBe(3);

    // Every entity row once, in entity-row order.
    const killed = rowsOf(out);
    expect(killed).toHaveLength(ENTITY_ROWS);
    expect(killed.map((r) => JSON.parse(r).label)).toEqual(Array.from({ length: ENTITY_ROWS }, (_v, i) => String(i)));

    // An uninterrupted run of the same request (one segment per chunk) gives the same rows.
    const whole = join(dir, 'whole.arrow');
    const again = await strata.startTrainingSet({ features: ['v:a', 'v:b'], entities, out: whole, parallel: 1 });
    expect((await again.result()).rows).toBe(ENTITY_ROWS);
    workers[victim === 'worker-a' ? 'worker-b' : 'worker-a'].kill('SIGTERM');
    expect(killed).toEqual(rowsOf(whole));
    // Nothing is left beside the outputs: no segments, no temporary files.
    expect((await readdir(dir)).sort()).toEqual(['killed.arrow', 'whole.arrow']);
  }, 240_000);
});
