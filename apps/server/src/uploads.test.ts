import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowIpcStream } from './arrow-stream.js';
import { redactSecrets, redactUrlKey } from './redact.js';
import { spoolUpload, uploadFormat } from './uploads.js';

describe('uploads', () => {
  it('tells the format from ?format= or the Content-Type, else 400 with the field', () => {
    expect(uploadFormat('text/csv; charset=utf-8', undefined)).toBe('csv');
    expect(uploadFormat('application/vnd.apache.arrow.stream', undefined)).toBe('arrow');
    expect(uploadFormat('application/octet-stream', 'parquet')).toBe('parquet');
    expect(() => uploadFormat('application/octet-stream', undefined)).toThrow(/cannot tell the upload's format/);
    expect(() => uploadFormat(undefined, 'xlsx')).toThrow(/unknown format 'xlsx'/);
  });

  it('stops at the limit and removes the partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-up-'));
    const body = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
    await expect(spoolUpload(body, dir, 'csv', 1000)).rejects.toThrow(/larger than the limit of 1000 bytes/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes the file of an upload that is cut off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-up-'));
    const body = new PassThrough();
    const p = spoolUpload(body, dir, 'csv', 1 << 20, 100);
    body.write('a,b\n1,2\n');
    setTimeout(() => body.destroy(new Error('aborted')), 20);
    await expect(p).rejects.toThrow(/cut off/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('arrowIpcStream', () => {
  it('writes a valid IPC stream batch by batch', async () => {
    const t = arrow.tableFromArrays({ a: Int32Array.from([1, 2, 3]), s: ['x', 'y', 'z'] });
    const batches = [t.slice(0, 2).batches[0], t.slice(2).batches[0]] as arrow.RecordBatch[];
    const chunks: Buffer[] = [];
    for await (const c of arrowIpcStream(
      (async function* () {
        yield* batches;
      })(),
    ))
      chunks.push(c);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const back = arrow.tableFromIPC(Buffer.concat(chunks));
    expect(back.numRows).toBe(3);
    expect(back.getChild('s')?.toArray()).toEqual(['x', 'y', 'z']);
  });
});

describe('redactSecrets', () => {
  it('masks webhook URLs (also quoted inside strings) and URL passwords', () => {
    const body = JSON.stringify({
      spec: { monitoring: { alertWebhook: 'https://hooks.example/T0/secret-token' } },
      text: `monitoring changed: ${JSON.stringify({ alertWebhook: 'https://hooks.example/T0/secret-token' })}`,
      error: 'cannot reach postgres://strata:hunter2@db:5432/x',
    });
    const out = redactSecrets(body);
    expect(out).not.toContain('secret-token');
    expect(out).not.toContain('hunter2');
    expect(JSON.parse(out).spec.monitoring.alertWebhook).toBe('***');
    expect(JSON.parse(out).error).toBe('cannot reach postgres://strata:***@db:5432/x');
  });
});

describe('redactUrlKey', () => {
  it('masks the key query parameter wherever it is, and nothing else', () => {
    expect(redactUrlKey('/api/v1/projects/p/runs/x/events?key=strata_abc')).toBe('/api/v1/projects/p/runs/x/events?key=***');
    expect(redactUrlKey('/e?a=1&key=strata_abc&b=2')).toBe('/e?a=1&key=***&b=2');
    expect(redactUrlKey('/e?KEY=strata_abc#x')).toBe('/e?KEY=***#x');
    expect(redactUrlKey('/e?monkey=1&keys=2')).toBe('/e?monkey=1&keys=2');
  });
});
