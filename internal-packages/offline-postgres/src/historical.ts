/**
 * Point-in-time-correct training sets: for each entity row and each selected view, the latest feature row whose
 * event time is <= the entity row's time and within the view's TTL counted back from it (TTL 0 = no limit); ties
 * broken by created timestamp, then by commit order. Extra columns of the entity table (labels) are kept.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import {
  arrowVector,
  type FeatureSpec,
  invalidInput,
  type JoinKey,
  schemaMismatch,
  StrataError,
  toPostgresType,
} from '@strata/core';
import * as arrow from 'apache-arrow';
import { from as copyFrom } from 'pg-copy-streams';
import { type CopyColumn, encodeRows, RowError } from './copy-encode.js';
import type { Pool } from './pool.js';
import type { ViewVersion } from './registry.js';
import { ident, qualified } from './sql.js';

export interface HistoricalSelection {
  view: ViewVersion;
  features: FeatureSpec[];
}

export interface HistoricalRequest {
  entityTable: arrow.Table;
  /** Column of the entity table holding each row's time (default: event_timestamp). */
  timestampColumn: string;
  selections: HistoricalSelection[];
  fullFeatureNames: boolean;
  /** Only commits with a sequence number <= this are visible (pin a training set to a commit). */
  asOfCommitSeq?: number;
}

export function outputName(view: string, feature: string, full: boolean): string {
  return full ? `${view}__${feature}` : feature;
}

/** Checks names and key columns before any query; returns the join keys to upload. */
export function planHistorical(req: HistoricalRequest): JoinKey[] {
  const cols = new Map(req.entityTable.schema.fields.map((f) => [f.name, f]));
  if (!cols.has(req.timestampColumn)) {
    throw invalidInput(`the entity table has no timestamp column '${req.timestampColumn}'`, {
      hint: `name it with timestampColumn; the entity table has ${[...cols.keys()].join(', ')}`,
    });
  }
  const keys = new Map<string, JoinKey>();
  for (const s of req.selections) {
    for (const k of s.view.joinKeys) {
      const prev = keys.get(k.name);
      if (prev && prev.valueType !== k.valueType) {
        throw schemaMismatch(`join key '${k.name}' is ${prev.valueType} in one view and ${k.valueType} in view '${s.view.name}'`);
      }
      keys.set(k.name, k);
      if (!cols.has(k.name)) {
        throw invalidInput(`the entity table lacks join key '${k.name}' needed by feature view '${s.view.name}'`, {
          hint: `add a '${k.name}' column (${k.valueType}); the entity table has ${[...cols.keys()].join(', ')}`,
        });
      }
    }
  }
  const seen = new Map<string, string>();
  for (const s of req.selections) {
    for (const f of s.features) {
      const name = outputName(s.view.name, f.name, req.fullFeatureNames);
      const other = seen.get(name);
      if (other !== undefined || cols.has(name)) {
        throw invalidInput(
          `output column '${name}' would appear twice (${other ? `views '${other}' and '${s.view.name}'` : 'already in the entity table'})`,
          {
            hint: 'set fullFeatureNames to name columns view__feature, or select fewer features',
          },
        );
      }
      seen.set(name, s.view.name);
    }
  }
  return [...keys.values()];
}

