import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coerceValue, tableFromColumns, type ValueTypeName } from '@strata/core';
import type * as arrow from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { inferCsvTypes, readCsvArrow } from './csv-arrow.js';
import { inferTextType, readTable } from './readers.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-csv-arrow-'));
let seq = 0;
function file(text: string | Buffer, ext = 'csv'): string {
  const p = join(dir, `f${seq++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

/** The reference: csv-parse's records, '' as null, coerced by @strata/core, built by tableFromColumns (readTable before csv-arrow). */
function reference(text: string, types?: Record<string, ValueTypeName>): arrow.Table {
  const records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  const header = records[0]!.map((h) => h.trim());
  const rows = records.slice(1);
  return tableFromColumns(
    header.map((name, c) => {
      const raw = rows.map((r) => (r[c] === '' ? null : r[c]));
      const valueType = types?.[name] ?? inferTextType(raw);
      return { name, valueType, values: raw.map((v) => coerceValue(valueType, v)) };
    }),
  );
}

async function read(path: string, opts: Parameters<typeof readCsvArrow>[1] = {}): Promise<arrow.RecordBatch[]> {
  const out: arrow.RecordBatch[] = [];
  for await (const b of readCsvArrow(path, opts)) out.push(b);
  return out;
}

/** Column by column: type, and every value (NaN, -0, bigints and nulls compared exactly). */
function columnsOf(batches: arrow.RecordBatch[] | arrow.Table): Record<string, { type: string; values: unknown[] }> {
  const list = Array.isArray(batches) ? batches : batches.batches;
  const out: Record<string, { type: string; values: unknown[] }> = {};
  for (const b of list) {
    for (const f of b.schema.fields) {
      out[f.name] ??= { type: String(f.type), values: [] };
      const v = b.getChild(f.name)!;
      for (let i = 0; i < v.length; i++) {
        const x = v.get(i);
        out[f.name]!.values.push(
          typeof x === 'number' && Object.is(x, -0) ? '-0' : typeof x === 'number' && Number.isNaN(x) ? 'NaN' : x,
        );
      }
    }
  }
  return out;
}

let s = 1234567;
const rnd = () => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return s / 2 ** 32;
};
const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function randomNumberText(): string {
  return pick([
    () => String(Math.floor(rnd() * 1000) - 500),
    () => (rnd() * 1e6 - 5e5).toFixed(Math.floor(rnd() * 8)),
    () => String(rnd() * 10 ** Math.floor(rnd() * 40 - 20)),
    () => `${Math.floor(rnd() * 10)}e${Math.floor(rnd() * 10) - 5}`,
    () =>
      pick(['0', '-0', '0.0', '-0.000', '007', '.5', '-.25', '1.', '+3', ' 4.5', '123456789012345678', '0.1234567890123456789']),
    () => pick(['nan', 'NaN', 'inf', '-inf', 'Infinity']),
    () => '',
  ])();
}

function quoteMaybe(v: string): string {
  if (v === '' || (rnd() < 0.8 && !/[",\r\n]/.test(v))) return v;
  return `"${v.replaceAll('"', '""')}"`;
}

describe('readCsvArrow (CSV straight into typed Arrow columns)', () => {
  it('gives the same table as csv-parse + coercion on random files, whatever the chunk and batch edges', async () => {
    for (let round = 0; round < 12; round++) {
      const rows = Math.floor(rnd() * 60) + 1;
      const eol = round % 3 === 0 ? '\r\n' : '\n';
      const lines = ['id,x,name,n'];
      for (let i = 0; i < rows; i++) {
        const id = rnd() < 0.1 ? '' : String(Math.floor(rnd() * 2 ** 40) - 2 ** 39);
        const name = pick(['', 'plain', 'with,comma', 'say "hi"', 'two\nlines', 'ünï©ødé', 'crlf\r\ninside', '  spaced  ']);
        const n = rnd() < 0.2 ? '' : String(Math.floor(rnd() * 100));
        lines.push([quoteMaybe(id), quoteMaybe(randomNumberText()), quoteMaybe(name), n].join(','));
        if (rnd() < 0.05) lines.push('');
      }
      const text = `${round % 4 === 1 ? '\uFEFF' : ''}${lines.join(eol)}${round % 2 ? eol : ''}`;
      const p = file(text);
      const types: Record<string, ValueTypeName> = { id: 'INT64', x: 'DOUBLE', name: 'STRING', n: 'INT32' };
      const want = columnsOf(reference(text, types));
      for (const chunkBytes of [1, 2, 3, 7, 64, 1 << 20]) {
        const got = await read(p, { types, chunkBytes, batchSize: 1 + Math.floor(rnd() * 20) });
        expect(columnsOf(got), `round ${round}, chunk ${chunkBytes}`).toEqual(want);
      }
      // and with the types inferred, as readTable without types did
      expect(columnsOf(await readTable(p))).toEqual(columnsOf(reference(text)));
    }
  });

  it('infers the types inferTextType gives, from every value in the file', async () => {
    const text =
      'i,f,b,t,s,e\n1,1.5,true,2020-12-07,x,\n-2,2,FALSE,2020-12-07T01:00:00Z,1,\n3,nan,true,2021-01-01 00:00:00,2.5,\n';
    expect(await inferCsvTypes(file(text))).toEqual({
      i: 'INT64',
      f: 'DOUBLE',
      b: 'BOOL',
      t: 'UNIX_TIMESTAMP',
      s: 'STRING',
      e: 'STRING',
    });
    expect(columnsOf(await readTable(file(text)))).toEqual(columnsOf(reference(text)));
  });

  it('keeps INT64 values beyond 2^53 exact and splits negative ones into the right words', async () => {
    const p = file('k\n9007199254740993\n-9223372036854775808\n9223372036854775807\n-1\n-4294967296\n');
    const [b] = await read(p, { types: { k: 'INT64' } });
    expect(Array.from(b!.getChild('k')!.data[0]!.values as BigInt64Array)).toEqual([
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
      -1n,
      -4294967296n,
    ]);
  });

  it('reads a .tsv with tabs', async () => {
    const got = await read(file('a\tb\n1\tx y\n', 'tsv'), { types: { a: 'INT64', b: 'STRING' } });
    expect(columnsOf(got)).toEqual({ a: { type: 'Int64', values: [1n] }, b: { type: 'Utf8', values: ['x y'] } });
  });

  it('reports a bad value with its row and column, as readTable did', async () => {
    const p = file('a,b\n1,2\n3,x\n');
    await expect(read(p, { types: { a: 'INT64', b: 'DOUBLE' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('"x" is not a number'),
      where: expect.stringMatching(/row 2, column 'b'$/),
    });
    await expect(read(file('a\n99999999999999999999\n'), { types: { a: 'INT64' } })).rejects.toMatchObject({
      message: expect.stringContaining('does not fit in INT64'),
      where: expect.stringMatching(/row 1, column 'a'$/),
    });
  });

  it('reports malformed CSV with its line: a wrong field count, an unclosed quote, a stray quote', async () => {
    await expect(read(file('a,b\n1,2\n3,4,5\n'), { types: { a: 'INT64', b: 'INT64' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('line 3 has 3 fields, the header has 2'),
      where: expect.stringContaining('line 3'),
      hint: expect.stringContaining('quote fields that contain commas'),
    });
    await expect(read(file('a,b\n1,"2\n3,4\n'), { types: { a: 'INT64', b: 'STRING' } })).rejects.toMatchObject({
      message: expect.stringContaining('not closed'),
      where: expect.stringContaining('line 2'),
    });
    await expect(read(file('a,b\n1,2\n3,x"y\n'), { types: { a: 'INT64', b: 'STRING' } })).rejects.toMatchObject({
      message: expect.stringContaining('inside an unquoted field'),
      where: expect.stringContaining('line 3'),
    });
    await expect(read(file('a,a\n1,2\n'))).rejects.toMatchObject({ message: expect.stringContaining("'a' appears twice") });
  });

  it('streams: a file of many batches comes out batch by batch, all of the same schema', async () => {
    const lines = ['v,w'];
    for (let i = 0; i < 10_000; i++) lines.push(`${i},${i % 7 ? `w${i}` : ''}`);
    const batches = await read(file(`${lines.join('\n')}\n`), { types: { v: 'DOUBLE', w: 'STRING' }, batchSize: 1000 });
    expect(batches.map((b) => b.numRows)).toEqual(new Array(10).fill(1000));
    expect(batches[9]!.getChild('v')!.get(999)).toBe(9999);
    expect(batches[0]!.getChild('w')!.nullCount).toBe(143);
  });
});
