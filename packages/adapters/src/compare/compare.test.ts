import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFeastRegistry } from '../feast/registry.js';
import { compare, parseRequirements } from './compare.js';
import { renderFactsTable } from './facts.js';

const doc = readFileSync(new URL('../../../../docs/feast-vs-hopsworks.md', import.meta.url), 'utf8');
const [imported] = decodeFeastRegistry(
  new Uint8Array(readFileSync(new URL('../__fixtures__/feast-0.67-registry.db', import.meta.url))),
);

describe('facts', () => {
  it('docs/feast-vs-hopsworks.md and the code have the same fact table', () => {
    const m = /<!-- facts:start[^>]*-->\n([\s\S]*?)\n<!-- facts:end -->/.exec(doc);
    expect(m, 'facts markers in docs/feast-vs-hopsworks.md').toBeTruthy();
    expect(m?.[1]?.trim()).toBe(renderFactsTable());
  });
});

describe('parseRequirements', () => {
  it('reads YAML with aliases and reports every problem', () => {
    expect(
      parseRequirements('licenses: {forbidden: [AGPL-3.0]}\nlatency_target_ms: 10\ntimeTravel: true\nlanguages: [TypeScript]\n'),
    ).toEqual({
      licenses: { forbidden: ['AGPL-3.0'] },
      latencyTargetMs: 10,
      timeTravel: true,
      languages: ['typescript'],
    });
    expect(() => parseRequirements('{"streaming": "yes", "deployment": "cloud", "colour": 1}')).toThrow(
      /streaming must be true or false; deployment must be self-hosted, managed or either; unknown key 'colour'/,
    );
  });
});

describe('compare', () => {
  const repo = imported!.repo;
  it('rules out AGPL Hopsworks, scores the rest and writes evidence and a plan', () => {
    const r = compare({
      project: 'strata_compat',
      repo,
      source: 'feast',
      requirements: parseRequirements({
        licenses: { forbidden: ['AGPL-3.0'] },
        validationAtIngest: true,
        statistics: true,
        timeTravel: true,
        languages: ['typescript'],
        existingStores: ['postgres', 'redis'],
        latencyTargetMs: 10,
      }),
    });
    expect(r.recommendation.target).toBe('strata');
    expect(r.recommendation.ruledOut.hopsworks?.[0]).toMatch(/License/);
    expect(r.evidence.feast.join('\n')).toMatch(/keeps TTLs of user_stats, user_merchant, merchant_stats/);
    expect(r.evidence.hopsworks.join('\n')).toMatch(/user_stats: ttlSeconds 172800: Hopsworks feature groups have no TTL/);
    expect(r.migrationPlan[0]).toMatch(/^strata --project strata_compat import feast .* --dry-run$/);
    expect(r.markdown).toMatch(/\| Validation at ingest \| required \| no: /);
    expect(r.html).toMatch(/<td class="no">no: AGPL-3.0/);
    expect(r.html).not.toMatch(/<script/);
  });

  it('recommends Hopsworks for a managed, streaming team and plans the export', () => {
    const r = compare({ project: 'p', repo, requirements: { deployment: 'managed', streaming: true, statistics: true } });
    expect(r.recommendation.target).toBe('hopsworks');
    expect(r.migrationPlan.join('\n')).toMatch(/strata --project p export hopsworks --out migration\/hopsworks/);
  });
});
