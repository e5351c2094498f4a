/**
 * Search the registry: entities, feature views, feature services and features of some projects, by name (or
 * description), tag, owner and value type. All filters are ANDed; a feature takes its view's owner and tags.
 */
import type { EntitySpec, FeatureServiceSpec, FeatureViewSpec, ObjectKind } from '@strata/core';
import { invalidInput, isValueTypeName } from '@strata/core';
import { qualified } from '@strata/offline-postgres';
import type { Strata } from './client.js';

export type SearchKind = 'entity' | 'feature_view' | 'feature_service' | 'feature';
export const SEARCH_KINDS: SearchKind[] = ['entity', 'feature_view', 'feature_service', 'feature'];

export interface SearchQuery {
  q?: string;
  kind?: string;
  /** `key` (the tag exists) or `key=value`. */
  tag?: string;
  owner?: string;
  /** A value type name (INT64, STRING, ...). */
  type?: string;
  limit?: number;
}

export interface SearchHit {
  kind: SearchKind;
  project: string;
  name: string;
  /** The feature's view (features only). */
  view?: string;
  valueType?: string;
  owner?: string;
  tags?: Record<string, string>;
  description?: string;
  link: string;
}

export async function searchRegistry(
  strata: Strata,
  projects: string[],
  query: SearchQuery,
): Promise<{ results: SearchHit[]; truncated: boolean }> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalidInput('limit must be an integer from 1 to 1000', { details: { field: 'limit' } });
  if (query.kind && !SEARCH_KINDS.includes(query.kind as SearchKind))
    throw invalidInput(`unknown kind '${query.kind}'`, { details: { field: 'kind' }, hint: `one of ${SEARCH_KINDS.join(', ')}` });
  const type = query.type?.toUpperCase();
  if (type && !isValueTypeName(type))
    throw invalidInput(`unknown value type '${query.type}'`, {
      details: { field: 'type' },
      hint: 'a Feast value type name such as INT64, DOUBLE, STRING',
    });
  if (!projects.length) return { results: [], truncated: false };
  const { rows } = await strata.pool.query<{ project: string; kind: ObjectKind; name: string; spec: unknown }>(
    `SELECT project, kind, name, spec FROM ${qualified(strata.registry.schema, 'objects')}
     WHERE project = ANY($1::text[]) ORDER BY project, kind, name`,
    [projects],
  );
  const q = query.q?.trim().toLowerCase() ?? '';
  const [tagKey, tagValue] = query.tag ? (query.tag.includes('=') ? query.tag.split(/=(.*)/s) : [query.tag]) : [];
  const textMatch = (name: string, description?: string) =>
    !q || name.toLowerCase().includes(q) || (description ?? '').toLowerCase().includes(q);
  const tagMatch = (tags?: Record<string, string>) =>
    tagKey === undefined || (tags !== undefined && tagKey in tags && (tagValue === undefined || tags[tagKey] === tagValue));
  const ownerMatch = (owner?: string) => !query.owner || owner === query.owner;
  const want = (k: SearchKind) => !query.kind || query.kind === k;
  const link = (project: string, path: string) => `/api/v1/projects/${project}/${path}`;
  const out: SearchHit[] = [];
  const opt = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  for (const r of rows) {
    if (r.kind === 'entity' && want('entity')) {
      const e = r.spec as EntitySpec;
      if (
        textMatch(e.name, e.description) &&
        tagMatch(e.tags) &&
        ownerMatch(e.owner) &&
        (!type || e.joinKeys.some((k) => k.valueType === type))
      )
        out.push({
          kind: 'entity',
          project: r.project,
          name: e.name,
          ...opt({
            valueType: e.joinKeys.map((k) => k.valueType).join(','),
            owner: e.owner,
            tags: e.tags,
            description: e.description,
          }),
          link: link(r.project, `entities/${e.name}`),
        });
    } else if (r.kind === 'feature_view') {
      const v = r.spec as FeatureViewSpec;
      const viewLink = link(r.project, `feature-views/${v.name}`);
      if (want('feature_view') && !type && textMatch(v.name, v.description) && tagMatch(v.tags) && ownerMatch(v.owner))
        out.push({
          kind: 'feature_view',
          project: r.project,
          name: v.name,
          ...opt({ owner: v.owner, tags: v.tags, description: v.description }),
          link: viewLink,
        });
      if (want('feature') && ownerMatch(v.owner))
        for (const f of v.features) {
          const tags = { ...(v.tags ?? {}), ...(f.tags ?? {}) };
          if (textMatch(f.name, f.description) && tagMatch(tags) && (!type || f.valueType === type))
            out.push({
              kind: 'feature',
              project: r.project,
              name: f.name,
              view: v.name,
              valueType: f.valueType,
              ...opt({ owner: v.owner, tags: Object.keys(tags).length ? tags : undefined, description: f.description }),
              link: viewLink,
            });
        }
    } else if (r.kind === 'feature_service' && want('feature_service') && !type) {
      const s = r.spec as FeatureServiceSpec;
      if (textMatch(s.name, s.description) && tagMatch(s.tags) && ownerMatch(s.owner))
        out.push({
          kind: 'feature_service',
          project: r.project,
          name: s.name,
          ...opt({ owner: s.owner, tags: s.tags, description: s.description }),
          link: link(r.project, `feature-services/${s.name}`),
        });
    }
  }
  return { results: out.slice(0, limit), truncated: out.length > limit };
}
