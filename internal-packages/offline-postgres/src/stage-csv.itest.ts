import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FreshSchema } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnBatch, OfflineStore } from './offline.js';
import type { Pool } from './pool.js';
import type { ViewVersion } from './registry.js';
import { openTestStore, type TestStore } from './store.itest-helpers.js';
import { csvFastPathHeader, stageCsvFile } from './stage-csv.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-csv-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** The same CSV text as a ColumnBatch, for the batch (JS-coercing) path. */
function textBatch(text: string): ColumnBatch {
  const [head, ...lines] = text.trim().split('\n');
  const names = (head as string).split(',');
  const rows = lines.map((l) =>
    (l.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [])
      .map((c) => c.replace(/,$/, ''))
      .map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c))
      .slice(0, names.length),
  );
  return {
    numRows: rows.length,
    columnNames: names,
    column: (n) => {
      const i = names.indexOf(n);
      return i < 0 ? undefined : (r: number) => (rows[r]?.[i] === '' ? null : rows[r]?.[i]);
    },
  };
}

describe('CSV fast path (bytes to COPY)', () => {
  let fresh: FreshSchema;
  let pool: Pool;
  let store: OfflineStore;
  let vv: ViewVersion;
  let test: TestStore;

  beforeAll(async () => {
    test = await openTestStore();
    ({ fresh, pool, store } = test);
    const reg = test.registry;
    await reg.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [
            { name: 'x', valueType: 'DOUBLE' },
            { name: 'ok', valueType: 'BOOL' },
            { name: 's', valueType: 'STRING' },
          ],
        },
      ],
      featureServices: [],
    });
    vv = await reg.getView('p', 'v');
  });
  afterAll(async () => {
    await test.close();
  });

  const good =
    'ok,user_id,ts,x,s\ntrue,1,2021-01-01T03:00:00+03:00,1.5,a\nf,2,2021-01-01 00:00:01,,"b,c"\n,3,2021-01-02T00:00:00Z,NaN,d\n';

  it('takes matching files only', async () => {
    expect(await csvFastPathHeader(vv, file('good.csv', good))).toEqual(['ok', 'user_id', 'ts', 'x', 's']);
    expect(await csvFastPathHeader(vv, file('extra.csv', 'user_id,ts,x,ok,s,y\n1,2021-01-01,1,t,a,2\n'))).toBeUndefined();
    expect(await csvFastPathHeader(vv, file('missing.csv', 'user_id,ts,x,ok\n1,2021-01-01,1,t\n'))).toBeUndefined();
    expect(await csvFastPathHeader(vv, file('epoch.csv', 'user_id,ts,x,ok,s\n1,1609459200,1,t,a\n'))).toBeUndefined();
    expect(await csvFastPathHeader(vv, file('bom.csv', `\ufeff${good}`))).toBeUndefined();
  });

  it('stores exactly what the batch path stores, in UTC, with the event-time range', async () => {
    const fast = await stageCsvFile(store, vv, 'fast', file('good2.csv', good), ['ok', 'user_id', 'ts', 'x', 's']);
    if (!fast) throw new Error('the clean file fell back to the slow path');
    const slow = await store.stage(vv, 'slow', [textBatch(good)]);
    expect(fast.rows).toBe(3);
    expect(fast.minEventTime?.toISOString()).toBe('2021-01-01T00:00:00.000Z');
    expect(fast.maxEventTime).toEqual(slow.maxEventTime);
    const q = (t: string) =>
      pool.query(`SELECT user_id, ts, x, ok, s FROM "${fresh.schema}"."${t}" ORDER BY user_id`).then((r) => r.rows);
    const a = await q(fast.stagingTable);
    expect(a).toEqual(await q(slow.stagingTable));
    expect(a[1]).toMatchObject({ user_id: 2, x: null, ok: false, s: 'b,c' });
    expect(Number.isNaN(a[2].x)).toBe(true);
  });

  it('writes the staged rows frozen, their pages all-visible, on both paths (nothing to write again for them later)', async () => {
    const text = `ok,user_id,ts,x,s\n${Array.from({ length: 5000 }, (_v, i) => `t,${i},2021-01-01T00:00:00Z,${i / 4},s${i}`).join('\n')}\n`;
    const fast = await stageCsvFile(store, vv, 'frozen', file('frozen.csv', text), ['ok', 'user_id', 'ts', 'x', 's']);
    if (!fast) throw new Error('the clean file fell back to the slow path');
    const slow = await store.stage(vv, 'frozen-batch', [textBatch(text)]);
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_visibility');
    for (const table of [fast.stagingTable, slow.stagingTable]) {
      const { rows: vm } = await pool.query<{ pages: number; all_visible: number; all_frozen: number }>(
        `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int AS pages, all_visible::int, all_frozen::int
           FROM pg_visibility_map_summary($1::regclass)`,
        [`"${fresh.schema}"."${table}"`],
      );
      expect(vm[0]?.pages).toBeGreaterThan(1);
      expect(vm[0]).toEqual({ pages: vm[0]?.pages, all_visible: vm[0]?.pages, all_frozen: vm[0]?.pages });
    }
  });

  it("keeps the event-time range while checking, equal to Postgres' min and max of what it stored", async () => {
    const forms = (i: number) => {
      const d = `20${String(10 + (i % 15))}-${String(1 + ((i * 7) % 12)).padStart(2, '0')}-${String(1 + ((i * 13) % 28)).padStart(2, '0')}`;
      const t = `${String((i * 5) % 24).padStart(2, '0')}:${String((i * 11) % 60).padStart(2, '0')}`;
      const off = `${i % 2 ? '+' : '-'}${String(i % 15).padStart(2, '0')}`;
      return [d, `${d} ${t}`, `${d}T${t}:07.5Z`, `${d}T${t}:59${off}:30`, `${d}T${t}${off}`, `${d} ${t}:00.123${off}45`][i % 6];
    };
    const rows = Array.from({ length: 5000 }, (_v, i) => `${i},${forms(i)},1,t,a`).join('\n');
    const staged = await stageCsvFile(store, vv, 'range', file('range.csv', `user_id,ts,x,ok,s\n${rows}\n`), [
      'user_id',
      'ts',
      'x',
      'ok',
      's',
    ]);
    if (!staged) throw new Error('the clean file fell back to the slow path');
    const { rows: got } = await pool.query<{ n: string; lo: Date; hi: Date }>(
      `SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM "${fresh.schema}"."${staged.stagingTable}"`,
    );
    expect(staged.rows).toBe(5000);
    expect(Number(got[0]?.n)).toBe(5000);
    expect(staged.minEventTime?.toISOString()).toBe(got[0]?.lo.toISOString());
    expect(staged.maxEventTime?.toISOString()).toBe(got[0]?.hi.toISOString());
    expect(await store.getIngestion('range')).toMatchObject({
      rowCount: 5000,
      minEventTime: got[0]?.lo,
      maxEventTime: got[0]?.hi,
    });
  });

  it('stops at a value it cannot vouch for, anywhere in the file, and leaves nothing behind', async () => {
    const cols = ['user_id', 'ts', 'x', 'ok', 's'];
    const bad = file('bad.csv', 'user_id,ts,x,ok,s\n1,2021-01-01,1,t,a\nabc,2021-01-01,1,t,a\n');
    expect(await stageCsvFile(store, vv, 'bad', bad, cols)).toBeUndefined();
    const nul = file('null.csv', 'user_id,ts,x,ok,s\n1,,1,t,a\n');
    expect(await stageCsvFile(store, vv, 'nul', nul, cols)).toBeUndefined();
    // Past the 1 MB sample: the header check takes the file, the streaming check stops at the last line.
    const rows = Array.from({ length: 40_000 }, (_v, i) => `${i},2021-01-01T00:00:00Z,${i / 2},t,row${i}`).join('\n');
    for (const [name, last] of [
      ['late-now', '1,now,1,t,a'],
      ['late-date', '1,01/02/2024,1,t,a'],
      ['late-on', '1,2021-01-01,1,on,a'],
      ['late-inf', '1,infinity,1,t,a'],
    ] as const) {
      const path = file(`${name}.csv`, `user_id,ts,x,ok,s\n${rows}\n${last}\n`);
      expect(await csvFastPathHeader(vv, path)).toEqual(cols);
      expect(await stageCsvFile(store, vv, name, path, cols), name).toBeUndefined();
      expect(await store.getIngestion(name)).toBeUndefined();
    }
    expect(await store.getIngestion('bad')).toBeUndefined();
    const { rows: left } = await pool.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'stg_%'`,
      [fresh.schema],
    );
    expect(left[0].n).toBe(5); // only 'fast', 'slow', 'frozen', 'frozen-batch' and 'range' from the tests above
  });
});
