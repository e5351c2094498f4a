/**
 * Stream sources: a feature view fed from a Kafka topic. The spec says where the messages are (brokers, topic,
 * consumer group), how to read them (JSON, or Avro with a schema), which message field holds each of the view's
 * columns, and how the offline side is micro-batched. The stream processor (apps/stream) runs it.
 */
import type { FeatureViewSpec, JoinKey } from './model.js';
import { type AggregateFunction, checkWindowAggregation } from './windows.js';

export type StreamFormat = 'json' | 'avro';

export interface StreamSourceSpec {
  kind: 'kafka';
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  topic: string;
  /** Kafka consumer group: processes with the same group share the topic's partitions. */
  consumerGroup: string;
  format: StreamFormat;
  /** Avro schema (JSON object or its text) of the message value; required for format avro. */
  avroSchema?: Record<string, unknown> | string;
  /**
   * Message field for each view column (join keys, event time, created time, features), as a dot path into the
   * decoded message (`user.id`). A column not named here is read from the field of the same name.
   */
  fields?: Record<string, string>;
  /** Topic that receives messages that fail the per-message check, with the reason in headers (default `<topic>.dlq`). */
  deadLetterTopic?: string;
  /** Where to start a partition that has no stored offset yet (default earliest). */
  startFrom?: 'earliest' | 'latest';
  /** Offline micro-batches: commit when this many rows are buffered or the oldest has waited this long. */
  batch?: { maxRows?: number; maxDelayMs?: number };
  /**
   * Window aggregations: the view's features are aggregates of message fields over tumbling or sliding windows per
   * key, instead of the messages' own values. One row per key and window, written online and offline when the window
   * closes (watermark past its end plus the lateness), with the window's end as its event time.
   */
  aggregate?: StreamAggregateSpec;
}

export interface StreamAggregateSpec {
  windowSeconds: number;
  /** Default windowSeconds (tumbling); must divide it. */
  slideSeconds?: number;
  /** Events this much older than the partition's latest event time still count (default 0); older ones are dead-lettered. */
  latenessSeconds?: number;
  /** One per feature of the view: its function and the message field it aggregates (not for count). */
  features: { name: string; function: AggregateFunction; field?: string }[];
}

/** Kafka's own rule for topic names. */
const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;
const BROKER_RE = /^[A-Za-z0-9.[\]:_-]+:\d{1,5}$/;

export const DEFAULT_STREAM_BATCH = { maxRows: 10_000, maxDelayMs: 1_000 };

export function deadLetterTopic(s: StreamSourceSpec): string {
  return s.deadLetterTopic ?? `${s.topic}.dlq`;
}

/** The message field that holds a view column. */
export function streamField(s: StreamSourceSpec, column: string): string {
  return s.fields?.[column] ?? column;
}

function parseAvro(schema: unknown): { value?: Record<string, unknown>; error?: string } {
  let v = schema;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (err) {
      return { error: `is not valid JSON (${(err as Error).message})` };
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'must be an Avro record schema (a JSON object)' };
  const rec = v as Record<string, unknown>;
  if (rec.type !== 'record') return { error: `must be of type "record", not ${JSON.stringify(rec.type)}` };
  if (typeof rec.name !== 'string' || !rec.name) return { error: 'needs a "name"' };
  if (!Array.isArray(rec.fields)) return { error: 'needs a "fields" list' };
  return { value: rec };
}

/** Top-level field names of an Avro record schema (what the dot paths of `fields` start with). */
export function avroFieldNames(schema: Record<string, unknown> | string): string[] {
  const { value } = parseAvro(schema);
  return ((value?.fields as { name?: unknown }[] | undefined) ?? []).map((f) => String(f?.name));
}

