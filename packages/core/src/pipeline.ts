/**
 * Feature pipelines in the model: where a view's rows come from (its source), what turns them into the view's
 * columns (its transformation) and how the pipeline cuts event time into windows. Pure: no I/O, no Node imports, so
 * the spec checks run the same in the CLI, the SDK and the registry.
 */
import { parseDurationSeconds } from './duration.js';
import { NAME_RE } from './model.js';

/**
 * A view's source: a tagged union on `kind`, so each kind of source (SQL, files, streams) adds its own member.
 * - sql: one read-only query against the offline store's Postgres or a connection named in config.
 * - files: a CSV or Parquet path or glob.
 */
export type SourceSpec = SqlSourceSpec | FilesSourceSpec;

export interface SqlSourceSpec {
  kind: 'sql';
  /** One SELECT (or WITH ... SELECT). $1 and $2 are the window's start and end, if the query wants them. */
  query: string;
  /** A connection named under `connections:` in strata.yaml; default: the offline store's database. */
  connection?: string;
  /** Statement timeout for the query (default 5 minutes). */
  timeoutSeconds?: number;
  /** The event-time column of the query's rows (default: the view's timestampField). */
  timestampField?: string;
}

export interface FilesSourceSpec {
  kind: 'files';
  /** A path or glob (`data/events-*.parquet`), relative to where the worker runs. */
  path: string;
  format?: 'csv' | 'parquet';
  /** The event-time column of the files' rows (default: the view's timestampField). */
  timestampField?: string;
}

/**
 * What turns a window's source rows into the view's columns.
 * - sql: a query over the source, which it reads as the table `source` (SQL sources only).
 * - typescript: a module whose export maps an Arrow table to an Arrow table; bundled at apply, so the registry holds
 *   the exact code (`code`) and its content hash (`codeHash`) that every commit records.
 */
export type TransformationSpec = SqlTransformationSpec | TypeScriptTransformationSpec;

export interface SqlTransformationSpec {
  kind: 'sql';
  query: string;
}

export interface TypeScriptTransformationSpec {
  kind: 'typescript';
  /** Path of the module (relative to the spec file); read and bundled at apply. */
  module?: string;
  /** The exported function's name (default: `default`). */
  export?: string;
  /** The bundled ES module (set at apply). */
  code?: string;
  /** sha256 of `code` (set at apply). */
  codeHash?: string;
  /** The function's time limit per window (default 60 s). */
  timeoutSeconds?: number;
}

export interface PipelineSpec {
  /** Window length: a duration (1h, 1d) or a number of calendar months (1mo). */
  window: string;
  /** Event time of the first window (ISO 8601); incremental runs start here and move on from the watermark. */
  start: string;
  /** How long after a window's end its data is complete; a window runs once its end is this far in the past. */
  lag?: string;
  /** Materialize each committed window online. */
  materialize?: boolean;
  /** Attempts of a window's source query before the window fails (default 5). */
  maxAttempts?: number;
}

export const SOURCE_KINDS = ['sql', 'files'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a SQL text holds exactly one statement (a trailing semicolon is allowed). Quotes, dollar quotes and
 * comments are skipped, so a `;` inside a string does not count.
 */
export function sqlStatementCount(sql: string): number {
  let count = 0;
  let content = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      content = true;
      i++;
      while (i < n) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        content = true;
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
        continue;
      }
    }
    if (c === ';') {
      if (content) count++;
      content = false;
      i++;
      continue;
    }
    if (!/\s/.test(c)) content = true;
    i++;
  }
  return count + (content ? 1 : 0);
}

