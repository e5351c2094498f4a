/**
 * CSV straight into typed Arrow record batches: a byte-level RFC 4180 parser that writes each field into its column's
 * typed buffer (Float64Array, Int64 words, UTF-8 bytes + offsets) as it goes, with no per-value JS objects for numbers
 * and strings, and streams the file in batches so memory stays bounded. An empty field is null (as in pandas); a
 * value that does not fit its column's type is an INVALID_INPUT naming the file, row and column, as readTable's
 * coercion always said. Types other than DOUBLE, FLOAT, INT64, INT32 and STRING go through @strata/core's coercion
 * (the same values, just not on the fast path).
 */
import { open } from 'node:fs/promises';
import { arrowVector, CoerceError, coerceValue, invalidInput, parseTimestamp, type ValueTypeName } from '@strata/core';
import * as arrow from 'apache-arrow';

export interface CsvArrowOptions {
  /** Value type per column; columns without one are inferred from the whole file first (like readTable). */
  types?: Record<string, ValueTypeName>;
  /** Rows per record batch. Default 65536. */
  batchSize?: number;
  /** Field delimiter; default tab for .tsv, else comma. */
  delimiter?: string;
  /** Bytes read at a time (default 1 MiB; tests make it tiny to put chunk edges everywhere). */
  chunkBytes?: number;
  /**
   * Parse plain records (no quotes, every value written plainly) in one pass straight into the columns (default
   * true). Off, every record goes the general way; the result is the same (tests compare the two).
   */
  fastPath?: boolean;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Fields of one record, as [start, end) byte ranges into `buf`, plus whether each was quoted (escapes to remove). */
interface Fields {
  buf: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  quoted: Uint8Array;
  count: number;
}

/** The one-pass path's hook into scanCsv (see there). */
interface FastPath {
  /** Takes plain records from `buf[pos, len)`; returns how many, having set `end` to where the next one starts. */
  take(buf: Uint8Array, pos: number, len: number): number;
  end: number;
}

const malformedHint = 'every line needs as many fields as the header; quote fields that contain commas';

/**
 * Streams the records of a CSV file: calls `onRecord(fields, line)` for each (header included, `line` is where the
 * record starts), synchronously, and yields after each chunk read (about 1 MiB), so a consumer can hand out what
 * the records built before more is read. `onRecord` returning false stops the scan. Quoted fields may span chunks
 * and lines; blank lines are skipped.
 *
 * `fast.take(buf, pos, len)`, when given, is tried first at each record that starts at `pos`: it takes as many
 * whole records (one line each, no quotes) as it can, sets `fast.end` to where the next one starts and returns how
 * many it took; the record it stopped at, having kept nothing of it, goes the general way (so every error is the
 * general path's).
 */
async function* scanCsv(
  path: string,
  delimiter: number,
  onRecord: (f: Fields, line: number) => unknown,
  chunk = 1 << 20,
  fast?: FastPath,
): AsyncGenerator<void> {
  const CHUNK = Math.max(1, chunk);
  const maxFields = 64;
  const fh = await open(path, 'r');
  try {
    let buf = new Uint8Array(CHUNK * 2);
    let len = 0;
    let eof = false;
    let line = 1;
    let first = true;
    const f: Fields = {
      buf,
      starts: new Int32Array(maxFields),
      ends: new Int32Array(maxFields),
      quoted: new Uint8Array(maxFields),
      count: 0,
    };
    for (;;) {
      if (!eof) {
        if (buf.length - len < CHUNK) {
          const next = new Uint8Array(Math.max(buf.length * 2, len + CHUNK));
          next.set(buf.subarray(0, len));
          buf = next;
          f.buf = buf;
        }
        const { bytesRead } = await fh.read(buf, len, Math.min(CHUNK, buf.length - len), null);
        if (bytesRead === 0) eof = true;
        len += bytesRead;
      }
      let pos = 0;
      if (first) {
        if (len < 3 && !eof) continue; // not enough bytes to tell a byte-order mark yet
        if (len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
        first = false;
      }
      // parse every complete record in buf[pos, len)
      for (;;) {
        if (pos >= len) break;
        const c0 = buf[pos]!;
        if (c0 === LF || c0 === CR) {
          // blank line
          if (c0 === CR && pos + 1 >= len && !eof) break;
          pos += c0 === CR && buf[pos + 1] === LF ? 2 : 1;
          line++;
          continue;
        }
        if (fast) {
          const n = fast.take(buf, pos, len);
          if (n > 0) {
            line += n;
            pos = fast.end;
            continue;
          }
        }
        const recStart = pos;
        const recLine = line;
        let p = pos;
        let n = 0;
        let complete = false;
        let lines = 0;
        for (;;) {
          if (n >= f.starts.length) {
            const grow = (a: Int32Array) => {
              const b = new Int32Array(a.length * 2);
              b.set(a);
              return b;
            };
            f.starts = grow(f.starts);
            f.ends = grow(f.ends);
            const q = new Uint8Array(f.quoted.length * 2);
            q.set(f.quoted);
            f.quoted = q;
          }
          if (p < len && buf[p] === QUOTE) {
            // quoted field: up to the closing quote ("" is an escaped quote)
            let q = p + 1;
            let closed = -1;
            while (q < len) {
              const c = buf[q]!;
              if (c === QUOTE) {
                if (q + 1 < len && buf[q + 1] === QUOTE) {
                  q += 2;
                  continue;
                }
                if (q + 1 >= len && !eof) break; // cannot tell yet: "" may straddle the chunk
                closed = q;
                break;
              }
              if (c === LF) lines++;
              q++;
            }
            if (closed < 0) {
              if (eof) {
                throw invalidInput('malformed CSV: a quoted field is not closed', {
                  where: `${path}, line ${recLine}`,
                  hint: 'close every opening " with another "; write a " inside a quoted field as ""',
                });
              }
              break; // need more bytes
            }
            f.starts[n] = p + 1;
            f.ends[n] = closed;
            f.quoted[n] = 1;
            n++;
            p = closed + 1;
            if (p >= len && !eof) break;
            const c = p < len ? buf[p]! : LF;
            if (c === delimiter) {
              p++;
              continue;
            }
            if (c === LF || c === CR) {
              if (c === CR && p + 1 >= len && !eof) break;
              p += c === CR && buf[p + 1] === LF ? 2 : 1;
              complete = true;
              break;
            }
            if (p >= len && eof) {
              complete = true;
              break;
            }
            throw invalidInput(`malformed CSV: unexpected ${JSON.stringify(String.fromCharCode(c))} after a closing quote`, {
              where: `${path}, line ${recLine + lines}`,
              hint: 'a quoted field ends at its closing quote; write a " inside it as ""',
            });
          }
          // unquoted field: up to the delimiter or the end of the line
          let q = p;
          while (q < len) {
            const c = buf[q]!;
            // most bytes are above '"' (LF, CR, '"' and tab are below): one comparison, then the delimiter
            if (c > QUOTE) {
              if (c === delimiter) break;
              q++;
              continue;
            }
            if (c === delimiter || c === LF || c === CR) break;
            if (c === QUOTE) {
              throw invalidInput('malformed CSV: a " inside an unquoted field', {
                where: `${path}, line ${recLine + lines}`,
                hint: 'quote the whole field ("...") and write the " inside it as ""',
              });
            }
            q++;
          }
          if (q >= len && !eof) break; // need more bytes
          f.starts[n] = p;
          f.ends[n] = q;
          f.quoted[n] = 0;
          n++;
          if (q >= len) {
            p = q;
            complete = true;
            break;
          }
          const c = buf[q]!;
          if (c === delimiter) {
            p = q + 1;
            continue;
          }
          if (c === CR && q + 1 >= len && !eof) break;
          p = q + (c === CR && buf[q + 1] === LF ? 2 : 1);
          complete = true;
          break;
        }
        if (!complete) {
          pos = recStart;
          break;
        }
        f.count = n;
        if (onRecord(f, recLine) === false) return;
        line += lines + 1;
        pos = p;
      }
      if (eof && pos >= len) return;
      yield;
      // keep the unparsed tail for the next read
      buf.copyWithin(0, pos, len);
      len -= pos;
      if (eof && len > 0 && pos === 0) {
        // only possible when the last record could not complete (handled above); guard against a loop
        throw invalidInput('malformed CSV: the file ends inside a record', { where: path, hint: malformedHint });
      }
    }
  } finally {
    await fh.close();
  }
}

function fieldText(f: Fields, i: number): string {
  const s = Buffer.from(f.buf.buffer, f.buf.byteOffset + f.starts[i]!, f.ends[i]! - f.starts[i]!).toString('utf8');
  return f.quoted[i] ? s.replaceAll('""', '"') : s;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A decimal number written plainly ([+-]digits[.digits], at most 15 significant digits): its exact double (the
 * mantissa and 10^k are exact doubles, so one division rounds correctly). NaN when the text is anything else.
 */
function fastNumber(b: Uint8Array, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e && (b[p] === 0x2d || b[p] === 0x2b)) {
    neg = b[p] === 0x2d;
    p++;
  }
  if (p >= e) return Number.NaN;
  let m = 0;
  let digits = 0;
  let frac = 0;
  let dot = false;
  for (; p < e; p++) {
    const c = b[p]!;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 || c !== 0x30) digits++;
      m = m * 10 + (c - 0x30);
      if (dot) frac++;
    } else if (c === 0x2e && !dot) dot = true;
    else return Number.NaN;
  }
  if (digits > 15 || frac > 22 || (dot && p - s === 1 + (neg || b[s] === 0x2b ? 1 : 0))) return Number.NaN;
  const x = frac ? m / POW10[frac]! : m;
  return neg ? -x : x;
}

