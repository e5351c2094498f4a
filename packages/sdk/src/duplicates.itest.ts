/**
 * Duplicates on the real Postgres: a column named twice is refused in every input format, and among rows with the
 * same join keys, event time and created time in one commit the last one in input order wins (what Feast's offline
 * stores do) in training sets, time-travel reads and materialization reads, through the CSV fast path, the CSV slow
 * path, JSON lines and Arrow input; the ingestion counts the dropped rows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from './client.js';
import { loadConfig } from './config.js';
import { collect } from './history.js';
import { writeTable } from './writers.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-dups-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

// user 1: three rows with equal keys, event and created time (x = 1, 2, 3: 3 must win); user 2: two rows without a
// created time (x = 10, 20: 20 must win); user 3: a later created time beats input order (x = 100 wins over 200).
const CSV = [
  'user_id,ts,created,x',
  '1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,1',
  '2,2024-01-01T00:00:00Z,,10',
  '1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,2',
  '3,2024-01-01T00:00:00Z,2024-01-03T00:00:00Z,100',
  '2,2024-01-01T00:00:00Z,,20',
  '3,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,200',
  '1,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,3',
].join('\n');
const WINNERS = { 1: 3, 2: 20, 3: 100 };

// Both commit paths (ADR 0013): inserted into the view table, and the staging table attached as the commit's partition.
describe.each([
  ['insert', {}],
  ['attach', { STRATA_OFFLINE_ATTACH_MIN_ROWS: '1' }],
])('duplicates (%s path)', (_path, attachEnv: Record<string, string>) => {
  let fresh: FreshSchema;
  let strata: Strata;
  let n = 0;

  beforeAll(async () => {
    fresh = await freshSchema();
    const urls = serviceUrls();
    const config = loadConfig({
      env: {
        STRATA_PROJECT: uniqueName('dup'),
        STRATA_POSTGRES_URL: urls.postgres,
        STRATA_POSTGRES_SCHEMA: fresh.schema,
        TEMPORAL_ADDRESS: urls.temporal,
        ...attachEnv,
      },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
  });
  afterAll(async () => {
    await strata?.close();
    await fresh?.drop();
  });

  async function freshView() {
    const name = `v${++n}`;
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name,
          entities: ['user'],
          timestampField: 'ts',
          createdTimestampField: 'created',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'x', valueType: 'DOUBLE' }],
        },
      ],
    });
    return name;
  }

  const inputs: [string, () => Promise<string | arrow.Table>, boolean][] = [
    ['CSV, fast path', async () => file('fast.csv', `${CSV}\n`), true],
    ['CSV, slow path', async () => file('slow.csv', `${CSV}\n`), false],
    [
      'JSON lines',
      async () =>
        file(
          'rows.jsonl',
          CSV.split('\n')
            .slice(1)
            .map((l) => {
              const [u, ts, created, x] = l.split(',');
              return JSON.stringify({ user_id: Number(u), ts, created: created || null, x: Number(x) });
            })
            .join('\n'),
        ),
      false,
    ],
    [
      'an Arrow table',
      async () =>
        tableFromRows(
          [
            { name: 'user_id', valueType: 'INT64' },
            { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
            { name: 'created', valueType: 'UNIX_TIMESTAMP' },
            { name: 'x', valueType: 'DOUBLE' },
          ],
          CSV.split('\n')
            .slice(1)
            .map((l) => {
              const [u, ts, created, x] = l.split(',');
              return {
                user_id: Number(u),
                ts: new Date(ts as string),
                created: created ? new Date(created) : null,
                x: Number(x),
              };
            }),
        ),
      false,
    ],
  ];

  for (const [name, input, fastCsv] of inputs) {
    it(`the last in input order wins in every read (${name})`, async () => {
      const view = await freshView();
      const id = `dup-${n}`;
      const staged = await strata.stage(view, await input(), { ingestionId: id, fastCsv });
      expect(staged.rows).toBe(7);
      const commit = await strata.offline.commit(id);
      expect(commit).toMatchObject({ rows: 4, duplicateRows: 3 });
      // The ingestion record (what `strata ingestions --json` prints) counts them.
      expect((await strata.listIngestions(view)).find((i) => i.id === id)).toMatchObject({ rowCount: 4, duplicateRows: 3 });

      // Time travel: the view as committed, and its latest row per entity.
      const all = await collect(strata.readView(view));
      expect(all.numRows).toBe(4); // users 1 and 2 once, user 3 twice (different created times)
      const latest = await collect(strata.readView(view, { latest: true }));
      const byUser = (t: arrow.Table) => Object.fromEntries(t.toArray().map((r) => [Number(r.user_id), Number(r.x)]));
      expect(byUser(latest)).toEqual(WINNERS);

      // A training set.
      const entities = tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        [1, 2, 3].map((u) => ({ user_id: u, event_timestamp: new Date('2024-02-01T00:00:00Z') })),
      );
      const ts = await strata.getHistoricalFeatures({ features: [`${view}:x`], entities });
      expect(byUser(ts)).toEqual(WINNERS);

      // What materialization reads.
      const vv = await strata.getView(view);
      const page = await strata.offline.latestPage(vv, { limit: 10 });
      expect(Object.fromEntries(page.rows.map((r) => [Number(r.user_id), Number(r.x)]))).toEqual(WINNERS);
    });
  }

  it('refuses a column named twice, in every format', async () => {
    const view = await freshView();
    const header = 'user_id,ts,created,x,user_id';
    const csv = file('twice.csv', `${header}\n1,2024-01-01,,1,2\n`);
    for (const fastCsv of [true, false]) {
      await expect(strata.stage(view, csv, { fastCsv })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/column 'user_id' appears twice \(columns 1 and 5\)/),
        where: expect.stringContaining('twice.csv'),
      });
    }
    const table = new arrow.Table({
      user_id: arrow.vectorFromArray([1n], new arrow.Int64()),
      ts: arrow.vectorFromArray([new Date('2024-01-01T00:00:00Z')], new arrow.TimestampMillisecond()),
      x: arrow.vectorFromArray([1], new arrow.Float64()),
    });
    // Arrow and Parquet files with a repeated field name.
    const schema = new arrow.Schema([...table.schema.fields, new arrow.Field('x', new arrow.Float64())]);
    const twice = new arrow.Table([
      new arrow.RecordBatch(
        schema,
        arrow.makeData({
          type: new arrow.Struct(schema.fields),
          length: 1,
          nullCount: 0,
          children: [...table.batches[0]!.data.children, table.batches[0]!.data.children[2]!],
        }),
      ),
    ]);
    expect(twice.schema.fields.map((f) => f.name)).toEqual(['user_id', 'ts', 'x', 'x']);
    for (const ext of ['arrow', 'parquet']) {
      const path = join(dir, `twice.${ext}`);
      await writeTable(twice, path);
      await expect(strata.stage(view, path)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/column 'x' appears twice/),
      });
    }
    expect((await strata.listIngestions(view)).filter((i) => i.status !== 'failed')).toEqual([]);
  });
});
