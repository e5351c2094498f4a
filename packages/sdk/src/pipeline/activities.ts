/**
 * The pipeline activities (registered by the worker): plan a run's windows, and compute one window — read the
 * source (read-only, with a statement timeout), run the transformation, stage the rows — exactly once per window,
 * under an advisory lock held on its own connection (a killed worker's lock goes with its connection).
 */
import {
  fromArrowType,
  invalidInput,
  parseDurationSeconds,
  parseTimestamp,
  parseWindow,
  StrataError,
  tableFromColumns,
  type TimeWindow,
  windowsBetween,
} from '@strata/core';
import {
  advancePipelineWatermark,
  arrowColumnBatch,
  type ColumnBatch,
  createPool,
  doneWindows,
  ident,
  type OfflineStore,
  type PgRegistry,
  type Pool,
  pipelineWatermark,
  recordPipelineWindow,
  type ViewVersion,
  viewColumns,
  withReadOnly,
} from '@strata/offline-postgres';
import type { PipelineActivities, PipelinePlan, PipelineRunInput, PipelineWindowInput, StagedWindow } from '@strata/workflows';
import { wrap } from '@strata/workflows';
import { Context } from '@temporalio/activity';
import * as arrow from 'apache-arrow';
import Cursor from 'pg-cursor';
import { glob } from 'tinyglobby';
import { fromPgResult } from '../pg-arrow.js';
import { readBatches, readTable } from '../readers.js';
import { pipelineCodeHash, windowIngestionId } from './code.js';
import { checkTransformOutput, runTransformation } from './transform.js';

export interface PipelineActivityDeps {
  registry: PgRegistry;
  offline: OfflineStore;
  /** The offline store's database URL (source queries without a connection, and the window locks). */
  offlineUrl: string;
  /** Other databases by name (strata.yaml connections; URLs resolved from the environment by the config loader). */
  connections?: Record<string, string>;
  /** Clock (tests). */
  now?: () => Date;
}

const DEFAULT_SOURCE_TIMEOUT_S = 300;
const DEFAULT_TRANSFORM_TIMEOUT_S = 60;
const BATCH = 5000;

function pipelineOf(vv: ViewVersion) {
  const spec = vv.spec;
  if (!spec.source || !spec.pipeline) {
    throw invalidInput(`feature view '${vv.name}' has no source`, {
      hint: 'add source: {kind: sql | files, ...} and pipeline: {window, start} to the view and apply it',
    });
  }
  return { source: spec.source, pipeline: spec.pipeline, transformation: spec.transformation };
}

/** Keeps only the rows of a batch whose event time is in [start, end). */
function windowed(batch: ColumnBatch, tsCol: string, w: TimeWindow, where: string): ColumnBatch {
  const ts = batch.column(tsCol);
  if (!ts) {
    throw invalidInput(`the source has no event-time column '${tsCol}'`, {
      where,
      hint: `its columns are ${batch.columnNames.join(', ')}; set source.timestampField`,
    });
  }
  const keep: number[] = [];
  const s = w.start.getTime();
  const e = w.end.getTime();
  for (let i = 0; i < batch.numRows; i++) {
    const v = ts(i);
    if (v === null || v === undefined || v === '') continue;
    const t = parseTimestamp(v).getTime();
    if (t >= s && t < e) keep.push(i);
  }
  return {
    numRows: keep.length,
    columnNames: batch.columnNames,
    column(name) {
      const get = batch.column(name);
      return get ? (i: number) => get(keep[i] as number) : undefined;
    },
  };
}

/** Rows (pg row objects) as a ColumnBatch. */
function rowsBatch(rows: Record<string, unknown>[], names: string[]): ColumnBatch {
  return {
    numRows: rows.length,
    columnNames: names,
    column(name) {
      return names.includes(name) ? (i: number) => rows[i]?.[name] : undefined;
    },
  };
}

