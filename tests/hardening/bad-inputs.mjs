// The bad-input table of docs/hardening.md (data and SQL rows): hostile inputs through the built `strata` CLI of a
// checkout, against the running stack, each classified as
//   clear   - a StrataError (code, message, where, fix) on stderr in --json, exit code of its kind, nothing written
//   accept  - accepted, and rightly so (the expected value came out)
//   unclear - refused with an error, but it lacks where or how to fix (or the line and column of a bad value)
//   wrong   - a good input refused
//   silent  - accepted although it is bad, or a wrong answer given without an error
//   crash   - a stack trace, an INTERNAL error, or no answer within the time limit
//   partial - something was written or damaged (a dropped table, a leftover staging table or ingestion)
// Usage (after `pnpm build`; env from `bash infra/stack.sh env`):
//   node tests/hardening/bad-inputs.mjs [--root <checkout>] [--timeout 30] [--json out.json] [--only sql,files,...]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ROOT = resolve(arg('root', join(dirname(fileURLToPath(import.meta.url)), '..', '..')));
const TIMEOUT = Number(arg('timeout', '30')) * 1000;
const CLI = join(ROOT, 'apps', 'cli', 'dist', 'main.js');
const WORKER = join(ROOT, 'apps', 'worker', 'dist', 'main.js');
const PG = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const stamp = Date.now().toString(36);
const SCHEMA = `hardening_${stamp}`;
const dir = mkdtempSync(join(tmpdir(), 'strata-hardening-'));
const env = {
  ...process.env,
  STRATA_CONFIG: '',
  STRATA_PROJECT: `hard_${stamp}`,
  STRATA_POSTGRES_SCHEMA: SCHEMA,
  STRATA_TASK_QUEUE: `hard-${stamp}`,
};
const file = (name, text) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

let last;
function sh(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = execFile(
      cmd,
      args,
      { env, cwd: dir, timeout: opts.timeout ?? TIMEOUT, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        const r = {
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          killed: Boolean(err?.killed),
          stdout,
          stderr,
        };
        if (!opts.quiet) last = r;
        res(r);
      },
    );
    if (opts.input !== undefined) child.stdin.end(opts.input);
  });
}
const strata = (...args) => sh(process.execPath, [CLI, '--json', ...args]);
const psql = async (sql) => (await sh('psql', ['-X', '-qtA', PG, '-c', sql], { timeout: 60_000, quiet: true })).stdout.trim();

const viewTable = async () => `"${await psql(`SELECT table_name FROM "${SCHEMA}".view_versions WHERE name = 'v' LIMIT 1`)}"`;
const STACK = /\n\s+at .+:\d+:\d+/;
function errorOf(r) {
  try {
    return JSON.parse(r.stderr).error;
  } catch {
    return undefined;
  }
}

async function leftovers() {
  const stg = Number(await psql(`SELECT count(*) FROM pg_tables WHERE schemaname = '${SCHEMA}' AND tablename LIKE 'stg_%'`));
  const pending = Number(await psql(`SELECT count(*) FROM "${SCHEMA}".ingestions WHERE status IN ('staging', 'staged')`));
  return stg + pending;
}

/** Classifies a run: `expect` is 'error' (a clear refusal is right) or a function telling a right acceptance. */
async function classify(r, expect, { damaged = async () => false, where } = {}) {
  const e = errorOf(r);
  if (r.killed || STACK.test(r.stderr) || e?.code === 'INTERNAL' || (r.code !== 0 && !e)) return 'crash';
  if ((await damaged()) || (await leftovers()) > 0) return 'partial';
  if (r.code === 0) return expect === 'error' ? 'silent' : (await expect(r)) ? 'accept' : 'silent';
  if (expect !== 'error') return 'wrong'; // refused a good input
  const clear = e.code && e.message && e.where && e.hint !== undefined && (!where || where.test(e.where));
  return clear ? 'clear' : 'unclear';
}

const results = [];
const ONLY = arg('only');
async function run(group, name, fn) {
  if (ONLY && !ONLY.split(',').includes(group)) return;
  let verdict;
  try {
    verdict = await fn();
  } catch (err) {
    verdict = 'crash';
    process.stderr.write(`[hardening] ${name}: ${err}\n`);
  }
  // Clean up what a case left so the next one is judged on its own.
  await psql(`DELETE FROM "${SCHEMA}".ingestions WHERE status IN ('staging', 'staged')`).catch(() => {});
  for (const t of (await psql(`SELECT tablename FROM pg_tables WHERE schemaname = '${SCHEMA}' AND tablename LIKE 'stg_%'`))
    .split('\n')
    .filter(Boolean))
    await psql(`DROP TABLE "${SCHEMA}"."${t}"`);
  const e = last && errorOf(last);
  const detail = last?.killed
    ? 'no answer within the time limit'
    : e
      ? `${e.code}: ${e.message} @ ${e.where ?? '-'}`
      : last?.stderr?.slice(0, 200);
  results.push({ group, name, verdict, exit: last?.code, detail });
  process.stderr.write(`[hardening] ${group.padEnd(10)} ${verdict.padEnd(8)} ${name}\n`);
}

