/**
 * Reads the documents users write to apply: Strata's own repo format and the Feast 0.x FeatureSet format from
 * the talk (kind: feature_set). Input is already-parsed YAML/JSON; every problem is reported with its location.
 */
import { parseDurationSeconds } from './duration.js';
import { invalidSpec } from './errors.js';
import { checkKeys, didYouMean } from './suggest.js';
import type { EntitySpec, FeatureServiceSpec, FeatureViewSpec, RepoSpec } from './model.js';
import type { OnDemandFeatureViewSpec } from './on-demand.js';
import type { ModelTransformSpec } from './transformers.js';
import { parseValueType, type ValueTypeName } from './types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys each object accepts (both spellings where Feast's snake_case is read too); anything else is an error. */
const KEYS = {
  repo: [
    'project',
    'entities',
    'featureViews',
    'feature_views',
    'featureServices',
    'feature_services',
    'onDemandFeatureViews',
    'on_demand_feature_views',
  ],
  kindDoc: ['kind', 'spec', 'apiVersion', 'metadata'],
  entity: ['name', 'joinKeys', 'join_keys', 'valueType', 'value_type', 'description', 'owner', 'tags'],
  joinKey: ['name', 'valueType', 'value_type', 'description'],
  feature: ['name', 'valueType', 'value_type', 'dtype', 'type', 'description', 'tags'],
  view: [
    'name',
    'entities',
    'features',
    'schema',
    'timestampField',
    'timestamp_field',
    'createdTimestampField',
    'created_timestamp_column',
    'ttlSeconds',
    'ttl',
    'maxAge',
    'max_age',
    'online',
    'description',
    'owner',
    'tags',
    'expectationSuite',
    'validationPolicy',
    'validation_policy',
    'monitoring',
    'stream',
    'source',
    'transformation',
    'pipeline',
    'extras',
  ],
  monitoring: ['drift', 'alertWebhook'],
  drift: ['psi', 'ks', 'js'],
  service: ['name', 'features', 'transformations', 'description', 'owner', 'tags'],
  serviceRef: ['view', 'features', 'alias'],
  serviceTransform: ['feature', 'kind'],
  onDemandView: ['name', 'sources', 'request', 'features', 'schema', 'transformation', 'description', 'owner', 'tags', 'extras'],
  onDemandSource: ['view', 'features'],
} as const;

const KINDS = ['entity', 'feature_view', 'feature_service', 'on_demand_feature_view', 'feature_set'];

export interface RepoDocument extends RepoSpec {
  project?: string;
}

function typeAt(v: unknown, where: string): ValueTypeName {
  return parseValueType(v, where);
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidSpec(`${where} must be a list`, { where });
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw invalidSpec(`${where} must be a non-empty string`, { where });
  return v;
}

function ttlOf(o: Obj, where: string): number {
  const raw = o.ttlSeconds ?? o.ttl ?? o.maxAge ?? o.max_age;
  return raw === undefined ? 0 : parseDurationSeconds(raw, `${where}.ttl`);
}

