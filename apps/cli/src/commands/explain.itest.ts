/**
 * `strata explain` end to end (the built CLI in a child process) on the real stack, in both modes: direct (the CLI
 * talks to the stores) and remote (through a real Strata server with an API key, no store address usable): the
 * value online, the commit and ingestion this test wrote, the materialization run, the offline rows newest first,
 * and the errors for an unknown entity and a bad --entity.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Identity, loadConfig, Strata } from '@strata/sdk';
import { createServer } from '@strata/server';
import { CLI_MAIN, type FreshSchema, freshSchema, requireBuilt, runCli, strataEnv, testScope } from '@strata/testkit';
import { createStrataWorker } from '@strata/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'strata-explain-'));
const f = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SPEC = `entities:
  - name: promo
    joinKeys: [{ name: promo_id, valueType: STRING }, { name: region, valueType: INT32 }]
featureViews:
  - name: promo_stats
    entities: [promo]
    timestampField: ts
    online: true
    features:
      - { name: redemptions, valueType: INT64 }
      - { name: rate, valueType: DOUBLE }
    expectationSuite:
      name: promo_suite
      expectations:
        - { type: expect_column_values_to_be_between, kwargs: { column: rate, min_value: 0, max_value: 1 } }
`;

describe.skipIf(requireBuilt('strata CLI', CLI_MAIN)).each(['direct', 'remote'] as const)('strata explain (%s)', (mode) => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  let worker: Awaited<ReturnType<typeof createStrataWorker>>;
  let running: Promise<void>;
  let server: Awaited<ReturnType<typeof createServer>> | undefined;
  let strata: Strata;
  let first: { ingestionId: string; workflowId: string; commitSeq: number };
  let second: { ingestionId: string; commitSeq: number };
  let materializeRun: string;
  const cli = (...args: string[]) => runCli(env, args, dir);

  beforeAll(async () => {
    fresh = await freshSchema();
    const direct = strataEnv(testScope(fresh.schema, 'exp'));
    const config = loadConfig({ env: direct });
    worker = await createStrataWorker(config, { logLevel: 'ERROR' });
    running = worker.worker.run();
    strata = await connect({ config });
    env = direct;
    if (mode === 'remote') {
      const identity = new Identity(strata.pool, fresh.schema, { cacheMs: 0 });
      const key = await identity.createKey({ name: 'explain-test', roles: { [config.project]: 'viewer' } });
      server = await createServer({ strata, identity, dataDir: mkdtempSync(join(tmpdir(), 'strata-explain-srv-')) });
      env = {
        ...direct,
        STRATA_SERVER_URL: await server.listen({ port: 0, host: '127.0.0.1' }),
        STRATA_API_KEY: key.key,
        STRATA_POSTGRES_URL: 'postgres://nobody:wrong@127.0.0.1:1/nothing',
        STRATA_REDIS_URL: 'redis://127.0.0.1:1',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      };
    }
    // The data is written through the SDK (local mode); the CLI under test only reads.
    await strata.apply(Strata.parseSpecText(SPEC, 'spec'));
    const a = await strata.ingest(
      'promo_stats',
      f(
        'promo-a.csv',
        'promo_id,region,ts,redemptions,rate\nSUMMER,7,2024-03-01T00:00:00Z,12,0.25\nSUMMER,8,2024-03-01T00:00:00Z,3,0.5\n',
      ),
      { createdBy: 'marketing-bot' },
    );
    const ra = await a.result();
    first = { ingestionId: a.ingestionId, workflowId: a.workflowId, commitSeq: ra.commitSeq as number };
    const m = await strata.materialize('promo_stats');
    await m.result();
    materializeRun = m.workflowId;
    const b = await strata.ingest(
      'promo_stats',
      f('promo-b.csv', 'promo_id,region,ts,redemptions,rate\nSUMMER,7,2024-03-02T00:00:00Z,20,0.75\n'),
    );
    second = { ingestionId: b.ingestionId, commitSeq: (await b.result()).commitSeq as number };
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await strata?.close();
    worker?.worker.shutdown();
    await running?.catch(() => {});
    await worker?.close();
    await fresh?.drop();
  });

  it('prints the value online and the commit, ingestion, validation and run behind it', async () => {
    const r = await cli(
      'explain',
      'promo_stats',
      '--entity',
      'promo_id=SUMMER',
      '--entity',
      'region=7',
      '--feature',
      'redemptions',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain('promo_stats (v1) promo_id=SUMMER region=7');
    expect(out).toMatch(/redemptions = 12 {2}PRESENT/);
    expect(out).toContain(`online row: commit ${first.commitSeq}, event time 2024-03-01T00:00:00Z`);
    expect(out).toContain(`ingestion ${first.ingestionId}: committed, by marketing-bot, source promo-a.csv`);
    expect(out).toContain(`run ${first.workflowId}`);
    expect(out).toMatch(/validation: passed 1\/1 expectations \(suite promo_suite\)/);
    expect(out).toContain(`materialized by incremental run ${materializeRun}, completed`);
    // Offline rows newest first: the second commit (not materialized yet), then the online one.
    const rows = out.split('\n').filter((l) => /^\s+\d+\s+20\d\d-/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/)[0])).toEqual([String(second.commitSeq), String(first.commitSeq)]);
    expect(rows[0]).toMatch(/ > {3}redemptions=20$/);
    expect(rows[1]).toMatch(/ON {3}redemptions=12$/);
  });

  it('--json gives the same explanation as the SDK', async () => {
    const r = await cli('--json', 'explain', 'promo_stats', '-e', 'promo_id=SUMMER', '-e', 'region=7');
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    const sdk = await strata.explain('promo_stats', { entity: { promo_id: 'SUMMER', region: '7' } });
    expect(e).toEqual(JSON.parse(JSON.stringify(sdk)));
    expect(e.entity).toEqual({ promo_id: 'SUMMER', region: 7 });
    expect(e.online.values).toEqual({ redemptions: { value: 12, status: 'PRESENT' }, rate: { value: 0.25, status: 'PRESENT' } });
    expect(e.commit.ingestionId).toBe(first.ingestionId);
    expect(e.materialization.workflowId).toBe(materializeRun);
  });

  it('an unknown entity and a bad --entity are clear errors', async () => {
    const unknown = await cli('explain', 'promo_stats', '-e', 'promo_id=WINTER', '-e', 'region=7');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no row for promo_id=WINTER, region=7/);
    const missing = await cli('explain', 'promo_stats', '-e', 'promo_id=SUMMER');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no value for join key 'region'/);
    const notKv = await cli('explain', 'promo_stats', '-e', 'SUMMER');
    expect(notKv.code).not.toBe(0);
    expect(notKv.stderr).toMatch(/'SUMMER' is not key=value/);
  });
});
