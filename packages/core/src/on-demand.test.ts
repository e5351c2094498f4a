import { describe, expect, it } from 'vitest';
import type { StrataError } from './errors.js';
import { type FeatureSpec, validateRepo } from './model.js';
import { diffOnDemandView } from './plan.js';
import { type OnDemandFeatureViewSpec, OnDemandRunner, planFeatureRefs, planFeatureService } from './on-demand.js';
import { parseRepoDocuments } from './repo.js';

// The bundler (the SDK, at apply) turns a module into a classic script that sets this global to its exports.
const script = (body: string) => `var __strataOnDemand = (() => { ${body} })();`;

const odfv = (code: string, features: FeatureSpec[] = [{ name: 'ratio', valueType: 'DOUBLE' }]): OnDemandFeatureViewSpec => ({
  name: 'ratios',
  sources: [{ view: 'stats', features: ['amount'] }],
  request: [{ name: 'price', valueType: 'DOUBLE' }],
  features,
  transformation: { kind: 'typescript', code, codeHash: 'h' },
});

describe('OnDemandRunner', () => {
  it('computes each row with the function', () => {
    const r = new OnDemandRunner(odfv(script('return { default: (row) => ({ ratio: row.price / row.amount }) };')));
    const out = r.run([
      { amount: 4, price: 2 },
      { amount: 8, price: 1 },
    ]);
    expect(out.columns[0]?.values).toEqual([0.5, 0.125]);
    expect(out.columns[0]?.errors).toEqual([null, null]);
  });

  it('a row that throws fails that row only, with the function error', () => {
    const r = new OnDemandRunner(
      odfv(
        script(
          "return { default: (row) => { if (row.amount === 0) throw new RangeError('no amount'); return { ratio: 1 / row.amount }; } };",
        ),
      ),
    );
    const out = r.run([{ amount: 0 }, { amount: 2 }]);
    expect(out.columns[0]?.errors[0]).toBe('the function threw RangeError: no amount');
    expect(out.columns[0]?.values[1]).toBe(0.5);
    expect(out.columns[0]?.errors[1]).toBeNull();
  });

  it('wrong output types, missing and extra fields are per-row errors that say what was expected', () => {
    const r = new OnDemandRunner(
      odfv(
        script(
          "return { default: (row) => row.amount === 1 ? { ratio: 'x' } : row.amount === 2 ? {} : row.amount === 3 ? { ratio: 1, other: 2 } : 7 };",
        ),
      ),
    );
    const e = r.run([{ amount: 1 }, { amount: 2 }, { amount: 3 }, { amount: 4 }]).columns[0]?.errors;
    expect(e?.[0]).toMatch(/'ratio' should be DOUBLE but the function returned string x/);
    expect(e?.[1]).toMatch(/returned no 'ratio'/);
    expect(e?.[2]).toMatch(/unexpected field\(s\) other/);
    expect(e?.[3]).toMatch(/must return an object \{ratio\}; it returned number/);
  });

  it('a function that never returns is stopped at its time limit', () => {
    const r = new OnDemandRunner(odfv(script('return { default: () => { for (;;) {} } };')), { timeoutMs: 50 });
    const out = r.run([{ amount: 1 }]);
    expect(out.columns[0]?.errors[0]).toBe('the function did not finish within 50 ms (stopped)');
  });

  it('an async function is refused (on-demand functions are synchronous)', () => {
    const r = new OnDemandRunner(odfv(script('return { default: async () => ({ ratio: 1 }) };')));
    expect(r.run([{}]).columns[0]?.errors[0]).toMatch(/must be synchronous/);
  });

  it('a missing export and code that does not load fail every row with the reason', () => {
    expect(new OnDemandRunner(odfv(script('return { other: () => 1 };'))).run([{}]).columns[0]?.errors[0]).toMatch(
      /no exported function "default" \(exports: other\)/,
    );
    expect(new OnDemandRunner(odfv('throw new Error("boom")')).run([{}]).columns[0]?.errors[0]).toMatch(/does not load: boom/);
  });

  it('FLOAT results are rounded to 32 bits, as the offline store keeps them', () => {
    const r = new OnDemandRunner(
      odfv(script('return { default: () => ({ ratio: 0.1 }) };'), [{ name: 'ratio', valueType: 'FLOAT' }]),
    );
    expect(r.run([{}]).columns[0]?.values[0]).toBe(Math.fround(0.1));
  });
});

