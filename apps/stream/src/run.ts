/** Starts a processor for each feature view of a project that has a stream source (or the ones named). */
import { StrataError } from '@strata/core';
import { createPool, OfflineStore, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import type { StrataConfig } from '@strata/sdk';
import type { Server } from 'node:http';
import { createStreamMetrics, type StreamMetrics, serveMetrics } from './metrics.js';
import { StreamProcessor } from './processor.js';

export interface RunStreamsOptions {
  views?: string[];
  brokers?: string[];
  metricsPort?: number;
  batch?: { maxRows?: number; maxDelayMs?: number };
  sessionTimeoutMs?: number;
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningStreams {
  processors: StreamProcessor[];
  metrics: StreamMetrics;
  metricsAddress?: string;
  stop(): Promise<void>;
}

export async function runStreams(config: StrataConfig, opts: RunStreamsOptions = {}): Promise<RunningStreams> {
  const pool = createPool(config.postgres.url, { max: 6, applicationName: 'strata-stream' });
  const registry = new PgRegistry(pool, config.postgres.schema);
  const online = RedisOnlineStore.connect(config.redis.url);
  const processors: StreamProcessor[] = [];
  let server: Server | undefined;
  const close = async () => {
    for (const p of processors) await p.stop().catch(() => {});
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await online.close().catch(() => {});
    await pool.end().catch(() => {});
  };
  try {
    await registry.init();
    const repo = await registry.loadRepo(config.project);
    const streaming = repo.featureViews.filter((v) => v.stream);
    const wanted = opts.views?.length ? opts.views : streaming.map((v) => v.name);
    if (!wanted.length) {
      throw new StrataError('CONFIG', `no feature view of project '${config.project}' has a stream source`, {
        hint: 'add stream: {kind: kafka, brokers, topic, consumerGroup, format} to a feature view and apply it',
      });
    }
    const offline = new OfflineStore(pool, registry);
    const metrics = createStreamMetrics();
    for (const name of wanted) {
      const vv = await registry.getView(config.project, name);
      if (!vv.spec.stream) {
        throw new StrataError('CONFIG', `feature view '${name}' has no stream source`, {
          hint: `views with one: ${streaming.map((v) => v.name).join(', ') || 'none'}`,
        });
      }
      processors.push(
        new StreamProcessor({
          view: vv,
          offline,
          online,
          metrics,
          ...(opts.brokers ? { brokers: opts.brokers } : {}),
          ...(opts.batch ? { batch: opts.batch } : {}),
          ...(opts.sessionTimeoutMs ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}),
          ...(config.redis.keyTtlSeconds ? { keyTtlSeconds: config.redis.keyTtlSeconds } : {}),
          ...(opts.log ? { log: opts.log } : {}),
        }),
      );
    }
    for (const p of processors) await p.start();
    let metricsAddress: string | undefined;
    if (opts.metricsPort !== undefined) {
      server = await serveMetrics(metrics, opts.metricsPort);
      const a = server.address();
      metricsAddress = typeof a === 'object' && a ? `http://127.0.0.1:${a.port}` : undefined;
    }
    return { processors, metrics, ...(metricsAddress ? { metricsAddress } : {}), stop: close };
  } catch (err) {
    await close();
    throw err;
  }
}
