/**
 * A project's lineage as a graph: sources (files, uploads, pipeline sources, Kafka topics) -> ingestions -> views ->
 * feature services, views -> the online store (with the materialized watermark), and views -> the training sets
 * built from them (with the commit each read). Ingestions are bounded per view (the newest N).
 */
import { invalidInput } from '@strata/core';
import { qualified } from '@strata/offline-postgres';
import type { Strata } from './client.js';
import { publicSource } from './explain.js';

export type LineageKind = 'source' | 'ingestion' | 'view' | 'service' | 'online' | 'training-set';

export interface LineageNode {
  id: string;
  kind: LineageKind;
  label: string;
  [extra: string]: unknown;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: string;
  [extra: string]: unknown;
}

export interface LineageGraph {
  project: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export const LINEAGE_INGESTIONS_MAX = 100;

export async function lineage(strata: Strata, opts: { ingestions?: number; trainingSets?: number } = {}): Promise<LineageGraph> {
  const perView = opts.ingestions ?? 5;
  const tsLimit = opts.trainingSets ?? 20;
  if (!Number.isInteger(perView) || perView < 0 || perView > LINEAGE_INGESTIONS_MAX)
    throw invalidInput(`ingestions must be an integer from 0 to ${LINEAGE_INGESTIONS_MAX}`, { details: { field: 'ingestions' } });
  if (!Number.isInteger(tsLimit) || tsLimit < 0 || tsLimit > 1000)
    throw invalidInput('trainingSets must be an integer from 0 to 1000', { details: { field: 'trainingSets' } });
  const t = (name: string) => qualified(strata.registry.schema, name);
  const [repo, versions, ings, marks, sets] = await Promise.all([
    strata.loadRepo(),
    strata.listViewVersions(),
    strata.pool.query(
      `SELECT id, view, version, status, source, row_count, commit_seq, created_at, created_by, workflow_id FROM (
         SELECT i.*, row_number() OVER (PARTITION BY i.view ORDER BY i.created_at DESC, i.id DESC) AS rn
         FROM ${t('ingestions')} i WHERE i.project = $1) x
       WHERE rn <= $2 ORDER BY view, created_at`,
      [strata.project, perView],
    ),
    strata.pool.query(`SELECT view, commit_seq FROM ${t('watermarks')} WHERE project = $1`, [strata.project]),
    // Each training set with, per view it read, the newest commit of that view up to its pinned commit.
    strata.pool.query(
      `SELECT ts.id, ts.status, ts.created_at, ts.created_by, ts.as_of_commit_seq, ts.workflow_id, sel.view, sel.version,
         sel.features, (SELECT max(i.commit_seq) FROM ${t('ingestions')} i WHERE i.project = ts.project AND i.view = sel.view
           AND i.status = 'committed' AND i.commit_seq <= ts.as_of_commit_seq) AS commit_seq
       FROM (SELECT * FROM ${t('training_sets')} WHERE project = $1 ORDER BY created_at DESC LIMIT $2) ts
       CROSS JOIN LATERAL jsonb_to_recordset(ts.spec->'selections') AS sel(view text, version int, features jsonb)
       ORDER BY ts.created_at`,
      [strata.project, tsLimit],
    ),
  ]);

  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const node = (n: LineageNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
  };
  const current = new Map<string, number>();
  for (const v of versions) current.set(v.name, Math.max(current.get(v.name) ?? 0, v.version));
  const watermark = new Map<string, number>(marks.rows.map((r) => [r.view as string, Number(r.commit_seq)]));

  const anyOnline = repo.featureViews.some((v) => v.online);
  if (anyOnline) node({ id: 'online', kind: 'online', label: `online store (${strata.online.kind})` });
  for (const v of repo.featureViews) {
    node({
      id: `view:${v.name}`,
      kind: 'view',
      label: v.name,
      version: current.get(v.name) ?? 1,
      online: v.online,
      entities: v.entities,
      features: v.features.length,
      ...(v.owner ? { owner: v.owner } : {}),
    });
    if (v.stream) {
      const id = `source:kafka:${v.stream.topic}`;
      node({ id, kind: 'source', label: `kafka topic ${v.stream.topic}`, sourceKind: 'kafka' });
      edges.push({ from: id, to: `view:${v.name}`, kind: 'streams' });
    }
    if (v.source) {
      // A pipeline's source: its kind and what it reads, never a connection string.
      const label =
        v.source.kind === 'files' ? `files ${v.source.path}` : `sql${v.source.connection ? ` (${v.source.connection})` : ''}`;
      const id = `source:pipeline:${v.name}`;
      node({ id, kind: 'source', label, sourceKind: v.source.kind });
      edges.push({ from: id, to: `view:${v.name}`, kind: 'pipeline' });
    }
    if (v.online)
      edges.push({ from: `view:${v.name}`, to: 'online', kind: 'materialized', watermark: watermark.get(v.name) ?? 0 });
  }
  for (const s of repo.featureServices) {
    node({ id: `service:${s.name}`, kind: 'service', label: s.name, ...(s.owner ? { owner: s.owner } : {}) });
    for (const ref of s.features)
      edges.push({
        from: `view:${ref.view}`,
        to: `service:${s.name}`,
        kind: 'selected',
        ...(ref.features ? { features: ref.features } : {}),
      });
  }
  for (const r of ings.rows) {
    const id = `ingestion:${r.id}`;
    node({
      id,
      kind: 'ingestion',
      label: r.id,
      view: r.view,
      version: r.version,
      status: r.status,
      commitId: r.commit_seq === null ? null : Number(r.commit_seq),
      rows: Number(r.row_count),
      createdAt: r.created_at,
      createdBy: r.created_by ?? null,
      workflowId: r.workflow_id ?? null,
    });
    if (nodes.has(`view:${r.view}`)) edges.push({ from: id, to: `view:${r.view}`, kind: r.status });
    const src = publicSource(r.source ?? null);
    if (src) {
      const sid = `source:${src}`;
      node({ id: sid, kind: 'source', label: src });
      edges.push({ from: sid, to: id, kind: 'read' });
    }
  }
  for (const r of sets.rows) {
    const id = `training-set:${r.id}`;
    // A view deleted since the training set was built still shows where the set came from.
    node({ id: `view:${r.view}`, kind: 'view', label: r.view, version: r.version, deleted: true });
    node({
      id,
      kind: 'training-set',
      label: r.id,
      status: r.status,
      asOfCommitId: r.as_of_commit_seq === null ? null : Number(r.as_of_commit_seq),
      createdAt: r.created_at,
      createdBy: r.created_by ?? null,
      workflowId: r.workflow_id ?? null,
    });
    edges.push({
      from: `view:${r.view}`,
      to: id,
      kind: 'built-from',
      version: r.version,
      features: r.features ?? [],
      asOfCommitId: r.as_of_commit_seq === null ? null : Number(r.as_of_commit_seq),
      commitId: r.commit_seq === null ? null : Number(r.commit_seq),
    });
  }
  return { project: strata.project, nodes: [...nodes.values()], edges };
}
