/** Identifier and literal helpers. Identifiers are validated and always quoted; values go through parameters or COPY. */
import { createHash } from 'node:crypto';
import { invalidSpec } from '@strata/core';

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function ident(name: string): string {
  if (!IDENT_RE.test(name) || name.length > 63) {
    throw invalidSpec(`'${name}' cannot be used as a Postgres identifier`, {
      hint: 'use letters, digits and _ (at most 63 characters)',
    });
  }
  return `"${name}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** A table name unique per (project, view, version) that fits Postgres' 63-byte limit. */
export function viewTableName(project: string, view: string, version: number): string {
  const plain = `fv_${project}__${view}__v${version}`;
  if (plain.length <= 63) return plain;
  const h = createHash('sha1').update(`${project}/${view}/${version}`).digest('hex').slice(0, 10);
  return `fv_${plain.slice(3, 63 - 16)}_${h}_v${version}`.slice(0, 63);
}

export function stagingTableName(ingestionId: string): string {
  const h = createHash('sha1').update(ingestionId).digest('hex').slice(0, 24);
  return `stg_${h}`;
}
