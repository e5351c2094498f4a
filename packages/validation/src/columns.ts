/**
 * Column access over Arrow record batches. Each referenced column of a batch is read once into a flat view shared by
 * every expectation and the profiler: a validity mask (null AND NaN count as missing, as pandas does), and either a
 * Float64Array (numbers, booleans, dates/timestamps as epoch milliseconds) or a JS array (strings, other types).
 */
import * as arrow from 'apache-arrow';

export type ColKind = 'number' | 'string' | 'boolean' | 'date' | 'other';

export interface Col {
  name: string;
  kind: ColKind;
  length: number;
  /** pandas-like dtype name (int64, float64, bool, datetime64[ns], object/str). */
  dtype: string;
  /** Arrow type, as `String(type)`. */
  arrowType: string;
  integer: boolean;
  /** 1 when the value is present: not null and not NaN. */
  valid: Uint8Array;
  /** number / boolean (0/1) / date (epoch ms) columns. */
  nums: Float64Array | null;
  /** string / other columns (undefined entries where missing). */
  vals: unknown[] | null;
}

const T = arrow.Type;

function dtypeOf(type: arrow.DataType): { kind: ColKind; dtype: string; integer: boolean } {
  switch (type.typeId) {
    case T.Int: {
      const t = type as arrow.Int;
      return { kind: 'number', dtype: `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}`, integer: true };
    }
    case T.Float: {
      const t = type as arrow.Float;
      return {
        kind: 'number',
        dtype: t.precision === arrow.Precision.SINGLE ? 'float32' : t.precision === arrow.Precision.HALF ? 'float16' : 'float64',
        integer: false,
      };
    }
    case T.Decimal:
      return { kind: 'number', dtype: 'float64', integer: false };
    case T.Bool:
      return { kind: 'boolean', dtype: 'bool', integer: false };
    case T.Timestamp:
    case T.Date:
      return { kind: 'date', dtype: 'datetime64[ns]', integer: false };
    case T.Utf8:
    case T.LargeUtf8:
      return { kind: 'string', dtype: 'object', integer: false };
    case T.Dictionary: {
      const d = type as arrow.Dictionary;
      const inner = dtypeOf(d.dictionary);
      return inner.kind === 'string' ? inner : { ...inner, kind: inner.kind === 'other' ? 'other' : inner.kind };
    }
    default:
      return { kind: 'other', dtype: 'object', integer: false };
  }
}

function fastNumeric(v: arrow.Vector, nums: Float64Array, valid: Uint8Array): boolean {
  let pos = 0;
  for (const d of v.data) {
    const tid = d.type.typeId;
    if (tid !== T.Int && tid !== T.Float) return false;
    if (tid === T.Float && (d.type as arrow.Float).precision === arrow.Precision.HALF) return false;
    const values = d.values as ArrayLike<number | bigint>;
    const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
    // arrow-js slices the values buffer but keeps the validity bitmap shared: bits start at d.offset
    const off = d.offset;
    const n = d.length;
    if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) nums[pos + i] = Number(values[i]);
    } else {
      const src = values as ArrayLike<number>;
      for (let i = 0; i < n; i++) nums[pos + i] = src[i] as number;
    }
    if (bitmap) {
      for (let i = 0; i < n; i++) {
        const b = off + i;
        const ok = (bitmap[b >> 3]! >> (b & 7)) & 1;
        valid[pos + i] = ok && !Number.isNaN(nums[pos + i]) ? 1 : 0;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const x = nums[pos + i]!;
        valid[pos + i] = Number.isNaN(x) ? 0 : 1;
      }
    }
    pos += n;
  }
  return true;
}

const decoder = new TextDecoder();

