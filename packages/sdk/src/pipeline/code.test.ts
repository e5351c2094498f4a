import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureViewSpec } from '@strata/core';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { bundleTransformations, pipelineCodeHash, windowIngestionId } from './code.js';
import { checkTransformOutput, runTransformation } from './transform.js';

const base: FeatureViewSpec = {
  name: 'v',
  entities: ['user'],
  timestampField: 'day',
  ttlSeconds: 0,
  online: false,
  features: [{ name: 'n', valueType: 'INT64' }],
  source: { kind: 'sql', query: 'SELECT 1' },
  pipeline: { window: '1d', start: '2024-01-01T00:00:00Z' },
};

describe('pipeline code identity', () => {
  it('bundles a TypeScript module with its imports; Arrow comes from the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-code-'));
    writeFileSync(join(dir, 'helper.ts'), 'export const twice = (x: number): number => 2 * x;\n');
    writeFileSync(
      join(dir, 'm.ts'),
      `import { tableFromArrays, type Table } from 'apache-arrow';
       import { twice } from './helper';
       export default (t: Table): Table => tableFromArrays({ x: Float64Array.from([twice(t.numRows)]) });`,
    );
    const repo = await bundleTransformations(
      { featureViews: [{ ...base, transformation: { kind: 'typescript', module: 'm.ts' } }] },
      dir,
    );
    const t = repo.featureViews?.[0]?.transformation;
    expect(t?.kind).toBe('typescript');
    if (t?.kind !== 'typescript') return;
    expect(t.code).not.toMatch(/from ['"]apache-arrow['"]/);
    expect(t.codeHash).toMatch(/^[0-9a-f]{64}$/);
    const again = await bundleTransformations({
      featureViews: [{ ...base, transformation: { kind: 'typescript', module: join(dir, 'm.ts') } }],
    });
    expect((again.featureViews?.[0]?.transformation as { codeHash: string } | undefined)?.codeHash).toBe(t.codeHash);
    const out = await runTransformation(arrow.tableFromArrays({ a: Int32Array.from([1, 2, 3]) }), {
      code: t.code as string,
      timeoutMs: 10_000,
      context: { view: 'v', windowStart: '', windowEnd: '' },
      where: 'test',
    });
    expect(out.getChild('x')?.get(0)).toBe(6);
  }, 60_000);

  it('a module that does not build is INVALID_SPEC with its location', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-code-'));
    writeFileSync(join(dir, 'bad.ts'), 'export default (t) => {\n');
    await expect(
      bundleTransformations({ featureViews: [{ ...base, transformation: { kind: 'typescript', module: 'bad.ts' } }] }, dir),
    ).rejects.toMatchObject({ code: 'INVALID_SPEC', where: expect.stringMatching(/bad\.ts:\d+:\d+/) });
  });

  it('window ids depend on view, version, window and code; the code hash on source and transformation', () => {
    const s = new Date('2024-01-01T00:00:00Z');
    const e = new Date('2024-01-02T00:00:00Z');
    const h = pipelineCodeHash(base);
    expect(windowIngestionId('p', 'v', 1, s, e, h)).toBe(windowIngestionId('p', 'v', 1, s, e, h));
    expect(windowIngestionId('p', 'v', 2, s, e, h)).not.toBe(windowIngestionId('p', 'v', 1, s, e, h));
    expect(pipelineCodeHash({ ...base, source: { kind: 'sql', query: 'SELECT 2' } })).not.toBe(h);
    expect(pipelineCodeHash({ ...base, transformation: { kind: 'sql', query: 'SELECT * FROM source' } })).not.toBe(h);
    expect(pipelineCodeHash({ ...base, description: 'docs only' })).toBe(h);
  });

  it('checks a transformation output against the view columns', () => {
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'day', valueType: 'UNIX_TIMESTAMP' as const },
    ];
    const ok = arrow.tableFromArrays({ user_id: BigInt64Array.from([1n]), day: [new Date()] });
    expect(() => checkTransformOutput(ok, cols, { where: 'w' })).not.toThrow();
    const bad = arrow.tableFromArrays({ user_id: ['a'] });
    expect(() => checkTransformOutput(bad, cols, { where: 'w' })).toThrow(
      /'user_id' should be INT64 but is STRING.*'day'.*missing/,
    );
  });
});
