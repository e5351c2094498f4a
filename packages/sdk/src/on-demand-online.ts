/**
 * The online half of on-demand views and model-dependent transformations: given what the online store answered for
 * a feature plan (the stored features, the on-demand views' inputs among them), computes the on-demand features per
 * entity row, drops the inputs nobody asked for, and applies a training set's fitted transformations. The serving
 * app and the SDK's getOnlineFeatures both call this; training sets call the same runner and the same transformers
 * (training-on-demand.ts), so the values agree.
 */
import {
  applyTransform,
  type FeaturePlan,
  type FittedTransform,
  invalidInput,
  onDemandColumnName,
  onDemandInputValue,
  type OnDemandRunners,
  requestValue,
  transformColumns,
  type ValueTypeName,
} from '@strata/core';
import type { FeatureStatus } from '@strata/online-store';
import { jsonValue, type OnlineColumn, type OnlineFeaturesResponse } from './online.js';

const EPOCH = '1970-01-01T00:00:00Z';

/** A column of an answer with its value type (undefined: an entity key column). */
export interface TypedAnswer {
  res: OnlineFeaturesResponse;
  types: (ValueTypeName | undefined)[];
  /** `view:feature` of each column (undefined: an entity key column). */
  refs: (string | undefined)[];
}

function rendered(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return jsonValue(v);
}

/** Per-column types and references of an answer read for `plan.selections` (key columns first). */
export function typedAnswer(res: OnlineFeaturesResponse, plan: Pick<FeaturePlan, 'selections'>): TypedAnswer {
  const types: (ValueTypeName | undefined)[] = [];
  const refs: (string | undefined)[] = [];
  for (const s of plan.selections)
    for (const f of s.features) {
      types.push(f.valueType);
      refs.push(`${s.view.name}:${f.name}`);
    }
  const keys = res.results.length - types.length;
  return {
    res,
    types: [...new Array<undefined>(keys).fill(undefined), ...types],
    refs: [...new Array<undefined>(keys).fill(undefined), ...refs],
  };
}

/**
 * Adds the plan's on-demand features to an answer and drops its hidden inputs. Request fields come from
 * `request` (Feast's request_context) or from the entity columns, one value per entity row; a missing or mistyped
 * one is the caller's error (400). A function that fails for a row gives that row's features the status INVALID and
 * the message in the column's `errors` (an extra beside Feast's values/statuses/event_timestamps); the other
 * features and rows are answered as usual.
 */
