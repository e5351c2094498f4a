/**
 * Feast registry (registry.db, a serialized feast.core.Registry) <-> Strata RepoSpec, one RepoSpec per Feast project.
 *
 * Every field Strata models is mapped; everything else is kept, as decoded protobuf (JSON-safe) or as raw bytes, in
 * `extras.feast` of the object it belongs to (repo, entity, view, service), so that encode(decode(x)) reproduces x.
 * docs/adapters/feast.md has the field-by-field table.
 */
import { randomUUID } from 'node:crypto';
import {
  type EntitySpec,
  type FeatureSpec,
  type FeatureViewSpec,
  invalidInput,
  NAME_RE,
  type RepoSpec,
  ValueType,
  VALUE_TYPE_NAMES,
  type ValueTypeName,
} from '@strata/core';
import {
  type EntityWithExtras,
  emptyReport,
  type Extras,
  type ImportedRepo,
  type ImportReport,
  type RepoWithExtras,
  type ServiceWithExtras,
} from '../report.js';
import { FEAST_EXTRA_VALUE_TYPES, SOURCE_TYPE, SUPPORTED_REGISTRY_SCHEMA_VERSIONS, T } from './schema.js';
import { decodeMessage, encodeToBytes, type Msg, presentFields, unb64, WireError } from './wire.js';

/** Tag Strata puts on the Feast entities a composite (multi-key) Strata entity is split into. */
export const COMPOSITE_TAG = 'strata.entity';
/** Feast's placeholder entity for views without entities. */
const DUMMY_ENTITY = '__dummy';

const OPAQUE_LISTS = [
  ['feature_tables', T.Peek9],
  ['on_demand_feature_views', T.Peek2],
  ['request_feature_views', T.Peek2],
  ['stream_feature_views', T.Peek2],
  ['saved_datasets', T.Peek2],
  ['permissions', T.Peek2],
  ['label_views', T.Peek2],
  ['validation_references', T.PeekValidationReference],
] as const;
const GLOBAL_FIELDS = ['registry_schema_version', 'version_id', 'last_updated', 'infra', 'feature_view_version_history'];

interface FeastRepoExtras {
  /** Registry-wide fields (the same in every project's copy). */
  registry: Msg;
  /** Original order of the Feast names in lists that mix mapped and kept objects. */
  order: { entities: string[]; feature_views: string[]; feature_services: string[] };
  entities: Msg[];
  featureViews: Msg[];
  featureServices: Msg[];
  dataSources: Msg[];
  projects: Msg[];
  projectMetadata: Msg[];
  /** Registry lists Strata keeps opaque, as base64 of each object's bytes. */
  opaque: Record<string, string[]>;
}

const clone = <T>(x: T): T => structuredClone(x);
const isEmptyObj = (o: unknown) => typeof o === 'object' && o !== null && Object.keys(o).length === 0;

