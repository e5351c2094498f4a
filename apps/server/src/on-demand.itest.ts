/**
 * On-demand feature views through the control plane on real Postgres: applied from YAML (the module bundled at
 * apply), planned, listed with their code hash (the code itself only on the view's own resource), guarding the views
 * they read against deletion, and deleted by an admin.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig, type Strata } from '@strata/sdk';
import { freshSchema, type FreshSchema, strataEnv, testScope } from '@strata/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server.js';

describe('on-demand feature views in the control plane', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let app: FastifyInstance;
  let project: string;
  const dir = mkdtempSync(join(tmpdir(), 'strata-odfv-srv-'));
  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string) =>
    app.inject({ method, url, ...(payload ? { payload, headers: { 'content-type': 'application/yaml' } } : {}) });

  beforeAll(async () => {
    fresh = await freshSchema();
    const scope = testScope(fresh.schema, 'odsrv');
    project = scope.project;
    strata = await connect({ config: loadConfig({ env: strataEnv(scope) }) });
    app = await createServer({
      strata,
      identity: new Identity(strata.pool, fresh.schema, { cacheMs: 0 }),
      dataDir: dir,
    });
  });

  afterAll(async () => {
    await app?.close();
    await strata?.close();
    await fresh?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans, applies, lists (hash, no code), shows one (with code) and guards its sources', async () => {
    const module = join(dir, 'score.ts');
    writeFileSync(module, 'export default (row: { clicks: number | null }) => ({ high: (row.clicks ?? 0) > 10 });\n');
    const spec = `
entities:
  - { name: user, joinKeys: [{ name: user_id, valueType: INT64 }] }
featureViews:
  - name: stats
    entities: [user]
    timestampField: ts
    features: [{ name: clicks, valueType: INT64 }]
onDemandFeatureViews:
  - name: score
    sources: [{ view: stats, features: [clicks] }]
    features: [{ name: high, valueType: BOOL }]
    transformation: { kind: typescript, module: ${JSON.stringify(module)} }
`;
    const plan = await inject('POST', `/api/v1/projects/${project}/plan`, spec);
    expect(plan.statusCode, plan.body).toBe(200);
    expect(plan.json().text).toMatch(/\+ on demand feature view score: create/);
    const applied = await inject('POST', `/api/v1/projects/${project}/apply`, spec);
    expect(applied.statusCode, applied.body).toBe(200);

    const list = (await inject('GET', `/api/v1/projects/${project}/on-demand-feature-views`)).json();
    expect(list.onDemandFeatureViews).toHaveLength(1);
    expect(list.onDemandFeatureViews[0].transformation.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(list.onDemandFeatureViews[0].transformation.code).toBeUndefined();
    const one = (await inject('GET', `/api/v1/projects/${project}/on-demand-feature-views/score`)).json();
    expect(one.transformation.code).toContain('__strataOnDemand');
    expect((await inject('GET', `/api/v1/projects/${project}`)).json().onDemandFeatureViews).toBe(1);
    const missing = await inject('GET', `/api/v1/projects/${project}/on-demand-feature-views/nope`);
    expect(missing.statusCode).toBe(404);

    // A second apply with the same module changes nothing; a changed module is an update with its new hash.
    expect((await inject('POST', `/api/v1/projects/${project}/plan`, spec)).json().text).toMatch(
      /= on demand feature view score: unchanged/,
    );
    writeFileSync(module, 'export default (row: { clicks: number | null }) => ({ high: (row.clicks ?? 0) > 20 });\n');
    expect((await inject('POST', `/api/v1/projects/${project}/plan`, spec)).json().text).toMatch(
      /~ on demand feature view score: update\n\s+code [0-9a-f]{12} -> [0-9a-f]{12}/,
    );

    const guarded = await inject('DELETE', `/api/v1/projects/${project}/feature-views/stats`);
    expect(guarded.statusCode).toBe(409);
    expect(guarded.json().error.message).toMatch(/still used by on-demand feature view 'score'/);
    expect((await inject('DELETE', `/api/v1/projects/${project}/on-demand-feature-views/score`)).statusCode).toBe(200);
    expect((await inject('GET', `/api/v1/projects/${project}/on-demand-feature-views`)).json().onDemandFeatureViews).toEqual([]);
  });

  it('an on-demand view reading a feature that does not exist is refused with every problem', async () => {
    const res = await inject(
      'POST',
      `/api/v1/projects/${project}/apply`,
      `
onDemandFeatureViews:
  - name: broken
    sources: [{ view: stats, features: [ghost] }, { view: nope }]
    features: [{ name: x, valueType: DOUBLE }]
    transformation: { kind: typescript, code: "var __strataOnDemand = {}" }
`,
    );
    expect(res.statusCode).toBe(400);
    const problems = res.json().error.details.problems as string[];
    expect(problems).toEqual([
      expect.stringMatching(/sources\[0\]: view 'stats' has no feature 'ghost'/),
      expect.stringMatching(/sources\[1\]: feature view 'nope' is not defined/),
    ]);
  });
});
