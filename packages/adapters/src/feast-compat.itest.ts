/**
 * Strata against the real Feast (compat/feast-registry). Runs when STRATA_FEAST_PYTHON points at a python with feast
 * installed; otherwise the suite is skipped and says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireOrSkip } from '@strata/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { exportFeast, importFeast } from './index.js';

const python = process.env.STRATA_FEAST_PYTHON;
const runSh = fileURLToPath(new URL('../../../compat/feast-registry/run.sh', import.meta.url));

function feastVersion(): string | undefined {
  if (!python) return undefined;
  const r = spawnSync(python, ['-c', 'import feast; print(feast.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const version = feastVersion();
const reason = !python
  ? 'STRATA_FEAST_PYTHON is not set (point it at a python with feast installed, see compat/feast-registry/README.md)'
  : !version
    ? `STRATA_FEAST_PYTHON=${python} cannot import feast`
    : '';
describe.skipIf(requireOrSkip('Feast registry compatibility', reason))(`Strata <-> real Feast ${version ?? ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'strata-feast-compat-'));
  const applied = join(work, 'applied');
  const exported = join(work, 'exported');
  const env = { ...process.env, STRATA_FEAST_PYTHON: python };
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('feast apply, Strata import, Strata export, feast lists and compares the export', async () => {
    execFileSync(runSh, ['apply', applied], { env, stdio: 'pipe' });
    const original = new Uint8Array(readFileSync(join(applied, 'data', 'registry.db')));

    const [imp, ...others] = await importFeast(applied);
    expect(others).toEqual([]);
    expect(imp!.project).toBe('strata_compat');
    expect(imp!.repo.entities.map((e) => e.name).sort()).toEqual(['merchant', 'user']); // feast apply's order varies
    expect(imp!.repo.featureViews.map((v) => v.name).sort()).toEqual(['merchant_stats', 'user_merchant', 'user_stats']);
    expect(imp!.repo.featureViews.find((v) => v.name === 'user_merchant')?.entities).toEqual(['user', 'merchant']);
    expect(imp!.repo.featureServices.map((s) => s.name)).toEqual(['checkout_model']);
    expect(imp!.report.impossible).toEqual([]);

    const { files } = await exportFeast(imp!.project, JSON.parse(JSON.stringify(imp!.repo)), exported);
    expect(files.map((f) => f.slice(exported.length + 1)).sort()).toEqual(['data/registry.db', 'feature_store.yaml']);

    // export(import(x)) == x, byte for byte
    const roundTrip = new Uint8Array(readFileSync(join(exported, 'data', 'registry.db')));
    expect(Buffer.compare(Buffer.from(roundTrip), Buffer.from(original))).toBe(0);

    const out = execFileSync(runSh, ['check', applied, exported], { env, encoding: 'utf8' });
    expect(out).toMatch(/user_stats/);
    const summary = JSON.parse(out.slice(out.lastIndexOf('{\n')));
    expect(summary).toMatchObject({
      project: 'strata_compat',
      entities: expect.arrayContaining(['user', 'merchant']),
      feature_views: ['merchant_stats', 'user_merchant', 'user_stats'],
      feature_services: ['checkout_model'],
      problems: [],
    });
  });

  it('a Strata-native repo exports to a folder feast accepts', async () => {
    const native = join(work, 'native');
    const repo = {
      entities: [
        { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] },
        { name: 'merchant', joinKeys: [{ name: 'merchant_id', valueType: 'STRING' as const }] },
      ],
      featureViews: [
        {
          name: 'user_merchant',
          entities: ['user', 'merchant'],
          features: [
            { name: 'visits_30d', valueType: 'INT64' as const },
            { name: 'last_amount', valueType: 'DOUBLE' as const },
          ],
          timestampField: 'event_timestamp',
          ttlSeconds: 30 * 86400,
          online: true,
        },
      ],
      featureServices: [{ name: 'checkout_model', features: [{ view: 'user_merchant' }] }],
    };
    await exportFeast('strata_native', repo, native);
    const script = [
      'import sys',
      'from feast import FeatureStore',
      's = FeatureStore(repo_path=sys.argv[1])',
      'v = s.get_feature_view("user_merchant")',
      'print(sorted(e.name for e in s.list_entities()), v.ttl.total_seconds(), [f.name for f in v.features],',
      '      sorted(v.join_keys), [p.name for p in s.get_feature_service("checkout_model").feature_view_projections])',
    ].join('\n');
    const out = execFileSync(python as string, ['-c', script, native], { encoding: 'utf8' });
    expect(out.trim()).toBe(
      "['merchant', 'user'] 2592000.0 ['visits_30d', 'last_amount'] ['merchant_id', 'user_id'] ['user_merchant']",
    );
    const listed = execFileSync(
      python as string,
      ['-c', 'import sys; from feast.cli.cli import cli; sys.argv[0]="feast"; cli()', 'feature-views', 'list'],
      {
        cwd: native,
        encoding: 'utf8',
      },
    );
    expect(listed).toMatch(/user_merchant/);
  });
});
