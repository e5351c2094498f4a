/**
 * Hopsworks feature types <-> Strata value types. Offline types are Hive types (the offline feature store is a Hive
 * /Hudi table); online types are the MySQL-flavoured types of RonDB (the online store).
 */
import { elementType, isListType, type ValueTypeName } from '@strata/core';

export interface TypeMapping {
  type?: ValueTypeName;
  /** Set when the mapping exists but loses something (precision, time of day). */
  lossy?: string;
}

const HIVE_SCALAR: Record<string, ValueTypeName> = {
  bigint: 'INT64',
  int: 'INT32',
  integer: 'INT32',
  smallint: 'INT32',
  tinyint: 'INT32',
  float: 'FLOAT',
  double: 'DOUBLE',
  string: 'STRING',
  varchar: 'STRING',
  char: 'STRING',
  boolean: 'BOOL',
  binary: 'BYTES',
  timestamp: 'UNIX_TIMESTAMP',
};

/** Hive type (as hsfs writes it: `bigint`, `array<double>`, `decimal(10,2)`) -> Strata type. */
export function fromHiveType(hive: string): TypeMapping {
  const t = hive.trim().toLowerCase();
  const arr = /^array<(.+)>$/.exec(t);
  if (arr) {
    const inner = fromHiveType(arr[1] as string);
    if (!inner.type || isListType(inner.type)) return {};
    return { type: `${inner.type}_LIST` as ValueTypeName, ...(inner.lossy ? { lossy: inner.lossy } : {}) };
  }
  const base = t.replace(/\(.*\)$/, '');
  if (base === 'decimal') return { type: 'DOUBLE', lossy: `${hive} is read as DOUBLE (binary floating point)` };
  if (base === 'date') return { type: 'UNIX_TIMESTAMP', lossy: `${hive} is read as a timestamp at midnight UTC` };
  const scalar = HIVE_SCALAR[base];
  return scalar ? { type: scalar } : {};
}

const TO_HIVE: Record<string, string> = {
  INT64: 'bigint',
  INT32: 'int',
  FLOAT: 'float',
  DOUBLE: 'double',
  STRING: 'string',
  BOOL: 'boolean',
  BYTES: 'binary',
  UNIX_TIMESTAMP: 'timestamp',
};

export function toHiveType(t: ValueTypeName): string {
  const base = TO_HIVE[elementType(t)] as string;
  return isListType(t) ? `array<${base}>` : base;
}

const ONLINE_SCALAR: Record<string, ValueTypeName> = {
  bigint: 'INT64',
  int: 'INT32',
  integer: 'INT32',
  smallint: 'INT32',
  mediumint: 'INT32',
  float: 'FLOAT',
  double: 'DOUBLE',
  varchar: 'STRING',
  char: 'STRING',
  text: 'STRING',
  boolean: 'BOOL',
  bool: 'BOOL',
  varbinary: 'BYTES',
  binary: 'BYTES',
  blob: 'BYTES',
  timestamp: 'UNIX_TIMESTAMP',
  datetime: 'UNIX_TIMESTAMP',
};

/**
 * Online (RonDB/MySQL) type -> Strata type. Complex offline types are stored online as serialized VARBINARY, so the
 * offline type decides; this is used when only the online type is known. `tinyint` is read as BOOL only as tinyint(1).
 */
export function fromOnlineType(online: string): TypeMapping {
  const t = online.trim().toLowerCase();
  if (/^tinyint\(1\)$/.test(t)) return { type: 'BOOL' };
  if (t.startsWith('tinyint')) return { type: 'INT32' };
  if (t.startsWith('decimal')) return { type: 'DOUBLE', lossy: `${online} is read as DOUBLE` };
  if (t === 'date') return { type: 'UNIX_TIMESTAMP', lossy: `${online} is read as a timestamp at midnight UTC` };
  const scalar = ONLINE_SCALAR[t.replace(/\(.*\)$/, '')];
  return scalar ? { type: scalar } : {};
}

const TO_ONLINE: Record<string, string> = {
  INT64: 'bigint',
  INT32: 'int',
  FLOAT: 'float',
  DOUBLE: 'double',
  STRING: 'varchar(1000)',
  BOOL: 'tinyint(1)',
  BYTES: 'varbinary(1000)',
  UNIX_TIMESTAMP: 'timestamp',
};

/** Strata type -> online type (lists are stored serialized, as hsfs does for complex features). */
export function toOnlineType(t: ValueTypeName): string {
  return isListType(t) ? 'varbinary(1000)' : (TO_ONLINE[t] as string);
}
