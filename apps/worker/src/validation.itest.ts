/**
 * Validation inside the ingest workflow on the real stack: a STRICT suite quarantines a bad batch (nothing
 * committed) and the workflow fails with VALIDATION_FAILED naming the expectations; drift against the previous
 * commit is computed and stored; a webhook receives alerts; a quarantined batch is released after the suite is fixed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, loadConfig, type Strata, StrataError, tableFromRows } from '@strata/sdk';
import { freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStrataWorker } from './index.js';

const cols = [
  { name: 'sensor_id', valueType: 'INT64' as const },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'temp', valueType: 'DOUBLE' as const },
];
const t0 = Date.parse('2024-01-01T00:00:00Z');

function readings(n: number, at: number, temp: (i: number) => number) {
  return tableFromRows(
    cols,
    Array.from({ length: n }, (_, i) => ({ sensor_id: i, ts: new Date(at), temp: temp(i) })),
  );
}

function suite(max: number) {
  return {
    name: 'readings_suite',
    expectations: [
      { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'temp' } },
      { type: 'expect_column_values_to_be_between', kwargs: { column: 'temp', min_value: -40, max_value: max } },
    ],
  };
}

describe('validation, drift and alerts in the ingest workflow', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let hook: Server;
  const alerts: Record<string, unknown>[] = [];
  let hookUrl = '';

  const repo = (max: number) => ({
    entities: [{ name: 'sensor', joinKeys: [{ name: 'sensor_id', valueType: 'INT64' as const }] }],
    featureViews: [
      {
        name: 'readings',
        entities: ['sensor'],
        timestampField: 'ts',
        ttlSeconds: 0,
        online: true,
        features: [{ name: 'temp', valueType: 'DOUBLE' as const }],
        validationPolicy: 'STRICT' as const,
        expectationSuite: suite(max),
        monitoring: { drift: { psi: 0.2 }, alertWebhook: hookUrl },
      },
    ],
    featureServices: [],
  });

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        alerts.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    // The path holds a token, as real webhook URLs do: it must never show in results, history or errors.
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts/SECRET-TOKEN-42`;
    fresh = await freshSchema();
    const config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'val')) });
    strata = await connect({ config });
    await strata.apply(repo(50));
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
  });

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await fresh?.drop();
    hook?.close();
  });

  const committedRows = async () => {
    const vv = await strata.getView('readings');
    const { rows } = await strata.pool.query(`SELECT count(*)::int AS n FROM "${fresh.schema}"."${vv.tableName}"`);
    return rows[0].n as number;
  };

  it('commits a good batch, then detects drift in the next one and alerts', async () => {
    const first = await (
      await strata.ingest(
        'readings',
        readings(500, t0, (i) => 10 + (i % 10)),
      )
    ).result();
    expect(first.validation).toMatchObject({ validated: true, success: true, policy: 'STRICT', evaluated: 2 });
    expect(first.validation.drift).toBeUndefined();

    const second = await (
      await strata.ingest(
        'readings',
        readings(500, t0 + 3600_000, (i) => 30 + (i % 10)),
      )
    ).result();
    expect(second.validation.success).toBe(true);
    expect(second.validation.drift).toMatchObject({ drifted: true, referenceCommit: first.commitSeq, driftedColumns: ['temp'] });
    expect(second.validation.alerted).toBe(`${new URL(hookUrl).origin}/***`);
    expect(JSON.stringify(second)).not.toContain('SECRET-TOKEN-42');
    const history = await (await strata.workflowClient()).workflow
      .getHandle(`ingest:${strata.project}:readings:${second.ingestionId}`)
      .fetchHistory();
    expect(JSON.stringify(history)).not.toContain('SECRET-TOKEN-42');
    const stored = await strata.offline.getIngestion(second.ingestionId);
    expect(stored?.drift).toMatchObject({ drifted: true });
    expect(stored?.statistics).toBeTruthy();
    expect(alerts.at(-1)).toMatchObject({ source: 'strata', event: 'drift', view: 'readings', ingestionId: second.ingestionId });
    expect(await committedRows()).toBe(1000);
  });

  it('quarantines a batch that fails a STRICT suite, commits nothing, and releases it after the suite is fixed', async () => {
    const handle = await strata.ingest(
      'readings',
      readings(100, t0 + 7200_000, (i) => (i < 3 ? 80 : 20)),
    );
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details.failed).toEqual([
      expect.objectContaining({ expectation: 'expect_column_values_to_be_between', column: 'temp', unexpectedCount: 3 }),
    ]);
    expect((await strata.offline.getIngestion(handle.ingestionId))?.status).toBe('quarantined');
    expect(await committedRows()).toBe(1000);
    expect(alerts.at(-1)).toMatchObject({ event: 'validation_failed', ingestionId: handle.ingestionId });

    // Releasing with the same suite fails again; after the fix it commits the staged rows as they were.
    const stillBad = await (await strata.release('readings', handle.ingestionId)).result().catch((e) => e);
    expect(stillBad.code).toBe('VALIDATION_FAILED');
    await strata.apply(repo(100));
    const released = await (await strata.release('readings', handle.ingestionId)).result();
    expect(released).toMatchObject({ status: 'committed', rows: 100, alreadyCommitted: false });
    expect(await committedRows()).toBe(1100);
    const again = await strata.release('readings', handle.ingestionId).catch((e) => e);
    expect(again.message).toMatch(/is committed; only quarantined ingestions can be released/);
  });

  it('a webhook that keeps failing is reported (redacted) in the result, and the data still commits', async () => {
    const down = createServer((_req, res) => {
      res.statusCode = 500;
      res.end('no');
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', () => r()));
    const downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/hooks/SECRET-TOKEN-43?key=SECRET-KEY`;
    try {
      await strata.apply({
        entities: [{ name: 'sensor', joinKeys: [{ name: 'sensor_id', valueType: 'INT64' as const }] }],
        featureViews: [
          {
            name: 'hooked',
            entities: ['sensor'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: false,
            features: [{ name: 'temp', valueType: 'DOUBLE' as const }],
            validationPolicy: 'ALWAYS' as const,
            expectationSuite: suite(50),
            monitoring: { alertWebhook: downUrl },
          },
        ],
      });
      const r = await (
        await strata.ingest(
          'hooked',
          readings(10, t0, () => 99),
        )
      ).result();
      expect(r.status).toBe('committed');
      expect(r.validation.alerted).toBeUndefined();
      expect(r.validation.alertError).toMatch(
        /alert webhook http:\/\/127\.0\.0\.1:\d+\/\*\*\* of view 'hooked' answered HTTP 500/,
      );
      expect(JSON.stringify(r)).not.toMatch(/SECRET/);
      const history = await (await strata.workflowClient()).workflow
        .getHandle(`ingest:${strata.project}:hooked:${r.ingestionId}`)
        .fetchHistory();
      expect(JSON.stringify(history)).not.toMatch(/SECRET/);
    } finally {
      down.close();
    }
  }, 60_000);

  it('profiles a big commit without a suite from a sample, and says so', async () => {
    await strata.apply({
      entities: [{ name: 'sensor', joinKeys: [{ name: 'sensor_id', valueType: 'INT64' as const }] }],
      featureViews: [
        {
          name: 'raw_readings',
          entities: ['sensor'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'temp', valueType: 'DOUBLE' as const }],
        },
      ],
    });
    const r = await (
      await strata.ingest(
        'raw_readings',
        readings(250_000, t0, (i) => i % 100),
      )
    ).result();
    expect(r.validation).toMatchObject({ validated: false, success: true, policy: 'NONE' });
    const stats = (await strata.offline.getIngestion(r.ingestionId))?.statistics as {
      rowCount: number;
      sample?: { rows: number; of: number };
    };
    expect(stats.sample?.of).toBe(250_000);
    expect(stats.sample?.rows).toBe(stats.rowCount);
    // A Bernoulli sample of 100k expected rows: far from both 0 and the whole batch.
    expect(stats.rowCount).toBeGreaterThan(90_000);
    expect(stats.rowCount).toBeLessThan(110_000);
  });
});
