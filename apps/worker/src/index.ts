/**
 * The Strata worker: runs the ingest, validation and materialization workflows and their activities.
 */
import { createServer, type Server } from 'node:http';
import { createPool, PgRegistry } from '@strata/offline-postgres';
import { openOfflineStore } from '@strata/offline-store';
import { openOnlineStore } from '@strata/online-redis';
import {
  connectionUrls,
  createIngestFileActivities,
  createPipelineActivities,
  ensureJanitorSchedule,
  offlineOptions,
  type StrataConfig,
} from '@strata/sdk';
import { Client, Connection } from '@temporalio/client';
import { createActivities, createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';

export interface WorkerOptions {
  /** Stop after this signal; default: run until SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Overrides config.worker.maxConcurrentActivities. */
  maxConcurrentActivities?: number;
  /** Quieter logs (tests). */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Create or update the janitor schedule at start (default: config janitor.schedule, on for runWorker). */
  janitorSchedule?: boolean;
}

/** Creates (or updates) the janitor schedule of the worker's schema; idempotent, so every worker start may call it. */
export async function installJanitorSchedule(config: StrataConfig) {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '10s' });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    return await ensureJanitorSchedule(client, {
      schema: config.postgres.schema,
      taskQueue: config.temporal.taskQueue,
      every: config.janitor.every,
      maxStagingAgeSeconds: config.janitor.maxStagingAge,
    });
  } finally {
    await connection.close();
  }
}

let runtimeInstalled = false;

export async function createStrataWorker(config: StrataConfig, opts: WorkerOptions = {}) {
  if (!runtimeInstalled && opts.logLevel) {
    Runtime.install({ logger: new (await import('@temporalio/worker')).DefaultLogger(opts.logLevel) });
    runtimeInstalled = true;
  }
  const pool = createPool(config.postgres.url, {
    max: Math.max(4, opts.maxConcurrentActivities ?? config.worker.maxConcurrentActivities),
    applicationName: 'strata-worker',
  });
  const registry = new PgRegistry(pool, config.postgres.schema, { viewPartitions: config.postgres.viewPartitions });
  await registry.init();
  // The Postgres store; with a columnar root configured, each commit also writes its Parquet file (ADR 0006).
  const store = openOfflineStore(pool, registry, offlineOptions(config));
  const offline = store.postgres;
  const online = openOnlineStore(config.redis);
  const pipelines = createPipelineActivities({
    registry,
    offline,
    offlineUrl: config.postgres.url,
    connections: connectionUrls(config),
  });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: workflowsPath(),
    activities: {
      ...createActivities({ registry, offline, online }),
      ...createTrainingActivities({ offline, ...(store.columnar ? { columnar: store.columnar } : {}) }),
      ...pipelines.activities,
      ...createIngestFileActivities({ registry, offline }),
    },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // SIGTERM: no new tasks; running activities get this long to finish, then they are cancelled (they heartbeat
    // their cursor, so another worker resumes them).
    shutdownGraceTime: `${config.worker.shutdownGraceSeconds}s`,
    ...(config.worker.identity ? { identity: config.worker.identity } : {}),
  });
  const close = async () => {
    await online.close().catch(() => {});
    await store.close().catch(() => {});
    await pipelines.close().catch(() => {});
    await pool.end().catch(() => {});
    await connection.close().catch(() => {});
  };
  return { worker, close };
}

/** Runs a worker until stopped (signal, SIGINT or SIGTERM), then drains and closes its connections. */
export async function runWorker(config: StrataConfig, opts: WorkerOptions = {}): Promise<void> {
  const { worker, close } = await createStrataWorker(config, opts);
  if (opts.janitorSchedule ?? config.janitor.schedule) {
    try {
      const j = await installJanitorSchedule(config);
      console.log(
        `strata worker: janitor schedule ${j.scheduleId} every ${j.every} (max staging age ${j.maxStagingAgeSeconds} s)`,
      );
    } catch (err) {
      console.error(`strata worker: could not install the janitor schedule: ${(err as Error).message}`);
    }
  }
  const health = config.worker.healthPort !== undefined ? await healthServer(worker, config.worker.healthPort) : undefined;
  const stop = () => worker.shutdown();
  opts.signal?.addEventListener('abort', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await new Promise((resolve) => (health ? health.close(resolve) : resolve(undefined)));
    await close();
  }
}

/**
 * GET /health for probes (Kubernetes liveness and readiness): 200 {"status":"RUNNING"} while the worker polls its task
 * queue, 503 with the state otherwise (starting, draining after SIGTERM, stopped, failed).
 */
function healthServer(worker: Worker, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const state = worker.getState();
    const known = req.method === 'GET' && req.url === '/health';
    const code = known ? (state === 'RUNNING' ? 200 : 503) : 404;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(known ? { status: state } : { error: { code: 'NOT_FOUND', message: 'GET /health only' } }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
