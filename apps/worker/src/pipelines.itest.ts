/**
 * Feature pipelines on the real Temporal dev server, Postgres and a worker: SQL sources with SQL and TypeScript
 * transformations, incremental windows from the watermark, a 30-day backfill as 30 child workflows that resumes,
 * a source query that fails for one window (only that window fails, after its retries), transformations that throw,
 * return the wrong columns or hang (non-retryable, nothing committed), files sources, and overlapping triggers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backfill,
  connect,
  createPipelineSchedule,
  loadConfig,
  pipelineCodeHash,
  pipelineStatus,
  runPipeline,
  type Strata,
  type StrataConfig,
  StrataError,
  triggerPipelineSchedule,
} from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStrataWorker } from './index.js';

const DAY = 86_400_000;
/** Midnight (UTC) `n` days ago. */
const daysAgo = (n: number) => new Date(Math.floor(Date.now() / DAY) * DAY - n * DAY);

const user = { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] };

function dailyView(name: string, schema: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    entities: ['user'],
    timestampField: 'day',
    ttlSeconds: 0,
    online: false,
    features: [
      { name: 'events', valueType: 'INT64' as const },
      { name: 'amount', valueType: 'DOUBLE' as const },
    ],
    source: { kind: 'sql', query: `SELECT user_id, ts, amount FROM "${schema}".raw_events`, timestampField: 'ts' },
    transformation: {
      kind: 'sql',
      query: `SELECT user_id, date_trunc('day', ts) AS day, count(*)::bigint AS events, sum(amount)::float8 AS amount FROM source GROUP BY 1, 2`,
    },
    pipeline: { window: '1d', start: daysAgo(3).toISOString(), maxAttempts: 2 },
    ...extra,
  };
}

