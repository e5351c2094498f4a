/**
 * Hopsworks (hsfs) JSON DTOs <-> Strata specs. A feature group becomes a feature view keyed by an entity made of its
 * primary key; a Hopsworks feature view (a query of joined feature groups, with labels) becomes a feature service;
 * training datasets have no Strata object and are kept in the repo's extras. docs/adapters/hopsworks.md has the
 * field-by-field table.
 */
import { type EntitySpec, type FeatureSpec, type FeatureViewSpec, invalidInput, NAME_RE, type ValueTypeName } from '@strata/core';
import type { Extras, ImportReport, ServiceWithExtras } from '../report.js';
import { fromHiveType, fromOnlineType, toHiveType, toOnlineType } from './types.js';

export type Dto = Record<string, unknown>;
const isObj = (v: unknown): v is Dto => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const clone = <T>(x: T): T => structuredClone(x);

function omit(o: Dto, keys: string[]): Dto {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

export const FEATURE_GROUP_TYPES = ['cachedFeaturegroupDTO', 'streamFeatureGroupDTO', 'onDemandFeaturegroupDTO'] as const;
export type FeatureGroupType = (typeof FEATURE_GROUP_TYPES)[number];

// ------------------------------------------------------------------------------------------------ expectation suites

/** Hopsworks expectation suite (kwargs and meta as JSON strings) -> Great Expectations suite JSON. */
export function suiteFromHopsworks(s: Dto, where: string): { suite: Record<string, unknown>; rest: Dto } {
  const parse = (v: unknown, w: string): unknown => {
    if (typeof v !== 'string') return v ?? {};
    try {
      return JSON.parse(v);
    } catch (e) {
      throw invalidInput(`${w} is not valid JSON: ${(e as Error).message}`, {
        where: w,
        hint: 'hsfs stores kwargs and meta as JSON strings',
      });
    }
  };
  const expectations = ((s.expectations ?? []) as Dto[]).map((e, i) => ({
    expectation_type: str(e.expectationType),
    kwargs: parse(e.kwargs, `${where}.expectations[${i}].kwargs`),
    meta: parse(e.meta, `${where}.expectations[${i}].meta`),
  }));
  const suite: Record<string, unknown> = {
    expectation_suite_name: str(s.expectationSuiteName),
    expectations,
    meta: parse(s.meta, `${where}.meta`),
    ...(s.dataAssetType !== undefined && s.dataAssetType !== null ? { data_asset_type: s.dataAssetType } : {}),
  };
  const rest: Dto = { ...omit(s, ['expectationSuiteName', 'expectations', 'meta']), $keys: Object.keys(s) };
  delete rest.dataAssetType;
  if (s.dataAssetType === null) rest.$dataAssetTypeNull = true;
  if (typeof s.meta === 'string') rest.$meta = s.meta;
  // The original JSON strings are kept so an unchanged suite is written back with the same spelling.
  const extraPerExpectation = ((s.expectations ?? []) as Dto[]).map((e) => ({
    ...omit(e, ['expectationType', 'kwargs', 'meta']),
    ...(typeof e.kwargs === 'string' ? { $kwargs: e.kwargs } : {}),
    ...(typeof e.meta === 'string' ? { $meta: e.meta } : {}),
  }));
  if (extraPerExpectation.some((x) => Object.keys(x).length)) rest.expectations = extraPerExpectation;
  return { suite, rest };
}

/** JSON text for a value: the original spelling when it still means the same value. */
function jsonText(value: unknown, original: unknown): string {
  if (typeof original === 'string') {
    try {
      if (JSON.stringify(JSON.parse(original)) === JSON.stringify(value)) return original;
    } catch {
      // not JSON: write the value
    }
  }
  return JSON.stringify(value);
}

const dropPrivate = (o: Dto): Dto => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('$')));

