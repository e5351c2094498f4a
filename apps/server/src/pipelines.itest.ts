/**
 * Pipeline routes of the control plane on the real stack (Postgres, Temporal with a real worker): a backfill and a
 * run started over HTTP commit their windows, the status shows them, a schedule is created, paused, resumed,
 * triggered and deleted; viewers read but cannot start or change anything (403); bad input is a 400 with the reason;
 * the routes are in the OpenAPI document.
 */
import { Identity, connect, loadConfig, type Strata } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const DAY = 86_400_000;
// Three complete days before today: a run after the backfill has no complete window left.
const D0 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const iso = (t: number) => new Date(t).toISOString();

describe('pipeline routes on the real stack', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let app: FastifyInstance;
  let base: string;
  let project: string;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  const keys: Record<string, string> = {};

  const call = async (method: string, path: string, opts: { key?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
    return { status: res.status, body: (await res.json()) as any };
  };
  const p = (rest: string) => `/api/v1/projects/${project}${rest}`;
  const waitRun = (link: string) =>
    eventually(async () => {
      const r = await call('GET', link, { key: keys.editor as string });
      return r.body.status !== 'RUNNING' ? r.body : undefined;
    }, 90_000);

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'plr');
    project = scope.project;
    const config = loadConfig({ env: strataEnv(scope) });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    strata = await connect({ config });
    const identity = new Identity(strata.pool, fresh.schema, { cacheMs: 0 });
    app = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-plr-')) });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    await strata.pool.query(
      `CREATE TABLE "${fresh.schema}".raw_events (user_id bigint, ts timestamptz, amount double precision)`,
    );
    for (let d = 0; d < 3; d++)
      for (let u = 1; u <= 4; u++)
        await strata.pool.query(`INSERT INTO "${fresh.schema}".raw_events VALUES ($1, $2, $3)`, [
          u,
          new Date(D0 + d * DAY + u * 60_000),
          u * 10 + d,
        ]);
    const admin = await call('POST', '/api/v1/keys', { body: { name: 'admin', roles: { '*': 'admin' } } });
    keys.admin = admin.body.key;
    for (const role of ['viewer', 'editor'] as const) {
      const r = await call('POST', '/api/v1/keys', { key: keys.admin, body: { name: role, roles: { [project]: role } } });
      keys[role] = r.body.key;
    }
    const applied = await call('POST', p('/apply'), {
      key: keys.editor,
      body: {
        entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: 'daily',
            entities: ['user'],
            timestampField: 'day',
            online: false,
            features: [{ name: 'total', valueType: 'DOUBLE' }],
            source: { kind: 'sql', query: `SELECT user_id, ts, amount FROM "${fresh.schema}".raw_events`, timestampField: 'ts' },
            transformation: {
              kind: 'sql',
              query: "SELECT user_id, date_trunc('day', ts) AS day, sum(amount) AS total FROM source GROUP BY 1, 2",
            },
            pipeline: { window: '1d', start: new Date(D0).toISOString() },
          },
        ],
      },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await strata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it('a viewer reads the status but cannot start a run, a backfill or a schedule', async () => {
    const status = await call('GET', p('/pipelines/daily'), { key: keys.viewer });
    expect(status.status, JSON.stringify(status.body)).toBe(200);
    expect(status.body).toMatchObject({ view: 'daily', watermark: null, windows: [], schedule: null });
    expect(status.body.codeHash).toMatch(/^[0-9a-f]{64}$/);
    for (const [method, path, body] of [
      ['POST', '/pipelines/daily/runs', undefined],
      ['POST', '/pipelines/daily/backfills', { start: iso(D0), end: iso(D0 + 3 * DAY) }],
      ['PUT', '/pipelines/daily/schedule', { every: '1h' }],
      ['POST', '/pipelines/daily/schedule/trigger', {}],
      ['DELETE', '/pipelines/daily/schedule', undefined],
    ] as const) {
      const r = await call(method, p(path), { key: keys.viewer, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
  });

  it('a backfill over HTTP commits one window per day; a run after it finds nothing new', async () => {
    const bad = await call('POST', p('/pipelines/daily/backfills'), {
      key: keys.editor,
      body: { start: iso(D0 + 3 * DAY), end: iso(D0) },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/not after its start/);
    const started = await call('POST', p('/pipelines/daily/backfills'), {
      key: keys.editor,
      body: { start: iso(D0), end: iso(D0 + 3 * DAY), parallel: 2 },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.run.workflowId).toMatch(/^backfill:/);
    const done = await waitRun(started.body.run.links.self);
    expect(done.status).toBe('COMPLETED');
    const status = await call('GET', p('/pipelines/daily?limit=10'), { key: keys.viewer });
    expect(status.body.windows.map((w: { status: string }) => w.status)).toEqual(['committed', 'committed', 'committed']);
    expect(status.body.windows.map((w: { rows: number }) => w.rows)).toEqual([4, 4, 4]);
    const { rows } = await strata.pool.query(
      `SELECT count(*)::int AS n FROM "${fresh.schema}".ingestions WHERE project = $1 AND status = 'committed'`,
      [project],
    );
    expect(rows[0].n).toBe(3);

    const run = await call('POST', p('/pipelines/daily/runs'), { key: keys.editor });
    expect(run.status).toBe(202);
    expect((await waitRun(run.body.run.links.self)).status).toBe('COMPLETED');
    const again = await strata.pool.query(
      `SELECT count(*)::int AS n FROM "${fresh.schema}".ingestions WHERE project = $1 AND status = 'committed'`,
      [project],
    );
    expect(again.rows[0].n).toBe(3);
  });

  it('a schedule is created, paused, resumed, triggered and deleted', async () => {
    const both = await call('PUT', p('/pipelines/daily/schedule'), {
      key: keys.editor,
      body: { every: '1h', cron: '0 * * * *' },
    });
    expect(both.status).toBe(400);
    const created = await call('PUT', p('/pipelines/daily/schedule'), { key: keys.editor, body: { every: '1h', paused: true } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ view: 'daily', every: '1h', paused: true });
    expect((await call('POST', p('/pipelines/daily/schedule/resume'), { key: keys.editor, body: {} })).status).toBe(200);
    expect((await call('GET', p('/pipelines/daily/schedule'), { key: keys.viewer })).body.paused).toBe(false);
    expect((await call('POST', p('/pipelines/daily/schedule/pause'), { key: keys.editor, body: {} })).status).toBe(200);
    expect((await call('GET', p('/pipelines/daily'), { key: keys.viewer })).body.schedule.paused).toBe(true);
    const trig = await call('POST', p('/pipelines/daily/schedule/trigger'), { key: keys.editor, body: { allowOverlap: true } });
    expect(trig.status).toBe(200);
    await eventually(async () => {
      const s = await call('GET', p('/pipelines/daily/schedule'), { key: keys.viewer });
      return s.body.recentRuns.length > 0 ? s : undefined;
    }, 30_000);
    expect((await call('DELETE', p('/pipelines/daily/schedule'), { key: keys.editor })).status).toBe(200);
    const gone = await call('GET', p('/pipelines/daily/schedule'), { key: keys.viewer });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('UNKNOWN_OBJECT');
  });

  it('a view without a pipeline is a 400 or 404 with the reason, and the routes are in the OpenAPI document', async () => {
    const missing = await call('GET', p('/pipelines/nope'), { key: keys.viewer });
    expect(missing.status).toBe(404);
    const doc = await call('GET', '/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/projects/{project}/pipelines/{view}',
        '/api/v1/projects/{project}/pipelines/{view}/runs',
        '/api/v1/projects/{project}/pipelines/{view}/backfills',
        '/api/v1/projects/{project}/pipelines/{view}/schedule',
        '/api/v1/projects/{project}/pipelines/{view}/schedule/trigger',
      ]),
    );
  });
});
