/**
 * Compatibility with the real feast package (from PyPI, in its own venv): Feast reads what Strata wrote, and Strata
 * reads what Feast wrote, through compat/feast-online/feast_compat.py, on a standalone Redis (Feast `redis_type:
 * redis`) and on a Redis Cluster (`redis_type: redis_cluster`, when STRATA_REDIS_CLUSTER_URL names one; under CI the
 * cluster is required). Runs when STRATA_FEAST_PYTHON points at a python with feast and redis installed (see
 * compat/feast-online/README.md); skipped otherwise.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FeatureViewSpec, JoinKey } from '@strata/core';
import { requireOrSkip } from '@strata/testkit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterNodes, RedisClusterOnlineStore } from './cluster.js';
import { CLUSTER_URL, clusterRaw, standaloneRaw } from './raw.itest-helpers.js';
import { type FeastRedisStore, RedisOnlineStore } from './store.js';

const FEAST_PYTHON = process.env.STRATA_FEAST_PYTHON;
const REDIS_URL = process.env.STRATA_REDIS_URL ?? 'redis://127.0.0.1:6380';
const SCRIPT = fileURLToPath(new URL('../../../compat/feast-online/feast_compat.py', import.meta.url));
const run = promisify(execFile);

/** Must match FEATURES in feast_compat.py. */
const COMPAT_VIEW: FeatureViewSpec = {
  name: 'compat',
  entities: ['driver'],
  features: [
    { name: 'i32', valueType: 'INT32' },
    { name: 'i64', valueType: 'INT64' },
    { name: 'f32', valueType: 'FLOAT' },
    { name: 'f64', valueType: 'DOUBLE' },
    { name: 's', valueType: 'STRING' },
    { name: 'b', valueType: 'BOOL' },
    { name: 'raw', valueType: 'BYTES' },
    { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
    { name: 'tags', valueType: 'STRING_LIST' },
    { name: 'scores', valueType: 'DOUBLE_LIST' },
    { name: 'ids', valueType: 'INT64_LIST' },
  ],
  timestampField: 'event_timestamp',
  ttlSeconds: 0,
  online: true,
};
const driverKey: JoinKey[] = [{ name: 'driver_id', valueType: 'INT64' }];
const FEATURES = COMPAT_VIEW.features.map((f) => f.name);

/** The JSON the Python side prints, back to Strata's JS values. */
function fromPy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromPy);
  const o = v as Record<string, string>;
  if ('hex' in o) return new Uint8Array(Buffer.from(o.hex as string, 'hex'));
  if ('iso' in o) return new Date(o.iso as string);
  if ('int' in o) return BigInt(o.int as string);
  return v;
}

const targets: { name: string; redisType: 'redis' | 'redis_cluster'; url: string | undefined }[] = [
  { name: 'standalone Redis', redisType: 'redis', url: REDIS_URL },
  { name: 'Redis Cluster', redisType: 'redis_cluster', url: CLUSTER_URL },
];