/** An integer written plainly ([+-]digits, at most 15 digits) as a number; NaN otherwise. */
function fastInt(b: Uint8Array, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e && (b[p] === 0x2d || b[p] === 0x2b)) {
    neg = b[p] === 0x2d;
    p++;
  }
  if (p >= e || e - p > 15) return Number.NaN;
  let m = 0;
  for (; p < e; p++) {
    const c = b[p]!;
    if (c < 0x30 || c > 0x39) return Number.NaN;
    m = m * 10 + (c - 0x30);
  }
  return neg ? -m : m;
}

/** One column of the batch being built. */
class ColumnBuilder {
  n = 0;
  nulls = 0;
  /** Validity bits, all set to start with: a null clears its bit (vector() clears the bits past the last value). */
  valid: Uint8Array;
  f64: Float64Array | null = null;
  f32: Float32Array | null = null;
  i32: Int32Array | null = null;
  /** INT64 as little-endian 32-bit words (two per value). */
  words: Int32Array | null = null;
  bytes: Uint8Array | null = null;
  offsets: Int32Array | null = null;
  nbytes = 0;
  values: unknown[] | null = null;
  constructor(
    readonly name: string,
    readonly type: ValueTypeName,
    readonly cap: number,
    /** STRING: bytes to start with (the previous batch's size, so a batch rarely regrows its buffer). */
    bytesHint = cap * 16,
  ) {
    this.valid = new Uint8Array((cap + 7) >> 3).fill(0xff);
    switch (type) {
      case 'DOUBLE':
        this.f64 = new Float64Array(cap);
        break;
      case 'FLOAT':
        this.f32 = new Float32Array(cap);
        break;
      case 'INT32':
        this.i32 = new Int32Array(cap);
        break;
      case 'INT64':
        this.words = new Int32Array(cap * 2);
        break;
      case 'STRING':
        this.bytes = new Uint8Array(Math.max(16, bytesHint));
        this.offsets = new Int32Array(cap + 1);
        break;
      default:
        this.values = new Array(cap);
    }
  }
  /** Appends field i of f; row is the 1-based data row for error messages. */
  add(f: Fields, i: number, row: number, path: string): void {
    const k = this.n++;
    const s = f.starts[i]!;
    const e = f.ends[i]!;
    if (s === e) {
      this.nulls++;
      this.valid[k >> 3]! &= ~(1 << (k & 7));
      if (this.offsets) this.offsets[k + 1] = this.nbytes;
      return;
    }
    const b = f.buf;
    switch (this.type) {
      case 'DOUBLE': {
        const x = f.quoted[i] ? Number.NaN : fastNumber(b, s, e);
        this.f64![k] = Number.isNaN(x) ? (this.coerce(f, i, row, path) as number) : x;
        return;
      }
      case 'FLOAT': {
        const x = f.quoted[i] ? Number.NaN : fastNumber(b, s, e);
        this.f32![k] = Number.isNaN(x) || !Number.isFinite(Math.fround(x)) ? (this.coerce(f, i, row, path) as number) : x;
        return;
      }
      case 'INT32': {
        const x = f.quoted[i] ? Number.NaN : fastInt(b, s, e);
        this.i32![k] = Number.isNaN(x) || x < -2147483648 || x > 2147483647 ? (this.coerce(f, i, row, path) as number) : x;
        return;
      }
      case 'INT64': {
        let x = f.quoted[i] ? Number.NaN : fastInt(b, s, e);
        const w = this.words!;
        if (Number.isNaN(x)) {
          const v = this.coerce(f, i, row, path) as number | bigint;
          if (typeof v === 'bigint') {
            w[2 * k] = Number(BigInt.asIntN(32, v));
            w[2 * k + 1] = Number(BigInt.asIntN(32, v >> 32n));
            return;
          }
          x = v;
        }
        const hi = Math.floor(x / 4294967296);
        w[2 * k] = (x - hi * 4294967296) | 0;
        w[2 * k + 1] = hi | 0;
        return;
      }
      case 'STRING': {
        let bytes = this.bytes!;
        const need = this.nbytes + (e - s);
        if (need > bytes.length) {
          const next = new Uint8Array(Math.max(need, bytes.length * 2));
          next.set(bytes.subarray(0, this.nbytes));
          this.bytes = bytes = next;
        }
        if (f.quoted[i]) {
          // copy, turning "" into "
          let o = this.nbytes;
          for (let p = s; p < e; p++) {
            bytes[o++] = b[p]!;
            if (b[p] === QUOTE) p++;
          }
          this.nbytes = o;
        } else if (e - s <= 64) {
          // short values: a byte loop (a subarray per value would be an object per value)
          let o = this.nbytes;
          for (let p = s; p < e; p++) bytes[o++] = b[p]!;
          this.nbytes = need;
        } else {
          bytes.set(b.subarray(s, e), this.nbytes);
          this.nbytes = need;
        }
        this.offsets![k + 1] = this.nbytes;
        return;
      }
      default:
        this.values![k] = this.coerce(f, i, row, path);
    }
  }
  private coerce(f: Fields, i: number, row: number, path: string): unknown {
    try {
      return coerceValue(this.type, fieldText(f, i));
    } catch (err) {
      throw invalidInput(`${(err as Error).message}`, { where: `${path}, row ${row}, column '${this.name}'` });
    }
  }
  vector(): arrow.Vector {
    const n = this.n;
    if (n & 7) this.valid[n >> 3]! &= (1 << (n & 7)) - 1;
    const nullBitmap = this.nulls ? this.valid.subarray(0, (n + 7) >> 3) : undefined;
    const common = { length: n, nullCount: this.nulls, ...(nullBitmap ? { nullBitmap } : {}) };
    switch (this.type) {
      case 'DOUBLE':
        return arrow.makeVector(arrow.makeData({ type: new arrow.Float64(), data: this.f64!.subarray(0, n), ...common }));
      case 'FLOAT':
        return arrow.makeVector(arrow.makeData({ type: new arrow.Float32(), data: this.f32!.subarray(0, n), ...common }));
      case 'INT32':
        return arrow.makeVector(arrow.makeData({ type: new arrow.Int32(), data: this.i32!.subarray(0, n), ...common }));
      case 'INT64':
        return arrow.makeVector(
          arrow.makeData({ type: new arrow.Int64(), data: new BigInt64Array(this.words!.buffer, 0, n), ...common }),
        );
      case 'STRING':
        return arrow.makeVector(
          arrow.makeData({
            type: new arrow.Utf8(),
            valueOffsets: this.offsets!.subarray(0, n + 1),
            data: this.bytes!.subarray(0, this.nbytes),
            ...common,
          }),
        );
      default: {
        const vals = this.values!.slice(0, n);
        for (let k = 0; k < n; k++) if (!((this.valid[k >> 3]! >> (k & 7)) & 1)) vals[k] = null;
        return arrowVector(this.type, vals);
      }
    }
  }
}

