/**
 * Configuration: one strata.yaml (like Feast's feature_store.yaml) plus environment overrides, parsed once with a
 * schema. Libraries take the resulting object; only this loader reads files and the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDurationSeconds, StrataError } from '@strata/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const ConfigSchema = z
  .object({
    project: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and _, starting with a letter or _'),
    postgres: z
      .object({
        url: z.string().default('postgres://strata@127.0.0.1:5433/strata'),
        schema: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/)
          .default('strata'),
        poolSize: z.number().int().positive().default(10),
        /**
         * Layout of new view version tables: 0 partitioned by commit number (big commits attached, ADR 0013), 1 a
         * plain table, > 1 that many hash partitions by entity key (docs/adr/0007-partitioned-view-tables.md).
         */
        viewPartitions: z.number().int().min(0).max(1024).default(0),
      })
      .strict()
      .default({}),
    offline: z
      .object({
        /** What builds training sets and time-travel reads: Postgres, or DuckDB over the commits' Parquet files. */
        engine: z.enum(['postgres', 'columnar']).default('postgres'),
        /** Folder of the commits' Parquet files (Hive layout); when set, every commit also writes its file there. */
        columnarRoot: z.string().min(1).optional(),
        /** DuckDB's threads and memory limit for the columnar engine (default: all cores, DuckDB's default). */
        duckdbThreads: z.number().int().positive().optional(),
        duckdbMemoryLimit: z.string().optional(),
        /**
         * A read-only replica (a hot standby) for training-set reads; writes never go there. Empty: everything on
         * postgres.url. See docs/scale.md.
         */
        readUrl: z.string().min(1).optional(),
        /** How long a training set waits for the replica to replay the commits it needs before reading the primary. */
        readMaxWaitMs: z.number().int().nonnegative().default(2000),
        /**
         * Staged rows from which a commit into a commit-partitioned view table becomes a partition of its own instead
         * of being inserted (its rows written once). See docs/adr/0013-attach-big-commits.md.
         */
        attachMinRows: z.number().int().positive().default(100_000),
      })
      .strict()
      .default({}),
    redis: z
      .object({
        /** 'redis' (one server) or 'redis_cluster' (Feast's name; url is then a comma-separated node list). */
        type: z.enum(['redis', 'redis_cluster']).default('redis'),
        url: z.string().default('redis://127.0.0.1:6380'),
        keyTtlSeconds: z.number().int().nonnegative().optional(),
      })
      .strict()
      .default({}),
    temporal: z
      .object({
        address: z.string().default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('strata'),
        uiUrl: z.string().default('http://127.0.0.1:8233'),
        /**
         * How long a long activity (an ingest's staging load, validation and commit, a training-set chunk) may go
         * without a heartbeat before Temporal retries it on another worker: seconds, or text like 30s. Unset: each
         * workflow's default (15 s for ingest steps, 2 minutes for training sets). Activities heartbeat every second.
         */
        heartbeatTimeoutSeconds: z
          .union([z.number().positive(), z.string()])
          .optional()
          .transform((v, ctx) => {
            if (v === undefined) return undefined;
            let s = Number.NaN;
            try {
              s = parseDurationSeconds(v);
            } catch {
              // reported below
            }
            if (s > 0) return s;
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              message: `cannot read heartbeat timeout ${JSON.stringify(v)} (use e.g. 30 or 30s; more than 0)`,
            });
            return z.NEVER;
          }),
      })
      .strict()
      .default({}),
    worker: z
      .object({
        /** Activities (ingest steps, materialization pages, training-set parts) one worker process runs at once. */
        maxConcurrentActivities: z.number().int().positive().default(8),
        /** Workflow tasks one worker process runs at once. */
        maxConcurrentWorkflowTasks: z.number().int().positive().default(40),
        /** On SIGTERM: how long running activities get to finish before they are cancelled and handed over. */
        shutdownGraceSeconds: z.number().nonnegative().default(30),
        /** Port of the worker's GET /health (200 while polling, 503 while draining); unset: no HTTP listener. */
        healthPort: z.number().int().min(0).max(65535).optional(),
        /** The worker's identity in Temporal's history (default: Temporal's pid@host). */
        identity: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    serving: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(6566),
        /** API keys per project with read and/or write scopes; none configured: open, loopback only. */
        apiKeys: z
          .array(
            z
              .object({
                key: z.string().min(16, 'an API key has at least 16 characters'),
                project: z.string(),
                scopes: z.array(z.enum(['read', 'write'])).min(1),
              })
              .strict(),
          )
          .default([]),
        requestTimeoutMs: z.number().int().positive().default(2000),
        /**
         * Statuses of POST /get-online-features: 'strata' (NOT_FOUND for a missing entity, NULL_VALUE for a stored
         * null) or 'feast' (Feast 0.67's answer: PRESENT with a null value). A request's `X-Strata-Compat: feast`
         * header asks for Feast's answer too.
         */
        statuses: z.enum(['strata', 'feast']).default('strata'),
        maxEntities: z.number().int().positive().default(10_000),
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024),
      })
      .strict()
      .default({}),
    server: z
      .object({
        /** A Strata server to use instead of the stores (remote mode of the CLI and SDK). */
        url: z.string().url().optional(),
        /** The API key sent to `url`. */
        apiKey: z.string().optional(),
        /** Where `strata server` listens. */
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(6570),
        /** A bootstrap admin key for `strata server` (every project); never stored. */
        adminKey: z.string().min(16, 'the admin key has at least 16 characters').optional(),
        /** Folder for uploads being received and training sets built for download (default: the OS temp folder). */
        dataDir: z.string().optional(),
        /** Largest accepted upload (bytes); larger uploads get 413. */
        uploadLimitBytes: z
          .number()
          .int()
          .positive()
          .default(20 * 1024 * 1024 * 1024),
        /** Largest JSON or YAML request body (bytes). */
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(5 * 1024 * 1024),
        /** Training sets with at most this many entity rows may be built synchronously. */
        syncTrainingRows: z.number().int().positive().default(1_000_000),
      })
      .strict()
      .default({}),
    /** The janitor: a Temporal Schedule that removes staging nobody will finish (see docs/hardening.md). */
    janitor: z
      .object({
        /** Staged (or dead-staging) ingestions older than this are removed: seconds, or text like 24h. */
        maxStagingAge: z
          .union([z.number().nonnegative(), z.string()])
          .default('24h')
          .transform((v, ctx) => {
            try {
              return parseDurationSeconds(v);
            } catch {
              ctx.addIssue({
                code: z.ZodIssueCode.custom,
                message: `cannot read duration ${JSON.stringify(v)} (use e.g. 3600 or 24h)`,
              });
              return z.NEVER;
            }
          }),
        /** How often the janitor runs. */
        every: z.string().default('1h'),
        /** Whether the worker creates (or updates) the janitor schedule when it starts. */
        schedule: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /**
     * Databases that pipeline sources read, by name: the URL comes from the environment variable `env` (resolved at
     * load into `url`), so credentials never go in strata.yaml or the registry.
     */
    connections: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/),
        z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), url: z.string().optional() }).strict(),
      )
      .default({}),
  })
  .strict();

