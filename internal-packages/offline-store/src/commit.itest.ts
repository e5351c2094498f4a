/**
 * Commits through every path: a commit writes its Parquet file in the Hive layout and lists it in the manifest in the
 * same transaction; committing twice writes nothing; a commit interrupted before or after its file was written is
 * absent everywhere (table, manifest, files) and can be committed again; commits made before columnar copies existed
 * are backfilled. Faults are real: a file where a folder must go, a Postgres backend terminated mid-commit.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { ParquetCommitSink } from '@strata/offline-columnar';
import {
  arrowColumnBatch,
  type CommitFileSink,
  commitFiles,
  createPool,
  OfflineStore as PgStore,
  type ViewVersion,
  writeBatches,
} from '@strata/offline-postgres';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnarOfflineStore } from './bindings.js';
import { type Conformance, openConformance } from './conformance.itest-helpers.js';

const H = 3600_000;
const t0 = Date.parse('2024-03-01T00:00:00Z');
const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'created', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'x', valueType: 'DOUBLE' as const },
  { name: 's', valueType: 'STRING' as const },
  { name: 'l', valueType: 'INT64_LIST' as const },
  { name: 'b', valueType: 'BOOL' as const },
];

function batches(rows: Record<string, unknown>[]) {
  return tableFromRows(cols, rows).batches.map(arrowColumnBatch);
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

async function rowsOf(it: AsyncIterable<arrow.RecordBatch>): Promise<Record<string, unknown>[]> {
  const bs: arrow.RecordBatch[] = [];
  for await (const b of it) bs.push(b);
  return new arrow.Table(bs).toArray().map((r) => {
    const o = r.toJSON() as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === 'bigint') o[k] = Number(v);
      else if (v && typeof v === 'object' && 'toArray' in v) o[k] = [...(v as unknown as Iterable<unknown>)].map(Number);
    }
    return o;
  });
}

describe('commits, their Parquet files and the manifest', () => {
  let conf: Conformance;
  let vv: ViewVersion;
  let n = 0;

  const viewSpec = (name: string) => ({
    name,
    entities: ['user'],
    timestampField: 'ts',
    createdTimestampField: 'created',
    ttlSeconds: 0,
    online: false,
    features: [
      { name: 'x', valueType: 'DOUBLE' as const },
      { name: 's', valueType: 'STRING' as const },
      { name: 'l', valueType: 'INT64_LIST' as const },
      { name: 'b', valueType: 'BOOL' as const },
    ],
  });

  beforeAll(async () => {
    conf = await openConformance();
    await conf.registry.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [viewSpec('v'), viewSpec('old')],
      featureServices: [],
    });
    vv = await conf.registry.getView('p', 'v');
  });
  afterAll(async () => {
    await conf?.close();
  });

  const stage = (store: PgStore, rows: Record<string, unknown>[], view = vv) => {
    const id = `ing-${++n}`;
    return store.stage(view, id, batches(rows)).then(() => id);
  };

  it('writes one Parquet file per commit in the Hive layout, listed in the manifest, readable as a dataset', async () => {
    const id = await stage(conf.pg, [
      { user_id: 1, ts: new Date(t0), created: new Date(t0), x: 1.5, s: 'a,"b"\nc', l: [1, 2], b: true },
      { user_id: 2, ts: new Date(t0 + H), created: null, x: null, s: '', l: null, b: false },
    ]);
    const c = await conf.pg.commit(id);
    // The conformance layout attaches every commit (attachMinRows 1): this one is a partition of its own.
    const part = await conf.pool.query(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $1::regclass AND c.relname = $2`,
      [`"${conf.fresh.schema}"."${vv.tableName}"`, `${vv.tableName.slice(0, 36)}_c${c.commitSeq}`],
    );
    expect(part.rows).toEqual([{ bound: `FOR VALUES FROM ('${c.commitSeq}') TO ('${c.commitSeq + 1}')` }]);
    const manifest = await commitFiles(conf.pool, conf.fresh.schema, vv);
    expect(manifest.map((f) => [f.commitSeq, f.path, f.rows])).toEqual([
      [c.commitSeq, `project=p/view=v/version=1/commit=${c.commitSeq}/part-0.parquet`, 2],
    ]);
    expect((await files(conf.root)).filter((f) => !f.startsWith('_tmp/duckdb'))).toEqual([manifest[0]?.path]);
    // Any Hive-aware reader sees the partition columns; the values round-trip exactly (quotes, newlines, '' vs null).
    const read = await conf.columnar.columnar.duck.with(async (d) =>
      (
        await d.runAndReadAll(
          `SELECT project, view, version, "commit", user_id, x, s, l, b, created IS NULL AS no_created, __ord
           FROM read_parquet('${conf.root}/project=*/view=*/version=*/commit=*/*.parquet', hive_partitioning = true) ORDER BY __ord`,
        )
      ).getRowObjectsJson(),
    );
    expect(read).toEqual(
      [
        {
          project: 'p',
          view: 'v',
          version: '1',
          commit: String(c.commitSeq),
          user_id: '1',
          x: 1.5,
          s: 'a,"b"\nc',
          l: ['1', '2'],
          b: true,
          no_created: false,
          __ord: '0',
        },
        {
          project: 'p',
          view: 'v',
          version: '1',
          commit: String(c.commitSeq),
          user_id: '2',
          x: null,
          s: '',
          l: null,
          b: false,
          no_created: true,
          __ord: '1',
        },
      ].map((r) => ({ ...r, version: expect.anything(), commit: expect.anything() })),
    );
    // Committing again writes nothing.
    const again = await conf.pg.commit(id);
    expect(again.alreadyCommitted).toBe(true);
    expect(await commitFiles(conf.pool, conf.fresh.schema, vv)).toHaveLength(1);
  });

  it('a commit whose file cannot be written is absent everywhere, and commits once the fault is gone', async () => {
    const before = await commitFiles(conf.pool, conf.fresh.schema, vv);
    const id = await stage(conf.pg, [{ user_id: 3, ts: new Date(t0), created: null, x: 3, s: 'x', l: [3], b: null }]);
    // A file where the layout needs the version folder: mkdir fails for real.
    const blocker = join(conf.root, 'project=p', 'view=v', 'version=1');
    await rm(blocker, { recursive: true, force: true });
    await mkdir(join(conf.root, 'project=p', 'view=v'), { recursive: true });
    await writeFile(blocker, 'not a folder');
    const err = await conf.pg.commit(id).catch((e) => e);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.hint).toContain('columnarRoot');
    expect((await conf.pg.getIngestion(id))?.status).toBe('staged');
    const { rows } = await conf.pool.query(
      `SELECT count(*)::int AS n FROM "${conf.fresh.schema}"."${vv.tableName}" WHERE user_id = 3`,
    );
    expect(rows[0].n).toBe(0);
    expect(await commitFiles(conf.pool, conf.fresh.schema, vv)).toHaveLength(before.length);
    expect((await files(join(conf.root, '_tmp'))).filter((f) => !f.startsWith('duckdb'))).toEqual([]);
    await rm(blocker, { force: true });
    // The earlier commit's file was under the blocked folder: put it back by a backfill, then retry the commit.
    await rm(join(conf.root, 'project=p', 'view=v'), { recursive: true, force: true });
    await conf.pool.query(`DELETE FROM "${conf.fresh.schema}".commit_files`);
    expect((await conf.columnar.backfill('p')).commits).toBe(before.length);
    const c = await conf.pg.commit(id);
    expect(c.alreadyCommitted).toBe(false);
    expect(await commitFiles(conf.pool, conf.fresh.schema, vv)).toHaveLength(before.length + 1);
  });

  it('a commit whose transaction dies after its file was written leaves no file and no manifest row', async () => {
    // A store on its own connections; its sink terminates the commit's backend right after the file is in place.
    const victim = createPool(conf.fresh.url, { applicationName: 'strata-victim' });
    const real = ParquetCommitSink.open(conf.root);
    let writtenPath = '';
    const sink: CommitFileSink = {
      async write(x) {
        const out = await real.write(x);
        writtenPath = out.path;
        expect((await files(conf.root)).includes(out.path)).toBe(true);
        await conf.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'strata-victim' AND pid <> pg_backend_pid()`,
        );
        return out;
      },
      discard: (p) => real.discard(p),
    };
    try {
      const store = new PgStore(victim, conf.registry, { commitFiles: sink });
      const id = await stage(conf.pg, [{ user_id: 4, ts: new Date(t0), created: null, x: 4, s: 'y', l: [], b: true }]);
      const before = await commitFiles(conf.pool, conf.fresh.schema, vv);
      await expect(store.commit(id)).rejects.toBeTruthy();
      expect(writtenPath).not.toBe('');
      expect(await files(conf.root)).not.toContain(writtenPath);
      expect(await commitFiles(conf.pool, conf.fresh.schema, vv)).toEqual(before);
      expect((await conf.pg.getIngestion(id))?.status).toBe('staged');
      const c = await conf.pg.commit(id);
      expect(c.rows).toBe(1);
      const latest = await rowsOf(conf.columnar.readAsOf(vv, { latest: true }));
      expect(latest.find((r) => r.user_id === 4)?.l).toEqual([]);
    } finally {
      real.duck.close();
      await victim.end();
    }
  });

  it('backfills commits made before columnar copies existed; until then the columnar engine refuses clearly', async () => {
    const old = await conf.registry.getView('p', 'old');
    const plain = new PgStore(conf.pool, conf.registry); // no sink: how commits were made before
    const rows = [
      { user_id: 1, ts: new Date(t0), created: new Date(t0), x: 10, s: 'o', l: [1], b: true },
      { user_id: 1, ts: new Date(t0 + H), created: null, x: 11, s: 'p', l: null, b: false },
    ];
    await plain.commit(await stage(plain, rows, old));
    await plain.commit(await stage(plain, [{ ...rows[0], x: 12 }], old)); // same key, time, created: later commit wins
    const ents = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
      ],
      [
        { user_id: 1, event_timestamp: new Date(t0) },
        { user_id: 1, event_timestamp: new Date(t0 + 2 * H) },
      ],
    );
    const req = {
      entityTable: ents,
      timestampColumn: 'event_timestamp',
      selections: [{ view: old, features: old.spec.features }],
      fullFeatureNames: false,
    };
    const err = await conf.training(conf.binding('columnar'), req).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.hint).toContain('backfill');
    expect(await conf.columnar.backfill('p', { view: 'old' })).toEqual({ commits: 2, rows: 3, facts: 0 });
    expect(await conf.columnar.backfill('p', { view: 'old' })).toEqual({ commits: 0, rows: 0, facts: 0 });
    const a = await conf.training(conf.binding('postgres-lateral'), req);
    const b = await conf.training(conf.binding('columnar'), req);
    expect(b.getChild('x')?.toArray()).toEqual(new Float64Array([12, 11]));
    expect(b.getChild('x')?.toArray()).toEqual(a.getChild('x')?.toArray());
  });

  it('the last row in input order wins among exact duplicates of one commit (columnar, as the rule of the Postgres path)', async () => {
    await conf.registry.apply('q', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [viewSpec('d')],
      featureServices: [],
    });
    const d = await conf.registry.getView('q', 'd');
    const same = { user_id: 1, ts: new Date(t0), created: new Date(t0), s: 's', l: null, b: null };
    const id = `dup-${++n}`;
    await conf.pg.stage(
      d,
      id,
      batches([
        { ...same, x: 1 },
        { ...same, x: 2 },
        { ...same, x: 3 },
      ]),
    );
    await conf.pg.commit(id);
    const out = await conf.training(conf.binding('columnar'), {
      entityTable: tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        [{ user_id: 1, event_timestamp: new Date(t0 + H) }],
      ),
      timestampColumn: 'event_timestamp',
      selections: [{ view: d, features: d.spec.features }],
      fullFeatureNames: false,
    });
    expect(out.getChild('x')?.get(0)).toBe(3);
    const latest = await rowsOf(conf.columnar.readAsOf(d, { latest: true }));
    expect(latest.map((r) => r.x)).toEqual([3]);
  });

  it('reads entity rows from a Parquet file itself and writes Parquet whole; same rows as from a table', async () => {
    const ents = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'label', valueType: 'INT32' },
      ],
      [1, 2, 1, 3, 2].map((u, i) => ({ user_id: u, event_timestamp: new Date(t0 + i * H), label: i })),
    );
    const dir = join(conf.root, '..', `${conf.fresh.schema}-out`);
    await mkdir(dir, { recursive: true });
    try {
      const entPath = join(dir, 'entities.parquet');
      await writeBatches(ents.batches, entPath);
      const base = {
        timestampColumn: 'event_timestamp',
        selections: [{ view: vv, features: vv.spec.features.filter((f) => f.name !== 'l') }],
        fullFeatureNames: false,
      };
      const pg = await conf.training(conf.binding('postgres-lateral'), { ...base, entityTable: ents });
      const fromFile = await conf.training(conf.binding('columnar'), {
        ...base,
        entityStream: {
          columns: [
            { name: 'user_id', valueType: 'INT64' },
            { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
            { name: 'label', valueType: 'INT32' },
          ],
          batches: [],
        },
        entityFile: { path: entPath, format: 'parquet' },
      });
      const norm = (t: arrow.Table) =>
        t.toArray().map((r) => JSON.stringify(r.toJSON(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
      expect(norm(fromFile)).toEqual(norm(pg));
      const out = join(dir, 'train.parquet');
      const w = await conf.columnar.writeTrainingSet({ ...base, entityTable: ents }, { path: out });
      expect(w.rows).toBe(5);
      expect(await readdir(dir)).toEqual(['entities.parquet', 'train.parquet']);
      const back = await conf.columnar.columnar.duck.with(async (c) =>
        (await c.runAndReadAll(`SELECT label, x FROM read_parquet('${out}') ORDER BY label`)).getRowsJS(),
      );
      expect(back.map((r) => r[1])).toEqual(pg.getChild('x')?.toArray() ? [...(pg.getChild('x') as arrow.Vector)] : []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The binding type is used by the suite's helpers; keep the import honest.
export type { ColumnarOfflineStore };
