// The bad-input / fault table of an ingestion's life (issue 10, items 3-6, 11-13): each case runs through the built
// CLI (and a built worker process) of a checkout against the running stack, and is classified as
//   clear    the expected outcome: a StrataError with its code (exit 2..7), or the right result for a good case
//   silent   exit 0 although the input is bad (it failed open)
//   wrong    a good case that failed, or a bad case that failed for the wrong reason
//   crash    exit 1 without a Strata error code (a stack trace), or no answer within the case's time limit
//   partial  anything left behind: staging tables, ingestions stuck in staging/staged, rows that should not be there
//
//   bash infra/stack.sh up && eval "$(bash infra/stack.sh env)" && pnpm build
//   node bench/hardening/life.mjs [--root <checkout>] [--json out.json]
//
// --root points at another built checkout (e.g. main) to measure "before" with the same cases.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = resolve(opt('--root') ?? join(here, '..', '..'));
const CLI = join(root, 'apps/cli/dist/main.js');
const WORKER = join(root, 'apps/worker/dist/main.js');
for (const f of [CLI, WORKER]) if (!existsSync(f)) throw new Error(`${f} is missing: build that checkout first`);

const pgUrl = process.env.STRATA_POSTGRES_URL ?? 'postgres://strata@127.0.0.1:5433/strata';
const id = randomBytes(3).toString('hex');
const schema = `hard_life_${id}`;
const project = `hl_${id}`;
const env = {
  ...process.env,
  STRATA_CONFIG: '',
  STRATA_PROJECT: project,
  STRATA_POSTGRES_SCHEMA: schema,
  STRATA_TASK_QUEUE: `hl_tq_${id}`,
  STRATA_JANITOR_SCHEDULE: 'false',
};
const dir = mkdtempSync(join(tmpdir(), 'strata-hardlife-'));
const file = (name, text) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function run(argv, { timeoutMs = 60_000, extraEnv = {} } = {}) {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...argv], { env: { ...env, ...extraEnv }, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code: signal ? 'timeout' : code, stdout, stderr, child });
    });
  });
}