const K_DOUBLE = 1;
const K_FLOAT = 2;
const K_INT32 = 3;
const K_INT64 = 4;
const K_STRING = 5;
const KINDS: Partial<Record<ValueTypeName, number>> = {
  DOUBLE: K_DOUBLE,
  FLOAT: K_FLOAT,
  INT32: K_INT32,
  INT64: K_INT64,
  STRING: K_STRING,
};

const NO_F64 = new Float64Array(0);
const NO_F32 = new Float32Array(0);
const NO_I32 = new Int32Array(0);
const NO_U8 = new Uint8Array(0);

/**
 * Plain records from `pos` on, parsed and written into `cols` in one pass over their bytes, until the batch is full,
 * the chunk ends, or a record it does not take. It takes a record only when every field is unquoted, every number is
 * written plainly (what fastNumber / fastInt accept, giving the same doubles), there is exactly one field per column,
 * and the record ends with LF, CRLF or CR inside `buf[pos, len)`. Returns where the first record it did not take
 * starts (`pos` when it took none); the caller counts the records from the columns' length. A record it does not
 * take is taken back (each column's validity bit, null count and string bytes' end restored) and goes the general
 * way, which gives the value or the error it always gave.
 *
 * Each column's typed arrays are held in arrays of one element type per kind (an empty array where the kind differs),
 * and counts in Int32Arrays, for the whole call: the loop reads no builder properties and writes none back per
 * value. Validity bits start set (ColumnBuilder), so only a null writes one. Strings are copied a 32-bit word at a time
 * where they can be (see the STRING branch).
 */