const base = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] }],
  featureViews: [
    {
      name: 'stats',
      entities: ['user'],
      timestampField: 'ts',
      ttlSeconds: 0,
      online: true,
      features: [
        { name: 'amount', valueType: 'DOUBLE' as const },
        { name: 'count', valueType: 'INT64' as const },
      ],
    },
  ],
  featureServices: [{ name: 'svc', features: [{ view: 'stats', features: ['count'] }, { view: 'ratios' }] }],
};

describe('on-demand views in the spec', () => {
  it('parse from YAML-shaped documents (repo key and kind document) and validate', () => {
    const doc = parseRepoDocuments([
      {
        onDemandFeatureViews: [
          {
            name: 'ratios',
            sources: [{ view: 'stats', features: ['amount'] }],
            request: [{ name: 'price', valueType: 'DOUBLE' }],
            features: [{ name: 'ratio', valueType: 'DOUBLE' }],
            transformation: { kind: 'typescript', module: './ratio.ts' },
          },
        ],
      },
      {
        kind: 'on_demand_feature_view',
        name: 'other',
        sources: ['stats'],
        features: [{ name: 'x', valueType: 'BOOL' }],
        transformation: { kind: 'typescript', module: './x.ts' },
      },
    ]);
    expect(doc.onDemandFeatureViews?.map((v) => v.name)).toEqual(['ratios', 'other']);
    expect(() => validateRepo({ ...base, onDemandFeatureViews: doc.onDemandFeatureViews ?? [] })).not.toThrow();
  });

  it('an unknown key is refused where it is', () => {
    expect(() => parseRepoDocuments([{ onDemandFeatureViews: [{ name: 'r', sources: [], features: [], udf: 'x' }] }])).toThrow(
      /onDemandFeatureViews\[0\].*udf/,
    );
  });

  it('lists every problem: unknown view and feature, clashing inputs, list outputs, a bad transformation', () => {
    try {
      validateRepo({
        ...base,
        featureServices: [],
        onDemandFeatureViews: [
          {
            name: 'bad',
            sources: [{ view: 'nope' }, { view: 'stats', features: ['amount', 'ghost'] }],
            request: [{ name: 'amount', valueType: 'DOUBLE' }],
            features: [{ name: 'v', valueType: 'DOUBLE_LIST' }],
            transformation: { kind: 'python' } as never,
          },
        ],
      });
      expect.unreachable();
    } catch (err) {
      const p = (err as StrataError).details.problems as string[];
      expect(p).toEqual([
        expect.stringMatching(/sources\[0\]: feature view 'nope' is not defined/),
        expect.stringMatching(/sources\[1\]: view 'stats' has no feature 'ghost'/),
        expect.stringMatching(/input 'amount' comes from both view 'stats' and the request/),
        expect.stringMatching(/features\[0\]: value type "DOUBLE_LIST" is not one of/),
        expect.stringMatching(/transformation must be \{kind: typescript/),
      ]);
    }
  });
});

describe('planFeatureRefs', () => {
  const repo = {
    ...base,
    onDemandFeatureViews: [odfv('')],
  };

  it('reads the inputs of on-demand views from their views and hides those not asked for', () => {
    const plan = planFeatureRefs(repo, ['stats:count', 'ratios:ratio']);
    expect(plan.selections.map((s) => [s.view.name, s.features.map((f) => f.name)])).toEqual([['stats', ['count', 'amount']]]);
    expect(plan.onDemand.map((o) => [o.view.name, o.features.map((f) => f.name)])).toEqual([['ratios', ['ratio']]]);
    expect(plan.hidden).toEqual(['stats:amount']);
    expect(planFeatureRefs(repo, ['stats:amount', 'ratios']).hidden).toEqual([]);
  });

  it('resolves a feature service naming an on-demand view, and says which features exist', () => {
    expect(planFeatureService(repo, 'svc').onDemand).toHaveLength(1);
    expect(() => planFeatureRefs(repo, ['ratios:nope'])).toThrow(/has no feature 'nope'/);
  });
});

describe('plan', () => {
  it('an on-demand view is created, unchanged, or updated with its new code hash shown', () => {
    const a = { ...odfv('x'), transformation: { kind: 'typescript' as const, code: 'x', codeHash: 'aaaaaaaaaaaaaaaa' } };
    const b = { ...a, transformation: { ...a.transformation, code: 'y', codeHash: 'bbbbbbbbbbbbbbbb' } };
    expect(diffOnDemandView(undefined, a)).toMatchObject({ kind: 'on_demand_feature_view', action: 'create' });
    expect(diffOnDemandView(a, a).action).toBe('unchanged');
    expect(diffOnDemandView(a, b)).toMatchObject({ action: 'update', reasons: ['code aaaaaaaaaaaa -> bbbbbbbbbbbb'] });
  });
});
