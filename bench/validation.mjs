// P5: 1M rows x 10 expectations, Strata (@strata/validation, one streaming pass over Arrow batches) vs Great
// Expectations (pandas engine) on the same CSV and suite, in the same run. Prints the ratios, and fails (exit 1) unless
// Strata's and GE's verdicts (success and unexpected_count of every expectation) are the same.
//
//   npx tsc -p packages/validation/tsconfig.build.json && npx tsc -p packages/sdk/tsconfig.build.json   # Node runs dist/
//   STRATA_GX_PYTHON=/path/to/venv/bin/python node bench/validation.mjs [rows]    # P5_ROUNDS=2 rounds of each side
//
// The CSV is read into Arrow by the product's reader (@strata/sdk readCsvArrow, what `strata validate` and readTable
// use), typed by the same schema pandas gets. Without STRATA_GX_PYTHON only Strata is measured. The profiling worker
// thread is kept from one call to the next (as in a long-running worker process), so after the first round it is warm.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BATCH, schema, types, writeData } from './csv/data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages/validation');
const dist = join(pkgDir, 'dist/index.js');
const csvDist = join(root, 'packages/sdk/dist/csv-arrow.js');
for (const [f, pkg] of [
  [dist, 'validation'],
  [csvDist, 'sdk'],
]) {
  if (!existsSync(f)) {
    console.error(`packages/${pkg}/dist is missing: run \`npx tsc -p packages/${pkg}/tsconfig.build.json\` first`);
    process.exit(2);
  }
}
const V = await import(pathToFileURL(dist).href);
const { readCsvArrow } = await import(pathToFileURL(csvDist).href);

const ROWS = Number(process.argv[2] ?? 1_000_000);

// the data: bench/csv/data.mjs writes it (the CSV read benchmark reads the same file)
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-validation-'));
const csvPath = join(dir, 'data.csv');
writeData(csvPath, ROWS);
const suiteJson = {
  name: 'p5',
  expectations: [
    { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'age', mostly: 0.9 } },
    { type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 0, max_value: 99 } },
    { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'country', value_set: ['US', 'DE', 'FR', 'RU', 'BR'] } },
    { type: 'expect_column_values_to_match_regex', kwargs: { column: 'email', regex: '^[^@]+@[^@]+\\.[a-z]+$', mostly: 0.95 } },
    { type: 'expect_column_values_to_be_unique', kwargs: { column: 'id' } },
    { type: 'expect_column_mean_to_be_between', kwargs: { column: 'score', min_value: 45, max_value: 55 } },
    { type: 'expect_column_median_to_be_between', kwargs: { column: 'age', min_value: 40, max_value: 60 } },
    {
      type: 'expect_column_values_to_match_strftime_format',
      kwargs: { column: 'signup', strftime_format: '%Y-%m-%d', mostly: 0.95 },
    },
    {
      type: 'expect_column_pair_values_a_to_be_greater_than_b',
      kwargs: { column_A: 'a', column_B: 'b', or_equal: true, mostly: 0.5 },
    },
    {
      type: 'expect_column_value_z_scores_to_be_less_than',
      kwargs: { column: 'score', threshold: 3, double_sided: true, mostly: 0.99 },
    },
  ],
};
const suitePath = join(dir, 'suite.json');
const schemaPath = join(dir, 'schema.json');
writeFileSync(suitePath, JSON.stringify(suiteJson));
writeFileSync(schemaPath, JSON.stringify(schema));

// CSV -> Arrow record batches with the product's reader, typed as pandas is told to type them (`types`)
async function loadBatches() {
  const out = [];
  for await (const b of readCsvArrow(csvPath, { types, batchSize: BATCH })) out.push(b);
  return out;
}

