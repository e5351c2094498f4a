/**
 * The offline half of on-demand views and model-dependent transformations: on each record batch of a training set
 * (the point-in-time features and the entity rows' own columns), runs the on-demand functions row by row with the
 * same runner the serving app uses, drops the inputs nobody asked for, and fits / applies the feature service's
 * transformations with the same arithmetic as online. A function that fails or returns the wrong type fails the
 * training set (TRANSFORM_FAILED, with the row and the message): a training set never holds a silently missing value.
 */
import {
  applyTransform,
  arrowVector,
  type FittedTransform,
  fitTransform,
  type ModelTransformSpec,
  type OnDemandFeatureViewSpec,
  onDemandColumnName,
  onDemandInputValue,
  OnDemandRunners,
  requestValue,
  StrataError,
  transformColumns,
  type ValueTypeName,
} from '@strata/core';
import * as arrow from 'apache-arrow';

/** What a training set computes beyond the point-in-time join (kept in its spec, so a rebuild computes the same). */
export interface DerivedFeatures {
  /** The feature service the set was built from (serving names it with the set's id). */
  featureService?: string;
  /** On-demand views (with their bundled code, as applied when the set was requested) and the features asked for. */
  onDemand?: { view: OnDemandFeatureViewSpec; features: string[]; inputs: { ref: string; valueType: ValueTypeName }[] }[];
  /** `view:feature` inputs of on-demand views that were not asked for: read for the functions, then dropped. */
  hidden?: string[];
  /** The feature service's model-dependent transformations, fitted when the set is done. */
  transformations?: ModelTransformSpec[];
}

const runners = new OnDemandRunners();

function columnName(ref: string, full: boolean): string {
  const [view, feature] = ref.split(':') as [string, string];
  return onDemandColumnName(view, feature, full);
}

function valuesOf(batch: arrow.RecordBatch, name: string): unknown[] {
  const col = batch.getChild(name);
  if (!col) return [];
  const out = new Array<unknown>(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) out[i] = col.get(i);
  return out;
}

/** Adds the on-demand features to a batch and drops the hidden inputs. `firstRow`: the batch's first row number. */
export function onDemandBatch(
  batch: arrow.RecordBatch,
  derived: DerivedFeatures,
  full: boolean,
  firstRow = 0,
): arrow.RecordBatch {
  if (!derived.onDemand?.length && !derived.hidden?.length) return batch;
  const n = batch.numRows;
  const columns: Record<string, arrow.Vector> = {};
  const hidden = new Set((derived.hidden ?? []).map((r) => columnName(r, full)));
  for (const f of batch.schema.fields) if (!hidden.has(f.name)) columns[f.name] = batch.getChild(f.name) as arrow.Vector;
  for (const od of derived.onDemand ?? []) {
    const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
    for (const input of od.inputs) {
      const name = columnName(input.ref, full);
      const values = valuesOf(batch, name);
      const feature = input.ref.split(':')[1] as string;
      for (let i = 0; i < n; i++) (rows[i] as Record<string, unknown>)[feature] = onDemandInputValue(input.valueType, values[i]);
    }
    for (const field of od.view.request ?? []) {
      if (!batch.schema.fields.some((f) => f.name === field.name)) {
        throw new StrataError(
          'INVALID_INPUT',
          `on-demand feature view '${od.view.name}' needs the column '${field.name}' in the entity rows`,
          {
            where: `entity rows.${field.name}`,
            hint: `add a '${field.name}' (${field.valueType}) column to the entity rows: the request data each row was served with`,
          },
        );
      }
      const values = valuesOf(batch, field.name);
      for (let i = 0; i < n; i++)
        (rows[i] as Record<string, unknown>)[field.name] = requestValue(field, values[i], `entity row ${firstRow + i + 1}`);
    }
    const result = runners.get(od.view).run(rows);
    od.view.features.forEach((f, j) => {
      if (!od.features.includes(f.name)) return;
      const c = result.columns[j] as (typeof result.columns)[number];
      const bad = c.errors.findIndex((e) => e !== null);
      if (bad >= 0) {
        const count = c.errors.filter((e) => e !== null).length;
        throw new StrataError(
          'TRANSFORM_FAILED',
          `on-demand feature view '${od.view.name}' failed on entity row ${firstRow + bad + 1} (${count} row(s) of this batch): ${c.errors[bad]}`,
          {
            where: `on-demand feature view '${od.view.name}'.${f.name}`,
            hint: 'fix the function (or the rows) and apply it again; the same code serves online',
            details: { row: firstRow + bad + 1, failedRows: count, error: c.errors[bad] },
          },
        );
      }
      columns[onDemandColumnName(od.view.name, f.name, full)] = arrowVector(f.valueType, c.values);
    });
  }
  return new arrow.Table(columns).batches[0] ?? batch;
}

/** Fits the transformations on every batch of a training set (after its on-demand features). */
export async function fitTransformations(
  batches: AsyncIterable<arrow.RecordBatch>,
  transformations: ModelTransformSpec[],
  full: boolean,
): Promise<FittedTransform[]> {
  const values = new Map<string, unknown[]>(transformations.map((t) => [t.feature, []]));
  for await (const b of batches) {
    for (const t of transformations) {
      const acc = values.get(t.feature) as unknown[];
      const col = b.getChild(columnName(t.feature, full));
      if (!col) throw new StrataError('INTERNAL', `training set has no column for '${t.feature}'`);
      for (let i = 0; i < b.numRows; i++) acc.push(col.get(i));
    }
  }
  return transformations.map((t) => {
    try {
      const { count, stats } = fitTransform(t.kind, values.get(t.feature) as unknown[]);
      return { feature: t.feature, column: columnName(t.feature, full), count, stats };
    } catch (err) {
      throw new StrataError('INVALID_INPUT', `cannot fit ${t.kind} on '${t.feature}': ${(err as Error).message}`, {
        where: `transformation of '${t.feature}'`,
      });
    }
  });
}

/** Replaces each transformed column by its transformed column(s), in place of the original. */
export function applyFittedBatch(batch: arrow.RecordBatch, fitted: FittedTransform[]): arrow.RecordBatch {
  if (!fitted.length) return batch;
  const byColumn = new Map(fitted.map((f) => [f.column, f]));
  const columns: Record<string, arrow.Vector> = {};
  for (const field of batch.schema.fields) {
    const t = byColumn.get(field.name);
    const vec = batch.getChild(field.name) as arrow.Vector;
    if (!t) {
      columns[field.name] = vec;
      continue;
    }
    const type = fromArrowField(field);
    const applied = valuesOf(batch, field.name).map((v) => applyTransform(t.stats, onDemandInputValue(type, v)));
    transformColumns(t).forEach((c, k) => {
      columns[c.name] = arrowVector(
        c.valueType,
        applied.map((a) => (Array.isArray(a) ? a[k] : a)),
      );
    });
  }
  return new arrow.Table(columns).batches[0] ?? batch;
}

function fromArrowField(f: arrow.Field): ValueTypeName {
  if (arrow.DataType.isFloat(f.type)) return 'DOUBLE';
  if (arrow.DataType.isInt(f.type)) return 'INT64';
  if (arrow.DataType.isBool(f.type)) return 'BOOL';
  return 'STRING';
}
