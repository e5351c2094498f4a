/**
 * The console's API (docs/console-api.md) over real HTTP on the real stack (Postgres, Redis, Temporal with a real
 * worker): every number is checked against what the stack stored: the statistics series against each ingestion's
 * own statistics and drift, explain against the commit, ingestion, report and materialization run this test made,
 * the online lookup against the SDK's, lineage against the training set built here; runs from Temporal with their
 * steps, the live run as server-sent events (with ?key= never reaching the logs), search, config, and roles.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig, readTable, RemoteStrata, type Strata } from '@strata/sdk';
import { eventually, freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { SA } from '@strata/workflows';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

const SPEC = `
entities:
  - name: user
    joinKeys: [{ name: user_id, valueType: INT64 }]
    owner: growth@example.com
featureViews:
  - name: user_stats
    entities: [user]
    timestampField: event_timestamp
    online: true
    owner: growth@example.com
    tags: { team: growth }
    features:
      - { name: clicks, valueType: INT64, description: clicks in the last day }
      - { name: score, valueType: DOUBLE }
      - { name: country, valueType: STRING }
    expectationSuite:
      name: user_stats_suite
      expectations:
        - { type: expect_column_values_to_be_between, kwargs: { column: clicks, min_value: 0, max_value: 1000 } }
        - { type: expect_column_values_to_not_be_null, kwargs: { column: score } }
featureServices:
  - name: churn
    features: [{ view: user_stats, features: [clicks, score] }]
`;
const CSV1 =
  'user_id,event_timestamp,clicks,score,country\n' +
  '1,2024-01-01T00:00:00Z,3,0.5,DE\n2,2024-01-01T00:00:00Z,7,1.5,FR\n3,2024-01-01T06:00:00Z,11,2.5,DE\n1,2023-12-31T00:00:00Z,1,0.1,DE\n';
const CSV2 = 'user_id,event_timestamp,clicks,score,country\n1,2024-01-02T00:00:00Z,40,9.5,US\n2,2024-01-02T00:00:00Z,80,8.5,US\n';

describe('the console API on the real stack', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let app: FastifyInstance;
  let base: string;
  let project: string;
  let other: string;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  const keys: Record<string, string> = {};
  const logLines: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-console-api-'));
  const ing: Record<string, { id: string; workflowId: string; seq: number }> = {};
  let materializeRun: string;
  const streamEnds: [string, string][] = [];

  const call = async (method: string, path: string, opts: { key?: string | undefined; body?: unknown; type?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.type ?? (typeof opts.body === 'string' ? 'application/yaml' : 'application/json');
    }
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = res.headers.get('content-type')?.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: text as any, headers: res.headers };
  };
  const p = (rest: string, proj = project) => `/api/v1/projects/${proj}${rest}`;
  const waitRun = (link: string) =>
    eventually(async () => {
      const r = await call('GET', link, { key: keys.viewer });
      return r.body.status !== 'RUNNING' ? r.body : undefined;
    }, 60_000);
  const ingestCsv = async (csv: string, name: string, query = '') => {
    const up = await call('POST', p(`/feature-views/user_stats/ingestions?source=${name}${query}`), {
      key: keys.editor,
      body: csv,
      type: 'text/csv',
    });
    expect(up.status).toBe(202);
    const done = await waitRun(up.body.run.links.self);
    expect(done.status).toBe('COMPLETED');
    return {
      id: up.body.ingestionId as string,
      workflowId: up.body.run.workflowId as string,
      seq: done.result.commitSeq as number,
    };
  };

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'con');
    project = scope.project;
    other = `${project}_other`;
    const config = loadConfig({ env: { ...strataEnv(scope), STRATA_TEMPORAL_UI_URL: 'http://temporal-ui.test:8080' } });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    strata = await connect({ config });
    const identity = new Identity(strata.pool, fresh.schema, { cacheMs: 0 });
    for (const [name, roles] of [
      ['admin', { '*': 'admin' }],
      ['editor', { [project]: 'editor' }],
      ['viewer', { [project]: 'viewer' }],
    ] as const)
      keys[name] = (await identity.createKey({ name, roles: { ...roles } })).key;
    app = await createServer({
      strata,
      identity,
      dataDir,
      logger: { stream: { write: (line: string) => void logLines.push(line) } },
      runEvents: { pollMs: 100, onStreamEnd: (id, why) => void streamEnds.push([id, why]) },
    });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    expect((await call('POST', p('/apply'), { key: keys.editor, body: SPEC })).status).toBe(200);
    // Another project the viewer cannot see (search must not show it).
    expect(
      (
        await call('POST', p('/apply', other), {
          key: keys.admin,
          body: SPEC.replace('name: user_stats', 'name: hidden_stats').replace(/featureServices:[\s\S]*/, ''),
        })
      ).status,
    ).toBe(200);
    ing.first = await ingestCsv(CSV1, 'users-1.csv', '&materialize=true');
    ing.second = await ingestCsv(CSV2, 'users-2.csv');
    const mats = await call('GET', p('/materializations?view=user_stats'), { key: keys.viewer });
    expect(mats.body.materializations.length).toBe(1);
    materializeRun = mats.body.materializations[0].workflowId;
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await strata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it('documents every new route in the OpenAPI document', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/config',
        '/api/v1/search',
        '/api/v1/projects/{project}/feature-views/{view}/statistics',
        '/api/v1/projects/{project}/feature-views/{view}/materialization',
        '/api/v1/projects/{project}/feature-views/{view}/explain',
        '/api/v1/projects/{project}/lineage',
        '/api/v1/projects/{project}/runs',
        '/api/v1/projects/{project}/runs/{workflowId}/steps',
        '/api/v1/projects/{project}/runs/{workflowId}/events',
        '/api/v1/projects/{project}/online-features',
      ]),
    );
    const explain = r.body.paths['/api/v1/projects/{project}/feature-views/{view}/explain'].get;
    expect(explain.parameters.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['entity', 'feature']));
  });

  it('config gives the caller, its roles and projects, and the Temporal Web UI from the configuration', async () => {
    const r = await call('GET', '/api/v1/config', { key: keys.viewer });
    expect(r.status).toBe(200);
    expect(r.body.caller).toMatchObject({ name: 'viewer', roles: { [project]: 'viewer' }, anonymous: false });
    expect(r.body.temporal).toEqual({ uiUrl: 'http://temporal-ui.test:8080', namespace: 'default' });
    expect(r.body.projects).toEqual([{ name: project, role: 'viewer' }]);
    expect((await call('GET', '/api/v1/config')).status).toBe(401);
  });

  it("the statistics series equals each ingestion's own statistics and drift", async () => {
    const r = await call('GET', p('/feature-views/user_stats/statistics'), { key: keys.viewer });
    expect(r.status).toBe(200);
    expect(r.body.features).toEqual(['clicks', 'score', 'country']);
    expect(r.body.commits.map((c: { ingestionId: string }) => c.ingestionId)).toEqual([ing.first?.id, ing.second?.id]);
    for (const c of r.body.commits) {
      const own = (await call('GET', p(`/ingestions/${c.ingestionId}/statistics`), { key: keys.viewer })).body;
      const meta = (await call('GET', p(`/ingestions/${c.ingestionId}`), { key: keys.viewer })).body;
      expect(c.commitId).toBe(meta.commitSeq);
      expect(c.rows).toBe(meta.rowCount);
      expect(c.minEventTime).toBe(meta.minEventTime);
      expect(c.maxEventTime).toBe(meta.maxEventTime);
      for (const f of ['clicks', 'score', 'country']) {
        const col = own.columns[f];
        for (const k of [
          'count',
          'nullCount',
          'completeness',
          'distinctCount',
          'min',
          'max',
          'mean',
          'stddev',
          'sum',
          'quantiles',
        ])
          expect(c.stats[f][k], `${c.ingestionId} ${f}.${k}`).toEqual(col[k]);
      }
    }
    expect(r.body.commits[0].stats.clicks).toMatchObject({ count: 4, min: 1, max: 11, mean: 5.5 });
    expect(r.body.commits[0].drift).toEqual({});
    const drift = (await call('GET', p(`/ingestions/${ing.second?.id}/drift`), { key: keys.viewer })).body;
    const second = r.body.commits[1];
    for (const col of drift.columns.filter((c: { column: string }) => ['clicks', 'score', 'country'].includes(c.column))) {
      expect(second.drift[col.column]).toEqual({
        kind: col.kind,
        psi: col.psi,
        ks: col.ks,
        js: col.js,
        drifted: col.drifted,
        reasons: col.reasons,
        threshold: { psi: drift.thresholds.psi, ks: drift.thresholds.ks, js: drift.thresholds.js },
      });
    }
    expect(Object.keys(second.drift).length).toBeGreaterThan(0);

    // Selecting features and limiting to the newest commits.
    const one = await call('GET', p('/feature-views/user_stats/statistics?features=score&limit=1'), { key: keys.viewer });
    expect(one.body.features).toEqual(['score']);
    expect(one.body.commits.map((c: { ingestionId: string }) => c.ingestionId)).toEqual([ing.second?.id]);
    expect(Object.keys(one.body.commits[0].stats)).toEqual(['score']);
    const bad = await call('GET', p('/feature-views/user_stats/statistics?features=nope'), { key: keys.viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('features');
    expect((await call('GET', p('/feature-views/missing/statistics'), { key: keys.viewer })).status).toBe(404);

    // The summaries behind the series are derived data: a registry from before them is filled in at start-up.
    await strata.pool.query(`DELETE FROM "${fresh.schema}".ingestion_feature_stats`);
    const emptied = (await call('GET', p('/feature-views/user_stats/statistics'), { key: keys.viewer })).body.commits;
    expect(emptied.map((c: { stats: unknown; drift: unknown }) => [c.stats, c.drift])).toEqual([
      [{}, {}],
      [{}, {}],
    ]);
    await strata.registry.init();
    expect((await call('GET', p('/feature-views/user_stats/statistics'), { key: keys.viewer })).body).toEqual(r.body);
  });

  it('materialization state: the watermark, the commit behind it, freshness and the run', async () => {
    const r = await call('GET', p('/feature-views/user_stats/materialization'), { key: keys.viewer });
    expect(r.status).toBe(200);
    expect(r.body.watermark.commitId).toBe(ing.first?.seq);
    expect(r.body.latestCommitId).toBe(ing.second?.seq);
    expect(r.body.commitsBehind).toBe(1);
    expect(r.body.onlineMarker).toBe(ing.first?.seq);
    expect(r.body.materializedEventTime).toBe('2024-01-01T06:00:00.000Z');
    const expected = (Date.now() - Date.parse('2024-01-01T06:00:00Z')) / 1000;
    expect(Math.abs(r.body.freshnessSeconds - expected)).toBeLessThan(120);
    expect(r.body.runs.map((x: { workflowId: string }) => x.workflowId)).toEqual([materializeRun]);
    expect(r.body.runs[0]).toMatchObject({ status: 'completed', rowsWritten: 3, toSeq: ing.first?.seq });
    expect(r.body.runs[0].url).toBe(
      `http://temporal-ui.test:8080/namespaces/default/workflows/${encodeURIComponent(materializeRun)}`,
    );
    expect(r.body.schedule).toBeNull();
  });

  it('explains a value: the online value, the offline rows, and the commit, ingestion, report and run behind it', async () => {
    const r = await call('GET', p('/feature-views/user_stats/explain?entity=user_id=1&feature=clicks'), { key: keys.viewer });
    expect(r.status).toBe(200);
    const e = r.body;
    expect(e.entity).toEqual({ user_id: 1 });
    // Online: the first commit's newest row of user 1 (the second commit is not materialized).
    expect(e.online).toMatchObject({ status: 'PRESENT', value: 3, eventTime: '2024-01-01T00:00:00.000Z' });
    expect(e.watermark).toBe(ing.first?.seq);
    expect(e.offline.total).toBe(3);
    expect(
      e.offline.rows.map((x: { commitId: number; eventTime: string; values: { clicks: number } }) => [
        x.commitId,
        x.eventTime,
        x.values.clicks,
      ]),
    ).toEqual([
      [ing.second?.seq, '2024-01-02T00:00:00.000Z', 40],
      [ing.first?.seq, '2024-01-01T00:00:00.000Z', 3],
      [ing.first?.seq, '2023-12-31T00:00:00.000Z', 1],
    ]);
    expect(e.offline.rows.map((x: { online: boolean; materialized: boolean }) => [x.online, x.materialized])).toEqual([
      [false, false],
      [true, true],
      [false, true],
    ]);
    expect(e.onlineRow).toEqual({ commitId: ing.first?.seq, eventTime: '2024-01-01T00:00:00.000Z', matchesOnline: true });
    expect(e.commit).toMatchObject({ commitId: ing.first?.seq, ingestionId: ing.first?.id, rows: 4 });
    expect(e.ingestion).toMatchObject({
      id: ing.first?.id,
      status: 'committed',
      createdBy: 'editor',
      source: 'upload:users-1.csv',
      workflowId: ing.first?.workflowId,
      url: `http://temporal-ui.test:8080/namespaces/default/workflows/${encodeURIComponent(ing.first?.workflowId as string)}`,
    });
    expect(e.validation).toMatchObject({
      success: true,
      evaluated: 2,
      successful: 2,
      unsuccessful: 0,
      suite: 'user_stats_suite',
    });
    const report = await call('GET', e.validation.link, { key: keys.viewer });
    expect(report.status).toBe(200);
    expect(report.body.success).toBe(true);
    expect(report.body.statistics.evaluated_expectations).toBe(2);
    expect(e.materialization).toMatchObject({ workflowId: materializeRun, status: 'completed', mode: 'incremental' });

    // Once the second commit is materialized, the same entity's value comes from it.
    const m = await call('POST', p('/materializations'), { key: keys.editor, body: { view: 'user_stats' } });
    expect(m.status).toBe(202);
    expect((await waitRun(m.body.run.links.self)).status).toBe('COMPLETED');
    const after = (await call('GET', p('/feature-views/user_stats/explain?entity=user_id=1'), { key: keys.viewer })).body;
    expect(after.feature).toBeNull();
    expect(after.online.values).toEqual({
      clicks: { value: 40, status: 'PRESENT' },
      score: { value: 9.5, status: 'PRESENT' },
      country: { value: 'US', status: 'PRESENT' },
    });
    expect(after.commit.ingestionId).toBe(ing.second?.id);
    expect(after.ingestion.source).toBe('upload:users-2.csv');
    expect(after.materialization.workflowId).toBe(m.body.run.workflowId);
    expect(after.onlineRow.matchesOnline).toBe(true);
  }, 90_000);

  it('explain refuses an unknown entity (404), a missing or unknown join key (400) and an unknown feature (404)', async () => {
    const unknown = await call('GET', p('/feature-views/user_stats/explain?entity=user_id=424242'), { key: keys.viewer });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('UNKNOWN_OBJECT');
    expect(unknown.body.error.message).toMatch(/no row for user_id=424242/);
    const noKey = await call('GET', p('/feature-views/user_stats/explain?entity=org_id=1'), { key: keys.viewer });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.message).toMatch(/no join key 'org_id'/);
    const notKv = await call('GET', p('/feature-views/user_stats/explain?entity=1'), { key: keys.viewer });
    expect(notKv.status).toBe(400);
    const badType = await call('GET', p('/feature-views/user_stats/explain?entity=user_id=abc'), { key: keys.viewer });
    expect(badType.status).toBe(400);
    expect(badType.body.error.message).toMatch(/user_id/);
    const feat = await call('GET', p('/feature-views/user_stats/explain?entity=user_id=1&feature=nope'), { key: keys.viewer });
    expect(feat.status).toBe(404);
    expect(feat.body.error.code).toBe('UNKNOWN_FEATURE');
  });

  it("online lookup answers in Feast's shape, the same values the SDK reads", async () => {
    const body = { features: ['user_stats:clicks', 'user_stats:country'], entities: { user_id: [1, 3, 99] } };
    const r = await call('POST', p('/online-features'), { key: keys.viewer, body });
    expect(r.status).toBe(200);
    const local = await strata.forProject(project).getOnlineFeatures({ features: body.features, entities: body.entities });
    expect(r.body).toEqual(JSON.parse(JSON.stringify(local)));
    expect(r.body.metadata.feature_names).toEqual(['user_id', 'clicks', 'country']);
    expect(r.body.results[1].statuses).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND']);
    expect(r.body.results[1].values.slice(0, 2)).toEqual([40, 11]);
    const svc = await call('POST', p('/online-features'), {
      key: keys.viewer,
      body: { feature_service: 'churn', entities: { user_id: [2] }, full_feature_names: true },
    });
    expect(svc.body.metadata.feature_names).toEqual(['user_id', 'user_stats__clicks', 'user_stats__score']);
    expect(svc.body.results[1].values).toEqual([80]);
    const none = await call('POST', p('/online-features'), { key: keys.viewer, body: { entities: { user_id: [1] } } });
    expect(none.status).toBe(400);
  });

  it('builds a training set from an uploaded entity CSV pinned to a commit, and lineage shows its view and commit', async () => {
    const entities = 'user_id,event_timestamp\n1,2024-01-03T00:00:00Z\n2,2024-01-03T00:00:00Z\n3,2024-01-03T00:00:00Z\n';
    const start = await call(
      'POST',
      p(`/training-sets?features=user_stats:clicks,user_stats:score&as_of_commit=${ing.first?.seq}&id=ts_console`),
      { key: keys.editor, body: entities, type: 'text/csv' },
    );
    expect(start.status).toBe(202);
    expect(start.body.entityRows).toBe(3);
    expect((await waitRun(start.body.run.links.self)).status).toBe('COMPLETED');
    const ts = (await call('GET', p('/training-sets/ts_console'), { key: keys.viewer })).body;
    expect(ts).toMatchObject({ status: 'done', asOfCommitSeq: ing.first?.seq });
    const file = await call('GET', ts.download, { key: keys.viewer });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const saved = join(dataDir, 'downloaded.parquet');
    writeFileSync(saved, file.body as Buffer);
    const table = await readTable(saved);
    const clicks = table.toArray().map((row) => [Number(row.user_id), Number(row.clicks)]);
    // Pinned to the first commit: the second commit's 40 and 80 are not in it.
    expect(clicks.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [1, 3],
      [2, 7],
      [3, 11],
    ]);

    const g = (await call('GET', p('/lineage'), { key: keys.viewer })).body;
    const node = (id: string) => g.nodes.find((n: { id: string }) => n.id === id);
    const edge = (from: string, to: string) => g.edges.find((x: { from: string; to: string }) => x.from === from && x.to === to);
    expect(node('training-set:ts_console')).toMatchObject({ kind: 'training-set', status: 'done', asOfCommitId: ing.first?.seq });
    expect(edge('view:user_stats', 'training-set:ts_console')).toMatchObject({
      kind: 'built-from',
      commitId: ing.first?.seq,
      asOfCommitId: ing.first?.seq,
      features: ['clicks', 'score'],
    });
    expect(node(`ingestion:${ing.first?.id}`)).toMatchObject({
      kind: 'ingestion',
      status: 'committed',
      commitId: ing.first?.seq,
      rows: 4,
    });
    expect(edge(`ingestion:${ing.first?.id}`, 'view:user_stats')?.kind).toBe('committed');
    expect(edge('source:upload:users-1.csv', `ingestion:${ing.first?.id}`)?.kind).toBe('read');
    expect(edge('view:user_stats', 'service:churn')?.kind).toBe('selected');
    expect(edge('view:user_stats', 'online')).toMatchObject({ kind: 'materialized', watermark: ing.second?.seq });
    for (const x of g.edges) {
      expect(node(x.from), x.from).toBeDefined();
      expect(node(x.to), x.to).toBeDefined();
    }
    // Bounded ingestions per view.
    const one = (await call('GET', p('/lineage?ingestions=1'), { key: keys.viewer })).body;
    expect(one.nodes.filter((n: { kind: string }) => n.kind === 'ingestion').map((n: { label: string }) => n.label)).toEqual([
      ing.second?.id,
    ]);
  }, 90_000);

  it('lists runs from Temporal by kind and status, with their steps and timings', async () => {
    const all = (await call('GET', p('/runs'), { key: keys.viewer })).body.runs;
    const ids = all.map((r: { workflowId: string }) => r.workflowId);
    expect(ids).toEqual(expect.arrayContaining([ing.first?.workflowId, ing.second?.workflowId, materializeRun]));
    expect(new Set(all.map((r: { kind: string }) => r.kind))).toEqual(new Set(['ingest', 'materialize', 'training-set']));
    const ingests = (await call('GET', p('/runs?kind=ingest'), { key: keys.viewer })).body.runs;
    expect(ingests.map((r: { workflowId: string }) => r.workflowId).sort()).toEqual(
      [ing.first?.workflowId, ing.second?.workflowId].sort(),
    );
    const first = ingests.find((r: { workflowId: string }) => r.workflowId === ing.first?.workflowId);
    expect(first).toMatchObject({ kind: 'ingest', status: 'COMPLETED', view: 'user_stats', ingestionId: ing.first?.id, rows: 4 });
    expect(first.durationMs).toBe(Date.parse(first.closeTime) - Date.parse(first.startTime));
    expect(first.url).toMatch(/^http:\/\/temporal-ui\.test:8080\/namespaces\/default\/workflows\//);
    expect((await call('GET', p('/runs?status=RUNNING'), { key: keys.viewer })).body.runs).toEqual([]);
    expect((await call('GET', p('/runs?kind=nope'), { key: keys.viewer })).status).toBe(400);
    expect((await call('GET', p('/runs?limit=1'), { key: keys.viewer })).body.runs.length).toBe(1);

    const steps = (await call('GET', first.links.steps, { key: keys.viewer })).body.steps;
    expect(steps.length).toBeGreaterThan(1);
    for (const s of steps) {
      expect(s.status).toBe('completed');
      expect(s.durationMs).toBe(Date.parse(s.closedAt) - Date.parse(s.startedAt));
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
    }
    // The ingest with materialize=true ran materialization as a child workflow.
    expect(
      steps.some((s: { kind: string; name: string }) => s.kind === 'child-workflow' && s.name === 'materializeWorkflow'),
    ).toBe(true);
    expect((await call('GET', p('/runs/ingest%3Anope/steps'), { key: keys.viewer })).status).toBe(404);
  });

  it('streams a live run as server-sent events until it closes; ?key= works there and never reaches the logs', async () => {
    const up = await call('POST', p('/feature-views/user_stats/ingestions?source=users-3.csv'), {
      key: keys.editor,
      body: 'user_id,event_timestamp,clicks,score,country\n5,2024-01-05T00:00:00Z,5,5.5,IT\n',
      type: 'text/csv',
    });
    expect(up.status).toBe(202);
    const res = await fetch(`${base}${up.body.run.links.self}/events?key=${keys.viewer}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text(); // the stream ends when the run closes
    const events = text
      .split('\n\n')
      .filter((b) => b.startsWith('event:'))
      .map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)?.[1] as string) }));
    expect(events[0]?.event).toBe('run');
    expect(events.at(-1)?.event).toBe('end');
    expect(events.at(-1)?.data).toMatchObject({ workflowId: up.body.run.workflowId, status: 'COMPLETED' });
    expect(events.filter((e) => e.event === 'end').length).toBe(1);
    expect(streamEnds).toContainEqual([up.body.run.workflowId, 'run-closed']);

    // A key in the URL works on this route only, and is masked in every log line.
    expect((await call('GET', `${p('/runs')}?key=${keys.viewer}`)).status).toBe(401);
    expect((await fetch(`${base}${up.body.run.links.self}/events?key=strata_wrong`)).status).toBe(401);
    const logged = logLines.join('');
    expect(logged).toContain('/events?key=***');
    expect(logged).not.toContain(keys.viewer);
    for (const k of Object.values(keys)) expect(logged).not.toContain(k);
  }, 60_000);

  it('a client that goes away ends its event stream on the server; running runs are listed with status RUNNING', async () => {
    // A run no worker will pick up (its task queue has none) stays RUNNING for as long as the test needs.
    const client = await strata.workflowClient();
    const workflowId = `ingest:${project}:user_stats:never-picked-up`;
    const handle = await client.workflow.start('ingestWorkflow', {
      workflowId,
      taskQueue: `${project}-nobody-listens`,
      args: [{ project, view: 'user_stats', ingestionId: 'never-picked-up', rows: 0 }],
      typedSearchAttributes: [
        { key: SA.project, value: project },
        { key: SA.view, value: 'user_stats' },
        { key: SA.stage, value: 'staged' },
      ],
    });
    try {
      const running = await eventually(async () => {
        const r = (await call('GET', p('/runs?status=RUNNING'), { key: keys.viewer })).body.runs;
        return r.length ? r : undefined;
      });
      expect(running.map((r: { workflowId: string }) => r.workflowId)).toEqual([workflowId]);
      expect(running[0]).toMatchObject({ status: 'RUNNING', stage: 'staged', progress: null, closeTime: null });

      const ctl = new AbortController();
      const res = await fetch(`${base}${p(`/runs/${encodeURIComponent(workflowId)}/events`)}`, {
        headers: { authorization: `Bearer ${keys.viewer}` },
        signal: ctl.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body?.getReader();
      const first = new TextDecoder().decode((await reader?.read())?.value);
      expect(first).toMatch(/^event: run\n/);
      expect(JSON.parse(/^data: (.*)$/m.exec(first)?.[1] as string).status).toBe('RUNNING');
      ctl.abort();
      await eventually(async () => streamEnds.find(([id]) => id === workflowId), 15_000);
      expect(streamEnds.filter(([id]) => id === workflowId)).toEqual([[workflowId, 'client-left']]);
    } finally {
      await handle.terminate('test over');
    }
    // An unknown run is a JSON 404 before any stream starts.
    const missing = await call('GET', p('/runs/ingest%3Anope/events'), { key: keys.viewer });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('UNKNOWN_OBJECT');
  }, 60_000);

  it("the SDK's remote mode answers what its local mode answers", async () => {
    const local = strata.forProject(project);
    const remote = new RemoteStrata({ url: base, apiKey: keys.viewer, project });
    const same = (a: unknown, b: unknown) => expect(JSON.parse(JSON.stringify(a))).toEqual(JSON.parse(JSON.stringify(b)));
    same(
      await remote.statisticsSeries('user_stats', { features: ['clicks'] }),
      await local.statisticsSeries('user_stats', { features: ['clicks'] }),
    );
    const { freshnessSeconds: _r, ...rm } = await remote.materializationState('user_stats');
    const { freshnessSeconds: _l, ...lm } = await local.materializationState('user_stats');
    same(rm, lm);
    same(
      await remote.explain('user_stats', { entity: { user_id: 2 } }),
      await local.explain('user_stats', { entity: { user_id: 2 } }),
    );
    same(await remote.lineage({ ingestions: 2 }), await local.lineage({ ingestions: 2 }));
    // The server adds links to its own routes.
    same(
      (await remote.listRuns({ kind: 'ingest' })).map((r) => ({ ...r, links: undefined })),
      await local.listRuns({ kind: 'ingest' }),
    );
    same(await remote.runSteps(ing.first?.workflowId as string), await local.runSteps(ing.first?.workflowId as string));
    const sel = { features: ['user_stats:score'], entities: { user_id: [1, 2, 3] } };
    same(await remote.getOnlineFeatures(sel), await local.getOnlineFeatures(sel));
    // Dates come back as dates.
    expect((await remote.statisticsSeries('user_stats')).commits[0]?.createdAt).toBeInstanceOf(Date);
  });

  it('search finds entities, views, services and features by name, tag, owner and type, in visible projects only', async () => {
    const q = async (query: string, key = keys.viewer) => (await call('GET', `/api/v1/search?${query}`, { key })).body;
    const clicks = await q('q=click');
    expect(clicks.results).toEqual([
      expect.objectContaining({
        kind: 'feature',
        project,
        name: 'clicks',
        view: 'user_stats',
        valueType: 'INT64',
        owner: 'growth@example.com',
      }),
    ]);
    expect((await q('q=last%20day')).results.map((x: { name: string }) => x.name)).toEqual(['clicks']);
    expect((await q('type=STRING')).results.map((x: { name: string }) => x.name)).toEqual(['country']);
    expect((await q('kind=entity&type=INT64')).results.map((x: { name: string }) => x.name)).toEqual(['user']);
    expect((await q('kind=feature_view&tag=team=growth')).results.map((x: { name: string }) => x.name)).toEqual(['user_stats']);
    expect((await q('kind=feature_view&tag=team=other')).results).toEqual([]);
    expect((await q('kind=feature_service')).results.map((x: { name: string }) => x.name)).toEqual(['churn']);
    expect((await q('owner=growth@example.com&kind=feature')).results.length).toBe(3);
    // The viewer sees its project only; the admin sees both.
    expect((await q('q=hidden')).results).toEqual([]);
    expect((await q('q=hidden', keys.admin)).results.map((x: { project: string }) => x.project)).toEqual([other]);
    expect((await call('GET', '/api/v1/search?type=NOPE', { key: keys.viewer })).status).toBe(400);
  });

  it('a viewer reads every console route, gets 403 on every write, and nothing of a project it has no role on', async () => {
    for (const path of [
      '/feature-views/user_stats/statistics',
      '/feature-views/user_stats/materialization',
      '/feature-views/user_stats/explain?entity=user_id=1',
      '/lineage',
      '/runs',
    ])
      expect((await call('GET', p(path), { key: keys.viewer })).status, path).toBe(200);
    const writes: [string, string, unknown][] = [
      ['POST', '/materializations', { view: 'user_stats' }],
      ['POST', '/schedules', { view: 'user_stats', every: '1h' }],
      ['POST', '/schedules/user_stats/trigger', {}],
      ['POST', `/ingestions/${ing.first?.id}/release`, {}],
      [
        'POST',
        '/training-sets?features=user_stats:clicks',
        { entities: { user_id: [1], event_timestamp: ['2024-01-03T00:00:00Z'] } },
      ],
      ['POST', '/apply', SPEC],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(method, p(path), { key: keys.viewer, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    }
    for (const path of ['/feature-views/hidden_stats/statistics', '/lineage', '/runs'])
      expect((await call('GET', p(path, other), { key: keys.viewer })).status, path).toBe(403);
  });
});
