import { describe, expect, it } from 'vitest';
import { loadConfig, offlineOptions } from './config.js';

const noFile = { configPath: undefined as unknown as string };

describe('loadConfig: scale settings', () => {
  it('defaults: standalone Redis, plain view tables, worker concurrency and drain', () => {
    const c = loadConfig({ env: { STRATA_CONFIG: '' }, ...noFile });
    expect(c.redis.type).toBe('redis');
    expect(c.postgres.viewPartitions).toBe(0);
    expect(c.worker).toEqual({ maxConcurrentActivities: 8, maxConcurrentWorkflowTasks: 40, shutdownGraceSeconds: 30 });
  });

  it('reads them from the environment, numbers as numbers', () => {
    const c = loadConfig({
      env: {
        STRATA_CONFIG: '',
        STRATA_REDIS_TYPE: 'redis_cluster',
        STRATA_REDIS_URL: 'redis://a:7001,b:7002',
        STRATA_POSTGRES_VIEW_PARTITIONS: '16',
        STRATA_WORKER_MAX_ACTIVITIES: '2',
        STRATA_WORKER_MAX_WORKFLOW_TASKS: '10',
        STRATA_WORKER_SHUTDOWN_GRACE_SECONDS: '90',
        STRATA_WORKER_HEALTH_PORT: '6580',
        STRATA_WORKER_IDENTITY: 'w1',
      },
      ...noFile,
    });
    expect(c.redis).toMatchObject({ type: 'redis_cluster', url: 'redis://a:7001,b:7002' });
    expect(c.postgres.viewPartitions).toBe(16);
    expect(c.worker).toEqual({
      maxConcurrentActivities: 2,
      maxConcurrentWorkflowTasks: 10,
      shutdownGraceSeconds: 90,
      healthPort: 6580,
      identity: 'w1',
    });
  });

  it('refuses bad values with CONFIG naming the key', () => {
    expect(() => loadConfig({ env: { STRATA_CONFIG: '', STRATA_REDIS_TYPE: 'sentinel' }, ...noFile })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('redis.type') }),
    );
    expect(() => loadConfig({ env: { STRATA_CONFIG: '', STRATA_WORKER_MAX_ACTIVITIES: 'many' }, ...noFile })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('worker.maxConcurrentActivities') }),
    );
  });

  it('reads the read replica of training sets (offline.readUrl) and gives it to the offline store only when set', () => {
    const none = loadConfig({ env: { STRATA_CONFIG: '' }, ...noFile });
    expect(none.offline.readUrl).toBeUndefined();
    expect(offlineOptions(none)).not.toHaveProperty('readUrl');
    const c = loadConfig({
      env: {
        STRATA_CONFIG: '',
        STRATA_OFFLINE_READ_URL: 'postgres://reader@standby:5432/strata',
        STRATA_OFFLINE_READ_MAX_WAIT_MS: '500',
      },
      ...noFile,
    });
    expect(offlineOptions(c)).toMatchObject({ readUrl: 'postgres://reader@standby:5432/strata', readMaxWaitMs: 500 });
    expect(() => loadConfig({ env: { STRATA_CONFIG: '', STRATA_OFFLINE_READ_MAX_WAIT_MS: '-1' }, ...noFile })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('offline.readMaxWaitMs') }),
    );
  });

  it('reads the attach threshold of big commits (offline.attachMinRows, default 100,000) and gives it to the offline store', () => {
    expect(offlineOptions(loadConfig({ env: { STRATA_CONFIG: '' }, ...noFile })).attachMinRows).toBe(100_000);
    const c = loadConfig({ env: { STRATA_CONFIG: '', STRATA_OFFLINE_ATTACH_MIN_ROWS: '5000' }, ...noFile });
    expect(offlineOptions(c).attachMinRows).toBe(5000);
    expect(() => loadConfig({ env: { STRATA_CONFIG: '', STRATA_OFFLINE_ATTACH_MIN_ROWS: '0' }, ...noFile })).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('offline.attachMinRows') }),
    );
  });
});

describe('loadConfig: temporal.heartbeatTimeoutSeconds', () => {
  const load = (v?: string) =>
    loadConfig({ env: { STRATA_CONFIG: '', ...(v === undefined ? {} : { STRATA_HEARTBEAT_TIMEOUT: v }) }, ...noFile });

  it('is unset by default (each workflow keeps its own), and reads seconds or duration text', () => {
    expect(load().temporal.heartbeatTimeoutSeconds).toBeUndefined();
    expect(load('3').temporal.heartbeatTimeoutSeconds).toBe(3);
    expect(load('3s').temporal.heartbeatTimeoutSeconds).toBe(3);
    expect(load('1m30s').temporal.heartbeatTimeoutSeconds).toBe(90);
  });

  it('refuses a zero or unreadable timeout with CONFIG naming the key', () => {
    for (const bad of ['0', 'soon', '-5s']) {
      expect(() => load(bad)).toThrow(
        expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('temporal.heartbeatTimeoutSeconds') }),
      );
    }
  });
});