/** A table's rows selected by window on the event-time column (Arrow in, Arrow out, types kept). */
function windowTable(t: arrow.Table, tsCol: string, w: TimeWindow, where: string): arrow.Table {
  const b = windowed(arrowColumnBatch(t), tsCol, w, where);
  return tableFromColumns(
    t.schema.fields.map((f) => {
      const get = b.column(f.name) as (i: number) => unknown;
      return {
        name: f.name,
        valueType: fromArrowType(f.type) ?? 'STRING',
        values: Array.from({ length: b.numRows }, (_, i) => {
          const v = get(i);
          return arrow.DataType.isTimestamp(f.type) && typeof v === 'number' ? new Date(v) : v;
        }),
      };
    }),
  );
}

function concatTables(parts: arrow.Table[]): arrow.Table {
  if (parts.length === 1) return parts[0] as arrow.Table;
  const first = parts[0];
  if (!first) return new arrow.Table();
  return tableFromColumns(
    first.schema.fields.map((f) => ({
      name: f.name,
      valueType: fromArrowType(f.type) ?? 'STRING',
      values: parts.flatMap((p) => {
        const v = p.getChild(f.name);
        return Array.from({ length: p.numRows }, (_, i) => {
          const x = v ? v.get(i) : null;
          return arrow.DataType.isTimestamp(f.type) && typeof x === 'number' ? new Date(x) : x;
        });
      }),
    })),
  );
}

function sourceError(err: unknown, where: string): StrataError {
  if (err instanceof StrataError) return err;
  const e = err as { code?: string; message?: string };
  if (e?.code === '25006') {
    return new StrataError('INVALID_INPUT', `the source query tried to write: ${e.message}`, {
      where,
      hint: 'a source runs read-only; give a SELECT',
    });
  }
  const timeout = e?.code === '57014';
  return new StrataError('SOURCE_FAILED', `the source query ${timeout ? 'timed out' : 'failed'}: ${e?.message ?? String(err)}`, {
    where,
    hint: timeout
      ? 'raise source.timeoutSeconds or make the query faster'
      : 'the window is retried; fix the query or the database if it keeps failing',
    details: { sqlstate: e?.code ?? null },
  });
}

