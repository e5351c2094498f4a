/**
 * The console's end-to-end fixture on the real stack: a fresh schema and project, a worker process (the built
 * apps/worker), the demo's data loaded through the SDK (examples/demo/data.mjs: the talk's tables and the weather
 * dataset, ingested and materialized; two bad weather batches quarantined under STRICT; a training set built from the
 * demo's feature service), then `strata server` (the built CLI, which serves the built console at /) with a bootstrap
 * admin key, and an editor and a viewer key made through the API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, loadConfig, type Strata, StrataError } from '@strata/sdk';
import {
  CLI_MAIN,
  type FreshSchema,
  freshSchema,
  spawnWorker,
  strataEnv,
  type TestScope,
  testScope,
  WORKER_MAIN,
} from '@strata/testkit';
// @ts-expect-error: a plain ES module of the example, without types
import * as demoData from '../../../examples/demo/data.mjs';

/** examples/demo/data.mjs: the demo's data and definitions (untyped: a plain ES module of the example). */
// biome-ignore lint/suspicious/noExplicitAny: the example has no types
export const demo: any = demoData;

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The console's build output, which `strata server` serves at `/`. */
export const CONSOLE_INDEX = join(REPO, 'apps', 'console', 'dist', 'index.html');
/** Where the screenshots go (README's Console section shows them). */
export const SCREENSHOT_DIR = join(REPO, 'docs', 'console');
/** What the console's tests need built: the worker, the CLI (`strata server`) and the console's bundle. */
export const BUILT = [WORKER_MAIN, CLI_MAIN, CONSOLE_INDEX];

export type Role = 'admin' | 'editor' | 'viewer';

export interface ApiAnswer {
  status: number;
  body: any;
}

export interface DemoFacts {
  /** Ingestion ids of the quarantined weather batches: one for the release test, one that stays quarantined. */
  quarantined: { toRelease: string; kept: string };
  /** The training set built from promo_model_v1. */
  trainingSetId: string;
  /** Ingestion ids of the demo's three good batches, by view. */
  ingestions: Record<string, string>;
}

export interface ConsoleStack {
  /** The server's origin, e.g. http://127.0.0.1:41234 (the console at /, the API under /api/v1). */
  base: string;
  project: string;
  scope: TestScope;
  keys: Record<Role, string>;
  /** The SDK on the same project, local mode (for writes a test makes outside the console). */
  strata: Strata;
  demo: DemoFacts;
  /** Calls the API with a role's key (JSON or YAML bodies). */
  api(method: string, path: string, opts?: { role?: Role; body?: unknown }): Promise<ApiAnswer>;
  /** `/api/v1/projects/<project><rest>` */
  p(rest: string): string;
  close(): Promise<void>;
}

const ADMIN_KEY = `console-e2e-admin-${Math.random().toString(36).slice(2)}-0123456789`;

function waitForAddress(child: ChildProcess, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`strata server did not start within ${timeoutMs} ms: ${seen}`)), timeoutMs);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      seen += chunk;
      const m = /strata server on (http:\/\/\S+)\/api\/v1/.exec(seen);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`strata server exited with ${code}: ${seen}`));
    });
  });
}

async function quarantine(strata: Strata, ingestionId: string): Promise<void> {
  const h = await strata.ingest('daily_weather', demo.badWeatherTable(), { ...demo.BAD_WEATHER, ingestionId });
  try {
    await h.result();
  } catch (err) {
    if (err instanceof StrataError && err.code === 'VALIDATION_FAILED') return;
    throw err;
  }
  throw new Error(`the bad weather batch ${ingestionId} was committed under STRICT`);
}

/** Starts everything and loads the demo; close() stops the processes and drops the schema. */
export async function startConsoleStack(prefix = 'demo'): Promise<ConsoleStack> {
  const fresh: FreshSchema = await freshSchema();
  const scope = testScope(fresh.schema, prefix);
  const env = { ...strataEnv(scope), STRATA_ADMIN_KEY: ADMIN_KEY };
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-console-e2e-'));
  const worker = spawnWorker(env);
  const config = loadConfig({ env });
  const strata = await connect({ config });
  let server: ChildProcess | undefined;
  const stop = async () => {
    for (const child of [server, worker]) {
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await strata.close();
    await fresh.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The demo's steps 1-5 and its training set, with the demo's own data and definitions.
    const users = demo.usersTable();
    const { repo } = await demo.demoRepo(strata, users);
    await strata.apply(repo);
    const ingestions: Record<string, string> = {};
    await Promise.all(
      (demo.demoIngests(users) as [string, string, object][]).map(async ([view, input, options]) => {
        const ingestionId = `demo-${view}-1`;
        ingestions[view] = ingestionId;
        await (await strata.ingest(view, input, { ...options, ingestionId })).result();
      }),
    );
    const quarantined = { toRelease: 'bad-weather-release', kept: 'bad-weather-kept' };
    await quarantine(strata, quarantined.toRelease);
    await quarantine(strata, quarantined.kept);
    for (const view of demo.DEMO_VIEWS as string[]) await (await strata.materialize(view)).result();
    const trainingSetId = 'promo-training-set';
    await (
      await strata.startTrainingSet({
        featureService: 'promo_model_v1',
        entities: demo.trainingEntityRows(),
        fullFeatureNames: true,
        out: join(dataDir, 'promo.parquet'),
        id: trainingSetId,
      })
    ).result();

    server = spawn(process.execPath, [CLI_MAIN, 'server', '--port', '0'], {
      env: { ...env, STRATA_SERVER_DATA_DIR: dataDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const base = await waitForAddress(server);
    const p = (rest: string) => `/api/v1/projects/${encodeURIComponent(scope.project)}${rest}`;
    const keys: Record<Role, string> = { admin: ADMIN_KEY, editor: '', viewer: '' };
    const api: ConsoleStack['api'] = async (method, path, opts = {}) => {
      const headers: Record<string, string> = { authorization: `Bearer ${keys[opts.role ?? 'admin']}` };
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] = typeof opts.body === 'string' ? 'application/yaml' : 'application/json';
      }
      const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    };
    for (const role of ['editor', 'viewer'] as const) {
      const r = await api('POST', '/api/v1/keys', { body: { name: `console e2e ${role}`, roles: { [scope.project]: role } } });
      if (r.status !== 201) throw new Error(`could not create the ${role} key: ${r.status} ${JSON.stringify(r.body)}`);
      keys[role] = r.body.key;
    }
    return {
      base,
      project: scope.project,
      scope,
      keys,
      strata,
      demo: { quarantined, trainingSetId, ingestions },
      api,
      p,
      close: stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

export const consoleBuilt = () => existsSync(CONSOLE_INDEX);
