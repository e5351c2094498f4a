/**
 * On-demand features and model-dependent transformations are the same online and offline: for random rows, the
 * serving app (real Redis) answers exactly the values (same doubles, bit for bit) that a training-set workflow (real
 * Postgres, a real Temporal worker) wrote for the same entity rows, with the on-demand function bundled at apply and
 * the scalers and encoders fitted on that training set. A function that throws for a row gives that row's on-demand
 * features the status INVALID with the message, and every other feature and row is answered; offline the training
 * set fails with TRANSFORM_FAILED.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { arrowColumnBatch } from '@strata/offline-postgres';
import { Strata, loadConfig } from '@strata/sdk';
import { freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createTrainingActivities, workflowsPath } from '@strata/workflows';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const CITIES = ['berlin', 'lima', 'oslo', 'pune'];
const TIERS = ['gold', 'silver', 'bronze'];

const MODULE = `
import { round } from './helpers';
export function ratios(row: { amount: number | null; count: number | null; price: number }) {
  if (row.price < 0) throw new RangeError('price must not be negative, got ' + row.price);
  return {
    amount_per_item: row.count ? row.amount === null ? null : row.amount / row.count : null,
    price_ratio: row.amount === null ? null : round(row.price / (Math.abs(row.amount) + 1)),
    expensive: row.price > 50,
  };
}
`;
const HELPERS = 'export const round = (x: number) => Math.round(x * 1e6) / 1e6 + Math.sqrt(x) * 1e-9;\n';

interface UserRow {
  amount: number | null;
  count: number;
  city: string;
  tier: string;
}

describe('on-demand features and transformations online = offline', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;
  let app: FastifyInstance;
  const dir = mkdtempSync(join(tmpdir(), 'strata-odfv-'));
  let nextUser = 1;
  let run = 0;

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'odfv');
    strata = await Strata.connect({ config: loadConfig({ env: strataEnv(scope) }) });
    writeFileSync(join(dir, 'ratios.ts'), MODULE);
    writeFileSync(join(dir, 'helpers.ts'), HELPERS);
    await strata.apply(
      {
        entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: 'stats',
            entities: ['user'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: true,
            features: [
              { name: 'amount', valueType: 'DOUBLE' },
              { name: 'count', valueType: 'INT64' },
              { name: 'city', valueType: 'STRING' },
              { name: 'tier', valueType: 'STRING' },
            ],
          },
        ],
        onDemandFeatureViews: [
          {
            name: 'ratios',
            sources: [{ view: 'stats', features: ['amount', 'count'] }],
            request: [{ name: 'price', valueType: 'DOUBLE' }],
            features: [
              { name: 'amount_per_item', valueType: 'DOUBLE' },
              { name: 'price_ratio', valueType: 'FLOAT' },
              { name: 'expensive', valueType: 'BOOL' },
            ],
            transformation: { kind: 'typescript', module: 'ratios.ts', export: 'ratios' },
          },
        ],
        featureServices: [
          {
            name: 'model',
            features: [{ view: 'stats', features: ['amount', 'city', 'tier'] }, { view: 'ratios' }],
            transformations: [
              { feature: 'stats:amount', kind: 'robust_scaler' },
              { feature: 'stats:city', kind: 'one_hot_encoder' },
              { feature: 'stats:tier', kind: 'label_encoder' },
              { feature: 'ratios:amount_per_item', kind: 'standard_scaler' },
              { feature: 'ratios:price_ratio', kind: 'min_max_scaler' },
            ],
          },
        ],
      },
      { baseDir: dir },
    );
    connection = await NativeConnection.connect({ address: strata.config.temporal.address });
    worker = await Worker.create({
      connection,
      taskQueue: strata.config.temporal.taskQueue,
      workflowsPath: workflowsPath(),
      activities: createTrainingActivities({ offline: strata.offline }),
    });
    running = worker.run();
    ({ app } = await createServer({
      project: strata.project,
      registry: strata.registry,
      pool: strata.pool,
      online: strata.online,
    }));
  });

  afterAll(async () => {
    await app?.close();
    worker?.shutdown();
    await running?.catch(() => {});
    await connection?.close();
    await strata?.close();
    await fresh?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The same feature rows into the offline store (one commit) and the online store (Redis). */
  async function load(users: UserRow[]): Promise<number[]> {
    const ids = users.map(() => nextUser++);
    const vv = await strata.getView('stats');
    const rows = users.map((u, i) => ({ user_id: ids[i], ts: new Date(T0 + i * 1000), ...u }));
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      ...vv.spec.features.map((f) => ({ name: f.name, valueType: f.valueType })),
    ];
    const id = `load-${run}`;
    await strata.offline.stage(vv, id, tableFromRows(cols, rows).batches.map(arrowColumnBatch));
    await strata.offline.commit(id);
    await strata.online.writeRows(
      { project: strata.project, view: vv.spec, joinKeys: vv.joinKeys },
      rows.map((r) => ({ entityKey: { user_id: r.user_id }, eventTime: r.ts, values: { ...users[rows.indexOf(r)] } })),
    );
    return ids;
  }

  async function trainingSet(ids: number[], prices: number[]): Promise<{ id: string; table: arrow.Table }> {
    const id = `odfv-${run}`;
    const out = join(dir, `${id}.arrow`);
    const entities = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'price', valueType: 'DOUBLE' },
      ],
      ids.map((u, i) => ({ user_id: u, event_timestamp: new Date(T0 + 86_400_000), price: prices[i] })),
    );
    const handle = await strata.startTrainingSet({ featureService: 'model', entities, out, id, chunkRows: 7 });
    await handle.result();
    return { id, table: arrow.tableFromIPC(readFileSync(out)) };
  }

  const online = (body: Record<string, unknown>) =>
    app
      .inject({ method: 'POST', url: '/get-online-features', payload: body })
      .then((r) => ({ status: r.statusCode, body: r.json() }));

  it('for random rows, every on-demand and transformed value online equals the training set', async () => {
    const userRow = fc.record({
      amount: fc.option(fc.double({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }), { nil: null, freq: 6 }),
      count: fc.integer({ min: 0, max: 9 }),
      city: fc.constantFrom(...CITIES),
      tier: fc.constantFrom(...TIERS),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(userRow, fc.double({ min: 0, max: 100, noNaN: true })), { minLength: 3, maxLength: 16 }),
        async (cases) => {
          // Every fit needs a value of each transformed column: one row with an amount and a count.
          const users = cases.map(([u]) => u);
          users[0] = { ...(users[0] as UserRow), amount: 3.25, count: 2 };
          const prices = cases.map(([, p]) => p);
          run++;
          const ids = await load(users);
          const { id, table } = await trainingSet(ids, prices);
          const res = await online({
            feature_service: 'model',
            training_set: id,
            entities: { user_id: ids },
            request_context: { price: prices },
          });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          const names: string[] = res.body.metadata.feature_names;
          // The inputs nobody asked for (stats:count) are in neither; every answered column is in the training set.
          expect(names).not.toContain('count');
          expect(table.schema.fields.map((f) => f.name)).not.toContain('count');
          expect(names).toEqual(expect.arrayContaining(['amount', 'tier', 'amount_per_item', 'price_ratio', 'expensive']));
          expect(names.filter((n) => n.startsWith('city__')).length).toBeGreaterThan(0);
          for (const [c, name] of names.entries()) {
            if (name === 'user_id') continue;
            const col = table.getChild(name);
            expect(col, `training set column ${name}`).not.toBeNull();
            const offline = Array.from({ length: table.numRows }, (_v, i) => {
              const v = col?.get(i);
              return typeof v === 'bigint' ? Number(v) : v;
            });
            expect(res.body.results[c].values, `column ${name}`).toEqual(offline);
            expect(res.body.results[c].statuses).not.toContain('INVALID');
          }
        },
      ),
      { numRuns: 3, endOnFailure: true },
    );
  });

  it('a function that throws gives its features INVALID with the message; other features and rows are served', async () => {
    run++;
    const ids = await load([
      { amount: 10, count: 2, city: 'oslo', tier: 'gold' },
      { amount: 4, count: 1, city: 'lima', tier: 'silver' },
    ]);
    // The price rides beside the entity keys here (Feast's way), not in request_context.
    const res = await online({
      features: ['stats:amount', 'ratios:amount_per_item', 'ratios:expensive'],
      entities: { user_id: ids, price: [-1, 7] },
    });
    expect(res.status).toBe(200);
    const [, amount, perItem, expensive] = res.body.results;
    expect(res.body.metadata.feature_names).toEqual(['user_id', 'amount', 'amount_per_item', 'expensive']);
    expect(amount.values).toEqual([10, 4]);
    expect(amount.statuses).toEqual(['PRESENT', 'PRESENT']);
    expect(perItem.statuses).toEqual(['INVALID', 'PRESENT']);
    expect(perItem.values).toEqual([null, 4]);
    expect(perItem.errors).toEqual(['the function threw RangeError: price must not be negative, got -1', null]);
    expect(expensive.statuses).toEqual(['INVALID', 'PRESENT']);
    expect(expensive.values).toEqual([null, false]);
    // Feast's exact shape has no errors field.
    const feast = await app.inject({
      method: 'POST',
      url: '/get-online-features',
      headers: { 'x-strata-compat': 'feast' },
      payload: { features: ['ratios:expensive'], entities: { user_id: ids, price: [-1, 7] } },
    });
    expect(feast.json().results[1]).not.toHaveProperty('errors');
    expect(feast.json().results[1].statuses).toEqual(['INVALID', 'PRESENT']);

    // A missing request field is the caller's error, with what to send.
    const missing = await online({ features: ['ratios:expensive'], entities: { user_id: ids } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/needs the request field 'price' \(DOUBLE\)/);

    // Offline, the same function fails the training set with the row and the message.
    const err = await trainingSet(ids, [-1, 7]).catch((e) => e);
    const messages: string[] = [];
    for (let e = err; e; e = e.cause) messages.push(String(e.message));
    expect(messages.join(' | ')).toMatch(/failed on entity row 1 .*price must not be negative/);
    expect(await strata.trainingSet(`odfv-${run}`)).toMatchObject({ status: 'failed' });
  });

  it('serving with a training set built from another selection is refused', async () => {
    run++;
    const ids = await load([{ amount: 1, count: 1, city: 'oslo', tier: 'gold' }]);
    const res = await online({ features: ['stats:amount'], training_set: 'odfv-1', entities: { user_id: ids } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/training_set/);
  });
});
