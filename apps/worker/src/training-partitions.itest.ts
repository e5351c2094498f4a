/**
 * Training sets on the columnar engine fan out over worker processes: the request is split into entity-key hash
 * partitions, each an activity writing a Parquet part; a worker killed (SIGKILL) in the middle of a partition loses
 * it to another worker, which builds it again; the output holds every entity row exactly once, in entity-row order,
 * the same rows as the one-process columnar join (which the conformance suite holds to the Postgres join). As a folder
 * dataset (format parquet-dataset) the parts are the output: DuckDB, pyarrow and pandas read the folder as one dataset.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect, csvFastPathHeader, loadConfig, type Strata, stageCsvFile, tableFromRows } from '@strata/sdk';
import {
  eventually,
  freshSchema,
  type FreshSchema,
  requireOrSkip,
  spawnWorker,
  strataEnv,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';

const exec = promisify(execFile);
import type * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const H = 3600_000;
const t0 = Date.parse('2024-01-01T00:00:00Z');
const USERS = 50_000;
const FEATURE_ROWS = 1_000_000;
const ENTITY_ROWS = 200_000;

async function writeCsv(path: string, header: string, n: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 0; i < n; i += 10_000) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) lines.push(line(j));
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

describe.skipIf(!existsSync(WORKER_MAIN))('columnar training sets over worker processes', () => {
  let fresh: FreshSchema;
  let root: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let strata: Strata;
  let entities: arrow.Table;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    fresh = await freshSchema();
    root = await mkdtemp(join(tmpdir(), 'strata-columnar-root-'));
    dir = await mkdtemp(join(tmpdir(), 'strata-columnar-out-'));
    env = { ...strataEnv(testScope(fresh.schema, 'part')), STRATA_OFFLINE_ENGINE: 'columnar', STRATA_COLUMNAR_ROOT: root };
    strata = await connect({ config: loadConfig({ env }) });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          timestampField: 'ts',
          createdTimestampField: 'created',
          ttlSeconds: 0,
          online: false,
          features: [
            { name: 'a', valueType: 'DOUBLE' },
            { name: 'b', valueType: 'INT64' },
          ],
        },
      ],
    });
    const vv = await strata.getView('v');
    const csv = join(dir, 'v.csv');
    await writeCsv(csv, 'user_id,ts,created,a,b', FEATURE_ROWS, (i) => {
      const s = new Date(t0 + Math.floor(i / USERS) * H + (i % 977) * 1000).toISOString();
      return `${i % USERS},${s},${s},${i / 10},${i}`;
    });
    const header = await csvFastPathHeader(vv, csv);
    if (!header) throw new Error('the CSV header should match the view');
    await stageCsvFile(strata.offline, vv, 'load', csv, header);
    await strata.offline.commit('load');
    entities = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'label', valueType: 'INT64' },
      ],
      Array.from({ length: ENTITY_ROWS }, (_v, i) => ({
        user_id: (i * 7919) % (USERS + 100), // some users have no rows
        event_timestamp: new Date(t0 + ((i * 104729) % (25 * 3600)) * 1000),
        label: i,
      })),
    );
  }, 300_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await strata?.close();
    await fresh?.drop();
    await rm(root, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  function worker(): ChildProcess {
    const c = spawnWorker(env);
    children.push(c);
    return c;
  }

  /** Starts a 4-partition training set, kills the worker inside a partition, lets a second finish it. */
  async function buildWithKill(out: string, format?: string) {
    const first = worker();
    const run = await strata.startTrainingSet({
      features: ['v:a', 'v:b'],
      entities,
      out,
      ...(format ? { format } : {}),
      partitions: 4,
      parallel: 1,
      heartbeatTimeout: '3 seconds',
    });
    const client = await strata.workflowClient();
    const h = client.workflow.getHandle(run.workflowId);
    // Wait until the first worker is inside a partition (it heartbeats as it starts), then kill it.
    const victim = await eventually(
      async () => {
        const pending = (await h.describe()).raw.pendingActivities ?? [];
        const p = pending.find((a) => a.activityType?.name === 'buildTrainingPartition' && a.heartbeatDetails?.payloads?.length);
        return p?.lastWorkerIdentity ? { id: p.activityId, identity: p.lastWorkerIdentity } : undefined;
      },
      120_000,
      20,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const second = worker();
    const result = await run.result();
    second.kill('SIGTERM');
    // The killed worker's partition was retried and finished on the other worker.
    const history = await h.fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    const scheduled = new Map(
      (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityId]),
    );
    const retried = started.find(
      (e) => scheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) === victim.id,
    )?.activityTaskStartedEventAttributes;
    expect(retried?.attempt).toBeGreaterThan(1);
    expect(retried?.identity).not.toBe(victim.identity);
    return result;
  }

  it('a partition whose worker is killed is built again by another; every row is in the output once', async () => {
    const out = join(dir, 'train.parquet');
    const result = await buildWithKill(out);
    // Every entity row once, in entity-row order, with the join's values.
    expect(result.rows).toBe(ENTITY_ROWS);
    expect(result.partitions?.reduce((s, p) => s + p.rows, 0)).toBe(ENTITY_ROWS);
    const merged = await strata.store.columnar?.duck.with(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT count(*) AS n, count(DISTINCT label) AS d, bool_and(label = rn) AS ordered
           FROM (SELECT label, row_number() OVER () - 1 AS rn FROM read_parquet('${out}'))`,
        )
      ).getRowObjectsJson(),
    );
    expect(merged).toEqual([{ n: String(ENTITY_ROWS), d: String(ENTITY_ROWS), ordered: true }]);
    // The same rows as one columnar join in this process and as the Postgres join.
    const direct = join(dir, 'direct.parquet');
    await strata.writeHistoricalFeatures({ features: ['v:a', 'v:b'], entities, out: direct });
    const same = await strata.store.columnar?.duck.with(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT count(*) FROM (SELECT * FROM read_parquet('${out}') EXCEPT ALL SELECT * FROM read_parquet('${direct}'))`,
        )
      ).getRowsJS(),
    );
    expect(Number(same?.[0]?.[0])).toBe(0);

    // Nothing is left beside the output: no parts, no entity file, no temporary file.
    expect((await readdir(dir)).sort()).toEqual(['direct.parquet', 'train.parquet', 'v.csv']);
  });

  it('as a folder dataset: the parts in one folder with a _SUCCESS manifest, no merge, every row once (worker killed)', async () => {
    const out = join(dir, 'train-dataset');
    const result = await buildWithKill(out, 'parquet-dataset');
    expect(result.rows).toBe(ENTITY_ROWS);
    const names = (await readdir(out)).sort();
    expect(names).toEqual(['_SUCCESS', 'part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet', 'part-00003.parquet']);
    const manifest = JSON.parse(await readFile(join(out, '_SUCCESS'), 'utf8'));
    expect(manifest.rows).toBe(ENTITY_ROWS);
    expect(manifest.files.reduce((a: number, f: { rows: number }) => a + f.rows, 0)).toBe(ENTITY_ROWS);
    // DuckDB reads the folder as one dataset: every entity row once, the output's columns (no __row), the same rows
    // as the one-process join; within each part the rows are in entity-row order.
    const direct = join(dir, 'direct-for-dataset.parquet');
    await strata.writeHistoricalFeatures({ features: ['v:a', 'v:b'], entities, out: direct });
    const glob = `${out}/*.parquet`;
    const checks = await strata.store.columnar?.duck.with(async (c) => {
      const q1 = async (sql: string) =>
        (await c.runAndReadAll(sql)).getRowsJS()[0]?.map((v) => (typeof v === 'bigint' ? Number(v) : v));
      return {
        counts: await q1(`SELECT count(*), count(DISTINCT label) FROM read_parquet('${glob}')`),
        columns: (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}')`)).getRowsJS().map((r) => r[0]),
        directColumns: (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${direct}')`)).getRowsJS().map((r) => r[0]),
        onlyDataset: await q1(
          `SELECT count(*) FROM (SELECT * FROM read_parquet('${glob}') EXCEPT ALL SELECT * FROM read_parquet('${direct}'))`,
        ),
        onlyDirect: await q1(
          `SELECT count(*) FROM (SELECT * FROM read_parquet('${direct}') EXCEPT ALL SELECT * FROM read_parquet('${glob}'))`,
        ),
        unordered: await q1(
          `SELECT count(*) FROM (SELECT label < lag(label) OVER (PARTITION BY filename ORDER BY file_row_number) AS back
           FROM read_parquet('${glob}', filename = true, file_row_number = true)) WHERE back`,
        ),
      };
    });
    expect(checks?.counts).toEqual([ENTITY_ROWS, ENTITY_ROWS]);
    expect(checks?.columns).toEqual(checks?.directColumns);
    expect(checks?.onlyDataset).toEqual([0]);
    expect(checks?.onlyDirect).toEqual([0]);
    expect(checks?.unordered).toEqual([0]);
    // pyarrow.dataset and pandas read the folder as one dataset (they skip the _SUCCESS marker).
    const py = process.env.STRATA_CLIENT_PYTHON;
    if (
      !requireOrSkip(
        'folder dataset read by pyarrow',
        py ? undefined : 'STRATA_CLIENT_PYTHON is not set (bash infra/python-client.sh)',
      )
    ) {
      const { stdout } = await exec(py as string, [
        '-c',
        'import sys, json, pyarrow.dataset as ds, pandas as pd; d = ds.dataset(sys.argv[1], format="parquet"); t = d.to_table(); ' +
          'print(json.dumps({"rows": t.num_rows, "labels": len(set(t.column("label").to_pylist())), "pandas": len(pd.read_parquet(sys.argv[1])), "columns": t.column_names}))',
        out,
      ]);
      const got = JSON.parse(stdout.trim());
      expect(got).toEqual({ rows: ENTITY_ROWS, labels: ENTITY_ROWS, pandas: ENTITY_ROWS, columns: checks?.directColumns });
    }
    // Nothing else beside it: no parts folder, no hidden temporary folder.
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    // The path now exists: another set cannot be written over it.
    await expect(strata.startTrainingSet({ features: ['v:a'], entities, out, format: 'parquet-dataset' })).rejects.toThrow(
      /the path exists/,
    );
  });
});
