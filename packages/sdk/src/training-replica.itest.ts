/**
 * A training set built by the workflow (startTrainingSet: Temporal, a real worker, chunk activities) with
 * offline.readUrl naming a real hot standby (`infra/stack.sh replica-up`): every chunk joins on the replica (the
 * workflow's result says so per chunk) and the output equals the same set read from the primary alone.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { arrowColumnBatch } from '@strata/offline-postgres';
import { freshSchema, type FreshSchema, requireOrSkip, serviceUrls, startPgReplica, uniqueName } from '@strata/testkit';
import { createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from './client.js';
import { loadConfig } from './config.js';

const replica = await startPgReplica();
const skip = requireOrSkip('training-set workflow on the read replica', replica.missing);
const t0 = Date.parse('2023-01-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'strata-ts-replica-'));

describe.skipIf(skip)('training-set workflow on the read replica (offline.readUrl, a real hot standby)', () => {
  let fresh: FreshSchema;
  /** offline.readUrl = the replica: the client that starts the set and the worker's store. */
  let strata: Strata;
  /** No read URL: the reference, read from the primary. */
  let primary: Strata;
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;

  beforeAll(async () => {
    fresh = await freshSchema();
    const urls = serviceUrls();
    const env = {
      STRATA_PROJECT: uniqueName('tsr'),
      STRATA_POSTGRES_URL: urls.postgres,
      STRATA_POSTGRES_SCHEMA: fresh.schema,
      TEMPORAL_ADDRESS: urls.temporal,
      STRATA_TASK_QUEUE: uniqueName('tq'),
    };
    const config = loadConfig({
      env: { ...env, STRATA_OFFLINE_READ_URL: replica.url as string },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
    primary = await Strata.connect({ config: loadConfig({ env, configPath: undefined as unknown as string }) });
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
            { name: 'x', valueType: 'DOUBLE' },
            { name: 's', valueType: 'STRING' },
          ],
        },
      ],
    });
    const vv = await strata.getView('v');
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'x', valueType: 'DOUBLE' as const },
      { name: 's', valueType: 'STRING' as const },
    ];
    const rows = Array.from({ length: 60 }, (_v, i) => ({ user_id: i % 10, ts: new Date(t0 + i * 1000), x: i / 3, s: `r${i}` }));
    await strata.offline.stage(vv, 'i0', tableFromRows(cols, rows).batches.map(arrowColumnBatch));
    await strata.offline.commit('i0');
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
    await strata?.close();
    await primary?.close();
    await fresh?.drop();
  });

  it('joins every chunk on the replica, says so in its result, and writes what the primary gives', async () => {
    const entities = join(dir, 'entities.csv');
    const lines = ['user_id,event_timestamp,label'];
    for (let i = 0; i < 95; i++) lines.push(`${i % 12},${new Date(t0 + (i % 70) * 1000).toISOString()},${i}`);
    writeFileSync(entities, `${lines.join('\n')}\n`);
    const want = await primary.writeHistoricalFeatures({
      features: ['v:x', 'v:s'],
      entities: { path: entities },
      out: join(dir, 'want.csv'),
    });
    expect(want.rows).toBe(95);
    const out = join(dir, 'train.csv');
    const run = await strata.startTrainingSet({
      features: ['v:x', 'v:s'],
      entities: { path: entities },
      out,
      chunkRows: 40,
      parallel: 2,
      id: 'ts-replica',
    });
    const result = await run.result();
    expect(result).toMatchObject({ id: 'ts-replica', rows: 95, chunks: 3 });
    expect(result.routes).toEqual([0, 1, 2].map((chunk) => ({ chunk, server: 'replica' })));
    const got = readFileSync(out, 'utf8');
    expect(got).toBe(readFileSync(want.path, 'utf8'));
    // Features are really there (not all empty), e.g. user 3 at its 3rd second has x = 1.
    expect(got.split('\n').filter((l) => /,r\d+$/.test(l)).length).toBeGreaterThan(60);
  });
});
