/**
 * The built `strata` CLI drives pipelines on the real stack: apply a view with a SQL source from YAML, `strata
 * backfill` (windows as child workflows; run again: all skipped), and `strata pipeline schedule|pause|resume|trigger|
 * status|delete` on a Temporal Schedule (overlap SKIP, catch-up window).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, loadConfig, type Strata, type StrataConfig } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Math.floor(Date.now() / DAY) * DAY - n * DAY);

describe('strata backfill and strata pipeline', () => {
  /** The end of the first test's backfill (midnight a day ago, as it was then). */
  let backfillEnd: Date;
  let fresh: FreshSchema;
  let config: StrataConfig;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let dir: string;

  beforeAll(async () => {
    fresh = await freshSchema();
    env = strataEnv(testScope(fresh.schema, 'plc'));
    config = loadConfig({ env });
    strata = await connect({ config });
    await strata.pool.query(`CREATE TABLE "${fresh.schema}".clicks (user_id bigint, ts timestamptz)`);
    await strata.pool.query(
      `INSERT INTO "${fresh.schema}".clicks SELECT u % 7, $1::timestamptz + u * interval '7 minutes' FROM generate_series(1, 1500) u`,
      [daysAgo(6)],
    );
    dir = mkdtempSync(join(tmpdir(), 'strata-plc-'));
    writeFileSync(
      join(dir, 'repo.yaml'),
      `entities:
  - name: user
    joinKeys: [{name: user_id, valueType: INT64}]
featureViews:
  - name: clicks_daily
    entities: [user]
    timestampField: day
    online: false
    features: [{name: clicks, valueType: INT64}]
    source:
      kind: sql
      timestampField: ts
      query: SELECT user_id, ts FROM "${fresh.schema}".clicks
    transformation:
      kind: sql
      query: SELECT user_id, date_trunc('day', ts) AS day, count(*) AS clicks FROM source GROUP BY 1, 2
    pipeline: {window: 1d, start: "${daysAgo(6).toISOString()}"}
`,
    );
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

  it('applies a view with a source, backfills it and resumes', async () => {
    const applied = await runCli(env, ['apply', join(dir, 'repo.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    backfillEnd = daysAgo(1);
    const args = [
      '--json',
      'backfill',
      'clicks_daily',
      '--start',
      daysAgo(6).toISOString(),
      '--end',
      backfillEnd.toISOString(),
      '--every',
      '1d',
    ];
    const r = await runCli(env, args);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'backfill', windows: 5, committed: 5, failed: [] });
    const again = await runCli(env, args);
    expect(JSON.parse(again.stdout)).toMatchObject({ windows: 0, skipped: 5 });
    const bad = await runCli(env, ['backfill', 'clicks_daily', '--start', 'soon', '--end', daysAgo(1).toISOString()]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--start and --end must be times/);
  }, 120_000);

  it('schedules, pauses, resumes, triggers and reports the pipeline', async () => {
    const created = await runCli(env, [
      '--json',
      'pipeline',
      'schedule',
      'clicks_daily',
      '--cron',
      '0 3 * * *',
      '--catchup',
      '2h',
      '--paused',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ cron: '0 3 * * *', catchupWindow: '2h', paused: true });
    const dup = await runCli(env, ['pipeline', 'schedule', 'clicks_daily', '--every', '1h']);
    expect(dup.code).toBe(5);
    expect((await runCli(env, ['pipeline', 'resume', 'clicks_daily'])).code).toBe(0);
    const resumed = JSON.parse((await runCli(env, ['--json', 'pipeline', 'status', 'clicks_daily'])).stdout);
    expect(resumed.schedule.paused).toBe(false);
    expect((await runCli(env, ['pipeline', 'pause', 'clicks_daily'])).code).toBe(0);
    expect((await runCli(env, ['pipeline', 'trigger', 'clicks_daily'])).code).toBe(0);
    // The triggered run computes the days the backfill left (every complete day after its end: one, or two when
    // midnight passed meanwhile) and moves the watermark to today's midnight as the run saw it.
    const status = await eventually(async () => {
      const s = JSON.parse((await runCli(env, ['--json', 'pipeline', 'status', 'clicks_daily'])).stdout);
      return s.watermark && Date.parse(s.watermark) >= daysAgo(0).getTime() ? s : undefined;
    }, 90_000);
    expect(status.schedule.paused).toBe(true);
    const added = (Date.parse(status.watermark) - backfillEnd.getTime()) / DAY;
    expect(added).toBeGreaterThanOrEqual(1);
    expect(status.windows.filter((w: { status: string }) => w.status === 'committed')).toHaveLength(5 + added);
    const { rows } = await strata.pool.query(
      `SELECT count(*)::int AS n FROM "${fresh.schema}".ingestions WHERE project = $1 AND status = 'committed'`,
      [config.project],
    );
    expect(rows[0].n).toBe(5 + added);
    const human = await runCli(env, ['pipeline', 'status', 'clicks_daily']);
    expect(human.stdout).toMatch(/watermark/);
    expect((await runCli(env, ['pipeline', 'delete', 'clicks_daily'])).code).toBe(0);
    const gone = await runCli(env, ['pipeline', 'trigger', 'clicks_daily']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/no pipeline schedule for 'clicks_daily'/);
  }, 150_000);
});
