/** DuckDB in process: one instance per root, a connection per operation, and the SQL text helpers. */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { elementType, isListType, type ValueTypeName } from '@strata/core';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface DuckOptions {
  /** Worker threads DuckDB may use (default: all cores). */
  threads?: number;
  /** DuckDB's memory limit, e.g. '2GB' (default: DuckDB's, 80% of RAM); beyond it joins spill to the root's _tmp. */
  memoryLimit?: string;
}

const SCALAR: Record<string, string> = {
  BYTES: 'BLOB',
  STRING: 'VARCHAR',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  DOUBLE: 'DOUBLE',
  FLOAT: 'FLOAT',
  BOOL: 'BOOLEAN',
  UNIX_TIMESTAMP: 'TIMESTAMPTZ',
};

/** The DuckDB type of a value type (lists as X[]). */
export function duckType(t: ValueTypeName): string {
  const base = SCALAR[elementType(t)] as string;
  return isListType(t) ? `${base}[]` : base;
}

/** A quoted identifier (names come from the registry, which allows letters, digits and _ only). */
export function q(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not an identifier: ${name}`);
  return `"${name}"`;
}

/** A SQL string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export class Duck {
  private instance: Promise<DuckDBInstance> | undefined;

  constructor(
    readonly root: string,
    private readonly options: DuckOptions = {},
  ) {}

  /** The folder for temporary files (same file system as the layout, so a rename is atomic). */
  get tmpDir(): string {
    return join(this.root, '_tmp');
  }

  private async open(): Promise<DuckDBInstance> {
    await mkdir(this.tmpDir, { recursive: true });
    const opts: Record<string, string> = {
      temp_directory: join(this.tmpDir, 'duckdb'),
      // Only the built-in extensions (parquet, json, icu) are used; nothing is downloaded.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'true',
    };
    if (this.options.threads) opts.threads = String(this.options.threads);
    if (this.options.memoryLimit) opts.memory_limit = this.options.memoryLimit;
    return DuckDBInstance.create(':memory:', opts);
  }

  /** Runs fn on a fresh connection (UTC session time zone) and closes it after. */
  async with<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    this.instance ??= this.open();
    const db = await this.instance;
    const c = await db.connect();
    try {
      await c.run(`SET TimeZone = 'UTC'`);
      return await fn(c);
    } finally {
      c.closeSync();
    }
  }

  close(): void {
    const i = this.instance;
    this.instance = undefined;
    i?.then((db) => db.closeSync()).catch(() => {});
  }
}

/** Makes a finished temporary file durable and moves it to its final name (fsync file, rename, fsync folder). */
export async function publish(tmp: string, final: string): Promise<void> {
  const fh = await open(tmp, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await mkdir(dirname(final), { recursive: true });
  await rename(tmp, final);
  const dir = await open(dirname(final), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => {});
}
