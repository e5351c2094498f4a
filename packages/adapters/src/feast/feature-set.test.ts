import { describe, expect, it } from 'vitest';
import { parseFeatureSet } from './feature-set.js';

// The talk's example: a FeatureSet whose event-time column `dt` is listed among the features.
const yamlDoc = `
kind: feature_set
spec:
  name: all_users_agg_m
  entities:
    - name: user_id
      valueType: INT64
  features:
    - name: dt
      valueType: TIMESTAMP
    - name: orders_cnt
      valueType: INT64
    - name: avg_check
      valueType: DOUBLE
  maxAge: 3600s
`;

describe('parseFeatureSet', () => {
  it('reads the talk FeatureSet through core', () => {
    const { repo, report } = parseFeatureSet(yamlDoc);
    expect(repo.entities).toEqual([{ name: 'user_id', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }]);
    expect(repo.featureViews[0]).toMatchObject({ name: 'all_users_agg_m', timestampField: 'dt', ttlSeconds: 3600 });
    expect(repo.featureViews[0]?.features.map((f) => f.name)).toEqual(['orders_cnt', 'avg_check']);
    expect(report.created).toEqual(['entity user_id', 'feature view all_users_agg_m']);
  });
  it('rejects other documents', () => {
    expect(() => parseFeatureSet({ kind: 'entity', name: 'x' })).toThrow(/not a Feast 0.x FeatureSet/);
  });
});
