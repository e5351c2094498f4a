/**
 * Shared CLI plumbing: global options, connecting the SDK, printing (human or --json), progress bars on a TTY,
 * and exit codes that mean something (see ErrorCodes in @strata/core).
 */
import { connect, connectClient, ErrorCodes, loadConfig, type Strata, type StrataClient, StrataError } from '@strata/sdk';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';

export interface GlobalOptions {
  config?: string;
  project?: string;
  json?: boolean;
  server?: string;
  apiKey?: string;
}

export function globals(cmd: Command): GlobalOptions {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts() as GlobalOptions;
}

function configOptions(g: GlobalOptions) {
  return {
    ...(g.config ? { configPath: g.config } : {}),
    ...(g.project ? { overrides: { project: g.project } } : {}),
  };
}

/** Local mode only: the command needs the stores themselves. */
export async function withStrata<T>(cmd: Command, fn: (strata: Strata) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const config = loadConfig(configOptions(g));
  if (g.server || config.server.url) {
    throw new StrataError('CONFIG', `\`strata ${cmd.name()}\` is not available through a Strata server`, {
      hint: 'run it where the stores are reachable, without --server (and with STRATA_SERVER_URL unset)',
    });
  }
  const strata = await connect({ config });
  try {
    return await fn(strata);
  } finally {
    await strata.close();
  }
}

/** Local or remote (--server, server.url, STRATA_SERVER_URL): the commands that work both ways use this. */
export async function withClient<T>(cmd: Command, fn: (client: StrataClient) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const client = await connectClient({
    ...configOptions(g),
    ...(g.server || g.apiKey ? { server: { url: g.server, apiKey: g.apiKey } } : {}),
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Prints a result: JSON with --json, else the human text. */
export function output(cmd: Command, value: unknown, human: string | (() => string)): void {
  if (globals(cmd).json) {
    process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
  } else {
    process.stdout.write(`${typeof human === 'function' ? human() : human}\n`);
  }
}

export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

export function info(cmd: Command, message: string): void {
  if (!globals(cmd).json) process.stderr.write(`${message}\n`);
}

/** A progress bar on a TTY (stderr), nothing otherwise. */
export function progressBar(cmd: Command, label: string, total: number) {
  if (globals(cmd).json || !process.stderr.isTTY) {
    return { update: (_n: number, _stage?: string) => {}, setTotal: (_t: number) => {}, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} rows | {stage}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0, { stage: '' });
  return {
    update: (n: number, stage = '') => bar.update(n, { stage }),
    setTotal: (t: number) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}

/** Prints an error (what, where, how to fix) and returns the exit code for it. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof StrataError) {
    if (json) process.stderr.write(`${JSON.stringify({ error: err.toJSON() }, jsonReplacer, 2)}\n`);
    else {
      process.stderr.write(`error: ${err.describe()}\n`);
      const failed = (err.details as { failed?: unknown[] }).failed;
      if (Array.isArray(failed) && failed.length) {
        process.stderr.write('failed expectations:\n');
        for (const f of failed) process.stderr.write(`  - ${JSON.stringify(f, jsonReplacer)}\n`);
      }
      const problems = (err.details as { problems?: string[] }).problems;
      if (Array.isArray(problems) && problems.length > 1) {
        for (const p of problems) process.stderr.write(`  - ${p}\n`);
      }
    }
    return ErrorCodes[err.code].exitCode;
  }
  // Not a StrataError: a bug or an unexpected system failure. Say so plainly; the stack only on request.
  const e = err as Error & { code?: string; path?: string };
  const sys = typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code);
  const wrapped = new StrataError(sys ? 'UNAVAILABLE' : 'INTERNAL', e?.message ?? String(err), {
    ...(e?.path ? { where: e.path } : {}),
    hint: sys
      ? 'a system call failed (see the message); check the path, its permissions and free disk space'
      : 'this is a bug in Strata; run again with STRATA_DEBUG=1 to see the stack trace and report it',
  });
  if (json) process.stderr.write(`${JSON.stringify({ error: wrapped.toJSON() }, jsonReplacer, 2)}\n`);
  else process.stderr.write(`error: ${wrapped.describe()}\n`);
  if (process.env.STRATA_DEBUG) process.stderr.write(`${e?.stack ?? String(err)}\n`);
  return ErrorCodes[wrapped.code].exitCode;
}