export function suiteToHopsworks(suite: Record<string, unknown>, rest: Dto = {}): Dto {
  const extra = (rest.expectations as Dto[] | undefined) ?? [];
  const out: Dto = {
    ...dropPrivate(omit(rest, ['expectations'])),
    expectationSuiteName: str(suite.expectation_suite_name),
    expectations: ((suite.expectations ?? []) as Dto[]).map((e, i) => ({
      ...dropPrivate(extra[i] ?? {}),
      expectationType: str(e.expectation_type),
      kwargs: jsonText(e.kwargs ?? {}, extra[i]?.$kwargs),
      meta: jsonText(e.meta ?? {}, extra[i]?.$meta),
    })),
    meta: jsonText(suite.meta ?? {}, rest.$meta),
    ...(suite.data_asset_type !== undefined ? { dataAssetType: suite.data_asset_type } : {}),
  };
  if (rest.$dataAssetTypeNull && out.dataAssetType === undefined) out.dataAssetType = null;
  const keys = rest.$keys as string[] | undefined;
  if (keys) for (const k of ['meta', 'expectations']) if (!keys.includes(k)) delete out[k];
  return out;
}

// ------------------------------------------------------------------------------------------------ feature groups

export interface DecodedFeatureGroup {
  view: FeatureViewSpec;
  /** The entity made of the group's primary key (name = key columns joined by `__`). */
  entity?: EntitySpec;
}

const FG_MAPPED = ['name', 'description', 'onlineEnabled', 'eventTime', 'features', 'expectationSuite', 'type'];
const FEATURE_MAPPED = ['name', 'type', 'description', 'primary'];

export function entityNameFor(keys: string[]): string {
  return keys.join('__');
}

/** Maps one feature group DTO. Unmappable features are kept in extras and listed in the report. */
export function decodeHopsworksFeatureGroup(dto: Dto, report: ImportReport, viewName?: string): DecodedFeatureGroup | undefined {
  const name = viewName ?? str(dto.name);
  const object = `feature group ${str(dto.name)} v${String(dto.version ?? 1)}`;
  const type = str(dto.type) || 'cachedFeaturegroupDTO';
  if (!FEATURE_GROUP_TYPES.includes(type as FeatureGroupType))
    throw invalidInput(`${object}: unknown type '${type}'`, {
      where: object,
      hint: `expected one of ${FEATURE_GROUP_TYPES.join(', ')}`,
    });
  if (!Array.isArray(dto.features))
    throw invalidInput(`${object} has no features list`, { where: object, hint: 'a feature group DTO lists its features' });
  const eventTime = str(dto.eventTime);
  if (!eventTime) {
    report.impossible.push({
      object,
      reason: 'has no eventTime: Strata needs an event-time column for point-in-time joins; the group is kept in the repo extras',
    });
    return undefined;
  }
  if (!NAME_RE.test(name)) {
    report.impossible.push({ object, reason: `'${name}' is not a valid Strata name; kept in the repo extras` });
    return undefined;
  }
  const keys: { name: string; valueType: ValueTypeName }[] = [];
  const features: FeatureSpec[] = [];
  const featureExtras: Record<string, Dto> = {};
  const unmapped: { index: number; feature: Dto }[] = [];
  let eventTimeType: string | undefined;
  const typeOf = (f: Dto) => {
    const offline = str(f.type);
    if (offline) return fromHiveType(offline);
    const online = str(f.onlineType);
    return online ? fromOnlineType(online) : {};
  };
  (dto.features as Dto[]).forEach((f, index) => {
    const fname = str(f.name);
    const rest: Dto = { ...omit(f, FEATURE_MAPPED), $keys: Object.keys(f), ...(f.type !== undefined ? { $type: f.type } : {}) };
    if ('description' in f && !str(f.description)) rest.$description = f.description ?? null;
    if (fname === eventTime) {
      eventTimeType = str(f.type);
      featureExtras[fname] = { ...rest, ...(f.description !== undefined ? { description: f.description } : {}) };
      return;
    }
    const m = typeOf(f);
    if (!m.type || !NAME_RE.test(fname)) {
      unmapped.push({ index, feature: clone(f) });
      report.impossible.push({
        object: `${object}.${fname}`,
        reason: m.type
          ? `'${fname}' is not a valid Strata name; kept in extras`
          : `type '${str(f.type) || str(f.onlineType)}' has no Strata value type; the feature is kept in extras and not served`,
      });
      return;
    }
    if (m.lossy) report.warnings.push(`${object}.${fname}: ${m.lossy}`);
    featureExtras[fname] = rest;
    if (f.primary === true) keys.push({ name: fname, valueType: m.type });
    else features.push({ name: fname, valueType: m.type, ...(str(f.description) ? { description: str(f.description) } : {}) });
  });
  if (eventTimeType && !/^(timestamp|date|bigint)$/i.test(eventTimeType))
    report.warnings.push(`${object}: eventTime column '${eventTime}' has type ${eventTimeType}`);
  const entity = keys.length ? { name: entityNameFor(keys.map((k) => k.name)), joinKeys: keys } : undefined;
  if (!entity) report.warnings.push(`${object} has no primary key; Strata keys it by no entity (one row per event time)`);
  const hops: Extras = {
    featureGroup: omit(dto, isObj(dto.expectationSuite) ? FG_MAPPED : FG_MAPPED.filter((k) => k !== 'expectationSuite')),
    ...(name !== str(dto.name) ? { $name: str(dto.name) } : {}),
    type,
    $keys: Object.keys(dto),
    ...('description' in dto && !str(dto.description) ? { $description: dto.description ?? null } : {}),
    featureOrder: (dto.features as Dto[]).map((f) => str(f.name)),
    ...(Object.keys(featureExtras).length ? { features: featureExtras } : {}),
    ...(unmapped.length ? { unmappedFeatures: unmapped } : {}),
  };
  const view: FeatureViewSpec = {
    name,
    entities: entity ? [entity.name] : [],
    features,
    timestampField: eventTime,
    ttlSeconds: 0,
    online: dto.onlineEnabled === true,
    ...(str(dto.description) ? { description: str(dto.description) } : {}),
    extras: { hopsworks: hops },
  };
  if (isObj(dto.expectationSuite)) {
    const { suite, rest } = suiteFromHopsworks(dto.expectationSuite, `${object}.expectationSuite`);
    view.expectationSuite = suite;
    const policy = str(dto.expectationSuite.validationIngestionPolicy).toUpperCase();
    view.validationPolicy = dto.expectationSuite.runValidation === false ? 'NONE' : policy === 'STRICT' ? 'STRICT' : 'ALWAYS';
    hops.expectationSuite = rest;
  }
  if (type === 'onDemandFeaturegroupDTO')
    report.warnings.push(
      `${object} is an external (on-demand) group: its data stays in the external source; ingest it into Strata to serve it`,
    );
  const kept = Object.keys(hops.featureGroup as Dto).concat(['features: partition, hudiPrecombineKey, onlineType flags']);
  report.extras.push({ object, fields: kept });
  return { view, ...(entity ? { entity } : {}) };
}