export type StrataConfig = z.infer<typeof ConfigSchema>;
export type StrataConfigInput = z.input<typeof ConfigSchema>;

const ENV_MAP: [string, string[]][] = [
  ['STRATA_PROJECT', ['project']],
  ['STRATA_POSTGRES_URL', ['postgres', 'url']],
  ['STRATA_POSTGRES_SCHEMA', ['postgres', 'schema']],
  ['STRATA_OFFLINE_ENGINE', ['offline', 'engine']],
  ['STRATA_COLUMNAR_ROOT', ['offline', 'columnarRoot']],
  ['STRATA_DUCKDB_THREADS', ['offline', 'duckdbThreads']],
  ['STRATA_DUCKDB_MEMORY_LIMIT', ['offline', 'duckdbMemoryLimit']],
  ['STRATA_OFFLINE_READ_URL', ['offline', 'readUrl']],
  ['STRATA_OFFLINE_READ_MAX_WAIT_MS', ['offline', 'readMaxWaitMs']],
  ['STRATA_OFFLINE_ATTACH_MIN_ROWS', ['offline', 'attachMinRows']],
  ['STRATA_POSTGRES_VIEW_PARTITIONS', ['postgres', 'viewPartitions']],
  ['STRATA_REDIS_URL', ['redis', 'url']],
  ['STRATA_REDIS_TYPE', ['redis', 'type']],
  ['TEMPORAL_ADDRESS', ['temporal', 'address']],
  ['TEMPORAL_NAMESPACE', ['temporal', 'namespace']],
  ['STRATA_TASK_QUEUE', ['temporal', 'taskQueue']],
  ['STRATA_TEMPORAL_UI_URL', ['temporal', 'uiUrl']],
  ['STRATA_HEARTBEAT_TIMEOUT', ['temporal', 'heartbeatTimeoutSeconds']],
  ['STRATA_SERVING_PORT', ['serving', 'port']],
  ['STRATA_SERVER_URL', ['server', 'url']],
  ['STRATA_API_KEY', ['server', 'apiKey']],
  ['STRATA_ADMIN_KEY', ['server', 'adminKey']],
  ['STRATA_SERVER_HOST', ['server', 'host']],
  ['STRATA_SERVER_PORT', ['server', 'port']],
  ['STRATA_SERVER_DATA_DIR', ['server', 'dataDir']],
  ['STRATA_JANITOR_MAX_AGE', ['janitor', 'maxStagingAge']],
  ['STRATA_JANITOR_EVERY', ['janitor', 'every']],
  ['STRATA_SERVING_STATUSES', ['serving', 'statuses']],
  ['STRATA_WORKER_MAX_ACTIVITIES', ['worker', 'maxConcurrentActivities']],
  ['STRATA_WORKER_MAX_WORKFLOW_TASKS', ['worker', 'maxConcurrentWorkflowTasks']],
  ['STRATA_WORKER_SHUTDOWN_GRACE_SECONDS', ['worker', 'shutdownGraceSeconds']],
  ['STRATA_WORKER_IDENTITY', ['worker', 'identity']],
  ['STRATA_WORKER_HEALTH_PORT', ['worker', 'healthPort']],
];

