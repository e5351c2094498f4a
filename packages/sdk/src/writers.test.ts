import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import type * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readTable } from './readers.js';
import { writeBatches, writeTable } from './writers.js';

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
      const back = await readTable(path, { types: { user_id: 'INT64', ts: 'UNIX_TIMESTAMP', x: 'DOUBLE', s: 'STRING' } });
      expect(back.numRows).toBe(300);
      expect(Number(back.getChild('user_id')?.get(299))).toBe(299);
      expect(back.getChild('x')?.get(3)).toBe(1.5);
      expect(back.getChild('s')?.get(0)).toBe('a,"0"');
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
    const err = await writeTable(part(0, 1), join(dir, 'missing', 'out.csv')).catch((e) => e);
    expect(err.code).toBe('INVALID_INPUT');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes a header even for an empty result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-w-'));
    await writeTable(part(0, 0), join(dir, 'e.csv'));
    expect(readFileSync(join(dir, 'e.csv'), 'utf8')).toBe('user_id,ts,x,s\n');
  });
});