const DEFAULT_STATS = { enabled: true, histograms: false, correlations: false, exactUniqueness: false, columns: [] };

/** Strata view (+ its entities) -> feature group DTO. */
export function encodeHopsworksFeatureGroup(
  view: FeatureViewSpec,
  entities: EntitySpec[],
  report: ImportReport,
  opts: { featurestoreId?: number } = {},
): Dto {
  const hops = (view.extras?.hopsworks ?? {}) as Extras;
  const fgRest = clone((hops.featureGroup as Dto | undefined) ?? {});
  const featureExtras = (hops.features as Record<string, Dto> | undefined) ?? {};
  const byName = new Map(entities.map((e) => [e.name, e]));
  const object = `feature view ${view.name}`;
  const cols: Dto[] = [];
  const col = (name: string, t: ValueTypeName | undefined, primary: boolean, description?: string): Dto => {
    const ex = featureExtras[name];
    const hive = t ? toHiveType(t) : 'timestamp';
    if (!ex)
      return {
        name,
        type: hive,
        onlineType: t ? toOnlineType(t) : 'timestamp',
        primary,
        partition: false,
        hudiPrecombineKey: false,
        ...(description ? { description } : {}),
      };
    // Imported column: the same keys as the source, its own type spelling when it still maps to the same type.
    const original = typeof ex.$type === 'string' ? ex.$type : undefined;
    const sameType = original !== undefined && (!t || fromHiveType(original).type === t);
    const out: Dto = {};
    for (const key of (ex.$keys as string[] | undefined) ?? Object.keys(ex)) {
      if (key === 'name') out.name = name;
      else if (key === 'type') out.type = sameType ? original : hive;
      else if (key === 'primary') out.primary = primary;
      else if (key === 'description') out.description = description ?? ex.description ?? ex.$description;
      else if (!key.startsWith('$')) out[key] = ex[key];
    }
    if (description !== undefined) out.description = description;
    return out;
  };
  const pkNames = new Set<string>();
  for (const en of view.entities)
    for (const k of byName.get(en)?.joinKeys ?? []) {
      if (pkNames.has(k.name)) continue;
      pkNames.add(k.name);
      cols.push(col(k.name, k.valueType, true));
    }
  for (const f of view.features) cols.push(col(f.name, f.valueType, false, f.description));
  for (const ts of [view.timestampField, view.createdTimestampField])
    if (ts && !cols.some((c) => c.name === ts)) cols.push(col(ts, undefined, false));
  for (const u of (hops.unmappedFeatures as { index: number; feature: Dto }[] | undefined) ?? [])
    cols.splice(Math.min(u.index, cols.length), 0, clone(u.feature));
  const order = hops.featureOrder as string[] | undefined;
  if (order) {
    const pos = new Map(order.map((n, i) => [n, i]));
    cols.sort((a, b) => (pos.get(str(a.name)) ?? order.length) - (pos.get(str(b.name)) ?? order.length));
  }
  if (view.ttlSeconds > 0)
    report.impossible.push({
      object,
      reason: `ttlSeconds ${view.ttlSeconds}: Hopsworks feature groups have no TTL; not exported`,
    });
  for (const f of view.features)
    if (f.tags)
      report.impossible.push({ object: `${object}.${f.name}`, reason: 'feature tags have no Hopsworks field; not exported' });
  if (view.tags)
    report.impossible.push({ object, reason: 'view tags have no field in the DTO (Hopsworks tags are a separate API)' });
  if (view.owner) report.impossible.push({ object, reason: 'owner has no Hopsworks field' });
  if (view.extras && Object.keys(view.extras).some((k) => k !== 'hopsworks'))
    report.impossible.push({
      object,
      reason: `extras from ${Object.keys(view.extras)
        .filter((k) => k !== 'hopsworks')
        .join(', ')} have no place in a Hopsworks DTO; not exported`,
    });
  const dto: Dto = {
    ...(hops.featureGroup ? {} : { version: 1, statisticsConfig: DEFAULT_STATS }),
    ...(opts.featurestoreId !== undefined && !hops.featureGroup ? { featurestoreId: opts.featurestoreId } : {}),
    ...fgRest,
    name: typeof hops.$name === 'string' ? hops.$name : view.name,
    ...(view.description ? { description: view.description } : {}),
    onlineEnabled: view.online,
    eventTime: view.timestampField,
    features: cols,
    type: str(hops.type) || 'cachedFeaturegroupDTO',
  };
  // A group Hopsworks has not created yet has no id: hsfs then reads the key columns from `primaryKey` (as for a
  // group made with fs.create_feature_group), not from the features' `primary` flags.
  if (dto.id === undefined) {
    dto.primaryKey = cols.filter((c) => c.primary).map((c) => c.name);
    dto.partitionKey = cols.filter((c) => c.partition === true).map((c) => c.name);
  }
  const keys = hops.$keys as string[] | undefined;
  if (keys) {
    if (!view.description && '$description' in hops) dto.description = hops.$description;
    for (const k of ['description', 'onlineEnabled', 'type']) if (!keys.includes(k)) delete dto[k];
  }
  if (view.expectationSuite) {
    const rest = clone((hops.expectationSuite as Dto | undefined) ?? {});
    const es = suiteToHopsworks(view.expectationSuite, rest);
    if (view.validationPolicy === 'NONE') es.runValidation = false;
    else if (view.validationPolicy) {
      es.validationIngestionPolicy = view.validationPolicy;
      if (rest.runValidation === undefined) es.runValidation = true;
    }
    dto.expectationSuite = es;
  }
  return dto;
}

