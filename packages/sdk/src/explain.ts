/**
 * Explain a value: for one entity of a view, the value online (read through the OnlineStore interface), the offline
 * rows behind it, and the chain that put it there: the commit and ingestion that brought the row, the validation
 * report it passed, the materialization run that wrote it online, each with its Temporal Web UI page.
 *
 * Which offline row is online follows materialization's own rule: among the rows committed up to the view's
 * watermark, the newest event time (ties: the newest created time, then the newest commit), since materialization
 * writes each entity's latest row and the online store keeps the newer one.
 */
import { basename, isAbsolute } from 'node:path';
import { CoerceError, coerceValue, invalidInput, StrataError } from '@strata/core';
import { ident, qualified } from '@strata/offline-postgres';
import type { FeatureStatus } from '@strata/online-store';
import type { Strata } from './client.js';
import { temporalRunUrl } from './links.js';
import { jsonValue } from './online.js';

export interface ExplainOptions {
  /** One value per join key of the view, by join-key name. */
  entity: Record<string, unknown>;
  /** One feature (default: every feature of the view). */
  feature?: string;
  /** Offline rows returned, newest first (default 20, at most 200). */
  limit?: number;
}

export interface ExplainedRow {
  commitId: number;
  ingestionId: string;
  eventTime: Date;
  createdTime: Date | null;
  values: Record<string, unknown>;
  /** Committed up to the watermark (materialization has read it). */
  materialized: boolean;
  /** The row the online value comes from. */
  online: boolean;
}

export interface Explanation {
  view: string;
  version: number;
  entity: Record<string, unknown>;
  feature: string | null;
  features: string[];
  online: {
    /** The status of `feature` (or of the first feature when none was named). */
    status: FeatureStatus;
    value: unknown;
    eventTime: Date | null;
    values: Record<string, { value: unknown; status: FeatureStatus }>;
  };
  watermark: number;
  offline: { rows: ExplainedRow[]; total: number; truncated: boolean };
  /** The offline row that materialization put online; null when nothing of this entity was materialized yet. */
  onlineRow: { commitId: number; eventTime: Date; matchesOnline: boolean } | null;
  commit: {
    commitId: number;
    ingestionId: string;
    committedAt: Date | null;
    rows: number;
    minEventTime: Date | null;
    maxEventTime: Date | null;
  } | null;
  ingestion: {
    id: string;
    status: string;
    createdBy: string | null;
    createdAt: Date;
    committedAt: Date | null;
    source: string | null;
    workflowId: string | null;
    url: string | null;
    links: { self: string; validationReport: string | null; statistics: string | null };
  } | null;
  validation: {
    success: boolean;
    evaluated: number;
    successful: number;
    unsuccessful: number;
    successPercent: number | null;
    suite: string | null;
    link: string;
  } | null;
  materialization: {
    id: number;
    workflowId: string | null;
    url: string | null;
    status: string;
    mode: string;
    startedAt: Date;
    finishedAt: Date | null;
  } | null;
}

export const EXPLAIN_ROWS_MAX = 200;

/**
 * How a recorded source is shown: a file path is shown by its name only (a server's folders are nobody's business),
 * anything else (a URI, `pipeline:...`, `arrow table`) as it is.
 */
export function publicSource(source: string | null): string | null {
  if (!source) return null;
  return isAbsolute(source) ? basename(source) : source;
}

/** Parses `key=value` strings (the CLI's and the API's form of an entity key) into an object. */
export function parseEntityArgs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0)
      throw invalidInput(`entity '${p}' is not key=value`, { details: { field: 'entity' }, hint: 'e.g. --entity user_id=7' });
    const k = p.slice(0, i).trim();
    if (k in out) throw invalidInput(`join key '${k}' is given twice`, { details: { field: 'entity' } });
    out[k] = p.slice(i + 1);
  }
  return out;
}

