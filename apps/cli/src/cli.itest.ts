/**
 * The `strata` command end to end (built CLI in a child process) on the real stack: apply, plan, ingest a CSV,
 * materialize, get-online, get-historical; and each kind of bad input with its message and exit code.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@strata/sdk';
import { CLI_MAIN, freshSchema, requireBuilt, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
const f = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe.skipIf(requireBuilt('strata CLI', CLI_MAIN))('strata CLI on the real stack', () => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;

  const strata = (...args: string[]) => runCli(env, args, dir);

  beforeAll(async () => {
    fresh = await freshSchema();
    env = strataEnv(testScope(fresh.schema, 'cli'));
    const config = loadConfig({ env });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
  });

  afterAll(async () => {
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

    const entities = f('entities.csv', 'user_id,event_timestamp,label\n777,2020-12-08T00:00:00Z,1\n777,2020-12-01T00:00:00Z,0\n');
    const out = join(dir, 'training.csv');
    const hist = await strata('get-historical', '-f', 'all_users_agg_m:feature_1', '--entities', entities, '-o', out);
    expect(hist.code, hist.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([
      'user_id,event_timestamp,label,feature_1',
      '777,2020-12-08T00:00:00.000Z,1,88.77',
      '777,2020-12-01T00:00:00.000Z,0,',
    ]);
  });

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

    const unknownFeature = await strata('get-online', '-f', 'all_users_agg_m:nope', '-e', 'user_id=1');
    expect(unknownFeature.code).toBe(4);
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

    const built = await strata('docs', 'build', '-o', join(dir, 'site'));
    expect(built.code, built.stderr).toBe(0);
    expect(readFileSync(join(dir, 'site', 'index.html'), 'utf8')).toContain('all_users_agg_m');
  });
});