// ------------------------------------------------------------------------------------------------ feature views

interface Selection {
  fg: Dto;
  features: string[];
  prefix?: string;
}

function flattenQuery(q: Dto, where: string, prefix?: string): Selection[] {
  if (!isObj(q.leftFeatureGroup)) throw invalidInput(`${where}.leftFeatureGroup is missing`, { where });
  const out: Selection[] = [
    {
      fg: q.leftFeatureGroup,
      features: ((q.leftFeatures ?? []) as Dto[]).map((f) => (typeof f === 'string' ? f : str(f.name))),
      ...(prefix ? { prefix } : {}),
    },
  ];
  ((q.joins ?? []) as Dto[]).forEach((j, i) => {
    if (!isObj(j.query)) throw invalidInput(`${where}.joins[${i}].query is missing`, { where: `${where}.joins[${i}]` });
    const p = [prefix, str(j.prefix)].filter(Boolean).join('');
    out.push(...flattenQuery(j.query, `${where}.joins[${i}].query`, p || undefined));
  });
  return out;
}

export const fgKey = (fg: Dto) => `${str(fg.name)}:${String(fg.version ?? 1)}`;

const FV_MAPPED = ['name', 'description', 'query', 'features', 'type'];

/** Hopsworks feature view -> Strata feature service. `viewNameOf` maps `name:version` of a feature group to its view. */
export function decodeHopsworksFeatureView(
  dto: Dto,
  viewNameOf: Map<string, string>,
  report: ImportReport,
): ServiceWithExtras | undefined {
  const name = str(dto.name);
  const object = `feature view ${name} v${String(dto.version ?? 1)}`;
  if (!isObj(dto.query))
    throw invalidInput(`${object} has no query`, {
      where: object,
      hint: 'a feature view DTO has query: {leftFeatureGroup, leftFeatures, joins}',
    });
  const selections = flattenQuery(dto.query, `${object}.query`);
  const labels = ((dto.features ?? []) as Dto[]).filter((f) => f.label === true).map((f) => str(f.name));
  const features: ServiceWithExtras['features'] = [];
  for (const s of selections) {
    const view = viewNameOf.get(fgKey(s.fg));
    if (!view) {
      report.impossible.push({
        object,
        reason: `joins feature group ${fgKey(s.fg)}, which is not imported as a Strata view; the feature view is kept in the repo extras`,
      });
      return undefined;
    }
    features.push({ view, features: s.features, ...(s.prefix ? { alias: s.prefix } : {}) });
  }
  if (!NAME_RE.test(name)) {
    report.impossible.push({ object, reason: `'${name}' is not a valid Strata name; kept in the repo extras` });
    return undefined;
  }
  const hops: Extras = {
    featureView: omit(dto, FV_MAPPED),
    query: clone(dto.query),
    features: clone(dto.features ?? []),
    selection: JSON.stringify(features),
    ...('description' in dto && !str(dto.description) ? { $description: dto.description ?? null } : {}),
    ...(labels.length ? { labels } : {}),
  };
  const kept = Object.keys(hops.featureView as Dto).concat(['query joins (on, leftOn, rightOn, type)']);
  if (labels.length) kept.push(`labels (${labels.join(', ')})`);
  report.extras.push({ object, fields: kept });
  return {
    name,
    features,
    ...(str(dto.description) ? { description: str(dto.description) } : {}),
    extras: { hopsworks: hops },
  };
}

