/**
 * The object model: entities, feature views and feature services, with spec validation that reports every
 * problem found (not just the first) in words a user can act on.
 */
import { invalidSpec } from './errors.js';
import { didYouMean } from './suggest.js';
import { type StreamSourceSpec, validateStreamSource } from './stream.js';
import type { PipelineSpec, SourceSpec, TransformationSpec } from './pipeline.js';
import { validatePipelineParts } from './pipeline.js';
import { parseValueType, type ValueTypeName } from './types.js';
import { normalizeOnDemandView, type OnDemandFeatureViewSpec, validateOnDemandView } from './on-demand.js';
import { checkTransform, type ModelTransformSpec } from './transformers.js';

export type ValidationPolicy = 'NONE' | 'ALWAYS' | 'STRICT';

export interface JoinKey {
  name: string;
  valueType: ValueTypeName;
}

export interface EntitySpec {
  name: string;
  joinKeys: JoinKey[];
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
}

export interface FeatureSpec {
  name: string;
  valueType: ValueTypeName;
  description?: string;
  tags?: Record<string, string>;
}

export interface FeatureViewSpec {
  name: string;
  /** Names of the entities this view is keyed by; their join keys are the view's key columns. */
  entities: string[];
  features: FeatureSpec[];
  /** Column holding the event time of each row. */
  timestampField: string;
  /** Optional column holding the row's creation time (tie-breaker in point-in-time joins). */
  createdTimestampField?: string;
  /** Rows older than this, counted back from the lookup time, are not served; 0 = no limit. */
  ttlSeconds: number;
  online: boolean;
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
  /** Great Expectations suite (JSON) run at ingest. */
  expectationSuite?: Record<string, unknown>;
  validationPolicy?: ValidationPolicy;
  /** Drift checks against the previous commit and where to send alerts. */
  monitoring?: MonitoringSpec;
  /** A Kafka topic that feeds the view in real time (run by the stream processor, apps/stream). */
  stream?: StreamSourceSpec;
  /** Fields from other systems (Feast, Hopsworks) with no Strata equivalent, kept for lossless round trips. */
  extras?: Record<string, unknown>;
  /** Where a pipeline reads the view's rows (a tagged union on kind). */
  source?: SourceSpec;
  /** What turns a window's source rows into the view's columns. */
  transformation?: TransformationSpec;
  /** How the pipeline cuts event time into windows. */
  pipeline?: PipelineSpec;
}

export interface MonitoringSpec {
  /** Thresholds over which a column counts as drifted (defaults: PSI 0.2, KS 0.1, Jensen-Shannon 0.1). */
  drift?: { psi?: number; ks?: number; js?: number };
  /** URL that receives a JSON POST when a commit drifts or fails validation. */
  alertWebhook?: string;
}

export interface FeatureServiceSpec {
  name: string;
  features: { view: string; features?: string[]; alias?: string }[];
  /**
   * Model-dependent transformations of some of its features (`view:feature`), fitted on each training set built from
   * the service and applied with that set's statistics when serving names the set.
   */
  transformations?: ModelTransformSpec[];
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
}

export type ObjectKind = 'entity' | 'feature_view' | 'feature_service' | 'on_demand_feature_view';

export type ObjectSpec<K extends ObjectKind = ObjectKind> = K extends 'entity'
  ? EntitySpec
  : K extends 'feature_view'
    ? FeatureViewSpec
    : K extends 'on_demand_feature_view'
      ? OnDemandFeatureViewSpec
      : FeatureServiceSpec;

/** The desired state a user applies: every object of one project. */
export interface RepoSpec {
  entities: EntitySpec[];
  featureViews: FeatureViewSpec[];
  featureServices: FeatureServiceSpec[];
  /** Views computed at request time by a TypeScript function (absent: none). */
  onDemandFeatureViews?: OnDemandFeatureViewSpec[];
}

export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RESERVED_COLUMNS = new Set(['__ingestion_id', '__row', '__commit_seq']);

export function checkName(kind: string, name: unknown, where: string, problems: string[]): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    problems.push(
      `${where}: ${kind} name ${JSON.stringify(name)} is not valid (use letters, digits and _, start with a letter or _, at most 63 characters)`,
    );
  }
}

function fail(problems: string[], what: string): never {
  throw invalidSpec(`${what} is not valid: ${problems.length} problem(s)`, {
    where: problems[0]?.split(':')[0],
    hint: problems.join('; '),
    details: { problems },
  });
}

