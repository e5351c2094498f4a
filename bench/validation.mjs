// P5: 1M rows x 10 expectations, Strata (@strata/validation, one streaming pass over Arrow batches) vs Great
// Expectations (pandas engine) on the same CSV and suite, in the same run. Prints the ratio.
//
//   npx tsc -p packages/validation/tsconfig.build.json        # Node runs dist/
//   STRATA_GX_PYTHON=/path/to/venv/bin/python node bench/validation.mjs [rows]
//
// Without STRATA_GX_PYTHON only Strata is measured.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages/validation');
const dist = join(pkgDir, 'dist/index.js');
if (!existsSync(dist)) {
  console.error('packages/validation/dist is missing: run `npx tsc -p packages/validation/tsconfig.build.json` first');
  process.exit(2);
}
const V = await import(pathToFileURL(dist).href);
// the same apache-arrow module instance the package uses
const arrowDir = realpathSync(join(pkgDir, 'node_modules/apache-arrow'));
const arrowPkg = JSON.parse(readFileSync(join(arrowDir, 'package.json'), 'utf8'));
const arrow = await import(pathToFileURL(join(arrowDir, arrowPkg.exports['.'].node.import.default)).href);

const ROWS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 65_536;

// deterministic data
let seed = 42;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const countries = ['US', 'DE', 'FR', 'RU', 'BR', 'US', 'US'];
const header = ['id', 'age', 'score', 'country', 'email', 'signup', 'a', 'b'];
const schema = {
  id: 'int64',
  age: 'float64',
  score: 'float64',
  country: 'str',
  email: 'str',
  signup: 'str',
  a: 'float64',
  b: 'float64',
};
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-validation-'));
const csvPath = join(dir, 'data.csv');
{
  const lines = [header.join(',')];
  for (let i = 0; i < ROWS; i++) {
    const age = i % 23 === 0 ? '' : String(Math.floor(rnd() * 100));
    const score =
      i % 31 === 0 ? '' : (50 + 10 * Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd())).toFixed(3);
    const country = i % 19 === 0 ? '' : countries[Math.floor(rnd() * countries.length)];
    const email = i % 41 ? `user${i}@example.com` : `user${i}example.com`;
    const signup =
      i % 67 ? `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}` : '2024-02-30';
    lines.push([i + 1, age, score, country, email, signup, Math.floor(rnd() * 100), Math.floor(rnd() * 90)].join(','));
  }
  writeFileSync(csvPath, `${lines.join('\n')}\n`);
}
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

// CSV -> Arrow record batches (the ingest's staging input)
function loadBatches() {
  const text = readFileSync(csvPath, 'utf8');
  const lines = text.split('\n');
  const batches = [];
  for (let start = 1; start < lines.length - 1; start += BATCH) {
    const end = Math.min(start + BATCH, lines.length - 1);
    const cols = header.map(() => []);
    for (let l = start; l < end; l++) {
      const cells = lines[l].split(',');
      for (let c = 0; c < header.length; c++) cols[c].push(cells[c] === '' ? null : cells[c]);
    }
    const vecs = {};
    header.forEach((h, c) => {
      const t = schema[h];
      if (t === 'int64')
        vecs[h] = arrow.vectorFromArray(
          cols[c].map((v) => (v === null ? null : BigInt(v))),
          new arrow.Int64(),
        );
      else if (t === 'float64')
        vecs[h] = arrow.vectorFromArray(
          cols[c].map((v) => (v === null ? null : Number(v))),
          new arrow.Float64(),
        );
      else vecs[h] = arrow.vectorFromArray(cols[c], new arrow.Utf8());
    });
    batches.push(...new arrow.Table(vecs).batches);
  }
  return batches;
}

const best = (n, f) => {
  let min = Number.POSITIVE_INFINITY;
  let out;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    out = f();
    min = Math.min(min, performance.now() - t0);
  }
  return { ms: min, out };
};

const load = best(3, loadBatches);
const batches = load.out;
const suite = V.parseSuite(suiteJson);
const validate = best(3, () => {
  const v = new V.SuiteValidator(suite);
  for (const b of batches) v.update(b);
  return v.finish();
});
const profileOnly = best(3, () => {
  const p = new V.Profiler();
  for (const b of batches) p.update(b);
  return p.finish();
});
const both = { ms: Number.POSITIVE_INFINITY };
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await V.validateAndProfile(batches, suite);
  both.ms = Math.min(both.ms, performance.now() - t0);
}

const fmt = (ms) => `${(ms / 1000).toFixed(3)} s`;
console.log(
  `P5 validation: ${ROWS} rows x ${suiteJson.expectations.length} expectations, batches of ${BATCH}, node ${process.version}`,
);
console.log(`  CSV -> Arrow (ingest staging)     ${fmt(load.ms)}`);
console.log(`  Strata validate                   ${fmt(validate.ms)}  (success=${validate.out.success}, best of 3)`);
console.log(`  Strata profile (all columns)      ${fmt(profileOnly.ms)}`);
console.log(`  Strata validate + profile, 1 pass ${fmt(both.ms)}  = ${(both.ms / load.ms).toFixed(2)}x the CSV->Arrow load`);

const py = process.env.STRATA_GX_PYTHON;
if (py) {
  const script = join(root, 'compat/great-expectations/ge_run.py');
  const out = execFileSync(py, [script, '--bench', '--data', csvPath, '--suite', suitePath, '--schema', schemaPath], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ge = JSON.parse(out.trim().split('\n').pop());
  const geMs = ge.validate_seconds * 1000;
  console.log(
    `  GE ${ge.great_expectations} (pandas ${ge.pandas}) validate   ${fmt(geMs)}  (success=${ge.success}); pandas read_csv ${fmt(ge.load_seconds * 1000)}`,
  );
  console.log(`  ratio GE / Strata validate: ${(geMs / validate.ms).toFixed(1)}x (goal >= 10x)`);
  console.log(`  ratio GE / Strata validate+profile: ${(geMs / both.ms).toFixed(1)}x`);
  if (ge.success !== validate.out.success) console.log('  WARNING: verdicts differ between GE and Strata');
} else {
  console.log('  GE: skipped (set STRATA_GX_PYTHON to a Python with great_expectations and pandas)');
}
rmSync(dir, { recursive: true, force: true });