/** Config keys whose environment value is a number. */
const NUMERIC = new Set([
  'port',
  'duckdbThreads',
  'readMaxWaitMs',
  'attachMinRows',
  'viewPartitions',
  'maxConcurrentActivities',
  'maxConcurrentWorkflowTasks',
  'shutdownGraceSeconds',
  'healthPort',
]);

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

/** Finds strata.yaml in dir or its parents. */
export function findConfigFile(dir: string = process.cwd()): string | undefined {
  let cur = resolve(dir);
  for (;;) {
    const candidate = resolve(cur, 'strata.yaml');
    if (existsSync(candidate)) return candidate;
    const up = dirname(cur);
    if (up === cur) return undefined;
    cur = up;
  }
}

/** STRATA_API_KEYS: comma-separated `project:scopes:key`, scopes `read`, `write` or `read+write`. */
export function parseApiKeys(text: string): { key: string; project: string; scopes: string[] }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [project, scopes, ...rest] = entry.split(':');
      const key = rest.join(':');
      if (!project || !scopes || !key) {
        throw new StrataError('CONFIG', 'STRATA_API_KEYS entries look like project:read+write:key', {
          where: 'STRATA_API_KEYS',
        });
      }
      return { project, scopes: scopes.split('+'), key };
    });
}

export interface LoadConfigOptions {
  /** Path to strata.yaml; default: STRATA_CONFIG, else strata.yaml in the working folder or a parent, else none. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Values that win over the file and the environment. */
  overrides?: Partial<StrataConfigInput> | Record<string, unknown>;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object'
        ? deepMerge(out[k] as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function loadConfig(opts: LoadConfigOptions = {}): StrataConfig {
  const env = opts.env ?? process.env;
  const path = opts.configPath ?? env.STRATA_CONFIG ?? findConfigFile();
  let raw: Record<string, unknown> = {};
  if (path) {
    if (!existsSync(path))
      throw new StrataError('CONFIG', `config file ${path} does not exist`, {
        hint: 'create strata.yaml or unset STRATA_CONFIG',
      });
    try {
      raw = (parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown>) ?? {};
    } catch (err) {
      throw new StrataError('CONFIG', `config file ${path} is not valid YAML: ${(err as Error).message}`, { where: path });
    }
  }
  for (const [name, p] of ENV_MAP) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(raw, p, NUMERIC.has(p[1] as string) ? Number(v) : v);
  }
  if (env.STRATA_JANITOR_SCHEDULE)
    setPath(raw, ['janitor', 'schedule'], !/^(0|false|no|off)$/i.test(env.STRATA_JANITOR_SCHEDULE));
  if (env.STRATA_API_KEYS) setPath(raw, ['serving', 'apiKeys'], parseApiKeys(env.STRATA_API_KEYS));
  if (raw.project === undefined) raw.project = 'default';
  // A relative columnar root is relative to the config file's folder (else the working folder).
  const offline = raw.offline as { columnarRoot?: unknown } | undefined;
  if (typeof offline?.columnarRoot === 'string') offline.columnarRoot = resolve(path ? dirname(path) : '.', offline.columnarRoot);
  raw = deepMerge(raw, (opts.overrides ?? {}) as Record<string, unknown>);
  if (raw.connections && typeof raw.connections === 'object') {
    for (const c of Object.values(raw.connections as Record<string, Record<string, unknown>>)) {
      if (c && typeof c.env === 'string' && env[c.env]) c.url = env[c.env];
      else if (c) delete c.url;
    }
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new StrataError('CONFIG', `configuration is not valid: ${problems.join('; ')}`, {
      where: path ?? 'environment',
      hint: 'see docs/configuration.md for the keys strata.yaml accepts',
      details: { problems },
    });
  }
  return parsed.data;
}

/** The offline store's settings in the form the offline-store package takes. */
export function offlineOptions(config: StrataConfig): {
  engine: 'postgres' | 'columnar';
  columnarRoot?: string;
  duckdb: { threads?: number; memoryLimit?: string };
  readUrl?: string;
  readMaxWaitMs?: number;
  attachMinRows: number;
} {
  const o = config.offline;
  return {
    engine: o.engine,
    attachMinRows: o.attachMinRows,
    ...(o.columnarRoot ? { columnarRoot: o.columnarRoot } : {}),
    ...(o.readUrl ? { readUrl: o.readUrl, readMaxWaitMs: o.readMaxWaitMs } : {}),
    duckdb: {
      ...(o.duckdbThreads ? { threads: o.duckdbThreads } : {}),
      ...(o.duckdbMemoryLimit ? { memoryLimit: o.duckdbMemoryLimit } : {}),
    },
  };
}

/** URLs of the configured connections whose variable is set (for the pipeline activities). */
export function connectionUrls(config: StrataConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.connections ?? {})
      .filter(([, c]) => c.url)
      .map(([name, c]) => [name, c.url as string]),
  );
}
