/**
 * Reads the documents users write to apply: Strata's own repo format and the Feast 0.x FeatureSet format from
 * the talk (kind: feature_set). Input is already-parsed YAML/JSON; every problem is reported with its location.
 */
import { parseDurationSeconds } from './duration.js';
import { invalidSpec } from './errors.js';
import type { EntitySpec, FeatureServiceSpec, FeatureViewSpec, RepoSpec } from './model.js';
import { parseValueType, type ValueTypeName } from './types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

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
  const name = str(o.name, `${where}.name`);
  let joinKeys = list(o.joinKeys ?? o.join_keys, `${where}.joinKeys`).map((k, i) => {
    const kw = `${where}.joinKeys[${i}]`;
    if (typeof k === 'string') return { name: k, valueType: typeAt(o.valueType ?? o.value_type, `${where}.valueType`) };
    if (!isObj(k)) throw invalidSpec(`${kw} must be a mapping {name, valueType}`, { where: kw });
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

function parseFeatures(v: unknown, where: string) {
  return list(v, where).map((f, i) => {
    const fw = `${where}[${i}]`;
    if (!isObj(f)) throw invalidSpec(`${fw} must be a mapping {name, valueType}`, { where: fw });
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
    ...opt('source', o.source as FeatureViewSpec['source']),
    ...opt('transformation', o.transformation as FeatureViewSpec['transformation']),
    ...opt('pipeline', o.pipeline as FeatureViewSpec['pipeline']),
  };
}

function parseService(o: unknown, where: string): FeatureServiceSpec {
  if (!isObj(o)) throw invalidSpec(`${where} must be a mapping`, { where });
  return {
    name: str(o.name, `${where}.name`),
    features: list(o.features, `${where}.features`).map((s, i) => {
      const sw = `${where}.features[${i}]`;
      if (typeof s === 'string') {
        const [view, feature] = s.split(':');
        return feature ? { view: view as string, features: [feature] } : { view: s };
      }
      if (!isObj(s)) throw invalidSpec(`${sw} must be "view", "view:feature" or {view, features}`, { where: sw });
      return {
        view: str(s.view, `${sw}.view`),
        ...opt('features', s.features === undefined ? undefined : list(s.features, `${sw}.features`).map(String)),
      };
    }),
    ...opt('description', o.description as string | undefined),
    ...opt('owner', o.owner as string | undefined),
    ...opt('tags', tags(o.tags)),
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
  let features = parseFeatures(spec.features, `${where}.spec.features`);
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

/** Parses one or more YAML/JSON documents (already parsed) into a repo spec. */
export function parseRepoDocuments(docs: unknown[], file = 'spec'): RepoDocument {
  const out: RepoDocument = { entities: [], featureViews: [], featureServices: [] };
  docs.forEach((doc, d) => {
    const where = docs.length > 1 ? `${file}#${d + 1}` : file;
    if (doc === null || doc === undefined) return;
    if (!isObj(doc)) throw invalidSpec(`${where}: expected a mapping at the top level`, { where });
    const kind = typeof doc.kind === 'string' ? doc.kind.toLowerCase() : undefined;
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
    if (kind !== undefined) {
      throw invalidSpec(`${where}: unknown kind '${String(doc.kind)}'`, {
        where,
        hint: 'use entity, feature_view, feature_service or feature_set, or a repo document with entities/featureViews/featureServices',
      });
    }
    if (typeof doc.project === 'string') out.project = doc.project;
    for (const [i, e] of list(doc.entities, `${where}.entities`).entries())
      out.entities.push(parseEntity(e, `${where}.entities[${i}]`));
    for (const [i, v] of list(doc.featureViews ?? doc.feature_views, `${where}.featureViews`).entries())
      out.featureViews.push(parseView(v, `${where}.featureViews[${i}]`));
    for (const [i, s] of list(doc.featureServices ?? doc.feature_services, `${where}.featureServices`).entries())
      out.featureServices.push(parseService(s, `${where}.featureServices[${i}]`));
  });
  return out;
}