/** Strata feature service -> Hopsworks feature view DTO (joins on the key columns the views share). */
export function encodeHopsworksFeatureView(
  service: ServiceWithExtras,
  fgOf: (view: string) => Dto,
  views: Map<string, FeatureViewSpec>,
  entities: EntitySpec[],
  report: ImportReport,
  opts: { featurestoreId?: number } = {},
): Dto {
  const hops = (service.extras?.hopsworks ?? {}) as Extras;
  const unchanged = hops.query && hops.selection === JSON.stringify(service.features);
  // A query holds its feature groups whole, as Hopsworks answers them (hsfs builds each with
  // FeatureGroup.from_response_json: it needs the feature store id, and the keys of a group not yet created).
  const ref = (fg: Dto) => {
    const featurestoreId = fg.featurestoreId ?? opts.featurestoreId;
    const { expectationSuite: _es, ...group } = clone(fg);
    return { ...group, ...(featurestoreId !== undefined ? { featurestoreId } : {}), version: fg.version ?? 1 };
  };
  const keysOf = (view: string) => {
    const v = views.get(view);
    const byName = new Map(entities.map((e) => [e.name, e]));
    return (v?.entities ?? []).flatMap((en) => (byName.get(en)?.joinKeys ?? []).map((k) => k.name));
  };
  let query: Dto;
  let features: Dto[];
  if (unchanged) {
    query = clone(hops.query as Dto);
    features = clone((hops.features as Dto[]) ?? []);
  } else {
    const sels = service.features.map((sel) => ({
      sel,
      fg: fgOf(sel.view),
      names: sel.features ?? (views.get(sel.view)?.features ?? []).map((f) => f.name),
    }));
    const [first, ...rest] = sels;
    if (!first)
      throw invalidInput(`feature service ${service.name} selects nothing`, { where: `feature service ${service.name}` });
    const leftKeys = keysOf(first.sel.view);
    query = {
      leftFeatureGroup: ref(first.fg),
      leftFeatures: first.names.map((n) => ({ name: n })),
      joins: rest.map((r) => {
        const on = keysOf(r.sel.view).filter((k) => leftKeys.includes(k));
        if (!on.length)
          report.warnings.push(
            `feature service ${service.name}: ${r.sel.view} shares no key column with ${first.sel.view}; the join has no 'on' columns`,
          );
        return {
          query: { leftFeatureGroup: ref(r.fg), leftFeatures: r.names.map((n) => ({ name: n })), joins: [] },
          on,
          leftOn: [],
          rightOn: [],
          type: 'LEFT',
          ...(r.sel.alias ? { prefix: r.sel.alias } : {}),
        };
      }),
    };
    const labels = new Set((hops.labels as string[] | undefined) ?? []);
    features = sels.flatMap((s) =>
      s.names.map((n) => {
        const vt = views.get(s.sel.view)?.features.find((f) => f.name === n)?.valueType;
        const full = `${s.sel.alias ?? ''}${n}`;
        return { name: full, type: vt ? toHiveType(vt) : 'string', label: labels.has(full) };
      }),
    );
  }
  if (service.tags) report.impossible.push({ object: `feature service ${service.name}`, reason: 'tags are not part of the DTO' });
  return {
    ...(hops.featureView
      ? clone(hops.featureView as Dto)
      : { version: 1, ...(opts.featurestoreId !== undefined ? { featurestoreId: opts.featurestoreId } : {}) }),
    name: service.name,
    ...(service.description
      ? { description: service.description }
      : '$description' in hops
        ? { description: hops.$description }
        : {}),
    query,
    features,
    type: 'featureViewDTO',
  };
}

