import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { entityRowsFromColumns } from './online.js';
import { detectFormat, inferTextType, readBatches, readTable } from './readers.js';
import { writeTable } from './writers.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-readers-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function collect(path: string) {
  const out: unknown[][] = [];
  for await (const b of readBatches(path, { batchSize: 2 })) {
    for (let i = 0; i < b.numRows; i++) out.push(b.columnNames.map((n) => b.column(n)?.(i)));
  }
  return out;
}

describe('file readers', () => {
  it('reads CSV in batches, empty fields as null', async () => {
    const p = file('a.csv', 'user_id,dt,feature_1\n777,2020-12-07 00:00:00,88.77\n778,2020-12-07 00:00:00,\n779,2020-12-08,1\n');
    expect(await collect(p)).toEqual([
      ['777', '2020-12-07 00:00:00', '88.77'],
      ['778', '2020-12-07 00:00:00', null],
      ['779', '2020-12-08', '1'],
    ]);
  });

  it('reports a malformed CSV line with its number', async () => {
    const p = file('bad.csv', 'a,b\n1,2\n3,4,5\n');
    await expect(collect(p)).rejects.toMatchObject({ code: 'INVALID_INPUT', where: expect.stringContaining('line 3') });
  });

  it('refuses an empty file and a missing file', async () => {
    expect(() => readBatches(file('empty.csv', ''))).toThrow(/is empty/);
    expect(() => readBatches(join(dir, 'nope.csv'))).toThrow(/does not exist/);
  });

  it('reads JSON lines and names a bad line', async () => {
    expect(await collect(file('a.jsonl', '{"a":1,"b":"x"}\n{"a":2}\n'))).toEqual([
      [1, 'x'],
      [2, null],
    ]);
    await expect(collect(file('b.jsonl', '{"a":1}\n{oops\n'))).rejects.toMatchObject({
      where: expect.stringContaining('line 2'),
    });
  });

  it('infers text types', () => {
    expect(inferTextType(['1', '2', null])).toBe('INT64');
    expect(inferTextType(['1.5', '2'])).toBe('DOUBLE');
    expect(inferTextType(['2020-12-07', '2020-12-07T01:00:00Z'])).toBe('UNIX_TIMESTAMP');
    expect(inferTextType(['true', 'FALSE'])).toBe('BOOL');
    expect(inferTextType(['a', '1'])).toBe('STRING');
    expect(() => detectFormat('x.xlsx')).toThrow(/cannot tell the format/);
  });

  it('round-trips a table through Parquet, Arrow IPC and CSV', async () => {
    const t = await readTable(file('w.csv', 'location,date,temp\nSeattle,2012-01-01,12.8\nNew York,2012-01-02,\n'));
    expect(t.schema.fields.map((f) => String(f.type))).toEqual(['Utf8', 'Timestamp<MICROSECOND, UTC>', 'Float64']);
    for (const ext of ['parquet', 'arrow', 'csv', 'jsonl']) {
      const out = join(dir, `out.${ext}`);
      await writeTable(t, out);
      const back = await readTable(out, { types: { location: 'STRING', date: 'UNIX_TIMESTAMP', temp: 'DOUBLE' } });
      expect(back.numRows).toBe(2);
      expect(back.getChild('temp')?.get(0)).toBe(12.8);
      expect(back.getChild('temp')?.get(1)).toBeNull();
      expect(back.getChild('location')?.get(1)).toBe('New York');
    }
  });

  it('refuses an output folder that does not exist, leaving nothing behind', async () => {
    const t = await readTable(file('x.csv', 'a\n1\n'));
    await expect(writeTable(t, join(dir, 'no', 'such', 'out.csv'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('config', () => {
  it('merges file, env and overrides, and reports bad keys', () => {
    const p = file('strata.yaml', 'project: p1\npostgres:\n  schema: s1\n');
    const c = loadConfig({
      configPath: p,
      env: { STRATA_REDIS_URL: 'redis://h:1' },
      overrides: { temporal: { taskQueue: 'q' } },
    });
    expect(c.project).toBe('p1');
    expect(c.postgres.schema).toBe('s1');
    expect(c.redis.url).toBe('redis://h:1');
    expect(c.temporal.taskQueue).toBe('q');
    expect(c.serving.port).toBe(6566);
    const bad = file('bad.yaml', 'project: p1\npostgress: {}\n');
    expect(() => loadConfig({ configPath: bad, env: {} })).toThrow(/configuration is not valid/);
  });
});

describe('entity columns', () => {
  it('refuses columns of unequal length', () => {
    expect(entityRowsFromColumns({ a: [1, 2], b: ['x', 'y'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    expect(() => entityRowsFromColumns({ a: [1, 2], b: ['x'] })).toThrow(/unequal lengths/);
  });
});
