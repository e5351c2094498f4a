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

  private stopped = false;

  constructor(
    private readonly registry: PgRegistry,
    private readonly pool: Pool,
    private readonly maxAgeMs = 60_000,
    /** Told about every LISTEN failure (the server logs it). */
    private readonly onError: (err: Error) => void = () => {},
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

  /** The last LISTEN failure (null while listening); /health reports it. */
  listenError: Error | null = null;
  listenFailures = 0;

  private async listen(): Promise<void> {
    let client: pg.PoolClient | undefined;
    let released = false;
    // A failed or lost listener is given back destroyed (never reused, never leaked), reported, and retried.
    const fail = (err: unknown) => {
      this.entries.clear();
      this.listenError = err instanceof Error ? err : new Error(String(err));
      this.listenFailures++;
      this.onError(this.listenError);
      if (client && this.listener === client) this.listener = undefined;
      if (client && !released) {
        released = true;
        client.release(true);
      }
      if (!this.stopped) setTimeout(() => this.listen().catch(() => {}), 1000).unref();
    };
    try {
      client = await this.pool.connect();
      const c = client;
      c.on('notification', (msg) => {
        try {
          const { schema, project } = JSON.parse(msg.payload ?? '{}') as { schema?: string; project?: string };
          if (schema === this.registry.schema && project) this.invalidate(project);
        } catch {
          this.entries.clear();
        }
      });
      c.on('error', (err) => {
        if (!released) fail(err);
      });
      await c.query(`LISTEN ${REGISTRY_CHANNEL}`);
      if (released) return;
      this.listener = c;
      this.listenError = null;
    } catch (err) {
      if (!released) fail(err);
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
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${REGISTRY_CHANNEL}`).catch(() => {});
      this.listener.release();
    }
  }
}
