/**
 * Feast repo folders: feature_store.yaml + registry.db in, the same out (a folder the `feast` CLI accepts).
 */
import { join, resolve } from 'node:path';
import { invalidInput, type RepoSpec } from '@strata/core';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { isDirectory, readInput, writeFolder } from '../files.js';
import { type ImportedRepo, type ImportReport, mergeReports } from '../report.js';
import { buildRegistry, decodeFeastRegistry, type EncodeOptions } from './registry.js';
import { T } from './schema.js';
import { encodeToBytes } from './wire.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FeatureStoreYaml {
  project: string;
  registryPath: string;
  raw: Obj;
}

export function parseFeatureStoreYaml(text: string, where = 'feature_store.yaml'): FeatureStoreYaml {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw invalidInput(`${where} is not valid YAML: ${(e as Error).message}`, { where, cause: e });
  }
  if (!isObj(doc) || typeof doc.project !== 'string' || !doc.project)
    throw invalidInput(`${where} has no project`, { where, hint: 'a feature_store.yaml starts with `project: <name>`' });
  const reg = doc.registry;
  let registryPath: string | undefined;
  if (typeof reg === 'string') registryPath = reg;
  else if (isObj(reg)) {
    const type = String(reg.registry_type ?? 'file');
    if (type !== 'file')
      throw invalidInput(`${where}: registry_type '${type}' is not a file registry`, {
        where: `${where}: registry.registry_type`,
        hint: 'Strata reads file registries (registry.db); export the registry to a file with a file registry first',
      });
    registryPath = typeof reg.path === 'string' ? reg.path : undefined;
  }
  if (!registryPath)
    throw invalidInput(`${where} has no registry path`, { where, hint: 'set registry: data/registry.db (or registry.path)' });
  if (/^[a-z0-9]+:\/\//i.test(registryPath) && !registryPath.startsWith('file://'))
    throw invalidInput(`${where}: registry '${registryPath}' is remote`, {
      where,
      hint: 'download the registry.db and point at the local copy',
    });
  return { project: doc.project, registryPath: registryPath.replace(/^file:\/\//, ''), raw: doc };
}

/** Maps feature_store.yaml store settings to Strata config where they mean something; the rest becomes warnings. */
export function strataConfigFromFeast(fs: FeatureStoreYaml, report: ImportReport): Record<string, unknown> {
  const config: Obj = { project: fs.project };
  const online = fs.raw.online_store;
  if (isObj(online)) {
    const type = String(online.type ?? 'sqlite');
    if (type === 'redis' && typeof online.connection_string === 'string') {
      const [hostPort, ...opts] = online.connection_string.split(',').map((s) => s.trim());
      const ssl = opts.some((o) => /^ssl=true$/i.test(o));
      const db = opts.find((o) => o.startsWith('db='))?.slice(3);
      config.redis = { url: `${ssl ? 'rediss' : 'redis'}://${hostPort}${db ? `/${db}` : ''}` };
      if (opts.some((o) => o.startsWith('password=')))
        report.warnings.push('online_store.connection_string has a password; it is not copied: set STRATA_REDIS_URL');
      if (online.redis_type === 'redis_cluster') report.warnings.push('Redis cluster mode: Strata talks to one Redis endpoint');
    } else {
      report.warnings.push(`online_store type '${type}': Strata serves from Redis only; configure redis.url yourself`);
    }
  }
  const offline = fs.raw.offline_store;
  if (isObj(offline)) {
    const type = String(offline.type ?? 'file');
    if (type === 'postgres') {
      const user = offline.user ? `${encodeURIComponent(String(offline.user))}@` : '';
      const port = offline.port ? `:${offline.port}` : '';
      config.postgres = { url: `postgres://${user}${offline.host ?? '127.0.0.1'}${port}/${offline.database ?? ''}` };
      if (offline.password) report.warnings.push('offline_store.password is not copied: set STRATA_POSTGRES_URL');
    } else {
      report.warnings.push(
        `offline_store type '${type}': Strata keeps history in Postgres; load the sources' data with \`strata ingest\``,
      );
    }
  }
  return config;
}

/**
 * Imports a Feast repo: a registry.db file, or a folder with feature_store.yaml (whose registry path is resolved
 * against the folder). Returns one ImportedRepo per Feast project in the registry.
 */
export async function importFeast(pathToRegistryDbOrRepoFolder: string): Promise<ImportedRepo[]> {
  const path = pathToRegistryDbOrRepoFolder;
  if (await isDirectory(path)) {
    const yamlPath = join(path, 'feature_store.yaml');
    const text = new TextDecoder().decode(await readInput(yamlPath, 'feature_store.yaml'));
    const fs = parseFeatureStoreYaml(text, yamlPath);
    const regPath = resolve(path, fs.registryPath);
    const bytes = await readInput(regPath, 'Feast registry');
    const repos = decodeFeastRegistry(bytes, { defaultProject: fs.project, source: regPath });
    return repos.map((r) => {
      if (r.project !== fs.project) return r;
      const config = strataConfigFromFeast(fs, r.report);
      const feast = (r.repo.extras?.feast ?? {}) as Obj;
      feast.featureStoreYaml = withoutSecrets(fs.raw);
      return { ...r, config };
    });
  }
  const bytes = await readInput(path, 'Feast registry');
  return decodeFeastRegistry(bytes, { source: path });
}

export interface ExportOptions extends EncodeOptions {
  force?: boolean;
  dryRun?: boolean;
}

/**
 * The environment variable the exported feature_store.yaml reads the Redis connection from (Feast expands `${VAR}`
 * in feature_store.yaml when it loads it). Feast's form: `host:port[,password=...][,ssl=true][,db=N]`.
 */
export const FEAST_REDIS_ENV = 'REDIS_CONNECTION_STRING';

/**
 * The online store of an exported repo: the Redis Strata serves from (Feast's own key layout, so Feast reads the rows
 * Strata wrote), its address and credentials only as an environment reference, never inline.
 */
export function feastOnlineStore(): Obj {
  return { type: 'redis', connection_string: `\${${FEAST_REDIS_ENV}}` };
}

/** Drops inline credentials from a kept feature_store.yaml (the offline store's password, a Redis password=...). */
function withoutSecrets(doc: Obj): Obj {
  const out: Obj = { ...doc };
  for (const key of ['offline_store', 'batch_engine']) {
    const store = out[key];
    if (isObj(store) && 'password' in store) {
      const { password: _p, ...rest } = store;
      out[key] = rest;
    }
  }
  const online = out.online_store;
  if (isObj(online) && typeof online.connection_string === 'string') {
    const parts = online.connection_string.split(',').filter((s) => !/^\s*password=/i.test(s));
    out.online_store = { ...online, connection_string: parts.join(',') };
  }
  return out;
}

function featureStoreYamlFor(project: string, repo: RepoSpec): string {
  const kept = ((repo as { extras?: Obj }).extras?.feast as Obj | undefined)?.featureStoreYaml;
  if (isObj(kept)) {
    const doc: Obj = { ...withoutSecrets(kept), project, online_store: feastOnlineStore() };
    const reg = doc.registry;
    doc.registry = isObj(reg) ? { ...reg, registry_type: 'file', path: 'data/registry.db' } : 'data/registry.db';
    return toYaml(doc);
  }
  return toYaml({
    project,
    provider: 'local',
    registry: { registry_type: 'file', path: 'data/registry.db' },
    online_store: feastOnlineStore(),
    offline_store: { type: 'file' },
    entity_key_serialization_version: 3,
  });
}

/**
 * Writes a Feast repo folder (feature_store.yaml + data/registry.db) that `feast` accepts. The folder must not exist
 * unless force; it is written all or nothing.
 */
export async function exportFeast(
  project: string,
  repo: RepoSpec,
  outDir: string,
  opts: ExportOptions = {},
): Promise<{ files: string[]; report: ImportReport }> {
  const { registry, report } = buildRegistry([{ project, repo }], opts);
  const bytes = encodeToBytes(T.Registry, registry);
  const files = await writeFolder(
    outDir,
    { 'feature_store.yaml': featureStoreYamlFor(project, repo), 'data/registry.db': bytes },
    { force: opts.force, dryRun: opts.dryRun },
  );
  const created = mergeReports(report);
  created.created.push(
    ...repo.entities.map((e) => `entity ${e.name}`),
    ...repo.featureViews.map((v) => `feature view ${v.name}`),
    ...repo.featureServices.map((s) => `feature service ${s.name}`),
  );
  return { files: files.map((f) => join(outDir, f)), report: created };
}
