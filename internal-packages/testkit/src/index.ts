/**
 * Fixtures on real services for integration tests: a fresh Postgres schema per test file, a unique project per
 * test (which isolates Redis keys, since Feast's layout ends every key with the project), and the stack's addresses.
 * Nothing here mocks a service.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export interface ServiceUrls {
  postgres: string;
  redis: string;
  temporal: string;
  namespace: string;
}

/** Addresses of the stack that `infra/stack.sh up` starts, overridable by the usual env variables. */
export function serviceUrls(env: NodeJS.ProcessEnv = process.env): ServiceUrls {
  return {
    postgres: env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata',
    redis: env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380',
    temporal: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface FreshSchema {
  schema: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty schema name to use as a registry/offline schema; drop() removes it and everything in it. */
export async function freshSchema(prefix = 'strata_t'): Promise<FreshSchema> {
  const url = serviceUrls().postgres;
  const schema = uniqueName(prefix);
  return {
    schema,
    url,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Polls until check() returns a truthy value or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface TestScope {
  /** Postgres schema holding the registry and offline tables (from freshSchema()). */
  schema: string;
  project: string;
  taskQueue: string;
}

/** A fresh project and task queue in the given schema, so tests never see each other's objects or runs. */
export function testScope(schema: string, prefix = 't'): TestScope {
  return { schema, project: uniqueName(prefix), taskQueue: uniqueName('tq') };
}

/**
 * The environment that points Strata (loadConfig, the worker, the CLI) at the test stack within one scope. It
 * names no config file (STRATA_CONFIG is empty), so a strata.yaml nearby cannot leak into a test.
 */
export function strataEnv(scope: TestScope, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const urls = serviceUrls(base);
  return {
    ...base,
    STRATA_CONFIG: '',
    STRATA_PROJECT: scope.project,
    STRATA_POSTGRES_URL: urls.postgres,
    STRATA_POSTGRES_SCHEMA: scope.schema,
    STRATA_REDIS_URL: urls.redis,
    TEMPORAL_ADDRESS: urls.temporal,
    TEMPORAL_NAMESPACE: urls.namespace,
    STRATA_TASK_QUEUE: scope.taskQueue,
  };
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The built worker and CLI entry points (tests that need a separate process check them with requireBuilt). */
export const WORKER_MAIN = join(REPO_ROOT, 'apps', 'worker', 'dist', 'main.js');
export const CLI_MAIN = join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');
export const STACK_SCRIPT = join(REPO_ROOT, 'infra', 'stack.sh');

/** Starts a worker process (the built apps/worker) with the given environment; kill it to simulate a crash. */
export function spawnWorker(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [WORKER_MAIN], { env, stdio: 'ignore' });
}

/** Runs the built `strata` CLI; never throws for a non-zero exit, which is returned as `code`. */
export async function runCli(
  env: NodeJS.ProcessEnv,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI_MAIN, ...args], { env, ...(cwd ? { cwd } : {}) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** True when the run is CI (`CI=true`, as CI services and infra/test.sh set it). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/**
 * The one way a test suite may skip: pass what it needs as `missing` (a sentence saying what is absent and how to get
 * it) or undefined/'' when everything is there. Returns whether to skip, for `describe.skipIf(...)`/`it.skipIf(...)`.
 * Outside CI a skip prints its reason; under CI=true a missing prerequisite throws, so the file fails with the
 * reason instead of passing by skipping.
 */
export function requireOrSkip(suite: string, missing: string | undefined | false | null): boolean {
  if (!missing) return false;
  const message = `[${suite}] cannot run: ${missing}`;
  if (inCi()) throw new Error(`${message} (CI=true: a suite that cannot run fails the run)`);
  console.warn(`${message}; skipped`);
  return true;
}

/** requireOrSkip for a built entry point (the worker or CLI `dist/main.js`), which `pnpm build` makes. */
export function requireBuilt(suite: string, ...files: string[]): boolean {
  const absent = files.filter((f) => !existsSync(f));
  return requireOrSkip(suite, absent.length ? `${absent.join(', ')} not built (run pnpm build)` : undefined);
}

interface HistoryPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}
interface HistoryPayloads {
  payloads?: HistoryPayload[] | null;
}
/** The parts of a Temporal workflow history (as `WorkflowHandle.fetchHistory()` returns it) that retries show in. */
export interface HistoryLike {
  events?:
    | {
        eventId?: unknown;
        activityTaskScheduledEventAttributes?: {
          activityType?: { name?: string | null } | null;
          heartbeatTimeout?: { seconds?: unknown } | null;
        } | null;
        activityTaskStartedEventAttributes?: {
          scheduledEventId?: unknown;
          attempt?: number | null;
          identity?: string | null;
        } | null;
        activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; result?: HistoryPayloads | null } | null;
      }[]
    | null;
}

function decodePayload(p: HistoryPayload | undefined): unknown {
  if (!p?.data) return undefined;
  return JSON.parse(Buffer.from(p.data).toString('utf8'));
}

/** The first of a list of Temporal payloads (heartbeat details, a result) decoded as JSON, the default converter. */
export function decodeFirstPayload(payloads: HistoryPayloads | null | undefined): unknown {
  return decodePayload(payloads?.payloads?.[0] ?? undefined);
}

export interface ActivityRun {
  activityType: string;
  /** The attempt that completed (or was running when the history was read). */
  attempt: number;
  /** The identity of the worker that ran that attempt. */
  identity?: string;
  /** The activity's heartbeat timeout as scheduled, in whole seconds (absent: none). */
  heartbeatTimeoutSeconds?: number;
  /** Decoded result of the attempt that completed, if it did. */
  result?: unknown;
}

/**
 * Reads every activity of one type from a workflow history: its final attempt number and its decoded result (JSON,
 * the default data converter). The history does not keep heartbeat details (the server drops them from the heartbeat
 * timeout failure); read them from the pending activity (`describe()`) with decodeFirstPayload.
 */
export function activityRuns(history: HistoryLike, activityType: string): ActivityRun[] {
  const runs = new Map<string, ActivityRun>();
  for (const e of history.events ?? []) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched?.activityType?.name === activityType) {
      const hb = sched.heartbeatTimeout?.seconds;
      runs.set(String(e.eventId), {
        activityType,
        attempt: 1,
        ...(hb !== undefined ? { heartbeatTimeoutSeconds: Number(hb) } : {}),
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    const run = started ? runs.get(String(started.scheduledEventId)) : undefined;
    if (started && run) {
      run.attempt = started.attempt ?? 1;
      if (started.identity) run.identity = started.identity;
    }
    const done = e.activityTaskCompletedEventAttributes;
    const finished = done ? runs.get(String(done.scheduledEventId)) : undefined;
    if (done && finished) finished.result = decodePayload(done.result?.payloads?.[0] ?? undefined);
  }
  return [...runs.values()];
}

/** The part of a Temporal WorkflowHandle's describe() that shows its pending activities. */
export interface PendingActivitiesHandle {
  describe(): Promise<{
    raw: {
      pendingActivities?:
        | {
            activityType?: { name?: string | null } | null;
            lastWorkerIdentity?: string | null;
            heartbeatDetails?: HistoryPayloads | null;
          }[]
        | null;
    };
  }>;
}

/**
 * Kills (SIGKILL) the worker process running a workflow's pending `activityType` activity once the heartbeat details
 * the server holds satisfy `ready`. `workers` maps worker identities (STRATA_WORKER_IDENTITY) to their processes.
 * Returns the killed worker's identity and the details read after the kill: until the heartbeat timeout passes no
 * worker holds the activity, so they are frozen, the cursor a retry must begin at.
 */
export async function killWorkerRunning<T>(
  handle: PendingActivitiesHandle,
  activityType: string,
  workers: Record<string, ChildProcess>,
  ready: (details: T) => boolean,
  timeoutMs = 120_000,
): Promise<{ killed: string; details: T }> {
  let running: string | undefined;
  const pending = async (): Promise<T | undefined> => {
    const a = ((await handle.describe()).raw.pendingActivities ?? []).find((p) => p.activityType?.name === activityType);
    running = a?.lastWorkerIdentity ?? undefined;
    return decodeFirstPayload(a?.heartbeatDetails) as T | undefined;
  };
  await eventually(
    async () => {
      const d = await pending();
      return d !== undefined && ready(d);
    },
    timeoutMs,
    50,
  );
  const killed = running;
  const victim = killed ? workers[killed] : undefined;
  if (!killed || !victim)
    throw new Error(`${activityType} runs on '${killed}', not on one of ${Object.keys(workers).join(', ')}`);
  victim.kill('SIGKILL');
  if (victim.exitCode === null && victim.signalCode === null) await once(victim, 'exit');
  return { killed, details: (await settled(pending)) as T };
}

/**
 * Reads a value until two reads `everyMs` apart agree (as JSON), e.g. a pending activity's heartbeat details after
 * its worker was killed: a heartbeat already on the wire may still land just after the kill.
 */
export async function settled<T>(read: () => Promise<T>, everyMs = 500, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = await read();
  for (;;) {
    await new Promise((r) => setTimeout(r, everyMs));
    const next = await read();
    if (JSON.stringify(next) === JSON.stringify(last) || Date.now() > until) return next;
    last = next;
  }
}
export {
  type FeastVectors,
  type OnlineConformanceOptions,
  type OnlineLayout,
  type OnlineRawAccess,
  onlineStoreConformance,
  type TestApi,
} from './online-conformance.js';
export { type ClusterMaster, clusterNodeRole, killClusterMaster, restoreCluster } from './redis-cluster.js';
export { inRecovery, pauseReplay, resumeReplay, startPgReplica } from './pg-replica.js';
export { chromiumPath, launchChromium, requireChromium } from './browser.js';