/** Problems with a view's stream source (empty when it is valid or absent). */
export function validateStreamSource(v: FeatureViewSpec, keyCols: string[], where: string): string[] {
  const s = v.stream;
  if (s === undefined) return [];
  const w = `${where}.stream`;
  const problems: string[] = [];
  if (!s || typeof s !== 'object' || Array.isArray(s)) return [`${w}: must be an object ({kind: kafka, brokers, topic, ...})`];
  if (s.kind !== 'kafka') problems.push(`${w}: kind must be "kafka", not ${JSON.stringify(s.kind)}`);
  if (!Array.isArray(s.brokers) || s.brokers.length === 0) {
    problems.push(`${w}: brokers must be a non-empty list of host:port`);
  } else {
    for (const b of s.brokers) {
      if (typeof b !== 'string' || !BROKER_RE.test(b)) problems.push(`${w}: broker ${JSON.stringify(b)} is not host:port`);
    }
  }
  if (typeof s.topic !== 'string' || !TOPIC_RE.test(s.topic) || s.topic === '.' || s.topic === '..') {
    problems.push(`${w}: topic ${JSON.stringify(s.topic)} is not a valid Kafka topic name (letters, digits, . _ -, 1-249)`);
  }
  if (s.deadLetterTopic !== undefined) {
    if (typeof s.deadLetterTopic !== 'string' || !TOPIC_RE.test(s.deadLetterTopic)) {
      problems.push(`${w}: deadLetterTopic ${JSON.stringify(s.deadLetterTopic)} is not a valid Kafka topic name`);
    } else if (s.deadLetterTopic === s.topic) {
      problems.push(`${w}: deadLetterTopic must differ from topic`);
    }
  }
  if (typeof s.consumerGroup !== 'string' || !s.consumerGroup.trim() || s.consumerGroup.length > 255) {
    problems.push(`${w}: consumerGroup must be a non-empty name (at most 255 characters)`);
  }
  if (s.startFrom !== undefined && s.startFrom !== 'earliest' && s.startFrom !== 'latest') {
    problems.push(`${w}: startFrom must be earliest or latest`);
  }
  let avroFields: Set<string> | undefined;
  if (s.format === 'avro') {
    if (s.avroSchema === undefined) {
      problems.push(`${w}: format avro needs avroSchema (the Avro record schema of the message value)`);
    } else {
      const { value, error } = parseAvro(s.avroSchema);
      if (error) problems.push(`${w}.avroSchema ${error}`);
      else {
        const fields = (value?.fields as { name?: unknown }[]) ?? [];
        if (fields.some((f) => typeof f?.name !== 'string')) problems.push(`${w}.avroSchema: every field needs a name`);
        avroFields = new Set(fields.map((f) => String(f?.name)));
      }
    }
  } else if (s.format !== 'json') {
    problems.push(`${w}: format must be json or avro, not ${JSON.stringify(s.format)}`);
  }
  const columns = [v.timestampField, ...(v.createdTimestampField ? [v.createdTimestampField] : []), ...keyCols];
  const all = new Set([...columns, ...(v.features ?? []).map((f) => f.name)]);
  if (s.fields !== undefined) {
    if (!s.fields || typeof s.fields !== 'object' || Array.isArray(s.fields)) {
      problems.push(`${w}: fields must map view columns to message fields ({column: "path.in.message"})`);
    } else {
      for (const [col, path] of Object.entries(s.fields)) {
        if (!all.has(col)) {
          problems.push(`${w}.fields: '${col}' is not a column of the view (columns: ${[...all].join(', ')})`);
        }
        if (typeof path !== 'string' || !/^[^.\s]+(\.[^.\s]+)*$/.test(path)) {
          problems.push(`${w}.fields.${col}: ${JSON.stringify(path)} is not a field path (name or a.b.c)`);
        }
      }
    }
  }
  if (avroFields) {
    // Keys and the event time must be in every message; with a schema that can be checked now.
    for (const col of [...keyCols, v.timestampField]) {
      const head = streamField(s, col).split('.')[0] as string;
      if (!avroFields.has(head)) {
        problems.push(`${w}: the Avro schema has no field '${head}' for column '${col}' (map it with fields.${col})`);
      }
    }
  }
  if (s.aggregate !== undefined) problems.push(...validateAggregate(v, w));
  if (s.batch !== undefined) {
    const b = s.batch;
    if (!b || typeof b !== 'object') problems.push(`${w}.batch: must be {maxRows, maxDelayMs}`);
    else {
      if (b.maxRows !== undefined && !(Number.isInteger(b.maxRows) && b.maxRows > 0 && b.maxRows <= 1_000_000)) {
        problems.push(`${w}.batch.maxRows must be an integer from 1 to 1000000`);
      }
      if (b.maxDelayMs !== undefined && !(Number.isInteger(b.maxDelayMs) && b.maxDelayMs >= 10 && b.maxDelayMs <= 3_600_000)) {
        problems.push(`${w}.batch.maxDelayMs must be an integer from 10 to 3600000`);
      }
    }
  }
  return problems;
}

