/**
 * The server's view of the registry: loaded once per project, refreshed the moment an apply commits (Postgres
 * LISTEN/NOTIFY on the registry channel), with a periodic reload as a safety net if a notification is missed.
 */
import type { RepoSpec } from '@strata/core';
import { type Pool, type PgRegistry, REGISTRY_CHANNEL, type ViewVersion } from '@strata/offline-postgres';
import type pg from 'pg';

interface Entry {
  repo: RepoSpec;
  views: Map<string, ViewVersion>;
  loadedAt: number;
}

export class RegistryCache {
  private entries = new Map<string, Promise<Entry>>();
  private listener: pg.PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  reloads = 0;

  constructor(
    private readonly registry: PgRegistry,
    private readonly pool: Pool,
    private readonly maxAgeMs = 60_000,
  ) {}

  async start(): Promise<void> {
    await this.listen();
    this.timer = setInterval(
      () => {
        const now = Date.now();
        for (const [project, p] of this.entries) {
          p.then((e) => {
            if (now - e.loadedAt > this.maxAgeMs) this.invalidate(project);
          }).catch(() => this.entries.delete(project));
        }
      },
      Math.min(this.maxAgeMs, 10_000),
    );
    this.timer.unref();
  }

  private async listen(): Promise<void> {
    try {
      const client = await this.pool.connect();
      this.listener = client;
      client.on('notification', (msg) => {
        try {
          const { schema, project } = JSON.parse(msg.payload ?? '{}') as { schema?: string; project?: string };
          if (schema === this.registry.schema && project) this.invalidate(project);
        } catch {
          this.entries.clear();
        }
      });
      client.on('error', () => {
        // Connection lost: drop everything cached and listen again once Postgres is back.
        this.entries.clear();
        this.listener = undefined;
        client.release(true);
        setTimeout(() => this.listen().catch(() => {}), 1000).unref();
      });
      await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
    } catch {
      setTimeout(() => this.listen().catch(() => {}), 1000).unref();
    }
  }

  invalidate(project: string): void {
    this.entries.delete(project);
    this.reloads++;
  }

  get(project: string): Promise<Entry> {
    let p = this.entries.get(project);
    if (!p) {
      p = (async () => {
        const repo = await this.registry.loadRepo(project);
        const views = new Map<string, ViewVersion>();
        for (const vv of await this.registry.listViewVersions(project)) {
          const current = repo.featureViews.find((v) => v.name === vv.name);
          if (current && (!views.has(vv.name) || (views.get(vv.name) as ViewVersion).version < vv.version))
            views.set(vv.name, vv);
        }
        return { repo, views, loadedAt: Date.now() };
      })();
      p.catch(() => this.entries.delete(project));
      this.entries.set(project, p);
    }
    return p;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${REGISTRY_CHANNEL}`).catch(() => {});
      this.listener.release();
    }
  }
}
