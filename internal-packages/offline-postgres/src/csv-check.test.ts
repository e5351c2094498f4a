import { describe, expect, it } from 'vitest';
import { CsvChecker, CsvFallback } from './csv-check.js';

const cols = [
  { valueType: 'INT64' as const, required: true },
  { valueType: 'UNIX_TIMESTAMP' as const, required: true },
  { valueType: 'INT32' as const, required: false },
  { valueType: 'DOUBLE' as const, required: false },
  { valueType: 'FLOAT' as const, required: false },
  { valueType: 'BOOL' as const, required: false },
  { valueType: 'STRING' as const, required: false },
  { valueType: 'UNIX_TIMESTAMP' as const, required: false },
];
const HEADER = 'user_id,ts,i,x,f,b,s,at';

function verdict(text: string): string {
  try {
    new CsvChecker(cols).check(Buffer.from(text), true);
    return 'ok';
  } catch (err) {
    if (err instanceof CsvFallback) return err.message;
    throw err;
  }
}

describe('CSV fast-path check', () => {
  it('vouches for the forms exports write', () => {
    for (const line of [
      '1,2024-01-02,7,1.5,0.25,t,a,2024-01-02T03:04:05Z',
      '2,2024-01-02 03:04:05,-12,-2.25,.5,false,"quoted, comma",2024-01-02T03:04:05.123Z',
      '3,2024-01-02T03:04:05+05:30,+5,NaN,-inf,TRUE,"line\nbreak",2024-01-02T03:04:05-0800',
      '4,2024-02-29,2147483647,1e3,1E-7,0,"say ""hi""",',
      '5,2024-01-02T03:04,,Infinity,,,,2024-01-02T03:04:05+14',
      '-9223372036854775808,2024-01-02,-2147483648,1,1,1,b,',
    ])
      expect(verdict(`${HEADER}\n${line}\n`), line).toBe('ok');
  });

  it('leaves to the slow path what Postgres would read its own way', () => {
    const base = ['1', '2024-01-02', '7', '1.5', '0.25', 't', 'a', '2024-01-02'];
    const cases: [number, string][] = [
      [0, ''],
      [0, ' 1'],
      [0, '1e3'],
      [0, '9223372036854775808'],
      [2, '-2147483649'],
      [1, 'now'],
      [1, 'infinity'],
      [1, '01/02/2024'],
      [1, '2024-02-30'],
      [1, '1700000000'],
      [1, '2024-01-02T03:04:05.1234Z'],
      [1, '2024-01-02T03:04:05z'],
      [2, '2147483648'],
      [2, '0x1F'],
      [3, '1e400'],
      [3, '-0'],
      [4, '0.12345678'],
      [5, 'yes'],
      [5, 'on'],
      [6, '""'],
      [6, 'a"b'],
    ];
    for (const [i, v] of cases) {
      const cells = [...base];
      cells[i] = v;
      expect(verdict(`${HEADER}\n${cells.join(',')}\n`), `${i}=${v}`).not.toBe('ok');
    }
    expect(verdict(`${HEADER}\n${base.join(',')}\n\n`)).not.toBe('ok');
    expect(verdict(`${HEADER}\n${base.join(',')},extra\n`)).not.toBe('ok');
    expect(verdict(`${HEADER}\r\n${base.join(',')}\n`)).not.toBe('ok');
  });

  it('checks records split across chunks', () => {
    const text = Buffer.from(`${HEADER}\n1,2024-01-02,7,1.5,0.25,t,"x\ny",2024-01-02\n2,now,1,1,1,t,a,\n`);
    const c = new CsvChecker(cols);
    let rest = Buffer.alloc(0);
    expect(() => {
      for (let i = 0; i < text.length; i += 7) {
        const data = Buffer.concat([rest, text.subarray(i, i + 7)]);
        const done = c.check(data, i + 7 >= text.length);
        rest = data.subarray(done);
      }
    }).toThrow(/line 4/);
  });
});