export function addOnDemand(
  answer: TypedAnswer,
  plan: FeaturePlan,
  ctx: {
    /** Entity rows of the request (the answer has no columns when only request-only on-demand views are asked). */
    rowCount: number;
    entities: Record<string, unknown>;
    request?: Record<string, unknown> | undefined;
    fullFeatureNames: boolean;
    runners: OnDemandRunners;
  },
): TypedAnswer {
  if (!plan.onDemand.length) return answer;
  const { res } = answer;
  const n = ctx.rowCount;
  const byRef = new Map<string, OnlineColumn>();
  answer.refs.forEach((r, i) => {
    if (r && !byRef.has(r)) byRef.set(r, res.results[i] as OnlineColumn);
  });
  if (ctx.request !== undefined && (typeof ctx.request !== 'object' || ctx.request === null || Array.isArray(ctx.request)))
    throw invalidInput('"request_context" must be an object of columns, e.g. {"price": [9.5, 3]}');
  const out: TypedAnswer = {
    res: { metadata: { feature_names: [...res.metadata.feature_names] }, results: [...res.results] },
    types: [...answer.types],
    refs: [...answer.refs],
  };
  for (const od of plan.onDemand) {
    const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
    for (const s of od.view.sources) {
      const names = s.features?.length ? s.features : undefined;
      for (const [ref, col] of byRef) {
        const [view, feature] = ref.split(':') as [string, string];
        if (view !== s.view || (names && !names.includes(feature))) continue;
        const type = answer.types[answer.refs.indexOf(ref)] as ValueTypeName;
        for (let i = 0; i < n; i++) (rows[i] as Record<string, unknown>)[feature] = onDemandInputValue(type, col.values[i]);
      }
    }
    for (const field of od.view.request ?? []) {
      const source = ctx.request && field.name in ctx.request ? ctx.request : ctx.entities;
      const col = source?.[field.name];
      const where = source === ctx.request ? `request_context.${field.name}` : `entities.${field.name}`;
      if (!Array.isArray(col)) {
        throw invalidInput(
          `on-demand feature view '${od.view.name}' needs the request field '${field.name}' (${field.valueType})`,
          {
            where,
            hint: `send "${field.name}": [one value per entity row] in "request_context" (or beside the entity keys)`,
          },
        );
      }
      if (col.length !== n)
        throw invalidInput(`request field '${field.name}' has ${col.length} values for ${n} entity rows`, { where });
      for (let i = 0; i < n; i++)
        (rows[i] as Record<string, unknown>)[field.name] = requestValue(field, col[i], `${where}[${i}]`);
    }
    const result = ctx.runners.get(od.view).run(rows);
    od.view.features.forEach((f, j) => {
      if (!od.features.includes(f)) return;
      const c = result.columns[j] as (typeof result.columns)[number];
      const statuses = new Array<FeatureStatus>(n);
      const values = new Array<unknown>(n);
      let failed = false;
      for (let i = 0; i < n; i++) {
        if (c.errors[i]) {
          statuses[i] = 'INVALID';
          values[i] = null;
          failed = true;
        } else {
          values[i] = rendered(c.values[i]);
          statuses[i] = c.values[i] === null ? 'NULL_VALUE' : 'PRESENT';
        }
      }
      const column: OnlineColumn & { errors?: (string | null)[] } = {
        values,
        statuses,
        event_timestamps: new Array<string>(n).fill(EPOCH),
      };
      if (failed) column.errors = c.errors;
      out.res.metadata.feature_names.push(onDemandColumnName(od.view.name, f.name, ctx.fullFeatureNames));
      out.res.results.push(column);
      out.types.push(f.valueType);
      out.refs.push(`${od.view.name}:${f.name}`);
    });
  }
  if (plan.hidden.length) {
    const hidden = new Set(plan.hidden);
    const keep = out.refs.map((r) => !(r && hidden.has(r)));
    out.res.metadata.feature_names = out.res.metadata.feature_names.filter((_x, i) => keep[i]);
    out.res.results = out.res.results.filter((_x, i) => keep[i]);
    out.types = out.types.filter((_x, i) => keep[i]);
    out.refs = out.refs.filter((_x, i) => keep[i]);
  }
  return out;
}

/**
 * Applies a training set's fitted transformations to an answer, column by column (`view:feature`), with the same
 * arithmetic as the training set's rows; a one-hot column becomes one column per category. Statuses and event
 * times are those of the input value.
 */
export function applyFittedOnline(answer: TypedAnswer, fitted: FittedTransform[], fullFeatureNames: boolean): TypedAnswer {
  if (!fitted.length) return answer;
  const out: TypedAnswer = { res: { metadata: { feature_names: [] }, results: [] }, types: [], refs: [] };
  const byRef = new Map(fitted.map((f) => [f.feature, f]));
  answer.refs.forEach((ref, i) => {
    const col = answer.res.results[i] as OnlineColumn;
    const name = answer.res.metadata.feature_names[i] as string;
    const t = ref ? byRef.get(ref) : undefined;
    if (!t) {
      out.res.metadata.feature_names.push(name);
      out.res.results.push(col);
      out.types.push(answer.types[i]);
      out.refs.push(ref);
      return;
    }
    const type = answer.types[i] as ValueTypeName;
    const applied = col.values.map((v, r) =>
      col.statuses[r] === 'INVALID' ? null : applyTransform(t.stats, onDemandInputValue(type, v)),
    );
    const [view, feature] = (ref as string).split(':') as [string, string];
    const cols = transformColumns({ column: fullFeatureNames ? `${view}__${feature}` : feature, stats: t.stats });
    cols.forEach((c, k) => {
      const values = applied.map((a) => (Array.isArray(a) ? a[k] : a));
      out.res.metadata.feature_names.push(c.name);
      out.res.results.push({
        ...col,
        values: values.map((v) => rendered(v ?? null)),
        statuses: col.statuses.map((s, r) => (s === 'PRESENT' && values[r] === null ? 'NULL_VALUE' : s)),
      });
      out.types.push(c.valueType);
      out.refs.push(cols.length > 1 ? `${ref}__${k}` : ref);
    });
  });
  return out;
}
