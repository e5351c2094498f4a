/**
 * On-demand feature views: a TypeScript function over request data and other views' features, computed per entity
 * row at serving time and, with the same code and the same value forms, in training sets. The spec checks, the
 * resolution of a feature selection that names on-demand views, and the runner (a `node:vm` context with a time
 * limit, so a function that loops forever is stopped and every call gets the same built-ins) all live here, so the
 * serving app and the training-set builder cannot drift apart.
 */
import { runInContext, Script, createContext, type Context } from 'node:vm';
import { CoerceError, coerceValue } from './coerce.js';
import { invalidInput, StrataError } from './errors.js';
import { type ResolvedSelection, resolveFeatureRefs, serviceFeatureRefs } from './features.js';
import type { FeatureSpec, FeatureViewSpec, RepoSpec } from './model.js';
import { NAME_RE } from './model.js';
import { parseValueType, type ValueTypeName } from './types.js';

export interface OnDemandTransformationSpec {
  kind: 'typescript';
  /** Path of the module (relative to the spec file); read and bundled at apply. */
  module?: string;
  /** The exported function's name (default: `default`). */
  export?: string;
  /** The bundled script (set at apply). */
  code?: string;
  /** sha256 of `code` (set at apply). */
  codeHash?: string;
  /** Time limit of one call over a batch of entity rows (default 200 ms). */
  timeoutMs?: number;
}

/** A request field: a value the caller sends with each entity row (Feast's RequestSource schema). */
export interface RequestFieldSpec {
  name: string;
  valueType: ValueTypeName;
}

export interface OnDemandFeatureViewSpec {
  name: string;
  /** Features of other (stored) views the function reads; a source without `features` reads all of them. */
  sources: { view: string; features?: string[] }[];
  /** Request data the function reads, sent by the caller beside the entity keys. */
  request?: RequestFieldSpec[];
  /** What the function returns for each row. */
  features: FeatureSpec[];
  transformation: OnDemandTransformationSpec;
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
  /** Fields from other systems (a Feast on-demand view's Python source) kept for round trips. */
  extras?: Record<string, unknown>;
}

/** Value types an on-demand function can read and return (scalars). */
export const ON_DEMAND_TYPES: readonly ValueTypeName[] = [
  'INT32',
  'INT64',
  'FLOAT',
  'DOUBLE',
  'STRING',
  'BOOL',
  'UNIX_TIMESTAMP',
];

export const DEFAULT_ON_DEMAND_TIMEOUT_MS = 200;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The names and types of the row a function gets: the sources' features, then the request fields. */
export function onDemandInputs(
  spec: OnDemandFeatureViewSpec,
  views: Map<string, FeatureViewSpec>,
): { name: string; valueType: ValueTypeName; view?: string }[] {
  const out: { name: string; valueType: ValueTypeName; view?: string }[] = [];
  for (const s of spec.sources ?? []) {
    const v = views.get(s.view);
    if (!v) continue;
    const names = s.features?.length ? s.features : v.features.map((f) => f.name);
    for (const n of names) {
      const f = v.features.find((g) => g.name === n);
      if (f) out.push({ name: f.name, valueType: f.valueType, view: v.name });
    }
  }
  for (const r of spec.request ?? []) out.push({ name: r.name, valueType: r.valueType });
  return out;
}

export function normalizeOnDemandView(v: OnDemandFeatureViewSpec): OnDemandFeatureViewSpec {
  const type = (t: unknown) => {
    try {
      return parseValueType(t);
    } catch {
      return t as ValueTypeName;
    }
  };
  return {
    ...v,
    sources: v.sources ?? [],
    ...(v.request ? { request: v.request.map((r) => ({ name: r?.name, valueType: type(r?.valueType) })) } : {}),
    features: (v.features ?? []).map((f) => ({ ...f, valueType: type(f?.valueType) })),
  };
}

