/**
 * For this app's integration tests: the local broker (infra/kafka.sh), topics, an idempotent producer, a reader
 * of whole topics, and a feature view with a stream source applied in a fresh schema. Real Kafka, Postgres, Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureViewSpec, StreamSourceSpec } from '@strata/core';
import { createPool, OfflineStore, PgRegistry, type Pool, type ViewVersion } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { type FreshSchema, freshSchema, serviceUrls, strataEnv, type TestScope, testScope, uniqueName } from '@strata/testkit';
import { type Admin, Kafka, type KafkaMessage, logLevel, type Producer } from 'kafkajs';

export const BROKERS = (process.env.STRATA_KAFKA_BROKERS ?? '127.0.0.1:9192').split(',');
export const STREAM_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

export const kafka = new Kafka({ clientId: 'strata-test', brokers: BROKERS, logLevel: logLevel.NOTHING });

export async function createTopics(admin: Admin, topics: string[], numPartitions: number): Promise<void> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
  // Leaders known to the controller can still be unknown to the broker's metadata cache for a moment.
  for (let i = 0; i < 50; i++) {
    const md = await admin.fetchTopicMetadata({ topics });
    if (md.topics.every((t) => t.partitions.length === numPartitions && t.partitions.every((p) => p.leader >= 0))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function idempotentProducer(): Promise<Producer> {
  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await p.connect();
  return p;
}

/** Every message of a topic (all partitions), read with a throw-away consumer group. */
export async function readTopic(topic: string, expected: number, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  return (await readTopicWithPartitions(topic, expected, timeoutMs)).map((m) => m.message);
}

/** The same, with each message's partition, in the order the consumer got them. */
export async function readTopicWithPartitions(
  topic: string,
  expected: number,
  timeoutMs = 20_000,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const c = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const out: { partition: number; message: KafkaMessage }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${expected} messages of ${topic}`)), timeoutMs);
    void c.run({
      eachMessage: async ({ partition, message }) => {
        out.push({ partition, message });
        if (out.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  }).finally(() => c.disconnect());
  return out;
}

/** Sum of the partitions' end offsets: how many messages a topic holds. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offs = await admin.fetchTopicOffsets(topic);
  return offs.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

export interface StreamFixture {
  fresh: FreshSchema;
  scope: TestScope;
  pool: Pool;
  registry: PgRegistry;
  offline: OfflineStore;
  online: RedisOnlineStore;
  admin: Admin;
  topic: string;
  view: ViewVersion;
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  offlineCount(): Promise<{ rows: number; distinct: number }>;
  close(): Promise<void>;
}

/** A view `clicks` keyed by user_id (INT64) with features clicks (INT64) and amount (DOUBLE), fed from a new topic. */
export async function streamFixture(
  opts: { partitions?: number; stream?: Partial<StreamSourceSpec>; view?: Partial<FeatureViewSpec> } = {},
): Promise<StreamFixture> {
  const fresh = await freshSchema('strata_st');
  const scope = testScope(fresh.schema, 'st');
  const pool = createPool(fresh.url);
  const registry = new PgRegistry(pool, fresh.schema);
  await registry.init();
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('clicks').replace(/_/g, '-');
  const stream: StreamSourceSpec = {
    kind: 'kafka',
    brokers: BROKERS,
    topic,
    consumerGroup: uniqueName('g'),
    format: 'json',
    ...opts.stream,
  };
  await createTopics(admin, [topic, stream.deadLetterTopic ?? `${topic}.dlq`], opts.partitions ?? 4);
  await registry.apply(scope.project, {
    entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
    featureViews: [
      {
        name: 'clicks',
        entities: ['user'],
        timestampField: 'ts',
        ttlSeconds: 0,
        online: true,
        features: [
          { name: 'clicks', valueType: 'INT64' },
          { name: 'amount', valueType: 'DOUBLE' },
        ],
        stream,
        ...opts.view,
      },
    ],
    featureServices: [],
  });
  const view = await registry.getView(scope.project, 'clicks');
  const online = RedisOnlineStore.connect(serviceUrls().redis);
  return {
    fresh,
    scope,
    pool,
    registry,
    offline: new OfflineStore(pool, registry),
    online,
    admin,
    topic,
    view,
    env: (extra = {}) => ({ ...strataEnv(scope), STRATA_KAFKA_BROKERS: BROKERS.join(','), ...extra }),
    async offlineCount() {
      const { rows } = await pool.query<{ n: number; d: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT (user_id, ts))::int AS d FROM "${fresh.schema}"."${view.tableName}"`,
      );
      return { rows: rows[0]?.n ?? 0, distinct: rows[0]?.d ?? 0 };
    },
    async close() {
      await admin.deleteTopics({ topics: [topic, stream.deadLetterTopic ?? `${topic}.dlq`] }).catch(() => {});
      await admin.disconnect();
      await online.close();
      await pool.end();
      await fresh.drop();
    },
  };
}

/** A message of the `clicks` view: user u, event time base + i seconds, value i. Unique per (u, i). */
export function click(u: number, i: number, base = Date.UTC(2026, 0, 1)): { key: string; value: string } {
  return {
    key: String(u),
    value: JSON.stringify({ user_id: u, ts: new Date(base + i * 1000).toISOString(), clicks: i, amount: i / 4 }),
  };
}

export interface Child {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Starts the built stream processor (apps/stream/dist/main.js) as its own process, collecting its JSON log lines. */
export function spawnStream(env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [STREAM_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        events.push({ event: 'text', line });
      }
      i = buf.indexOf('\n');
    }
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      if (code && err) events.push({ event: 'stderr', text: err });
      resolve(code);
    }),
  );
  return { proc, events, exited };
}
