/**
 * Column access over Arrow record batches. Each referenced column of a batch is read once into a flat view shared by
 * every expectation and the profiler: a validity mask (null AND NaN count as missing, as pandas does), and either a
 * Float64Array (numbers, booleans, dates/timestamps as epoch milliseconds) or a JS array (strings, other types).
 * A string column held in one Utf8 buffer also offers its UTF-8 bytes (`utf8`), and makes its JS strings only when
 * something asks for `vals`: the profile and the simple-regex test read the bytes, so a column only they read
 * never becomes a million strings.
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
  /** string / other columns (undefined entries where missing); for a `utf8` column, made on first read. */
  readonly vals: unknown[] | null;
  /** A string column's UTF-8 bytes, when the batch holds the column in one Utf8 buffer: see Utf8View. */
  utf8: Utf8View | null;
  /** Whether `vals` exists already (reading it costs nothing more). */
  readonly madeVals: boolean;
}

/**
 * A string column's values as UTF-8: value i is `bytes[offsets[i], offsets[i + 1])` (offsets are per row, absolute in
 * `bytes`; a missing value's range is whatever Arrow holds there, read `valid` first). `ascii`: every byte < 0x80,
 * so each byte is one UTF-16 code unit and bytes compare as the strings do.
 */
export interface Utf8View {
  bytes: Uint8Array;
  offsets: Int32Array;
  ascii: boolean;
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

/** A one-chunk Float64 column: its values buffer as `nums` (no copy; nothing writes to it), and its validity. */
function float64Column(col: ColData, v: arrow.Vector, valid: Uint8Array): boolean {
  if (v.data.length !== 1) return false;
  const d = v.data[0]!;
  if (!(d.values instanceof Float64Array) || d.values.length < d.length) return false;
  const nums = d.values.subarray(0, d.length);
  const n = d.length;
  const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
  const off = d.offset;
  for (let i = 0; i < n; i++) {
    const x = nums[i]!;
    // NaN counts as missing, as in pandas
    let ok = Number.isNaN(x) ? 0 : 1;
    if (bitmap) {
      const bit = off + i;
      ok &= (bitmap[bit >> 3]! >> (bit & 7)) & 1;
    }
    valid[i] = ok;
  }
  col.nums = nums;
  return true;
}

const decoder = new TextDecoder();

/** Value i of a Utf8View as a JS string. */
export function utf8At(u: Utf8View, i: number): string {
  const s = u.offsets[i]!;
  const e = u.offsets[i + 1]!;
  return u.ascii
    ? Buffer.from(u.bytes.buffer, u.bytes.byteOffset + s, e - s).toString('latin1')
    : decoder.decode(u.bytes.subarray(s, e));
}

/** Whether every byte of b[start, end) is below 0x80: four at a time over the aligned middle. */
export function isAscii(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  for (; i < end && (b.byteOffset + i) & 3; i++) if (b[i]! > 0x7f) return false;
  const words = (end - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    let any = 0;
    for (let j = 0; j < words; j++) any |= w[j]!;
    if (any & 0x80808080) return false;
    i += words * 4;
  }
  for (; i < end; i++) if (b[i]! > 0x7f) return false;
  return true;
}

/** A one-chunk Utf8 column: its validity now, its bytes as a view, its strings on first read of `vals`. */
function utf8Column(col: ColData, v: arrow.Vector, valid: Uint8Array): boolean {
  if (v.data.length !== 1 || v.data[0]!.type.typeId !== T.Utf8) return false;
  const d = v.data[0]!;
  const offsets = d.valueOffsets as Int32Array;
  const bytes = d.values as Uint8Array;
  const n = d.length;
  const bitmap = d.nullCount > 0 ? d.nullBitmap : undefined;
  const off = d.offset;
  if (bitmap) {
    for (let i = 0; i < n; i++) {
      const bit = off + i;
      valid[i] = (bitmap[bit >> 3]! >> (bit & 7)) & 1;
    }
  } else valid.fill(1);
  const start = offsets[0]!;
  const end = offsets[n]!;
  const ascii = isAscii(bytes, start, end);
  col.utf8 = { bytes, offsets: offsets.subarray(0, n + 1), ascii };
  col.lazy = () => {
    const vals = new Array<unknown>(n);
    // ASCII: decode the whole buffer once and cut it by offsets (slices share it), else value by value
    const all = ascii ? Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1') : '';
    for (let i = 0; i < n; i++) {
      if (!valid[i]) continue;
      vals[i] = ascii
        ? all.slice(offsets[i]! - start, offsets[i + 1]! - start)
        : decoder.decode(bytes.subarray(offsets[i], offsets[i + 1]));
    }
    return vals;
  };
  return true;
}

/** Col with `vals` made on first read (utf8 columns) or at once (the others). */
class ColData implements Col {
  nums: Float64Array | null = null;
  utf8: Utf8View | null = null;
  lazy: (() => unknown[]) | null = null;
  private made: unknown[] | null = null;
  /** Whether `vals` has been made (reading one value then costs nothing). */
  get madeVals(): boolean {
    return this.made !== null;
  }
  constructor(
    readonly name: string,
    readonly kind: ColKind,
    readonly length: number,
    readonly dtype: string,
    readonly arrowType: string,
    readonly integer: boolean,
    readonly valid: Uint8Array,
  ) {}
  /** Values read one at a time (stringAt) before `vals` was made; past a few hundred, `vals` is cheaper. */
  singles = 0;
  get vals(): unknown[] | null {
    if (this.made === null && this.lazy !== null) {
      this.made = this.lazy();
      this.lazy = null;
    }
    return this.made;
  }
  set vals(v: unknown[] | null) {
    this.made = v;
    this.lazy = null;
  }
}

export function readColumn(name: string, v: arrow.Vector): Col {
  const n = v.length;
  const { kind, dtype, integer } = dtypeOf(v.type);
  const valid = new Uint8Array(n);
  const col = new ColData(name, kind, n, dtype, String(v.type), integer, valid);
  if (kind === 'number' && float64Column(col, v, valid)) return col;
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
  if (kind === 'string' && utf8Column(col, v, valid)) return col;
  const vals = new Array<unknown>(n);
  col.vals = vals;
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
      return col.utf8 && col.kind === 'string' ? stringAt(col, i) : col.vals![i];
  }
}

/** Value i of a string column (present), without making the column's other strings. */
export function stringAt(col: Col, i: number): string {
  if (col.utf8 && !col.madeVals && (col as ColData).singles++ < SINGLES) return utf8At(col.utf8, i);
  return col.vals![i] as string;
}

/** Strings a utf8 column decodes one by one before it makes all of them (one slice each is then cheaper). */
const SINGLES = 512;

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
      return stringAt(col, i);
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