const db = new pg.Client({ connectionString: pgUrl });
await db.connect();
const q = async (sql, params = []) => (await db.query(sql, params)).rows;
const stagingTables = async () =>
  Number((await q(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg\\_%'`, [schema]))[0].n);
const ingestion = async (ingId) => (await q(`SELECT * FROM "${schema}".ingestions WHERE id = $1`, [ingId]))[0];
const stuck = async () =>
  Number((await q(`SELECT count(*) AS n FROM "${schema}".ingestions WHERE status IN ('staging', 'staged')`))[0].n);

const viewYaml = (name, extra = '') =>
  [
    'entities:',
    '  - name: user',
    '    joinKeys: [{ name: user_id, valueType: INT64 }]',
    'featureViews:',
    `  - name: ${name}`,
    '    entities: [user]',
    '    timestampField: ts',
    '    online: true',
    '    features:',
    '      - { name: score, valueType: DOUBLE }',
    extra,
  ].join('\n');
const strict = [
  '    validationPolicy: STRICT',
  '    expectationSuite:',
  '      name: s',
  '      expectations:',
  '        - { type: expect_column_values_to_be_between, kwargs: { column: score, min_value: 0, max_value: 1 } }',
].join('\n');
const good = file('good.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,0.5\n2,2024-01-01T00:00:00Z,0.25\n');
const bad = file('bad.csv', 'user_id,ts,score\n1,2024-01-01T00:00:00Z,5\n');

// A bad case: it must exit with a Strata error code (2..7) whose text matches; a good case: exit 0 and its check.
const err = (re) => async (r) => {
  if (r.code === 'timeout') return 'crash';
  if (r.code === 0) return 'silent';
  if (!/error: [A-Z_]+:|"code": "[A-Z_]+"/.test(r.stderr)) return 'crash';
  return re.test(r.stderr) ? 'clear' : 'wrong';
};
const ok =
  (check = async () => true) =>
  async (r) => {
    if (r.code === 'timeout') return 'crash';
    if (r.code !== 0) return /error: [A-Z_]+:|"code": "[A-Z_]+"/.test(r.stderr) ? 'wrong' : 'crash';
    return (await check(r)) ? 'clear' : 'wrong';
  };
const json = (r) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return {};
  }
};

const cases = [];
const c = (item, what, fn, verdict, leftover) => cases.push({ item, what, fn, verdict, leftover });

// ---- item 5: options, keys, suites and commands fail closed -------------------------------------------------------
c(
  5,
  'ingest --policy STRICTT',
  () => run(['ingest', 'scores', bad, '--policy', 'STRICTT', '--ingestion-id', 'p1']),
  err(/did you mean STRICT/),
  async () => !!(await ingestion('p1')),
);
c(
  5,
  'ingest --policy NONEE',
  () => run(['ingest', 'scores', good, '--policy', 'NONEE', '--ingestion-id', 'p2']),
  err(/did you mean NONE/),
  async () => !!(await ingestion('p2')),
);
c(
  5,
  'ingest --policy always (any case is fine)',
  () => run(['--json', 'ingest', 'strict_v', good, '--policy', 'always']),
  ok((r) => json(r).status === 'committed'),
);
c(
  5,
  "ingest --policy ''",
  () => run(['ingest', 'scores', good, '--policy', '', '--ingestion-id', 'p3']),
  err(/policy/),
  async () => !!(await ingestion('p3')),
);
c(
  5,
  'ingest --policy STRICT into a view without a suite (it would check nothing)',
  () => run(['ingest', 'scores', bad, '--policy', 'STRICT', '--ingestion-id', 'p4']),
  err(/no expectation suite/),
  async () => !!(await ingestion('p4')),
);
c(
  5,
  'ingest --policy STRICT on a failing batch of a view with a suite: quarantined',
  () => run(['ingest', 'strict_v', bad, '--policy', 'STRICT', '--ingestion-id', 'p5']),
  err(/VALIDATION_FAILED/),
);
c(
  5,
  'apply: top-level featurViews',
  () => run(['apply', file('k1.yaml', viewYaml('v_typo').replace('featureViews', 'featurViews'))]),
  err(/did you mean featureViews/),
  async () => (await q(`SELECT 1 FROM "${schema}".objects WHERE name = 'v_typo'`)).length > 0,
);
c(5, 'apply: empty file', () => run(['apply', file('k2.yaml', '')]), err(/empty/));
c(5, 'apply: only comments', () => run(['apply', file('k3.yaml', '# nothing\n')]), err(/empty/));
c(5, 'apply: empty document list ---', () => run(['apply', file('k4.yaml', '---\n---\n')]), err(/empty/));
c(
  5,
  'apply: entity joinKey',
  () => run(['apply', file('k5.yaml', 'entities:\n  - name: u\n    joinKey: [u]\n')]),
  err(/did you mean joinKeys/),
);
c(
  5,
  'apply: entity valuType',
  () => run(['apply', file('k6.yaml', 'entities:\n  - name: u\n    valuType: INT64\n')]),
  err(/did you mean valueType/),
);
c(
  5,
  'apply: view timestampFeild',
  () => run(['apply', file('k7.yaml', viewYaml('v7').replace('timestampField', 'timestampFeild'))]),
  err(/did you mean timestampField/),
);
c(
  5,
  'apply: view ttlSecond',
  () => run(['apply', file('k8.yaml', `${viewYaml('v8')}\n    ttlSecond: 60`)]),
  err(/did you mean ttlSeconds/),
);
c(
  5,
  'apply: view onlien',
  () => run(['apply', file('k9.yaml', viewYaml('v9').replace('online: true', 'onlien: true'))]),
  err(/did you mean online/),
);
c(
  5,
  'apply: feature valueTyp',
  () => run(['apply', file('k10.yaml', viewYaml('v10').replace('valueType: DOUBLE', 'valueTyp: DOUBLE'))]),
  err(/did you mean valueType/),
);
c(
  5,
  'apply: monitoring alertWebhok',
  () => run(['apply', file('k11.yaml', `${viewYaml('v11')}\n    monitoring: { alertWebhok: 'http://x' }`)]),
  err(/did you mean alertWebhook/),
);
c(
  5,
  'apply: monitoring.drift psii',
  () => run(['apply', file('k12.yaml', `${viewYaml('v12')}\n    monitoring: { drift: { psii: 0.2 } }`)]),
  err(/did you mean psi/),
);
c(
  5,
  'apply: service descripton',
  () =>
    run(['apply', file('k13.yaml', `${viewYaml('v13')}\nfeatureServices:\n  - { name: s13, features: [v13], descripton: x }`)]),
  err(/did you mean description/),
);
c(
  5,
  'apply: service ref featurs',
  () =>
    run([
      'apply',
      file('k14.yaml', `${viewYaml('v14')}\nfeatureServices:\n  - { name: s14, features: [{ view: v14, featurs: [score] }] }`),
    ]),
  err(/did you mean features/),
);
c(
  5,
  'apply: kind feature_veiw',
  () => run(['apply', file('k15.yaml', 'kind: feature_veiw\nname: x\n')]),
  err(/did you mean feature_view/),
);
c(
  5,
  'apply: kind document with an extra key',
  () =>
    run(['apply', file('k16.yaml', 'kind: entity\nspec: { name: u16, joinKeys: [{ name: u16, valueType: INT64 }] }\nspce: 1\n')]),
  err(/unknown key 'spce'/),
);
c(
  5,
  'apply: expectationSuite {} in a view',
  () => run(['apply', file('k17.yaml', `${viewYaml('v17')}\n    expectationSuite: {}`)]),
  err(/expectations/),
);
c(
  5,
  'apply: validationPolicy STRICTT in a view',
  () => run(['apply', file('k18.yaml', `${viewYaml('v18')}\n    validationPolicy: STRICTT`)]),
  err(/did you mean STRICT/),
);
c(5, 'validate --suite {}', () => run(['validate', good, '--suite', file('s1.json', '{}')]), err(/expectations/));
c(
  5,
  'validate --suite with expectations []',
  () => run(['validate', good, '--suite', file('s2.json', '{"name":"n","expectations":[]}')]),
  err(/no expectations/),
);
c(5, 'unknown command materialise', () => run(['materialise', 'scores']), err(/did you mean materialize/));
c(5, 'unknown command ingets --json', () => run(['--json', 'ingets']), err(/did you mean ingest/));
c(5, 'unknown command backfil', () => run(['backfil']), err(/unknown command 'backfil'/));
c(5, 'delete feature-veiw', () => run(['delete', 'feature-veiw', 'scores']), err(/did you mean feature_view/));
c(5, 'schedule creat', () => run(['schedule', 'creat', 'scores', '--every', '1h']), err(/did you mean create/));

// ---- item 6: one id submitted many times ----------------------------------------------------------------------
const many = file(
  'many.csv',
  `user_id,ts,score\n${Array.from({ length: 20000 }, (_, i) => `${i},2024-01-02T00:00:00Z,0.${i % 10}`).join('\n')}\n`,
);
c(
  6,
  '5 concurrent ingests of one id: all get the committed result, one commit',
  async () => {
    const rs = await Promise.all(
      Array.from({ length: 5 }, () => run(['--json', 'ingest', 'scores', many, '--ingestion-id', 'same5'])),
    );
    const bad5 = rs.find((r) => r.code !== 0);
    const seqs = new Set(rs.map((r) => json(r).commitSeq));
    return { ...(bad5 ?? rs[0]), code: bad5 ? bad5.code : seqs.size === 1 ? 0 : 3 };
  },
  ok(
    async () =>
      Number((await q(`SELECT count(*) AS n FROM "${schema}".ingestions WHERE id = 'same5' AND status = 'committed'`))[0].n) ===
      1,
  ),
);
c(
  6,
  'the same id again later: already committed, same commit',
  () => run(['--json', 'ingest', 'scores', many, '--ingestion-id', 'same5']),
  ok((r) => json(r).alreadyCommitted === true),
);
c(
  6,
  'the same id for another view',
  () => run(['ingest', 'other', good, '--ingestion-id', 'same5']),
  err(/belongs to view 'scores'/),
);
c(
  6,
  'a quarantined id submitted again: quarantined again (its real outcome)',
  () => run(['ingest', 'strict_v', bad, '--ingestion-id', 'q1']),
  err(/VALIDATION_FAILED/),
);

// ---- item 3: failures leave nothing behind --------------------------------------------------------------------
c(
  3,
  'a commit that fails (view table gone, SQLSTATE 42P01): failed, no staging, no 20 retries',
  async () => {
    await run(['apply', file('doomed.yaml', viewYaml('doomed'))]);
    const t = (await q(`SELECT table_name FROM "${schema}".view_versions WHERE project = $1 AND name = 'doomed'`, [project]))[0]
      .table_name;
    // Staged by the CLI without a worker would need two steps; drop the table while staging is being validated
    // is racy, so: stage through a view whose table disappears right after the ingest command staged it.
    await db.query(`ALTER TABLE "${schema}"."${t}" RENAME TO "${t}_gone"`);
    const r = await run(['ingest', 'doomed', good, '--ingestion-id', 'doom1'], { timeoutMs: 45_000 });
    await db.query(`ALTER TABLE "${schema}"."${t}_gone" RENAME TO "${t}"`).catch(() => {});
    return r;
  },
  async (r) => {
    const v = await err(/42P01|does not exist/)(r);
    return v === 'clear' && (await ingestion('doom1'))?.status !== 'failed' ? 'wrong' : v;
  },
  async () => (await ingestion('doom1'))?.staging_table != null,
);
c(
  3,
  'a stager killed during COPY: the next submit of the id takes over',
  async () => {
    const big = file(
      'big.csv',
      `user_id,ts,score\n${Array.from({ length: 1_500_000 }, (_, i) => `${i},2024-01-03T00:00:00Z,0.5`).join('\n')}\n`,
    );
    const child = spawn(process.execPath, [CLI, 'ingest', 'scores', big, '--ingestion-id', 'killed1'], { env, stdio: 'ignore' });
    for (let i = 0; i < 600 && (await ingestion('killed1'))?.status !== 'staging'; i++)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    return run(['--json', 'ingest', 'scores', good, '--ingestion-id', 'killed1']);
  },
  ok((r) => json(r).status === 'committed'),
  async () => (await ingestion('killed1'))?.status !== 'committed',
);
c(
  3,
  'delete feature-view with a quarantined ingestion: its staging goes too',
  async () => {
    await run(['apply', file('del.yaml', viewYaml('to_delete', strict))]);
    await run(['ingest', 'to_delete', bad, '--ingestion-id', 'delq']);
    return run(['delete', 'feature-view', 'to_delete']);
  },
  ok(async () => (await ingestion('delq'))?.staging_table == null),
  async () => (await ingestion('delq'))?.staging_table != null,
);
c(
  3,
  'janitor run: removes staging older than --max-age, keeps a fresh one',
  async () => {
    await db.query(`CREATE TABLE IF NOT EXISTS "${schema}".stg_feedface (x int)`);
    return run(['--json', 'janitor', 'run', '--max-age', '1h']);
  },
  ok((r) => (json(r).orphanTables ?? []).includes('stg_feedface')),
);
c(
  3,
  'janitor schedule (twice: idempotent)',
  async () => {
    const a = await run(['--json', 'janitor', 'schedule', '--every', '1h']);
    if (a.code !== 0) return a;
    return run(['--json', 'janitor', 'schedule', '--every', '2h']);
  },
  ok((r) => json(r).created === false),
);
c(3, 'janitor runn', () => run(['janitor', 'runn']), err(/did you mean run/));
c(3, 'janitor run --max-age soon', () => run(['janitor', 'run', '--max-age', 'soon']), err(/duration/));
c(3, 'STRATA_JANITOR_MAX_AGE=abc', () => run(['list'], { extraEnv: { STRATA_JANITOR_MAX_AGE: 'abc' } }), err(/CONFIG|duration/));

// ---- item 13: quoting, secrets, flags --------------------------------------------------------------------------
c(
  13,
  'a mixed-case schema: apply, ingest, commit',
  async () => {
    const mixed = `Mixed_Case_${id}`; // not the lower-cased name of the main schema
    // A worker of its own: a worker serves one schema.
    const e2 = { STRATA_POSTGRES_SCHEMA: mixed, STRATA_TASK_QUEUE: `hl_mixed_${id}` };
    const w2 = spawn(process.execPath, [WORKER], { env: { ...env, ...e2 }, stdio: 'ignore' });
    try {
      const a = await run(['apply', file('mixed.yaml', viewYaml('mixed_v'))], { extraEnv: e2 });
      if (a.code !== 0) return a;
      return await run(['--json', 'ingest', 'mixed_v', good], { extraEnv: e2, timeoutMs: 45_000 });
    } finally {
      w2.kill('SIGTERM');
      await db.query(`DROP SCHEMA IF EXISTS "${mixed}" CASCADE`).catch(() => {});
    }
  },
  ok((r) => json(r).status === 'committed'),
);
c(
  13,
  'serve -p 6601 after the command (the global -p is the project)',
  () => run(['-p', project, 'serve', '-p', '9329'], { timeoutMs: 15_000 }),
  err(/CONFIG|project|unknown option/),
);
c(13, 'serve --port abc', () => run(['serve', '--port', 'abc'], { timeoutMs: 15_000 }), err(/port/));
c(
  13,
  'a webhook URL with a token: not in --json of the ingest',
  async () => {
    await run([
      'apply',
      file(
        'hook.yaml',
        `${viewYaml('hooked')}\n    validationPolicy: ALWAYS\n    expectationSuite: { name: h, expectations: [{ type: expect_column_values_to_be_between, kwargs: { column: score, min_value: 0, max_value: 1 } }] }\n    monitoring: { alertWebhook: 'http://127.0.0.1:9/hook/SECRET-TOKEN' }`,
      ),
    ]);
    return run(['--json', 'ingest', 'hooked', bad], { timeoutMs: 90_000 });
  },
  async (r) => (r.code === 0 ? (/SECRET/.test(r.stdout + r.stderr) ? 'wrong' : 'clear') : 'wrong'),
);

// ---- item 12: pushes (through `strata serve` on SERVE_PORT) ------------------------------------------------------
const SERVE_PORT = Number(process.env.STRATA_BENCH_SERVE_PORT ?? 9321);
const pushTo = async (payload, key) => {
  try {
    const res = await fetch(`http://127.0.0.1:${SERVE_PORT}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(payload),
    });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return { status: 0, body: { error: { message: String(e) } } };
  }
};
const pdf = (ids, score) => ({ user_id: ids, ts: ids.map(() => '2024-02-01T00:00:00Z'), score: ids.map(() => score) });
const committedRows = async (view) => {
  const t = (
    await q(`SELECT table_name FROM "${schema}".view_versions WHERE project = $1 AND name = $2 ORDER BY version DESC LIMIT 1`, [
      project,
      view,
    ])
  )[0]?.table_name;
  return t ? Number((await q(`SELECT count(*) AS n FROM "${schema}"."${t}"`))[0].n) : -1;
};
// Push verdicts: HTTP status as the exit code (0 for 2xx), the error code in stderr's place.
const asRun = (p) => ({
  code: p.status >= 200 && p.status < 300 ? 0 : p.status || 'timeout',
  stdout: JSON.stringify(p.body),
  stderr: p.body?.error ? `error: ${p.body.error.code}: ${p.body.error.message}` : '',
});
c(
  12,
  'offline push that fails the STRICT suite',
  async () => {
    const before = await committedRows('strict_v');
    const r = asRun(await pushTo({ feature_view: 'strict_v', to: 'offline', df: pdf([1, 2], 5) }));
    return { ...r, rowsAdded: (await committedRows('strict_v')) - before };
  },
  async (r) => (r.rowsAdded > 0 ? 'silent' : await err(/VALIDATION_FAILED/)(r)),
);
c(
  12,
  'offline push that passes the STRICT suite',
  async () => asRun(await pushTo({ feature_view: 'strict_v', to: 'offline', df: pdf([1, 2], 0.5) })),
  ok(),
);
c(
  12,
  'the same push retried with one idempotency key: one commit',
  async () => {
    const before = await committedRows('other');
    await pushTo({ feature_view: 'other', to: 'offline', df: pdf([5, 6, 7], 0.5) }, 'k-1');
    const r = asRun(await pushTo({ feature_view: 'other', to: 'offline', df: pdf([5, 6, 7], 0.5) }, 'k-1'));
    return { ...r, rowsAdded: (await committedRows('other')) - before };
  },
  async (r) => (r.code === 0 ? (r.rowsAdded === 3 ? 'clear' : 'silent') : await err(/./)(r)),
);
c(
  12,
  'an idempotency key with spaces',
  async () => asRun(await pushTo({ feature_view: 'other', to: 'offline', df: pdf([8], 0.5) }, 'not a key')),
  err(/idempotency key/),
);
c(
  12,
  'online_and_offline push is in both stores when acknowledged',
  async () => {
    const before = await committedRows('scores');
    const r = asRun(await pushTo({ feature_view: 'scores', to: 'online_and_offline', df: pdf([31], 0.75) }, 'both-1'));
    if (r.code !== 0) return r;
    const online = await run(['--json', 'get-online', '-f', 'scores:score', '-e', 'user_id=31']);
    return {
      ...r,
      inBoth:
        (await committedRows('scores')) === before + 1 && JSON.parse(online.stdout || '{}').results?.[1]?.values?.[0] === 0.75,
    };
  },
  async (r) => (r.code === 0 ? (r.inBoth ? 'clear' : 'wrong') : await err(/./)(r)),
);

// ---- bad inputs around the same paths ---------------------------------------------------------------------------
c(0, 'ingest a missing file', () => run(['ingest', 'scores', join(dir, 'nope.csv')]), err(/nope\.csv/));
c(0, 'ingest into an unknown view', () => run(['ingest', 'scorse', good]), err(/unknown feature view 'scorse'/));
c(0, 'ingest --format csvv', () => run(['ingest', 'scores', good, '--format', 'csvv']), err(/format/));
c(0, 'materialize an unknown view', () => run(['materialize', 'scorse']), err(/scorse/));
c(0, 'delete an unknown view', () => run(['delete', 'feature-view', 'nope']), err(/nope/));
c(0, 'apply a missing file', () => run(['apply', join(dir, 'missing.yaml')]), err(/missing\.yaml/));
c(0, 'release an unknown ingestion', () => run(['release', 'scores', 'nope']), err(/nope/));
c(0, 'schedule create without --every', () => run(['schedule', 'create', 'scores']), err(/every/));

const worker = spawn(process.execPath, [WORKER], { env, stdio: 'ignore' });
const servers = [];
const results = [];
try {
  const setup = await run([
    'apply',
    file(
      'setup.yaml',
      `${viewYaml('scores')}\n  - name: other\n    entities: [user]\n    timestampField: ts\n    online: false\n    features: [{ name: score, valueType: DOUBLE }]\n  - name: strict_v\n    entities: [user]\n    timestampField: ts\n    online: false\n    features: [{ name: score, valueType: DOUBLE }]\n${strict}`,
    ),
  ]);
  if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`);
  await run(['ingest', 'strict_v', bad, '--ingestion-id', 'q1']);
  const server = spawn(process.execPath, [CLI, 'serve', '--port', String(SERVE_PORT)], { env, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${SERVE_PORT}/health`).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  servers.push(server);
  for (const k of cases) {
    const stagingBefore = await stagingTables();
    const stuckBefore = await stuck();
    const r = await k.fn();
    let outcome = await k.verdict(r);
    const left =
      (k.leftover ? await k.leftover() : false) || (await stagingTables()) > stagingBefore || (await stuck()) > stuckBefore;
    // A quarantined batch keeps its staging on purpose (release needs it): not a partial write.
    const quarantining = /VALIDATION_FAILED/.test(r.stderr ?? '');
    if (left && !quarantining && outcome !== 'crash') outcome = outcome === 'clear' ? 'partial' : outcome;
    results.push({
      item: k.item,
      case: k.what,
      outcome,
      exit: r.code,
      message: (r.stderr ?? '').split('\n').find((l) => l.startsWith('error:')) ?? '',
    });
    process.stderr.write(`${outcome.padEnd(8)} [${k.item}] ${k.what}\n`);
  }
} finally {
  for (const s of servers) s.kill('SIGTERM');
  worker.kill('SIGTERM');
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await db.end();
}

const count = (o) => results.filter((r) => r.outcome === o).length;
const summary = {
  root,
  cases: results.length,
  clear: count('clear'),
  silent: count('silent'),
  wrong: count('wrong'),
  crash: count('crash'),
  partial: count('partial'),
};
console.log(`| # | item | case | outcome |\n|---|---|---|---|`);
for (const [i, r] of results.entries())
  console.log(`| ${i + 1} | ${r.item || '-'} | ${r.case.replace(/\|/g, '\\|')} | ${r.outcome} |`);
console.log(`\n${JSON.stringify(summary)}`);
const out = opt('--json');
if (out) writeFileSync(out, JSON.stringify({ summary, results }, null, 2));
