/**
 * For the conformance suite: one fresh Postgres schema and columnar root, a registry, and every binding of the
 * OfflineStore interface over the same commits (commits write through Postgres, which also writes each commit's
 * Parquet file), so each test compares the bindings on identical data.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ColumnBatch,
  createPool,
  type OfflineStore as PgOfflineStore,
  PgRegistry,
  type PitStrategy,
  type Pool,
} from '@strata/offline-postgres';
import { type FreshSchema, freshSchema } from '@strata/testkit';
import type * as arrow from 'apache-arrow';
import * as arrowLib from 'apache-arrow';
import { type ColumnarOfflineStore, openOfflineStore, PostgresOfflineStore } from './bindings.js';
import type { OfflineStore, TrainingRequest } from './store.js';

export const BINDINGS = ['postgres-lateral', 'postgres-merge', 'postgres-inline', 'columnar'] as const;
export type BindingName = (typeof BINDINGS)[number];

export interface Binding {
  name: BindingName;
  store: OfflineStore;
  /** The Postgres join plan this binding asks for (postgres bindings only). */
  strategy?: PitStrategy;
  /** How the entity rows reach Postgres: 'inline' is the array-parameter path a read replica takes. */
  entityLoad?: 'copy' | 'inline';
}

export interface Conformance {
  fresh: FreshSchema;
  pool: Pool;
  registry: PgRegistry;
  /** The Postgres store every commit goes through (with the Parquet sink). */
  pg: PgOfflineStore;
  columnar: ColumnarOfflineStore;
  root: string;
  bindings: Binding[];
  binding(name: BindingName): Binding;
  /** A training set from one binding, as a table. */
  training(b: Binding, req: TrainingRequest): Promise<arrow.Table>;
  close(): Promise<void>;
}

/** Plain-object rows as a ColumnBatch (what the CSV and JSON readers give staging). */
export function rowsBatch(rows: Record<string, unknown>[]): ColumnBatch {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return {
    numRows: rows.length,
    columnNames: names,
    column: (name) => (names.includes(name) ? (i: number) => rows[i]?.[name] ?? null : undefined),
  };
}

/**
 * The view table layouts the suites run on: partitioned by commit with every commit attached as its own partition
 * (0: attachMinRows 1, so the attach path of ADR 0013 takes each commit, duplicates included), and hash-partitioned
 * by entity key (4: the INSERT path). The INSERT path into a commit-partitioned table's shared partition and plain
 * tables run in offline-postgres' suites.
 */
export const VIEW_LAYOUTS = [0, 4] as const;

export async function openConformance(opts: { viewPartitions?: number } = {}): Promise<Conformance> {
  const fresh = await freshSchema();
  const pool = createPool(fresh.url);
  const registry = new PgRegistry(pool, fresh.schema, opts.viewPartitions ? { viewPartitions: opts.viewPartitions } : {});
  await registry.init();
  const root = await mkdtemp(join(tmpdir(), 'strata-columnar-'));
  const columnar = openOfflineStore(pool, registry, {
    engine: 'columnar',
    columnarRoot: root,
    ...(opts.viewPartitions ? {} : { attachMinRows: 1 }),
  }) as ColumnarOfflineStore;
  const postgres = new PostgresOfflineStore(columnar.postgres);
  const bindings: Binding[] = [
    { name: 'postgres-lateral', store: postgres, strategy: 'lateral' },
    { name: 'postgres-merge', store: postgres, strategy: 'merge' },
    { name: 'postgres-inline', store: postgres, strategy: 'lateral', entityLoad: 'inline' },
    { name: 'columnar', store: columnar },
  ];
  return {
    fresh,
    pool,
    registry,
    pg: columnar.postgres,
    columnar,
    root,
    bindings,
    binding: (name) => bindings.find((b) => b.name === name) as Binding,
    async training(b, req) {
      const out: arrow.RecordBatch[] = [];
      for await (const batch of b.store.streamTrainingSet({
        ...req,
        ...(b.strategy ? { strategy: b.strategy } : {}),
        ...(b.entityLoad ? { entityLoad: b.entityLoad } : {}),
      }))
        out.push(batch);
      return new arrowLib.Table(out);
    },
    async close() {
      await columnar.close();
      await pool.end();
      await fresh.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
