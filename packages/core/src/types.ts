/**
 * Value types: Feast's ValueType enum (names and numbers) is the canonical list. Each maps to an Arrow type, a
 * Postgres column type, a Hive type (Hopsworks offline) and a JSON representation.
 */
import * as arrow from 'apache-arrow';
import { invalidSpec } from './errors.js';

export const ValueType = {
  INVALID: 0,
  BYTES: 1,
  STRING: 2,
  INT32: 3,
  INT64: 4,
  DOUBLE: 5,
  FLOAT: 6,
  BOOL: 7,
  UNIX_TIMESTAMP: 8,
  BYTES_LIST: 11,
  STRING_LIST: 12,
  INT32_LIST: 13,
  INT64_LIST: 14,
  DOUBLE_LIST: 15,
  FLOAT_LIST: 16,
  BOOL_LIST: 17,
  UNIX_TIMESTAMP_LIST: 18,
  NULL: 19,
} as const;

export type ValueTypeName = Exclude<keyof typeof ValueType, 'INVALID' | 'NULL'>;
export const VALUE_TYPE_NAMES = Object.keys(ValueType).filter((n) => n !== 'INVALID' && n !== 'NULL') as ValueTypeName[];

const ALIASES: Record<string, ValueTypeName> = {
  INT: 'INT64',
  INTEGER: 'INT64',
  LONG: 'INT64',
  BIGINT: 'INT64',
  FLOAT32: 'FLOAT',
  FLOAT64: 'DOUBLE',
  STR: 'STRING',
  TEXT: 'STRING',
  BOOLEAN: 'BOOL',
  TIMESTAMP: 'UNIX_TIMESTAMP',
  DATETIME: 'UNIX_TIMESTAMP',
};

export function isValueTypeName(name: string): name is ValueTypeName {
  return (VALUE_TYPE_NAMES as string[]).includes(name);
}

/** Parses a type name (case-insensitive; a few common aliases such as TIMESTAMP or INT accepted). */
export function parseValueType(name: unknown, where?: string): ValueTypeName {
  if (typeof name === 'number') {
    const found = VALUE_TYPE_NAMES.find((n) => ValueType[n] === name);
    if (found) return found;
  }
  if (typeof name === 'string') {
    const upper = name.trim().toUpperCase();
    if (isValueTypeName(upper)) return upper;
    const alias = ALIASES[upper];
    if (alias) return alias;
  }
  throw invalidSpec(`unknown value type ${JSON.stringify(name)}`, {
    ...(where ? { where } : {}),
    hint: `use one of ${VALUE_TYPE_NAMES.join(', ')}`,
  });
}

export function isListType(t: ValueTypeName): boolean {
  return t.endsWith('_LIST');
}

export function elementType(t: ValueTypeName): ValueTypeName {
  return (isListType(t) ? t.slice(0, -'_LIST'.length) : t) as ValueTypeName;
}

export function listOf(t: ValueTypeName): ValueTypeName {
  return (isListType(t) ? t : `${t}_LIST`) as ValueTypeName;
}

const SCALAR_PG: Record<string, string> = {
  BYTES: 'bytea',
  STRING: 'text',
  INT32: 'integer',
  INT64: 'bigint',
  DOUBLE: 'double precision',
  FLOAT: 'real',
  BOOL: 'boolean',
  UNIX_TIMESTAMP: 'timestamptz',
};

export function toPostgresType(t: ValueTypeName): string {
  const base = SCALAR_PG[elementType(t)];
  if (!base) throw invalidSpec(`no Postgres type for ${t}`);
  return isListType(t) ? `${base}[]` : base;
}

const SCALAR_HIVE: Record<string, string> = {
  BYTES: 'binary',
  STRING: 'string',
  INT32: 'int',
  INT64: 'bigint',
  DOUBLE: 'double',
  FLOAT: 'float',
  BOOL: 'boolean',
  UNIX_TIMESTAMP: 'timestamp',
};

export function toHiveType(t: ValueTypeName): string {
  const base = SCALAR_HIVE[elementType(t)] as string;
  return isListType(t) ? `array<${base}>` : base;
}

export function toArrowType(t: ValueTypeName): arrow.DataType {
  switch (t) {
    case 'BYTES':
      return new arrow.Binary();
    case 'STRING':
      return new arrow.Utf8();
    case 'INT32':
      return new arrow.Int32();
    case 'INT64':
      return new arrow.Int64();
    case 'DOUBLE':
      return new arrow.Float64();
    case 'FLOAT':
      return new arrow.Float32();
    case 'BOOL':
      return new arrow.Bool();
    case 'UNIX_TIMESTAMP':
      return new arrow.TimestampMicrosecond('UTC');
    default:
      return new arrow.List(new arrow.Field('item', toArrowType(elementType(t)), true));
  }
}

/** Maps an Arrow type to a value type; undefined where there is no faithful mapping. */
export function fromArrowType(type: arrow.DataType): ValueTypeName | undefined {
  if (arrow.DataType.isInt(type)) {
    return type.bitWidth <= 32 && !(type.bitWidth === 32 && !type.isSigned) ? 'INT32' : 'INT64';
  }
  if (arrow.DataType.isFloat(type)) {
    return type.precision === arrow.Precision.DOUBLE ? 'DOUBLE' : 'FLOAT';
  }
  if (arrow.DataType.isDecimal(type)) return 'DOUBLE';
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type)) return 'STRING';
  if (arrow.DataType.isDictionary(type)) return fromArrowType(type.dictionary);
  if (arrow.DataType.isBool(type)) return 'BOOL';
  if (arrow.DataType.isBinary(type) || arrow.DataType.isLargeBinary(type) || arrow.DataType.isFixedSizeBinary(type))
    return 'BYTES';
  if (arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type)) return 'UNIX_TIMESTAMP';
  if (arrow.DataType.isList(type) || arrow.DataType.isFixedSizeList(type)) {
    const child = type.children[0];
    const inner = child ? fromArrowType(child.type) : undefined;
    if (!inner || isListType(inner)) return undefined;
    return listOf(inner);
  }
  return undefined;
}

export function isTimestampArrowType(type: arrow.DataType): boolean {
  return arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type);
}
