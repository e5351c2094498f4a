/**
 * The `strata` command end to end (built CLI in a child process) on the real stack: apply, plan, ingest a CSV,
 * materialize, get-online, get-historical, time travel, training sets; and each kind of bad input with its message
 * and exit code. The same table runs in both modes: direct (the CLI talks to the stores) and remote (the CLI talks
 * to a real Strata server with an API key, and its environment holds no working database, Redis or Temporal
 * address at all).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '@strata/server';
import { connect, Identity, loadConfig, type Strata } from '@strata/sdk';
import { CLI_MAIN, freshSchema, requireBuilt, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
const f = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const MODES = ['direct', 'remote'] as const;

describe.skipIf(requireBuilt('strata CLI', CLI_MAIN)).each(MODES)('strata CLI on the real stack (%s)', (mode) => {
  const remote = mode === 'remote';
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let server: Awaited<ReturnType<typeof createServer>> | undefined;
  let serverStrata: Strata | undefined;

  const strata = (...args: string[]) => runCli(env, args, dir);

  beforeAll(async () => {
    fresh = await freshSchema();
    const direct = strataEnv(testScope(fresh.schema, 'cli'));
    const config = loadConfig({ env: direct });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    env = direct;
    if (remote) {
      serverStrata = await connect({ config });
      const identity = new Identity(serverStrata.pool, fresh.schema, { cacheMs: 0 });
      const key = await identity.createKey({ name: 'cli-test', roles: { [config.project]: 'admin' } });
      server = await createServer({ strata: serverStrata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-cli-srv-')) });
      const url = await server.listen({ port: 0, host: '127.0.0.1' });
      // No usable store address at all: everything has to go through the server.
      env = {
        ...direct,
        STRATA_SERVER_URL: url,
        STRATA_API_KEY: key.key,
        STRATA_POSTGRES_URL: 'postgres://nobody:wrong@127.0.0.1:1/nothing',
        STRATA_REDIS_URL: 'redis://127.0.0.1:1',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      };
    }
  });

  afterAll(async () => {
    await server?.close();
    await serverStrata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it("applies the talk's Feast 0.x FeatureSet YAML, ingests a CSV, serves and builds a training set", async () => {
    const spec = f(
      'feature_set.yaml',
      [
        'kind: feature_set',
        'spec:',
        '  name: all_users_agg_m',
        '  entities:',
        '    - name: user_id',
        '      valueType: INT64',
        '  features:',
        '    - name: dt',
        '      valueType: TIMESTAMP',
        '    - name: feature_1',
        '      valueType: DOUBLE',
        '    - name: feature_n',
        '      valueType: DOUBLE',
        '  maxAge: 0s',
      ].join('\n'),
    );
    const plan = await strata('plan', spec);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('+ feature view all_users_agg_m: create');
    const applied = await strata('--json', 'apply', spec);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout).applied).toBe(true);

    const csv = f(
      'users.csv',
      'user_id,dt,feature_1,feature_n\n777,2020-12-07 00:00:00,88.77,29.01\n778,2020-12-07 00:00:00,1.5,\n',
    );
    const ingested = await strata('--json', 'ingest', 'all_users_agg_m', csv, '--materialize');
    expect(ingested.code, ingested.stderr).toBe(0);
    const res = JSON.parse(ingested.stdout);
    expect(res).toMatchObject({ status: 'committed', rows: 2, materialization: { rowsWritten: 2 } });

    if (!remote) await checkOnline();
    const entities = f('entities.csv', 'user_id,event_timestamp,label\n777,2020-12-08T00:00:00Z,1\n777,2020-12-01T00:00:00Z,0\n');
    const out = join(dir, `training-${mode}.csv`);
    const hist = await strata('get-historical', '-f', 'all_users_agg_m:feature_1', '--entities', entities, '-o', out);
    expect(hist.code, hist.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([
      'user_id,event_timestamp,label,feature_1',
      '777,2020-12-08T00:00:00.000Z,1,88.77',
      '777,2020-12-01T00:00:00.000Z,0,',
    ]);
  });

  async function checkOnline() {
    const online = await strata(
      '--json',
      'get-online',
      '-f',
      'all_users_agg_m:feature_1,all_users_agg_m:feature_n',
      '-e',
      'user_id=777,778,1',
    );
    expect(online.code, online.stderr).toBe(0);
    const body = JSON.parse(online.stdout);
    expect(body.results[1].values).toEqual([88.77, 1.5, null]);
    expect(body.results[2].statuses).toEqual(['PRESENT', 'NULL_VALUE', 'NOT_FOUND']);
  }

  it('gives a clear message and a meaningful exit code for each kind of bad input, committing nothing', async () => {
    const invalidYaml = await strata('apply', f('bad.yaml', 'entities:\n  - name: user\n    joinKeys: [ {name: user_id\n'));
    expect(invalidYaml.code).toBe(3);
    expect(invalidYaml.stderr).toMatch(/not valid YAML/);
    expect(invalidYaml.stderr).toMatch(/bad\.yaml:\d+:\d+/);

    const unknownType = await strata(
      'apply',
      f('badtype.yaml', 'entities:\n  - name: user\n    joinKeys: [{ name: user_id, valueType: INT46 }]\n'),
    );
    expect(unknownType.code).toBe(3);
    expect(unknownType.stderr).toMatch(/unknown value type "INT46"/);
    expect(unknownType.stderr).toMatch(/use one of .*INT64/);

    const unknownView = await strata('ingest', 'nope', f('x.csv', 'a\n1\n'));
    expect(unknownView.code).toBe(4);
    expect(unknownView.stderr).toMatch(/unknown feature view 'nope'/);
    expect(unknownView.stderr).toMatch(/all_users_agg_m/);

    const missingColumn = await strata('ingest', 'all_users_agg_m', f('missing.csv', 'user_id,dt,feature_1\n1,2020-12-07,1\n'));
    expect(missingColumn.code).toBe(3);
    expect(missingColumn.stderr).toMatch(/column 'feature_n' \(DOUBLE\) is missing/);

    const badTimestamp = await strata(
      'ingest',
      'all_users_agg_m',
      f('ts.csv', 'user_id,dt,feature_1,feature_n\n1,2020-12-07,1,1\n2,07/12/2020,1,1\n'),
    );
    expect(badTimestamp.code).toBe(3);
    expect(badTimestamp.stderr).toMatch(/cannot read "07\/12\/2020" as a timestamp/);
    expect(badTimestamp.stderr).toMatch(/row 2, column 'dt'/);

    const nullKey = await strata(
      'ingest',
      'all_users_agg_m',
      f('nullkey.csv', 'user_id,dt,feature_1,feature_n\n,2020-12-07,1,1\n'),
    );
    expect(nullKey.code).toBe(3);
    expect(nullKey.stderr).toMatch(/column 'user_id' is null or missing/);

    const badType = await strata(
      'ingest',
      'all_users_agg_m',
      f('type.csv', 'user_id,dt,feature_1,feature_n\n1,2020-12-07,abc,1\n'),
    );
    expect(badType.code).toBe(3);
    expect(badType.stderr).toMatch(/"abc" is not a number \(column 'feature_1', DOUBLE\)/);

    const malformed = await strata(
      'ingest',
      'all_users_agg_m',
      f('malformed.csv', 'user_id,dt,feature_1,feature_n\n1,2020-12-07,1,1\n2,2020-12-07,1\n'),
    );
    expect(malformed.code).toBe(3);
    expect(malformed.stderr).toMatch(/malformed CSV/);
    expect(malformed.stderr).toMatch(/line 3/);

    const empty = await strata('ingest', 'all_users_agg_m', f('empty.csv', ''));
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/is empty/);

    const unknownFeature = await strata(
      'get-historical',
      '-f',
      'all_users_agg_m:nope',
      '--entities',
      f('e.csv', 'user_id,event_timestamp\n1,2020-12-08T00:00:00Z\n'),
    );
    expect(unknownFeature.code, unknownFeature.stderr).toBe(4);
    expect(unknownFeature.stderr).toMatch(/has no feature 'nope'/);

    // Nothing from the bad files was committed: still one commit of 2 rows.
    const list = JSON.parse((await strata('--json', 'ingestions', 'all_users_agg_m')).stdout) as {
      status: string;
      rowCount: number;
    }[];
    expect(list.filter((i) => i.status === 'committed').map((i) => i.rowCount)).toEqual([2]);
  });

  it('gates CI on a suite (exit 6 on failure), writes data docs, and reports bad suites clearly', async () => {
    const data = f('readings.csv', 'sensor,temp\n1,20.5\n2,21\n3,95\n4,\n');
    const suite = f(
      'suite.json',
      JSON.stringify({
        name: 'readings',
        expectations: [
          { type: 'expect_column_values_to_be_between', kwargs: { column: 'temp', min_value: -40, max_value: 50 } },
          { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'temp', mostly: 0.7 } },
          { type: 'expect_column_to_exist', kwargs: { column: 'sensor' } },
        ],
      }),
    );
    const docsDir = join(dir, 'docs-out');
    const failed = await strata('validate', data, '--suite', suite, '--docs', docsDir);
    expect(failed.code).toBe(6);
    expect(failed.stdout).toMatch(/validation FAILED: 2\/3 expectations/);
    expect(failed.stdout).toMatch(/expect_column_values_to_be_between on temp: 1 unexpected, e.g. \[95\]/);
    expect(readFileSync(join(docsDir, 'index.html'), 'utf8')).toContain('expect_column_values_to_be_between');

    const loose = f(
      'loose.json',
      JSON.stringify({
        expectation_suite_name: 'loose',
        expectations: [{ expectation_type: 'expect_column_max_to_be_between', kwargs: { column: 'temp', max_value: 100 } }],
      }),
    );
    const passed = await strata('--json', 'validate', data, '--suite', loose);
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout).success).toBe(true);

    const malformed = await strata('validate', data, '--suite', f('broken.json', '{"name": "x", "expectations": ['));
    expect(malformed.code).toBe(3);
    expect(malformed.stderr).toMatch(/not valid JSON/);

    const unknown = await strata(
      'validate',
      data,
      '--suite',
      f('unknown.json', JSON.stringify({ name: 'u', expectations: [{ type: 'expect_the_moon', kwargs: {} }] })),
    );
    expect(unknown.code).toBe(6);
    expect(unknown.stdout).toMatch(/expect_the_moon/);

    const built = await strata('docs', 'build', '-o', join(dir, `site-${mode}`));
    if (remote) {
      expect(built.code).toBe(2);
      expect(built.stderr).toMatch(/not available through a Strata server/);
    } else {
      expect(built.code, built.stderr).toBe(0);
      expect(readFileSync(join(dir, `site-${mode}`, 'index.html'), 'utf8')).toContain('all_users_agg_m');
    }
  });

  it('manages API keys (create, list, revoke); a viewer key reads but cannot apply', async () => {
    const project = env.STRATA_PROJECT as string;
    const created = await strata('--json', 'keys', 'create', '--name', `ci-viewer-${mode}`, '--role', `${project}=viewer`);
    expect(created.code, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    expect(key).toMatch(/^strata_/);
    const listed = await strata('keys', 'list');
    expect(listed.stdout).toContain(`ci-viewer-${mode}`);
    expect(listed.stdout).not.toContain(key);
    if (remote) {
      const asViewer = (...args: string[]) => runCli({ ...env, STRATA_API_KEY: key }, args, dir);
      expect((await asViewer('--json', 'list')).code).toBe(0);
      const denied = await asViewer('apply', join(dir, 'feature_set.yaml'));
      expect(denied.code).toBe(2);
      expect(denied.stderr).toMatch(/viewer on project .*needs editor/);
      expect((await strata('keys', 'revoke', id)).code).toBe(0);
      const revoked = await asViewer('list');
      expect(revoked.code).toBe(2);
      expect(revoked.stderr).toMatch(/not valid \(unknown or revoked\)/);
    } else {
      expect((await strata('keys', 'revoke', id)).code).toBe(0);
      expect((await strata('keys', 'list', '--all')).stdout).toMatch(/ci-viewer-direct.*\(revoked\)/);
    }
  });

  it('lists, plans with a revision (apply --based-on refuses a stale one), time-travels and builds a training-set workflow', async () => {
    const list = JSON.parse((await strata('--json', 'list')).stdout);
    expect(list.featureViews.map((v: { name: string }) => v.name)).toEqual(['all_users_agg_m']);
    expect(list.versions).toEqual([expect.objectContaining({ view: 'all_users_agg_m', version: 1 })]);

    const spec = join(dir, 'feature_set.yaml');
    const planned = await strata('--json', 'plan', spec);
    expect(planned.code, planned.stderr).toBe(0);
    const revision = JSON.parse(planned.stdout).revision as string;
    expect(revision).toMatch(/^[0-9a-f]{32}$/);
    const extra = f(`extra-${mode}.yaml`, 'entities:\n  - name: shop\n    joinKeys: [{ name: shop_id, valueType: INT64 }]\n');
    expect((await strata('apply', extra, '--based-on', revision)).code).toBe(0);
    const stale = await strata('apply', spec, '--based-on', revision);
    expect(stale.code).toBe(5);
    expect(stale.stderr).toMatch(/changed since the plan/);

    const csv = f(`more-${mode}.csv`, 'user_id,dt,feature_1,feature_n\n777,2020-12-09 00:00:00,99.5,1\n');
    const second = JSON.parse((await strata('--json', 'ingest', 'all_users_agg_m', csv)).stdout);
    expect(second.status).toBe('committed');
    const history = JSON.parse((await strata('--json', 'history', 'all_users_agg_m')).stdout) as { commitSeq: number }[];
    const seqs = history.map((h) => h.commitSeq).filter((x) => x !== null);
    expect(seqs).toHaveLength(2);
    const [c1, c2] = seqs.sort((a, b) => a - b) as [number, number];
    const asOf = JSON.parse((await strata('--json', 'read', 'all_users_agg_m', '--as-of-commit', String(c1))).stdout);
    expect(asOf.rows).toBe(2);
    const readOut = join(dir, `read-${mode}.parquet`);
    expect((await strata('read', 'all_users_agg_m', '-o', readOut)).code).toBe(0);
    expect(existsSync(readOut)).toBe(true);
    const diff = JSON.parse((await strata('--json', 'diff', 'all_users_agg_m', String(c1), String(c2))).stdout);
    expect(diff.commits).toEqual([expect.objectContaining({ commitSeq: c2, rows: 1 })]);
    const ings = JSON.parse((await strata('--json', 'ingestions', 'all_users_agg_m')).stdout) as { status: string }[];
    expect(ings.filter((i) => i.status === 'committed')).toHaveLength(2);

    const mat = await strata('--json', 'materialize', 'all_users_agg_m');
    expect(mat.code, mat.stderr).toBe(0);
    expect(JSON.parse(mat.stdout)[0]).toMatchObject({ view: 'all_users_agg_m' });

    const entities = f(
      `ts-entities-${mode}.csv`,
      'user_id,event_timestamp\n777,2020-12-10T00:00:00Z\n778,2020-12-10T00:00:00Z\n',
    );
    const tsOut = join(dir, `ts-${mode}.csv`);
    const wf = await strata(
      '--json',
      'get-historical',
      '-f',
      'all_users_agg_m:feature_1',
      '--entities',
      entities,
      '--workflow',
      '-o',
      tsOut,
    );
    expect(wf.code, wf.stderr).toBe(0);
    const r = JSON.parse(wf.stdout);
    expect(r.rows).toBe(2);
    expect(readFileSync(tsOut, 'utf8').trim().split('\n')).toEqual([
      'user_id,event_timestamp,feature_1',
      '777,2020-12-10T00:00:00.000Z,99.5',
      '778,2020-12-10T00:00:00.000Z,1.5',
    ]);
    const shown = JSON.parse((await strata('--json', 'training-set', r.id)).stdout);
    expect(shown).toMatchObject({ id: r.id, status: 'done', entityRows: 2 });
  });
});