/** Problems with one user query that must run read-only: empty, several statements, not a query. */
export function checkReadOnlyQuery(sql: unknown, where: string): string[] {
  if (typeof sql !== 'string' || !sql.trim()) return [`${where}: the query is missing`];
  const count = sqlStatementCount(sql);
  if (count !== 1) return [`${where}: the query must be exactly one statement (found ${count})`];
  const head = sql
    .replace(/--[^\n]*\n?/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .trim()
    .replace(/^\(+\s*/, '')
    .split(/\s+/)[0]
    ?.toUpperCase();
  if (!['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(head ?? '')) {
    return [`${where}: the query must be a SELECT (or WITH ... SELECT); it starts with ${JSON.stringify(head)}`];
  }
  return [];
}

const MONTHS_RE = /^(\d+)\s*mo(nths?)?$/;

/** A window length: fixed milliseconds or calendar months. */
export type WindowLength = { ms: number } | { months: number };

export function parseWindow(text: unknown, where = 'window'): WindowLength {
  if (typeof text === 'string') {
    const m = MONTHS_RE.exec(text.trim());
    if (m) {
      const months = Number(m[1]);
      if (months >= 1) return { months };
    }
  }
  const seconds = parseDurationSeconds(text, where);
  if (!(seconds >= 1)) throw new RangeError(`${where}: a window is at least one second`);
  return { ms: Math.round(seconds * 1000) };
}

function addWindow(t: number, w: WindowLength, k: number): number {
  if ('ms' in w) return t + k * w.ms;
  const d = new Date(t);
  return Date.UTC(
    d.getUTCFullYear(),
    d.getUTCMonth() + k * w.months,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

/**
 * The windows [start, end) of length `w`, aligned to `anchor`, that lie in [from, to): each window whose start is at
 * or after `from` and whose end is at or before `to`. Deterministic, so every run cuts time the same way.
 */
export function windowsBetween(anchor: Date, w: WindowLength, from: Date, to: Date, max = 100_000): TimeWindow[] {
  const out: TimeWindow[] = [];
  const a = anchor.getTime();
  let k = 0;
  if ('ms' in w) k = Math.max(0, Math.ceil((from.getTime() - a) / w.ms));
  else while (addWindow(a, w, k) < from.getTime()) k++;
  for (;;) {
    const s = addWindow(a, w, k);
    const e = addWindow(a, w, k + 1);
    if (e > to.getTime()) break;
    if (s >= from.getTime()) out.push({ start: new Date(s), end: new Date(e) });
    if (out.length >= max) break;
    k++;
  }
  return out;
}

/** Problems with a view's source, transformation and pipeline settings (empty when they are sound or absent). */
export function validatePipelineParts(v: Obj, where: string): string[] {
  const problems: string[] = [];
  const { source, transformation, pipeline } = v;
  if (source === undefined) {
    if (transformation !== undefined)
      problems.push(`${where}: a transformation needs a source (add source: {kind: sql | files, ...})`);
    if (pipeline !== undefined) problems.push(`${where}: pipeline settings need a source (add source: {kind: sql | files, ...})`);
    return problems;
  }
  const sw = `${where}.source`;
  if (!isObj(source)) return [`${sw} must be a mapping with a kind (${SOURCE_KINDS.join(', ')})`];
  const ts = source.timestampField;
  if (ts !== undefined && (typeof ts !== 'string' || !NAME_RE.test(ts)))
    problems.push(`${sw}.timestampField is not a valid column name`);
  if (source.kind === 'sql') {
    problems.push(...checkReadOnlyQuery(source.query, `${sw}.query`));
    if (source.connection !== undefined && (typeof source.connection !== 'string' || !NAME_RE.test(source.connection))) {
      problems.push(`${sw}.connection must be the name of a connection under connections: in strata.yaml`);
    }
    if (/\b(password|passwd)\s*=|:\/\/[^/\s:@]+:[^@\s/]+@/i.test(String(source.query ?? ''))) {
      problems.push(`${sw}.query seems to hold credentials; name a connection instead (its URL comes from the environment)`);
    }
    for (const k of Object.keys(source)) {
      if (!['kind', 'query', 'connection', 'timeoutSeconds', 'timestampField'].includes(k)) {
        problems.push(
          k === 'url' || k === 'password' || k === 'dsn'
            ? `${sw}.${k}: credentials never go in the registry; name a connection (strata.yaml connections: {name: {env: VAR}})`
            : `${sw}: unknown field '${k}' for a sql source`,
        );
      }
    }
    if (source.timeoutSeconds !== undefined && !(typeof source.timeoutSeconds === 'number' && source.timeoutSeconds > 0)) {
      problems.push(`${sw}.timeoutSeconds must be a number > 0`);
    }
  } else if (source.kind === 'files') {
    if (typeof source.path !== 'string' || !source.path.trim()) problems.push(`${sw}.path (a file path or glob) is missing`);
    const fmt =
      source.format ?? (typeof source.path === 'string' ? /\.(csv|parquet)$/i.exec(source.path)?.[1]?.toLowerCase() : undefined);
    if (fmt !== 'csv' && fmt !== 'parquet') {
      problems.push(`${sw}: files must be csv or parquet (give format: csv | parquet, or a path ending in .csv or .parquet)`);
    }
  } else if (typeof source.kind !== 'string' || !/^[a-z_]+$/.test(source.kind)) {
    problems.push(`${sw}.kind is missing (one of ${SOURCE_KINDS.join(', ')})`);
  } else if (!isKnownSourceKind(source.kind)) {
    problems.push(`${sw}.kind '${source.kind}' is not a known source kind (one of ${SOURCE_KINDS.join(', ')})`);
  }
  if (transformation !== undefined) {
    const tw = `${where}.transformation`;
    if (!isObj(transformation)) problems.push(`${tw} must be a mapping with a kind (sql, typescript)`);
    else if (transformation.kind === 'sql') {
      if (source.kind !== 'sql')
        problems.push(`${tw}: a sql transformation runs over a sql source; use a typescript transformation over files`);
      problems.push(...checkReadOnlyQuery(transformation.query, `${tw}.query`));
    } else if (transformation.kind === 'typescript') {
      if (typeof transformation.code !== 'string' && typeof transformation.module !== 'string') {
        problems.push(
          `${tw}: give module (the path of a TypeScript module exporting a function from an Arrow table to an Arrow table)`,
        );
      }
      if (
        transformation.export !== undefined &&
        (typeof transformation.export !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(transformation.export))
      ) {
        problems.push(`${tw}.export must be the name of an exported function`);
      }
      if (
        transformation.timeoutSeconds !== undefined &&
        !(typeof transformation.timeoutSeconds === 'number' && transformation.timeoutSeconds > 0)
      ) {
        problems.push(`${tw}.timeoutSeconds must be a number > 0`);
      }
    } else problems.push(`${tw}.kind must be sql or typescript`);
  }
  const pw = `${where}.pipeline`;
  if (!isObj(pipeline)) {
    problems.push(`${pw} is missing: a view with a source needs pipeline: {window: 1d, start: 2024-01-01T00:00:00Z}`);
    return problems;
  }
  try {
    parseWindow(pipeline.window, `${pw}.window`);
  } catch {
    problems.push(`${pw}.window ${JSON.stringify(pipeline.window)} is not a window length (use e.g. 1h, 1d or 1mo)`);
  }
  if (typeof pipeline.start !== 'string' || Number.isNaN(Date.parse(pipeline.start))) {
    problems.push(`${pw}.start must be an ISO 8601 time (the start of the first window), e.g. 2024-01-01T00:00:00Z`);
  }
  if (pipeline.lag !== undefined) {
    try {
      parseDurationSeconds(pipeline.lag);
    } catch {
      problems.push(`${pw}.lag ${JSON.stringify(pipeline.lag)} is not a duration`);
    }
  }
  if (pipeline.maxAttempts !== undefined && !(Number.isInteger(pipeline.maxAttempts) && (pipeline.maxAttempts as number) >= 1)) {
    problems.push(`${pw}.maxAttempts must be an integer >= 1`);
  }
  return problems;
}

function isKnownSourceKind(kind: string): boolean {
  return (SOURCE_KINDS as readonly string[]).includes(kind);
}
