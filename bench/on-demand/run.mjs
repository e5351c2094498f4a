/**
 * What the on-demand runner costs over calling the function directly: OnDemandRunner.run (the function in its own
 * vm context under a time limit, outputs type-checked) against the same function called in a plain loop in this
 * realm (the anchor), on the same rows, at serving-sized and training-sized batches. Prints ratios.
 *
 *   node bench/on-demand/run.mjs [--seconds 2]
 */
import { OnDemandRunner } from '@strata/core';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 2) || 2;
const body = 'ratio: row.feature_1 === null ? null : row.feature_1 / (row.feature_2 + 1), high: row.basket_value > 50';
const code = `var __strataOnDemand = { f: (row) => ({ ${body} }) };`;
const direct = new Function('row', `return { ${body} };`);
const spec = {
  name: 'bench',
  sources: [],
  request: [],
  features: [
    { name: 'ratio', valueType: 'DOUBLE' },
    { name: 'high', valueType: 'BOOL' },
  ],
  transformation: { kind: 'typescript', code, export: 'f', timeoutMs: 10_000 },
};
const runner = new OnDemandRunner(spec);

function rate(fn) {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    fn();
    n++;
  }
  return n / seconds;
}

console.log('batch  runner calls/s  direct calls/s  runner/direct time');
for (const batch of [1, 100, 10_000]) {
  const rows = Array.from({ length: batch }, (_v, i) => ({
    feature_1: i % 7 ? i : null,
    feature_2: i / 3,
    basket_value: i % 100,
  }));
  let sink = 0;
  const anchor = rate(() => {
    for (const r of rows) sink += direct(r).high ? 1 : 0;
  });
  const measured = rate(() => {
    sink += runner.run(rows).columns[1].values.length;
  });
  if (sink < 0) console.log(sink);
  console.log(
    `${String(batch).padStart(5)}  ${measured.toFixed(0).padStart(13)}  ${anchor.toFixed(0).padStart(14)}  ${(anchor / measured).toFixed(1).padStart(18)}`,
  );
}
