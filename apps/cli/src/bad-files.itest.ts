/**
 * Hostile or broken files through the built `strata` CLI on the real stack: each is a clear StrataError (code, what,
 * where, how to fix) on stderr and in --json, never a stack trace, and nothing is staged or committed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import { writeTable } from '@strata/sdk';
import { freshSchema, type FreshSchema, runCli, strataEnv, testScope } from '@strata/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'strata-badfiles-'));
const f = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** A stack trace line as Node prints it. */
const STACK = /\n\s+at .+\(?.*:\d+:\d+\)?/;

describe('broken and hostile files through the CLI', () => {
  let fresh: FreshSchema;
  let env: NodeJS.ProcessEnv;
  const strata = (...args: string[]) => runCli(env, args, dir);

  /** Runs the command plain and with --json: both fail with the code, neither prints a stack. */
  async function refused(args: string[], exit: number, code: string, message: RegExp) {
    const plain = await strata(...args);
    expect(plain.code, plain.stderr).toBe(exit);
    expect(plain.stderr).not.toMatch(STACK);
    expect(plain.stderr).toMatch(new RegExp(`^error: ${code}: `));
    expect(plain.stderr).toMatch(message);
    expect(plain.stderr).toMatch(/\n {2}fix: /);
    const json = await strata('--json', ...args);
    expect(json.code).toBe(exit);
    expect(json.stderr).not.toMatch(STACK);
    const body = JSON.parse(json.stderr) as { error: { code: string; message: string; where?: string; hint?: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
    expect(body.error.where).toBeTruthy();
    expect(body.error.hint).toBeTruthy();
    return body.error;
  }

  beforeAll(async () => {
    fresh = await freshSchema();
    env = strataEnv(testScope(fresh.schema, 'bad'));
    const spec = f(
      'spec.yaml',
      [
        'entities:',
        '  - name: user',
        '    joinKeys: [{ name: user_id, valueType: INT64 }]',
        'featureViews:',
        '  - name: v',
        '    entities: [user]',
        '    timestampField: ts',
        '    online: false',
        '    features: [{ name: x, valueType: DOUBLE }]',
      ].join('\n'),
    );
    const applied = await strata('apply', spec);
    expect(applied.code, applied.stderr).toBe(0);
    const table = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
        { name: 'x', valueType: 'DOUBLE' },
      ],
      Array.from({ length: 5000 }, (_v, i) => ({ user_id: i, ts: new Date(Date.UTC(2024, 0, 1) + i * 1000), x: i / 2 })),
    );
    for (const ext of ['parquet', 'arrow']) {
      const whole = join(dir, `whole.${ext}`);
      await writeTable(table, whole);
      const bytes = readFileSync(whole);
      f(`truncated.${ext}`, bytes.subarray(0, Math.floor(bytes.length / 2)));
      f(`header-only.${ext}`, bytes.subarray(0, 12));
    }
  });
  afterAll(async () => {
    await fresh?.drop();
  });

  const noIngestions = async () => {
    const list = await strata('--json', 'ingestions', 'v');
    expect(list.code, list.stderr).toBe(0);
    // A file refused while it was read leaves at most a 'failed' record of the attempt (with its error), no rows.
    const rows = JSON.parse(list.stdout) as { status: string; rowCount: number }[];
    expect(rows.filter((r) => r.status !== 'failed')).toEqual([]);
  };

  it('a missing ingest file', async () => {
    const err = await refused(['ingest', 'v', join(dir, 'nope.csv')], 3, 'INVALID_INPUT', /does not exist/);
    expect(err.where).toContain('nope.csv');
    await refused(['ingest', 'v', dir], 3, 'INVALID_INPUT', /is not a file/);
    await refused(
      [
        'validate',
        join(dir, 'nope.parquet'),
        '--suite',
        // A real suite (an empty one is refused on its own): the missing file is what must be reported.
        f('s.json', '{"expectations":[{"type":"expect_column_to_exist","kwargs":{"column":"x"}}]}'),
      ],
      3,
      'INVALID_INPUT',
      /does not exist/,
    );
    await noIngestions();
  });

  it('a YAML alias bomb', async () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const n = String.fromCharCode(97 + i);
      lines.push(
        `${n}: &${n} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    }
    const err = await refused(['apply', f('bomb.yaml', `${lines.join('\n')}\n`)], 3, 'INVALID_SPEC', /alias/);
    expect(err.where).toContain('bomb.yaml');
    await refused(['plan', join(dir, 'bomb.yaml')], 3, 'INVALID_SPEC', /alias/);
  });

  it('a truncated Parquet file in validate and in ingest', async () => {
    const suite = f(
      'suite.json',
      JSON.stringify({ name: 's', expectations: [{ type: 'expect_column_to_exist', kwargs: { column: 'x' } }] }),
    );
    const whole = await strata('validate', join(dir, 'whole.parquet'), '--suite', suite);
    expect(whole.code, whole.stderr).toBe(0);
    for (const name of ['truncated.parquet', 'header-only.parquet']) {
      const err = await refused(['validate', join(dir, name), '--suite', suite], 3, 'INVALID_INPUT', /Parquet/);
      expect(err.where).toContain(name);
      await refused(['ingest', 'v', join(dir, name)], 3, 'INVALID_INPUT', /Parquet/);
    }
    await noIngestions();
  });

  it('a truncated Arrow IPC file in validate and in ingest', async () => {
    const suite = join(dir, 'suite.json');
    for (const name of ['truncated.arrow', 'header-only.arrow']) {
      const err = await refused(['validate', join(dir, name), '--suite', suite], 3, 'INVALID_INPUT', /Arrow/);
      expect(err.message).not.toMatch(/Cannot read properties of null/);
      await refused(['ingest', 'v', join(dir, name)], 3, 'INVALID_INPUT', /Arrow/);
    }
    await noIngestions();
  });
});
