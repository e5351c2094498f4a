import { describe, expect, it } from 'vitest';
import { CsvChecker, CsvFallback, tsMillis } from './csv-check.js';

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

  it('keeps the event-time range: every accepted form read as Postgres reads it in UTC', () => {
    // Random instants written in every form the check accepts; each must read back to the instant it was made from.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (v: number, n = 2) => String(Math.abs(v)).padStart(n, '0');
    for (let k = 0; k < 2000; k++) {
      const ms = Date.UTC(1000 + rnd(9000), rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000));
      const off = (rnd(2) ? 1 : -1) * (rnd(15) * 60 + rnd(60));
      const local = new Date(ms + off * 60_000);
      const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
      const hm = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
      const frac = String(local.getUTCMilliseconds()).padStart(3, '0');
      const sign = off < 0 ? '-' : '+';
      const oh = pad(Math.trunc(Math.abs(off) / 60));
      const om = pad(Math.abs(off) % 60);
      const sec = `${hm}:${pad(local.getUTCSeconds())}`;
      const forms: [string, number][] = [
        [`${date}T${sec}.${frac}${sign}${oh}:${om}`, ms],
        [`${date} ${sec}.${frac}${sign}${oh}${om}`, ms],
        [`${date}T${sec}.${frac}Z`, ms + off * 60_000],
        [`${date}T${sec}.${frac.replace(/0+$/, '') || '0'}`, ms + off * 60_000],
        [`${date}T${sec}`, ms + off * 60_000 - local.getUTCMilliseconds()],
        [
          `${date} ${hm}${sign}${oh}`,
          ms - local.getUTCMilliseconds() - local.getUTCSeconds() * 1000 + (Math.abs(off) % 60) * 60_000 * (off < 0 ? -1 : 1),
        ],
        [date, Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate())],
      ];
      for (const [text, want] of forms) {
        expect(verdict(`${HEADER}\n1,${text},,,,,,\n`), text).toBe('ok');
        expect(tsMillis(Buffer.from(text), 0, text.length), text).toBe(want);
      }
    }
    const c = new CsvChecker(cols.map((x, i) => ({ ...x, range: i === 1 })));
    c.check(
      Buffer.from(`${HEADER}\n1,2024-01-02T00:00:00+01:00,,,,,,\n2,2023-12-31T23:30:00Z,,,,,,2000-01-01\n3,2024-01-01,,,,,,\n`),
      true,
    );
    expect(new Date(c.minMillis).toISOString()).toBe('2023-12-31T23:30:00.000Z');
    expect(new Date(c.maxMillis).toISOString()).toBe('2024-01-01T23:00:00.000Z');
    expect(Number.isNaN(new CsvChecker(cols.map((x, i) => ({ ...x, range: i === 7 }))).minMillis)).toBe(true);
  });
});