function fastRecords(buf: Uint8Array, pos: number, len: number, cols: ColumnBuilder[], kinds: Uint8Array, delim: number): number {
  const ncol = cols.length;
  const first = cols[0]!;
  const cap = first.cap;
  let k = first.n;
  if (k >= cap) return pos;
  const f64: Float64Array[] = [];
  const f32: Float32Array[] = [];
  const i32: Int32Array[] = [];
  const words: Int32Array[] = [];
  const bytesOf: Uint8Array[] = [];
  const offsets: Int32Array[] = [];
  const valid: Uint8Array[] = [];
  const views: DataView[] = [];
  const nulls = new Int32Array(ncol);
  const nbytes = new Int32Array(ncol);
  for (let c = 0; c < ncol; c++) {
    const col = cols[c]!;
    f64.push(col.f64 ?? NO_F64);
    f32.push(col.f32 ?? NO_F32);
    i32.push(col.i32 ?? NO_I32);
    words.push(col.words ?? NO_I32);
    bytesOf.push(col.bytes ?? NO_U8);
    const bytes = col.bytes ?? NO_U8;
    views.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    offsets.push(col.offsets ?? NO_I32);
    valid.push(col.valid);
    nulls[c] = col.nulls;
    nbytes[c] = col.nbytes;
  }
  // the input as 32-bit words (x ^ delims has a zero byte where x has the delimiter); the last one that ends by len
  const input = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const delims = Math.imul(delim, 0x01010101);
  const wlim = len - 4;
  let p = pos;
  while (k < cap && p < len) {
    // a blank line is no record (scanCsv skips it)
    if (buf[p] === LF || buf[p] === CR) break;
    let q = p;
    const byte = k >> 3;
    const bit = 1 << (k & 7);
    let c = 0;
    // columns [0, wrote) hold this record's values when it is not taken; done when every field was parsed
    let wrote = 0;
    let done = false;
    fields: for (; c < ncol; c++) {
      wrote = c;
      const kind = kinds[c]!;
      const s = q;
      if (kind === K_STRING) {
        // copy up to the field's end, 4 bytes at a time while none of them is a delimiter or at most '"' (line
        // breaks, quotes, tabs, spaces), then byte by byte over the next 4 bytes, and so on
        let bytes = bytesOf[c]!;
        let out = views[c]!;
        let o = nbytes[c]!;
        let bytewise = 0;
        for (;;) {
          if (bytewise === 0) {
            const olim = bytes.length - 4;
            while (q <= wlim && o <= olim) {
              const x = input.getInt32(q, true);
              const y = x ^ delims;
              if (((((x - 0x23232323) | 0) & ~x) | (((y - 0x01010101) | 0) & ~y)) & 0x80808080) break;
              out.setInt32(o, x, true);
              q += 4;
              o += 4;
            }
            bytewise = 4;
          }
          if (q >= len) break fields;
          const b = buf[q]!;
          if (b <= QUOTE || b === delim) {
            if (b === delim || b === LF || b === CR) break;
            if (b === QUOTE) break fields;
            // a space, a tab or another control byte: part of the value
          }
          if (o >= bytes.length) {
            const next = new Uint8Array(bytes.length * 2);
            next.set(bytes.subarray(0, o));
            bytes = bytesOf[c] = cols[c]!.bytes = next;
            out = views[c] = new DataView(next.buffer);
          }
          bytes[o++] = b;
          q++;
          bytewise--;
        }
        if (q === s) {
          valid[c]![byte]! &= ~bit;
          nulls[c]!++;
        } else nbytes[c] = o;
        offsets[c]![k + 1] = nbytes[c]!;
      } else {
        if (q < len && (buf[q] === 0x2d || buf[q] === 0x2b)) q++;
        const ds = q;
        let m = 0;
        let dot = -1; // where the decimal point is
        for (;;) {
          if (q >= len) break fields;
          const d = buf[q]! - 0x30;
          if (d >>> 0 <= 9) {
            m = m * 10 + d;
            q++;
          } else if (d === 0x2e - 0x30 && dot < 0 && kind <= K_FLOAT) {
            dot = q;
            q++;
          } else break;
        }
        const t = buf[q]!;
        if (t !== delim && t !== LF && t !== CR) break;
        if (q === s) {
          valid[c]![byte]! &= ~bit;
          nulls[c]!++;
        } else if (kind <= K_FLOAT) {
          // fastNumber's limits: digits present (not a lone "."), at most 15 significant digits, 10^frac exact
          const nd = q - ds - (dot >= 0 ? 1 : 0);
          if (nd === 0) break;
          if (nd > 15) {
            let lead = 0;
            for (let i = ds; i < q && (buf[i] === 0x30 || buf[i] === 0x2e); i++) if (buf[i] === 0x30) lead++;
            if (nd - lead > 15) break;
          }
          const frac = dot >= 0 ? q - dot - 1 : 0;
          if (frac > 22) break;
          const a = frac ? m / POW10[frac]! : m;
          const x = buf[s] === 0x2d ? -a : a;
          // (at most 15 digits: |x| < 10^15, so a FLOAT never overflows here)
          if (kind === K_DOUBLE) f64[c]![k] = x;
          else f32[c]![k] = x;
        } else {
          // fastInt's limits: digits present, at most 15 of them
          if (q === ds || q - ds > 15) break;
          const x = buf[s] === 0x2d ? -m : m;
          if (kind === K_INT32) {
            if (x < -2147483648 || x > 2147483647) break;
            i32[c]![k] = x;
          } else {
            const hi = Math.floor(x / 4294967296);
            const w = words[c]!;
            w[2 * k] = (x - hi * 4294967296) | 0;
            w[2 * k + 1] = hi | 0;
          }
        }
      }
      // q is at the field's delimiter or line break
      const t = buf[q]!;
      wrote = c + 1;
      if (c < ncol - 1) {
        if (t !== delim) break;
        q++;
      } else {
        if (t === delim || (t === CR && q + 1 >= len)) break;
        q += t === CR && buf[q + 1] === LF ? 2 : 1;
        done = true;
      }
    }
    if (!done) {
      // not taken: restore the columns this record wrote (a value's bytes past nbytes are not in the column)
      for (let i = 0; i < wrote; i++) {
        if (!(valid[i]![byte]! & bit)) {
          valid[i]![byte]! |= bit;
          nulls[i]!--;
        }
        if (kinds[i] === K_STRING) nbytes[i] = offsets[i]![k]!;
      }
      break;
    }
    k++;
    p = q;
  }
  for (let c = 0; c < ncol; c++) {
    const col = cols[c]!;
    col.n = k;
    col.nulls = nulls[c]!;
    col.nbytes = nbytes[c]!;
  }
  return p;
}

