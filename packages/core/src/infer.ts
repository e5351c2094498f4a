/**
 * Schema inference from an Arrow table, in the spirit of Feast 0.x's FeatureSet.infer_fields_from_df: the join
 * keys come from the entities, the event-time column is named or detected, every other column becomes a feature.
 */
import type * as arrow from 'apache-arrow';
import { invalidSpec } from './errors.js';
import type { EntitySpec, FeatureSpec, FeatureViewSpec } from './model.js';
import { fromArrowType, isTimestampArrowType } from './types.js';

const TIMESTAMP_CANDIDATES = ['event_timestamp', 'event_time', 'timestamp', 'ts', 'dt', 'datetime', 'date'];

export interface InferOptions {
  name: string;
  entities: EntitySpec[];
  timestampField?: string;
  createdTimestampField?: string;
  /** Only these columns become features (default: every column that is not a key or timestamp). */
  features?: string[];
  ttlSeconds?: number;
  online?: boolean;
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
}

export function detectTimestampField(schema: arrow.Schema, exclude: Set<string> = new Set()): string | undefined {
  const tsCols = schema.fields.filter((f) => isTimestampArrowType(f.type) && !exclude.has(f.name)).map((f) => f.name);
  for (const c of TIMESTAMP_CANDIDATES) if (tsCols.includes(c)) return c;
  if (tsCols.length === 1) return tsCols[0];
  // Text columns with a conventional name (CSV without typed timestamps).
  for (const c of TIMESTAMP_CANDIDATES) if (schema.fields.some((f) => f.name === c)) return c;
  return undefined;
}

export function inferFeatureView(table: { schema: arrow.Schema }, opts: InferOptions): FeatureViewSpec {
  const schema = table.schema;
  const columns = new Set(schema.fields.map((f) => f.name));
  const keyNames = new Set(opts.entities.flatMap((e) => e.joinKeys.map((k) => k.name)));
  for (const k of keyNames) {
    if (!columns.has(k)) {
      throw invalidSpec(`cannot infer feature view '${opts.name}': join key column '${k}' is not in the table`, {
        hint: `the table has columns ${[...columns].join(', ')}`,
      });
    }
  }
  const timestampField = opts.timestampField ?? detectTimestampField(schema, keyNames);
  if (!timestampField || !columns.has(timestampField)) {
    throw invalidSpec(`cannot infer feature view '${opts.name}': no event-timestamp column`, {
      hint: timestampField
        ? `column '${timestampField}' is not in the table (columns: ${[...columns].join(', ')})`
        : `name it with timestampField (columns: ${[...columns].join(', ')})`,
    });
  }
  const skip = new Set([...keyNames, timestampField, ...(opts.createdTimestampField ? [opts.createdTimestampField] : [])]);
  const wanted = opts.features ? new Set(opts.features) : undefined;
  const features: FeatureSpec[] = [];
  const untyped: string[] = [];
  for (const f of schema.fields) {
    if (skip.has(f.name) || (wanted && !wanted.has(f.name))) continue;
    const vt = fromArrowType(f.type);
    if (!vt) {
      untyped.push(`${f.name} (${String(f.type)})`);
      continue;
    }
    features.push({ name: f.name, valueType: vt });
  }
  if (untyped.length) {
    throw invalidSpec(`cannot infer feature view '${opts.name}': no value type for column(s) ${untyped.join(', ')}`, {
      hint: 'cast them to a supported type or leave them out with the features option',
    });
  }
  for (const w of wanted ?? []) {
    if (!columns.has(w)) throw invalidSpec(`cannot infer feature view '${opts.name}': feature column '${w}' is not in the table`);
  }
  return {
    name: opts.name,
    entities: opts.entities.map((e) => e.name),
    features,
    timestampField,
    ...(opts.createdTimestampField ? { createdTimestampField: opts.createdTimestampField } : {}),
    ttlSeconds: opts.ttlSeconds ?? 0,
    online: opts.online ?? true,
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.owner ? { owner: opts.owner } : {}),
    ...(opts.tags ? { tags: opts.tags } : {}),
  };
}
