/**
 * The Strata worker: runs the ingest, validation and materialization workflows and their activities.
 */
import { createPool, OfflineStore, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { connectionUrls, createPipelineActivities, type StrataConfig } from '@strata/sdk';
import { createActivities, createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';

export interface WorkerOptions {
  /** Stop after this signal; default: run until SIGINT/SIGTERM. */
  signal?: AbortSignal;
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
    max: Math.max(4, opts.maxConcurrentActivities ?? 8),
    applicationName: 'strata-worker',
  });
  const registry = new PgRegistry(pool, config.postgres.schema);
  await registry.init();
  const offline = new OfflineStore(pool, registry);
  const online = RedisOnlineStore.connect(config.redis.url);
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
      ...createTrainingActivities({ offline }),
      ...pipelines.activities,
    },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 8,
    shutdownGraceTime: '10s',
  });
  const close = async () => {
    await online.close().catch(() => {});
    await pipelines.close().catch(() => {});
    await pool.end().catch(() => {});
    await connection.close().catch(() => {});
  };
  return { worker, close };
}

/** Runs a worker until stopped (signal, SIGINT or SIGTERM), then drains and closes its connections. */
export async function runWorker(config: StrataConfig, opts: WorkerOptions = {}): Promise<void> {
  const { worker, close } = await createStrataWorker(config, opts);
  const stop = () => worker.shutdown();
  opts.signal?.addEventListener('abort', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await close();
  }
}