/** Utf8 chunks: decode the whole data buffer once and cut it by offsets (ASCII), else decode value by value. */
function fastStrings(v: arrow.Vector, vals: unknown[], valid: Uint8Array): boolean {
  let pos = 0;
  for (const d of v.data) {
    if (d.type.typeId !== T.Utf8) return false;
    const offsets = d.valueOffsets as Int32Array;
    const bytes = d.values as Uint8Array;
    const n = d.length;
    const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
    const off = d.offset;
    const start = offsets[0]!;
    const end = offsets[n]!;
    let ascii = true;
    for (let b = start; b < end; b++) {
      if (bytes[b]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    const all = ascii ? Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1') : '';
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      if (bitmap && !((bitmap[bit >> 3]! >> (bit & 7)) & 1)) {
        valid[pos + i] = 0;
        continue;
      }
      valid[pos + i] = 1;
      vals[pos + i] = ascii
        ? all.slice(offsets[i]! - start, offsets[i + 1]! - start)
        : decoder.decode(bytes.subarray(offsets[i], offsets[i + 1]));
    }
    pos += n;
  }
  return true;
}

export function readColumn(name: string, v: arrow.Vector): Col {
  const n = v.length;
  const { kind, dtype, integer } = dtypeOf(v.type);
  const valid = new Uint8Array(n);
  const col: Col = { name, kind, length: n, dtype, arrowType: String(v.type), integer, valid, nums: null, vals: null };
  if (kind === 'number' || kind === 'boolean' || kind === 'date') {
    const nums = new Float64Array(n);
    col.nums = nums;
    if (kind === 'number' && fastNumeric(v, nums, valid)) return col;
    let i = 0;
    for (const x of v) {
      if (x === null || x === undefined) {
        valid[i] = 0;
      } else {
        const num =
          typeof x === 'bigint' ? Number(x) : x instanceof Date ? x.getTime() : typeof x === 'boolean' ? (x ? 1 : 0) : Number(x);
        nums[i] = num;
        valid[i] = Number.isNaN(num) ? 0 : 1;
      }
      i++;
    }
    return col;
  }
  const vals = new Array<unknown>(n);
  col.vals = vals;
  if (kind === 'string' && fastStrings(v, vals, valid)) return col;
  let i = 0;
  for (const x of v) {
    if (x === null || x === undefined) {
      valid[i] = 0;
    } else {
      vals[i] = kind === 'string' ? x : toPlain(x);
      valid[i] = 1;
    }
    i++;
  }
  return col;
}

/** Arrow values that are not primitives (lists, structs, bigints) as plain JSON-able values. */
export function toPlain(x: unknown): unknown {
  if (x === null || x === undefined) return null;
  if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) ? Number(x) : x.toString();
  if (x instanceof Date) return x.toISOString();
  if (x instanceof Uint8Array) return Buffer.from(x).toString('base64');
  if (typeof x === 'object') {
    const anyX = x as { toArray?: () => unknown[]; toJSON?: () => unknown };
    if (anyX.toArray && !Array.isArray(x)) return Array.from(anyX.toArray(), toPlain);
    if (Array.isArray(x)) return x.map(toPlain);
    if (anyX.toJSON) return anyX.toJSON();
  }
  return x;
}

/** The value at row i for reports (dates as ISO strings, booleans as booleans); null when missing. */
export function valueAt(col: Col, i: number): unknown {
  if (!col.valid[i]) return null;
  switch (col.kind) {
    case 'number':
      return col.nums![i];
    case 'boolean':
      return col.nums![i] === 1;
    case 'date':
      return new Date(col.nums![i]!).toISOString();
    default:
      return col.vals![i];
  }
}

/** A value usable as a Map key / set member: numbers, strings, booleans; dates as ISO strings. */
export function keyAt(col: Col, i: number): string | number | boolean {
  switch (col.kind) {
    case 'number':
      return col.nums![i]!;
    case 'boolean':
      return col.nums![i] === 1;
    case 'date':
      return new Date(col.nums![i]!).toISOString();
    case 'string':
      return col.vals![i] as string;
    default:
      return JSON.stringify(col.vals![i]);
  }
}

/** A view of one batch: columns read lazily once, global row offset. */
export class BatchView {
  private readonly cache = new Map<string, Col>();
  readonly numRows: number;
  readonly columnNames: string[];
  constructor(
    readonly batch: arrow.RecordBatch,
    readonly rowOffset: number,
    readonly seq: number,
  ) {
    this.numRows = batch.numRows;
    this.columnNames = batch.schema.fields.map((f) => f.name);
  }
  has(name: string): boolean {
    return this.columnNames.includes(name);
  }
  col(name: string): Col {
    let c = this.cache.get(name);
    if (!c) {
      const v = this.batch.getChild(name);
      if (!v) throw new Error(`column '${name}' is not in the batch`);
      c = readColumn(name, v);
      this.cache.set(name, c);
    }
    return c;
  }
}

export function batchesOf(input: arrow.RecordBatch | arrow.Table): arrow.RecordBatch[] {
  return input instanceof arrow.Table ? input.batches : [input];
}

/** Parses a bound or a value for a date column: Date, epoch ms or ISO string. */
export function toEpochMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(
      /^\d{4}-\d{2}-\d{2}[ T]\d/.test(v) && !/[zZ]|[+-]\d{2}:?\d{2}$/.test(v)
        ? `${v.replace(' ', 'T')}Z`
        : v.length === 10
          ? `${v}T00:00:00Z`
          : v,
    );
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
