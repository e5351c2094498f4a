/**
 * INT64 join keys beyond JavaScript's safe integers (2^53): JSON numbers that big are rounded by every JSON parser,
 * so the server refuses them with a hint to send the key as a string, and a string gives the exact key. Real
 * Postgres (registry) and the stack's real Redis.
 */
import type { RepoSpec } from '@strata/core';
import { createPool, OfflineStore, type Pool, PgRegistry } from '@strata/offline-postgres';
import { RedisOnlineStore } from '@strata/online-redis';
import { readOnline } from '@strata/sdk';
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const T = Date.parse('2024-05-01T00:00:00Z');
const repo: RepoSpec = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [
    {
      name: 'big',
      entities: ['user'],
      timestampField: 'event_timestamp',
      ttlSeconds: 0,
      online: true,
      features: [{ name: 'who', valueType: 'STRING' }],
    },
  ],
  featureServices: [],
};

describe('INT64 join keys beyond 2^53', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let registry: PgRegistry;
  let online: RedisOnlineStore;
  let project: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    fresh = await freshSchema();
    pool = createPool(fresh.url, { max: 5 });
    registry = new PgRegistry(pool, fresh.schema);
    await registry.init();
    project = uniqueName('big');
    await registry.apply(project, repo);
    online = RedisOnlineStore.connect(serviceUrls().redis);
    const vv = await registry.getView(project, 'big');
    await online.writeRows(
      { project, view: vv.spec, joinKeys: vv.joinKeys },
      [9007199254740992n, 9007199254740993n].map((k) => ({
        entityKey: { user_id: k },
        eventTime: new Date(T),
        values: { who: `user ${k}` },
      })),
    );
    ({ app } = await createServer({ project, registry, pool, online, offline: new OfflineStore(pool, registry) }));
  });
  afterAll(async () => {
    await app?.close();
    await online?.close();
    await pool?.end();
    await fresh?.drop();
  });

  const raw = (url: string, json: string) =>
    app.inject({ method: 'POST', url, payload: json, headers: { 'content-type': 'application/json' } });

  it('serves the exact entity for a key sent as a string', async () => {
    const res = await raw('/get-online-features', '{"features":["big:who"],"entities":{"user_id":["9007199254740993"]}}');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().results[1].values).toEqual(['user 9007199254740993']);
  });

  it('refuses a key sent as a JSON number beyond 2^53, saying to send a string', async () => {
    const res = await raw('/get-online-features', '{"features":["big:who"],"entities":{"user_id":[9007199254740993]}}');
    expect(res.statusCode).toBe(400);
    const err = res.json().error;
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(/safe integer range/);
    expect(`${err.message} ${err.hint}`).toMatch(/as a string/);
    // A safe number still works as before.
    const ok = await raw('/get-online-features', '{"features":["big:who"],"entities":{"user_id":[1]}}');
    expect(ok.statusCode).toBe(200);
  });

  it('refuses a pushed key beyond 2^53 as a number and takes it as a string', async () => {
    const body = (key: string) =>
      `{"feature_view":"big","to":"online","df":{"user_id":[${key}],"event_timestamp":["2024-05-02T00:00:00Z"],"who":["pushed"]}}`;
    const refused = await raw('/push', body('9007199254740995'));
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/safe integer range/);
    const taken = await raw('/push', body('"9007199254740995"'));
    expect(taken.statusCode, taken.body).toBe(200);
    const read = await raw('/get-online-features', '{"features":["big:who"],"entities":{"user_id":["9007199254740995"]}}');
    expect(read.json().results[1].values).toEqual(['pushed']);
    // The neighbour that a rounded key would have hit is untouched.
    const near = await raw('/get-online-features', '{"features":["big:who"],"entities":{"user_id":["9007199254740996"]}}');
    expect(near.json().results[1].statuses).toEqual(['NOT_FOUND']);
  });

  it('the SDK read path gives the same verdicts', async () => {
    const vv = await registry.getView(project, 'big');
    const sel = [{ view: vv.spec, features: vv.spec.features, joinKeys: vv.joinKeys }];
    const exact = await readOnline(online, project, sel, [{ user_id: '9007199254740993' }]);
    expect(exact.results[1]?.values).toEqual(['user 9007199254740993']);
    await expect(readOnline(online, project, sel, [{ user_id: Number('9007199254740993') }])).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/safe integer range/),
    });
  });
});