// Rounds alternate Strata and GE (ROUNDS of each; best of each side), so both see the same machine.
const ROUNDS = Number(process.env.P5_ROUNDS ?? 2);
const py = process.env.STRATA_GX_PYTHON;
const suite = V.parseSuite(suiteJson);
const load = { ms: Number.POSITIVE_INFINITY };
const validate = { ms: Number.POSITIVE_INFINITY };
const profileOnly = { ms: Number.POSITIVE_INFINITY };
// validate + profile in one pass: the profile on this thread, or on a worker thread (the suite stays here)
const both = { ms: Number.POSITIVE_INFINITY };
const bothWorker = { ms: Number.POSITIVE_INFINITY };
const workerScript = new URL('profile-worker.js', pathToFileURL(dist));
let ge;
const timed = async (slot, f) => {
  const t0 = performance.now();
  slot.out = await f();
  slot.ms = Math.min(slot.ms, performance.now() - t0);
};
for (let round = 0; round < ROUNDS; round++) {
  await timed(load, loadBatches);
  const batches = load.out;
  await timed(validate, () => {
    const v = new V.SuiteValidator(suite);
    for (const b of batches) v.update(b);
    return v.finish();
  });
  await timed(profileOnly, () => {
    const p = new V.Profiler();
    for (const b of batches) p.update(b);
    return p.finish();
  });
  await timed(both, () => V.validateAndProfile(batches, suite, { profileWorker: false }));
  await timed(bothWorker, () => V.validateAndProfile(batches, suite, { profileWorker: workerScript }));
  load.out = undefined;
  if (py) {
    const script = join(root, 'compat/great-expectations/ge_run.py');
    const out = execFileSync(py, [script, '--bench', '--data', csvPath, '--suite', suitePath, '--schema', schemaPath], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const g = JSON.parse(out.trim().split('\n').pop());
    if (!ge) ge = g;
    else {
      ge.validate_seconds = Math.min(ge.validate_seconds, g.validate_seconds);
      ge.load_seconds = Math.min(ge.load_seconds, g.load_seconds);
    }
  }
}

const fmt = (ms) => `${(ms / 1000).toFixed(3)} s`;
console.log(
  `P5 validation: ${ROWS} rows x ${suiteJson.expectations.length} expectations, batches of ${BATCH}, node ${process.version}`,
);
console.log(`  CSV -> Arrow (readCsvArrow, typed)  ${fmt(load.ms)}  (best of ${ROUNDS} rounds)`);
console.log(`  Strata validate                     ${fmt(validate.ms)}  (success=${validate.out.success}, best of ${ROUNDS})`);
console.log(`  Strata profile (all columns)        ${fmt(profileOnly.ms)}`);
console.log(`  Strata validate + profile, 1 pass   ${fmt(both.ms)}  (profile on this thread)`);
console.log(`  Strata validate + profile, 1 pass   ${fmt(bothWorker.ms)}  (profile on a worker thread: the default)`);

const verdicts = (r) =>
  r.results.map((x) => ({
    type: x.expectation_config.type,
    success: x.success,
    unexpected_count: x.result.unexpected_count ?? null,
  }));
let failed = false;
const same = (a, b, label) => {
  const ja = JSON.stringify(a);
  const jb = JSON.stringify(b);
  if (ja !== jb) {
    console.error(`  VERDICTS DIFFER (${label}):\n    ${ja}\n    ${jb}`);
    failed = true;
  }
};
same(verdicts(validate.out), verdicts(both.out.result), 'SuiteValidator vs validateAndProfile');
same(verdicts(validate.out), verdicts(bothWorker.out.result), 'SuiteValidator vs validateAndProfile (worker)');
// the profile does not depend on where it is made
same(both.out.profile, bothWorker.out.profile, 'profile on this thread vs on a worker');

if (ge) {
  const geMs = ge.validate_seconds * 1000;
  const pdMs = ge.load_seconds * 1000;
  console.log(
    `  GE ${ge.great_expectations} (pandas ${ge.pandas}) validate     ${fmt(geMs)}  (success=${ge.success}, best of ${2 * ROUNDS})`,
  );
  console.log(`  pandas read_csv (typed)             ${fmt(pdMs)}  (best of ${3 * ROUNDS})`);
  console.log(`  ratio GE validate / Strata validate:            ${(geMs / validate.ms).toFixed(1)}x`);
  console.log(
    `  ratio GE validate / Strata validate+profile:    ${(geMs / bothWorker.ms).toFixed(1)}x (goal >= 10x; the default, profile on a worker)`,
  );
  console.log(`  ratio GE validate / Strata validate+profile, all on one thread: ${(geMs / both.ms).toFixed(1)}x`);
  console.log(`  ratio pandas read_csv / Strata CSV -> Arrow:    ${(pdMs / load.ms).toFixed(2)}x (goal >= 1x)`);
  same(
    ge.results.map((x) => ({ type: x.type, success: x.success, unexpected_count: x.unexpected_count ?? null })),
    verdicts(both.out.result),
    'Great Expectations vs Strata',
  );
  if (!failed) console.log(`  verdicts: the same for all ${ge.results.length} expectations (success and unexpected_count)`);
} else {
  console.log('  GE: skipped (set STRATA_GX_PYTHON to a Python with great_expectations and pandas)');
}
rmSync(dir, { recursive: true, force: true });
if (failed) process.exit(1);
