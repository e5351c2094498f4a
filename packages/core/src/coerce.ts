/**
 * Coerces a JavaScript value (from Arrow, CSV text, JSON or user code) to the canonical JS value of a value type,
 * or throws a plain Error saying why. Callers add the location (file, row, column) to the message.
 */
import { elementType, isListType, type ValueTypeName } from './types.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class CoerceError extends Error {}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  return String(v);
}

/** Parses a timestamp: Date, epoch milliseconds, bigint epoch microseconds, or ISO-8601 / "YYYY-MM-DD hh:mm:ss" text (UTC unless an offset is given). */
export function parseTimestamp(v: unknown): Date {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new CoerceError('invalid Date');
    return v;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v);
  if (typeof v === 'bigint') return new Date(Number(v / 1000n));
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(s)) {
      // Bare numbers in text are epoch seconds (Feast and most CSV exports write seconds).
      return new Date(Number(s) * 1000);
    }
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/.exec(s);
    if (m) {
      const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', tz] = m;
      // Milliseconds from the first three fraction digits (further digits are cut, never rounded up).
      const ms = frac ? Number(frac.slice(1, 4).padEnd(3, '0')) : 0;
      const base = new Date(0);
      base.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // years 0-99 are years 0-99, not 1900-1999
      base.setUTCHours(Number(h), Number(mi), Number(sec), ms);
      let t = base.getTime();
      if (tz && tz !== 'Z' && tz !== 'z' && tz !== 'UTC') {
        const sign = tz.startsWith('-') ? -1 : 1;
        const digits = tz.slice(1).replace(':', '');
        const off = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
        t -= sign * off * 60_000;
      }
      const leap = (Number(y) % 4 === 0 && Number(y) % 100 !== 0) || Number(y) % 400 === 0;
      const monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][Number(mo) - 1] ?? 31;
      const outOfRange =
        Number(mo) < 1 ||
        Number(mo) > 12 ||
        Number(d) < 1 ||
        Number(d) > monthDays ||
        Number(h) > 23 ||
        Number(mi) > 59 ||
        Number(sec) > 60;
      if (outOfRange || Number.isNaN(t))
        throw new CoerceError(`cannot read ${describe(v)} as a timestamp (a field is out of range)`);
      return new Date(t);
    }
  }
  throw new CoerceError(
    `cannot read ${describe(v)} as a timestamp (use ISO 8601 such as 2020-12-07T00:00:00Z, or epoch seconds)`,
  );
}

function toInt(v: unknown, bits: 32 | 64): number | bigint {
  let n: number | bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new CoerceError(`${describe(v)} is not an integer`);
    if (bits === 64 && !Number.isSafeInteger(v)) {
      // A number this big has already been rounded (by JSON.parse, or by whoever made it): the exact key is lost.
      throw new CoerceError(
        `${describe(v)} is outside the safe integer range of a JSON/JavaScript number (±${Number.MAX_SAFE_INTEGER}), so it may have been rounded; send INT64 values that big as a string, e.g. "9007199254740993"`,
      );
    }
    n = v;
  } else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) {
    const b = BigInt(v.trim());
    n = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  } else if (typeof v === 'boolean') {
    throw new CoerceError(`${describe(v)} is a boolean, not an integer`);
  } else {
    throw new CoerceError(`${describe(v)} is not an integer`);
  }
  if (bits === 32) {
    const x = Number(n);
    if (x < INT32_MIN || x > INT32_MAX) throw new CoerceError(`${describe(v)} does not fit in INT32`);
    return x;
  }
  const big = typeof n === 'bigint' ? n : BigInt(n);
  if (big < INT64_MIN || big > INT64_MAX) throw new CoerceError(`${describe(v)} does not fit in INT64`);
  return typeof n === 'bigint' && big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : n;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^(nan|NaN)$/.test(s)) return Number.NaN;
    if (/^[+-]?(inf|infinity|Infinity|Inf)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (s !== '' && Number.isFinite(Number(s))) return Number(s);
  }
  throw new CoerceError(`${describe(v)} is not a number`);
}

function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', 't', '1', 'yes', 'y'].includes(s)) return true;
    if (['false', 'f', '0', 'no', 'n'].includes(s)) return false;
  }
  throw new CoerceError(`${describe(v)} is not a boolean (use true/false)`);
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new TextEncoder().encode(v);
  throw new CoerceError(`${describe(v)} is not bytes`);
}

function scalar(t: ValueTypeName, v: unknown): unknown {
  switch (t) {
    case 'INT32':
      return toInt(v, 32);
    case 'INT64':
      return toInt(v, 64);
    case 'FLOAT': {
      // 32-bit: a finite value that becomes infinite or zero in 32 bits does not fit (Postgres' real refuses it too).
      const x = toFloat(v);
      const r = Math.fround(x);
      if (Number.isFinite(x) && (!Number.isFinite(r) || (r === 0 && x !== 0)))
        throw new CoerceError(`${describe(v)} does not fit in FLOAT (32-bit; use DOUBLE)`);
      return x;
    }
    case 'DOUBLE':
      return toFloat(v);
    case 'STRING':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      throw new CoerceError(`${describe(v)} is not a string`);
    case 'BOOL':
      return toBool(v);
    case 'BYTES':
      return toBytes(v);
    case 'UNIX_TIMESTAMP':
      return parseTimestamp(v);
    default:
      throw new CoerceError(`unsupported type ${t}`);
  }
}

/** Returns null for null/undefined; otherwise the canonical JS value, or throws CoerceError. */
export function coerceValue(t: ValueTypeName, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (isListType(t)) {
    let items: unknown = v;
    if (typeof v === 'string') {
      try {
        items = JSON.parse(v);
      } catch {
        throw new CoerceError(`${describe(v)} is not a list (write it as a JSON array)`);
      }
    }
    if (items && typeof items === 'object' && !Array.isArray(items) && Symbol.iterator in (items as object)) {
      items = Array.from(items as Iterable<unknown>);
    }
    if (!Array.isArray(items)) throw new CoerceError(`${describe(v)} is not a list`);
    const et = elementType(t);
    return items.map((x) => (x === null || x === undefined ? null : scalar(et, x)));
  }
  return scalar(t, v);
}
