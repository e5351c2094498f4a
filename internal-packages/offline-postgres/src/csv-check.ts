/**
 * The guard of the CSV fast path: a streaming check of every field's bytes (no per-value objects) that lets a file's
 * bytes go to COPY only while each value is one that Postgres reads exactly as Strata's own coercion (the slow path,
 * `coerceValue` + `encodeRows`) would store it. Anything else — a value the slow path rejects, and a value it
 * accepts but Postgres might read differently (` 12 `, `yes`, `now`, `infinity`, `01/02/2024`, epoch seconds, a
 * quoted empty string, a 4th fractional digit, ...) — stops the fast path with a {@link CsvFallback}, and the
 * caller ingests the file on the slow path, which gives the verdict (a value, or an error with its line and
 * column). So Postgres' lenient input never decides, and both paths give every value the same verdict.
 *
 * The accepted forms are deliberately narrow: plain integers, plain decimals, true/false/t/f/1/0, and ISO 8601
 * timestamps of at most millisecond precision with a valid calendar date. They are what exports write.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import type { ValueTypeName } from '@strata/core';

/** The fast path cannot vouch for a value: ingest the file on the slow path instead. */
export class CsvFallback extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`CSV fast path stops at line ${line}: ${reason}`);
  }
}

enum K {
  STRING = 0,
  INT32 = 1,
  INT64 = 2,
  FLOAT = 3,
  DOUBLE = 4,
  BOOL = 5,
  TS = 6,
}

function kindOf(t: ValueTypeName): K | undefined {
  switch (t) {
    case 'STRING':
      return K.STRING;
    case 'INT32':
      return K.INT32;
    case 'INT64':
      return K.INT64;
    case 'FLOAT':
      return K.FLOAT;
    case 'DOUBLE':
      return K.DOUBLE;
    case 'BOOL':
      return K.BOOL;
    case 'UNIX_TIMESTAMP':
      return K.TS;
    default:
      return undefined;
  }
}

/** True when the fast path can check a column of this type (lists and bytes always take the slow path). */
export function fastPathType(t: ValueTypeName): boolean {
  return kindOf(t) !== undefined;
}

const C0 = 48;
const C9 = 57;
const isDigit = (c: number | undefined) => c !== undefined && c >= C0 && c <= C9;

function digits(b: Buffer, s: number, n: number): number {
  let v = 0;
  for (let i = s; i < s + n; i++) {
    const c = b[i] as number;
    if (c < C0 || c > C9) return -1;
    v = v * 10 + (c - C0);
  }
  return v;
}

const INT32_MAX = Buffer.from('2147483647');
const INT64_MAX = Buffer.from('9223372036854775807');

/** A plain integer within range: [+-] and digits, at most as many as the maximum's, compared digit by digit. */
function intOk(b: Buffer, s: number, e: number, max: Buffer): boolean {
  let i = s;
  const neg = b[i] === 45;
  if (neg || b[i] === 43) i++; // + -
  const n = e - i;
  if (n < 1 || n > max.length) return false;
  for (let j = i; j < e; j++) if (!isDigit(b[j])) return false;
  if (n < max.length) return true;
  // As many digits as the maximum: compare (the minimum is one more than the maximum in magnitude).
  const cmp = b.compare(max, 0, max.length, i, e);
  return (
    cmp < 0 ||
    cmp === 0 ||
    (neg && cmp === 1 && b[e - 1] === (max[max.length - 1] as number) + 1 && b.compare(max, 0, max.length - 1, i, e - 1) === 0)
  );
}

/** The special values both paths read alike (the slow path: NaN/nan and [+-]inf/infinity; Postgres: the same). */
const FLOAT_WORDS = new Set(['NaN', 'nan', 'inf', '-inf', 'Infinity', '-Infinity']);

function floatOk(b: Buffer, s: number, e: number, maxDigits: number, maxExp: number): boolean {
  const c0 = b[s] as number;
  if (e - s <= 9 && (c0 === 78 || c0 === 110 || c0 === 105 || c0 === 73 || (c0 === 45 && e - s > 1 && b[s + 1]! > 57)))
    return FLOAT_WORDS.has(b.toString('latin1', s, e));
  let i = s;
  let neg = false;
  if (b[i] === 43 || b[i] === 45) {
    neg = b[i] === 45;
    i++;
  }
  let nd = 0;
  let nonzero = false;
  for (; i < e && isDigit(b[i]); i++, nd++) if (b[i] !== C0) nonzero = true;
  if (b[i] === 46) {
    i++;
    for (; i < e && isDigit(b[i]); i++, nd++) if (b[i] !== C0) nonzero = true;
  }
  if (nd === 0 || nd > maxDigits) return false;
  if (neg && !nonzero) return false; // -0: Postgres keeps the sign, the slow path writes 0
  if (i < e && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    const ne = e - i;
    if (ne < 1 || ne > 2) return false;
    if (digits(b, i, ne) > maxExp) return false;
    i = e;
  }
  return i === e;
}

