/**
 * Real-time push in Feast's shape: `{push_source_name | feature_view, df: {col: [values]}, to}`. The columns must be
 * exactly the view's (join keys, event time, features; created time optional) and every value must fit its type
 * before anything is written. The online part goes through the newer-wins writer; the offline part is buffered per
 * view (up to maxDelayMs or maxRows) and appended as one commit (stage + commit), and the push answers once its
 * rows are committed.
 */
import { randomUUID } from 'node:crypto';
import { invalidInput, schemaMismatch, StrataError } from '@strata/core';
import { validateStaged } from '@strata/workflows';
import {
  type ColumnBatch,
  type CommitResult,
  type CopyColumn,
  encodeRows,
  type OfflineStore,
  RowError,
  type ViewVersion,
  viewColumns,
} from '@strata/offline-postgres';
import type { OnlineWriteRow } from '@strata/online-store';

export type PushTarget = 'online' | 'offline' | 'online_and_offline';

export interface PushBody {
  /** A retried push with the same key commits once (also the Idempotency-Key header). */
  idempotency_key?: string;
  push_source_name?: string;
  feature_view?: string;
  df?: Record<string, unknown[]>;
  to?: PushTarget;
  project?: string;
  allow_registry_cache?: boolean;
}

export interface CheckedPush {
  rows: Record<string, unknown>[];
  to: PushTarget;
}

function toDate(v: unknown, where: string): Date | null {
  if (v === null || v === undefined) return null;
  // Text without an offset is UTC (as everywhere in Strata), not the server's local time.
  const text =
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(v.trim())
      ? `${v.trim().replace(' ', 'T')}${v.includes(':') ? 'Z' : ''}`
      : v;
  const d = text instanceof Date ? text : typeof text === 'number' || typeof text === 'string' ? new Date(text) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw invalidInput(`${where}: '${String(v)}' is not a timestamp`, { hint: 'send ISO 8601 text or epoch milliseconds' });
  }
  return d;
}

/** Checks a push against the view: columns, lengths and every value's type. Throws before anything is written. */
export function checkPush(vv: ViewVersion, body: PushBody): CheckedPush {
  const to = body.to ?? 'online';
  if (!['online', 'offline', 'online_and_offline'].includes(to)) {
    throw invalidInput(`"to" must be online, offline or online_and_offline, not '${String(to)}'`);
  }
  const df = body.df;
  if (!df || typeof df !== 'object' || Array.isArray(df)) {
    throw invalidInput('"df" must be an object of columns, e.g. {"user_id": [1], "event_timestamp": ["..."], ...}');
  }
  const cols = viewColumns(vv.spec, vv.joinKeys);
  const expected = new Set(cols.map((c) => c.name));
  const given = Object.keys(df);
  const extra = given.filter((c) => !expected.has(c));
  const missing = cols.filter((c) => !(c.name in df) && c.name !== vv.spec.createdTimestampField).map((c) => c.name);
  if (extra.length || missing.length) {
    throw schemaMismatch(
      `the pushed columns do not match feature view '${vv.name}' v${vv.version}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; not in the view: ${extra.join(', ')}` : ''}`,
      {
        where: 'df',
        hint: `push exactly the columns ${cols.map((c) => `${c.name} (${c.valueType})`).join(', ')}`,
      },
    );
  }
  let n: number | undefined;
  for (const name of given) {
    const col = df[name];
    if (!Array.isArray(col)) throw invalidInput(`column '${name}' must be a list of values`, { where: `df.${name}` });
    if (n === undefined) n = col.length;
    else if (col.length !== n) {
      throw invalidInput(`df columns have unequal lengths ('${given[0]}' has ${n}, '${name}' has ${col.length})`, {
        where: `df.${name}`,
      });
    }
  }
  if (!n) throw invalidInput('the push has no rows');
  const tsCols = new Set(cols.filter((c) => c.valueType === 'UNIX_TIMESTAMP').map((c) => c.name));
  const rows: Record<string, unknown>[] = Array.from({ length: n }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const name of given) {
      const v = (df[name] as unknown[])[i];
      row[name] = tsCols.has(name) ? toDate(v, `row ${i + 1}, column '${name}'`) : v;
    }
    return row;
  });
  // Dry run of the offline encoder: the same checks COPY staging makes, before anything is written anywhere.
  const copyCols: CopyColumn[] = cols.map((c) => ({ ...c, get: (i: number) => (rows[i] as Record<string, unknown>)[c.name] }));
  try {
    encodeRows(copyCols, rows.length, 0);
  } catch (err) {
    if (err instanceof RowError) throw invalidInput(err.message, { where: `df, row ${err.row}, column '${err.column}'` });
    throw err;
  }
  return { rows, to };
}

export function pushRowToOnline(vv: ViewVersion, row: Record<string, unknown>): OnlineWriteRow {
  const entityKey: Record<string, unknown> = {};
  for (const k of vv.joinKeys) entityKey[k.name] = row[k.name];
  const values: Record<string, unknown> = {};
  for (const f of vv.spec.features) values[f.name] = row[f.name] ?? null;
  const created = vv.spec.createdTimestampField ? row[vv.spec.createdTimestampField] : undefined;
  return {
    entityKey,
    eventTime: row[vv.spec.timestampField] as Date,
    ...(created ? { createdTime: created as Date } : {}),
    values,
  };
}

function batchOf(rows: Record<string, unknown>[], names: string[]): ColumnBatch {
  return {
    numRows: rows.length,
    columnNames: names,
    column: (name) => (names.includes(name) ? (i: number) => (rows[i] as Record<string, unknown>)[name] ?? null : undefined),
  };
}

/** What an offline push committed (or, for a retried idempotency key, had committed before). */
export interface PushCommit extends CommitResult {
  validation: { validated: boolean; success: boolean; policy: string; failed: unknown[] };
}

/**
 * The validated commit path an ingest takes, for pushed rows: stage under the id, run the view's suite with its
 * policy (STRICT failing: the batch is quarantined and the push fails with VALIDATION_FAILED, nothing committed),
 * then commit. An id that is already committed answers its commit again (a retried push with the same idempotency
 * key commits once); any other failure abandons the staged rows, so nothing is left behind.
 */
export async function commitPush(
  offline: OfflineStore,
  vv: ViewVersion,
  ingestionId: string,
  rows: Record<string, unknown>[],
): Promise<PushCommit> {
  const names = viewColumns(vv.spec, vv.joinKeys).map((c) => c.name);
  try {
    await offline.stage(vv, ingestionId, [batchOf(rows, names)], { source: 'push', createdBy: 'serving' });
  } catch (err) {
    if (!StrataError.is(err, 'CONFLICT') || !(err.details as { status?: string }).status) throw err;
    const ing = await offline.getIngestion(ingestionId);
    if (ing?.status === 'committed') {
      return {
        ingestionId,
        status: 'committed',
        rows: ing.rowCount,
        commitSeq: ing.commitSeq as number,
        alreadyCommitted: true,
        duplicateRows: ing.duplicateRows,
        validation: { validated: false, success: true, policy: 'NONE', failed: [] },
      };
    }
    if (ing?.status === 'quarantined') {
      throw new StrataError('VALIDATION_FAILED', `push '${ingestionId}' was quarantined by the view's STRICT suite`, {
        details: { ingestionId },
        hint: 'fix the data and push with a new idempotency key',
      });
    }
    if (ing?.status !== 'staged') throw err;
  }
  try {
    const summary = await validateStaged(offline, ingestionId, vv, undefined, () => {});
    const validation = {
      validated: summary.validated,
      success: summary.success,
      policy: summary.policy,
      failed: summary.failed,
    };
    if (!summary.success && summary.policy === 'STRICT') {
      await offline.quarantine(ingestionId, summary.report, summary.statistics);
      throw new StrataError(
        'VALIDATION_FAILED',
        `validation failed (STRICT): ${summary.failed.length} of ${summary.evaluated} expectations failed; the push is quarantined, nothing was committed`,
        { details: { ingestionId, failed: summary.failed }, hint: 'fix the pushed values (see details.failed)' },
      );
    }
    await offline.recordReport(ingestionId, { report: summary.report, statistics: summary.statistics });
    return { ...(await offline.commit(ingestionId)), validation };
  } catch (err) {
    if (!StrataError.is(err, 'VALIDATION_FAILED')) {
      await offline.abandon(ingestionId, StrataError.is(err) ? err.toJSON() : { message: String(err) }).catch(() => {});
    }
    throw err;
  }
}

