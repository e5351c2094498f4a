// Seeds a wide feature view with many commits for the console's benchmarks and end-to-end tests: an entity, a view
// of N DOUBLE features (online, with an expectation suite, owner and tags) and C commits, each a real ingest through
// the SDK (staged by COPY, validated and profiled by the ingest workflow, so every commit has its statistics, drift
// against the previous one and a validation report), a few of them materialized. Needs a worker on the Strata's
// task queue. The values drift slowly from commit to commit, so trend charts and drift have something to show.
//
//   import { seedConsoleView } from './seed.mjs';
//   const { view, ingestionIds, commitIds } = await seedConsoleView(strata, { commits: 200, features: 100 });
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param {import('@strata/sdk').Strata} strata a local-mode Strata (a worker must serve its task queue)
 * @param {{ view?: string, entity?: string, commits?: number, features?: number, rowsPerCommit?: number,
 *   entities?: number, concurrency?: number, materializeEvery?: number, onProgress?: (done: number) => void }} [o]
 */
export async function seedConsoleView(strata, o = {}) {
  const view = o.view ?? 'wide_view';
  const entity = o.entity ?? 'bench_user';
  const commits = o.commits ?? 200;
  const nf = o.features ?? 100;
  const rows = o.rowsPerCommit ?? 100;
  const nEntities = o.entities ?? 1000;
  const concurrency = o.concurrency ?? 4;
  const materializeEvery = o.materializeEvery ?? 50;
  const names = Array.from({ length: nf }, (_, i) => `f${String(i).padStart(3, '0')}`);
  await strata.apply({
    entities: [{ name: entity, joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
    featureViews: [
      {
        name: view,
        entities: [entity],
        timestampField: 'event_timestamp',
        ttlSeconds: 0,
        online: true,
        owner: 'bench@example.com',
        tags: { team: 'bench' },
        description: `${nf} features, ${commits} commits (bench/console/seed.mjs)`,
        features: names.map((name) => ({ name, valueType: 'DOUBLE' })),
        expectationSuite: {
          name: `${view}_suite`,
          expectations: [
            { type: 'expect_column_values_to_not_be_null', kwargs: { column: names[0] } },
            { type: 'expect_column_values_to_be_between', kwargs: { column: names[0], min_value: -1e6, max_value: 1e6 } },
          ],
        },
      },
    ],
    featureServices: [],
  });
  const dir = mkdtempSync(join(tmpdir(), 'strata-console-seed-'));
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  const header = ['user_id', 'event_timestamp', ...names].join(',');
  const file = (c) => {
    const lines = [header];
    for (let r = 0; r < rows; r++) {
      const user = (c * rows + r) % nEntities;
      const ts = new Date(t0 + c * 3_600_000 + r * 1000).toISOString();
      // Feature j of commit c: a level that creeps up with c, plus a deterministic spread.
      const vals = names.map((_, j) => ((j + 1) * (1 + c / commits) + ((r * 7919 + j * 104729) % 1000) / 100).toFixed(3));
      lines.push(`${user},${ts},${vals.join(',')}`);
    }
    const p = join(dir, `commit-${c}.csv`);
    writeFileSync(p, `${lines.join('\n')}\n`);
    return p;
  };
  const results = new Array(commits);
  let next = 0;
  let done = 0;
  // Commits in order, a few in flight at a time; every `materializeEvery` the commits so far go online.
  for (let from = 0; from < commits; from += materializeEvery) {
    const to = Math.min(commits, from + materializeEvery);
    next = from;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < to) {
          const c = next++;
          const run = await strata.ingest(view, file(c), { createdBy: 'bench-seed', ingestionId: `${view}-${c}` });
          const r = await run.result();
          results[c] = { ingestionId: run.ingestionId, commitSeq: r.commitSeq };
          o.onProgress?.(++done);
        }
      }),
    );
    await (await strata.materialize(view)).result();
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    view,
    features: names,
    ingestionIds: results.map((r) => r.ingestionId),
    commitIds: results.map((r) => r.commitSeq),
  };
}
