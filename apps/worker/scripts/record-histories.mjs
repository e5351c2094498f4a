#!/usr/bin/env node
/**
 * Records real workflow histories for the determinism (replay) test in packages/workflows/src/replay.test.ts.
 * Runs every workflow type on the local stack with an in-process worker, then writes each history, as Temporal's
 * JSON history format, to packages/workflows/src/__fixtures__/histories/<name>.json (and each run's workflow id, which
 * a replay needs, to index.json there):
 *   ingest-quarantined      ingestWorkflow: a STRICT suite fails, the batch is quarantined, the workflow fails
 *   ingest-materialize      ingestWorkflow: validated, committed, then a child materializeWorkflow
 *   ingest-worker-staged    ingestWorkflow whose file the worker stages in chunks (stageOn: 'worker'), then commits
 *   materialize-fanout      materializeWorkflow fanned out into 3 materializePartitionWorkflow children
 *   materialize-partition   one of those children
 *   training-set            trainingSetWorkflow in 4 chunks, 2 at a time
 *   materialize-scheduled   materializeWorkflow started by a Temporal Schedule
 *   janitor                 janitorWorkflow: one sweep of abandoned staging
 *   pipeline-run            pipelineWorkflow: a SQL source's daily windows after the watermark, each a child
 *   pipeline-window         one of those children (pipelineWindowWorkflow)
 *
 * Usage (after `pnpm build`, with the stack up):
 *   eval "$(bash infra/stack.sh env)" && node apps/worker/scripts/record-histories.mjs
 * Re-record when a workflow changes on purpose (and keep the old files while runs of the old code may be open).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  connect,
  createMaterializeSchedule,
  loadConfig,
  runPipeline,
  tableFromRows,
  triggerMaterializeSchedule,
} from '@strata/sdk';
import { freshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

const out = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'packages',
  'workflows',
  'src',
  '__fixtures__',
  'histories',
);
const t0 = Date.parse('2024-01-01T00:00:00Z');
const cols = [
  { name: 'sensor_id', valueType: 'INT64' },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
  { name: 'temp', valueType: 'DOUBLE' },
];
const readings = (n, at, temp) =>
  tableFromRows(
    cols,
    Array.from({ length: n }, (_, i) => ({ sensor_id: i, ts: new Date(at), temp: temp(i) })),
  );
const repo = {
  entities: [{ name: 'sensor', joinKeys: [{ name: 'sensor_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'readings',
      entities: ['sensor'],
      timestampField: 'ts',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'temp', valueType: 'DOUBLE' }],
      validationPolicy: 'STRICT',
      expectationSuite: {
        name: 'readings_suite',
        expectations: [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'temp', min_value: -40, max_value: 50 } }],
      },
    },
  ],
  featureServices: [],
};

const fresh = await freshSchema('strata_rec');
const config = loadConfig({ env: strataEnv(testScope(fresh.schema, 'rec')) });
const strata = await connect({ config });
const worker = await createStrataWorker(config, { logLevel: 'ERROR' });
const running = worker.worker.run();
const client = await strata.workflowClient();
const work = mkdtempSync(join(tmpdir(), 'strata-rec-'));
const recorded = [];
const ids = {};

// Failure stack traces name the recording machine's paths and play no part in a replay: they are blanked. Payloads
// that name a file of the recording's scratch folder (a worker-staged ingest's path) name it as <work>/... instead.
const JSON_PLAIN = Buffer.from('json/plain').toString('base64');
function scrub(value) {
  if (Array.isArray(value)) return value.map(scrub);
  if (!value || typeof value !== 'object') return value;
  if (value.metadata?.encoding === JSON_PLAIN && typeof value.data === 'string') {
    const text = Buffer.from(value.data, 'base64').toString('utf8');
    if (text.includes(work)) return { ...value, data: Buffer.from(text.split(work).join('<work>')).toString('base64') };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'stackTrace' ? '' : scrub(v)]));
}

async function save(name, workflowId) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(scrub(JSON.parse(historyToJSON(history))), null, 1)}\n`);
  recorded.push(`${name} (${history.events?.length ?? 0} events)`);
  ids[name] = workflowId;
}

try {
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.json')) rmSync(join(out, f));
  await strata.apply(repo);

  const good = await strata.ingest(
    'readings',
    readings(200, t0, (i) => 10 + (i % 10)),
    { materialize: true },
  );
  await good.result();
  await save('ingest-materialize', good.workflowId);

  const bad = await strata.ingest(
    'readings',
    readings(50, t0 + 3600_000, (i) => (i < 3 ? 99 : 10)),
  );
  const failed = await bad.result().catch((e) => e);
  if (failed?.code !== 'VALIDATION_FAILED') throw new Error(`expected a quarantine, got ${failed}`);
  await save('ingest-quarantined', bad.workflowId);

  const file = join(work, 'readings.csv');
  const rows = ['sensor_id,ts,temp'];
  for (let i = 0; i < 120; i++) rows.push(`${i},${new Date(t0 + 7200_000).toISOString()},${10 + (i % 7)}`);
  writeFileSync(file, `${rows.join('\n')}\n`);
  const staged = await strata.ingest('readings', file, { stageOn: 'worker', chunkRows: 50 });
  await staged.result();
  await save('ingest-worker-staged', staged.workflowId);

  const fan = await strata.materialize('readings', { partitions: 3, batchSize: 50 });
  await fan.result();
  await save('materialize-fanout', fan.workflowId);
  await save('materialize-partition', `${fan.workflowId}:part1of3`);

  const entities = join(work, 'entities.csv');
  const lines = ['sensor_id,event_timestamp,label'];
  for (let i = 0; i < 40; i++) lines.push(`${i},${new Date(t0 + 60_000).toISOString()},${i % 2}`);
  writeFileSync(entities, `${lines.join('\n')}\n`);
  const ts = await strata.startTrainingSet({
    features: ['readings:temp'],
    entities: { path: entities },
    out: join(work, 'train.csv'),
    chunkRows: 10,
    parallel: 2,
  });
  await ts.result();
  await save('training-set', ts.workflowId);

  const schedule = await createMaterializeSchedule(strata, 'readings', { every: '1h', paused: true });
  await triggerMaterializeSchedule(strata, 'readings');
  const sched = client.schedule.getHandle(schedule.scheduleId);
  let workflowId;
  for (let i = 0; i < 100 && !workflowId; i++) {
    const d = await sched.describe();
    workflowId = d.info.recentActions.at(-1)?.action.workflow.workflowId;
    if (!workflowId) await new Promise((r) => setTimeout(r, 200));
  }
  if (!workflowId) throw new Error('the schedule did not start a run');
  await client.workflow.getHandle(workflowId).result();
  await save('materialize-scheduled', workflowId);
  await sched.delete();

  const jan = await client.workflow.start('janitorWorkflow', {
    workflowId: `janitor:rec:${Date.now()}`,
    taskQueue: config.temporal.taskQueue,
    args: [{ maxStagingAgeSeconds: 3600 }],
  });
  await jan.result();
  await save('janitor', jan.workflowId);

  // A feature pipeline: a SQL source over raw events, one window a day; each window runs as a child workflow.
  const DAY = 86_400_000;
  const today = Math.floor(Date.now() / DAY) * DAY;
  await strata.pool.query(`CREATE TABLE "${fresh.schema}".raw_events (user_id bigint, ts timestamptz, amount float8)`);
  await strata.pool.query(
    `INSERT INTO "${fresh.schema}".raw_events
     SELECT i % 5, to_timestamp($1::float8 / 1000) + make_interval(mins => i), i FROM generate_series(1, 100) i`,
    [today - 2 * DAY],
  );
  const daily = {
    name: 'daily_spend',
    entities: ['user'],
    timestampField: 'day',
    ttlSeconds: 0,
    online: false,
    features: [
      { name: 'events', valueType: 'INT64' },
      { name: 'amount', valueType: 'DOUBLE' },
    ],
    source: { kind: 'sql', query: `SELECT user_id, ts, amount FROM "${fresh.schema}".raw_events`, timestampField: 'ts' },
    transformation: {
      kind: 'sql',
      query:
        "SELECT user_id, date_trunc('day', ts) AS day, count(*)::bigint AS events, sum(amount)::float8 AS amount FROM source GROUP BY 1, 2",
    },
    pipeline: { window: '1d', start: new Date(today - 2 * DAY).toISOString(), maxAttempts: 2 },
  };
  await strata.apply({
    ...repo,
    entities: [...repo.entities, { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
    featureViews: [...repo.featureViews, daily],
  });
  const pl = await runPipeline(strata, 'daily_spend');
  const pr = await pl.result();
  if (pr.committed < 1) throw new Error(`expected a committed window, got ${JSON.stringify(pr)}`);
  await save('pipeline-run', pl.workflowId);
  const parent = await client.workflow.getHandle(pl.workflowId).fetchHistory();
  const child = parent.events?.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
    ?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  if (!child) throw new Error('the pipeline run started no window workflow');
  await save('pipeline-window', child);
  writeFileSync(join(out, 'index.json'), `${JSON.stringify(ids, null, 2)}\n`);
  console.log(`recorded into ${out}:\n  ${recorded.join('\n  ')}`);
} finally {
  worker.worker.shutdown();
  await running.catch(() => {});
  await worker.close();
  await strata.close();
  await fresh.drop();
  rmSync(work, { recursive: true, force: true });
}
