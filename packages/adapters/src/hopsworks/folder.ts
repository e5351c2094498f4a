/**
 * A folder of Hopsworks JSON DTOs (what the hsfs client sends to / receives from the REST API) <-> a Strata repo.
 *
 * Layout written by export (import accepts any *.json below the folder; a file may hold one DTO, a list, or a REST
 * list response `{items: [...]}`, classified by its `type`):
 *   featurestore.json                      {projectName, featurestoreId}
 *   feature_groups/<name>_<version>.json    cachedFeaturegroupDTO | streamFeatureGroupDTO | onDemandFeaturegroupDTO
 *   feature_views/<name>_<version>.json     featureViewDTO
 *   training_datasets/<name>_<version>.json trainingDatasetDTO
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { type EntitySpec, type FeatureViewSpec, invalidInput, type RepoSpec, validateRepo } from '@strata/core';
import { isDirectory, writeFolder } from '../files.js';
import {
  emptyReport,
  type EntityWithExtras,
  type Extras,
  type ImportedRepo,
  type ImportReport,
  type RepoWithExtras,
  type ServiceWithExtras,
} from '../report.js';
import {
  type Dto,
  decodeHopsworksFeatureGroup,
  decodeHopsworksFeatureView,
  decodeHopsworksTrainingDataset,
  encodeHopsworksFeatureGroup,
  encodeHopsworksFeatureView,
  FEATURE_GROUP_TYPES,
  fgKey,
} from './dto.js';

const isObj = (v: unknown): v is Dto => typeof v === 'object' && v !== null && !Array.isArray(v);

async function listJson(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listJson(p)));
    else if (ent.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

interface HopsworksRepoExtras {
  featurestore?: Dto;
  featureGroups: Dto[];
  featureViews: Dto[];
  trainingDatasets: Dto[];
  /** Strata view name -> `name:version` of the feature group (only where they differ). */
  names?: Record<string, string>;
}

/** Reads a folder of Hopsworks DTOs into one Strata repo. */
export async function importHopsworks(folder: string): Promise<ImportedRepo> {
  if (!(await isDirectory(folder)))
    throw invalidInput(`'${folder}' is not a folder`, { where: folder, hint: 'point at a folder of Hopsworks JSON DTOs' });
  const groups: { dto: Dto; file: string }[] = [];
  const views: { dto: Dto; file: string }[] = [];
  const tds: { dto: Dto; file: string }[] = [];
  let featurestore: Dto | undefined;
  const report = emptyReport();
  for (const path of await listJson(folder)) {
    const file = relative(folder, path);
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw invalidInput(`${file} is not valid JSON: ${(e as Error).message}`, { where: path, cause: e });
    }
    if (basename(path) === 'featurestore.json' && isObj(doc)) {
      featurestore = doc;
      continue;
    }
    const items = Array.isArray(doc) ? doc : isObj(doc) && Array.isArray(doc.items) ? doc.items : [doc];
    for (const [i, dto] of items.entries()) {
      const where = items.length > 1 ? `${file}[${i}]` : file;
      if (!isObj(dto)) throw invalidInput(`${where} is not a JSON object`, { where });
      const type = typeof dto.type === 'string' ? dto.type : '';
      if ((FEATURE_GROUP_TYPES as readonly string[]).includes(type)) groups.push({ dto, file: where });
      else if (type === 'featureViewDTO') views.push({ dto, file: where });
      else if (type === 'trainingDatasetDTO') tds.push({ dto, file: where });
      else
        throw invalidInput(`${where}: unknown DTO type ${JSON.stringify(dto.type)}`, {
          where,
          hint: `expected ${FEATURE_GROUP_TYPES.join(', ')}, featureViewDTO or trainingDatasetDTO`,
        });
    }
  }
  const project = String(featurestore?.projectName ?? basename(folder)).replace(/[^A-Za-z0-9_]/g, '_');

  // duplicate name:version pairs are an error; several versions of one group get distinct view names
  const seen = new Map<string, string>();
  for (const [kind, list] of [
    ['feature group', groups],
    ['feature view', views],
    ['training dataset', tds],
  ] as const) {
    seen.clear();
    for (const g of list) {
      const key = `${String(g.dto.name)}:${String(g.dto.version ?? 1)}`;
      const prev = seen.get(key);
      if (prev)
        throw invalidInput(`${kind} ${key} is defined twice (${prev} and ${g.file})`, {
          where: g.file,
          hint: 'keep one file per name and version',
        });
      seen.set(key, g.file);
    }
  }
  const latest = new Map<string, number>();
  for (const g of groups)
    latest.set(String(g.dto.name), Math.max(latest.get(String(g.dto.name)) ?? 0, Number(g.dto.version ?? 1)));

  const extras: HopsworksRepoExtras = { featureGroups: [], featureViews: [], trainingDatasets: [], names: {} };
  if (featurestore) extras.featurestore = featurestore;
  const entities = new Map<string, EntitySpec>();
  const outViews: FeatureViewSpec[] = [];
  const viewNameOf = new Map<string, string>();
  for (const g of groups) {
    const name = String(g.dto.name);
    const version = Number(g.dto.version ?? 1);
    const viewName = version === latest.get(name) ? name : `${name}_v${version}`;
    if (viewName !== name) report.warnings.push(`feature group ${name} v${version} is imported as view '${viewName}'`);
    const decoded = decodeHopsworksFeatureGroup(g.dto, report, viewName);
    if (!decoded) {
      extras.featureGroups.push(g.dto);
      continue;
    }
    if (decoded.entity) {
      const prev = entities.get(decoded.entity.name);
      if (prev && JSON.stringify(prev.joinKeys) !== JSON.stringify(decoded.entity.joinKeys)) {
        const renamed = `${decoded.entity.name}_${viewName}`;
        report.warnings.push(
          `primary key of ${viewName} has the same columns as entity '${prev.name}' but other types; it becomes entity '${renamed}'`,
        );
        decoded.entity.name = renamed;
        decoded.view.entities = [renamed];
      }
      if (!entities.has(decoded.entity.name)) {
        entities.set(decoded.entity.name, decoded.entity);
        report.created.push(`entity ${decoded.entity.name}`);
      }
    }
    outViews.push(decoded.view);
    viewNameOf.set(fgKey(g.dto), viewName);
    report.created.push(`feature view ${viewName}`);
  }
  const outServices: ServiceWithExtras[] = [];
  for (const v of views) {
    const s = decodeHopsworksFeatureView(v.dto, viewNameOf, report);
    if (!s) {
      extras.featureViews.push(v.dto);
      continue;
    }
    outServices.push(s);
    report.created.push(`feature service ${s.name}`);
  }
  for (const t of tds) {
    const summary = decodeHopsworksTrainingDataset(t.dto);
    extras.trainingDatasets.push(t.dto);
    report.extras.push({
      object: `training dataset ${summary.name} v${summary.version}`,
      fields: [
        `kept whole (Strata builds training sets on request); splits: ${
          summary.splits.map((s) => `${s.name}${s.percentage !== undefined ? ` ${s.percentage}` : ''}`).join(', ') || 'none'
        }`,
      ],
    });
  }
  const repo: RepoWithExtras = {
    entities: [...entities.values()] as EntityWithExtras[],
    featureViews: outViews,
    featureServices: outServices,
    extras: { hopsworks: extras as unknown as Extras },
  };
  validateRepo(repo);
  return { project, repo, report };
}