// ------------------------------------------------------------------------------------------------ training datasets

export interface TrainingDatasetSplit {
  name: string;
  splitType?: string;
  percentage?: number;
  startTime?: number | string;
  endTime?: number | string;
}

export interface TrainingDatasetSummary {
  name: string;
  version: number;
  featureView?: string;
  dataFormat?: string;
  splits: TrainingDatasetSplit[];
  eventStartTime?: number | string;
  eventEndTime?: number | string;
}

/** Reads a training dataset DTO (kept whole in extras; this summary feeds reports). */
export function decodeHopsworksTrainingDataset(dto: Dto): TrainingDatasetSummary {
  if (!str(dto.name)) throw invalidInput('a training dataset DTO has no name', { where: 'training dataset' });
  const fv = isObj(dto.featureView) ? str(dto.featureView.name) : undefined;
  return {
    name: str(dto.name),
    version: Number(dto.version ?? 1),
    ...(fv ? { featureView: fv } : {}),
    ...(str(dto.dataFormat) ? { dataFormat: str(dto.dataFormat) } : {}),
    splits: ((dto.splits ?? []) as Dto[]).map((s) => ({
      name: str(s.name),
      ...(s.splitType !== undefined ? { splitType: str(s.splitType) } : {}),
      ...(typeof s.percentage === 'number' ? { percentage: s.percentage } : {}),
      ...(s.startTime !== undefined ? { startTime: s.startTime as number } : {}),
      ...(s.endTime !== undefined ? { endTime: s.endTime as number } : {}),
    })),
    ...(dto.eventStartTime !== undefined ? { eventStartTime: dto.eventStartTime as number } : {}),
    ...(dto.eventEndTime !== undefined ? { eventEndTime: dto.eventEndTime as number } : {}),
  };
}

/** Builds a training dataset DTO for a feature view with the given splits. */
export function encodeHopsworksTrainingDataset(t: TrainingDatasetSummary): Dto {
  return {
    name: t.name,
    version: t.version,
    ...(t.featureView ? { featureView: { name: t.featureView } } : {}),
    dataFormat: t.dataFormat ?? 'parquet',
    trainingDatasetType: 'HOPSFS_TRAINING_DATASET',
    splits: t.splits.map((s) => ({ ...s })),
    ...(t.eventStartTime !== undefined ? { eventStartTime: t.eventStartTime } : {}),
    ...(t.eventEndTime !== undefined ? { eventEndTime: t.eventEndTime } : {}),
    type: 'trainingDatasetDTO',
  };
}