describe('feature pipelines', () => {
  let fresh: FreshSchema;
  let config: StrataConfig;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let dir: string;

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await strata.pool.query(sql, params)).rows as T[];
  const commits = (view: string) =>
    q<{ id: string; row_count: string; code_hash: string; window_start: Date; status: string }>(
      `SELECT id, row_count, code_hash, window_start, status FROM "${fresh.schema}".ingestions WHERE project = $1 AND view = $2 AND status = 'committed' ORDER BY window_start`,
      [config.project, view],
    );
  const stagingTables = async () =>
    (
      await q<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg_%'`, [
        fresh.schema,
      ])
    )[0]?.n;

  beforeAll(async () => {
    fresh = await freshSchema();
    config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'pl')) });
    strata = await connect({ config });
    dir = mkdtempSync(join(tmpdir(), 'strata-pl-'));
    await strata.pool.query(`CREATE TABLE "${fresh.schema}".raw_events (user_id bigint, ts timestamptz, amount float8)`);
    // 30 days of events: user u has (u + day % 3) events a day of amount u * 1.5.
    await strata.pool.query(
      `INSERT INTO "${fresh.schema}".raw_events
       SELECT u, $1::timestamptz + d * interval '1 day' + (e * interval '17 minutes'), u * 1.5
       FROM generate_series(1, 5) u, generate_series(0, 29) d, LATERAL generate_series(1, u + d % 3) e`,
      [daysAgo(30)],
    );
    await strata.pool.query(`CREATE TABLE "${fresh.schema}".ctl (broken_day timestamptz)`);
    await strata.apply({ entities: [user], featureViews: [] });
    worker = await createStrataWorker(config, { logLevel: 'WARN' });
    running = worker.worker.run();
  }, 60_000);

  afterAll(async () => {
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await strata?.close();
    await fresh?.drop();
  });

  it('runs complete windows after the watermark, each committed once with its code hash; a re-run commits nothing', async () => {
    await strata.apply({ featureViews: [dailyView('daily_sql', fresh.schema) as never] });
    const vv = await strata.getView('daily_sql');
    const first = await (await runPipeline(strata, 'daily_sql')).result();
    expect(first).toMatchObject({ mode: 'incremental', windows: 3, committed: 3, failed: [] });
    expect(first.watermark).toBe(daysAgo(0).toISOString());
    const c = await commits('daily_sql');
    expect(c.map((x) => x.window_start.toISOString())).toEqual([daysAgo(3), daysAgo(2), daysAgo(1)].map((d) => d.toISOString()));
    expect(new Set(c.map((x) => x.code_hash))).toEqual(new Set([pipelineCodeHash(vv.spec)]));
    // The committed rows equal the same aggregate written by hand.
    const got = await q(
      `SELECT user_id::int, day, events::int, amount FROM "${fresh.schema}"."${vv.tableName}" ORDER BY day, user_id`,
    );
    const want = await q(
      `SELECT user_id::int, date_trunc('day', ts) AS day, count(*)::int AS events, sum(amount) AS amount FROM "${fresh.schema}".raw_events
       WHERE ts >= $1 AND ts < $2 GROUP BY 1, 2 ORDER BY 2, 1`,
      [daysAgo(3), daysAgo(0)],
    );
    expect(got).toEqual(want);
    const again = await (await runPipeline(strata, 'daily_sql')).result();
    expect(again).toMatchObject({ windows: 0, committed: 0 });
    expect((await commits('daily_sql')).length).toBe(3);
    const status = await pipelineStatus(strata, 'daily_sql');
    expect(status.watermark?.toISOString()).toBe(daysAgo(0).toISOString());
    expect(status.windows.map((w) => w.status)).toEqual(['committed', 'committed', 'committed']);
  }, 120_000);

  it('backfills 30 days as 30 child workflows; a window whose source fails fails alone after its retries; a re-run resumes', async () => {
    const schema = fresh.schema;
    // The source divides by zero in the window named by ctl (while it is set): only that window fails.
    const view = dailyView('daily_bf', schema, {
      source: {
        kind: 'sql',
        query: `SELECT user_id, ts, amount / (SELECT CASE WHEN count(*) FILTER (WHERE broken_day = $1::timestamptz) > 0 THEN 0 ELSE 1 END FROM "${schema}".ctl) AS amount FROM "${schema}".raw_events`,
        timestampField: 'ts',
      },
    });
    await strata.apply({ featureViews: [view as never] });
    const broken = daysAgo(15);
    await strata.pool.query(`INSERT INTO "${schema}".ctl VALUES ($1)`, [broken]);
    const run = await backfill(strata, 'daily_bf', { start: daysAgo(30), end: daysAgo(0), every: '1d', parallel: 4 });
    const err = await run.result().catch((e) => e);
    expect(StrataError.is(err, 'SOURCE_FAILED')).toBe(true);
    expect(err.message).toMatch(/1 of 30 window\(s\) failed/);
    expect(err.message).toMatch(/division by zero/);
    // 30 child workflows, one per window.
    const client = await strata.workflowClient();
    const children: string[] = [];
    await eventually(async () => {
      children.length = 0;
      for await (const w of client.workflow.list({
        query: `WorkflowType = 'pipelineWindowWorkflow' AND StrataProject = '${config.project}' AND StrataFeatureView = 'daily_bf'`,
      }))
        children.push(w.workflowId);
      return children.length === 30;
    });
    expect(new Set(children).size).toBe(30);
    expect(children.every((id) => id.startsWith(`${run.workflowId}:window:`))).toBe(true);
    const c = await commits('daily_bf');
    expect(c.length).toBe(29);
    expect(c.some((x) => x.window_start.getTime() === broken.getTime())).toBe(false);
    // The failed window's source ran twice (pipeline.maxAttempts: 2) before the window failed.
    const failedId = children.find((id) =>
      id.endsWith(`${broken.toISOString()}..${new Date(broken.getTime() + DAY).toISOString()}`),
    );
    const history = await client.workflow.getHandle(failedId as string).fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [],
    );
    expect(Math.max(...attempts.map(Number))).toBe(2);
    expect(await stagingTables()).toBe(0);
    // Fixed: the same backfill again computes only the failed window.
    await strata.pool.query(`DELETE FROM "${schema}".ctl`);
    const again = await (await backfill(strata, 'daily_bf', { start: daysAgo(30), end: daysAgo(0), every: '1d' })).result();
    expect(again).toMatchObject({ windows: 1, committed: 1, skipped: 29, failed: [] });
    expect((await commits('daily_bf')).length).toBe(30);
  }, 240_000);

  it('a source query that times out fails with the database message', async () => {
    const view = dailyView('daily_slow', fresh.schema, {
      source: {
        kind: 'sql',
        query: `SELECT user_id, ts, amount FROM "${fresh.schema}".raw_events, pg_sleep(2)`,
        timestampField: 'ts',
        timeoutSeconds: 0.3,
      },
      pipeline: { window: '1d', start: daysAgo(1).toISOString(), maxAttempts: 1 },
    });
    await strata.apply({ featureViews: [view as never] });
    const err = await (await runPipeline(strata, 'daily_slow')).result().catch((e) => e);
    expect(StrataError.is(err, 'SOURCE_FAILED')).toBe(true);
    expect(err.message).toMatch(/timed out: canceling statement due to statement timeout/);
    expect((await commits('daily_slow')).length).toBe(0);
    const status = await pipelineStatus(strata, 'daily_slow');
    expect(status.watermark).toBeNull();
    expect(status.windows[0]?.status).toBe('failed');
  }, 60_000);

  it('a TypeScript transformation over files commits its output with the bundled code hash', async () => {
    const csv = join(dir, 'events-1.csv');
    const rows = ['user_id,ts,amount'];
    for (let u = 1; u <= 4; u++)
      for (let d = 0; d < 2; d++)
        rows.push(`${u},${new Date(daysAgo(2).getTime() + d * DAY + 3600_000 * u).toISOString()},${u}.5`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    writeFileSync(
      join(dir, 'events-2.csv'),
      `user_id,ts,amount\n9,${new Date(daysAgo(1).getTime() + 60_000).toISOString()},7.5\n`,
    );
    writeFileSync(
      join(dir, 'double.ts'),
      `import { tableFromArrays } from 'apache-arrow';
       import type { Table } from 'apache-arrow';
       export function daily(t: Table, ctx: { windowStart: string }): Table {
         const users = t.getChild('user_id')!.toArray() as BigInt64Array;
         const amounts = t.getChild('amount')!.toArray() as Float64Array;
         const sums = new Map<bigint, number>();
         users.forEach((u, i) => sums.set(u, (sums.get(u) ?? 0) + 2 * amounts[i]!));
         const keys = [...sums.keys()].sort();
         return tableFromArrays({
           user_id: BigInt64Array.from(keys),
           day: keys.map(() => new Date(ctx.windowStart)),
           events: BigInt64Array.from(keys.map(() => 1n)),
           amount: Float64Array.from(keys.map((k) => sums.get(k)!)),
         });
       }`,
    );
    const view = dailyView('daily_files', fresh.schema, {
      source: { kind: 'files', path: join(dir, 'events-*.csv'), timestampField: 'ts' },
      transformation: { kind: 'typescript', module: 'double.ts', export: 'daily' },
      pipeline: { window: '1d', start: daysAgo(2).toISOString() },
    });
    await strata.apply({ featureViews: [view as never] }, { baseDir: dir });
    const vv = await strata.getView('daily_files');
    expect(vv.spec.transformation).toMatchObject({ kind: 'typescript', codeHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const res = await (await runPipeline(strata, 'daily_files')).result();
    expect(res).toMatchObject({ windows: 2, committed: 2, rows: 9 });
    const got = await q(`SELECT user_id::int, day, amount FROM "${fresh.schema}"."${vv.tableName}" ORDER BY day, user_id`);
    expect(got).toEqual([
      ...[1, 2, 3, 4].map((u) => ({ user_id: u, day: daysAgo(2), amount: 2 * (u + 0.5) })),
      ...[1, 2, 3, 4].map((u) => ({ user_id: u, day: daysAgo(1), amount: 2 * (u + 0.5) })),
      { user_id: 9, day: daysAgo(1), amount: 15 },
    ]);
    expect(new Set((await commits('daily_files')).map((c) => c.code_hash))).toEqual(new Set([pipelineCodeHash(vv.spec)]));
  }, 120_000);

  it('a transformation that throws, returns the wrong columns or hangs fails its window once, with its error; nothing is committed', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'throws',
        `export default function f() { throw new RangeError('bad amount in row 3'); }`,
        /threw RangeError: bad amount in row 3/,
      ],
      [
        'wrong',
        `import { tableFromArrays } from 'apache-arrow'; export default () => tableFromArrays({ user_id: Float64Array.from([1]), other: Int32Array.from([1]) });`,
        /wrong columns or types: column 'user_id' should be INT64 but is DOUBLE.*'day' \(UNIX_TIMESTAMP\) is missing.*unexpected column\(s\) other/,
      ],
      ['hangs', `export default function f() { for (;;) {} }`, /did not finish within 1 s/],
    ];
    for (const [name, code, message] of cases) {
      writeFileSync(join(dir, `${name}.ts`), code);
      const view = dailyView(`tr_${name}`, fresh.schema, {
        transformation: { kind: 'typescript', module: `${name}.ts`, timeoutSeconds: 1 },
        pipeline: { window: '1d', start: daysAgo(1).toISOString(), maxAttempts: 3 },
      });
      await strata.apply({ featureViews: [view as never] }, { baseDir: dir });
      const run = await runPipeline(strata, `tr_${name}`);
      const err = await run.result().catch((e) => e);
      expect(StrataError.is(err, 'TRANSFORM_FAILED'), `${name}: ${err}`).toBe(true);
      expect(err.message, err.message).toMatch(message);
      expect((await commits(`tr_${name}`)).length).toBe(0);
      const status = await pipelineStatus(strata, `tr_${name}`);
      expect(status.windows[0]?.status).toBe('failed');
      // Not retried: one attempt.
      const client = await strata.workflowClient();
      const ids: string[] = [];
      for await (const w of client.workflow.list({
        query: `WorkflowType = 'pipelineWindowWorkflow' AND StrataProject = '${config.project}' AND StrataFeatureView = 'tr_${name}'`,
      }))
        ids.push(w.workflowId);
      const history = await client.workflow.getHandle(ids[0] as string).fetchHistory();
      const failed = (history.events ?? []).find((e) => e.activityTaskFailedEventAttributes);
      const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      expect(attempts.map((e) => e.activityTaskStartedEventAttributes?.attempt).every((a) => a === 1)).toBe(true);
      if (name === 'throws') {
        // The failure carries the function's own stack (the frame in the transformation, named by its view).
        const stack = failed?.activityTaskFailedEventAttributes?.failure?.cause?.stackTrace ?? '';
        expect(stack, stack).toMatch(
          /^StrataError: the transformation threw RangeError: bad amount in row 3\n\s+at f \(transformation:tr_throws:\d+:\d+\)/,
        );
      }
    }
    expect(await stagingTables()).toBe(0);
  }, 180_000);

  it('two overlapping triggers of one pipeline commit each window once', async () => {
    await strata.apply({
      featureViews: [
        dailyView('daily_overlap', fresh.schema, {
          source: {
            kind: 'sql',
            query: `SELECT user_id, ts, amount FROM "${fresh.schema}".raw_events, pg_sleep(0.5)`,
            timestampField: 'ts',
          },
        }) as never,
      ],
    });
    await createPipelineSchedule(strata, 'daily_overlap', { every: '1d', paused: true });
    await triggerPipelineSchedule(strata, 'daily_overlap', { allowOverlap: true });
    // Runs started by a schedule are named by the second they start in: the second trigger comes a second later,
    // while the first run is still going.
    await new Promise((r) => setTimeout(r, 1200));
    await triggerPipelineSchedule(strata, 'daily_overlap', { allowOverlap: true });
    const client = await strata.workflowClient();
    const runs = await eventually(async () => {
      const out: { id: string; status: string; start: Date; close?: Date }[] = [];
      for await (const w of client.workflow.list({
        query: `WorkflowType = 'pipelineWorkflow' AND StrataProject = '${config.project}' AND StrataFeatureView = 'daily_overlap'`,
      }))
        out.push({ id: w.workflowId, status: w.status.name, start: w.startTime, ...(w.closeTime ? { close: w.closeTime } : {}) });
      return out.length === 2 && out.every((r) => r.status === 'COMPLETED') ? out : undefined;
    }, 90_000);
    expect(runs.length).toBe(2);
    const [a, b] = runs.sort((x, y) => x.start.getTime() - y.start.getTime());
    expect(Number(b?.start.getTime())).toBeLessThan(Number(a?.close?.getTime())); // they overlapped
    const c = await commits('daily_overlap');
    expect(c.map((x) => x.window_start.toISOString())).toEqual([daysAgo(3), daysAgo(2), daysAgo(1)].map((d) => d.toISOString()));
    const vv = await strata.getView('daily_overlap');
    const n = await q<{ n: number }>(`SELECT count(*)::int AS n FROM "${fresh.schema}"."${vv.tableName}"`);
    const want = await q<{ n: number }>(
      `SELECT count(DISTINCT (user_id, date_trunc('day', ts)))::int AS n FROM "${fresh.schema}".raw_events WHERE ts >= $1 AND ts < $2`,
      [daysAgo(3), daysAgo(0)],
    );
    expect(n[0]?.n).toBe(want[0]?.n);
    await (await client.schedule.getHandle(`pipeline:${config.project}:daily_overlap`)).delete();
  }, 150_000);
});
