/**
 * Routes in the shape of Hopsworks' feature store REST server (RonDB REST API 0.1.0), for teams coming from
 * Hopsworks: POST /0.1.0/feature_store (one vector) and POST /0.1.0/batch_feature_store (many).
 *
 * Mapping: featureStoreName is the project (a trailing `_featurestore`, as Hopsworks names feature stores, is
 * dropped); featureViewName is a Strata feature service, or else a feature view (all its features);
 * featureViewVersion must be 1 for a service (services are unversioned) or an existing version of the view.
 * A vector is the serving (join) keys followed by the features; status is COMPLETE when every feature has a stored
 * row, MISSING when any entity row is absent, ERROR for an entry that cannot be read (batch only).
 */
import {
  invalidInput,
  type JoinKey,
  type RepoSpec,
  type ResolvedSelection,
  resolveFeatureRefs,
  resolveFeatureService,
  StrataError,
  toHiveType,
  type ValueTypeName,
} from '@strata/core';
import type { ViewVersion } from '@strata/offline-postgres';
import { type OnlineStore, readFeatureRecords } from '@strata/online-store';
import { jsonValue } from '@strata/sdk';

export interface HopsworksRequest {
  featureStoreName?: string;
  featureViewName?: string;
  featureViewVersion?: number;
  entries?: Record<string, unknown> | Record<string, unknown>[];
  passedFeatures?: Record<string, unknown> | (Record<string, unknown> | null)[];
  requestParameters?: Record<string, unknown> | (Record<string, unknown> | null)[];
  metadataOptions?: { featureName?: boolean; featureType?: boolean };
  options?: { validatePassedFeatures?: boolean; includeDetailedStatus?: boolean };
}

export type VectorStatus = 'COMPLETE' | 'MISSING' | 'ERROR';

export function projectOf(featureStoreName: unknown): string {
  if (typeof featureStoreName !== 'string' || !featureStoreName) {
    throw invalidInput('featureStoreName is required (the Strata project, or <project>_featurestore)');
  }
  return featureStoreName.replace(/_featurestore$/, '');
}

export interface ResolvedHopsworksView {
  selections: (ResolvedSelection & { joinKeys: JoinKey[] })[];
  keys: JoinKey[];
}

export function resolveHopsworksView(
  repo: RepoSpec,
  views: Map<string, ViewVersion>,
  name: unknown,
  version: unknown,
): ResolvedHopsworksView {
  if (typeof name !== 'string' || !name) throw invalidInput('featureViewName is required');
  if (version !== undefined && !(typeof version === 'number' && Number.isInteger(version) && version > 0)) {
    throw invalidInput('featureViewVersion must be a positive integer');
  }
  let resolved: ResolvedSelection[];
  if (repo.featureServices.some((s) => s.name === name)) {
    if (version !== undefined && version !== 1) {
      throw new StrataError('UNKNOWN_OBJECT', `feature service '${name}' has only version 1`, {
        hint: 'Strata feature services are unversioned; send featureViewVersion 1',
      });
    }
    resolved = resolveFeatureService(repo, name);
  } else if (repo.featureViews.some((v) => v.name === name)) {
    const vv = views.get(name);
    if (version !== undefined && vv && version !== vv.version) {
      throw new StrataError('UNKNOWN_OBJECT', `feature view '${name}' is at version ${vv.version}, not ${version}`, {
        hint: 'online serving reads the current version',
      });
    }
    resolved = resolveFeatureRefs(repo, [name]);
  } else {
    throw new StrataError('UNKNOWN_OBJECT', `no feature service or feature view named '${name}'`, {
      hint: `known: ${[...repo.featureServices.map((s) => s.name), ...repo.featureViews.map((v) => v.name)].join(', ') || 'none'}`,
    });
  }
  const selections = resolved.map((r) => ({ ...r, joinKeys: (views.get(r.view.name)?.joinKeys ?? []) as JoinKey[] }));
  const keys: JoinKey[] = [];
  for (const s of selections) for (const k of s.joinKeys) if (!keys.some((x) => x.name === k.name)) keys.push(k);
  return { selections, keys };
}

function metadata(r: ResolvedHopsworksView, opts: HopsworksRequest['metadataOptions']) {
  if (!opts?.featureName && !opts?.featureType) return null;
  const cols: { name: string; type: ValueTypeName }[] = [
    ...r.keys.map((k) => ({ name: k.name, type: k.valueType })),
    ...r.selections.flatMap((s) => s.features.map((f) => ({ name: f.name, type: f.valueType }))),
  ];
  return cols.map((c) => ({
    ...(opts.featureName ? { featureName: c.name } : {}),
    ...(opts.featureType ? { featureType: toHiveType(c.type) } : {}),
  }));
}

