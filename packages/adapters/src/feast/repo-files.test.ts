import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exportFeast, importFeast, parseFeatureStoreYaml } from './repo-files.js';

const fixture = readFileSync(new URL('../__fixtures__/feast-0.67-registry.db', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'strata-adapters-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Feast repo folders', () => {
  const repoDir = join(work, 'feast_repo');
  mkdirSync(join(repoDir, 'data'), { recursive: true });
  writeFileSync(join(repoDir, 'data', 'registry.db'), fixture);
  writeFileSync(
    join(repoDir, 'feature_store.yaml'),
    'project: strata_compat\nregistry: data/registry.db\nprovider: local\nonline_store:\n  type: redis\n  connection_string: "localhost:6379,password=x"\noffline_store:\n  type: file\n',
  );

  it('imports a folder and maps store settings to Strata config', async () => {
    const [imp] = await importFeast(repoDir);
    expect(imp?.config).toEqual({ project: 'strata_compat', redis: { url: 'redis://localhost:6379' } });
    expect(imp?.report.warnings.join('\n')).toMatch(/password/);
    expect(imp?.report.warnings.join('\n')).toMatch(/offline_store type 'file'/);
  });

  it('refuses an existing folder unless force, writes nothing on dry run', async () => {
    const [imp] = await importFeast(join(repoDir, 'data', 'registry.db'));
    const out = join(work, 'out');
    const dry = await exportFeast(imp!.project, imp!.repo, out, { dryRun: true });
    expect(dry.files).toEqual([join(out, 'data/registry.db'), join(out, 'feature_store.yaml')]);
    expect(() => readdirSync(out)).toThrow();
    await exportFeast(imp!.project, imp!.repo, out);
    expect(Buffer.compare(readFileSync(join(out, 'data', 'registry.db')), fixture)).toBe(0);
    await expect(exportFeast(imp!.project, imp!.repo, out)).rejects.toMatchObject({ code: 'INVALID_INPUT', hint: /--force/ });
    await exportFeast(imp!.project, imp!.repo, out, { force: true });
    expect(readdirSync(work).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it("exports Strata's Redis as the online store, by environment reference, and never a password", async () => {
    for (const [name, imp] of [
      ['from-folder', (await importFeast(repoDir))[0]],
      ['from-registry', (await importFeast(join(repoDir, 'data', 'registry.db')))[0]],
    ] as const) {
      const out = join(work, `yaml-${name}`);
      await exportFeast(imp!.project, imp!.repo, out);
      const text = readFileSync(join(out, 'feature_store.yaml'), 'utf8');
      const doc = parseYaml(text) as { online_store: unknown };
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Feast's environment reference, written as it is
      expect(doc.online_store).toEqual({ type: 'redis', connection_string: '${REDIS_CONNECTION_STRING}' });
      expect(text).not.toMatch(/password|sqlite/);
    }
    const [kept] = await importFeast(repoDir);
    expect(JSON.stringify(kept?.repo.extras)).not.toMatch(/password/);
  });

  it('gives clear errors for bad feature_store.yaml', () => {
    expect(() => parseFeatureStoreYaml('registry: x\n')).toThrow(/no project/);
    expect(() => parseFeatureStoreYaml('project: p\nregistry:\n  registry_type: sql\n  path: postgresql://x\n')).toThrow(
      /not a file registry/,
    );
  });
});
