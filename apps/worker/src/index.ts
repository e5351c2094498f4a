/**
 * The Strata worker: runs the ingest, validation and materialization workflows and their activities.
 */
import { createServer, type Server } from 'node:http';
import { createPool, OfflineStore, PgRegistry } from '@strata/offline-postgres';
import { openOnlineStore } from '@strata/online-redis';
import type { StrataConfig } from '@strata/sdk';
import { createActivities, createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';

export interface WorkerOptions {
  /** Stop after this signal; default: run until SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Overrides config.worker.maxConcurrentActivities. */
  maxConcurrentActivities?: number;
  /** Quieter logs (tests). */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
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
  const offline = new OfflineStore(pool, registry);
  const online = openOnlineStore(config.redis);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: workflowsPath(),
    activities: { ...createActivities({ registry, offline, online }), ...createTrainingActivities({ offline }) },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // SIGTERM: no new tasks; running activities get this long to finish, then they are cancelled (they heartbeat
    // their cursor, so another worker resumes them).
    shutdownGraceTime: `${config.worker.shutdownGraceSeconds}s`,
    ...(config.worker.identity ? { identity: config.worker.identity } : {}),
  });
  const close = async () => {
    await online.close().catch(() => {});
    await pool.end().catch(() => {});
    await connection.close().catch(() => {});
  };
  return { worker, close };
}

/** Runs a worker until stopped (signal, SIGINT or SIGTERM), then drains and closes its connections. */
export async function runWorker(config: StrataConfig, opts: WorkerOptions = {}): Promise<void> {
  const { worker, close } = await createStrataWorker(config, opts);
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
