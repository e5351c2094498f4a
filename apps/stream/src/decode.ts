/**
 * The per-message check: decode a Kafka message (JSON, or Avro with the view's schema), read each view column from
 * its field, and coerce it to the column's type. A message that fails gets a reason (and a stable code) instead of
 * a row; the processor sends it to the dead-letter topic with both.
 */
import {
  CoerceError,
  coerceValue,
  type FeatureViewSpec,
  invalidSpec,
  type JoinKey,
  type StreamSourceSpec,
  streamColumns,
  type ValueTypeName,
} from '@strata/core';
import avro from 'avsc';

export type RejectCode = 'EMPTY' | 'DECODE' | 'NOT_OBJECT' | 'MISSING_FIELD' | 'TYPE' | 'LATE';

export type Decoded =
  | { ok: true; row: Record<string, unknown> }
  | { ok: false; code: RejectCode; reason: string; column?: string };

export type MessageDecoder = (value: Buffer | null) => Decoded;

function at(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Builds the decoder of a view's stream source; a bad Avro schema fails here, at start-up. */
export function messageDecoder(view: FeatureViewSpec, joinKeys: JoinKey[]): MessageDecoder {
  const s = view.stream as StreamSourceSpec;
  const cols = streamColumns(view, joinKeys);
  let parse: (b: Buffer) => unknown;
  if (s.format === 'avro') {
    let type: avro.Type;
    try {
      const schema = typeof s.avroSchema === 'string' ? JSON.parse(s.avroSchema) : s.avroSchema;
      type = avro.Type.forSchema(schema);
    } catch (err) {
      throw invalidSpec(`feature view '${view.name}': the stream's Avro schema is not valid: ${(err as Error).message}`, {
        where: `feature view '${view.name}'.stream.avroSchema`,
        hint: 'give an Avro record schema (https://avro.apache.org/docs/current/specification/)',
      });
    }
    parse = (b) => type.fromBuffer(b);
  } else {
    parse = (b) => JSON.parse(b.toString('utf8'));
  }
  return (value) => {
    if (!value || value.length === 0) return { ok: false, code: 'EMPTY', reason: 'the message has no value' };
    let msg: unknown;
    try {
      msg = parse(value);
    } catch (err) {
      return {
        ok: false,
        code: 'DECODE',
        reason: `not valid ${s.format === 'avro' ? 'Avro' : 'JSON'}: ${(err as Error).message}`,
      };
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      return { ok: false, code: 'NOT_OBJECT', reason: 'the message is not an object of fields' };
    }
    const row: Record<string, unknown> = {};
    for (const c of cols) {
      const raw = at(msg, c.field);
      if (raw === undefined || raw === null) {
        if (c.required) {
          return {
            ok: false,
            code: 'MISSING_FIELD',
            reason: `field '${c.field.join('.')}' (column '${c.name}', ${c.valueType}) is missing`,
            column: c.name,
          };
        }
        row[c.name] = null;
        continue;
      }
      try {
        row[c.name] = coerceValue(c.valueType as ValueTypeName, raw);
      } catch (err) {
        if (!(err instanceof CoerceError)) throw err;
        return {
          ok: false,
          code: 'TYPE',
          reason: `field '${c.field.join('.')}' (column '${c.name}', ${c.valueType}): ${err.message}`,
          column: c.name,
        };
      }
    }
    return { ok: true, row };
  };
}
