/**
 * Time travel and streaming training sets through the SDK on real Postgres: commits are made with the offline
 * store directly (the ingest workflow is covered elsewhere), reads go through the client.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { arrowColumnBatch } from '@strata/offline-postgres';
import { freshSchema, type FreshSchema, serviceUrls, uniqueName } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from './client.js';
import { loadConfig } from './config.js';
import { collect } from './history.js';
import { readTable } from './readers.js';

const H = 3600_000;
const t0 = Date.parse('2022-03-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'strata-hist-'));

describe('time travel and streamed training sets (SDK)', () => {
  let fresh: FreshSchema;
  let strata: Strata;
  const seqs: number[] = [];

  beforeAll(async () => {
    fresh = await freshSchema();
    const urls = serviceUrls();
    const config = loadConfig({
      env: { STRATA_PROJECT: uniqueName('h'), STRATA_POSTGRES_URL: urls.postgres, STRATA_POSTGRES_SCHEMA: fresh.schema },
      configPath: undefined as unknown as string,
    });
    strata = await Strata.connect({ config });
    await strata.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'stats',
          entities: ['user'],
          timestampField: 'ts',
          createdTimestampField: 'created',
          ttlSeconds: 0,
          online: false,
          features: [{ name: 'score', valueType: 'DOUBLE' }],
        },
      ],
    });
    const vv = await strata.getView('stats');
    const cols = [
      { name: 'user_id', valueType: 'INT64' as const },
      { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'created', valueType: 'UNIX_TIMESTAMP' as const },
      { name: 'score', valueType: 'DOUBLE' as const },
    ];
    const commits = [
      [{ user_id: 1, ts: new Date(t0), created: new Date(t0), score: 1 }],
      // A backfill: the value for t0+1h was only computed at t0+10h.
      [{ user_id: 1, ts: new Date(t0 + H), created: new Date(t0 + 10 * H), score: 2 }],
    ];
    for (const [i, rows] of commits.entries()) {
      await strata.offline.stage(vv, `i${i}`, tableFromRows(cols, rows).batches.map(arrowColumnBatch), { createdBy: 'bob' });
      seqs.push((await strata.offline.commit(`i${i}`)).commitSeq);
    }
  });
  afterAll(async () => {
    await strata.close();
    await fresh.drop();
  });

  it('lists history and reads as of a commit, and diffs', async () => {
    const h = await strata.history('stats');
    expect(h.map((c) => [c.commitSeq, c.rows, c.createdBy, c.status])).toEqual([
      [seqs[0], 1, 'bob', 'committed'],
      [seqs[1], 1, 'bob', 'committed'],
    ]);
    const asOf = await collect(strata.readView('stats', { asOfCommit: seqs[0] as number }));
    expect(asOf.numRows).toBe(1);
    const d = await collect(strata.diff('stats', seqs[0] as number, seqs[1] as number));
    expect([...(d.getChild('score') ?? [])]).toEqual([2]);
    await expect(collect(strata.readView('nope'))).rejects.toMatchObject({ code: 'UNKNOWN_OBJECT' });
    await expect(collect(strata.readView('stats', { asOf: '2000-01-01T00:00:00Z' }))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('streams a training set from a CSV entity file to Parquet, pinned and without backfill leakage', async () => {
    const entities = join(dir, 'entities.csv');
    writeFileSync(
      entities,
      `user_id,event_timestamp,label\n1,${new Date(t0 + 2 * H).toISOString()},yes\n1,${new Date(t0 + 2 * H).toISOString().replace('Z', '+00:00')},no\n`,
    );
    const base = { features: ['stats:score'], entities: { path: entities } };
    const latest = await strata.getHistoricalFeatures(base);
    expect([...(latest.getChild('score') ?? [])]).toEqual([2, 2]);
    expect([...(latest.getChild('label') ?? [])]).toEqual(['yes', 'no']);
    const pinned = await strata.getHistoricalFeatures({ ...base, asOfCommit: seqs[0] as number });
    expect([...(pinned.getChild('score') ?? [])]).toEqual([1, 1]);
    const noLeak = await strata.getHistoricalFeatures({ ...base, dropCreatedAfterEntityTime: true });
    expect([...(noLeak.getChild('score') ?? [])]).toEqual([1, 1]);
    const out = join(dir, 'train.parquet');
    const w = await strata.writeHistoricalFeatures({ ...base, out, batchSize: 1 });
    expect(w.rows).toBe(2);
    expect((await readTable(out)).numRows).toBe(2);
  });

  it('refuses bad input clearly and leaves no output behind', async () => {
    const noTs = join(dir, 'no-ts.csv');
    writeFileSync(noTs, 'user_id,when\n1,2022-03-01T00:00:00Z\n');
    await expect(strata.getHistoricalFeatures({ features: ['stats:score'], entities: { path: noTs } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining("timestamp column 'event_timestamp'"),
    });
    const noKey = join(dir, 'no-key.csv');
    writeFileSync(noKey, 'uid,event_timestamp\n1,2022-03-01T00:00:00Z\n');
    await expect(strata.getHistoricalFeatures({ features: ['stats:score'], entities: { path: noKey } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining("join key 'user_id'"),
    });
    const badKey = join(dir, 'bad-key.csv');
    writeFileSync(badKey, 'user_id,event_timestamp\nabc,2022-03-01T00:00:00Z\n');
    await expect(strata.getHistoricalFeatures({ features: ['stats:score'], entities: { path: badKey } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    const arrowKey = tableFromRows(
      [
        { name: 'user_id', valueType: 'STRING' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
      ],
      [{ user_id: '1', event_timestamp: new Date(t0) }],
    );
    await expect(strata.getHistoricalFeatures({ features: ['stats:score'], entities: arrowKey })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
    });
    await expect(strata.getHistoricalFeatures({ features: ['stats:nope'], entities: arrowKey })).rejects.toMatchObject({
      code: 'UNKNOWN_FEATURE',
    });
    await expect(strata.getHistoricalFeatures({ features: ['other:score'], entities: arrowKey })).rejects.toMatchObject({
      code: 'UNKNOWN_OBJECT',
    });
    const good = join(dir, 'good.csv');
    writeFileSync(good, `user_id,event_timestamp\n1,${new Date(t0 + 2 * H).toISOString()}\n`);
    const before = readdirSync(dir).sort();
    const err = await strata
      .writeHistoricalFeatures({ features: ['stats:score'], entities: { path: good }, out: join(dir, 'missing', 'x.csv') })
      .catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    // A failure midway (bad entity row after a good batch) leaves no file either.
    const late = join(dir, 'late-bad.csv');
    writeFileSync(late, `user_id,event_timestamp\n1,${new Date(t0).toISOString()}\nx,${new Date(t0).toISOString()}\n`);
    const err2 = await strata
      .writeHistoricalFeatures({ features: ['stats:score'], entities: { path: late }, out: join(dir, 'late.csv'), batchSize: 1 })
      .catch((e) => e);
    expect(err2.code).toBe('INVALID_INPUT');
    expect(existsSync(join(dir, 'late.csv'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([...before, 'late-bad.csv'].sort());
    expect(readFileSync(good, 'utf8')).toContain('user_id');
  });
});
