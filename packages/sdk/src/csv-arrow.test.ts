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

/** Every buffer of every column (values, offsets, validity bits) as hex, per batch. */
function buffersOf(batches: arrow.RecordBatch[]): string[][] {
  const hex = (a?: ArrayBufferView) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex') : '-');
  return batches.map((b) =>
    b.schema.fields.flatMap((f) =>
      b.getChild(f.name)!.data.map((d) => `${hex(d.values)} ${hex(d.valueOffsets)} ${hex(d.nullBitmap)}`),
    ),
  );
}

/** The batches' columns, null counts, sizes and buffers, or the error's code, message, where and hint. */
async function outcome(p: string, opts: Parameters<typeof readCsvArrow>[1]) {
  try {
    const batches = await read(p, opts);
    const nulls = batches.map((b) => b.schema.fields.map((f) => b.getChild(f.name)!.nullCount));
    return { columns: columnsOf(batches), rows: batches.map((b) => b.numRows), nulls, buffers: buffersOf(batches) };
  } catch (err) {
    const e = err as { code?: string; message: string; where?: string; hint?: string };
    return { error: { code: e.code, message: e.message, where: e.where, hint: e.hint } };
  }
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

  it('the one-pass path gives what the general path gives: the same columns, or the same error', async () => {
    const types: Record<string, ValueTypeName> = { i: 'INT64', d: 'DOUBLE', f: 'FLOAT', n: 'INT32', s: 'STRING' };
    const badNumber = () => pick(['x', '1.2.3', '-', '+', '.', '--1', '1-', '3e999', '2147483648', '1234567890123456', '0x10']);
    // plain integers mostly; now and then an edge (some of which do not fit INT32)
    const intText = (bits: number) =>
      rnd() < 0.9
        ? String(Math.floor(rnd() * 2 ** bits) - 2 ** (bits - 1))
        : pick(['', '0', '-0', '+7', '007', '2147483647', '-2147483648', '123456789012345', '']);
    let errors = 0;
    for (let round = 0; round < 30; round++) {
      const eol = pick(['\n', '\r\n', '\r']);
      const lines = ['i,d,f,n,s'];
      const rows = 1 + Math.floor(rnd() * 30);
      for (let r = 0; r < rows; r++) {
        const str = pick(['', 'plain', 'with,comma', 'say "hi"', 'two\nlines', 'crlf\r\ninside', 'ünï©ødé', 'x'.repeat(200)]);
        const f = [intText(40), randomNumberText(), randomNumberText(), intText(31), str].map(quoteMaybe);
        // now and then one bad thing: a bad value, a field too many or too few, a stray quote, a blank line
        const bad = rnd();
        if (bad < 0.03) f[Math.floor(rnd() * 4)] = badNumber();
        else if (bad < 0.04) f.push('9');
        else if (bad < 0.05) f.pop();
        else if (bad < 0.06) f[4] = 'a"b';
        else if (bad < 0.08) lines.push('');
        lines.push(f.join(','));
      }
      const p = file(`${lines.join(eol)}${rnd() < 0.5 ? eol : ''}`);
      for (const chunkBytes of [1, 3, 13, 1 << 20]) {
        const batchSize = 1 + Math.floor(rnd() * 8);
        const general = await outcome(p, { types, chunkBytes, batchSize, fastPath: false });
        const fast = await outcome(p, { types, chunkBytes, batchSize });
        expect(fast, `round ${round}, chunk ${chunkBytes}`).toEqual(general);
        if ('error' in general) errors++;
      }
    }
    // every edge value in every numeric column, in a row the one-pass path could take, and in one it must give back
    // (the last field is quoted) after it wrote a null
    const edges = ['', '.', '-.', '+.', '-', '+', '1.', '.5', '-0', '+0.0', '007', '1e5', ' 1', '1 ', '"1"', 'x', '1.2.3'];
    edges.push('123456789012345', '1234567890123456', '0.1234567890123456', '1.0000000000000000000001', '2147483648');
    edges.push('-2147483649', '3.5e38', '340282356779733661637539395458142568448', '9007199254740993', 'nan', 'inf');
    for (const v of edges) {
      for (let c = 0; c < 8; c++) {
        const row = ['', '', '', '', c < 4 ? 'q' : '"q"'];
        row[c % 4] = v;
        const p = file(`i,d,f,n,s\n1,2,3,4,s\n${row.join(',')}\n5,6,7,8,t\n`);
        for (const chunkBytes of [1, 1 << 20]) {
          const general = await outcome(p, { types, chunkBytes, fastPath: false });
          expect(
            await outcome(p, { types, chunkBytes }),
            `${JSON.stringify(v)} in column ${c % 4}, row ${row.join(',')}`,
          ).toEqual(general);
          if ('error' in general) errors++;
        }
      }
    }
    // the inputs did reach both kinds of outcome
    expect(errors).toBeGreaterThan(10);
    expect(errors).toBeLessThan(30 * 4 + edges.length * 16 - 10);
  }, 60_000);

  it('the one-pass path gives what the general path gives for strings of every length and byte, with any delimiter', async () => {
    // bytes the one-pass path treats differently: at most '"' (space, tab, controls), the delimiters, UTF-8
    const alphabet = [
      'a',
      'b',
      'z',
      '0',
      '9',
      '@',
      '.',
      '-',
      '#',
      '!',
      ' ',
      '\t',
      '\u0001',
      '\u001f',
      'é',
      '€',
      '😀',
      ';',
      '|',
      ',',
    ];
    const text = (n: number) => Array.from({ length: n }, () => pick(alphabet)).join('');
    const types: Record<string, ValueTypeName> = { a: 'STRING', i: 'INT64', b: 'STRING', c: 'STRING', d: 'DOUBLE' };
    let errors = 0;
    let results = 0;
    for (const delim of [',', '\t', ';', '|', ' ']) {
      const quote = (v: string) =>
        v.includes(delim) || /["\r\n]/.test(v) || (rnd() < 0.05 && v !== '') ? `"${v.replaceAll('"', '""')}"` : v;
      for (let round = 0; round < 8; round++) {
        const eol = pick(['\n', '\r\n', '\r']);
        const lines = [['a', 'i', 'b', 'c', 'd'].join(delim)];
        const rows = 1 + Math.floor(rnd() * 40);
        for (let r = 0; r < rows; r++) {
          // mostly short values of every length (each offset within a 4-byte word), some long ones (buffers grow)
          const str = () => (rnd() < 0.1 ? '' : rnd() < 0.1 ? text(60 + Math.floor(rnd() * 300)) : text(Math.floor(rnd() * 13)));
          const f = [str(), String(Math.floor(rnd() * 2e6) - 1e6), str(), str(), (rnd() * 100).toFixed(3)].map(quote);
          const bad = rnd();
          if (bad < 0.02) f[2] = 'x"y';
          else if (bad < 0.03) f.push('');
          else if (bad < 0.04) f[Math.floor(rnd() * 3)] = `"${text(3)}\n${text(5)}"`;
          lines.push(f.join(delim));
        }
        const ext = delim === '\t' && rnd() < 0.5 ? 'tsv' : 'csv';
        const p = file(`${lines.join(eol)}${rnd() < 0.5 ? eol : ''}`, ext);
        const delimiter = ext === 'tsv' ? undefined : delim;
        for (const chunkBytes of [1, 5, 64, 1 << 20]) {
          const batchSize = 1 + Math.floor(rnd() * 16);
          const general = await outcome(p, { types, delimiter, chunkBytes, batchSize, fastPath: false });
          const fast = await outcome(p, { types, delimiter, chunkBytes, batchSize });
          expect(fast, `delimiter ${JSON.stringify(delim)}, round ${round}, chunk ${chunkBytes}`).toEqual(general);
          if ('error' in general) errors++;
          else results++;
        }
      }
    }
    expect(errors).toBeGreaterThan(5);
    expect(results).toBeGreaterThan(5);
  }, 60_000);

  it('the one-pass path skips blank lines as the general path does, in a file of one column', async () => {
    for (const type of ['STRING', 'DOUBLE', 'INT64', 'INT32', 'FLOAT'] as const) {
      for (const eol of ['\n', '\r\n', '\r']) {
        // an empty line is a blank line (skipped); "" is a null
        const values = ['1', '', '25', '', '', '-3', type === 'STRING' ? 'x y' : '0', '7', '', '8'];
        const lines = ['v', ...values.map((v) => (v === '' && rnd() < 0.5 ? '""' : v)), '', '9'];
        const p = file(`${lines.join(eol)}${eol}${eol}`);
        for (const chunkBytes of [1, 4, 1 << 20]) {
          const opts = { types: { v: type }, chunkBytes, batchSize: 3 };
          const general = await outcome(p, { ...opts, fastPath: false });
          expect(await outcome(p, opts), `${type}, ${JSON.stringify(eol)}, chunk ${chunkBytes}`).toEqual(general);
        }
      }
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