function omit(m: Msg, keys: string[]): Msg {
  const out: Msg = {};
  for (const [k, v] of Object.entries(m)) if (!keys.includes(k)) out[k] = v;
  return out;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const tagsOf = (v: unknown): Record<string, string> | undefined =>
  v && typeof v === 'object' && !isEmptyObj(v) ? { ...(v as Record<string, string>) } : undefined;

function valueTypeName(n: unknown): ValueTypeName | undefined {
  return VALUE_TYPE_NAMES.find((name) => ValueType[name] === n);
}

function feastTypeLabel(n: unknown): string {
  return valueTypeName(n) ?? FEAST_EXTRA_VALUE_TYPES[Number(n ?? 0)] ?? `ValueType ${String(n)}`;
}

function fail(message: string, where: string, hint: string, cause?: unknown): never {
  throw invalidInput(message, { where, hint, ...(cause === undefined ? {} : { cause }) });
}

/** Decodes the top-level Registry message with clear errors for files that are not one. */
function decodeRegistryMessage(bytes: Uint8Array, where: string): Msg {
  if (bytes.length === 0)
    fail('the file is empty, not a Feast registry', where, 'point at the registry.db that `feast apply` wrote');
  let reg: Msg;
  try {
    reg = decodeMessage(T.Registry, bytes);
  } catch (e) {
    const path = e instanceof WireError ? ` (in ${e.path})` : '';
    fail(
      `not a Feast registry: the protobuf cannot be read${path}: ${(e as Error).message}`,
      where,
      'the file is truncated or is not a registry.db; run `feast apply` again or point at the right file',
      e,
    );
  }
  const version = reg.registry_schema_version;
  if (version === undefined) {
    fail(
      'not a Feast registry: registry_schema_version (field 3) is missing',
      where,
      `Strata reads registries with registry_schema_version ${SUPPORTED_REGISTRY_SCHEMA_VERSIONS.join(', ')} (feast >= 0.10); check the file is a registry.db`,
    );
  }
  if (!SUPPORTED_REGISTRY_SCHEMA_VERSIONS.includes(String(version))) {
    throw invalidInput(`unsupported Feast registry_schema_version ${JSON.stringify(version)}`, {
      where,
      hint: `supported versions: ${SUPPORTED_REGISTRY_SCHEMA_VERSIONS.join(', ')}; migrate the registry with a matching feast release`,
      details: { found: version, supported: SUPPORTED_REGISTRY_SCHEMA_VERSIONS },
    });
  }
  return reg;
}

function projectOfOpaque(peek: typeof T.Peek2, raw: string): string {
  try {
    const m = decodeMessage(peek, unb64(raw));
    const spec = (m.spec ?? m) as Msg;
    return str(spec.project);
  } catch {
    return '';
  }
}

export interface DecodeOptions {
  /** Project for objects that carry none (registries written before objects had a project field). */
  defaultProject?: string;
  /** For error messages: the file the bytes came from. */
  source?: string;
}

/** Decodes a Feast registry.db into one Strata repo per Feast project, with a report of what was kept as extras. */
export function decodeFeastRegistry(bytes: Uint8Array, opts: DecodeOptions = {}): ImportedRepo[] {
  const where = opts.source ?? 'registry.db';
  const reg = decodeRegistryMessage(bytes, where);
  const projectOf = (p: unknown) => str(p) || opts.defaultProject || 'default';

  const names = new Set<string>();
  const entities = (reg.entities ?? []) as Msg[];
  const views = (reg.feature_views ?? []) as Msg[];
  const services = (reg.feature_services ?? []) as Msg[];
  const sources = (reg.data_sources ?? []) as Msg[];
  const projectsMsgs = (reg.projects ?? []) as Msg[];
  const projectMeta = (reg.project_metadata ?? []) as Msg[];
  const spec = (m: Msg) => (m.spec ?? {}) as Msg;

  for (const m of projectsMsgs) names.add(projectOf(spec(m).name));
  for (const m of projectMeta) names.add(projectOf(m.project));
  for (const m of entities) names.add(projectOf(spec(m).project));
  for (const m of views) names.add(projectOf(spec(m).project));
  for (const m of services) names.add(projectOf(spec(m).project));
  for (const m of sources) names.add(projectOf(m.project));
  const opaqueByProject = new Map<string, Record<string, string[]>>();
  for (const [list, peek] of OPAQUE_LISTS) {
    for (const raw of (reg[list] ?? []) as string[]) {
      const p = projectOf(projectOfOpaque(peek, raw));
      names.add(p);
      const o = opaqueByProject.get(p) ?? {};
      o[list] = [...(o[list] ?? []), raw];
      opaqueByProject.set(p, o);
    }
  }
  const registryGlobals: Msg = {};
  for (const k of GLOBAL_FIELDS) if (reg[k] !== undefined) registryGlobals[k] = reg[k];
  if (reg.$unknown) registryGlobals.$unknown = reg.$unknown;

  return [...names].map((project) =>
    decodeProject(project, {
      entities: entities.filter((m) => projectOf(spec(m).project) === project),
      views: views.filter((m) => projectOf(spec(m).project) === project),
      services: services.filter((m) => projectOf(spec(m).project) === project),
      sources: sources.filter((m) => projectOf(m.project) === project),
      projects: projectsMsgs.filter((m) => projectOf(spec(m).name) === project),
      projectMeta: projectMeta.filter((m) => projectOf(m.project) === project),
      opaque: opaqueByProject.get(project) ?? {},
      registryGlobals,
      where,
    }),
  );
}

interface ProjectParts {
  entities: Msg[];
  views: Msg[];
  services: Msg[];
  sources: Msg[];
  projects: Msg[];
  projectMeta: Msg[];
  opaque: Record<string, string[]>;
  registryGlobals: Msg;
  where: string;
}

function checkDuplicates(kind: string, msgs: Msg[], project: string, where: string) {
  const seen = new Set<string>();
  for (const m of msgs) {
    const n = str(((m.spec ?? m) as Msg).name);
    if (seen.has(n))
      fail(
        `${kind} '${n}' appears twice in project '${project}'`,
        `${where}: project ${project}`,
        'the registry is inconsistent; run `feast apply` again or remove the duplicate',
      );
    seen.add(n);
  }
}

const ENTITY_MAPPED = ['name', 'value_type', 'description', 'join_key', 'tags', 'project', 'owner'];
const VIEW_MAPPED = ['name', 'project', 'entities', 'features', 'tags', 'ttl', 'online', 'description', 'owner'];
const FEATURE_MAPPED = ['name', 'value_type', 'description', 'tags'];
const SERVICE_MAPPED = ['name', 'project', 'features', 'tags', 'description', 'owner'];

function decodeProject(project: string, p: ProjectParts): ImportedRepo {
  const report: ImportReport = emptyReport();
  for (const [kind, list] of [
    ['entity', p.entities],
    ['feature view', p.views],
    ['feature service', p.services],
    ['data source', p.sources],
  ] as const)
    checkDuplicates(kind, list, project, p.where);

  const repoExtras: FeastRepoExtras = {
    registry: clone(p.registryGlobals),
    order: {
      entities: p.entities.map((m) => str((m.spec as Msg)?.name)),
      feature_views: p.views.map((m) => str((m.spec as Msg)?.name)),
      feature_services: p.services.map((m) => str((m.spec as Msg)?.name)),
    },
    entities: [],
    featureViews: [],
    featureServices: [],
    dataSources: clone(p.sources),
    projects: clone(p.projects),
    projectMetadata: clone(p.projectMeta),
    opaque: clone(p.opaque),
  };

  // Join key types that Feast records on views (entity_columns), for entities written without a value_type.
  const columnTypes = new Map<string, number>();
  for (const v of p.views)
    for (const c of ((v.spec as Msg)?.entity_columns ?? []) as Msg[]) columnTypes.set(str(c.name), Number(c.value_type ?? 0));

  // ---- entities (composite Strata entities come back together from their tagged parts)
  const outEntities: EntityWithExtras[] = [];
  const feastToStrataEntity = new Map<string, string>();
  const composite = new Map<string, EntityWithExtras>();
  for (const m of p.entities) {
    const s = (m.spec ?? {}) as Msg;
    const name = str(s.name);
    const joinKey = str(s.join_key) || name;
    let vt = valueTypeName(s.value_type);
    let inferred = false;
    if (!vt && Number(s.value_type ?? 0) === 0) {
      vt = valueTypeName(columnTypes.get(joinKey));
      inferred = vt !== undefined;
    }
    const object = `entity ${name}`;
    if (name === DUMMY_ENTITY) {
      repoExtras.entities.push(clone(m));
      report.extras.push({ object, fields: ['(Feast placeholder entity for views without entities)'] });
      continue;
    }
    if (!NAME_RE.test(name) || !NAME_RE.test(joinKey) || !vt) {
      repoExtras.entities.push(clone(m));
      report.impossible.push({
        object,
        reason: !vt
          ? `value type ${feastTypeLabel(s.value_type)} of join key '${joinKey}' has no Strata equivalent; kept in the repo's extras`
          : `name '${name}' or join key '${joinKey}' is not a valid Strata name; kept in the repo's extras`,
      });
      continue;
    }
    const tags = tagsOf(s.tags);
    const parent = tags?.[COMPOSITE_TAG];
    const remainder = omit(m, ['spec']);
    const specRest = omit(s, ENTITY_MAPPED);
    if (!isEmptyObj(specRest)) remainder.spec = specRest;
    const position = p.entities.indexOf(m);
    const part: Extras = { entity: remainder, position, ...(inferred ? { valueTypeInferred: true } : {}) };
    if (parent) {
      delete tags[COMPOSITE_TAG];
      feastToStrataEntity.set(name, parent);
      let e = composite.get(parent);
      if (!e) {
        e = {
          name: parent,
          joinKeys: [],
          ...(str(s.description) ? { description: str(s.description) } : {}),
          ...(str(s.owner) ? { owner: str(s.owner) } : {}),
          ...(tags && Object.keys(tags).length ? { tags } : {}),
          extras: { feast: { parts: [] as Extras[] } },
        };
        composite.set(parent, e);
        outEntities.push(e);
        report.created.push(`entity ${parent}`);
      }
      e.joinKeys.push({ name: joinKey, valueType: vt });
      const feastParts = (e.extras as { feast: { parts: Extras[] } }).feast.parts;
      feastParts.push({ ...part, name });
      continue;
    }
    feastToStrataEntity.set(name, name);
    const e: EntityWithExtras = {
      name,
      joinKeys: [{ name: joinKey, valueType: vt }],
      ...(str(s.description) ? { description: str(s.description) } : {}),
      ...(str(s.owner) ? { owner: str(s.owner) } : {}),
      ...(tags ? { tags } : {}),
      extras: { feast: part },
    };
    outEntities.push(e);
    report.created.push(object);
    const kept = presentFields(remainder).concat(inferred ? ['value_type (unset; inferred from entity_columns)'] : []);
    if (kept.length) report.extras.push({ object, fields: kept });
  }

  // ---- feature views
  const outViews: FeatureViewSpec[] = [];
  for (const m of p.views) {
    const s = (m.spec ?? {}) as Msg;
    const name = str(s.name);
    const object = `feature view ${name}`;
    if (!NAME_RE.test(name)) {
      repoExtras.featureViews.push(clone(m));
      report.impossible.push({ object, reason: `'${name}' is not a valid Strata name; kept in the repo's extras` });
      continue;
    }
    const features: FeatureSpec[] = [];
    const featureExtras: Record<string, Msg> = {};
    const unmappedFeatures: { index: number; feature: Msg }[] = [];
    ((s.features ?? []) as Msg[]).forEach((fm, index) => {
      const vt = valueTypeName(fm.value_type);
      const fname = str(fm.name);
      if (!vt || !NAME_RE.test(fname)) {
        unmappedFeatures.push({ index, feature: clone(fm) });
        report.impossible.push({
          object: `${object}.${fname}`,
          reason: !vt
            ? `Feast type ${feastTypeLabel(fm.value_type)} has no Strata value type; the feature is kept in the view's extras and is not served by Strata`
            : `'${fname}' is not a valid Strata feature name; kept in the view's extras`,
        });
        return;
      }
      const tags = tagsOf(fm.tags);
      features.push({
        name: fname,
        valueType: vt,
        ...(str(fm.description) ? { description: str(fm.description) } : {}),
        ...(tags ? { tags } : {}),
      });
      const rest = omit(fm, FEATURE_MAPPED);
      if (!isEmptyObj(rest)) featureExtras[fname] = rest;
    });
    const strataEntities: string[] = [];
    const hiddenEntities: { index: number; name: string }[] = [];
    ((s.entities ?? []) as string[]).forEach((en, index) => {
      const mapped = feastToStrataEntity.get(en);
      if (!mapped) hiddenEntities.push({ index, name: en });
      else if (!strataEntities.includes(mapped)) strataEntities.push(mapped);
    });
    const batch = s.batch_source as Msg | undefined;
    const ttl = s.ttl as Msg | undefined;
    const rest = omit(s, VIEW_MAPPED);
    if (batch) {
      const b = omit(batch, ['timestamp_field', 'created_timestamp_column']);
      rest.batch_source = b;
    }
    const remainder = omit(m, ['spec']);
    remainder.spec = rest;
    // The registered data source travels with the view too, so it survives a registry that keeps only objects.
    const registered = batch?.name === undefined ? undefined : p.sources.find((d) => d.name === batch.name);
    const feast: Extras = {
      view: remainder,
      position: p.views.indexOf(m),
      ...(registered ? { registeredSource: clone(registered), registeredSourcePosition: p.sources.indexOf(registered) } : {}),
      ...(Object.keys(featureExtras).length ? { features: featureExtras } : {}),
      ...(unmappedFeatures.length ? { unmappedFeatures } : {}),
      ...(hiddenEntities.length ? { hiddenEntities } : {}),
      ...(ttl === undefined ? { ttlAbsent: true } : {}),
      ...(batch === undefined ? { batchSourceAbsent: true } : {}),
      ...(batch && batch.timestamp_field === undefined ? { timestampFieldAbsent: true } : {}),
    };
    const tags = tagsOf(s.tags);
    const view: FeatureViewSpec = {
      name,
      entities: strataEntities,
      features,
      timestampField: str(batch?.timestamp_field) || 'event_timestamp',
      ...(str(batch?.created_timestamp_column) ? { createdTimestampField: str(batch?.created_timestamp_column) } : {}),
      ttlSeconds: ttl ? Number(ttl.seconds ?? 0) + Number(ttl.nanos ?? 0) / 1e9 : 0,
      online: s.online === true,
      ...(str(s.description) ? { description: str(s.description) } : {}),
      ...(str(s.owner) ? { owner: str(s.owner) } : {}),
      ...(tags ? { tags } : {}),
      extras: { feast },
    };
    outViews.push(view);
    report.created.push(object);
    const kept = presentFields(omit(remainder, ['spec'])).concat(presentFields(rest));
    if (Object.keys(featureExtras).length) kept.push(`features[${Object.keys(featureExtras).join(',')}] extra fields`);
    if (hiddenEntities.length) kept.push(`entities ${hiddenEntities.map((h) => h.name).join(',')}`);
    report.extras.push({ object, fields: kept });
    if (batch === undefined)
      report.warnings.push(`${object} has no batch source; Strata assumed the event-time column is event_timestamp`);
  }

  // ---- feature services
  const viewByName = new Map(outViews.map((v) => [v.name, v]));
  const feastViewByName = new Map(p.views.map((v) => [str((v.spec as Msg)?.name), v]));
  const outServices: ServiceWithExtras[] = [];
  for (const m of p.services) {
    const s = (m.spec ?? {}) as Msg;
    const name = str(s.name);
    const object = `feature service ${name}`;
    const selections: ServiceWithExtras['features'] = [];
    const projections: Msg[] = [];
    const opaqueProjections: { index: number; projection: Msg }[] = [];
    ((s.features ?? []) as Msg[]).forEach((pm, index) => {
      const viewName = str(pm.feature_view_name);
      const v = viewByName.get(viewName);
      if (!v) {
        opaqueProjections.push({ index, projection: clone(pm) });
        report.impossible.push({
          object: `${object} -> ${viewName}`,
          reason: `selects from '${viewName}', which is not a Strata feature view (on-demand, stream or unmapped view); the selection is kept in the service's extras`,
        });
        return;
      }
      const cols = ((pm.feature_columns ?? []) as Msg[]).map((c) => str(c.name));
      const feastAll = (((feastViewByName.get(viewName)?.spec as Msg)?.features ?? []) as Msg[]).map((c) => str(c.name));
      const whole = cols.length === feastAll.length && cols.every((c, i) => c === feastAll[i]);
      const alias = str(pm.feature_view_name_alias);
      selections.push({
        view: viewName,
        ...(whole ? {} : { features: cols.filter((c) => v.features.some((f) => f.name === c)) }),
        ...(alias ? { alias } : {}),
      });
      projections.push(omit(pm, ['feature_view_name', 'feature_view_name_alias']));
    });
    if (!NAME_RE.test(name) || selections.length === 0) {
      repoExtras.featureServices.push(clone(m));
      report.impossible.push({
        object,
        reason: !NAME_RE.test(name)
          ? `'${name}' is not a valid Strata name; kept in the repo's extras`
          : 'selects no Strata feature view; kept in the repo\u2019s extras',
      });
      continue;
    }
    const tags = tagsOf(s.tags);
    const remainder = omit(m, ['spec']);
    const rest = omit(s, SERVICE_MAPPED);
    if (!isEmptyObj(rest)) remainder.spec = rest;
    outServices.push({
      name,
      features: selections,
      ...(str(s.description) ? { description: str(s.description) } : {}),
      ...(str(s.owner) ? { owner: str(s.owner) } : {}),
      ...(tags ? { tags } : {}),
      extras: {
        feast: {
          service: remainder,
          position: p.services.indexOf(m),
          projections,
          ...(opaqueProjections.length ? { opaqueProjections } : {}),
        },
      },
    });
    report.created.push(object);
    report.extras.push({
      object,
      fields: presentFields(remainder).concat([
        'projections (feature_columns, batch_source, timestamp_field, join_key_map, ...)',
      ]),
    });
  }

  for (const [list, items] of Object.entries(p.opaque))
    report.extras.push({ object: `${list} (${items.length})`, fields: ['kept opaque: Strata has no equivalent object'] });
  // On-demand views transform in Python (their UDF's source is inside the kept bytes): Strata cannot run them until
  // someone ports the function to TypeScript, so each is reported by name.
  for (const raw of p.opaque.on_demand_feature_views ?? []) {
    let name = '';
    try {
      name = str(((decodeMessage(T.Peek2, unb64(raw)).spec ?? {}) as Msg).name);
    } catch {}
    report.impossible.push({
      object: `on-demand feature view ${name || '(unnamed)'}`,
      reason:
        'its transformation is Python; it is kept as an opaque extra (source included) and exported back unchanged, but needs a TypeScript port to be computed by Strata',
    });
  }
  if (p.sources.length)
    report.extras.push({ object: `data_sources (${p.sources.length})`, fields: ['registered Feast data sources, kept as-is'] });

  const repo: RepoWithExtras = {
    entities: outEntities,
    featureViews: outViews,
    featureServices: outServices,
    extras: { feast: repoExtras as unknown as Extras },
  };
  return { project, repo, report };
}

// ------------------------------------------------------------------------------------------------ encode

export interface EncodeOptions {
  /** Timestamp for objects that have none yet (created/last_updated); default now. */
  now?: Date;
}

function ts(d: Date): Msg {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  return nanos ? { seconds: String(seconds), nanos } : { seconds: String(seconds) };
}

function setIf(o: Msg, key: string, v: unknown) {
  if (v === undefined || v === '' || v === false || (typeof v === 'object' && v !== null && isEmptyObj(v))) return;
  o[key] = v;
}

function byPosition<T>(items: { item: T; position: number | undefined }[]): T[] {
  return items
    .map((x, i) => ({ ...x, i }))
    .sort((a, b) => (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER) || a.i - b.i)
    .map((x) => x.item);
}

const positionOf = (o: { extras?: Extras }): number | undefined => {
  const x = objExtras(o);
  if (typeof x.position === 'number') return x.position;
  const parts = x.parts as Extras[] | undefined;
  return typeof parts?.[0]?.position === 'number' ? (parts[0].position as number) : undefined;
};

function orderBy<T>(items: T[], key: (t: T) => string, order: string[] | undefined): T[] {
  if (!order?.length) return items;
  const pos = new Map(order.map((n, i) => [n, i]));
  return items
    .map((t, i) => ({ t, i, p: pos.get(key(t)) ?? order.length + i }))
    .sort((a, b) => a.p - b.p)
    .map((x) => x.t);
}

function featureMsg(f: FeatureSpec, rest: Msg | undefined): Msg {
  const m: Msg = { ...(rest ? clone(rest) : {}), name: f.name, value_type: ValueType[f.valueType] };
  setIf(m, 'description', f.description);
  setIf(m, 'tags', f.tags);
  return m;
}

function feastRepoExtras(repo: RepoSpec): Partial<FeastRepoExtras> {
  const x = (repo as RepoWithExtras).extras?.feast;
  return (x && typeof x === 'object' ? x : {}) as Partial<FeastRepoExtras>;
}

function objExtras(o: { extras?: Extras }): Extras {
  const x = o.extras?.feast;
  return (x && typeof x === 'object' ? x : {}) as Extras;
}

/** Encodes Strata repos (one per project) as a Feast registry.db. */
export function encodeFeastRegistry(projects: { project: string; repo: RepoSpec }[], opts: EncodeOptions = {}): Uint8Array {
  return encodeToBytes(T.Registry, buildRegistry(projects, opts).registry);
}

export function buildRegistry(
  projects: { project: string; repo: RepoSpec }[],
  opts: EncodeOptions = {},
): { registry: Msg; report: ImportReport } {
  const now = opts.now ?? new Date();
  const report = emptyReport();
  const reg: Msg = {};
  const push = (k: string, items: unknown[]) => {
    if (items.length) reg[k] = [...((reg[k] as unknown[] | undefined) ?? []), ...items];
  };
  for (const { project, repo: given } of projects) {
    let repo: RepoSpec = given;
    const x = feastRepoExtras(given);
    if (x.registry && reg.registry_schema_version === undefined) Object.assign(reg, clone(x.registry));
    const entityByName = new Map(repo.entities.map((e) => [e.name, e]));
    // Without the repo-level order (e.g. the repo came back from the Strata registry), use each object's position.
    const sorted = <T extends { extras?: Extras }>(list: T[]) =>
      x.order ? list : byPosition(list.map((item) => ({ item, position: positionOf(item) })));
    repo = {
      entities: sorted(repo.entities as EntityWithExtras[]),
      featureViews: sorted(repo.featureViews),
      featureServices: sorted(repo.featureServices as ServiceWithExtras[]),
    };

    // entities (a composite Strata entity becomes one tagged Feast entity per join key)
    const feastEntityNames = new Map<string, string[]>();
    const entityMsgs: Msg[] = [];
    for (const e of repo.entities as EntityWithExtras[]) {
      const ex = objExtras(e);
      const parts = (ex.parts as Extras[] | undefined) ?? [];
      const composite = e.joinKeys.length > 1;
      const names: string[] = [];
      e.joinKeys.forEach((k, i) => {
        const part: Extras = composite
          ? (parts.find((pt) => (pt.entity as Msg | undefined) && pt.name === `${e.name}__${k.name}`) ?? {})
          : ex;
        const feastName = composite ? `${e.name}__${k.name}` : e.name;
        names.push(feastName);
        const m = clone((part.entity as Msg | undefined) ?? {});
        const spec: Msg = { ...((m.spec as Msg | undefined) ?? {}) };
        spec.name = feastName;
        spec.join_key = k.name;
        if (!part.valueTypeInferred) spec.value_type = ValueType[k.valueType];
        setIf(spec, 'description', e.description);
        setIf(spec, 'owner', e.owner);
        const tags = { ...(e.tags ?? {}), ...(composite ? { [COMPOSITE_TAG]: e.name } : {}) };
        setIf(spec, 'tags', tags);
        spec.project = project;
        m.spec = spec;
        if (!m.meta) m.meta = { created_timestamp: ts(now), last_updated_timestamp: ts(now) };
        entityMsgs.push(m);
        void i;
      });
      feastEntityNames.set(e.name, names);
    }
    for (const m of x.entities ?? []) entityMsgs.push(clone(m));
    push(
      'entities',
      orderBy(entityMsgs, (m) => str((m.spec as Msg).name), x.order?.entities),
    );

    // feature views
    const viewMsgs: Msg[] = [];
    const feastFeaturesOf = new Map<string, Msg[]>();
    const dataSources: Msg[] = clone(x.dataSources ?? []);
    const sourcePositions = new Map<Msg, number | undefined>();
    for (const v of repo.featureViews) {
      const ex = objExtras(v);
      const m = clone((ex.view as Msg | undefined) ?? {});
      const spec: Msg = { ...((m.spec as Msg | undefined) ?? {}) };
      spec.name = v.name;
      spec.project = project;
      const ents: string[] = v.entities.flatMap((en) => feastEntityNames.get(en) ?? [en]);
      for (const h of (ex.hiddenEntities as { index: number; name: string }[] | undefined) ?? []) ents.splice(h.index, 0, h.name);
      setIf(spec, 'entities', ents.length ? ents : undefined);
      const fx = (ex.features as Record<string, Msg> | undefined) ?? {};
      const feats = v.features.map((f) => featureMsg(f, fx[f.name]));
      for (const u of (ex.unmappedFeatures as { index: number; feature: Msg }[] | undefined) ?? [])
        feats.splice(u.index, 0, clone(u.feature));
      setIf(spec, 'features', feats.length ? feats : undefined);
      feastFeaturesOf.set(v.name, feats);
      setIf(spec, 'tags', v.tags);
      if (!(ex.ttlAbsent && v.ttlSeconds === 0)) {
        const seconds = Math.floor(v.ttlSeconds);
        const nanos = Math.round((v.ttlSeconds - seconds) * 1e9);
        const d: Msg = {};
        if (seconds) d.seconds = String(seconds);
        if (nanos) d.nanos = nanos;
        spec.ttl = d;
      }
      const reg = ex.registeredSource as Msg | undefined;
      if (reg && x.dataSources === undefined && !dataSources.some((d) => d.name === reg.name)) {
        const copy = clone(reg);
        dataSources.push(copy);
        sourcePositions.set(copy, ex.registeredSourcePosition as number | undefined);
      }
      if (!ex.batchSourceAbsent) {
        let batch = spec.batch_source as Msg | undefined;
        if (!batch) {
          batch = fileSource(v.name, project, now);
          if (!dataSources.some((d) => d.name === batch?.name)) dataSources.push({ ...clone(batch), project });
          report.warnings.push(
            `feature view ${v.name}: Feast needs a batch source; exported a FileSource reading ${str((batch.file_options as Msg).uri)} (write the view's history there, or edit the source)`,
          );
        } else batch = { ...batch };
        if (!(ex.timestampFieldAbsent && v.timestampField === 'event_timestamp')) batch.timestamp_field = v.timestampField;
        setIf(batch, 'created_timestamp_column', v.createdTimestampField);
        spec.batch_source = batch;
      }
      setIf(spec, 'online', v.online);
      setIf(spec, 'description', v.description);
      setIf(spec, 'owner', v.owner);
      if (!spec.entity_columns) {
        const cols: Msg[] = [];
        for (const en of v.entities)
          for (const k of entityByName.get(en)?.joinKeys ?? [])
            if (!cols.some((c) => c.name === k.name)) cols.push({ name: k.name, value_type: ValueType[k.valueType] });
        setIf(spec, 'entity_columns', cols.length ? cols : undefined);
      }
      m.spec = spec;
      if (!m.meta) m.meta = { created_timestamp: ts(now), last_updated_timestamp: ts(now) };
      viewMsgs.push(m);
      if (v.extras && Object.keys(v.extras).some((k) => k !== 'feast'))
        report.impossible.push({
          object: `feature view ${v.name}`,
          reason: `extras from ${Object.keys(v.extras)
            .filter((k) => k !== 'feast')
            .join(', ')} have no place in a Feast registry and are not exported`,
        });
      if (v.expectationSuite)
        report.impossible.push({
          object: `feature view ${v.name}`,
          reason: 'Feast has no expectation suite on a feature view; the suite is not exported (validation at ingest is lost)',
        });
      if (v.validationPolicy && v.validationPolicy !== 'NONE')
        report.impossible.push({
          object: `feature view ${v.name}`,
          reason: `validationPolicy ${v.validationPolicy} is not exported`,
        });
    }
    for (const m of x.featureViews ?? []) viewMsgs.push(clone(m));
    // A Strata on-demand view is a TypeScript function: Feast runs Python UDFs only (imported Feast ones come back
    // unchanged from the opaque extras).
    for (const od of given.onDemandFeatureViews ?? [])
      report.impossible.push({
        object: `on-demand feature view ${od.name}`,
        reason: 'its transformation is TypeScript; Feast runs Python on-demand views only, so it is not exported',
      });
    push(
      'feature_views',
      orderBy(viewMsgs, (m) => str((m.spec as Msg).name), x.order?.feature_views),
    );

    // feature services
    const serviceMsgs: Msg[] = [];
    for (const s of repo.featureServices as ServiceWithExtras[]) {
      const ex = objExtras(s);
      const m = clone((ex.service as Msg | undefined) ?? {});
      const spec: Msg = { ...((m.spec as Msg | undefined) ?? {}) };
      spec.name = s.name;
      spec.project = project;
      const kept = (ex.projections as Msg[] | undefined) ?? [];
      const projs: Msg[] = s.features.map((sel, i) => {
        const rest = clone(kept[i] ?? {});
        const original = (rest.feature_columns as Msg[] | undefined) ?? [];
        const all = feastFeaturesOf.get(sel.view) ?? [];
        const wanted = sel.features ? all.filter((f) => sel.features?.includes(str(f.name))) : all;
        const cols = wanted.map((f) => original.find((o) => o.name === f.name) ?? clone(f));
        const pm: Msg = { ...rest, feature_view_name: sel.view };
        setIf(pm, 'feature_view_name_alias', sel.alias);
        setIf(pm, 'feature_columns', cols.length ? cols : undefined);
        if (!kept[i]) pm.view_type = 'featureView';
        return pm;
      });
      for (const o of (ex.opaqueProjections as { index: number; projection: Msg }[] | undefined) ?? [])
        projs.splice(o.index, 0, clone(o.projection));
      setIf(spec, 'features', projs.length ? projs : undefined);
      setIf(spec, 'tags', s.tags);
      setIf(spec, 'description', s.description);
      setIf(spec, 'owner', s.owner);
      m.spec = spec;
      if (!m.meta) m.meta = { created_timestamp: ts(now), last_updated_timestamp: ts(now) };
      serviceMsgs.push(m);
    }
    for (const m of x.featureServices ?? []) serviceMsgs.push(clone(m));
    push(
      'feature_services',
      orderBy(serviceMsgs, (m) => str((m.spec as Msg).name), x.order?.feature_services),
    );
    push(
      'data_sources',
      sourcePositions.size ? byPosition(dataSources.map((item) => ({ item, position: sourcePositions.get(item) }))) : dataSources,
    );

    const projectMsgs = x.projects ?? [];
    const meta = x.projectMetadata ?? [];
    if (x.projects === undefined) {
      push('projects', [{ spec: { name: project }, meta: { created_timestamp: ts(now), last_updated_timestamp: ts(now) } }]);
    } else push('projects', clone(projectMsgs));
    push('project_metadata', clone(meta));
    for (const [list, items] of Object.entries(x.opaque ?? {})) push(list, [...items]);
  }
  if (reg.registry_schema_version === undefined) reg.registry_schema_version = SUPPORTED_REGISTRY_SCHEMA_VERSIONS[0];
  if (reg.version_id === undefined) reg.version_id = randomUUID();
  if (reg.last_updated === undefined) reg.last_updated = ts(now);
  return { registry: reg, report };
}

function fileSource(view: string, project: string, now: Date): Msg {
  void project;
  return {
    type: SOURCE_TYPE.BATCH_FILE,
    name: `${view}_source`,
    file_options: { uri: `data/${view}.parquet` },
    data_source_class_type: 'feast.infra.offline_stores.file_source.FileSource',
    meta: { created_timestamp: ts(now), last_updated_timestamp: ts(now) },
  };
}

/** Deep-equal comparison of two registries as decoded messages, ignoring registry-wide version_id/last_updated. */
export function sameRegistry(a: Uint8Array, b: Uint8Array, ignore: string[] = ['version_id', 'last_updated']): boolean {
  const da = omit(decodeMessage(T.Registry, a), ignore);
  const db = omit(decodeMessage(T.Registry, b), ignore);
  return JSON.stringify(sortKeys(da)) === JSON.stringify(sortKeys(db));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export type { EntitySpec };
