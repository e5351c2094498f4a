/**
 * The CSV fast path (bytes to COPY behind a streaming check) and the slow path (JS coercion) give every value the
 * same verdict: random files of valid and hostile values of every type, small ones and ones bigger than the fast
 * path's 1 MB sample (hostile values after the sample), go through both on the real Postgres, and each file gives
 * identical commits or identical errors (code, message, line, row, column).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RepoSpec } from '@strata/core';
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvFastPathHeader, stageCsvFile } from '@strata/offline-postgres';
import { Strata } from './client.js';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-csvpaths-'));
const view = (name: string) => ({
  name,
  entities: ['user'],
  timestampField: 'ts',
  ttlSeconds: 0,
  online: false,
  features: [
    { name: 'i', valueType: 'INT32' as const },
    { name: 'x', valueType: 'DOUBLE' as const },
    { name: 'f', valueType: 'FLOAT' as const },
    { name: 'b', valueType: 'BOOL' as const },
    { name: 's', valueType: 'STRING' as const },
    { name: 'at', valueType: 'UNIX_TIMESTAMP' as const },
  ],
});
const repo: RepoSpec = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
  featureViews: [view('vfast'), view('vslow')],
  featureServices: [],
};
const HEADER = 'user_id,ts,i,x,f,b,s,at';

// Values per type: canonical ones, ones only the slow path's rules accept, and ones Postgres alone would accept.
const lenient = ['now', 'today', 'tomorrow', 'epoch', 'infinity', '-infinity', 'allballs', ' ', '""', 'NULL', '\\N'];
const ints = [
  '0',
  '7',
  '-12',
  '+5',
  '2147483647',
  '-2147483648',
  '2147483648',
  ' 12 ',
  '12 ',
  '1e3',
  '0x1F',
  '1_000',
  '1.0',
  '٣',
  '00012',
  '9223372036854775807',
  '9223372036854775808',
  '99999999999999999999',
];
const floats = [
  '0',
  '1.5',
  '-2.25',
  '.5',
  '5.',
  '1e3',
  '1E-7',
  '3.4028235e38',
  '1e39',
  '1e400',
  'NaN',
  'nan',
  'inf',
  '-inf',
  'Infinity',
  '-Infinity',
  'INF',
  '-0',
  '-0.0',
  ' 1.5',
  '1,5',
  '0x10',
  '1_0',
  '0.1234567',
  '123456789.123',
];
const bools = ['true', 'false', 't', 'f', '1', '0', 'TRUE', 'False', 'yes', 'no', 'y', 'n', 'on', 'off', ' t', 'tr', 'ye', '2'];
const stamps = [
  '2024-01-02',
  '2024-01-02 03:04:05',
  '2024-01-02T03:04:05Z',
  '2024-01-02T03:04:05.123Z',
  '2024-01-02T03:04:05.1234Z',
  '2024-01-02T03:04:05.999999Z',
  '2024-01-02T03:04:05+05:30',
  '2024-01-02T03:04:05-0800',
  '2024-01-02T03:04:05+14',
  '2024-01-02T03:04:05+16:00',
  '2024-01-02T03:04:05z',
  '2024-01-02T03:04:05 UTC',
  '2024-02-29',
  '2023-02-29',
  '2024-02-30',
  '2024-04-31',
  '2024-13-01',
  '2024-01-02T24:00:00',
  '2024-01-02T23:59:60Z',
  '01/02/2024',
  '2024/01/02',
  '1700000000',
  '1700000000.5',
  '0050-01-01',
  '2024-1-2',
  '20240102',
  'Jan 2 2024',
  '2024-01-02T03:04',
  '2024-01-02T03:04:05.5',
];
const strings = [
  'a',
  'hello world',
  ' padded ',
  '"quoted, comma"',
  '"line\nbreak"',
  '"say ""hi"""',
  'ünïcødé',
  'x\\y',
  '\\.',
  '""',
];

const pick = (xs: string[]) => fc.constantFrom(...xs, ...lenient);
const cell = {
  user_id: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 50 }).map(String) }, { weight: 1, arbitrary: pick(ints) }),
  ts: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...stamps.slice(0, 9)) }, { weight: 1, arbitrary: pick(stamps) }),
  i: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1000 }).map(String) },
    { weight: 1, arbitrary: pick(ints) },
    fc.constant(''),
  ),
  x: fc.oneof(
    { weight: 4, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) },
    { weight: 1, arbitrary: pick(floats) },
    fc.constant(''),
  ),
  f: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -9999, max: 9999 }).map((n) => (n / 100).toString()) },
    { weight: 1, arbitrary: pick(floats) },
    fc.constant(''),
  ),
  b: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('true', 'false', 't', 'f') },
    { weight: 1, arbitrary: pick(bools) },
    fc.constant(''),
  ),
  s: fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 8 }).map((s) => s.replace(/[",\r\n\\]/g, '_')) },
    { weight: 1, arbitrary: fc.constantFrom(...strings) },
    fc.constant(''),
  ),
  at: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...stamps.slice(0, 9)) },
    { weight: 1, arbitrary: pick(stamps) },
    fc.constant(''),
  ),
};
const row = fc.tuple(cell.user_id, cell.ts, cell.i, cell.x, cell.f, cell.b, cell.s, cell.at).map((r) => r.join(','));
// A row of valid values, to push hostile rows past the fast path's 1 MB sample.
const filler = (n: number) =>
  Array.from(
    { length: n },
    (_v, k) => `${k % 1000},2024-01-02T03:04:05Z,${k % 100},${k / 8},${(k % 50) / 4},t,row${k},2024-01-02`,
  ).join('\n');

describe('CSV fast path and slow path give the same verdicts', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  let n = 0;

  beforeAll(async () => {
    fresh = await freshSchema();
    const urls = serviceUrls();
    const config = loadConfig({
      env: {
        STRATA_PROJECT: uniqueName('csv'),
        STRATA_POSTGRES_URL: urls.postgres,
        STRATA_POSTGRES_SCHEMA: fresh.schema,
        TEMPORAL_ADDRESS: urls.temporal,
      },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
    await strata.apply(repo);
  });
  afterAll(async () => {
    await strata?.close();
    await fresh?.drop();
  });

  /** Stages and commits the file into a view; the committed rows as text, or the error. */
  async function run(viewName: string, path: string, fastCsv: boolean) {
    const id = `${viewName}-${++n}`;
    try {
      await strata.stage(viewName, path, { ingestionId: id, fastCsv });
      const res = await strata.offline.commit(id);
      const vv = await strata.getView(viewName);
      const { rows } = await strata.pool.query(
        `SELECT user_id::text, ts::text, i::text, x::text, f::text, b::text, s, "at"::text FROM "${fresh.schema}"."${vv.tableName}" WHERE "__commit_seq" = $1 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`,
        [res.commitSeq],
      );
      return { rows };
    } catch (err) {
      const e = err as { code?: string; message: string; where?: string; details?: unknown };
      return { error: { code: e.code, message: e.message, where: e.where, details: e.details } };
    }
  }

  async function same(text: string) {
    const path = join(dir, `f${n}.csv`);
    writeFileSync(path, text);
    const fast = await run('vfast', path, true);
    const slow = await run('vslow', path, false);
    expect(fast).toEqual(slow);
    return fast;
  }

  it('small files of random valid and hostile values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 12 }), async (rows) => {
        await same(`${HEADER}\n${rows.join('\n')}\n`);
      }),
      { numRuns: Number(process.env.STRATA_PROPERTY_RUNS ?? 60) },
    );
  });

  it('files bigger than the sample, hostile values after it', async () => {
    const big = filler(20_000); // ~1.3 MB
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 4 }), async (rows) => {
        await same(`${HEADER}\n${big}\n${rows.join('\n')}\n`);
      }),
      { numRuns: 5 },
    );
  });

  it('a bad value on the last line of a big file names its line and column like one on line 2', async () => {
    const early = await same(`${HEADER}\n1,2024-01-02,1,1,1,t,a,2024-01-02T25:00:00\n`);
    expect(early.error).toMatchObject({ code: 'INVALID_INPUT', details: { line: 2, row: 1, column: 'at' } });
    const late = await same(`${HEADER}\n${filler(30_000)}\n1,2024-01-02,1,1,1,t,a,2024-01-02T25:00:00\n`);
    expect(late.error).toMatchObject({ code: 'INVALID_INPUT', details: { line: 30_002, row: 30_001, column: 'at' } });
    expect(late.error?.where).toMatch(/line 30002, row 30001, column 'at'/);
    expect(late.error?.message).toBe(early.error?.message);
    // `infinity` (which Postgres would take as a timestamp) is a clear INVALID_INPUT, not an INTERNAL commit error.
    const inf = await same(`${HEADER}\n${filler(30_000)}\n1,infinity,1,1,1,t,a,\n`);
    expect(inf.error).toMatchObject({ code: 'INVALID_INPUT', details: { line: 30_002, column: 'ts' } });
    // Values Postgres reads leniently are never its call: 'now', '01/02/2024' and 'on' after the sample are refused.
    for (const [col, bad] of [
      ['at', 'now'],
      ['at', '01/02/2024'],
      ['b', 'on'],
    ] as const) {
      const cells = { at: '2024-01-02', b: 't', [col]: bad };
      const r = await same(`${HEADER}\n${filler(30_000)}\n1,2024-01-02,1,1,1,${cells.b},a,${cells.at}\n`);
      expect(r.error, `${col}=${bad}`).toMatchObject({ code: 'INVALID_INPUT', details: { line: 30_002, column: col } });
    }
  });

  it('clean files do take the fast path (the check vouches for the forms exports write)', async () => {
    const canonical = [
      '1,2024-01-02,7,1.5,0.25,t,a,2024-01-02T03:04:05Z',
      '2,2024-01-02 03:04:05,-12,-2.25,.5,false,"quoted, comma",2024-01-02T03:04:05.123Z',
      '3,2024-01-02T03:04:05+05:30,+5,NaN,-inf,TRUE,"line\nbreak",2024-01-02T03:04:05-0800',
      '4,2024-02-29,2147483647,1e3,1E-7,0,"say ""hi""",',
      '5,2024-01-02T03:04,,Infinity,,,,2024-01-02T03:04:05+14',
    ].join('\n');
    for (const [name, text] of [
      ['canonical', `${HEADER}\n${canonical}\n`],
      ['big', `${HEADER}\n${filler(20_000)}\n`],
      ['crlf', `${HEADER}\r\n${canonical.replace(/\n(?=\d,)/g, '\r\n')}\r\n`],
    ] as const) {
      const path = join(dir, `${name}.csv`);
      writeFileSync(path, text);
      const vv = await strata.getView('vfast');
      const header = await csvFastPathHeader(vv, path);
      expect(header, name).toBeDefined();
      const staged = await stageCsvFile(strata.offline, vv, `fast-${name}`, path, header as string[]);
      expect(staged, `${name} fell back to the slow path`).toBeDefined();
      await strata.offline.abandon(`fast-${name}`, { message: 'test' });
      expect(await same(text)).toHaveProperty('rows');
    }
  });

  it('leaves no staging tables and no stray ingestions behind', async () => {
    const { rows } = await strata.pool.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg_%'`,
      [fresh.schema],
    );
    expect(rows[0].n).toBe(0);
    const staging = await strata.pool.query(
      `SELECT count(*)::int AS n FROM "${fresh.schema}".ingestions WHERE status IN ('staging', 'staged')`,
    );
    expect(staging.rows[0].n).toBe(0);
  });
});