/** The ingestion id of a push with an idempotency key (scoped by project and view). */
export function pushIngestionId(vv: ViewVersion, key: string): string {
  return `push:${vv.project}:${vv.name}:${key}`;
}

interface Pending {
  vv: ViewVersion;
  rows: Record<string, unknown>[];
  waiters: { resolve: (r: PushCommit) => void; reject: (e: unknown) => void }[];
  timer: NodeJS.Timeout;
}

/** Buffers offline pushes per view version and appends them as one commit every maxDelayMs or maxRows. */
export class OfflinePushBuffer {
  private pending = new Map<string, Pending>();
  private inFlight = new Set<Promise<void>>();
  commits = 0;

  constructor(
    private readonly offline: OfflineStore,
    private readonly opts: { maxDelayMs: number; maxRows: number } = { maxDelayMs: 200, maxRows: 10_000 },
  ) {}

  /**
   * Commits pushed rows offline. With an idempotency key the push is its own commit (id from the key, so a retry
   * commits once); without one it joins the view's micro-batch. Either way it goes through the validated path.
   */
  add(vv: ViewVersion, rows: Record<string, unknown>[], idempotencyKey?: string): Promise<PushCommit> {
    if (idempotencyKey !== undefined) {
      const run = commitPush(this.offline, vv, pushIngestionId(vv, idempotencyKey), rows).then((r) => {
        if (!r.alreadyCommitted) this.commits++;
        return r;
      });
      const tracked = run.then(
        () => {},
        () => {},
      );
      this.inFlight.add(tracked);
      tracked.finally(() => this.inFlight.delete(tracked));
      return run;
    }
    const key = `${vv.project}\u0000${vv.name}\u0000${vv.version}`;
    return new Promise<PushCommit>((resolve, reject) => {
      let p = this.pending.get(key);
      if (!p) {
        const timer = setTimeout(() => this.flush(key), this.opts.maxDelayMs);
        p = { vv, rows: [], waiters: [], timer };
        this.pending.set(key, p);
      }
      for (const r of rows) p.rows.push(r);
      p.waiters.push({ resolve, reject });
      if (p.rows.length >= this.opts.maxRows) this.flush(key);
    });
  }

  private flush(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    const run = (async () => {
      const id = `push-${randomUUID()}`;
      try {
        const result = await commitPush(this.offline, p.vv, id, p.rows);
        this.commits++;
        for (const w of p.waiters) w.resolve(result);
      } catch (err) {
        const e = err instanceof StrataError ? err : new StrataError('INTERNAL', (err as Error).message, { cause: err });
        for (const w of p.waiters) w.reject(e);
      }
    })();
    this.inFlight.add(run);
    run.finally(() => this.inFlight.delete(run));
  }

  /** Commits everything buffered now and waits for it (graceful shutdown). */
  async drain(): Promise<void> {
    for (const key of [...this.pending.keys()]) this.flush(key);
    await Promise.allSettled([...this.inFlight]);
  }
}