export function validateEntity(e: EntitySpec, where = `entity '${e?.name}'`): string[] {
  const problems: string[] = [];
  checkName('entity', e.name, where, problems);
  if (!Array.isArray(e.joinKeys) || e.joinKeys.length === 0) {
    problems.push(`${where}: an entity needs at least one join key`);
  } else {
    const seen = new Set<string>();
    for (const [i, k] of e.joinKeys.entries()) {
      checkName('join key', k?.name, `${where}.joinKeys[${i}]`, problems);
      if (seen.has(k.name)) problems.push(`${where}: join key '${k.name}' appears twice`);
      seen.add(k.name);
      try {
        parseValueType(k.valueType);
      } catch {
        problems.push(`${where}.joinKeys[${i}]: unknown value type ${JSON.stringify(k.valueType)}`);
      }
    }
  }
  return problems;
}

export function validateFeatureView(
  v: FeatureViewSpec,
  entities: Map<string, EntitySpec>,
  where = `feature view '${v?.name}'`,
): string[] {
  const problems: string[] = [];
  checkName('feature view', v.name, where, problems);
  if (!Array.isArray(v.entities)) problems.push(`${where}: entities must be a list of entity names`);
  const keyCols = new Set<string>();
  for (const en of v.entities ?? []) {
    const e = entities.get(en);
    if (!e) {
      problems.push(`${where}: entity '${en}' is not defined (define it in the same apply or apply it first)`);
      continue;
    }
    for (const k of e.joinKeys) keyCols.add(k.name);
  }
  if (typeof v.timestampField !== 'string' || !v.timestampField) {
    problems.push(`${where}: timestampField (the event-time column) is missing`);
  } else {
    checkName('timestamp column', v.timestampField, where, problems);
  }
  if (v.createdTimestampField !== undefined) checkName('created timestamp column', v.createdTimestampField, where, problems);
  if (!Array.isArray(v.features) || v.features.length === 0) {
    problems.push(`${where}: a feature view needs at least one feature`);
  }
  const seen = new Set<string>();
  for (const [i, f] of (v.features ?? []).entries()) {
    const fw = `${where}.features[${i}]`;
    checkName('feature', f?.name, fw, problems);
    if (seen.has(f.name)) problems.push(`${where}: feature '${f.name}' appears twice`);
    seen.add(f.name);
    if (keyCols.has(f.name)) problems.push(`${where}: feature '${f.name}' has the name of a join key`);
    if (f.name === v.timestampField || f.name === v.createdTimestampField)
      problems.push(`${where}: feature '${f.name}' has the name of a timestamp column`);
    if (RESERVED_COLUMNS.has(f.name)) problems.push(`${fw}: '${f.name}' is reserved`);
    try {
      parseValueType(f.valueType);
    } catch {
      problems.push(`${fw}: unknown value type ${JSON.stringify(f.valueType)} for feature '${f.name}'`);
    }
  }
  if (typeof v.ttlSeconds !== 'number' || !Number.isFinite(v.ttlSeconds) || v.ttlSeconds < 0) {
    problems.push(`${where}: ttlSeconds must be a number >= 0 (0 means no limit)`);
  }
  if (v.monitoring?.alertWebhook !== undefined && !/^https?:\/\/\S+$/.test(v.monitoring.alertWebhook)) {
    problems.push(`${where}: monitoring.alertWebhook must be an http(s) URL`);
  }
  for (const [k, x] of Object.entries(v.monitoring?.drift ?? {})) {
    if (typeof x !== 'number' || !(x > 0)) problems.push(`${where}: monitoring.drift.${k} must be a number > 0`);
  }
  if (v.validationPolicy && !['NONE', 'ALWAYS', 'STRICT'].includes(v.validationPolicy)) {
    problems.push(
      `${where}: validationPolicy must be NONE, ALWAYS or STRICT, not '${v.validationPolicy}'${didYouMean(String(v.validationPolicy), ['NONE', 'ALWAYS', 'STRICT'])}`,
    );
  }
  problems.push(...validateStreamSource(v, [...keyCols], where));
  problems.push(...validatePipelineParts(v as unknown as Record<string, unknown>, where));
  return problems;
}

