/**
 * The commit sink: writes each commit's rows as one immutable Parquet file in a Hive-style layout
 * (`project=<p>/view=<v>/version=<n>/commit=<seq>/part-0.parquet` under the root), which pandas, polars, DuckDB, Spark
 * and Trino read as it is. The rows arrive as CSV from Postgres (COPY TO); DuckDB types them and writes Parquet to a
 * temporary name, which is fsynced and renamed into place: a half-written file is never under a final name.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { StrataError, type ValueTypeName } from '@strata/core';
import type {
  CommitExport,
  CommitFileFacts,
  CommitFileSink,
  ExportColumn,
  ViewVersion,
  WrittenCommitFile,
} from '@strata/offline-postgres';
import { Duck, duckType, lit, publish, q, removeQuietly } from './duck.js';

let tmpCounter = 0;

/** Where a commit's file goes, relative to the root. */
export function commitPath(project: string, view: string, version: number, commitSeq: number): string {
  return `project=${project}/view=${view}/version=${version}/commit=${commitSeq}/part-0.parquet`;
}

function jsonStructure(t: ValueTypeName): string {
  const el = duckType(t).replace('[]', '');
  return lit(`["${el === 'BLOB' ? 'VARCHAR' : el}"]`);
}

/** DuckDB expression turning CSV column `c` (VARCHAR) into the column's type. */
function fromText(col: ExportColumn, c: string): string {
  switch (col.text) {
    case 'bool':
      return `(${c} = 't')`;
    case 'epoch_us':
      return `CAST(make_timestamp(CAST(${c} AS BIGINT)) AS TIMESTAMPTZ)`;
    case 'hex':
      return `unhex(${c})`;
    case 'json':
      return col.valueType === 'BYTES_LIST'
        ? `list_transform(from_json(${c}, ${jsonStructure(col.valueType)}), x -> unhex(x))`
        : `CAST(from_json(${c}, ${jsonStructure(col.valueType)}) AS ${duckType(col.valueType)})`;
    default:
      return col.valueType === 'STRING' ? c : `CAST(${c} AS ${duckType(col.valueType)})`;
  }
}

/**
 * Whether the written file has two rows with the same join keys and event time, and its event-time range: read from
 * the file (only those columns): by the sink before it publishes the file, or by a backfill for an older file. A null
 * key counts as a value here, which can only make the answer more cautious.
 */
export async function factsOf(c: DuckDBConnection, file: string, vv: ViewVersion): Promise<CommitFileFacts> {
  const keys = vv.joinKeys.map((k) => q(k.name));
  const ts = q(vv.spec.timestampField);
  const src = `read_parquet(${lit(file)})`;
  const [row] = (
    await c.runAndReadAll(
      `SELECT NOT EXISTS (SELECT 1 FROM ${src} GROUP BY ${[...keys, ts].join(', ')} HAVING count(*) > 1),
         CAST(epoch_us(min(${ts})) AS VARCHAR), CAST(epoch_us(max(${ts})) AS VARCHAR) FROM ${src}`,
    )
  ).getRowsJS();
  const [unique, min, max] = row ?? [];
  return {
    keyTimeUnique: unique === true,
    minEventUs: min === null || min === undefined ? null : String(min),
    maxEventUs: max === null || max === undefined ? null : String(max),
  };
}

export class ParquetCommitSink implements CommitFileSink {
  constructor(readonly duck: Duck) {}

  static open(root: string): ParquetCommitSink {
    return new ParquetCommitSink(new Duck(root));
  }

  async write(x: CommitExport): Promise<WrittenCommitFile> {
    const rel = commitPath(x.view.project, x.view.name, x.view.version, x.commitSeq);
    const final = join(this.duck.root, rel);
    const stem = join(this.duck.tmpDir, `commit-${x.commitSeq}-${process.pid}-${++tmpCounter}`);
    const csv = `${stem}.csv`;
    const tmp = `${stem}.parquet.tmp`;
    try {
      await this.duck.with(async () => {}); // creates the root's _tmp folder
      await pipeline(x.csv, createWriteStream(csv));
      const cols = x.columns.map((_c, i) => `${lit(`c${i}`)}: 'VARCHAR'`).join(', ');
      const select = [
        ...x.columns.map((c, i) => `${fromText(c, `c${i}`)} AS ${q(c.name)}`),
        `CAST(${Number(x.commitSeq)} AS BIGINT) AS "__commit_seq"`,
        `${lit(x.ingestionId)} AS "__ingestion_id"`,
      ];
      const { rows, facts } = await this.duck.with(async (c) => {
        const r = await c.run(
          `COPY (SELECT ${select.join(', ')} FROM read_csv(${lit(csv)}, header = false, auto_detect = false, delim = ',',
             quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, columns = {${cols}}))
           TO ${lit(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        return { rows: r.rowsChanged, facts: await factsOf(c, tmp, x.view) };
      });
      await publish(tmp, final);
      return { path: rel, rows, bytes: (await stat(final)).size, facts };
    } catch (err) {
      await removeQuietly(tmp);
      if (err instanceof StrataError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new StrataError('UNAVAILABLE', `cannot write the columnar copy of commit ${x.commitSeq}: ${e.message}`, {
        where: final,
        hint: 'check that the columnar root (offline.columnarRoot / STRATA_COLUMNAR_ROOT) is a writable folder with space',
        cause: err,
      });
    } finally {
      await removeQuietly(csv);
    }
  }

  async discard(path: string): Promise<void> {
    await removeQuietly(join(this.duck.root, path));
  }
}
