import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { describe, expect, it } from 'vitest';
import * as arrow from 'apache-arrow';
import { checkWritable, emptyBatch, outputFormat, writeBatches } from './output.js';

const cols = [
  { name: 'user_id', valueType: 'INT64' as const },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' as const },
  { name: 'x', valueType: 'DOUBLE' as const },
  { name: 's', valueType: 'STRING' as const },
];
function part(from: number, n: number): arrow.Table {
  return tableFromRows(
    cols,
    Array.from({ length: n }, (_v, i) => ({
      user_id: from + i,
      ts: new Date(Date.UTC(2021, 0, 1) + (from + i) * 1000),
      x: (from + i) / 2,
      s: i % 2 ? null : `a,"${i}"`,
    })),
  );
}

/** Reads a written file back with independent parsers (no Strata reader). */
async function readBack(path: string, ext: string): Promise<Record<string, unknown>[]> {
  const text = () => readFileSync(path, 'utf8').trimEnd().split('\n');
  if (ext === 'jsonl') return text().map((l) => JSON.parse(l));
  if (ext === 'csv') {
    const [head, ...lines] = text();
    const names = (head as string).split(',');
    return lines.map((l) => {
      const cells = l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)?.map((c) => c.replace(/,$/, '')) ?? [];
      return Object.fromEntries(
        names.map((n, i) => {
          const c = cells[i] ?? '';
          return [n, c === '' ? null : c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c];
        }),
      );
    });
  }
  let table: arrow.Table;
  if (ext === 'arrow') table = arrow.tableFromIPC(readFileSync(path));
  else {
    const pq = await import('parquet-wasm');
    table = arrow.tableFromIPC(pq.readParquet(readFileSync(path)).intoIPCStream());
  }
  return table.toArray().map((r) => r.toJSON());
}

describe('writeBatches', () => {
  for (const ext of ['csv', 'jsonl', 'arrow', 'parquet']) {
    it(`appends batch by batch to ${ext} and reads back whole`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'strata-w-'));
      const path = join(dir, `out.${ext}`);
      const seen: number[] = [];
      async function* gen() {
        for (let b = 0; b < 3; b++) yield* part(b * 100, 100).batches;
      }
      const w = await writeBatches(gen(), path, { onRows: (n) => seen.push(n) });
      expect(w.rows).toBe(300);
      expect(seen.at(-1)).toBe(300);
      const rows = await readBack(path, ext);
      expect(rows).toHaveLength(300);
      expect(Number(rows[299]?.user_id)).toBe(299);
      expect(Number(rows[3]?.x)).toBe(1.5);
      expect(rows[0]?.s).toBe('a,"0"');
      expect(rows[1]?.s ?? null).toBe(null);
      expect(new Date(rows[2]?.ts as string | number).toISOString()).toBe('2021-01-01T00:00:02.000Z');
      expect(readdirSync(dir)).toEqual([`out.${ext}`]);
    });
  }

  it('leaves nothing behind when the source fails midway or the folder is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-w-'));
    async function* failing() {
      yield* part(0, 10).batches;
      throw new Error('source broke');
    }
    for (const ext of ['csv', 'arrow', 'parquet']) {
      await expect(writeBatches(failing(), join(dir, `out.${ext}`))).rejects.toThrow('source broke');
    }
    expect(readdirSync(dir)).toEqual([]);
    const err = await writeBatches(part(0, 1).batches, join(dir, 'missing', 'out.csv')).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes a header even for an empty result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-w-'));
    await writeBatches([emptyBatch(part(0, 0).schema)], join(dir, 'e.csv'));
    expect(readFileSync(join(dir, 'e.csv'), 'utf8')).toBe('user_id,ts,x,s\n');
  });
});

describe('the parquet-dataset format (a folder of parts)', () => {
  it('is named explicitly only, needs a path that does not exist, and is never written as one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-dataset-'));
    expect(outputFormat(join(dir, 'set'), 'parquet-dataset')).toBe('parquet-dataset');
    expect(() => outputFormat(join(dir, 'set.parquet-dataset'))).toThrow(/cannot tell the output format/);
    await expect(checkWritable(join(dir, 'set'), 'parquet-dataset')).resolves.toBeUndefined();
    mkdirSync(join(dir, 'taken'));
    await expect(checkWritable(join(dir, 'taken'), 'parquet-dataset')).rejects.toThrow(/the path exists/);
    await expect(checkWritable(join(dir, 'missing', 'set'), 'parquet-dataset')).rejects.toThrow(
      /does not exist or is not writable/,
    );
    const batch = emptyBatch(new arrow.Schema([new arrow.Field('a', new arrow.Int32())]));
    await expect(writeBatches([batch], join(dir, 'set'), { format: 'parquet-dataset' })).rejects.toThrow(
      /columnar engine's training-set workflow only/,
    );
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});