export interface HopsworksExportOptions {
  force?: boolean;
  dryRun?: boolean;
  featurestoreId?: number;
}

/** Builds the DTO files for a repo (no I/O). */
export function buildHopsworksFiles(
  project: string,
  repo: RepoSpec,
  opts: { featurestoreId?: number } = {},
): { files: Record<string, string>; report: ImportReport } {
  const report = emptyReport();
  const x = ((repo as RepoWithExtras).extras?.hopsworks ?? {}) as Partial<HopsworksRepoExtras>;
  const featurestoreId = opts.featurestoreId ?? (x.featurestore?.featurestoreId as number | undefined);
  const files: Record<string, string> = {};
  const put = (dir: string, dto: Dto) => {
    const file = `${dir}/${String(dto.name)}_${String(dto.version ?? 1)}.json`;
    files[file] = `${JSON.stringify(dto, null, 2)}\n`;
  };
  if (featurestoreId === undefined)
    report.warnings.push(
      'no feature store id (featurestoreId): the hopsworks client needs one to load these DTOs; pass featurestoreId (CLI: --featurestore-id)',
    );
  files['featurestore.json'] =
    `${JSON.stringify(x.featurestore ?? { projectName: project, ...(featurestoreId !== undefined ? { featurestoreId } : {}) }, null, 2)}\n`;
  const fgByView = new Map<string, Dto>();
  for (const v of repo.featureViews) {
    const dto = encodeHopsworksFeatureGroup(v, repo.entities, report, featurestoreId === undefined ? {} : { featurestoreId });
    fgByView.set(v.name, dto);
    put('feature_groups', dto);
    report.created.push(`feature group ${String(dto.name)} v${String(dto.version ?? 1)}`);
  }
  for (const e of repo.entities as EntityWithExtras[]) {
    if (e.description || e.owner || e.tags)
      report.impossible.push({
        object: `entity ${e.name}`,
        reason: 'Hopsworks has no entity object: description, owner and tags are not exported',
      });
  }
  for (const dto of x.featureGroups ?? []) put('feature_groups', dto);
  const views = new Map(repo.featureViews.map((v) => [v.name, v]));
  for (const s of repo.featureServices as ServiceWithExtras[]) {
    const dto = encodeHopsworksFeatureView(
      s,
      (view) => fgByView.get(view) ?? { name: view, version: 1 },
      views,
      repo.entities,
      report,
      featurestoreId === undefined ? {} : { featurestoreId },
    );
    put('feature_views', dto);
    report.created.push(`feature view ${s.name}`);
  }
  for (const dto of x.featureViews ?? []) put('feature_views', dto);
  for (const dto of x.trainingDatasets ?? []) put('training_datasets', dto);
  return { files, report };
}

/** Writes a folder of Hopsworks DTOs, all or nothing; an existing folder needs force. */
export async function exportHopsworks(
  project: string,
  repo: RepoSpec,
  outDir: string,
  opts: HopsworksExportOptions = {},
): Promise<{ files: string[]; report: ImportReport }> {
  const { files, report } = buildHopsworksFiles(
    project,
    repo,
    opts.featurestoreId === undefined ? {} : { featurestoreId: opts.featurestoreId },
  );
  const written = await writeFolder(outDir, files, { force: opts.force, dryRun: opts.dryRun });
  return { files: written.map((f) => join(outDir, f)), report };
}