function boolOk(b: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n === 1) return b[s] === 116 || b[s] === 102 || b[s] === 49 || b[s] === 48; // t f 1 0
  if (n !== 4 && n !== 5) return false;
  const w = b.toString('latin1', s, e); // at most 5 bytes, only for the 4-/5-byte candidates
  return w === 'true' || w === 'false' || w === 'TRUE' || w === 'FALSE' || w === 'True' || w === 'False';
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function tsOk(b: Buffer, s: number, e: number): boolean {
  // YYYY-MM-DD
  if (e - s < 10 || b[s + 4] !== 45 || b[s + 7] !== 45) return false;
  const y = digits(b, s, 4);
  const mo = digits(b, s + 5, 2);
  const d = digits(b, s + 8, 2);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : (DAYS[mo - 1] as number))) return false;
  let i = s + 10;
  if (i < e && (b[i] === 84 || b[i] === 32)) {
    // [T ]HH:MM(:SS(.f{1,3})?)?
    if (e - i < 6 || b[i + 3] !== 58) return false;
    const h = digits(b, i + 1, 2);
    const mi = digits(b, i + 4, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59) return false;
    i += 6;
    if (b[i] === 58) {
      const sec = digits(b, i + 1, 2);
      if (e - i < 3 || sec < 0 || sec > 59) return false;
      i += 3;
      if (b[i] === 46) {
        i++;
        let nf = 0;
        for (; i < e && isDigit(b[i]); i++) nf++;
        if (nf < 1 || nf > 3) return false;
      }
    }
  }
  if (i === e) return true;
  if (b[i] === 90) return i + 1 === e; // Z
  if (b[i] !== 43 && b[i] !== 45) return false;
  // +HH, +HHMM, +HH:MM
  const oh = digits(b, i + 1, 2);
  if (oh < 0 || oh > 14) return false;
  i += 3;
  if (i === e) return true;
  if (b[i] === 58) i++;
  if (e - i !== 2) return false;
  const om = digits(b, i, 2);
  return om >= 0 && om <= 59;
}

/**
 * The instant of a timestamp that tsOk accepted, in milliseconds since the epoch, as Postgres stores it with the
 * session in UTC (no offset: UTC; a date alone: midnight). Exact: tsOk allows at most millisecond precision.
 */
export function tsMillis(b: Buffer, s: number, e: number): number {
  const y = digits(b, s, 4);
  const mo = digits(b, s + 5, 2);
  const d = digits(b, s + 8, 2);
  let h = 0;
  let mi = 0;
  let sec = 0;
  let ms = 0;
  let i = s + 10;
  if (i < e && (b[i] === 84 || b[i] === 32)) {
    h = digits(b, i + 1, 2);
    mi = digits(b, i + 4, 2);
    i += 6;
    if (b[i] === 58) {
      sec = digits(b, i + 1, 2);
      i += 3;
      if (b[i] === 46) {
        i++;
        let scale = 100;
        for (; i < e && isDigit(b[i]); i++, scale /= 10) ms += ((b[i] as number) - C0) * scale;
      }
    }
  }
  let offset = 0;
  if (i < e && b[i] !== 90) {
    const sign = b[i] === 45 ? -1 : 1;
    const oh = digits(b, i + 1, 2);
    i += 3;
    if (i < e && b[i] === 58) i++;
    const om = i < e ? digits(b, i, 2) : 0;
    offset = sign * (oh * 60 + om) * 60_000;
  }
  // Date.UTC maps years 0-99 to 1900-1999; tsOk only lets years from 1000 through.
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offset;
}

/** Whether an unquoted field's bytes [s, e) are a value both paths read the same way. */
function fieldOk(kind: K, b: Buffer, s: number, e: number): boolean {
  switch (kind) {
    case K.STRING:
      for (let i = s; i < e; i++) if (b[i] === 0) return false;
      return true;
    case K.INT32:
      return intOk(b, s, e, INT32_MAX);
    case K.INT64:
      return intOk(b, s, e, INT64_MAX);
    case K.FLOAT:
      return floatOk(b, s, e, 7, 30);
    case K.DOUBLE:
      return floatOk(b, s, e, 40, 99);
    case K.BOOL:
      return boolOk(b, s, e);
    case K.TS:
      return tsOk(b, s, e);
  }
}

export interface CsvCheckColumn {
  valueType: ValueTypeName;
  required: boolean;
  /** Keep the smallest and largest instant of this (timestamp) column: CsvChecker.minMillis / maxMillis. */
  range?: boolean;
}

/**
 * Checks one CSV text (header line first) field by field. Returns the number of complete records checked and the
 * offset where an incomplete last record starts (to be checked again with more bytes), or throws CsvFallback.
 */
export class CsvChecker {
  private readonly kinds: K[];
  private readonly required: boolean[];
  /** 0 unknown, 1 LF, 2 CRLF: every record must end like the first. */
  private eol = 0;
  private line = 1;
  private header = true;
  private readonly rangeField: number;
  records = 0;
  /** The range column's smallest and largest instant so far (ms since the epoch; NaN while it has no value). */
  minMillis = Number.NaN;
  maxMillis = Number.NaN;