/** Every problem with an on-demand view (its sources must be stored views of the same project). */
export function validateOnDemandView(
  v: OnDemandFeatureViewSpec,
  views: Map<string, FeatureViewSpec>,
  where = `on-demand feature view '${v?.name}'`,
): string[] {
  const problems: string[] = [];
  if (typeof v.name !== 'string' || !NAME_RE.test(v.name))
    problems.push(`${where}: name ${JSON.stringify(v.name)} is not valid (letters, digits and _, at most 63 characters)`);
  if (views.has(v.name)) problems.push(`${where}: a feature view of the same name exists`);
  if (!Array.isArray(v.sources)) problems.push(`${where}: sources must be a list of {view, features}`);
  const seen = new Map<string, string>();
  const input = (name: string, from: string) => {
    const before = seen.get(name);
    if (before)
      problems.push(
        `${where}: input '${name}' comes from both ${before} and ${from} (the function's row has one field per name)`,
      );
    seen.set(name, from);
  };
  for (const [i, s] of (Array.isArray(v.sources) ? v.sources : []).entries()) {
    const sw = `${where}.sources[${i}]`;
    if (!isObj(s) || typeof s.view !== 'string') {
      problems.push(`${sw} must be {view: <feature view>, features: [...]}`);
      continue;
    }
    const fv = views.get(s.view);
    if (!fv) {
      problems.push(`${sw}: feature view '${s.view}' is not defined (an on-demand view reads stored views)`);
      continue;
    }
    for (const n of s.features ?? fv.features.map((f) => f.name)) {
      if (!fv.features.some((f) => f.name === n)) problems.push(`${sw}: view '${s.view}' has no feature '${n}'`);
      else input(n, `view '${s.view}'`);
    }
  }
  for (const [i, r] of (v.request ?? []).entries()) {
    const rw = `${where}.request[${i}]`;
    if (!isObj(r) || typeof r.name !== 'string' || !NAME_RE.test(r.name)) {
      problems.push(`${rw}: a request field needs a valid name`);
      continue;
    }
    if (!ON_DEMAND_TYPES.includes(r.valueType))
      problems.push(`${rw}: value type ${JSON.stringify(r.valueType)} is not one of ${ON_DEMAND_TYPES.join(', ')}`);
    input(r.name, 'the request');
  }
  if (!(Array.isArray(v.sources) && v.sources.length) && !v.request?.length)
    problems.push(`${where}: give at least one source view or request field (the function's inputs)`);
  if (!Array.isArray(v.features) || v.features.length === 0)
    problems.push(`${where}: an on-demand view needs at least one feature`);
  const out = new Set<string>();
  for (const [i, f] of (v.features ?? []).entries()) {
    const fw = `${where}.features[${i}]`;
    if (typeof f?.name !== 'string' || !NAME_RE.test(f.name))
      problems.push(`${fw}: feature name ${JSON.stringify(f?.name)} is not valid`);
    if (out.has(f?.name)) problems.push(`${where}: feature '${f.name}' appears twice`);
    out.add(f?.name);
    if (!ON_DEMAND_TYPES.includes(f?.valueType))
      problems.push(`${fw}: value type ${JSON.stringify(f?.valueType)} is not one of ${ON_DEMAND_TYPES.join(', ')}`);
  }
  const t = v.transformation as unknown;
  const tw = `${where}.transformation`;
  if (!isObj(t) || t.kind !== 'typescript') {
    problems.push(`${tw} must be {kind: typescript, module: <path>, export: <function>}`);
  } else {
    if (typeof t.code !== 'string' && typeof t.module !== 'string')
      problems.push(`${tw}: give module (a TypeScript module exporting a function from an input row to an output row)`);
    if (t.export !== undefined && (typeof t.export !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(t.export)))
      problems.push(`${tw}.export must be the name of an exported function`);
    if (t.timeoutMs !== undefined && !(typeof t.timeoutMs === 'number' && t.timeoutMs > 0))
      problems.push(`${tw}.timeoutMs must be a number > 0`);
    for (const k of Object.keys(t))
      if (!['kind', 'module', 'export', 'code', 'codeHash', 'timeoutMs'].includes(k))
        problems.push(`${tw}: unknown field '${k}'`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------ resolution

/** One on-demand view in a selection: the features asked for. */
export interface OnDemandSelection {
  view: OnDemandFeatureViewSpec;
  features: FeatureSpec[];
}

/**
 * A selection split into stored views (read from the stores, including the on-demand views' inputs) and on-demand
 * views (computed); `hidden` are the `view:feature` inputs nobody asked for, which the answer leaves out.
 */
export interface FeaturePlan {
  selections: ResolvedSelection[];
  onDemand: OnDemandSelection[];
  hidden: string[];
}

/** Resolves "view:feature" references where a view may be on-demand. Without on-demand views: resolveFeatureRefs. */
export function planFeatureRefs(repo: RepoSpec, refs: string[]): FeaturePlan {
  const odfvs = new Map((repo.onDemandFeatureViews ?? []).map((v) => [v.name, v]));
  if (!Array.isArray(refs)) return { selections: resolveFeatureRefs(repo, refs), onDemand: [], hidden: [] };
  const stored: string[] = [];
  const byView = new Map<string, OnDemandSelection>();
  for (const ref of refs) {
    const [viewName, featureName] = typeof ref === 'string' ? ref.split(':') : [];
    const od = viewName ? odfvs.get(viewName) : undefined;
    if (!od) {
      stored.push(ref);
      continue;
    }
    let sel = byView.get(od.name);
    if (!sel) {
      sel = { view: od, features: [] };
      byView.set(od.name, sel);
    }
    const wanted =
      featureName === undefined || featureName === '*' ? od.features : od.features.filter((f) => f.name === featureName);
    if (!wanted.length) {
      throw new StrataError('UNKNOWN_FEATURE', `on-demand feature view '${od.name}' has no feature '${featureName}'`, {
        where: `feature reference '${ref}'`,
        hint: `its features are ${od.features.map((f) => f.name).join(', ')}`,
      });
    }
    for (const f of wanted) if (!sel.features.includes(f)) sel.features.push(f);
  }
  if (byView.size === 0) return { selections: resolveFeatureRefs(repo, refs), onDemand: [], hidden: [] };
  const asked = new Set(
    stored.length ? resolveFeatureRefs(repo, stored).flatMap((s) => s.features.map((f) => `${s.view.name}:${f.name}`)) : [],
  );
  const views = new Map(repo.featureViews.map((v) => [v.name, v]));
  const inputs: string[] = [];
  for (const { view } of byView.values()) {
    for (const i of onDemandInputs(view, views)) if (i.view) inputs.push(`${i.view}:${i.name}`);
  }
  const hidden = [...new Set(inputs)].filter((r) => !asked.has(r));
  const all = [...stored, ...hidden];
  return { selections: all.length ? resolveFeatureRefs(repo, all) : [], onDemand: [...byView.values()], hidden };
}

/** A feature service resolved like planFeatureRefs (its views may be on-demand). */
export function planFeatureService(repo: RepoSpec, name: string): FeaturePlan {
  return planFeatureRefs(repo, serviceFeatureRefs(repo, name));
}

// ------------------------------------------------------------------------------------------------ value forms

/**
 * The value a function reads for one input, the same wherever it comes from (Redis, Postgres, Arrow, JSON): numbers
 * for INT32/INT64/FLOAT/DOUBLE (an INT64 beyond 2^53 loses precision, as in JavaScript), strings, booleans, a Date for
 * UNIX_TIMESTAMP, null when missing.
 */
export function onDemandInputValue(valueType: ValueTypeName, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (valueType) {
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      // Strings: a JSON rendering of a big INT64 or a non-finite float ('NaN', 'Infinity').
      return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v);
    case 'UNIX_TIMESTAMP':
      if (v instanceof Date) return new Date(v.getTime());
      return new Date(typeof v === 'string' ? Date.parse(v) : typeof v === 'bigint' ? Number(v) : (v as number));
    default:
      return v;
  }
}

/** A request field's value sent by a caller (JSON) or an entity row, checked against its declared type. */
export function requestValue(field: RequestFieldSpec, v: unknown, where: string): unknown {
  try {
    return onDemandInputValue(field.valueType, coerceValue(field.valueType, v));
  } catch (err) {
    if (!(err instanceof CoerceError)) throw err;
    throw invalidInput(`${where}: request field '${field.name}' (${field.valueType}): ${err.message}`, {
      where,
      hint: `send '${field.name}' as a ${field.valueType} value with each entity row`,
    });
  }
}

/** Checks one returned value against the feature's type; returns the canonical value or a problem. */
function outputValue(f: FeatureSpec, v: unknown): { value: unknown } | { problem: string } {
  if (v === null) return { value: null };
  if (v === undefined) return { problem: `the function returned no '${f.name}'` };
  const wrong = () => ({
    problem: `'${f.name}' should be ${f.valueType} but the function returned ${typeof v === 'object' ? JSON.stringify(v) : `${typeof v} ${String(v)}`}`,
  });
  switch (f.valueType) {
    case 'DOUBLE':
      return typeof v === 'number' ? { value: v } : wrong();
    case 'FLOAT':
      // Stored as a 32-bit float offline: the online answer is rounded the same way.
      return typeof v === 'number' ? { value: Math.fround(v) } : wrong();
    case 'INT32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? { value: v } : wrong();
    case 'INT64':
      if (typeof v === 'bigint') return { value: Number(v) };
      return typeof v === 'number' && Number.isSafeInteger(v) ? { value: v } : wrong();
    case 'STRING':
      return typeof v === 'string' ? { value: v } : wrong();
    case 'BOOL':
      return typeof v === 'boolean' ? { value: v } : wrong();
    case 'UNIX_TIMESTAMP':
      if (typeof v === 'object' && typeof (v as Date).getTime === 'function') {
        const ms = (v as Date).getTime();
        return Number.isFinite(ms) ? { value: new Date(ms) } : wrong();
      }
      return wrong();
    default:
      return wrong();
  }
}

// ------------------------------------------------------------------------------------------------ runner

/** The result of one on-demand view over a batch of rows: one column per feature; `errors[i]` set where row i failed. */
export interface OnDemandResult {
  columns: { values: unknown[]; errors: (string | null)[] }[];
}

const GLOBAL = '__strataOnDemand';

const DRIVER = new Script(`(() => {
  const mod = globalThis.${GLOBAL};
  const fn = mod && (typeof mod[__export] === 'function' ? mod[__export] : __export === 'default' && typeof mod === 'function' ? mod : undefined);
  if (typeof fn !== 'function') {
    throw new TypeError('the module has no exported function ' + JSON.stringify(__export) + ' (exports: ' + Object.keys(mod || {}).join(', ') + ')');
  }
  const rows = __rows;
  const out = new Array(rows.length);
  const errs = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    try {
      const r = fn(rows[i]);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') throw new TypeError('the function must be synchronous; it returned a promise');
      out[i] = r;
      errs[i] = null;
    } catch (e) {
      out[i] = undefined;
      errs[i] = ((e && e.name) || 'Error') + ': ' + String((e && e.message) || e);
    }
  }
  return { out, errs };
})()`);

/**
 * Runs one on-demand view's bundled code. The module is loaded once into its own `node:vm` context (no `require`,
 * no `process`, its own built-ins); each call runs the function over a batch of rows inside that context under a time
 * limit. A row that throws, or returns a value of the wrong type, fails that row's features with a message; a batch
 * over the time limit fails every row.
 */
export class OnDemandRunner {
  readonly timeoutMs: number;
  private readonly context: Context;
  private loadError: string | undefined;

  constructor(
    readonly spec: OnDemandFeatureViewSpec,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? spec.transformation.timeoutMs ?? DEFAULT_ON_DEMAND_TIMEOUT_MS;
    this.context = createContext({});
    const code = spec.transformation.code;
    if (typeof code !== 'string') {
      this.loadError = `on-demand feature view '${spec.name}' has no code (apply it with the SDK or CLI, which bundles the module)`;
      return;
    }
    try {
      runInContext(code, this.context, { timeout: Math.max(this.timeoutMs, 1000), filename: `on-demand:${spec.name}` });
    } catch (err) {
      this.loadError = `the module of on-demand feature view '${spec.name}' does not load: ${(err as Error)?.message ?? String(err)}`;
    }
  }

  /** Computes the view's features for each input row (values in onDemandInputValue's forms). */
  run(rows: Record<string, unknown>[]): OnDemandResult {
    const features = this.spec.features;
    const columns = features.map(() => ({
      values: new Array<unknown>(rows.length).fill(null),
      errors: new Array<string | null>(rows.length).fill(null),
    }));
    const failAll = (message: string) => {
      for (const c of columns) c.errors.fill(message);
      return { columns };
    };
    if (this.loadError) return failAll(this.loadError);
    let res: { out: unknown[]; errs: (string | null)[] };
    try {
      this.context.__rows = rows;
      this.context.__export = this.spec.transformation.export ?? 'default';
      res = DRIVER.runInContext(this.context, { timeout: this.timeoutMs }) as typeof res;
    } catch (err) {
      const e = err as Error & { code?: string };
      return failAll(
        e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT'
          ? `the function did not finish within ${this.timeoutMs} ms (stopped)`
          : `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`,
      );
    } finally {
      this.context.__rows = undefined;
    }
    for (let i = 0; i < rows.length; i++) {
      const err = res.errs[i];
      const r = res.out[i] as Record<string, unknown> | null | undefined;
      if (err) {
        for (const c of columns) c.errors[i] = `the function threw ${err}`;
        continue;
      }
      if (r === null || typeof r !== 'object' || Array.isArray(r)) {
        const got = r === null ? 'null' : Array.isArray(r) ? 'an array' : typeof r;
        for (const c of columns)
          c.errors[i] = `the function must return an object {${features.map((f) => f.name).join(', ')}}; it returned ${got}`;
        continue;
      }
      const extra = Object.keys(r).filter((k) => !features.some((f) => f.name === k));
      features.forEach((f, j) => {
        const col = columns[j] as (typeof columns)[number];
        if (extra.length) {
          col.errors[i] = `the function returned unexpected field(s) ${extra.join(', ')} (declare them as features or drop them)`;
          return;
        }
        const v = outputValue(f, r[f.name]);
        if ('problem' in v) col.errors[i] = v.problem;
        else col.values[i] = v.value;
      });
    }
    return { columns };
  }
}

/** Runners per code hash, so a registry refresh with the same code keeps its loaded context. */
export class OnDemandRunners {
  private readonly runners = new Map<string, OnDemandRunner>();

  get(spec: OnDemandFeatureViewSpec): OnDemandRunner {
    const key = `${spec.name}\u0000${spec.transformation.codeHash ?? spec.transformation.code ?? ''}\u0000${spec.transformation.export ?? ''}\u0000${JSON.stringify(spec.features)}`;
    let r = this.runners.get(key);
    if (!r) {
      if (this.runners.size > 1000) this.runners.clear();
      r = new OnDemandRunner(spec);
      this.runners.set(key, r);
    }
    return r;
  }
}

/** The column names an on-demand view's features get in an answer (Feast's `view__feature` with full names). */
export function onDemandColumnName(view: string, feature: string, fullFeatureNames: boolean): string {
  return fullFeatureNames ? `${view}__${feature}` : feature;
}
