// The CSV read of benchmark P5 on its own: @strata/sdk readCsvArrow of this tree against the same reader built from
// another commit, and against pandas read_csv with the same dtypes, in the same run. Rounds alternate the three (base,
// this tree, pandas), so all see the same machine; each side's figure is its best round. Before timing, the two
// readers' batches are compared buffer by buffer (exit 1 if they differ).
//
//   pnpm build --filter @strata/sdk...                      # this tree's packages/sdk/dist
//   node bench/csv/read.mjs [--base <other checkout>/packages/sdk/dist/csv-arrow.js] [--rows 1000000] [--rounds 7]
//   STRATA_GX_PYTHON=/path/to/venv/bin/python node bench/csv/read.mjs ...    # adds pandas
//
// The file is bench/validation.mjs's (same generator, seed and columns), read with the types and batch size that
// bench passes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BATCH, schema, types, writeData } from './data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROWS = Number(arg('rows', 1_000_000));
const ROUNDS = Number(arg('rounds', 7));
const basePath = arg('base');
const py = arg('python', process.env.STRATA_GX_PYTHON);
const treePath = join(root, 'packages/sdk/dist/csv-arrow.js');
for (const f of [treePath, basePath].filter(Boolean)) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: build packages/sdk there first (pnpm build --filter @strata/sdk...)`);
    process.exit(2);
  }
}
const sides = [];
if (basePath) sides.push({ name: 'base', reader: (await import(pathToFileURL(resolve(basePath)).href)).readCsvArrow });
sides.push({ name: 'tree', reader: (await import(pathToFileURL(treePath).href)).readCsvArrow });

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-csv-'));
const csvPath = join(dir, 'data.csv');
writeData(csvPath, ROWS);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`${ROWS} rows, ${ROUNDS} rounds; load at start ${load()}`);

async function readAll(reader) {
  const out = [];
  for await (const b of reader(csvPath, { types, batchSize: BATCH })) out.push(b);
  return out;
}

/** Every buffer of every column of every batch, as bytes, with lengths and null counts. */
function fingerprint(batches) {
  const parts = [];
  for (const b of batches) {
    parts.push(`rows ${b.numRows}`);
    for (const f of b.schema.fields) {
      for (const d of b.getChild(f.name).data) {
        parts.push(`${f.name} ${String(d.type)} len ${d.length} nulls ${d.nullCount}`);
        for (const buf of [d.values, d.valueOffsets, d.nullBitmap]) {
          parts.push(buf ? Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('base64') : '-');
        }
      }
    }
  }
  return parts.join('\n');
}

if (sides.length === 2) {
  const [a, b] = await Promise.all(sides.map(async (s) => fingerprint(await readAll(s.reader))));
  if (a !== b) {
    console.error('the base and this tree give different batches');
    process.exit(1);
  }
  console.log('base and tree batches: identical buffers, lengths and null counts');
}

// pandas in one process for the whole run: each line on its stdin is one timed read_csv, answered with the seconds
let pandas;
if (py) {
  const dtypes = Object.fromEntries(Object.entries(schema).map(([c, t]) => [c, t]));
  const script = `
import sys, time, json
import pandas as pd
dtypes = json.loads(sys.argv[2])
print("ready", flush=True)
for _ in sys.stdin:
    t0 = time.perf_counter()
    df = pd.read_csv(sys.argv[1], dtype=dtypes)
    dt = time.perf_counter() - t0
    print(dt, len(df), flush=True)
    del df
`;
  const child = spawn(py, ['-c', script, csvPath, JSON.stringify(dtypes)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('pandas exited');
    return r.value;
  };
  await next(); // ready
  pandas = {
    child,
    async run() {
      child.stdin.write('go\n');
      const [s, n] = (await next()).split(' ');
      if (Number(n) !== ROWS) throw new Error(`pandas read ${n} rows`);
      return Number(s) * 1000;
    },
  };
  sides.push({ name: 'pandas' });
}

const best = Object.fromEntries(sides.map((s) => [s.name, Number.POSITIVE_INFINITY]));
for (let round = 0; round < ROUNDS; round++) {
  const row = [];
  for (const s of sides) {
    let ms;
    if (s.name === 'pandas') ms = await pandas.run();
    else {
      const t0 = performance.now();
      const batches = await readAll(s.reader);
      ms = performance.now() - t0;
      if (batches.reduce((n, b) => n + b.numRows, 0) !== ROWS) throw new Error(`${s.name} read a wrong row count`);
    }
    best[s.name] = Math.min(best[s.name], ms);
    row.push(`${s.name} ${ms.toFixed(0)} ms`);
  }
  console.log(`round ${round + 1}: ${row.join(', ')}; load ${load()}`);
}
pandas?.child.stdin.end();
console.log(`best of ${ROUNDS}: ${sides.map((s) => `${s.name} ${best[s.name].toFixed(0)} ms`).join(', ')}`);
if (best.pandas !== undefined) {
  for (const s of sides) if (s.name !== 'pandas') console.log(`pandas / ${s.name}: ${(best.pandas / best[s.name]).toFixed(2)}x`);
}
if (best.base !== undefined) console.log(`base / tree: ${(best.base / best.tree).toFixed(2)}x`);
console.log(`load at end ${load()}`);
rmSync(dir, { recursive: true, force: true });
