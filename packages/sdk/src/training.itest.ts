/**
 * A big training set as a Temporal workflow on the real stack: entity rows loaded by the client, chunks built by
 * activities on a real worker, the output stored and fetched by reference, progress visible by query.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { arrowColumnBatch } from '@strata/offline-postgres';
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import { createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from './client.js';
import { loadConfig } from './config.js';

const t0 = Date.parse('2023-01-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'strata-ts-'));

describe('training sets as a workflow', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;
  let seq = 0;

  beforeAll(async () => {
    fresh = await freshSchema();
    const urls = serviceUrls();
    const config = loadConfig({
      env: {
        STRATA_PROJECT: uniqueName('ts'),
        STRATA_POSTGRES_URL: urls.postgres,
        STRATA_POSTGRES_SCHEMA: fresh.schema,
        TEMPORAL_ADDRESS: urls.temporal,
        STRATA_TASK_QUEUE: uniqueName('tq'),
      },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'x', valueType: 'DOUBLE' }],
        },
      ],
    });
    const vv = await strata.getView('v');
    const rows = Array.from({ length: 50 }, (_v, i) => ({ user_id: i % 10, ts: new Date(t0 + i * 1000), x: i }));
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'x', valueType: 'DOUBLE' as const },
    ];
    await strata.offline.stage(vv, 'i0', tableFromRows(cols, rows).batches.map(arrowColumnBatch));
    seq = (await strata.offline.commit('i0')).commitSeq;
    connection = await NativeConnection.connect({ address: urls.temporal });
    worker = await Worker.create({
      connection,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: workflowsPath(),
      activities: createTrainingActivities({ offline: strata.offline }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => {});
    await connection?.close();
    await strata.close();
    await fresh.drop();
  });

  it('builds in chunks, pins the commit, stores the output and reports progress', async () => {
    const entities = join(dir, 'entities.csv');
    const lines = ['user_id,event_timestamp,label'];
    for (let i = 0; i < 95; i++) lines.push(`${i % 12},${new Date(t0 + 60_000).toISOString()},${i}`);
    writeFileSync(entities, `${lines.join('\n')}\n`);
    const out = join(dir, 'train.csv');
    const run = await strata.startTrainingSet({
      features: ['v:x'],
      entities: { path: entities },
      out,
      chunkRows: 20,
      parallel: 2,
      id: 'ts-1',
    });
    expect(run.entityRows).toBe(95);
    const result = await run.result();
    expect(result).toMatchObject({ id: 'ts-1', rows: 95, chunks: 5, uri: out });
    const progress = await run.progress();
    expect(progress).toMatchObject({ stage: 'done', rowsDone: 95, rowsTotal: 95 });
    const text = readFileSync(out, 'utf8').trim().split('\n');
    expect(text[0]).toBe('user_id,event_timestamp,label,x');
    expect(text).toHaveLength(96);
    // Row order kept across chunks; user 11 has no data (null); user 3's latest row is x = 43.
    expect(text.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(Array.from({ length: 95 }, (_v, i) => i));
    expect(text[1 + 3]).toMatch(/^3,.*,3,43$/);
    expect(text[1 + 11]).toMatch(/^11,.*,11,$/);
    const rec = await strata.trainingSet('ts-1');
    expect(rec).toMatchObject({ status: 'done', rowsDone: 95, outputUri: out, asOfCommitSeq: seq });
    expect(readdirSync(dir).sort()).toEqual(['entities.csv', 'train.csv']);
    const { rows } = await strata.pool.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'tse_%'`,
      [fresh.schema],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses an output path that cannot be written before loading anything', async () => {
    const entities = join(dir, 'entities.csv');
    const err = await strata
      .startTrainingSet({ features: ['v:x'], entities: { path: entities }, out: join(dir, 'nope', 'x.csv'), id: 'ts-2' })
      .catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    await expect(strata.trainingSet('ts-2')).rejects.toMatchObject({ code: 'UNKNOWN_OBJECT' });
  });
});
