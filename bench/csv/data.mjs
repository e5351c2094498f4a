// The CSV of bench/validation.mjs (benchmark P5), byte for byte: the same generator, seed and columns.
import { writeFileSync } from 'node:fs';

export const header = ['id', 'age', 'score', 'country', 'email', 'signup', 'a', 'b'];
/** The dtypes pandas gets, and the value types readCsvArrow gets (as bench/validation.mjs passes them). */
export const schema = {
  id: 'int64',
  age: 'float64',
  score: 'float64',
  country: 'str',
  email: 'str',
  signup: 'str',
  a: 'float64',
  b: 'float64',
};
const valueTypes = { int64: 'INT64', float64: 'DOUBLE', str: 'STRING' };
export const types = Object.fromEntries(Object.entries(schema).map(([c, t]) => [c, valueTypes[t]]));
export const BATCH = 65_536;

export function writeData(path, rows) {
  let seed = 42;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const countries = ['US', 'DE', 'FR', 'RU', 'BR', 'US', 'US'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    const age = i % 23 === 0 ? '' : String(Math.floor(rnd() * 100));
    const score =
      i % 31 === 0 ? '' : (50 + 10 * Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd())).toFixed(3);
    const country = i % 19 === 0 ? '' : countries[Math.floor(rnd() * countries.length)];
    const email = i % 41 ? `user${i}@example.com` : `user${i}example.com`;
    const signup =
      i % 67 ? `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}` : '2024-02-30';
    lines.push([i + 1, age, score, country, email, signup, Math.floor(rnd() * 100), Math.floor(rnd() * 90)].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}
