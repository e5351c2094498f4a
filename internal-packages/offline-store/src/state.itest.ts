/**
 * Materialization state through the OfflineStore interface, on every binding: a view's watermark only moves
 * forward, and the views with a watermark above 0 are listed (serving's "online store lost this view" check reads
 * them). Each binding gets its own project, since the Postgres bindings share one store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, openConformance } from './conformance.itest-helpers.js';

describe('materialization state on every binding', () => {
  let conf: Conformance;
  beforeAll(async () => {
    conf = await openConformance();
  });
  afterAll(async () => {
    await conf?.close();
  });

  it('moves a watermark forward only and lists the views materialized so far', async () => {
    for (const [i, b] of conf.bindings.entries()) {
      const project = `p${i}`;
      expect(await b.store.getWatermark(project, 'v')).toBe(0);
      await b.store.setWatermark(project, 'v', 0);
      await b.store.setWatermark(project, 'w', 5);
      await b.store.setWatermark(project, 'w', 3);
      expect(await b.store.getWatermark(project, 'w')).toBe(5);
      await b.store.setWatermark(project, 'w', 7);
      expect(await b.store.getWatermark(project, 'w')).toBe(7);
      const mine = (await b.store.materializedViews()).filter((x) => x.project === project);
      expect(mine, b.name).toEqual([{ project, view: 'w' }]);
    }
  });
});
