/**
 * Python `datetime.strptime` matching (what GE's expect_column_values_to_match_strftime_format does on pandas): the
 * whole string must match the format, case-insensitively, with each field in range and the day valid for the month.
 */
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

type Field =
  | 'Y'
  | 'y'
  | 'm'
  | 'd'
  | 'H'
  | 'I'
  | 'M'
  | 'S'
  | 'f'
  | 'p'
  | 'b'
  | 'B'
  | 'a'
  | 'A'
  | 'j'
  | 'z'
  | 'Z'
  | 'w'
  | 'U'
  | 'W';

const PATTERNS: Record<string, string> = {
  Y: '(\\d\\d\\d\\d)',
  y: '(\\d\\d)',
  m: '(1[0-2]|0[1-9]|[1-9])',
  d: '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  H: '(2[0-3]|[0-1]\\d|\\d)',
  I: '(1[0-2]|0[1-9]|[1-9])',
  M: '([0-5]\\d|\\d)',
  S: '(6[0-1]|[0-5]\\d|\\d)',
  f: '(\\d{1,6})',
  p: '(am|pm)',
  b: `(${MONTHS.map((m) => m.slice(0, 3)).join('|')})`,
  B: `(${MONTHS.join('|')})`,
  a: `(${DAYS.map((d) => d.slice(0, 3)).join('|')})`,
  A: `(${DAYS.join('|')})`,
  j: '(36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
  z: '(z|[+-]\\d\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d{1,6})?)?)',
  Z: '(utc|gmt|[a-z]{3,5})',
  w: '([0-6])',
  U: '(5[0-3]|[0-4]\\d|\\d)',
  W: '(5[0-3]|[0-4]\\d|\\d)',
};

export type StrptimeMatcher = (value: string) => boolean;

export function compileStrftime(format: string): StrptimeMatcher {
  const fields: Field[] = [];
  let re = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === '%') {
      const d = format[++i];
      if (d === undefined) throw new Error(`stray % at the end of format '${format}'`);
      if (d === '%') {
        re += '%';
        continue;
      }
      const expanded = d === 'c' ? '%a %b %d %H:%M:%S %Y' : d === 'x' ? '%m/%d/%y' : d === 'X' ? '%H:%M:%S' : undefined;
      if (expanded) {
        format = format.slice(0, i - 1) + expanded + format.slice(i + 1);
        i -= 2;
        continue;
      }
      const p = PATTERNS[d === 'h' ? 'b' : d];
      if (!p) throw new Error(`'${d}' is a bad directive in format '${format}'`);
      fields.push((d === 'h' ? 'b' : d) as Field);
      re += p;
    } else if (/\s/.test(ch)) {
      re += '\\s+';
      while (i + 1 < format.length && /\s/.test(format[i + 1]!)) i++;
    } else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`, 'i');
  return (value: string) => {
    const m = rx.exec(value);
    if (!m) return false;
    let year = 1900;
    let month = 1;
    let day = 1;
    let yday: number | undefined;
    for (let k = 0; k < fields.length; k++) {
      const f = fields[k]!;
      const s = m[k + 1]!;
      switch (f) {
        case 'Y':
          year = Number(s);
          break;
        case 'y': {
          const y = Number(s);
          year = y <= 68 ? 2000 + y : 1900 + y;
          break;
        }
        case 'm':
          month = Number(s);
          break;
        case 'd':
          day = Number(s.trim());
          break;
        case 'b':
          month = MONTHS.findIndex((x) => x.startsWith(s.toLowerCase())) + 1;
          break;
        case 'B':
          month = MONTHS.indexOf(s.toLowerCase()) + 1;
          break;
        case 'j':
          yday = Number(s);
          break;
        default:
      }
    }
    if (year < 1) return false;
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
    if (day > dim) return false;
    if (yday !== undefined && yday > (leap ? 366 : 365)) return false;
    return true;
  };
}