export async function getHistoricalFeatures(pool: Pool, schema: string, req: HistoricalRequest): Promise<arrow.Table> {
  const keys = planHistorical(req);
  const client = await pool.connect();
  const tmp = `strata_entities_${process.pid}_${Date.now().toString(36)}`;
  try {
    const columns = [
      { name: '__row', valueType: 'INT64' as const },
      ...keys,
      { name: '__ts', valueType: 'UNIX_TIMESTAMP' as const },
    ];
    await client.query(
      `CREATE TEMP TABLE ${ident(tmp)} ("__row" bigint PRIMARY KEY, ${keys.map((k) => `${ident(k.name)} ${pgType(k.valueType)}`).join(', ')}${keys.length ? ', ' : ''}"__ts" timestamptz NOT NULL) ON COMMIT PRESERVE ROWS`,
    );
    const table = req.entityTable;
    const batches = table.batches;
    let offset = 0;
    const encoded = async function* () {
      for (const batch of batches) {
        const base = offset;
        const copyCols: CopyColumn[] = columns.map((c) => {
          if (c.name === '__row') return { ...c, required: true, get: (i: number) => base + i };
          const vec = batch.getChild(c.name === '__ts' ? req.timestampColumn : c.name);
          return { ...c, required: true, get: (i: number) => vec?.get(i) };
        });
        const text = encodeRows(copyCols, batch.numRows, base);
        offset += batch.numRows;
        if (text) yield text;
      }
    };
    try {
      await pipeline(Readable.from(encoded()), client.query(copyFrom(`COPY ${ident(tmp)} FROM STDIN WITH (FORMAT csv)`)));
    } catch (err) {
      if (err instanceof RowError) {
        const col = err.column === '__ts' ? req.timestampColumn : err.column;
        throw invalidInput(`entity table row ${err.row}: ${err.message.replace("'__ts'", `'${req.timestampColumn}'`)}`, {
          where: `entity table, row ${err.row}, column '${col}'`,
        });
      }
      throw err;
    }
    await client.query(`ANALYZE ${ident(tmp)}`);
    const selects: string[] = ['e."__row"'];
    const joins: string[] = [];
    req.selections.forEach((s, i) => {
      const alias = `f${i}`;
      const spec = s.view.spec;
      const t = qualified(schema, s.view.tableName);
      const ts = `v.${ident(spec.timestampField)}`;
      const conds = [...s.view.joinKeys.map((k) => `v.${ident(k.name)} = e.${ident(k.name)}`), `${ts} <= e."__ts"`];
      if (spec.ttlSeconds > 0) conds.push(`${ts} >= e."__ts" - make_interval(secs => ${Number(spec.ttlSeconds)})`);
      if (req.asOfCommitSeq !== undefined) conds.push(`v."__commit_seq" <= ${Number(req.asOfCommitSeq)}`);
      const order = [
        `${ts} DESC`,
        ...(spec.createdTimestampField ? [`v.${ident(spec.createdTimestampField)} DESC NULLS LAST`] : []),
        'v."__commit_seq" DESC',
      ];
      const inner = s.features.map((f, j) => `v.${ident(f.name)} AS ${ident(`c${j}`)}`);
      joins.push(
        `LEFT JOIN LATERAL (SELECT ${inner.join(', ')} FROM ${t} v WHERE ${conds.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT 1) ${alias} ON true`,
      );
      for (let j = 0; j < s.features.length; j++) selects.push(`${alias}.${ident(`c${j}`)} AS ${ident(`${alias}_c${j}`)}`);
    });
    const { rows } = await client.query({
      text: `SELECT ${selects.join(', ')} FROM ${ident(tmp)} e ${joins.join(' ')} ORDER BY e."__row"`,
      rowMode: 'array',
    });
    const vectors: Record<string, arrow.Vector> = {};
    for (const f of table.schema.fields) vectors[f.name] = table.getChild(f.name) as arrow.Vector;
    let col = 1;
    for (const s of req.selections) {
      for (const f of s.features) {
        const c = col++;
        vectors[outputName(s.view.name, f.name, req.fullFeatureNames)] = arrowVector(
          f.valueType,
          rows.map((r: unknown[]) => r[c]),
        );
      }
    }
    return new arrow.Table(vectors);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    const e = err as { code?: string; message?: string };
    if (e.code === '22P02' || e.code === '22003')
      throw invalidInput(`the entity table has a value of the wrong type: ${e.message}`);
    throw err;
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${ident(tmp)}`).catch(() => {});
    client.release();
  }
}

function pgType(t: JoinKey['valueType']): string {
  return toPostgresType(t);
}
