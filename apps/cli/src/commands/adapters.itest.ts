/**
 * `strata import feast` then `strata export feast` through the real registry: a Feast 0.67 registry.db (written by
 * `feast apply`, kept as a fixture) comes back with the same objects, including the registry-wide ones Strata has
 * no model for (kept beside the registry). Also: dry runs write nothing, an existing folder is not overwritten.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameRegistry } from '@strata/adapters';
import { CLI_MAIN, freshSchema, requireBuilt, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'packages',
  'adapters',
  'src',
  '__fixtures__',
  'feast-0.67-registry.db',
);

describe.skipIf(requireBuilt('strata import/export', CLI_MAIN))('strata import/export feast through the registry', () => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), 'strata-adapters-'));
  const strata = (...args: string[]) => runCli(env, args, dir);

  beforeAll(async () => {
    fresh = await freshSchema();
    // The fixture's Feast project; the fresh schema keeps it apart from every other test.
    env = strataEnv({ ...testScope(fresh.schema), project: 'strata_compat' });
  });
  afterAll(async () => {
    await fresh?.drop();
  });

  it('round-trips every object of a real Feast registry', async () => {
    const dry = await strata('--json', 'import', 'feast', fixture, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).applied).toBe(false);
    expect(JSON.parse((await strata('--json', 'list')).stdout).featureViews).toEqual([]);

    const imported = await strata('--json', 'import', 'feast', fixture);
    expect(imported.code, imported.stderr).toBe(0);
    const listed = JSON.parse((await strata('--json', 'list')).stdout);
    expect(listed.featureViews.length).toBe(3);
    expect(listed.featureServices.length).toBe(1);

    const out = join(dir, 'exported');
    const exported = await strata('export', 'feast', '--out', out);
    expect(exported.code, exported.stderr).toBe(0);
    expect(sameRegistry(readFileSync(join(out, 'data', 'registry.db')), readFileSync(fixture))).toBe(true);

    const again = await strata('export', 'feast', '--out', out);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/--force/);
    expect((await strata('export', 'feast', '--out', out, '--force')).code).toBe(0);
  });
});