export function createPipelineActivities(deps: PipelineActivityDeps): { activities: PipelineActivities; close(): Promise<void> } {
  const { registry, offline } = deps;
  const now = deps.now ?? (() => new Date());
  const pools = new Map<string, Pool>();

  const sourcePool = (connection: string | undefined): Pool => {
    const key = connection ?? '';
    let p = pools.get(key);
    if (!p) {
      const url = connection === undefined ? deps.offlineUrl : deps.connections?.[connection];
      if (!url) {
        throw new StrataError('CONFIG', `connection '${connection}' is not configured on this worker`, {
          hint: `add connections: {${connection}: {env: VARIABLE}} to strata.yaml and set that variable where the worker runs`,
        });
      }
      p = createPool(url, { max: 6, applicationName: 'strata-pipeline' });
      pools.set(key, p);
    }
    return p;
  };

  async function stageTable(
    vv: ViewVersion,
    input: PipelineWindowInput,
    table: arrow.Table | AsyncIterable<ColumnBatch>,
    source: string,
  ) {
    const batches = table instanceof arrow.Table ? table.batches.map(arrowColumnBatch) : table;
    return offline.stage(vv, input.window.ingestionId, batches, {
      source,
      createdBy: 'pipeline',
      codeHash: input.codeHash,
      window: { start: new Date(input.window.start), end: new Date(input.window.end) },
      allowEmpty: true,
    });
  }

  async function transform(vv: ViewVersion, input: PipelineWindowInput, table: arrow.Table): Promise<arrow.Table> {
    const tr = vv.spec.transformation;
    if (tr?.kind !== 'typescript') return table;
    const where = `feature view '${vv.name}' transformation, window ${input.window.start}..${input.window.end}`;
    const out = await runTransformation(table, {
      code: tr.code as string,
      ...(tr.export ? { exportName: tr.export } : {}),
      timeoutMs: (tr.timeoutSeconds ?? DEFAULT_TRANSFORM_TIMEOUT_S) * 1000,
      context: { view: vv.name, windowStart: input.window.start, windowEnd: input.window.end },
      where,
    });
    checkTransformOutput(out, viewColumns(vv.spec, vv.joinKeys), { where });
    return out;
  }

  async function extractAndStage(vv: ViewVersion, input: PipelineWindowInput): Promise<number> {
    const { source, transformation } = pipelineOf(vv);
    const w: TimeWindow = { start: new Date(input.window.start), end: new Date(input.window.end) };
    const tsCol = source.timestampField ?? vv.spec.timestampField;
    const label = `pipeline ${source.kind} ${input.window.start}..${input.window.end}`;
    if (source.kind === 'sql') {
      const where = `feature view '${vv.name}' source (sql${source.connection ? ` on ${source.connection}` : ''}), window ${input.window.start}..${input.window.end}`;
      const body = source.query.trim().replace(/;\s*$/, '');
      const filtered = `SELECT * FROM (${body}) AS "source" WHERE "source".${ident(tsCol)} >= $1 AND "source".${ident(tsCol)} < $2`;
      const sql =
        transformation?.kind === 'sql'
          ? `WITH "source" AS (${filtered}) ${transformation.query.trim().replace(/;\s*$/, '')}`
          : filtered;
      const params = [w.start, w.end];
      const timeoutMs = (source.timeoutSeconds ?? DEFAULT_SOURCE_TIMEOUT_S) * 1000;
      const pool = sourcePool(source.connection);
      if (transformation?.kind === 'typescript') {
        const res = await withReadOnly(pool, { timeoutMs, where }, (c) => c.query(sql, params)).catch((err) => {
          throw sourceError(err, where);
        });
        const out = await transform(vv, input, fromPgResult(res));
        return (await stageTable(vv, input, out, label)).rows;
      }
      return withReadOnly(pool, { timeoutMs, where }, async (c) => {
        const cursor = c.query(new Cursor(sql, params));
        let names: string[] | undefined;
        let failed = false;
        const batches = async function* () {
          for (;;) {
            let rows: Record<string, unknown>[];
            try {
              rows = await cursor.read(BATCH);
            } catch (err) {
              failed = true; // an errored cursor is done: closing it would wait for ever
              throw sourceError(err, where);
            }
            if (!rows.length) return;
            names ??= Object.keys(rows[0] as object);
            yield rowsBatch(rows, names);
          }
        };
        try {
          return (await stageTable(vv, input, batches(), label)).rows;
        } finally {
          if (!failed) await cursor.close().catch(() => {});
        }
      });
    }
    // files
    const where = `feature view '${vv.name}' source (files ${source.path}), window ${input.window.start}..${input.window.end}`;
    const files = (await glob(source.path, { absolute: true, onlyFiles: true })).sort();
    if (!files.length) {
      throw new StrataError('SOURCE_FAILED', `no file matches ${source.path}`, {
        where,
        hint: 'check the path or glob (it is read where the worker runs)',
      });
    }
    const format = source.format ?? (/\.parquet$/i.test(source.path) ? 'parquet' : 'csv');
    if (transformation?.kind === 'typescript') {
      const parts: arrow.Table[] = [];
      for (const f of files) parts.push(windowTable(await readTable(f, { format }), tsCol, w, `${where}: ${f}`));
      const out = await transform(vv, input, concatTables(parts));
      return (await stageTable(vv, input, out, label)).rows;
    }
    const batches = async function* () {
      for (const f of files) for await (const b of readBatches(f, { format })) yield windowed(b, tsCol, w, `${where}: ${f}`);
    };
    return (await stageTable(vv, input, batches(), label)).rows;
  }

  const lockPool = createPool(deps.offlineUrl, { max: 16, applicationName: 'strata-pipeline-lock' });

  const activities: PipelineActivities = {
    planPipelineRun: wrap(async (input: PipelineRunInput): Promise<PipelinePlan> => {
      const vv = await registry.getView(input.project, input.view);
      const { pipeline } = pipelineOf(vv);
      const codeHash = pipelineCodeHash(vv.spec);
      let windows: TimeWindow[];
      const every = parseWindow(input.every ?? pipeline.window, 'every');
      if (input.mode === 'backfill') {
        if (!input.start || !input.end) throw invalidInput('a backfill needs --start and --end');
        const start = parseTimestamp(input.start);
        const end = parseTimestamp(input.end);
        if (!(end > start)) throw invalidInput(`the backfill's end (${input.end}) is not after its start (${input.start})`);
        windows = windowsBetween(start, every, start, end, 10_000);
      } else {
        const anchor = parseTimestamp(pipeline.start);
        const from = (await pipelineWatermark(registry, input.project, input.view)) ?? anchor;
        const to = new Date(now().getTime() - parseDurationSeconds(pipeline.lag ?? 0) * 1000);
        windows = windowsBetween(anchor, every, from, to, 1000);
      }
      const all = windows.map((w) => ({
        start: w.start.toISOString(),
        end: w.end.toISOString(),
        ingestionId: windowIngestionId(input.project, input.view, vv.version, w.start, w.end, codeHash),
      }));
      const doneIds = await doneWindows(
        registry,
        all.map((w) => w.ingestionId),
      );
      let todo = all.filter((w) => !doneIds.has(w.ingestionId));
      if (input.mode === 'incremental') {
        // Windows already done at the head of the range move the watermark now; the rest run in order.
        let k = 0;
        while (k < all.length && doneIds.has((all[k] as { ingestionId: string }).ingestionId)) k++;
        const head = all[k - 1];
        if (head) await advance(input.project, input.view, head.end);
        todo = all.slice(k);
      }
      return {
        project: input.project,
        view: input.view,
        version: vv.version,
        codeHash,
        materialize: Boolean(pipeline.materialize) && vv.spec.online,
        maxAttempts: pipeline.maxAttempts ?? 5,
        windows: todo,
        skipped: all.length - todo.length,
      };
    }),

    stagePipelineWindow: wrap(async (input: PipelineWindowInput): Promise<StagedWindow> => {
      const ctx = Context.current();
      const id = input.window.ingestionId;
      const vv = await registry.getView(input.project, input.view, input.version);
      const codeHash = pipelineCodeHash(vv.spec);
      if (codeHash !== input.codeHash) {
        throw invalidInput(`the pipeline code of '${input.view}' changed after this run was planned`, {
          hint: 'run the pipeline again: its windows get new ingestion ids for the new code',
          details: { planned: input.codeHash, current: codeHash },
        });
      }
      const lock = await lockPool.connect();
      let locked = false;
      const beat = setInterval(() => ctx.heartbeat({ window: input.window.start }), 2000);
      try {
        const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`strata-window:${id}`]);
        locked = got.rows[0]?.ok === true;
        if (!locked) {
          throw new StrataError(
            'CONFLICT',
            `window ${input.window.start}..${input.window.end} is being computed by another run`,
            {
              hint: 'it is retried; the other run commits it once',
            },
          );
        }
        const existing = await offline.getIngestion(id);
        if (existing?.status === 'committed') {
          return { ingestionId: id, status: 'committed', rows: existing.rowCount, commitSeq: existing.commitSeq ?? 0 };
        }
        if (existing?.status === 'staged' || existing?.status === 'quarantined') {
          return { ingestionId: id, status: 'staged', rows: existing.rowCount };
        }
        if (existing) await offline.discardAttempt(id);
        const rows = await extractAndStage(vv, input);
        if (rows === 0) {
          await offline.discardAttempt(id);
          return { ingestionId: id, status: 'empty', rows: 0 };
        }
        return { ingestionId: id, status: 'staged', rows };
      } finally {
        clearInterval(beat);
        if (locked) await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`strata-window:${id}`]).catch(() => {});
        lock.release();
      }
    }),

    recordPipelineWindow: wrap(async (input, outcome) => {
      await recordPipelineWindow(registry, {
        ingestionId: input.window.ingestionId,
        project: input.project,
        view: input.view,
        version: input.version,
        start: input.window.start,
        end: input.window.end,
        codeHash: input.codeHash,
        status: outcome.status,
        rows: outcome.rows,
        commitSeq: outcome.commitSeq ?? null,
        workflowId: outcome.workflowId ?? null,
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
      });
    }),

    advancePipelineWatermark: wrap((project: string, view: string, to: string) => advance(project, view, to)),
  };
  return {
    activities,
    async close() {
      await lockPool.end().catch(() => {});
      for (const p of pools.values()) await p.end().catch(() => {});
    },
  };

  function advance(project: string, view: string, to: string): Promise<string> {
    return advancePipelineWatermark(registry, project, view, to);
  }
}
