import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, StrataError } from '@strata/sdk';
import type { Command } from 'commander';
import { globals } from '../context.js';

function findStackScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'infra', 'stack.sh');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) {
      throw new StrataError('CONFIG', 'cannot find infra/stack.sh', {
        hint: 'run strata from a checkout of the Strata repository',
      });
    }
    dir = up;
  }
}

function configFrom(cmd: Command) {
  const g = globals(cmd);
  return loadConfig({
    ...(g.config ? { configPath: g.config } : {}),
    ...(g.project ? { overrides: { project: g.project } } : {}),
  });
}

export function register(program: Command): void {
  program
    .command('stack')
    .description('start, stop or inspect the local stack (Temporal dev server, Postgres, Redis)')
    .argument('<action>', 'up | down | status | env')
    .action((action: string) => {
      if (!['up', 'down', 'status', 'env', 'restart-redis'].includes(action)) {
        throw new StrataError('INVALID_INPUT', `unknown stack action '${action}'`, { hint: 'use up, down, status or env' });
      }
      const r = spawnSync('bash', [findStackScript(), action], { stdio: 'inherit' });
      process.exitCode = r.status ?? 1;
    });

  program
    .command('worker')
    .description('run a Temporal worker for the ingest, validation and materialization workflows')
    .option('--max-activities <n>', 'concurrent activities', (v) => Number(v))
    .action(async (opts: { maxActivities?: number }, cmd: Command) => {
      const config = configFrom(cmd);
      const { runWorker } = await import('@strata/worker');
      process.stderr.write(`strata worker: task queue '${config.temporal.taskQueue}' on ${config.temporal.address}\n`);
      await runWorker(config, opts.maxActivities ? { maxConcurrentActivities: opts.maxActivities } : {});
    });

  program
    .command('serve')
    .description('run the online serving app (Feast-compatible HTTP API)')
    // --port only: -p is the global --project, so `strata -p proj serve -p 6601` cannot mean two things.
    .option('--port <port>', 'port (default 6566)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new StrataError('INVALID_INPUT', `--port '${v}' is not a port number`, { hint: 'use 0..65535' });
      return n;
    })
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const config = configFrom(cmd);
      const { serve } = await import('@strata/serving');
      const { address, stop } = await serve(config, {
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host ? { host: opts.host } : {}),
      });
      process.stderr.write(`strata serving on ${address} (project ${config.project})\n`);
      await new Promise<void>((resolve) => {
        const shutdown = () => stop().then(resolve);
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
    });
}
