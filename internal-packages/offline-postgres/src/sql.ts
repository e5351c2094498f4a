/** Identifier and literal helpers. Identifiers are validated and always quoted; values go through parameters or COPY. */
import { createHash } from 'node:crypto';
import { invalidSpec } from '@strata/core';

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function ident(name: string): string {
  if (!IDENT_RE.test(name) || name.length > 63) {
    throw invalidSpec(`'${name}' cannot be used as a Postgres identifier`, {
      hint: 'use letters, digits and _ (at most 63 characters)',
    });
  }
  return `"${name}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** A table name unique per (project, view, version) that fits Postgres' 63-byte limit. */
export function viewTableName(project: string, view: string, version: number): string {
  const plain = `fv_${project}__${view}__v${version}`;
  if (plain.length <= 63) return plain;
  const h = createHash('sha1').update(`${project}/${view}/${version}`).digest('hex').slice(0, 10);
  return `fv_${plain.slice(3, 63 - 16)}_${h}_v${version}`.slice(0, 63);
}

export function stagingTableName(ingestionId: string): string {
  const h = createHash('sha1').update(ingestionId).digest('hex').slice(0, 24);
  return `stg_${h}`;
}

/**
 * Creates a staging table with the view table's columns except the commit's two (`__ingestion_id`, `__commit_seq`),
 * with their types, collations, NOT NULL and defaults, read from the catalog. Not `LIKE ... ` and then dropping the
 * two: dropped columns stay in the table's row layout as nulls, so every row would carry a null bitmap and every
 * later read (the attach's scans, the index build, each join on an attached commit) would deform rows the slow
 * way; COPY into such a table measured ~7% slower at 10M rows.
 */
export async function createStagingTable(
  db: { query: <R>(sql: string, params?: unknown[]) => Promise<{ rows: R[] }> },
  schema: string,
  viewTable: string,
  staging: string,
  opts: { unlogged: boolean },
): Promise<void> {
  const { rows } = await db.query<{ name: string; type: string; notnull: boolean; collation: string | null; def: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END AS collation,
            pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = $2)
        AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN ('__ingestion_id', '__commit_seq')
      ORDER BY a.attnum`,
    [schema, viewTable],
  );
  if (!rows.length) throw new Error(`view table ${schema}.${viewTable} not found`);
  const cols = rows.map(
    (c) =>
      `${ident(c.name)} ${c.type}${c.collation ? ` COLLATE "${c.collation.replaceAll('"', '""')}"` : ''}${c.notnull ? ' NOT NULL' : ''}${c.def ? ` DEFAULT ${c.def}` : ''}`,
  );
  await db.query(`CREATE ${opts.unlogged ? 'UNLOGGED ' : ''}TABLE ${qualified(schema, staging)} (${cols.join(', ')})`);
}