for (const target of targets) {
  const missing = !FEAST_PYTHON
    ? 'STRATA_FEAST_PYTHON is not set (eval "$(bash infra/compat-peers.sh)", see compat/feast-online/README.md)'
    : !target.url && 'STRATA_REDIS_CLUSTER_URL is not set (bash infra/stack.sh cluster-up; infra/test.sh does it)';
  describe.skipIf(requireOrSkip(`Feast online compatibility on ${target.name}`, missing))(
    `Feast compatibility on ${target.name} (needs STRATA_FEAST_PYTHON${target.redisType === 'redis_cluster' ? ' and STRATA_REDIS_CLUSTER_URL' : ''})`,
    () => {
      async function feast(...args: string[]): Promise<Record<string, unknown>> {
        const { stdout } = await run(
          FEAST_PYTHON as string,
          [SCRIPT, ...args, '--redis', target.url as string, '--redis-type', target.redisType],
          {
            timeout: 240_000,
            maxBuffer: 16 * 1024 * 1024,
          },
        );
        return JSON.parse(stdout.trim().split('\n').pop() as string);
      }

      let store: FeastRedisStore;
      const projects: string[] = [];
      const newProject = () => {
        const p = `fc_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        projects.push(p);
        return p;
      };

      beforeAll(() => {
        store =
          target.redisType === 'redis'
            ? RedisOnlineStore.connect(target.url as string)
            : RedisClusterOnlineStore.connect(target.url as string);
      });
      afterAll(async () => {
        const raw =
          target.redisType === 'redis'
            ? standaloneRaw(target.url as string)
            : clusterRaw(new Cluster(parseClusterNodes(target.url as string).nodes));
        for (const p of projects) await raw.dropProject(p);
        await raw.close();
        await store?.close();
      });

      it("Feast's get_online_features reads what Strata wrote", async () => {
        const project = newProject();
        const one = {
          i32: -7,
          i64: 2n ** 62n,
          f32: 1.5,
          f64: 0.1,
          s: 'Жёлтый',
          b: true,
          raw: new Uint8Array([0, 255]),
          ts: new Date('2020-12-07T10:30:05Z'),
          tags: ['a', 'b'],
          scores: [0.5, -1.25],
          ids: [1, 2n ** 60n],
        };
        const two = { ...one, i64: -3, s: null, tags: null, b: false };
        await store.writeRows({ project, view: COMPAT_VIEW, joinKeys: driverKey }, [
          { entityKey: { driver_id: 1 }, eventTime: new Date('2024-06-01T00:00:00Z'), values: one },
          { entityKey: { driver_id: 2 }, eventTime: new Date('2024-06-01T00:00:00Z'), values: two },
        ]);
        const out = (await feast('read', '--project', project, '--entities', '1,2,3')).values as Record<string, unknown[]>;
        for (const f of FEATURES) {
          const got = fromPy(out[f]) as unknown[];
          const want = [one, two].map((r) => r[f as keyof typeof one] ?? null);
          // Entity 3 was never written: Feast gives None.
          expect(normalize(got), f).toEqual(normalize([...want, null]));
        }
      });

      it("Strata reads what Feast's write_to_online_store wrote, and newer-wins respects Feast's timestamps", async () => {
        const project = newProject();
        const wrote = await feast('write', '--project', project);
        const rows = await store.readFeatures(
          project,
          [{ driver_id: 10 }, { driver_id: 11 }],
          [{ view: COMPAT_VIEW, joinKeys: driverKey, features: FEATURES }],
        );
        const times = fromPy(wrote.event_timestamp) as Date[];
        rows.forEach((row, i) => {
          for (const f of FEATURES) {
            const want = (fromPy(wrote[f]) as unknown[])[i];
            const read = row[`compat:${f}`];
            expect(read?.status, f).toBe('PRESENT');
            expect(read?.eventTime).toEqual(times[i]);
            expect(normalize(read?.value), f).toEqual(normalize(want));
          }
        });
        // Feast stored its own _ts: an older Strata row is refused, a newer one wins.
        const ref = { project, view: COMPAT_VIEW, joinKeys: driverKey };
        const older = new Date((times[0] as Date).getTime() - 1000);
        const newer = new Date((times[0] as Date).getTime() + 1000);
        expect(await store.writeRows(ref, [{ entityKey: { driver_id: 10 }, eventTime: older, values: { i32: 1 } }])).toEqual({
          written: 0,
          skippedOlder: 1,
        });
        expect(await store.writeRows(ref, [{ entityKey: { driver_id: 10 }, eventTime: newer, values: { i32: 2 } }])).toEqual({
          written: 1,
          skippedOlder: 0,
        });
      });
    },
  );
}

/** Python ints that fit are plain numbers on both sides; big ones are bigint on both sides. */
function normalize(v: unknown): unknown {
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (Array.isArray(v)) return v.map(normalize);
  return v;
}
