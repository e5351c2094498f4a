import { Identity, loadConfig, RemoteStrata, type Role, StrataError } from '@strata/sdk';
import type { Command } from 'commander';
import { globals, output, withStrata } from '../context.js';

function roleList(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const [project, role] = v.split('=');
  if (!project || !role)
    throw new StrataError('INVALID_INPUT', `--role '${v}' is not project=role`, {
      hint: "e.g. --role my_project=editor, or '*=admin'",
    });
  return { ...prev, [project]: role };
}

/** Keys through the server when one is configured, else straight in the registry (an operator on the database). */
async function withKeys<T>(
  cmd: Command,
  fn: (k: {
    create(name: string, roles: Record<string, string>): Promise<{ id: string; key: string }>;
    list(
      all: boolean,
    ): Promise<{ id: string; name: string; prefix: string; roles: Record<string, string>; revokedAt: Date | null }[]>;
    revoke(id: string): Promise<unknown>;
  }) => Promise<T>,
): Promise<T> {
  const g = globals(cmd);
  const config = loadConfig({ ...(g.config ? { configPath: g.config } : {}) });
  const url = g.server ?? config.server.url;
  if (url) {
    const remote = new RemoteStrata({ url, apiKey: g.apiKey ?? config.server.apiKey, project: config.project });
    return fn({
      create: (name, roles) => remote.createKey(name, roles),
      list: (all) => remote.listKeys(all),
      revoke: (id) => remote.revokeKey(id),
    });
  }
  return withStrata(cmd, (strata) => {
    const identity = new Identity(strata.pool, strata.config.postgres.schema);
    return fn({
      create: (name, roles) =>
        identity.createKey({ name, roles: roles as Record<string, Role>, createdBy: 'strata keys (local)' }),
      list: (all) => identity.listKeys({ includeRevoked: all }),
      revoke: (id) => identity.revokeKey(id),
    });
  });
}

export function register(program: Command): void {
  program
    .command('server')
    .description('run the control plane: the REST API under /api/v1 with OpenAPI, API keys, roles and the audit log')
    .option('--port <port>', 'port (default 6570, or server.port)', (v) => Number(v))
    .option('--host <host>', 'address to listen on (default 127.0.0.1; another needs API keys)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = loadConfig({
        ...(g.config ? { configPath: g.config } : {}),
        ...(g.project ? { overrides: { project: g.project } } : {}),
      });
      const { startServer } = await import('@strata/server');
      const { address, stop } = await startServer(config, {
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host ? { host: opts.host } : {}),
      });
      process.stderr.write(`strata server on ${address}/api/v1 (OpenAPI: ${address}/api/v1/openapi.json)\n`);
      await new Promise<void>((resolve) => {
        const shutdown = () => stop().then(resolve);
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
    });

  const keys = program.command('keys').description('API keys (principals) with a role per project: viewer, editor, admin');
  keys
    .command('create')
    .description('create a key; it is printed once and stored only as its SHA-256 digest')
    .requiredOption('--name <name>', 'who or what the key is for')
    .requiredOption('--role <project=role>', "a role on a project (repeatable); '*=admin' for every project", roleList)
    .action(async (opts: { name: string; role: Record<string, string> }, cmd: Command) => {
      await withKeys(cmd, async (k) => {
        const created = await k.create(opts.name, opts.role);
        output(cmd, created, `${created.key}\n(key ${created.id}; shown once: store it now)`);
      });
    });
  keys
    .command('list')
    .description('the keys (never the keys themselves): id, name, prefix, roles')
    .option('--all', 'include revoked keys')
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      await withKeys(cmd, async (k) => {
        const list = await k.list(opts.all ?? false);
        output(cmd, list, () =>
          list.length
            ? list
                .map(
                  (x) =>
                    `${x.id}  ${x.prefix}…  ${x.name}  ${Object.entries(x.roles)
                      .map(([p, r]) => `${p}=${r}`)
                      .join(',')}${x.revokedAt ? '  (revoked)' : ''}`,
                )
                .join('\n')
            : 'no keys',
        );
      });
    });
  keys
    .command('revoke')
    .description('revoke a key by id')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withKeys(cmd, async (k) => {
        const r = await k.revoke(id);
        output(cmd, r, `revoked ${id}`);
      });
    });
}
