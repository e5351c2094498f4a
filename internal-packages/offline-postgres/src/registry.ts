/**
 * The registry on Postgres: apply (create, update, new version on a breaking change), get, list, delete, plan.
 * Every apply runs in one transaction under a per-project advisory lock, so concurrent applies serialize and
 * none of them is lost; a NOTIFY after commit lets servers refresh at once.
 */
import {
  type Change,
  diffEntity,
  diffOnDemandView,
  diffService,
  diffView,
  type EntitySpec,
  type FeatureServiceSpec,
  type FeatureViewSpec,
  invalidSpec,
  type JoinKey,
  type ObjectKind,
  type OnDemandFeatureViewSpec,
  type RepoSpec,
  StrataError,
  toPostgresType,
  unknownObject,
  validateRepo,
  viewJoinKeys,
} from '@strata/core';
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from './pool.js';
import { withTransaction } from './pool.js';
import { migrate } from './schema.js';
import { ident, qualified, viewTableName } from './sql.js';

export const REGISTRY_CHANNEL = 'strata_registry';

export interface ViewVersion {
  project: string;
  name: string;
  version: number;
  spec: FeatureViewSpec;
  joinKeys: JoinKey[];
  tableName: string;
}

export interface ApplyResult {
  changes: Change[];
  views: ViewVersion[];
  /** The registry revision after this apply. */
  revision: string;
}

type Queryable = Pool | PoolClient;

/** The shared partition of a commit-partitioned view table: where small commits are inserted. */
export function sharedPartitionName(tableName: string): string {
  return `${tableName.slice(0, 55)}_shared`;
}

/** The point-in-time index's columns: join keys, event time, created time, commit number, newest first. */
export function pitIndexColumns(spec: FeatureViewSpec, joinKeys: JoinKey[]): string[] {
  return [
    ...joinKeys.map((k) => ident(k.name)),
    `${ident(spec.timestampField)} DESC`,
    ...(spec.createdTimestampField ? [`${ident(spec.createdTimestampField)} DESC NULLS LAST`] : []),
    '"__commit_seq" DESC',
  ];
}

export class PgRegistry {
  /**
   * The layout of new view version tables; tables made before keep theirs. 0 (default): range-partitioned by commit
   * number, small commits in one shared partition, each big commit its own attached partition (ADR 0013). 1: a plain
   * table (what versions before ADR 0013 made). > 1: hash-partitioned by the join keys into that many partitions
   * (ADR 0007). Only the first layout takes big commits without writing their rows a second time.
   */
  readonly viewPartitions: number;

