#!/usr/bin/env node
/**
 * strata-stream: runs the stream processors of a project (every view with a stream source, or STRATA_STREAM_VIEWS).
 * Environment: the usual STRATA_* connection settings, plus STRATA_KAFKA_BROKERS (overrides the views' brokers),
 * STRATA_STREAM_VIEWS (comma-separated), STRATA_STREAM_METRICS_PORT, STRATA_STREAM_BATCH_ROWS and
 * STRATA_STREAM_BATCH_DELAY_MS (override the views' micro-batch bounds). Logs one JSON object per line.
 */
import { loadConfig, StrataError } from '@strata/sdk';
import { runStreams } from './run.js';

const env = process.env;
const num = (name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`CONFIG: ${name}=${v} is not a whole number`);
    process.exit(2);
  }
  return n;
};
const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

const log = (e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
const batch = { maxRows: num('STRATA_STREAM_BATCH_ROWS'), maxDelayMs: num('STRATA_STREAM_BATCH_DELAY_MS') };
const metricsPort = num('STRATA_STREAM_METRICS_PORT');
const sessionTimeoutMs = num('STRATA_STREAM_SESSION_TIMEOUT_MS');

try {
  const config = loadConfig();
  const running = await runStreams(config, {
    ...(list(env.STRATA_STREAM_VIEWS) ? { views: list(env.STRATA_STREAM_VIEWS) } : {}),
    ...(list(env.STRATA_KAFKA_BROKERS) ? { brokers: list(env.STRATA_KAFKA_BROKERS) } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...(sessionTimeoutMs ? { sessionTimeoutMs } : {}),
    batch: Object.fromEntries(Object.entries(batch).filter(([, v]) => v !== undefined)),
    log,
  });
  log({
    event: 'started',
    project: config.project,
    views: running.processors.map((p) => p.view.name),
    ...(running.metricsAddress ? { metrics: `${running.metricsAddress}/metrics` } : {}),
  });
  const shutdown = () => {
    running.stop().then(
      () => {
        log({ event: 'stopped' });
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (err) {
  console.error(err instanceof StrataError ? err.describe() : err);
  process.exit(1);
}