function delimiterOf(path: string, d?: string): number {
  const s = d ?? (path.toLowerCase().endsWith('.tsv') ? '\t' : ',');
  if (s.length !== 1 || s.charCodeAt(0) > 0x7f || s === '"' || s === '\n' || s === '\r') {
    throw invalidInput(`delimiter ${JSON.stringify(s)} is not a single ASCII character`, {
      hint: 'use "," or "\\t" (or another single character other than a quote or a line break)',
    });
  }
  return s.charCodeAt(0);
}

function headerOf(f: Fields): string[] {
  return Array.from({ length: f.count }, (_, i) => fieldText(f, i).trim());
}

/** Refuses a header (or set of columns) that names a column twice: which one would win is a guess. */
export function checkUniqueColumns(names: string[], where: string): void {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw invalidInput(`column '${name}' appears twice (columns ${first + 1} and ${i + 1})`, {
        where,
        hint: 'give every column a distinct name; remove or rename the duplicate',
        details: { column: name, positions: [first + 1, i + 1] },
      });
    }
    seen.set(name, i);
  });
}

function fieldCountError(path: string, line: number, got: number, want: number): Error {
  return invalidInput(`malformed CSV: line ${line} has ${got} field${got === 1 ? '' : 's'}, the header has ${want}`, {
    where: `${path}, line ${line}`,
    hint: malformedHint,
  });
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|-inf|Infinity|-Infinity)$/;

