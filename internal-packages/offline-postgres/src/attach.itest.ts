/**
 * Commit-partitioned view tables (ADR 0013) on real Postgres: a big commit's staging table becomes its own partition
 * (rows written once), small commits go to the shared partition, and every read (time travel, latest, diff, point in
 * time) gives the same rows as the same commits inserted into a plain table. A commit killed while it waits to attach
 * leaves no partition and the staging table as it was; the retry commits once. The janitor never takes a partition.
 */
import { tableFromRows } from '@strata/core';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHistoricalFeatures } from './historical.js';
import { arrowColumnBatch, OfflineStore } from './offline.js';
import type { ViewVersion } from './registry.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';
import { diffCommits, readViewAsOf } from './timetravel.js';

const H = 3600_000;
const t0 = Date.parse('2024-05-01T00:00:00Z');
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'created', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'x', valueType: 'DOUBLE' as const },
];
const SPEC = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'v',
      entities: ['user'],
      timestampField: 'ts',
      createdTimestampField: 'created',
      ttlSeconds: 0,
      online: false,
      features: [{ name: 'x', valueType: 'DOUBLE' as const }],
    },
  ],
  featureServices: [],
};

/** `n` rows over `users` users starting at `base`; `dups` of them repeat an earlier row's keys and times. */
function rows(n: number, users: number, base: number, dups = 0): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n - dups; i++) {
    out.push({
      user_id: i % users,
      ts: new Date(t0 + (base + Math.floor(i / users)) * H),
      created: i % 7 === 0 ? null : new Date(t0 + (base + 1) * H),
      x: base * 1000 + i,
    });
  }
  // Exact duplicates later in the input (the last one wins), null created times among them.
  for (let d = 0; d < dups; d++) out.push({ ...out[d * 7], x: -(base * 1000 + d + 1) });
  return out;
}

async function all(it: AsyncIterable<arrow.RecordBatch>): Promise<Record<string, unknown>[]> {
  const bs: arrow.RecordBatch[] = [];
  for await (const b of it) bs.push(b);
  return new arrow.Table(bs).toArray().map((r) => {
    const o = r.toJSON() as Record<string, unknown>;
    delete o.__ingestion_id;
    for (const k of Object.keys(o)) if (typeof o[k] === 'bigint') o[k] = Number(o[k]);
    return o;
  });
}