const worker = spawn(process.execPath, [WORKER], { env, stdio: 'ignore' });
try {
  const spec = file(
    'spec.yaml',
    `entities:
  - name: user
    joinKeys: [{ name: user_id, valueType: INT64 }]
featureViews:
  - name: v
    entities: [user]
    timestampField: ts
    online: true
    features: [{ name: i, valueType: INT64 }, { name: x, valueType: DOUBLE }, { name: b, valueType: BOOL }, { name: at, valueType: UNIX_TIMESTAMP }, { name: s, valueType: STRING }]
`,
  );
  const applied = await strata('apply', spec);
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  await psql(`CREATE TABLE "${SCHEMA}".victim (user_id bigint, event_timestamp timestamptz)`);
  await psql(`INSERT INTO "${SCHEMA}".victim VALUES (1, '2024-01-01Z'), (2, '2024-01-02Z')`);
  await psql(`CREATE SEQUENCE "${SCHEMA}".seq`);
  await psql(
    `CREATE FUNCTION "${SCHEMA}".evil() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM "${SCHEMA}".victim; RETURN 1; END $$`,
  );
  const victim = async () => {
    const n = await psql(`SELECT count(*) FROM "${SCHEMA}".victim`).catch(() => 'gone');
    const seq = await psql(`SELECT is_called FROM "${SCHEMA}".seq`);
    return n !== '2' || seq !== 'f';
  };
  const V = `"${SCHEMA}".victim`;

  // --- 1. entity SQL ---------------------------------------------------------------------------------------------
  const sqlCases = [
    ['COMMIT; DROP TABLE (the issue)', `select 1 as user_id, now() as event_timestamp; COMMIT; DROP TABLE ${V}; select 1`],
    ['DELETE', `DELETE FROM ${V}`],
    ['DELETE RETURNING', `DELETE FROM ${V} RETURNING user_id, event_timestamp`],
    ['SET TRANSACTION READ WRITE', 'SET TRANSACTION READ WRITE'],
    ['data-modifying CTE', `WITH d AS (DELETE FROM ${V} RETURNING *) SELECT * FROM d`],
    ['function that writes', `SELECT "${SCHEMA}".evil() AS user_id, now() AS event_timestamp`],
    ['nextval', `SELECT nextval('"${SCHEMA}".seq') AS user_id, now() AS event_timestamp`],
    ['COPY TO PROGRAM', `COPY (SELECT 1) TO PROGRAM 'true'`],
    ['SELECT FOR UPDATE', `SELECT * FROM ${V} FOR UPDATE`],
    ['TRUNCATE', `TRUNCATE ${V}`],
    ['two statements, second DELETE', `SELECT 1; DELETE FROM ${V}`],
    ['ROLLBACK; DELETE', `ROLLBACK; DELETE FROM ${V}; SELECT 1`],
  ];
  for (const [name, sql] of sqlCases) {
    await run('sql', name, async () => {
      const r = await strata('get-historical', '-f', 'v:x', '--entity-sql', sql);
      return classify(r, 'error', { damaged: victim });
    });
    if (await victim()) {
      await psql(`DROP TABLE IF EXISTS ${V}`);
      await psql(`CREATE TABLE ${V} (user_id bigint, event_timestamp timestamptz)`);
      await psql(`INSERT INTO ${V} VALUES (1, '2024-01-01Z'), (2, '2024-01-02Z')`);
      await psql(`SELECT setval('"${SCHEMA}".seq', 1, false)`);
    }
  }
  await run('sql', 'pg_sleep beyond the timeout', async () => {
    const r = await sh(process.execPath, [
      CLI,
      '--json',
      'get-historical',
      '-f',
      'v:x',
      '--entity-sql',
      'SELECT pg_sleep(20)',
      '--entity-sql-timeout',
      '500',
    ]);
    // Without a timeout option the CLI refuses the unknown option (clear) but the query itself is unbounded.
    const e = errorOf(r);
    if (/unknown option/.test(e?.message ?? r.stderr)) return 'silent';
    return classify(r, 'error');
  });

  // --- 2. CSV values: the same value in a small file and after the fast path's sample ---------------------------
  const HEADER = 'user_id,ts,i,x,b,at,s';
  const good = (k) => `${k % 1000},2024-01-02T03:04:05Z,${k % 100},${k / 8},t,2024-01-02,row${k}`;
  const filler = Array.from({ length: 20_000 }, (_v, k) => good(k)).join('\n');
  const valueCases = [
    ['ts', 'now'],
    ['ts', 'today'],
    ['ts', 'infinity'],
    ['ts', '-infinity'],
    ['ts', 'epoch'],
    ['ts', '01/02/2024'],
    ['ts', '2024-02-30'],
    ['at', 'tomorrow'],
    ['at', 'allballs'],
    ['b', 'on'],
    ['b', 'off'],
    ['i', '1e3'],
    ['i', '0x1F'],
    ['i', '1_000'],
    ['i', '12.5'],
    ['x', '1,5'],
    ['i', ' 12 ', '12'],
    ['b', 'yes', 'true'],
  ];
  let seq = 0;
  for (const big of [false, true]) {
    for (const [col, value, want] of valueCases) {
      const cells = {
        user_id: '7',
        ts: '2024-01-02T03:04:05Z',
        i: '1',
        x: '1.5',
        b: 't',
        at: '2024-01-02',
        s: 'a',
        [col]: value,
      };
      const line = Object.values(cells)
        .map((v) => (v.includes(',') ? `"${v}"` : v))
        .join(',');
      const text = `${HEADER}\n${big ? `${filler}\n` : ''}${line}\n`;
      const lineNo = big ? 20_002 : 2;
      await run(
        big ? 'csv-late' : 'csv-small',
        `${col} = ${JSON.stringify(value)}${big ? ' after 20,000 rows' : ''}`,
        async () => {
          const r = await strata('ingest', 'v', file(`c${++seq}.csv`, text));
          const expect = want
            ? async () => {
                const row = await psql(
                  `SELECT ${col}::text FROM "${SCHEMA}".${await viewTable()} WHERE user_id = 7 ORDER BY "__commit_seq" DESC LIMIT 1`,
                ).catch(() => '');
                return row === want || (col === 'b' && row === 'true');
              }
            : 'error';
          return classify(r, expect, { where: new RegExp(`line ${lineNo}\\b.*${col}`) });
        },
      );
    }
  }

  // --- 7. duplicates ----------------------------------------------------------------------------------------------
  await run('duplicates', 'header user_id twice', async () =>
    classify(await strata('ingest', 'v', file('d1.csv', `user_id,ts,i,x,b,at,s,user_id\n1,2024-01-01,1,1,t,,a,2\n`)), 'error'),
  );
  await run('duplicates', 'header x twice', async () =>
    classify(await strata('ingest', 'v', file('d2.csv', `user_id,ts,i,x,b,at,s,x\n1,2024-01-01,1,1,t,,a,2\n`)), 'error'),
  );
  await run('duplicates', 'header twice in a TSV', async () =>
    classify(
      await strata('ingest', 'v', file('d3.tsv', `user_id\tts\ti\tx\tb\tat\ts\ts\n1\t2024-01-01\t1\t1\tt\t\ta\tb\n`)),
      'error',
    ),
  );
  await run('duplicates', 'exact duplicate rows: last wins, counted', async () => {
    const r = await strata('ingest', 'v', file('d4.csv', `${HEADER}\n555,2024-01-01,1,1,t,,first\n555,2024-01-01,2,2,t,,last\n`));
    return classify(r, async () => {
      const list = JSON.parse((await strata('ingestions', 'v')).stdout);
      const ing = list.find((i) => i.source?.endsWith('d4.csv'));
      const s = await psql(`SELECT string_agg(s, ',') FROM "${SCHEMA}".${await viewTable()} WHERE user_id = 555`);
      return s === 'last' && ing?.duplicateRows === 1;
    });
  });

  // --- 8. big INT64 keys ------------------------------------------------------------------------------------------
  const keys = file(
    'keys.csv',
    `${HEADER}\n9007199254740992,2024-01-01,992,1,t,,k992\n9007199254740993,2024-01-01,993,1,t,,k993\n`,
  );
  const loaded = await strata('ingest', 'v', keys, '--materialize');
  for (const key of ['9007199254740993', '-9007199254740993', '18014398509481985']) {
    await run('int64', `get-online user_id=${key}`, async () => {
      const r = await strata('get-online', '-f', 'v:s', '-e', `user_id=${key}`);
      if (loaded.code !== 0) return 'crash';
      return classify(r, async () => {
        const body = JSON.parse(r.stdout);
        const v = body.results[1].values[0];
        return key === '9007199254740993' ? v === 'k993' : v === null;
      });
    });
  }

  // --- 9. regexes -------------------------------------------------------------------------------------------------
  const long = file('long.csv', `s\n${'a'.repeat(40)}!\n${'a'.repeat(5000)}!\nabc\n`);
  for (const [name, regex, ok] of [
    ['(a+)+$', '(a+)+$', true],
    ['(a|aa)+$', '(a|aa)+$', true],
    ['(a*)*b', '(a*)*b', true],
    ['^(a+)+$ anchored', '^(a+)+$', true],
    ['(x+x+)+y', '(x+x+)+y', true],
    ['lookahead (?=a) (not supported: a clear error)', '(?=a)', false],
    ['invalid regex', '(unclosed', false],
  ]) {
    await run('regex', name, async () => {
      const suite = file(
        `s-${seq++}.json`,
        JSON.stringify({
          name: 'r',
          expectations: [{ type: 'expect_column_values_to_match_regex', kwargs: { column: 's', regex } }],
        }),
      );
      const r = await strata('validate', long, '--suite', suite);
      if (ok) return r.killed || STACK.test(r.stderr) ? 'crash' : r.code === 6 || r.code === 0 ? 'accept' : 'silent';
      return classify(r, 'error');
    });
  }

  // --- 10. files --------------------------------------------------------------------------------------------------
  const suite = file(
    'suite.json',
    JSON.stringify({ name: 's', expectations: [{ type: 'expect_column_to_exist', kwargs: { column: 'x' } }] }),
  );
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  const bomb = file('bomb.yaml', `${lines.join('\n')}\n`);
  const csv = file('whole.csv', `${HEADER}\n${filler.split('\n').slice(0, 3000).join('\n')}\n`);
  const parquet = join(dir, 'whole.parquet');
  const arrowFile = join(dir, 'whole.arrow');
  await strata(
    'get-historical',
    '-f',
    'v:x',
    '--entities',
    file('ents.csv', 'user_id,event_timestamp\n1,2024-02-01\n'),
    '-o',
    parquet,
  );
  await strata('get-historical', '-f', 'v:x', '--entities', join(dir, 'ents.csv'), '-o', arrowFile);
  const { readFileSync } = await import('node:fs');
  const cut = (src, name, frac) => {
    const b = readFileSync(src);
    return file(name, b.subarray(0, Math.floor(b.length * frac)));
  };
  const fileCases = [
    ['ingest a missing file', () => strata('ingest', 'v', join(dir, 'nope.csv'))],
    ['ingest a directory', () => strata('ingest', 'v', dir)],
    ['ingest an empty file', () => strata('ingest', 'v', file('empty.csv', ''))],
    ['validate a missing file', () => strata('validate', join(dir, 'nope.parquet'), '--suite', suite)],
    ['validate with a missing suite', () => strata('validate', csv, '--suite', join(dir, 'nope.json'))],
    ['apply a YAML alias bomb', () => strata('apply', bomb)],
    ['plan a YAML alias bomb', () => strata('plan', bomb)],
    ['validate a truncated Parquet file', () => strata('validate', cut(parquet, 't1.parquet', 0.5), '--suite', suite)],
    ['ingest a truncated Parquet file', () => strata('ingest', 'v', cut(parquet, 't2.parquet', 0.5))],
    ['validate a truncated Arrow file', () => strata('validate', cut(arrowFile, 't3.arrow', 0.5), '--suite', suite)],
    ['ingest a truncated Arrow file', () => strata('ingest', 'v', cut(arrowFile, 't4.arrow', 0.5))],
    ['validate an Arrow file of 8 bytes', () => strata('validate', cut(arrowFile, 't5.arrow', 0.01), '--suite', suite)],
    ['validate text named .parquet', () => strata('validate', file('text.parquet', 'not parquet at all\n'), '--suite', suite)],
    ['ingest text named .arrow', () => strata('ingest', 'v', file('text.arrow', 'not arrow at all\n'))],
    ['entities from a missing file', () => strata('get-historical', '-f', 'v:x', '--entities', join(dir, 'nope.csv'))],
  ];
  for (const [name, go] of fileCases) await run('files', name, async () => classify(await go(), 'error'));
} finally {
  worker.kill('SIGTERM');
  await psql(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).catch(() => {});
}

const count = (v) => results.filter((r) => r.verdict === v).length;
const summary = {
  cases: results.length,
  clear: count('clear'),
  rightlyAccepted: count('accept'),
  unclear: count('unclear'),
  wrong: count('wrong'),
  silent: count('silent'),
  crash: count('crash'),
  partial: count('partial'),
};
const groups = {};
for (const r of results) {
  groups[r.group] ??= { cases: 0, clear: 0, accept: 0, unclear: 0, wrong: 0, silent: 0, crash: 0, partial: 0 };
  groups[r.group].cases++;
  groups[r.group][r.verdict]++;
}
const out = { root: ROOT, summary, groups, results };
if (arg('json')) writeFileSync(arg('json'), JSON.stringify(out, null, 2));
process.stdout.write(`${JSON.stringify({ summary, groups }, null, 2)}\n`);