export async function explainValue(strata: Strata, view: string, opts: ExplainOptions): Promise<Explanation> {
  const vv = await strata.getView(view);
  const spec = vv.spec;
  const names = spec.features.map((f) => f.name);
  if (opts.feature !== undefined && !names.includes(opts.feature))
    throw new StrataError('UNKNOWN_FEATURE', `feature view '${view}' has no feature '${opts.feature}'`, {
      details: { field: 'feature', view, feature: opts.feature },
      hint: `its features: ${names.join(', ')}`,
    });
  const features = opts.feature !== undefined ? [opts.feature] : names;
  const limit = opts.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > EXPLAIN_ROWS_MAX)
    throw invalidInput(`limit must be an integer from 1 to ${EXPLAIN_ROWS_MAX}`, { details: { field: 'limit' } });

  // The entity: every join key, each value coerced to its type (the URL and the CLI give strings).
  const keys = vv.joinKeys;
  const extra = Object.keys(opts.entity).filter((k) => !keys.some((j) => j.name === k));
  if (extra.length)
    throw invalidInput(`feature view '${view}' has no join key ${extra.map((k) => `'${k}'`).join(', ')}`, {
      details: { field: 'entity' },
      hint: `its join keys: ${keys.map((k) => k.name).join(', ')}`,
    });
  const entity: Record<string, unknown> = {};
  for (const k of keys) {
    const raw = opts.entity[k.name];
    if (raw === undefined || raw === null || raw === '')
      throw invalidInput(`the entity has no value for join key '${k.name}'`, {
        details: { field: 'entity' },
        hint: `give every join key: ${keys.map((j) => `${j.name}=...`).join(' ')}`,
      });
    try {
      entity[k.name] = coerceValue(k.valueType, raw);
    } catch (e) {
      if (!(e instanceof CoerceError)) throw e;
      throw invalidInput(`join key '${k.name}' (${k.valueType}): ${e.message}`, { details: { field: 'entity' } });
    }
  }

  const schema = strata.registry.schema;
  const table = qualified(schema, vv.tableName);
  const ts = ident(spec.timestampField);
  const created = spec.createdTimestampField ? ident(spec.createdTimestampField) : null;
  const where = keys.map((k, i) => `${ident(k.name)} = $${i + 1}`).join(' AND ');
  const params = keys.map((k) => {
    const v = entity[k.name];
    return typeof v === 'bigint' || typeof v === 'number' ? String(v) : v;
  });
  const order = [`${ts} DESC`, ...(created ? [`${created} DESC NULLS LAST`] : []), '"__commit_seq" DESC'].join(', ');
  const select = [
    `${ts} AS "__t"`,
    `${created ?? 'NULL::timestamptz'} AS "__c"`,
    '"__commit_seq" AS "__s"',
    '"__ingestion_id" AS "__i"',
    ...features.map((f, i) => `${ident(f)} AS "__f${i}"`),
  ].join(', ');
  const watermark = await strata.offline.getWatermark(strata.project, view);
  const wmParam = `$${keys.length + 1}`;
  const [rowsRes, totalRes, winnerRes, onlineCols] = await Promise.all([
    strata.pool.query(`SELECT ${select} FROM ${table} WHERE ${where} ORDER BY ${order} LIMIT ${limit}`, params),
    strata.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params),
    strata.pool.query(
      `SELECT ${select} FROM ${table} WHERE ${where} AND "__commit_seq" <= ${wmParam} ORDER BY ${order} LIMIT 1`,
      [...params, watermark],
    ),
    strata.online.readColumns(strata.project, [{ view: spec, joinKeys: keys, features }], [entity]),
  ]);

  const toRow = (r: Record<string, unknown>): ExplainedRow => ({
    commitId: Number(r.__s),
    ingestionId: r.__i as string,
    eventTime: r.__t as Date,
    createdTime: (r.__c as Date | null) ?? null,
    values: Object.fromEntries(features.map((f, i) => [f, jsonValue(r[`__f${i}`] ?? null)])),
    materialized: Number(r.__s) <= watermark,
    online: false,
  });
  const winner = winnerRes.rows[0] ? toRow(winnerRes.rows[0]) : null;
  const rows = rowsRes.rows.map(toRow);
  const same = (a: ExplainedRow, b: ExplainedRow) =>
    a.commitId === b.commitId && a.eventTime.getTime() === b.eventTime.getTime() && a.ingestionId === b.ingestionId;
  for (const r of rows) if (winner && same(r, winner)) r.online = true;

  const cols = onlineCols[0];
  const ms = cols?.eventTimes[0] ?? null;
  const values: Explanation['online']['values'] = {};
  features.forEach((f, j) => {
    const c = cols?.columns[j];
    values[f] = { value: jsonValue(c?.values[0] ?? null), status: (c?.statuses[0] ?? 'NOT_FOUND') as FeatureStatus };
  });
  const first = values[features[0] as string] ?? { value: null, status: 'NOT_FOUND' as FeatureStatus };
  const onlineEventTime = first.status === 'NOT_FOUND' || ms === null ? null : new Date(ms);
  const total = Number(totalRes.rows[0]?.n ?? 0);
  if (total === 0 && Object.values(values).every((v) => v.status === 'NOT_FOUND'))
    throw new StrataError(
      'UNKNOWN_OBJECT',
      `feature view '${view}' has no row for ${keys.map((k) => `${k.name}=${String(entity[k.name])}`).join(', ')}, offline or online`,
      { details: { view, entity: Object.fromEntries(Object.entries(entity).map(([k, v]) => [k, jsonValue(v)])) } },
    );

  const base = `/api/v1/projects/${strata.project}`;
  let commit: Explanation['commit'] = null;
  let ingestion: Explanation['ingestion'] = null;
  let validation: Explanation['validation'] = null;
  let materialization: Explanation['materialization'] = null;
  if (winner) {
    const ing = await strata.offline.getIngestion(winner.ingestionId);
    if (ing) {
      const self = `${base}/ingestions/${encodeURIComponent(ing.id)}`;
      commit = {
        commitId: winner.commitId,
        ingestionId: ing.id,
        committedAt: ing.committedAt,
        rows: ing.rowCount,
        minEventTime: ing.minEventTime,
        maxEventTime: ing.maxEventTime,
      };
      ingestion = {
        id: ing.id,
        status: ing.status,
        createdBy: ing.createdBy,
        createdAt: ing.createdAt,
        committedAt: ing.committedAt,
        source: publicSource(ing.source),
        workflowId: ing.workflowId,
        url: ing.workflowId ? temporalRunUrl(strata.config.temporal, ing.workflowId) : null,
        links: {
          self,
          validationReport: ing.report ? `${self}/validation-report` : null,
          statistics: ing.statistics ? `${self}/statistics` : null,
        },
      };
      const rep = ing.report as {
        success?: boolean;
        suite_name?: string;
        statistics?: {
          evaluated_expectations?: number;
          successful_expectations?: number;
          unsuccessful_expectations?: number;
          success_percent?: number | null;
        };
      } | null;
      if (rep && typeof rep === 'object') {
        validation = {
          success: rep.success === true,
          evaluated: rep.statistics?.evaluated_expectations ?? 0,
          successful: rep.statistics?.successful_expectations ?? 0,
          unsuccessful: rep.statistics?.unsuccessful_expectations ?? 0,
          successPercent: rep.statistics?.success_percent ?? null,
          suite: rep.suite_name ?? null,
          link: `${self}/validation-report`,
        };
      }
    }
    // The run that first wrote the row: an incremental run whose commit range holds its commit, or a windowed run
    // whose window holds its event time (later runs skip it: the online store keeps the newer row only).
    const { rows: mats } = await strata.pool.query(
      `SELECT id, workflow_id, status, mode, started_at, finished_at FROM ${qualified(schema, 'materializations')}
       WHERE project = $1 AND view = $2 AND status = 'completed' AND to_seq >= $3
         AND ((mode = 'incremental' AND from_seq < $3)
           OR (mode = 'window' AND (window_start IS NULL OR window_start <= $4) AND (window_end IS NULL OR window_end > $4)))
       ORDER BY id ASC LIMIT 1`,
      [strata.project, view, winner.commitId, winner.eventTime],
    );
    const m = mats[0];
    if (m)
      materialization = {
        id: Number(m.id),
        workflowId: m.workflow_id ?? null,
        url: m.workflow_id ? temporalRunUrl(strata.config.temporal, m.workflow_id) : null,
        status: m.status,
        mode: m.mode,
        startedAt: m.started_at,
        finishedAt: m.finished_at ?? null,
      };
  }

  return {
    view,
    version: vv.version,
    entity: Object.fromEntries(Object.entries(entity).map(([k, v]) => [k, jsonValue(v)])),
    feature: opts.feature ?? null,
    features,
    online: { status: first.status, value: first.value, eventTime: onlineEventTime, values },
    watermark,
    offline: { rows, total, truncated: total > rows.length },
    onlineRow: winner
      ? {
          commitId: winner.commitId,
          eventTime: winner.eventTime,
          matchesOnline: onlineEventTime !== null && onlineEventTime.getTime() === winner.eventTime.getTime(),
        }
      : null,
    commit,
    ingestion,
    validation,
    materialization,
  };
}