/**
 * The value type of each column, from every value in the file, with the rules of readers.ts' inferTextType (INT64,
 * DOUBLE, BOOL, UNIX_TIMESTAMP, else STRING); plain numbers are classified from their bytes.
 */
export async function inferCsvTypes(
  path: string,
  opts: { delimiter?: string; chunkBytes?: number } = {},
): Promise<Record<string, ValueTypeName>> {
  const delim = delimiterOf(path, opts.delimiter);
  let header: string[] | undefined;
  // per column: may still be int / float / bool / timestamp; any present value
  let int: boolean[] = [];
  let flt: boolean[] = [];
  let bool: boolean[] = [];
  let ts: boolean[] = [];
  let any: boolean[] = [];
  const scan = scanCsv(
    path,
    delim,
    (f, line) => {
      if (!header) {
        header = headerOf(f);
        checkUniqueColumns(header, `${path}, line ${line} (the header)`);
        const n = header.length;
        int = new Array(n).fill(true);
        flt = new Array(n).fill(true);
        bool = new Array(n).fill(true);
        ts = new Array(n).fill(true);
        any = new Array(n).fill(false);
        return;
      }
      if (f.count !== header.length) throw fieldCountError(path, line, f.count, header.length);
      for (let c = 0; c < f.count; c++) {
        const s = f.starts[c]!;
        const e = f.ends[c]!;
        if (s === e) continue;
        any[c] = true;
        if (!(int[c] || flt[c] || bool[c] || ts[c])) continue;
        if (!f.quoted[c] && !Number.isNaN(fastInt(f.buf, s, e))) {
          bool[c] = false;
          ts[c] = false;
          continue;
        }
        if (!f.quoted[c] && !Number.isNaN(fastNumber(f.buf, s, e))) {
          int[c] = false;
          bool[c] = false;
          ts[c] = false;
          continue;
        }
        const t = fieldText(f, c);
        if (int[c] && !INT_RE.test(t)) int[c] = false;
        if (flt[c] && !FLOAT_RE.test(t)) flt[c] = false;
        if (bool[c] && !/^(true|false)$/i.test(t)) bool[c] = false;
        if (ts[c]) {
          if (!/^\d{4}-\d{2}-\d{2}/.test(t)) ts[c] = false;
          else {
            try {
              parseTimestamp(t);
            } catch (err) {
              if (!(err instanceof CoerceError)) throw err;
              ts[c] = false;
            }
          }
        }
      }
      return;
    },
    opts.chunkBytes,
  );
  await drain(scan);
  if (!header) throw invalidInput(`file ${path} has no header line`, { where: path });
  const out: Record<string, ValueTypeName> = {};
  header.forEach((h, c) => {
    out[h] = !any[c] ? 'STRING' : int[c] ? 'INT64' : flt[c] ? 'DOUBLE' : bool[c] ? 'BOOL' : ts[c] ? 'UNIX_TIMESTAMP' : 'STRING';
  });
  return out;
}