/** Reads vectors for entries; an entry that lacks a serving key or has a wrong type is ERROR (batch) or a 400 (single). */
export async function readVectors(
  store: OnlineStore,
  project: string,
  r: ResolvedHopsworksView,
  entries: Record<string, unknown>[],
  passed: (Record<string, unknown> | null | undefined)[],
  opts: { single: boolean; validatePassed?: boolean; detailed?: boolean },
) {
  const names = [...r.keys.map((k) => k.name), ...r.selections.flatMap((s) => s.features.map((f) => f.name))];
  const nameSet = new Set(names);
  const okIdx: number[] = [];
  const errors = new Map<number, StrataError>();
  entries.forEach((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      errors.set(i, invalidInput(`entry ${i + 1} must be an object of serving keys`));
      return;
    }
    const missing = r.keys.filter((k) => e[k.name] === undefined || e[k.name] === null).map((k) => k.name);
    const unknown = Object.keys(e).filter((k) => !r.keys.some((x) => x.name === k));
    if (missing.length || unknown.length) {
      errors.set(
        i,
        invalidInput(
          `entry ${i + 1}: ${missing.length ? `missing serving key(s) ${missing.join(', ')}` : ''}${missing.length && unknown.length ? '; ' : ''}${unknown.length ? `not a serving key: ${unknown.join(', ')}` : ''}`,
          { hint: `serving keys: ${r.keys.map((k) => k.name).join(', ')}` },
        ),
      );
      return;
    }
    const p = passed[i];
    if (opts.validatePassed && p) {
      const bad = Object.keys(p).filter((k) => !nameSet.has(k));
      if (bad.length) {
        errors.set(i, invalidInput(`passedFeatures of entry ${i + 1} name unknown feature(s) ${bad.join(', ')}`));
        return;
      }
    }
    okIdx.push(i);
  });
  if (opts.single && errors.size) throw errors.values().next().value as StrataError;
  const storeSelections = r.selections.map((s) => ({
    view: s.view,
    joinKeys: s.joinKeys,
    features: s.features.map((f) => f.name),
  }));
  // Wrong key types are refused per row by the store; in a batch, find them row by row only when the batch fails.
  let reads: Awaited<ReturnType<typeof readFeatureRecords>> = [];
  const okEntries = okIdx.map((i) => entries[i] as Record<string, unknown>);
  try {
    reads = okEntries.length ? await readFeatureRecords(store, project, okEntries, storeSelections) : [];
  } catch (err) {
    if (opts.single || !StrataError.is(err, 'INVALID_INPUT')) throw err;
    reads = [];
    const keep: number[] = [];
    for (const i of okIdx) {
      try {
        reads.push(...(await readFeatureRecords(store, project, [entries[i] as Record<string, unknown>], storeSelections)));
        keep.push(i);
      } catch (e) {
        if (!StrataError.is(e, 'INVALID_INPUT')) throw e;
        errors.set(i, e as StrataError);
      }
    }
    okIdx.splice(0, okIdx.length, ...keep);
  }
  const features: (unknown[] | null)[] = entries.map(() => null);
  const status: VectorStatus[] = entries.map(() => 'ERROR');
  const detailed: { featureGroupId: number; httpStatus: number }[][] = entries.map(() => []);
  okIdx.forEach((i, j) => {
    const read = reads[j] ?? {};
    const e = entries[i] as Record<string, unknown>;
    const vec: unknown[] = r.keys.map((k) => e[k.name]);
    let complete = true;
    r.selections.forEach((s, si) => {
      let found = false;
      for (const f of s.features) {
        const fr = read[`${s.view.name}:${f.name}`];
        if (fr && fr.status !== 'NOT_FOUND') found = true;
        vec.push(fr?.status === 'PRESENT' ? jsonValue(fr.value) : null);
      }
      if (!found) complete = false;
      detailed[i]?.push({ featureGroupId: si + 1, httpStatus: found ? 200 : 404 });
    });
    const p = passed[i];
    if (p) for (const [k, v] of Object.entries(p)) if (nameSet.has(k)) vec[names.indexOf(k)] = v;
    features[i] = vec;
    status[i] = complete ? 'COMPLETE' : 'MISSING';
  });
  for (const i of errors.keys()) detailed[i] = [{ featureGroupId: 0, httpStatus: 400 }];
  return { features, status, detailed: opts.detailed ? detailed : undefined, names };
}

export async function hopsworksSingle(store: OnlineStore, project: string, r: ResolvedHopsworksView, body: HopsworksRequest) {
  const entries = body.entries;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw invalidInput('entries must be an object of serving keys, e.g. {"user_id": 7}');
  }
  const passed = body.passedFeatures && !Array.isArray(body.passedFeatures) ? body.passedFeatures : undefined;
  const out = await readVectors(store, project, r, [entries], [passed], {
    single: true,
    validatePassed: body.options?.validatePassedFeatures ?? false,
    detailed: body.options?.includeDetailedStatus ?? false,
  });
  return {
    features: out.features[0],
    metadata: metadata(r, body.metadataOptions),
    status: out.status[0],
    ...(out.detailed ? { detailedStatus: out.detailed[0] } : {}),
  };
}

export async function hopsworksBatch(
  store: OnlineStore,
  project: string,
  r: ResolvedHopsworksView,
  body: HopsworksRequest,
  maxEntities: number,
) {
  const entries = body.entries;
  if (!Array.isArray(entries)) throw invalidInput('entries must be a list of objects of serving keys');
  if (entries.length > maxEntities) {
    throw invalidInput(`${entries.length} entries is more than the limit of ${maxEntities}`, { hint: 'split the request' });
  }
  const passed = Array.isArray(body.passedFeatures) ? body.passedFeatures : [];
  if (passed.length && passed.length !== entries.length) {
    throw invalidInput(`passedFeatures has ${passed.length} items; it must have one per entry (${entries.length})`);
  }
  const out = await readVectors(store, project, r, entries, passed, {
    single: false,
    validatePassed: body.options?.validatePassedFeatures ?? false,
    detailed: body.options?.includeDetailedStatus ?? false,
  });
  return {
    features: out.features,
    metadata: metadata(r, body.metadataOptions),
    status: out.status,
    ...(out.detailed ? { detailedStatus: out.detailed } : {}),
  };
}
