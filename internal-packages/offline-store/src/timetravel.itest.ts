import { tableFromRows } from '@strata/core';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrowColumnBatch, diffSummary, type OfflineStore as PgOfflineStore, type ViewVersion } from '@strata/offline-postgres';
import { type Conformance, openConformance, VIEW_LAYOUTS } from './conformance.itest-helpers.js';
import type { OfflineStore } from './store.js';

const H = 3600_000;
const t0 = Date.parse('2021-01-01T00:00:00Z');
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'x', valueType: 'DOUBLE' as const },
];

async function collect(it: AsyncIterable<arrow.RecordBatch>): Promise<Record<string, unknown>[]> {
  const batches: arrow.RecordBatch[] = [];
  for await (const b of it) batches.push(b);
  const t = new arrow.Table(batches);
  return t.toArray().map((r) => {
    const o = r.toJSON() as Record<string, unknown>;
    for (const k of Object.keys(o)) if (typeof o[k] === 'bigint') o[k] = Number(o[k]);
    return o;
  });
}

/** Time travel on every binding (Postgres tables; the columnar engine over the commits' Parquet files), on both view
 * table layouts (plain, and hash-partitioned by entity key). */
const CASES = (['postgres-lateral', 'columnar'] as const).flatMap((name) => VIEW_LAYOUTS.map((p) => [name, p] as const));
describe.each(CASES)('time travel (%s, view partitions: %i)', (name, viewPartitions) => {
  let store: PgOfflineStore;
  let b: OfflineStore;
  let vv: ViewVersion;
  const seqs: number[] = [];
  const times: Date[] = [];

  let test: Conformance;
  const readViewAsOf = (_s: unknown, v: ViewVersion, o: Parameters<OfflineStore['readAsOf']>[1]) => b.readAsOf(v, o);
  const diffCommits = (_s: unknown, v: ViewVersion, from: number, to: number) => b.diff(v, from, to);
  const viewHistory = (_s: unknown, project: string, view: string) => b.history(project, view);

  beforeAll(async () => {
    test = await openConformance({ viewPartitions });
    store = test.pg;
    b = test.binding(name).store;
    const reg = test.registry;
    await reg.apply('p', {
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
      featureServices: [],
    });
    vv = await reg.getView('p', 'v');
    const commits = [
      [
        { user_id: 1, ts: new Date(t0), x: 1 },
        { user_id: 2, ts: new Date(t0 + H), x: 2 },
      ],
      [{ user_id: 1, ts: new Date(t0 + 2 * H), x: 11 }],
      [
        { user_id: 1, ts: new Date(t0 + H), x: 99 }, // a backfill: older event time, later commit
        { user_id: 3, ts: new Date(t0 + 5 * H), x: 3 },
      ],
    ];
    for (const [i, rows] of commits.entries()) {
      await store.stage(vv, `c${i}`, tableFromRows(cols, rows).batches.map(arrowColumnBatch), {
        createdBy: 'alice',
        source: `f${i}.csv`,
      });
      const c = await store.commit(`c${i}`);
      seqs.push(c.commitSeq);
      times.push((await store.getIngestion(`c${i}`))?.committedAt as Date);
      await new Promise((r) => setTimeout(r, 15));
    }
    // A failed ingestion shows in the history without a commit number.
    await store
      .stage(vv, 'bad', tableFromRows(cols, [{ user_id: null, ts: new Date(t0), x: 1 }]).batches.map(arrowColumnBatch))
      .catch(() => {});
  });
  afterAll(async () => {
    await test.close();
  });

  it('lists the history with row counts, event-time ranges, who and when, status', async () => {
    const h = await viewHistory(store, 'p', 'v');
    expect(h.map((c) => [c.commitSeq, c.status, c.rows])).toEqual([
      [seqs[0], 'committed', 2],
      [seqs[1], 'committed', 1],
      [seqs[2], 'committed', 2],
      [null, 'failed', 0],
    ]);
    expect(h[0]?.minEventTime?.getTime()).toBe(t0);
    expect(h[0]?.maxEventTime?.getTime()).toBe(t0 + H);
    expect(h[2]?.createdBy).toBe('alice');
    expect(h[2]?.source).toBe('f2.csv');
    expect(h[1]?.committedAt?.getTime()).toBe(times[1]?.getTime());
    await expect(viewHistory(store, 'p', 'nope')).rejects.toMatchObject({ code: 'UNKNOWN_OBJECT' });
  });

  it('reads the view as of a commit and as of a time, all rows or the latest per entity', async () => {
    const asOf1 = await collect(readViewAsOf(store, vv, { commitSeq: seqs[1] as number }));
    expect(asOf1.map((r) => r.x)).toEqual([1, 2, 11]);
    const byTime = await collect(readViewAsOf(store, vv, { time: times[1] as Date }));
    expect(byTime).toEqual(asOf1);
    const justBefore = await collect(readViewAsOf(store, vv, { time: new Date((times[1] as Date).getTime() - 1) }));
    expect(justBefore.map((r) => r.x)).toEqual([1, 2]);
    const latest = await collect(readViewAsOf(store, vv, { latest: true }));
    expect(latest.map((r) => [r.user_id, r.x])).toEqual([
      [1, 11],
      [2, 2],
      [3, 3],
    ]);
    const latestThen = await collect(readViewAsOf(store, vv, { commitSeq: seqs[0] as number, latest: true }));
    expect(latestThen.map((r) => [r.user_id, r.x, r.__commit_seq])).toEqual([
      [1, 1, seqs[0]],
      [2, 2, seqs[0]],
    ]);
  });

  it('refuses an as-of before the first commit with the first commit in the hint', async () => {
    const err = await collect(readViewAsOf(store, vv, { time: new Date((times[0] as Date).getTime() - 1000) })).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain('before the first commit');
    expect(err.hint).toContain(String(seqs[0]));
    const err2 = await collect(readViewAsOf(store, vv, { commitSeq: (seqs[0] as number) - 1 })).catch((e) => e);
    expect(err2.code).toBe('INVALID_INPUT');
  });

  it('reads the changes between two commits', async () => {
    const d = await collect(diffCommits(store, vv, seqs[0] as number, seqs[2] as number));
    expect(d.map((r) => [r.__commit_seq, r.user_id, r.x])).toEqual([
      [seqs[1], 1, 11],
      [seqs[2], 1, 99],
      [seqs[2], 3, 3],
    ]);
    const all = await collect(diffCommits(store, vv, 0, seqs[0] as number));
    expect(all).toHaveLength(2);
    expect(await diffSummary(store, vv, seqs[0] as number, seqs[2] as number)).toEqual([
      { commitSeq: seqs[1], ingestionId: 'c1', rows: 1, entities: 1 },
      { commitSeq: seqs[2], ingestionId: 'c2', rows: 2, entities: 2 },
    ]);
    await expect(collect(diffCommits(store, vv, seqs[2] as number, seqs[0] as number))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(collect(diffCommits(store, vv, seqs[0] as number, 999_999))).rejects.toMatchObject({ code: 'UNKNOWN_OBJECT' });
  });
});