/** Runs a scan to its end. */
async function drain(scan: AsyncGenerator<void>): Promise<void> {
  for await (const _ of scan);
}

/** The header of a CSV file (trimmed names, checked unique). */
async function csvHeader(path: string, delim: number, chunk?: number): Promise<string[]> {
  let header: string[] | undefined;
  await drain(
    scanCsv(
      path,
      delim,
      (f, line) => {
        header = headerOf(f);
        checkUniqueColumns(header, `${path}, line ${line} (the header)`);
        return false;
      },
      chunk,
    ),
  );
  if (!header) throw invalidInput(`file ${path} has no header line`, { where: path });
  return header;
}

/**
 * Reads a CSV file as Arrow record batches of `batchSize` rows, each column typed by `types` (columns without a type
 * are inferred from the whole file first, in a pass of its own). Memory holds one batch and one read chunk.
 */
export async function* readCsvArrow(path: string, opts: CsvArrowOptions = {}): AsyncGenerator<arrow.RecordBatch> {
  const delim = delimiterOf(path, opts.delimiter);
  const batchSize = opts.batchSize ?? 65_536;
  const header = await csvHeader(path, delim, opts.chunkBytes);
  let types = opts.types ?? {};
  if (header.some((h) => !types[h])) types = { ...(await inferCsvTypes(path, opts)), ...types };
  let cols = header.map((h) => new ColumnBuilder(h, types[h]!, batchSize));
  let row = 0;
  let seenHeader = false;
  const ready: arrow.RecordBatch[] = [];
  const flush = () => {
    if (cols[0]!.n === 0) return;
    const vectors: Record<string, arrow.Vector> = {};
    for (const c of cols) vectors[c.name] = c.vector();
    ready.push(...new arrow.Table(vectors).batches);
    cols = cols.map((c) => new ColumnBuilder(c.name, c.type, batchSize, c.nbytes + (c.nbytes >> 3)));
  };
  // the one-pass path, when every column has a type it parses (others go through coerceValue per value)
  const kinds = Uint8Array.from(header, (h) => KINDS[types[h]!] ?? 0);
  const fast: FastPath | undefined =
    opts.fastPath !== false && kinds.every((k) => k > 0)
      ? {
          end: 0,
          take(buf: Uint8Array, pos: number, len: number): number {
            if (!seenHeader) return 0;
            let p = pos;
            let taken = 0;
            for (;;) {
              const k = cols[0]!.n;
              p = fastRecords(buf, p, len, cols, kinds, delim);
              const n = cols[0]!.n - k;
              taken += n;
              row += n;
              if (cols[0]!.n < batchSize) break;
              flush();
            }
            this.end = p;
            return taken;
          },
        }
      : undefined;
  const scan = scanCsv(
    path,
    delim,
    (f, line) => {
      if (!seenHeader) {
        seenHeader = true;
        return;
      }
      if (f.count !== header.length) throw fieldCountError(path, line, f.count, header.length);
      row++;
      for (let c = 0; c < f.count; c++) cols[c]!.add(f, c, row, path);
      if (cols[0]!.n >= batchSize) flush();
      return;
    },
    opts.chunkBytes,
    fast,
  );
  for await (const _ of scan) {
    while (ready.length) yield ready.shift()!;
  }
  flush();
  while (ready.length) yield ready.shift()!;
}