function tags(v: unknown): Record<string, string> | undefined {
  if (!isObj(v)) return undefined;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

function opt<T>(key: string, v: T | undefined): Partial<Record<string, T>> {
  return v === undefined ? {} : { [key]: v };
}

function parseEntity(o: unknown, where: string): EntitySpec {
  if (!isObj(o)) throw invalidSpec(`${where} must be a mapping`, { where });
  checkKeys(o, extraKeys(o, KEYS.entity), where);
  const name = str(o.name, `${where}.name`);
  let joinKeys = list(o.joinKeys ?? o.join_keys, `${where}.joinKeys`).map((k, i) => {
    const kw = `${where}.joinKeys[${i}]`;
    if (typeof k === 'string') return { name: k, valueType: typeAt(o.valueType ?? o.value_type, `${where}.valueType`) };
    if (!isObj(k)) throw invalidSpec(`${kw} must be a mapping {name, valueType}`, { where: kw });
    checkKeys(k, KEYS.joinKey, kw);
    return { name: str(k.name, `${kw}.name`), valueType: typeAt(k.valueType ?? k.value_type, `${kw}.valueType`) };
  });
  if (joinKeys.length === 0 && (o.valueType ?? o.value_type) !== undefined) {
    joinKeys = [{ name, valueType: typeAt(o.valueType ?? o.value_type, `${where}.valueType`) }];
  }
  return {
    name,
    joinKeys,
    ...opt('description', o.description as string | undefined),
    ...opt('owner', o.owner as string | undefined),
    ...opt('tags', tags(o.tags)),
  };
}

function parseFeatures(v: unknown, where: string, strict = true) {
  return list(v, where).map((f, i) => {
    const fw = `${where}[${i}]`;
    if (!isObj(f)) throw invalidSpec(`${fw} must be a mapping {name, valueType}`, { where: fw });
    if (strict) checkKeys(f, KEYS.feature, fw);
    return {
      name: str(f.name, `${fw}.name`),
      valueType: typeAt(f.valueType ?? f.value_type ?? f.dtype ?? f.type, `${fw}.valueType`),
      ...opt('description', f.description as string | undefined),
      ...opt('tags', tags(f.tags)),
    };
  });
}

function parseView(o: unknown, where: string): FeatureViewSpec {
  if (!isObj(o)) throw invalidSpec(`${where} must be a mapping`, { where });
  checkKeys(o, extraKeys(o, KEYS.view), where);
  if (isObj(o.monitoring)) {
    checkKeys(o.monitoring, KEYS.monitoring, `${where}.monitoring`);
    if (isObj(o.monitoring.drift)) checkKeys(o.monitoring.drift, KEYS.drift, `${where}.monitoring.drift`);
  } else if (o.monitoring !== undefined && o.monitoring !== null) {
    throw invalidSpec(`${where}.monitoring must be a mapping {drift, alertWebhook}`, { where: `${where}.monitoring` });
  }
  if (
    o.expectationSuite !== undefined &&
    o.expectationSuite !== null &&
    (!isObj(o.expectationSuite) || !Array.isArray(o.expectationSuite.expectations))
  ) {
    throw invalidSpec(`${where}.expectationSuite must be a Great Expectations suite with an "expectations" list`, {
      where: `${where}.expectationSuite`,
      hint: 'write expectationSuite: {name: ..., expectations: [{type: expect_..., kwargs: {...}}]}',
    });
  }
  const policy = o.validationPolicy ?? o.validation_policy;
  return {
    name: str(o.name, `${where}.name`),
    entities: list(o.entities, `${where}.entities`).map((e, i) => str(e, `${where}.entities[${i}]`)),
    features: parseFeatures(o.features ?? o.schema, `${where}.features`),
    timestampField: str(o.timestampField ?? o.timestamp_field ?? 'event_timestamp', `${where}.timestampField`),
    ...opt('createdTimestampField', (o.createdTimestampField ?? o.created_timestamp_column) as string | undefined),
    ttlSeconds: ttlOf(o, where),
    online: o.online === undefined ? true : Boolean(o.online),
    ...opt('description', o.description as string | undefined),
    ...opt('owner', o.owner as string | undefined),
    ...opt('tags', tags(o.tags)),
    ...opt('expectationSuite', isObj(o.expectationSuite) ? o.expectationSuite : undefined),
    ...opt('validationPolicy', policy as FeatureViewSpec['validationPolicy']),
    ...opt('monitoring', isObj(o.monitoring) ? (o.monitoring as FeatureViewSpec['monitoring']) : undefined),
    // Checked in full (with every problem listed) by validateFeatureView.
    ...opt('stream', o.stream === undefined ? undefined : (o.stream as FeatureViewSpec['stream'])),
    ...opt('source', o.source as FeatureViewSpec['source']),
    // Kept as it came (e.g. what an adapter recorded of a Feast 0.x feature set), so a spec sent to the server as JSON
    // keeps it.
    ...opt('extras', isObj(o.extras) ? (o.extras as Record<string, unknown>) : undefined),
    ...opt('transformation', o.transformation as FeatureViewSpec['transformation']),
    ...opt('pipeline', o.pipeline as FeatureViewSpec['pipeline']),
  };
}

function parseService(o: unknown, where: string): FeatureServiceSpec {
  if (!isObj(o)) throw invalidSpec(`${where} must be a mapping`, { where });
  checkKeys(o, extraKeys(o, KEYS.service), where);
  return {
    name: str(o.name, `${where}.name`),
    features: list(o.features, `${where}.features`).map((s, i) => {
      const sw = `${where}.features[${i}]`;
      if (typeof s === 'string') {
        const [view, feature] = s.split(':');
        return feature ? { view: view as string, features: [feature] } : { view: s };
      }
      if (!isObj(s)) throw invalidSpec(`${sw} must be "view", "view:feature" or {view, features}`, { where: sw });
      checkKeys(s, KEYS.serviceRef, sw);
      return {
        view: str(s.view, `${sw}.view`),
        ...opt('features', s.features === undefined ? undefined : list(s.features, `${sw}.features`).map(String)),
      };
    }),
    ...opt(
      'transformations',
      o.transformations === undefined
        ? undefined
        : list(o.transformations, `${where}.transformations`).map((t, i) => {
            const tw = `${where}.transformations[${i}]`;
            if (!isObj(t)) throw invalidSpec(`${tw} must be {feature: view:feature, kind: ...}`, { where: tw });
            checkKeys(t, KEYS.serviceTransform, tw);
            return { feature: str(t.feature, `${tw}.feature`), kind: str(t.kind, `${tw}.kind`) } as ModelTransformSpec;
          }),
    ),
    ...opt('description', o.description as string | undefined),
    ...opt('owner', o.owner as string | undefined),
    ...opt('tags', tags(o.tags)),
  };
}

/** An on-demand view: sources (views and their features), request fields, output features, a TypeScript function. */
function parseOnDemandView(o: unknown, where: string): OnDemandFeatureViewSpec {
  if (!isObj(o)) throw invalidSpec(`${where} must be a mapping`, { where });
  checkKeys(o, extraKeys(o, KEYS.onDemandView), where);
  const request = o.request === undefined ? undefined : parseFeatures(o.request, `${where}.request`);
  return {
    name: str(o.name, `${where}.name`),
    sources: list(o.sources, `${where}.sources`).map((s, i) => {
      const sw = `${where}.sources[${i}]`;
      if (typeof s === 'string') return { view: s };
      if (!isObj(s)) throw invalidSpec(`${sw} must be "view" or {view, features}`, { where: sw });
      checkKeys(s, KEYS.onDemandSource, sw);
      return {
        view: str(s.view, `${sw}.view`),
        ...opt('features', s.features === undefined ? undefined : list(s.features, `${sw}.features`).map(String)),
      };
    }),
    ...opt(
      'request',
      request?.map((r) => ({ name: r.name, valueType: r.valueType })),
    ),
    features: parseFeatures(o.features ?? o.schema, `${where}.features`),
    // Checked in full by validateOnDemandView.
    transformation: o.transformation as OnDemandFeatureViewSpec['transformation'],
    ...opt('description', o.description as string | undefined),
    ...opt('owner', o.owner as string | undefined),
    ...opt('tags', tags(o.tags)),
    ...opt('extras', isObj(o.extras) ? (o.extras as Record<string, unknown>) : undefined),
  };
}

const TS_NAMES = ['event_timestamp', 'event_time', 'timestamp', 'ts', 'dt', 'datetime'];

/** Feast 0.x FeatureSet: `kind: feature_set`, `spec: {name, entities: [{name, valueType}], features, maxAge}`. */
function parseFeatureSet(doc: Obj, where: string): { entities: EntitySpec[]; view: FeatureViewSpec } {
  const spec = doc.spec;
  if (!isObj(spec))
    throw invalidSpec(`${where}.spec is missing (a feature_set document needs spec: {name, entities, features})`, { where });
  const name = str(spec.name, `${where}.spec.name`);
  const entities = list(spec.entities, `${where}.spec.entities`).map((e, i) => {
    const ew = `${where}.spec.entities[${i}]`;
    if (!isObj(e)) throw invalidSpec(`${ew} must be a mapping {name, valueType}`, { where: ew });
    const en = str(e.name, `${ew}.name`);
    return { name: en, joinKeys: [{ name: en, valueType: typeAt(e.valueType ?? e.value_type, `${ew}.valueType`) }] };
  });
  // Feast 0.x features carry schema constraints (presence, domains) Strata does not model: their keys are not checked.
  let features = parseFeatures(spec.features, `${where}.spec.features`, false);
  let timestampField = (spec.timestampField ?? spec.timestamp_field) as string | undefined;
  if (!timestampField) {
    // The talk's example lists its event-time column `dt` among the features with type TIMESTAMP.
    const ts = features.find((f) => f.valueType === 'UNIX_TIMESTAMP' && TS_NAMES.includes(f.name));
    timestampField = ts?.name ?? 'event_timestamp';
  }
  features = features.filter((f) => f.name !== timestampField);
  const labels = isObj(spec.labels) ? spec.labels : undefined;
  return {
    entities,
    view: {
      name,
      entities: entities.map((e) => e.name),
      features,
      timestampField,
      ttlSeconds: ttlOf(spec, `${where}.spec`),
      online: true,
      ...opt('tags', tags(labels)),
      extras: { source: 'feast-0.x-feature-set', ...(spec.source === undefined ? {} : { featureSetSource: spec.source }) },
    },
  };
}

/** A `kind:` document without `spec:` holds the object's own keys beside `kind` (and apiVersion/metadata). */
function extraKeys(o: Obj, keys: readonly string[]): readonly string[] {
  return 'kind' in o ? [...keys, ...KEYS.kindDoc] : keys;
}

/** Parses one or more YAML/JSON documents (already parsed) into a repo spec. */
export function parseRepoDocuments(docs: unknown[], file = 'spec'): RepoDocument {
  const out: RepoDocument = { entities: [], featureViews: [], featureServices: [] };
  if (!docs.some((d) => d !== null && d !== undefined)) {
    throw invalidSpec(`${file} is empty: it defines nothing to apply`, {
      where: file,
      hint: 'write entities, featureViews and featureServices (or kind: entity/feature_view/feature_service/feature_set documents)',
    });
  }
  docs.forEach((doc, d) => {
    const where = docs.length > 1 ? `${file}#${d + 1}` : file;
    if (doc === null || doc === undefined) return;
    if (!isObj(doc)) throw invalidSpec(`${where}: expected a mapping at the top level`, { where });
    const kind = typeof doc.kind === 'string' ? doc.kind.toLowerCase() : undefined;
    if (kind !== undefined && doc.spec !== undefined) checkKeys(doc, KEYS.kindDoc, where);
    if (kind === 'feature_set' || kind === 'featureset') {
      const fs = parseFeatureSet(doc, where);
      for (const e of fs.entities) if (!out.entities.some((x) => x.name === e.name)) out.entities.push(e);
      out.featureViews.push(fs.view);
      return;
    }
    if (kind === 'entity') {
      out.entities.push(parseEntity(doc.spec ?? doc, where));
      return;
    }
    if (kind === 'feature_view' || kind === 'featureview') {
      out.featureViews.push(parseView(doc.spec ?? doc, where));
      return;
    }
    if (kind === 'feature_service' || kind === 'featureservice') {
      out.featureServices.push(parseService(doc.spec ?? doc, where));
      return;
    }
    if (kind === 'on_demand_feature_view' || kind === 'ondemandfeatureview') {
      out.onDemandFeatureViews = [...(out.onDemandFeatureViews ?? []), parseOnDemandView(doc.spec ?? doc, where)];
      return;
    }
    if (kind !== undefined) {
      throw invalidSpec(`${where}: unknown kind '${String(doc.kind)}'${didYouMean(String(doc.kind), KINDS)}`, {
        where,
        hint: 'use entity, feature_view, feature_service, on_demand_feature_view or feature_set, or a repo document with entities/featureViews/featureServices',
      });
    }
    checkKeys(doc, KEYS.repo, where);
    if (typeof doc.project === 'string') out.project = doc.project;
    for (const [i, e] of list(doc.entities, `${where}.entities`).entries())
      out.entities.push(parseEntity(e, `${where}.entities[${i}]`));
    for (const [i, v] of list(doc.featureViews ?? doc.feature_views, `${where}.featureViews`).entries())
      out.featureViews.push(parseView(v, `${where}.featureViews[${i}]`));
    for (const [i, s] of list(doc.featureServices ?? doc.feature_services, `${where}.featureServices`).entries())
      out.featureServices.push(parseService(s, `${where}.featureServices[${i}]`));
    for (const [i, v] of list(doc.onDemandFeatureViews ?? doc.on_demand_feature_views, `${where}.onDemandFeatureViews`).entries())
      out.onDemandFeatureViews = [
        ...(out.onDemandFeatureViews ?? []),
        parseOnDemandView(v, `${where}.onDemandFeatureViews[${i}]`),
      ];
  });
  return out;
}