function validateAggregate(v: FeatureViewSpec, w: string): string[] {
  const a = (v.stream as StreamSourceSpec).aggregate as StreamAggregateSpec;
  const p: string[] = [];
  if (!a || typeof a !== 'object' || !Array.isArray(a.features) || a.features.length === 0) {
    return [`${w}.aggregate: needs windowSeconds and a list of features ({name, function, field})`];
  }
  if (
    (v.stream as StreamSourceSpec).fields &&
    Object.keys((v.stream as StreamSourceSpec).fields ?? {}).some((c) => (v.features ?? []).some((f) => f.name === c))
  ) {
    p.push(`${w}: with aggregate, a feature's input is aggregate.features[].field, not fields`);
  }
  const byName = new Map((v.features ?? []).map((f) => [f.name, f]));
  const seen = new Set<string>();
  for (const [i, f] of a.features.entries()) {
    const fw = `${w}.aggregate.features[${i}]`;
    p.push(
      ...checkWindowAggregation(
        {
          name: f?.name,
          function: f?.function,
          ...(f?.field !== undefined ? { column: f.field } : {}),
          windowSeconds: a.windowSeconds,
          ...(a.slideSeconds !== undefined ? { slideSeconds: a.slideSeconds } : {}),
          ...(a.latenessSeconds !== undefined ? { latenessSeconds: a.latenessSeconds } : {}),
        },
        fw,
      ).filter((x) => i === 0 || !/windowSeconds|slideSeconds|latenessSeconds/.test(x)),
    );
    const feat = byName.get(f?.name);
    if (!feat) p.push(`${fw}: '${f?.name}' is not a feature of the view`);
    else if (!['INT32', 'INT64', 'FLOAT', 'DOUBLE'].includes(feat.valueType)) {
      p.push(`${fw}: feature '${f.name}' must be numeric (INT64 or DOUBLE), not ${feat.valueType}`);
    } else if (f.function !== 'count' && !['FLOAT', 'DOUBLE'].includes(feat.valueType)) {
      p.push(`${fw}: feature '${f.name}' holds a ${f.function}: make it DOUBLE`);
    }
    if (seen.has(f?.name)) p.push(`${fw}: '${f?.name}' appears twice`);
    seen.add(f?.name);
  }
  for (const f of v.features ?? []) {
    if (!seen.has(f.name))
      p.push(`${w}.aggregate: feature '${f.name}' has no aggregation (every feature of an aggregate view needs one)`);
  }
  return p;
}

/** The view's columns with the message field each is read from (keys, event time, created time, features). */
export function streamColumns(
  v: FeatureViewSpec,
  joinKeys: JoinKey[],
): { name: string; field: string[]; required: boolean; valueType: string }[] {
  const s = v.stream as StreamSourceSpec;
  const col = (name: string, valueType: string, required: boolean) => ({
    name,
    field: streamField(s, name).split('.'),
    required,
    valueType,
  });
  if (s.aggregate) {
    // The inputs of the aggregations, read as numbers under the feature's name (count reads none).
    return [
      ...joinKeys.map((k) => col(k.name, k.valueType, true)),
      col(v.timestampField, 'UNIX_TIMESTAMP', true),
      ...s.aggregate.features
        .filter((f) => f.function !== 'count')
        .map((f) => ({ name: f.name, field: (f.field as string).split('.'), required: false, valueType: 'DOUBLE' })),
    ];
  }
  return [
    ...joinKeys.map((k) => col(k.name, k.valueType, true)),
    col(v.timestampField, 'UNIX_TIMESTAMP', true),
    ...(v.createdTimestampField ? [col(v.createdTimestampField, 'UNIX_TIMESTAMP', false)] : []),
    ...v.features.map((f) => col(f.name, f.valueType, false)),
  ];
}