  constructor(
    readonly pool: Pool,
    readonly schema: string,
    opts: { viewPartitions?: number } = {},
  ) {
    ident(schema);
    const n = opts.viewPartitions ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 1024) {
      throw invalidSpec(`viewPartitions must be a whole number from 0 to 1024, not ${String(n)}`, {
        hint: 'postgres.viewPartitions: 0 partitions by commit (default), 1 keeps plain tables; 8-64 hash partitions suit tables of hundreds of millions of rows',
      });
    }
    this.viewPartitions = n;
  }

  private t(name: string): string {
    return qualified(this.schema, name);
  }

  init(): Promise<void> {
    return migrate(this.pool, this.schema);
  }

  /** Rejects when the registry's database cannot be reached (health checks). */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async loadRepo(project: string, db: Queryable = this.pool): Promise<RepoSpec> {
    const { rows } = await db.query<{ kind: ObjectKind; spec: unknown }>(
      `SELECT kind, spec FROM ${this.t('objects')} WHERE project = $1 ORDER BY kind, name`,
      [project],
    );
    const onDemand = rows.filter((r) => r.kind === 'on_demand_feature_view').map((r) => r.spec as OnDemandFeatureViewSpec);
    return {
      entities: rows.filter((r) => r.kind === 'entity').map((r) => r.spec as EntitySpec),
      featureViews: rows.filter((r) => r.kind === 'feature_view').map((r) => r.spec as FeatureViewSpec),
      featureServices: rows.filter((r) => r.kind === 'feature_service').map((r) => r.spec as FeatureServiceSpec),
      ...(onDemand.length ? { onDemandFeatureViews: onDemand } : {}),
    };
  }

  /**
   * Registry-wide objects from another system (a Feast registry's data sources, saved datasets, permissions, ...)
   * that have no Strata equivalent: kept per project and source so an export gives them back.
   */
  async setProjectExtras(project: string, source: string, extras: Record<string, unknown>): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t('project_extras')} (project, source, extras) VALUES ($1, $2, $3)
       ON CONFLICT (project, source) DO UPDATE SET extras = EXCLUDED.extras, updated_at = now()`,
      [project, source, JSON.stringify(extras)],
    );
  }

  async getProjectExtras(project: string, source: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this.pool.query<{ extras: Record<string, unknown> }>(
      `SELECT extras FROM ${this.t('project_extras')} WHERE project = $1 AND source = $2`,
      [project, source],
    );
    return rows[0]?.extras;
  }

  async listProjects(): Promise<string[]> {
    const { rows } = await this.pool.query<{ project: string }>(
      `SELECT DISTINCT project FROM ${this.t('objects')} ORDER BY project`,
    );
    return rows.map((r) => r.project);
  }

  private computePlan(current: RepoSpec, desired: RepoSpec): Change[] {
    const changes: Change[] = [];
    const curEntities = new Map(current.entities.map((e) => [e.name, e]));
    const keysChanged = new Set<string>();
    for (const e of desired.entities) {
      const c = diffEntity(curEntities.get(e.name), e);
      if (c.action === 'update' && c.reasons.some((r) => r.startsWith('join keys changed'))) keysChanged.add(e.name);
      changes.push(c);
    }
    const curViews = new Map(current.featureViews.map((v) => [v.name, v]));
    const desiredViewNames = new Set(desired.featureViews.map((v) => v.name));
    for (const v of desired.featureViews) {
      changes.push(
        diffView(
          curViews.get(v.name),
          v,
          v.entities.some((e) => keysChanged.has(e)),
        ),
      );
    }
    // Views not in this apply but keyed by an entity whose keys changed also need a new version.
    for (const v of current.featureViews) {
      if (!desiredViewNames.has(v.name) && v.entities.some((e) => keysChanged.has(e))) {
        changes.push({
          kind: 'feature_view',
          name: v.name,
          action: 'new_version',
          reasons: ['the join keys of one of its entities changed'],
        });
      }
    }
    const curOnDemand = new Map((current.onDemandFeatureViews ?? []).map((v) => [v.name, v]));
    for (const v of desired.onDemandFeatureViews ?? []) changes.push(diffOnDemandView(curOnDemand.get(v.name), v));
    const curServices = new Map(current.featureServices.map((s) => [s.name, s]));
    for (const s of desired.featureServices) changes.push(diffService(curServices.get(s.name), s));
    return changes;
  }

  private merged(current: RepoSpec, desired: RepoSpec): RepoSpec {
    const merge = <T extends { name: string }>(a: T[], b: T[]) => {
      const m = new Map(a.map((x) => [x.name, x]));
      for (const x of b) m.set(x.name, x);
      return [...m.values()];
    };
    const onDemand = merge(current.onDemandFeatureViews ?? [], desired.onDemandFeatureViews ?? []);
    return {
      entities: merge(current.entities, desired.entities),
      featureViews: merge(current.featureViews, desired.featureViews),
      featureServices: merge(current.featureServices, desired.featureServices),
      ...(onDemand.length ? { onDemandFeatureViews: onDemand } : {}),
    };
  }

  /** What apply would do, without changing anything. */
  async plan(project: string, repo: RepoSpec): Promise<Change[]> {
    const current = await this.loadRepo(project);
    const desired = validateRepo(repo, current);
    return this.computePlan(current, desired);
  }

  /**
   * A fingerprint of a project's registry state (every object's spec and version). A client that planned against
   * one revision passes it to apply as `basedOn`; if someone applied in between, apply refuses (optimistic
   * concurrency) instead of merging silently.
   */
  async revision(project: string, db: Queryable = this.pool): Promise<string> {
    const { rows } = await db.query<{ kind: string; name: string; version: number; spec: unknown }>(
      `SELECT kind, name, version, spec FROM ${this.t('objects')} WHERE project = $1 ORDER BY kind, name`,
      [project],
    );
    return createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 32);
  }

  async apply(project: string, repo: RepoSpec, opts: { basedOn?: string } = {}): Promise<ApplyResult> {
    ident(project.replace(/-/g, '_'));
    const result = await withTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-apply:${this.schema}:${project}`]);
      const current = await this.loadRepo(project, c);
      const desired = validateRepo(repo, current);
      const changes = this.computePlan(current, desired);
      if (opts.basedOn !== undefined) {
        const now = await this.revision(project, c);
        if (now !== opts.basedOn) {
          throw new StrataError('CONFLICT', `project '${project}' changed since the plan this apply is based on`, {
            hint: 'review the current plan (details.changes) and apply again based on details.revision',
            details: { revision: now, basedOn: opts.basedOn, changes },
          });
        }
      }
      const all = this.merged(current, desired);
      const entities = new Map(all.entities.map((e) => [e.name, e]));
      const views: ViewVersion[] = [];
      for (const ch of changes) {
        if (ch.action === 'unchanged') continue;
        if (ch.kind === 'entity') {
          await this.upsert(c, project, 'entity', ch.name, entities.get(ch.name), 1);
        } else if (ch.kind === 'feature_service') {
          await this.upsert(
            c,
            project,
            'feature_service',
            ch.name,
            all.featureServices.find((s) => s.name === ch.name),
            1,
          );
        } else if (ch.kind === 'on_demand_feature_view') {
          // No table: the spec (with its bundled code and code hash) is the whole object.
          await this.upsert(
            c,
            project,
            'on_demand_feature_view',
            ch.name,
            all.onDemandFeatureViews?.find((v) => v.name === ch.name),
            1,
          );
        } else {
          const spec = all.featureViews.find((v) => v.name === ch.name) as FeatureViewSpec;
          const prev = await this.currentVersion(c, project, ch.name);
          const joinKeys = viewJoinKeys(spec, entities);
          if (ch.action === 'create' || ch.action === 'new_version') {
            const version = (prev ?? 0) + 1;
            const tableName = viewTableName(project, spec.name, version);
            await this.createViewTable(c, tableName, spec, joinKeys);
            await c.query(
              `INSERT INTO ${this.t('view_versions')} (project, name, version, spec, join_keys, table_name) VALUES ($1,$2,$3,$4,$5,$6)`,
              [project, spec.name, version, JSON.stringify(spec), JSON.stringify(joinKeys), tableName],
            );
            await this.upsert(c, project, 'feature_view', spec.name, spec, version);
            views.push({ project, name: spec.name, version, spec, joinKeys, tableName });
          } else {
            const version = prev as number;
            const vv = await this.getViewVersion(c, project, spec.name, version);
            for (const f of spec.features) {
              if (!vv.spec.features.some((g) => g.name === f.name)) {
                await c.query(
                  `ALTER TABLE ${this.t(vv.tableName)} ADD COLUMN IF NOT EXISTS ${ident(f.name)} ${toPostgresType(f.valueType)}`,
                );
              }
            }
            await c.query(`UPDATE ${this.t('view_versions')} SET spec = $4 WHERE project = $1 AND name = $2 AND version = $3`, [
              project,
              spec.name,
              version,
              JSON.stringify(spec),
            ]);
            await this.upsert(c, project, 'feature_view', spec.name, spec, version);
            views.push({ ...vv, spec });
          }
        }
      }
      if (changes.some((ch) => ch.action !== 'unchanged')) {
        await c.query('SELECT pg_notify($1, $2)', [REGISTRY_CHANNEL, JSON.stringify({ schema: this.schema, project })]);
      }
      return { changes, views, revision: await this.revision(project, c) };
    });
    return result;
  }

  private async currentVersion(c: Queryable, project: string, view: string): Promise<number | undefined> {
    const { rows } = await c.query<{ version: number }>(
      `SELECT max(version) AS version FROM ${this.t('view_versions')} WHERE project = $1 AND name = $2`,
      [project, view],
    );
    return rows[0]?.version ?? undefined;
  }

  private async upsert(c: PoolClient, project: string, kind: ObjectKind, name: string, spec: unknown, version: number) {
    await c.query(
      `INSERT INTO ${this.t('objects')} (project, kind, name, version, spec) VALUES ($1,$2,$3,$4,$5)
       ON CONFLICT (project, kind, name) DO UPDATE SET spec = EXCLUDED.spec, version = EXCLUDED.version, updated_at = now()`,
      [project, kind, name, version, JSON.stringify(spec)],
    );
  }

  private async createViewTable(c: PoolClient, tableName: string, spec: FeatureViewSpec, joinKeys: JoinKey[]) {
    const cols = [
      ...joinKeys.map((k) => `${ident(k.name)} ${toPostgresType(k.valueType)} NOT NULL`),
      `${ident(spec.timestampField)} timestamptz NOT NULL`,
      ...(spec.createdTimestampField ? [`${ident(spec.createdTimestampField)} timestamptz`] : []),
      ...spec.features.map((f) => `${ident(f.name)} ${toPostgresType(f.valueType)}`),
      '"__ingestion_id" text NOT NULL',
      '"__commit_seq" bigint NOT NULL',
    ];
    const t = this.t(tableName);
    const parts = this.viewPartitions;
    if (parts > 1) {
      // Hash partitions by the entity key: a point-in-time or latest-row lookup of an entity touches one partition,
      // and every partition keeps the same (keys, event time) index order.
      await c.query(
        `CREATE TABLE ${t} (${cols.join(', ')}) PARTITION BY HASH (${joinKeys.map((k) => ident(k.name)).join(', ')})`,
      );
      for (let i = 0; i < parts; i++) {
        await c.query(
          `CREATE TABLE ${this.t(`${tableName.slice(0, 52)}_p${i}`)} PARTITION OF ${t} FOR VALUES WITH (MODULUS ${parts}, REMAINDER ${i})`,
        );
      }
    } else if (parts === 1) {
      await c.query(`CREATE TABLE ${t} (${cols.join(', ')})`);
    } else {
      // By commit number (ADR 0013): small commits are inserted into the shared (default) partition; a big commit's
      // staging table becomes a partition of its own at commit, so its rows are written once.
      await c.query(`CREATE TABLE ${t} (${cols.join(', ')}) PARTITION BY RANGE ("__commit_seq")`);
      await c.query(`CREATE TABLE ${this.t(sharedPartitionName(tableName))} PARTITION OF ${t} DEFAULT`);
    }
    const pit = pitIndexColumns(spec, joinKeys);
    if (parts === 0) {
      // Unique: a commit holds no exact duplicates (last one wins), and the index build of an attached commit is what
      // finds them. The commit-number index only serves the shared partition: an attached one holds one number.
      await c.query(
        `CREATE UNIQUE INDEX ${ident(`${tableName.slice(0, 55)}_pit`)} ON ${t} (${pit.join(', ')}) NULLS NOT DISTINCT`,
      );
      await c.query(
        `CREATE INDEX ${ident(`${tableName.slice(0, 55)}_seq`)} ON ${this.t(sharedPartitionName(tableName))} ("__commit_seq")`,
      );
    } else {
      await c.query(`CREATE INDEX ${ident(`${tableName.slice(0, 55)}_pit`)} ON ${t} (${pit.join(', ')})`);
      await c.query(`CREATE INDEX ${ident(`${tableName.slice(0, 55)}_seq`)} ON ${t} ("__commit_seq")`);
    }
  }

  async getViewVersion(db: Queryable, project: string, name: string, version?: number): Promise<ViewVersion> {
    const { rows } = await db.query<{ version: number; spec: FeatureViewSpec; join_keys: JoinKey[]; table_name: string }>(
      version === undefined
        ? `SELECT v.version, v.spec, v.join_keys, v.table_name FROM ${this.t('view_versions')} v
             JOIN ${this.t('objects')} o ON o.project = v.project AND o.kind = 'feature_view' AND o.name = v.name AND o.version = v.version
             WHERE v.project = $1 AND v.name = $2`
        : `SELECT version, spec, join_keys, table_name FROM ${this.t('view_versions')} WHERE project = $1 AND name = $2 AND version = $3`,
      version === undefined ? [project, name] : [project, name, version],
    );
    const r = rows[0];
    if (!r) {
      const known = (await this.loadRepo(project, db)).featureViews.map((v) => v.name);
      throw unknownObject('feature view', version === undefined ? name : `${name}@v${version}`, known, {
        where: `project '${project}'`,
      });
    }
    return { project, name, version: r.version, spec: r.spec, joinKeys: r.join_keys, tableName: r.table_name };
  }

  getView(project: string, name: string, version?: number): Promise<ViewVersion> {
    return this.getViewVersion(this.pool, project, name, version);
  }

  async listViewVersions(project: string, name?: string): Promise<ViewVersion[]> {
    const { rows } = await this.pool.query<{
      name: string;
      version: number;
      spec: FeatureViewSpec;
      join_keys: JoinKey[];
      table_name: string;
    }>(
      `SELECT name, version, spec, join_keys, table_name FROM ${this.t('view_versions')}
       WHERE project = $1 AND ($2::text IS NULL OR name = $2) ORDER BY name, version`,
      [project, name ?? null],
    );
    return rows.map((r) => ({
      project,
      name: r.name,
      version: r.version,
      spec: r.spec,
      joinKeys: r.join_keys,
      tableName: r.table_name,
    }));
  }

  async getEntity(project: string, name: string): Promise<EntitySpec> {
    const repo = await this.loadRepo(project);
    const e = repo.entities.find((x) => x.name === name);
    if (!e)
      throw unknownObject(
        'entity',
        name,
        repo.entities.map((x) => x.name),
        { where: `project '${project}'` },
      );
    return e;
  }

  async getService(project: string, name: string): Promise<FeatureServiceSpec> {
    const repo = await this.loadRepo(project);
    const s = repo.featureServices.find((x) => x.name === name);
    if (!s)
      throw unknownObject(
        'feature service',
        name,
        repo.featureServices.map((x) => x.name),
        { where: `project '${project}'` },
      );
    return s;
  }

  /**
   * Deletes an object. A view's offline tables (all versions) are dropped with it; a view or entity still used by
   * another object is refused with the list of users.
   */
  async delete(project: string, kind: ObjectKind, name: string): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata-apply:${this.schema}:${project}`]);
      const repo = await this.loadRepo(project, c);
      const users =
        kind === 'entity'
          ? repo.featureViews.filter((v) => v.entities.includes(name)).map((v) => `feature view '${v.name}'`)
          : kind === 'feature_view' || kind === 'on_demand_feature_view'
            ? [
                ...repo.featureServices
                  .filter((s) => s.features.some((f) => f.view === name))
                  .map((s) => `feature service '${s.name}'`),
                ...(repo.onDemandFeatureViews ?? [])
                  .filter((v) => v.sources.some((x) => x.view === name))
                  .map((v) => `on-demand feature view '${v.name}'`),
              ]
            : [];
      if (users.length) {
        throw new StrataError('CONFLICT', `${kind.replaceAll('_', ' ')} '${name}' is still used by ${users.join(', ')}`, {
          hint: 'delete or change those first',
        });
      }
      const { rowCount } = await c.query(`DELETE FROM ${this.t('objects')} WHERE project = $1 AND kind = $2 AND name = $3`, [
        project,
        kind,
        name,
      ]);
      if (!rowCount) {
        const names =
          kind === 'entity'
            ? repo.entities
            : kind === 'feature_view'
              ? repo.featureViews
              : kind === 'on_demand_feature_view'
                ? (repo.onDemandFeatureViews ?? [])
                : repo.featureServices;
        throw unknownObject(
          kind.replaceAll('_', ' '),
          name,
          names.map((x) => x.name),
          { where: `project '${project}'` },
        );
      }
      if (kind === 'feature_view') {
        const { rows } = await c.query<{ table_name: string }>(
          `DELETE FROM ${this.t('view_versions')} WHERE project = $1 AND name = $2 RETURNING table_name`,
          [project, name],
        );
        for (const r of rows) await c.query(`DROP TABLE IF EXISTS ${this.t(r.table_name)}`);
        await c.query(`DELETE FROM ${this.t('watermarks')} WHERE project = $1 AND view = $2`, [project, name]);
      }
      await c.query('SELECT pg_notify($1, $2)', [REGISTRY_CHANNEL, JSON.stringify({ schema: this.schema, project })]);
    });
  }
}
