/**
 * Configuration: one strata.yaml (like Feast's feature_store.yaml) plus environment overrides, parsed once with a
 * schema. Libraries take the resulting object; only this loader reads files and the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StrataError } from '@strata/core';
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
      })
      .strict()
      .default({}),
    redis: z
      .object({
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
        maxEntities: z.number().int().positive().default(10_000),
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024),
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
  ['STRATA_REDIS_URL', ['redis', 'url']],
  ['TEMPORAL_ADDRESS', ['temporal', 'address']],
  ['TEMPORAL_NAMESPACE', ['temporal', 'namespace']],
  ['STRATA_TASK_QUEUE', ['temporal', 'taskQueue']],
  ['STRATA_TEMPORAL_UI_URL', ['temporal', 'uiUrl']],
  ['STRATA_SERVING_PORT', ['serving', 'port']],
];

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
    if (v !== undefined && v !== '') setPath(raw, p, p[1] === 'port' ? Number(v) : v);
  }
  if (env.STRATA_API_KEYS) setPath(raw, ['serving', 'apiKeys'], parseApiKeys(env.STRATA_API_KEYS));
  if (raw.project === undefined) raw.project = 'default';
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

/** URLs of the configured connections whose variable is set (for the pipeline activities). */
export function connectionUrls(config: StrataConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.connections ?? {})
      .filter(([, c]) => c.url)
      .map(([name, c]) => [name, c.url as string]),
  );
}