  constructor(columns: CsvCheckColumn[]) {
    this.kinds = columns.map((c) => {
      const k = kindOf(c.valueType);
      if (k === undefined) throw new Error(`no fast-path check for ${c.valueType}`);
      return k;
    });
    this.required = columns.map((c) => c.required);
    this.rangeField = columns.findIndex((c) => c.range);
    if (this.rangeField >= 0 && this.kinds[this.rangeField] !== K.TS) throw new Error('a range column must be a timestamp');
  }

  private fail(reason: string): never {
    throw new CsvFallback(this.line, reason);
  }

  /** Checks the complete records of b (all of it when final); returns where the unchecked rest starts. */
  check(b: Buffer, final: boolean): number {
    const n = this.kinds.length;
    let pos = 0;
    const len = b.length;
    for (;;) {
      if (pos >= len) return pos;
      const start = pos;
      let field = 0;
      let newlines = 0;
      let end = -1; // offset after the record's line end
      for (;;) {
        // One field starting at pos.
        if (b[pos] === 34) {
          // Quoted: only STRING fields may be quoted, and not empty ("" is '' to Postgres, null to the slow path).
          let q = pos + 1;
          for (;;) {
            const at = b.indexOf(34, q);
            if (at < 0) {
              if (!final) return start;
              this.fail('a quoted field is not closed');
            }
            if (b[at + 1] === 34) {
              q = at + 2;
              continue;
            }
            q = at;
            break;
          }
          if (!this.header) {
            if (this.kinds[field] !== K.STRING) this.fail('a quoted value in a column that is not STRING');
            if (q === pos + 1) this.fail('a quoted empty string');
            for (let i = pos + 1; i < q; i++) {
              if (b[i] === 10) newlines++;
              else if (b[i] === 0) this.fail('a NUL byte');
            }
          } else for (let i = pos + 1; i < q; i++) if (b[i] === 10) newlines++;
          pos = q + 1;
          if (pos >= len && !final) return start;
        } else {
          let i = pos;
          while (i < len) {
            const c = b[i] as number;
            if (c === 44 || c === 10 || c === 13) break;
            if (c === 34) this.fail('a quote inside an unquoted field');
            i++;
          }
          if (i >= len && !final) return start;
          if (!this.header) {
            const kind = this.kinds[field];
            if (kind === undefined) this.fail('more fields than the header');
            if (i === pos) {
              if (this.required[field]) this.fail('an empty required field');
            } else if (!fieldOk(kind, b, pos, i)) this.fail(`a value the slow path must judge (column ${field + 1})`);
            else if (field === this.rangeField) {
              const t = tsMillis(b, pos, i);
              // NaN (no value yet) compares false, so the first value sets both.
              if (!(t >= this.minMillis)) this.minMillis = t;
              if (!(t <= this.maxMillis)) this.maxMillis = t;
            }
          }
          pos = i;
        }
        field++;
        // After a field: a comma, a line end, or the end of the data.
        if (pos >= len) {
          end = len;
          break;
        }
        const c = b[pos];
        if (c === 44) {
          pos++;
          continue;
        }
        if (c === 10) {
          if (this.eol === 2) this.fail('mixed line ends');
          this.eol = 1;
          end = pos + 1;
          break;
        }
        if (c === 13) {
          if (pos + 1 >= len && !final) return start;
          if (b[pos + 1] !== 10 || this.eol === 1) this.fail('a carriage return that does not end a CRLF line');
          this.eol = 2;
          end = pos + 2;
          break;
        }
        this.fail('text after a closing quote');
      }
      if (!this.header) {
        if (field !== n) this.fail(field < n ? 'fewer fields than the header' : 'more fields than the header');
        this.records++;
      } else if (field !== n) this.fail('the header has a different number of fields');
      if (end - start <= (this.eol === 2 ? 2 : 1) && field === 1 && !this.header) this.fail('an empty line');
      this.header = false;
      this.line += newlines + 1;
      pos = end;
    }
  }
}

/** A pass-through stream that runs CsvChecker over the bytes on their way to COPY (and valid UTF-8). */
export class CsvCheckStream extends Transform {
  private readonly checker: CsvChecker;
  private rest: Buffer = Buffer.alloc(0);

  constructor(columns: CsvCheckColumn[]) {
    super();
    this.checker = new CsvChecker(columns);
  }

  get records(): number {
    return this.checker.records;
  }

  /** The range column's smallest and largest instant (see CsvCheckColumn.range), NaN when it had no value. */
  get range(): { min: number; max: number } {
    return { min: this.checker.minMillis, max: this.checker.maxMillis };
  }

  private run(data: Buffer, final: boolean): void {
    const done = this.checker.check(data, final);
    if (!isUtf8(data.subarray(0, done))) throw new CsvFallback(0, 'bytes that are not UTF-8');
    this.rest = done < data.length ? Buffer.from(data.subarray(done)) : Buffer.alloc(0);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.run(this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk, false);
      cb(null, chunk);
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.rest.length) this.run(this.rest, true);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}