export function validateFeatureService(
  s: FeatureServiceSpec,
  views: Map<string, FeatureViewSpec>,
  where = `feature service '${s?.name}'`,
  onDemand: Map<string, OnDemandFeatureViewSpec> = new Map(),
): string[] {
  const problems: string[] = [];
  checkName('feature service', s.name, where, problems);
  if (!Array.isArray(s.features) || s.features.length === 0) problems.push(`${where}: select at least one view`);
  const types = new Map<string, ValueTypeName>();
  for (const sel of s.features ?? []) {
    const v = views.get(sel.view) ?? onDemand.get(sel.view);
    if (!v) {
      problems.push(`${where}: feature view '${sel.view}' is not defined`);
      continue;
    }
    for (const f of sel.features ?? []) {
      if (!v.features.some((x) => x.name === f)) problems.push(`${where}: view '${sel.view}' has no feature '${f}'`);
    }
    for (const f of v.features)
      if (!sel.features?.length || sel.features.includes(f.name)) types.set(`${sel.view}:${f.name}`, f.valueType);
  }
  if (s.transformations !== undefined && !Array.isArray(s.transformations))
    problems.push(`${where}.transformations must be a list of {feature: view:feature, kind: ...}`);
  const transformed = new Set<string>();
  for (const [i, t] of (Array.isArray(s.transformations) ? s.transformations : []).entries()) {
    const tw = `${where}.transformations[${i}]`;
    if (typeof t?.feature !== 'string') {
      problems.push(`${tw}: feature (a view:feature of this service) is missing`);
      continue;
    }
    if (transformed.has(t.feature)) problems.push(`${tw}: '${t.feature}' is transformed twice`);
    transformed.add(t.feature);
    problems.push(...checkTransform(t, types.get(t.feature), tw));
  }
  return problems;
}

/** Normalizes (types parsed, defaults filled) and validates a whole repo spec; throws INVALID_SPEC listing every problem. */
export function validateRepo(repo: RepoSpec, existing?: Partial<RepoSpec>): RepoSpec {
  const problems: string[] = [];
  const dup = (kind: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) problems.push(`${kind} '${n}' is defined twice`);
      seen.add(n);
    }
  };
  const norm: RepoSpec = {
    entities: (repo.entities ?? []).map(normalizeEntity),
    featureViews: (repo.featureViews ?? []).map(normalizeFeatureView),
    featureServices: (repo.featureServices ?? []).map((s) => ({ ...s, features: s.features ?? [] })),
    ...(repo.onDemandFeatureViews?.length ? { onDemandFeatureViews: repo.onDemandFeatureViews.map(normalizeOnDemandView) } : {}),
  };
  dup(
    'on-demand feature view',
    (norm.onDemandFeatureViews ?? []).map((v) => v.name),
  );
  dup(
    'entity',
    norm.entities.map((e) => e.name),
  );
  dup(
    'feature view',
    norm.featureViews.map((v) => v.name),
  );
  dup(
    'feature service',
    norm.featureServices.map((s) => s.name),
  );
  const entities = new Map<string, EntitySpec>((existing?.entities ?? []).map((e) => [e.name, e]));
  for (const e of norm.entities) {
    problems.push(...validateEntity(e));
    entities.set(e.name, e);
  }
  const views = new Map<string, FeatureViewSpec>((existing?.featureViews ?? []).map((v) => [v.name, v]));
  for (const v of norm.featureViews) {
    problems.push(...validateFeatureView(v, entities));
    views.set(v.name, v);
  }
  const onDemand = new Map((existing?.onDemandFeatureViews ?? []).map((v) => [v.name, v]));
  for (const v of norm.onDemandFeatureViews ?? []) {
    problems.push(...validateOnDemandView(v, views));
    onDemand.set(v.name, v);
  }
  for (const s of norm.featureServices) problems.push(...validateFeatureService(s, views, undefined, onDemand));
  if (problems.length) fail(problems, 'the spec');
  return norm;
}

function tryType(t: unknown): ValueTypeName {
  try {
    return parseValueType(t);
  } catch {
    return t as ValueTypeName; // reported by validation with its location
  }
}

export function normalizeEntity(e: EntitySpec): EntitySpec {
  return { ...e, joinKeys: (e.joinKeys ?? []).map((k) => ({ name: k?.name, valueType: tryType(k?.valueType) })) };
}

export function normalizeFeatureView(v: FeatureViewSpec): FeatureViewSpec {
  return {
    ...v,
    entities: v.entities ?? [],
    features: (v.features ?? []).map((f) => ({ ...f, valueType: tryType(f?.valueType) })),
    ttlSeconds: v.ttlSeconds ?? 0,
    online: v.online ?? true,
  };
}

/** The key columns of a view, in entity order then join-key order. */
export function viewJoinKeys(view: FeatureViewSpec, entities: Map<string, EntitySpec> | EntitySpec[]): JoinKey[] {
  const map = Array.isArray(entities) ? new Map(entities.map((e) => [e.name, e])) : entities;
  const keys: JoinKey[] = [];
  for (const en of view.entities) {
    const e = map.get(en);
    if (!e) throw invalidSpec(`feature view '${view.name}' names entity '${en}', which is not registered`);
    for (const k of e.joinKeys) if (!keys.some((x) => x.name === k.name)) keys.push(k);
  }
  return keys;
}
