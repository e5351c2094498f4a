/**
 * The control plane over real HTTP on the real stack (Postgres, Redis, Temporal with a real worker): OpenAPI, keys
 * and roles (401, 403), plan/apply with optimistic concurrency (409), streamed uploads into the ingest workflow and
 * its run resource, a cut-off upload that leaves nothing, 413, 400 with the field, 404s, time travel and training
 * sets as Arrow streams, and the audit log (with no secret in it).
 */
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig, type Strata } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import * as arrow from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './index.js';
import { createServer } from './server.js';

const ADMIN = 'bootstrap-admin-key-for-tests-0123456789';
const SPEC = `
entities:
  - name: user
    joinKeys: [{ name: user_id, valueType: INT64 }]
featureViews:
  - name: user_stats
    entities: [user]
    timestampField: event_timestamp
    online: true
    features:
      - { name: clicks, valueType: INT64 }
      - { name: score, valueType: DOUBLE }
`;
// a_only and b_only: one of them is added by the concurrent-apply test (the other is ignored).
const CSV =
  'user_id,event_timestamp,clicks,score,a_only,b_only\n1,2024-01-01T00:00:00Z,3,0.5,a,b\n2,2024-01-01T00:00:00Z,7,1.5,a,b\n';

describe('strata server on the real stack', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let app: FastifyInstance;
  let base: string;
  let project: string;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let identity: Identity;
  const keys: Record<string, string> = {};
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-server-'));

  const call = async (
    method: string,
    path: string,
    opts: { key?: string | undefined; body?: unknown; type?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | Buffer | undefined;
    if (opts.body !== undefined) {
      if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) body = opts.body as string | Buffer;
      else body = JSON.stringify(opts.body);
      headers['content-type'] = opts.type ?? (typeof opts.body === 'string' ? 'application/yaml' : 'application/json');
    }
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = res.headers.get('content-type')?.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: text as any, headers: res.headers };
  };
  const p = (rest: string) => `/api/v1/projects/${project}${rest}`;
  const waitRun = (link: string, key: string | undefined) =>
    eventually(async () => {
      const r = await call('GET', link, { key });
      return r.body.status !== 'RUNNING' ? r.body : undefined;
    }, 60_000);

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'srv');
    project = scope.project;
    const config = loadConfig({ env: strataEnv(scope) });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    strata = await connect({ config });
    identity = new Identity(strata.pool, fresh.schema, { cacheMs: 0 });
    app = await createServer({ strata, identity, dataDir, uploadLimitBytes: 64 * 1024 });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await strata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it('with no key configured, listens on loopback only', async () => {
    const config = loadConfig({ env: strataEnv({ schema: fresh.schema, project, taskQueue: 'unused' }) });
    await expect(startServer(config, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0/);
    const local = await startServer(config, { host: '127.0.0.1', port: 0 });
    expect((await fetch(`${local.address}/api/v1/health`)).status).toBe(200);
    await local.stop();
  });

  it('serves an OpenAPI 3 document generated from the route schemas', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/projects/{project}/apply',
        '/api/v1/projects/{project}/feature-views/{view}/ingestions',
        '/api/v1/projects/{project}/runs/{workflowId}',
        '/api/v1/keys',
        '/api/v1/audit',
      ]),
    );
    expect(r.body.paths['/api/v1/projects/{project}/apply'].post.responses['409']).toBeDefined();
    const upload = r.body.paths['/api/v1/projects/{project}/feature-views/{view}/ingestions'].post;
    expect(Object.keys(upload.requestBody.content)).toEqual(
      expect.arrayContaining(['text/csv', 'application/vnd.apache.parquet']),
    );
    expect(upload.responses['202']).toBeDefined();
    expect(r.body.components.schemas.Run).toBeDefined();
  });

  it('is open with no keys at all, and needs a key once one exists (401); keys are stored hashed', async () => {
    const open = await call('GET', '/api/v1/whoami');
    expect(open.status).toBe(200);
    expect(open.body.anonymous).toBe(true);
    // The first admin key, created while the server is still open (as `strata keys create` does on loopback).
    const admin = await call('POST', '/api/v1/keys', { body: { name: 'first admin', roles: { '*': 'admin' } } });
    expect(admin.status).toBe(201);
    keys.admin = admin.body.key;
    expect(keys.admin).toMatch(/^strata_[A-Za-z0-9_-]{43}$/);
    const none = await call('GET', p(''));
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    expect((await call('GET', p(''), { key: 'strata_not-a-real-key' })).status).toBe(401);
    for (const [name, roles] of [
      ['viewer', { [project]: 'viewer' }],
      ['editor', { [project]: 'editor' }],
      ['editor2', { [project]: 'editor' }],
      ['other', { other_project: 'admin' }],
    ] as const) {
      const r = await call('POST', '/api/v1/keys', { key: keys.admin, body: { name, roles } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      keys[name] = r.body.key;
    }
    const listed = await call('GET', '/api/v1/keys', { key: keys.admin });
    expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual([
      'first admin',
      'viewer',
      'editor',
      'editor2',
      'other',
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(keys.viewer);
    const { rows } = await strata.pool.query(`SELECT * FROM "${fresh.schema}".api_keys`);
    expect(JSON.stringify(rows)).not.toContain(keys.viewer);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.key_sha256))).toBe(true);
  });

  it('plans and applies YAML with roles: viewer plans but cannot apply (403), another project key sees nothing (403)', async () => {
    const plan = await call('POST', p('/plan'), { key: keys.viewer, body: SPEC });
    expect(plan.status).toBe(200);
    expect(plan.body.text).toContain('+ feature view user_stats: create');
    const denied = await call('POST', p('/apply'), { key: keys.viewer, body: SPEC });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN', details: { role: 'viewer', needed: 'editor' } });
    expect((await call('GET', p('/feature-views'), { key: keys.other })).status).toBe(403);
    const applied = await call('POST', p('/apply'), {
      key: keys.editor,
      body: SPEC,
      headers: { 'if-match': `"${plan.body.revision}"` },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.applied).toBe(true);
    const views = await call('GET', p('/feature-views'), { key: keys.viewer });
    expect(views.body.featureViews.map((v: { name: string; version: number }) => [v.name, v.version])).toEqual([
      ['user_stats', 1],
    ]);
  });

  it('two editors applying on the same plan: one wins, the other gets 409 with the current plan', async () => {
    const base = await call('POST', p('/plan'), { key: keys.editor, body: SPEC });
    const a = SPEC.replace(
      '      - { name: score, valueType: DOUBLE }',
      '      - { name: score, valueType: DOUBLE }\n      - { name: a_only, valueType: STRING }',
    );
    const b = SPEC.replace(
      '      - { name: score, valueType: DOUBLE }',
      '      - { name: score, valueType: DOUBLE }\n      - { name: b_only, valueType: STRING }',
    );
    const results = await Promise.all([
      call('POST', p('/apply'), { key: keys.editor, body: a, headers: { 'if-match': `"${base.body.revision}"` } }),
      call('POST', p('/apply'), { key: keys.editor2, body: b, headers: { 'if-match': `"${base.body.revision}"` } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = results.find((r) => r.status === 409);
    expect(loser?.body.error.code).toBe('CONFLICT');
    expect(loser?.body.error.details.changes.length).toBeGreaterThan(0);
    expect(loser?.body.error.details.revision).not.toBe(base.body.revision);
    const view = await call('GET', p('/feature-views/user_stats'), { key: keys.viewer });
    const names = view.body.spec.features.map((f: { name: string }) => f.name);
    expect(names.includes('a_only') !== names.includes('b_only')).toBe(true); // exactly one, never a merge
  });

  it('streams a CSV upload into the ingest workflow: 202 with the run, then status, report and commits', async () => {
    const r = await call('POST', p('/feature-views/user_stats/ingestions?materialize=true'), {
      key: keys.editor,
      body: CSV,
      type: 'text/csv',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.run.workflowId).toContain(`ingest:${project}:user_stats:`);
    expect(r.body.run.url).toContain('/workflows/');
    expect(r.body.stagedRows).toBe(2);
    const done = await waitRun(r.body.run.links.self, keys.viewer);
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toMatchObject({ status: 'committed', rows: 2 });
    expect(done.progress).toMatchObject({ stage: expect.any(String) });
    const ing = await call('GET', p(`/ingestions/${r.body.ingestionId}`), { key: keys.viewer });
    expect(ing.body).toMatchObject({ status: 'committed', rowCount: 2 });
    expect(ing.body.stagingTable).toBeUndefined();
    const stats = await call('GET', p(`/ingestions/${r.body.ingestionId}/statistics`), { key: keys.viewer });
    expect(stats.status).toBe(200);
    const commits = await call('GET', p('/feature-views/user_stats/commits'), { key: keys.viewer });
    expect(commits.body.commits).toHaveLength(1);
    expect(commits.body.commits[0].createdBy).toBe('editor');

    const rows = await call('GET', p(`/feature-views/user_stats/rows?as_of_commit=${done.result.commitSeq}`), {
      key: keys.viewer,
    });
    expect(rows.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const t = arrow.tableFromIPC(rows.body as Buffer);
    expect(t.numRows).toBe(2);
    expect(t.getChild('clicks')?.toArray()).toEqual(BigInt64Array.from([3n, 7n]));
  });

  it('builds a training set synchronously as an Arrow stream, and as a workflow with a download', async () => {
    const entities = 'user_id,event_timestamp,label\n1,2024-02-01T00:00:00Z,1\n2,2023-01-01T00:00:00Z,0\n';
    const sync = await call('POST', p('/historical-features?features=user_stats:clicks,user_stats:score'), {
      key: keys.viewer,
      body: entities,
      type: 'text/csv',
    });
    expect(sync.status, String(sync.body)).toBe(200);
    const t = arrow.tableFromIPC(sync.body as Buffer);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['user_id', 'event_timestamp', 'label', 'clicks', 'score']);
    expect(t.getChild('score')?.get(0)).toBe(0.5);
    expect(t.getChild('score')?.get(1)).toBeNull();

    const json = await call('POST', p('/historical-features'), {
      key: keys.viewer,
      body: { features: ['user_stats:clicks'], entities: { user_id: [2], event_timestamp: ['2024-06-01T00:00:00Z'] } },
    });
    expect(
      arrow
        .tableFromIPC(json.body as Buffer)
        .getChild('clicks')
        ?.get(0),
    ).toBe(7n);

    const started = await call('POST', p('/training-sets?features=user_stats:clicks&format=parquet'), {
      key: keys.editor,
      body: entities,
      type: 'text/csv',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await waitRun(started.body.run.links.self, keys.viewer);
    expect(done.status).toBe('COMPLETED');
    const ts = await call('GET', p(`/training-sets/${started.body.id}`), { key: keys.viewer });
    expect(ts.body).toMatchObject({ status: 'done', entityRows: 2 });
    expect(JSON.stringify(ts.body)).not.toContain(dataDir);
    const dl = await call('GET', p(`/training-sets/${started.body.id}/download?format=arrow`), { key: keys.viewer });
    expect(dl.status).toBe(200);
    const back = arrow.tableFromIPC(dl.body as Buffer);
    expect(back.numRows).toBe(2);
    const pq = await call('GET', p(`/training-sets/${started.body.id}/download`), { key: keys.viewer });
    expect((pq.body as Buffer).subarray(0, 4).toString()).toBe('PAR1');
  });

  it('materializes (202, run, history), manages schedules, and diffs two versions of a view', async () => {
    const started = await call('POST', p('/materializations'), { key: keys.editor, body: { view: 'user_stats' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await waitRun(started.body.run.links.self, keys.viewer);
    expect(done.status).toBe('COMPLETED');
    const hist = await call('GET', p('/materializations?view=user_stats'), { key: keys.viewer });
    expect(hist.body.materializations.length).toBeGreaterThan(0);

    const sch = await call('POST', p('/schedules'), {
      key: keys.editor,
      body: { view: 'user_stats', every: '1h', paused: true },
    });
    expect(sch.status, JSON.stringify(sch.body)).toBe(201);
    expect(sch.body).toMatchObject({ view: 'user_stats', every: '1h', paused: true });
    expect((await call('POST', p('/schedules'), { key: keys.viewer, body: { view: 'user_stats', every: '1h' } })).status).toBe(
      403,
    );
    const listed = await call('GET', p('/schedules'), { key: keys.viewer });
    expect(listed.body.schedules.map((x: { view: string }) => x.view)).toEqual(['user_stats']);
    expect((await call('DELETE', p('/schedules/user_stats'), { key: keys.editor })).status).toBe(200);
    expect((await call('GET', p('/schedules/user_stats'), { key: keys.viewer })).status).toBe(404);

    // A breaking change (a feature's type) makes version 2; the diff between the versions says what changed.
    const view = await call('GET', p('/feature-views/user_stats'), { key: keys.viewer });
    const next = {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          ...view.body.spec,
          features: view.body.spec.features.map((f: { name: string; valueType: string }) =>
            f.name === 'score' ? { ...f, valueType: 'FLOAT' } : f,
          ),
        },
      ],
    };
    const applied = await call('POST', p('/apply'), { key: keys.editor, body: next });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.changes.find((c: { name: string }) => c.name === 'user_stats').action).toBe('new_version');
    const versions = await call('GET', p('/feature-views/user_stats/versions'), { key: keys.viewer });
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const diff = await call('GET', p('/feature-views/user_stats/version-diff?from=1&to=2'), { key: keys.viewer });
    expect(diff.body.change.action).toBe('new_version');
    expect(diff.body.featuresChanged.map((f: { name: string }) => f.name)).toEqual(['score']);
    // Back to the shape the later tests ingest (version 3, score DOUBLE again).
    const back = await call('POST', p('/apply'), { key: keys.editor, body: { ...next, featureViews: [view.body.spec] } });
    expect(back.status).toBe(200);
  });

  it('quarantines a batch that fails a STRICT suite (run FAILED, report), and releases it after the suite is fixed', async () => {
    const spec = (max: number) =>
      `entities:\n  - name: user\n    joinKeys: [{ name: user_id, valueType: INT64 }]\nfeatureViews:\n  - name: checked\n    entities: [user]\n    timestampField: event_timestamp\n    validationPolicy: STRICT\n    features: [{ name: x, valueType: DOUBLE }]\n    expectationSuite:\n      name: s\n      expectations:\n        - { type: expect_column_values_to_be_between, kwargs: { column: x, min_value: 0, max_value: ${max} } }\n`;
    expect((await call('POST', p('/apply'), { key: keys.editor, body: spec(10) })).status).toBe(200);
    const up = await call('POST', p('/feature-views/checked/ingestions'), {
      key: keys.editor,
      body: 'user_id,event_timestamp,x\n1,2024-01-01T00:00:00Z,50\n',
      type: 'text/csv',
    });
    expect(up.status).toBe(202);
    const failed = await waitRun(up.body.run.links.self, keys.viewer);
    expect(failed.status).toBe('FAILED');
    expect(failed.error.code).toBe('VALIDATION_FAILED');
    const ing = await call('GET', p(`/ingestions/${up.body.ingestionId}`), { key: keys.viewer });
    expect(ing.body.status).toBe('quarantined');
    const report = await call('GET', p(`/ingestions/${up.body.ingestionId}/validation-report`), { key: keys.viewer });
    expect(report.body.success).toBe(false);
    expect((await call('POST', p(`/ingestions/${up.body.ingestionId}/release`), { key: keys.viewer, body: {} })).status).toBe(
      403,
    );
    expect((await call('POST', p('/apply'), { key: keys.editor, body: spec(100) })).status).toBe(200);
    const rel = await call('POST', p(`/ingestions/${up.body.ingestionId}/release`), { key: keys.editor, body: {} });
    expect(rel.status, JSON.stringify(rel.body)).toBe(202);
    const released = await waitRun(rel.body.run.links.self, keys.viewer);
    expect(released.status).toBe('COMPLETED');
    expect(released.result).toMatchObject({ status: 'committed', rows: 1 });
  });

  it('the serving app checks the same keys: viewer reads, only editors push, other projects and no key are refused', async () => {
    const { createServer: createServing } = await import('@strata/serving');
    const { app: serving } = await createServing({
      project,
      registry: strata.registry,
      pool: strata.pool,
      online: strata.online,
      keyLookup: identity,
    });
    try {
      const body = { project, features: ['user_stats:clicks'], entities: { user_id: [1, 2] } };
      const ask = (key: string | undefined, url = '/get-online-features', payload: unknown = body) =>
        serving.inject({
          method: 'POST',
          url,
          payload: payload as object,
          headers: key ? { authorization: `Bearer ${key}` } : {},
        });
      const read = await ask(keys.viewer);
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json().results[1].values).toEqual([3, 7]);
      expect((await ask(undefined)).statusCode).toBe(401);
      expect((await ask('strata_forged-key')).statusCode).toBe(401);
      expect((await ask(keys.other)).statusCode).toBe(403);
      const vv = await strata.forProject(project).getView('user_stats');
      const df: Record<string, unknown[]> = { user_id: [9], event_timestamp: ['2024-03-01T00:00:00Z'] };
      for (const f of vv.spec.features) df[f.name] = [f.valueType === 'STRING' ? 'x' : 1];
      const row = { project, feature_view: 'user_stats', to: 'online', df };
      const pushViewer = await ask(keys.viewer, '/push', row);
      expect(pushViewer.statusCode).toBe(403);
      const pushEditor = await ask(keys.editor, '/push', row);
      expect(pushEditor.statusCode, pushEditor.body).toBe(200);
    } finally {
      await serving.close();
    }
  });

  it('answers bad input with a JSON error: 400 with the field, 404, 413; a cut-off upload leaves nothing', async () => {
    const bad = await call('POST', p('/materializations'), { key: keys.editor, body: { start: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('view');
    const badProject = await call('GET', '/api/v1/projects/no-such!/feature-views', { key: keys.admin });
    expect(badProject.status).toBe(400);
    expect(badProject.body.error.details.field).toBe('project');
    expect((await call('GET', p('/feature-views/nope'), { key: keys.viewer })).body.error.code).toBe('UNKNOWN_OBJECT');
    expect((await call('GET', p('/feature-views/nope'), { key: keys.viewer })).status).toBe(404);
    expect((await call('GET', p('/feature-views/user_stats/versions/9'), { key: keys.viewer })).status).toBe(404);
    expect((await call('GET', p('/runs/ingest:nope'), { key: keys.viewer })).status).toBe(404);
    const badCsv = await call('POST', p('/feature-views/user_stats/ingestions'), {
      key: keys.editor,
      body: 'user_id,event_timestamp,clicks,score,a_only,b_only\n1,not-a-time,1,1,a,b\n',
      type: 'text/csv',
    });
    expect(badCsv.status).toBe(400);
    expect(badCsv.body.error.message).toMatch(/timestamp/);

    const big = await call('POST', p('/feature-views/user_stats/ingestions'), {
      key: keys.editor,
      body: `user_id,event_timestamp,clicks,score,a_only,b_only\n${'1,2024-01-01T00:00:00Z,1,1,a,b\n'.repeat(4000)}`,
      type: 'text/csv',
    });
    expect(big.status).toBe(413);

    // Cut off: announce 10 kB, send a part, then drop the connection.
    const before = (await strata.forProject(project).listIngestions('user_stats')).length;
    await new Promise<void>((resolve) => {
      const url = new URL(`${base}${p('/feature-views/user_stats/ingestions')}`);
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${keys.editor}`, 'content-type': 'text/csv', 'content-length': '10000' },
      });
      req.on('error', () => resolve());
      req.write('user_id,event_timestamp,clicks,score\n5,2024-01-01T00:00:00Z,1,1\n');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await strata.forProject(project).listIngestions('user_stats')).length).toBe(before);
    const { rows } = await strata.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'stg%'`,
      [fresh.schema],
    );
    expect(rows).toEqual([]);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(dataDir, 'uploads'))).toEqual([]);
  });

  it('keeps an audit log of every write (who, what, outcome) for admins, with no secret in it; revoked keys stop working', async () => {
    expect((await call('GET', '/api/v1/audit', { key: keys.editor })).status).toBe(403);
    const log = await call('GET', `/api/v1/audit?project=${project}&limit=500`, { key: keys.admin });
    expect(log.status).toBe(200);
    const entries = log.body.entries as { principalName: string; action: string; outcome: string; status: number }[];
    expect(entries.some((e) => e.principalName === 'viewer' && e.action.endsWith('/apply') && e.outcome === 'denied')).toBe(true);
    expect(entries.some((e) => e.principalName === 'editor' && e.action.endsWith('/ingestions') && e.outcome === 'ok')).toBe(
      true,
    );
    expect(entries.some((e) => e.status === 409 && e.outcome === 'failed')).toBe(true);
    const all = JSON.stringify((await call('GET', '/api/v1/audit?limit=1000', { key: keys.admin })).body);
    for (const k of Object.values(keys)) expect(all).not.toContain(k);

    const listed = await call('GET', '/api/v1/keys', { key: keys.admin });
    const viewerId = listed.body.keys.find((k: { name: string }) => k.name === 'viewer').id;
    expect((await call('DELETE', `/api/v1/keys/${viewerId}`, { key: keys.admin })).status).toBe(200);
    expect((await call('GET', p(''), { key: keys.viewer })).status).toBe(401);
  });

  it('never answers with a webhook URL: specs and plans show it masked', async () => {
    const hooked = `entities:\n  - name: user\n    joinKeys: [{ name: user_id, valueType: INT64 }]\nfeatureViews:\n  - name: hooked\n    entities: [user]\n    timestampField: event_timestamp\n    monitoring: { alertWebhook: 'https://hooks.example/T0/secret-token' }\n    features: [{ name: x, valueType: DOUBLE }]\n`;
    expect((await call('POST', p('/apply'), { key: keys.editor, body: hooked })).status).toBe(200);
    const changed = hooked.replace('secret-token', 'other-secret');
    const plan = await call('POST', p('/plan'), { key: keys.editor, body: changed });
    expect(plan.status).toBe(200);
    const view = await call('GET', p('/feature-views/hooked'), { key: keys.editor });
    expect(view.body.spec.monitoring.alertWebhook).toBe('***');
    const texts = [
      plan,
      view,
      await call('GET', p('/repo'), { key: keys.editor }),
      await call('GET', p('/feature-views'), { key: keys.editor }),
    ];
    for (const r of texts) {
      expect(JSON.stringify(r.body)).not.toContain('secret-token');
      expect(JSON.stringify(r.body)).not.toContain('other-secret');
    }
  });

  it('a bootstrap admin key from the configuration works without being stored', async () => {
    const withAdmin = new Identity(strata.pool, fresh.schema, { adminKey: ADMIN });
    const p2 = await withAdmin.authenticate(ADMIN);
    expect(p2?.roles).toEqual({ '*': 'admin' });
    const { rows } = await strata.pool.query(`SELECT key_sha256 FROM "${fresh.schema}".api_keys`);
    expect(rows.length).toBe(5);
    writeFileSync(join(dataDir, 'x'), '');
  });
});
