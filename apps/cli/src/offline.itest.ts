/**
 * `strata offline backfill` on the real stack: commits made before a columnar root was configured get their Parquet
 * files (once: a second run writes nothing), after which `get-historical` on the columnar engine gives the rows the
 * Postgres engine gives; without a root the command says what to configure.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, csvFastPathHeader, loadConfig, stageCsvFile } from '@strata/sdk';
import { CLI_MAIN, freshSchema, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.skipIf(!existsSync(CLI_MAIN))('strata offline backfill', () => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), 'strata-cli-offline-'));
  const root = join(dir, 'offline');

  beforeAll(async () => {
    fresh = await freshSchema();
    env = strataEnv(testScope(fresh.schema, 'cli_off'));
    // Commits made by a Strata without a columnar root.
    const strata = await connect({ config: loadConfig({ env }) });
    try {
      await strata.apply({
        entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
        featureViews: [
          {
            name: 'v',
            entities: ['user'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: false,
            features: [{ name: 'x', valueType: 'DOUBLE' }],
          },
        ],
      });
      const vv = await strata.getView('v');
      for (const [i, x] of [1, 2].entries()) {
        const csv = join(dir, `c${i}.csv`);
        writeFileSync(csv, `user_id,ts,x\n7,2024-01-01T0${i}:00:00Z,${x}\n`);
        await stageCsvFile(strata.offline, vv, `c${i}`, csv, (await csvFastPathHeader(vv, csv)) as string[]);
        await strata.offline.commit(`c${i}`);
      }
    } finally {
      await strata.close();
    }
    writeFileSync(join(dir, 'entities.csv'), 'user_id,event_timestamp\n7,2024-01-01T05:00:00Z\n7,2024-01-01T00:30:00Z\n');
  });
  afterAll(async () => {
    await fresh?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the missing files once, then the columnar engine answers as Postgres does', async () => {
    const none = await runCli(env, ['offline', 'backfill']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('columnarRoot');
    const withRoot = { ...env, STRATA_COLUMNAR_ROOT: root };
    const refused = await runCli({ ...withRoot, STRATA_OFFLINE_ENGINE: 'columnar' }, [
      'get-historical',
      '--features',
      'v:x',
      '--entities',
      join(dir, 'entities.csv'),
      '-o',
      join(dir, 'early.csv'),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('backfill');
    const first = await runCli(withRoot, ['--json', 'offline', 'backfill']);
    expect(first.code).toBe(0);
    // Files written now carry their facts (ADR 0018), so there are none to record.
    expect(JSON.parse(first.stdout)).toEqual({ commits: 2, rows: 2, facts: 0 });
    const again = await runCli(withRoot, ['--json', 'offline', 'backfill']);
    expect(JSON.parse(again.stdout)).toEqual({ commits: 0, rows: 0, facts: 0 });
    for (const engine of ['postgres', 'columnar']) {
      const r = await runCli({ ...withRoot, STRATA_OFFLINE_ENGINE: engine }, [
        'get-historical',
        '--features',
        'v:x',
        '--entities',
        join(dir, 'entities.csv'),
        '-o',
        join(dir, `${engine}.csv`),
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const pg = readFileSync(join(dir, 'postgres.csv'), 'utf8');
    expect(readFileSync(join(dir, 'columnar.csv'), 'utf8')).toBe(pg);
    expect(pg.trim().split('\n').slice(1)).toEqual(['7,2024-01-01T05:00:00.000Z,2', '7,2024-01-01T00:30:00.000Z,1']);
  });
});