const sortRows = (rs: Record<string, unknown>[]) => [...rs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('commit-partitioned view tables: big commits attached, rows written once', () => {
  let part: TestStore;
  let plain: TestStore;
  let attach: OfflineStore;
  let vp: ViewVersion;
  let vq: ViewVersion;
  const seqs: number[] = [];
  const partitions = async () =>
    (
      await part.pool.query<{ name: string; bound: string }>(
        `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
        [`"${part.fresh.schema}"."${vp.tableName}"`],
      )
    ).rows;

  beforeAll(async () => {
    part = await openTestStore();
    plain = await openTestStore({ viewPartitions: 1 });
    await part.registry.apply('p', SPEC);
    await plain.registry.apply('p', SPEC);
    attach = new OfflineStore(part.pool, part.registry, { attachMinRows: 100 });
    vp = await part.registry.getView('p', 'v');
    vq = await plain.registry.getView('p', 'v');
    // The same four commits into both: big (with duplicates), small, small, big.
    const inputs = [rows(400, 50, 0, 30), rows(20, 50, 3), rows(30, 50, 2), rows(250, 60, 5, 10)];
    for (const [i, input] of inputs.entries()) {
      const batch = () => tableFromRows(cols, input).batches.map(arrowColumnBatch);
      await attach.stage(vp, `c${i}`, batch());
      await plain.store.stage(vq, `c${i}`, batch());
      const a = await attach.commit(`c${i}`);
      const b = await plain.store.commit(`c${i}`);
      expect({ rows: a.rows, duplicateRows: a.duplicateRows }).toEqual({ rows: b.rows, duplicateRows: b.duplicateRows });
      seqs.push(a.commitSeq);
    }
  });
  afterAll(async () => {
    await part?.close();
    await plain?.close();
  });

  it('a big commit is its own partition of one commit number; small commits share the default partition', async () => {
    const kind = await part.pool.query(
      `SELECT p.partstrat AS strat FROM pg_partitioned_table p WHERE p.partrelid = $1::regclass`,
      [`"${part.fresh.schema}"."${vp.tableName}"`],
    );
    expect(kind.rows[0]?.strat).toBe('r');
    const [c0, , , c3] = seqs as [number, number, number, number];
    expect(await partitions()).toEqual([
      { name: `${vp.tableName}_c${c0}`, bound: `FOR VALUES FROM ('${c0}') TO ('${c0 + 1}')` },
      { name: `${vp.tableName}_c${c3}`, bound: `FOR VALUES FROM ('${c3}') TO ('${c3 + 1}')` },
      { name: `${vp.tableName}_shared`, bound: 'DEFAULT' },
    ]);
    const counts = await part.pool.query<{ name: string; n: number }>(
      `SELECT tableoid::regclass::text AS name, count(*)::int AS n FROM "${part.fresh.schema}"."${vp.tableName}" GROUP BY 1 ORDER BY 1`,
    );
    expect(counts.rows.map((r) => r.n)).toEqual([370, 240, 50]);
    // The staging tables are gone from the stg_ namespace: the attached ones were renamed, the small ones dropped.
    const stg = await part.pool.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg\\_%'`, [
      part.fresh.schema,
    ]);
    expect(stg.rowCount).toBe(0);
    // An attached partition is logged (a crash keeps it) and carries the view's point-in-time index.
    const rel = await part.pool.query<{ p: string; ix: number }>(
      `SELECT relpersistence AS p, (SELECT count(*)::int FROM pg_index x WHERE x.indrelid = c.oid AND x.indisvalid) AS ix
         FROM pg_class c WHERE c.oid = $1::regclass`,
      [`"${part.fresh.schema}"."${vp.tableName}_c${c0}"`],
    );
    expect(rel.rows[0]).toEqual({ p: 'p', ix: 1 });
    // Its rows carry no dropped columns (each would be a null in every row, and a slower read of each).
    const cols = await part.pool.query<{ dropped: number; live: number }>(
      `SELECT count(*) FILTER (WHERE attisdropped)::int AS dropped, count(*) FILTER (WHERE NOT attisdropped)::int AS live
         FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0`,
      [`"${part.fresh.schema}"."${vp.tableName}_c${c0}"`],
    );
    expect(cols.rows[0]?.dropped).toBe(0);
    expect(cols.rows[0]?.live).toBeGreaterThan(2);
  });

  it('time travel, latest rows and diffs match the plain table commit by commit', async () => {
    for (const seq of seqs) {
      for (const latest of [false, true]) {
        const a = await all(readViewAsOf(attach, vp, { commitSeq: seq, latest }));
        const b = await all(readViewAsOf(plain.store, vq, { commitSeq: seq, latest }));
        expect(a.length).toBeGreaterThan(0);
        expect(sortRows(a)).toEqual(sortRows(b));
      }
    }
    const [c0, , , c3] = seqs as [number, number, number, number];
    const d1 = await all(diffCommits(attach, vp, c0, c3));
    const d2 = await all(diffCommits(plain.store, vq, c0, c3));
    expect(d1.length).toBe(290);
    expect(d1).toEqual(d2);
    // The last duplicate in input order won: its negative value is there, the first one's is not.
    const latest = await all(readViewAsOf(attach, vp, { commitSeq: c0 }));
    expect(latest.filter((r) => (r.x as number) < 0)).toHaveLength(30);
  });

  it('point-in-time joins match the plain table, pinned or not', async () => {
    const entityCols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' as const },
    ];
    const entities = Array.from({ length: 120 }, (_, i) => ({
      user_id: i % 70,
      event_timestamp: new Date(t0 + (i % 12) * H + 1000),
    }));
    for (const asOfCommitSeq of [undefined, seqs[0], seqs[2]]) {
      const req = (vv: ViewVersion) => ({
        entityTable: tableFromRows(entityCols, entities),
        timestampColumn: 'event_timestamp',
        selections: [{ view: vv, features: vv.spec.features }],
        fullFeatureNames: false,
        ...(asOfCommitSeq ? { asOfCommitSeq } : {}),
      });
      const a = await getHistoricalFeatures(part.pool, part.fresh.schema, req(vp));
      const b = await getHistoricalFeatures(plain.pool, plain.fresh.schema, req(vq));
      expect(a.toArray().map((r) => r.toJSON())).toEqual(b.toArray().map((r) => r.toJSON()));
      expect([...(a.getChild('x') ?? [])].filter((v) => v !== null).length).toBeGreaterThan(0);
    }
  });

  it('a read pinned before a big commit does not scan its partition (pruned by commit number)', async () => {
    const c3 = seqs[3] as number;
    const plan = await part.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM "${part.fresh.schema}"."${vp.tableName}" WHERE "__commit_seq" <= $1`,
      [seqs[2]],
    );
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain(`${vp.tableName}_c${seqs[0]}`);
    expect(text).not.toContain(`${vp.tableName}_c${c3}`);
  });

  it('committing again writes nothing, and the janitor leaves the partitions alone', async () => {
    const again = await attach.commit('c0');
    expect(again).toMatchObject({ alreadyCommitted: true, commitSeq: seqs[0], rows: 370 });
    await attach.cleanAbandoned(0);
    expect(await partitions()).toHaveLength(3);
    const n = await part.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${part.fresh.schema}"."${vp.tableName}"`);
    expect(n.rows[0]?.n).toBe(660);
  });

  it('a commit killed while it waits to attach leaves no partition and its staging intact; the retry commits once', async () => {
    await attach.stage(vp, 'killed', tableFromRows(cols, rows(150, 40, 9, 5)).batches.map(arrowColumnBatch));
    const before = await partitions();
    const stagingCols = async () =>
      (
        await part.pool.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY 1`,
          [part.fresh.schema, (await attach.getIngestion('killed'))?.stagingTable],
        )
      ).rows.map((r) => r.column_name);
    const colsBefore = await stagingCols();
    // A reader holds the view table, so the commit stops at the exclusive lock it needs for ATTACH.
    const reader = await part.pool.connect();
    await reader.query('BEGIN');
    await reader.query(`SELECT count(*) FROM "${part.fresh.schema}"."${vp.tableName}"`);
    const commit = attach.commit('killed').then(
      () => undefined,
      (e: unknown) => e,
    );
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const { rows: r } = await part.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE query LIKE 'LOCK TABLE%ACCESS EXCLUSIVE%' AND wait_event_type = 'Lock'`,
      );
      pid = r[0]?.pid;
      if (pid === undefined) await new Promise((res) => setTimeout(res, 25));
    }
    expect(pid).toBeDefined();
    // While it waits (in short tries), a new reader of the view is not queued behind it: it reads at once.
    const other = await part.pool.connect();
    try {
      await other.query(`SET statement_timeout = '3s'`);
      const seen = await other.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${part.fresh.schema}"."${vp.tableName}"`);
      expect(seen.rows[0]?.n).toBe(660);
    } finally {
      other.release();
    }
    // The commit had already added its columns, checked its range and built its index on the staging table.
    await part.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    expect(await commit).toBeInstanceOf(Error);
    await reader.query('COMMIT');
    reader.release();

    expect(await partitions()).toEqual(before);
    expect((await attach.getIngestion('killed'))?.status).toBe('staged');
    expect(await stagingCols()).toEqual(colsBefore);
    const staged = await part.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${part.fresh.schema}"."${(await attach.getIngestion('killed'))?.stagingTable}"`,
    );
    expect(staged.rows[0]?.n).toBe(150);

    const retry = await attach.commit('killed');
    expect(retry).toMatchObject({ alreadyCommitted: false, rows: 145, duplicateRows: 5 });
    expect(await attach.commit('killed')).toMatchObject({ alreadyCommitted: true, commitSeq: retry.commitSeq });
    expect(await partitions()).toHaveLength(before.length + 1);
    const mine = await part.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${part.fresh.schema}"."${vp.tableName}" WHERE "__commit_seq" = $1 AND "__ingestion_id" = 'killed'`,
      [retry.commitSeq],
    );
    expect(mine.rows[0]?.n).toBe(145);
  });

  it('a big commit staged unlogged (a table from before ADR 0013 staging) is inserted, not attached', async () => {
    // The worker's chunked staging fills an unlogged table: a crash would lose an attached one, so it is inserted.
    const client = await part.pool.connect();
    await attach.beginStaging(client, vp, 'unlogged', 'stg_unlogged_test');
    await client.query(
      `CREATE UNLOGGED TABLE "${part.fresh.schema}".stg_unlogged_test (LIKE "${part.fresh.schema}"."${vp.tableName}")`,
    );
    await client.query(
      `ALTER TABLE "${part.fresh.schema}".stg_unlogged_test DROP COLUMN "__ingestion_id", DROP COLUMN "__commit_seq"`,
    );
    await client.query(
      `INSERT INTO "${part.fresh.schema}".stg_unlogged_test (user_id, ts, created, x)
       SELECT g, timestamptz '2024-06-01' + g * interval '1 second', NULL, g FROM generate_series(1, 200) g`,
    );
    await client.query(`UPDATE "${part.fresh.schema}".ingestions SET status = 'staged', row_count = 200 WHERE id = 'unlogged'`);
    await attach.endStaging(client, 'unlogged');
    const before = await partitions();
    const r = await attach.commit('unlogged');
    expect(r.rows).toBe(200);
    expect(await partitions()).toEqual(before);
  });
});
