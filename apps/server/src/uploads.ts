/**
 * Uploads are streamed to a file in the server's data folder (never held in memory), counted against the upload
 * limit as they arrive. A cut-off or oversized upload leaves nothing behind: the partial file is removed and no
 * staging table was ever created, because staging starts only once the whole body has arrived.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidInput, StrataError } from '@strata/core';

export type UploadFormat = 'csv' | 'parquet' | 'arrow' | 'jsonl';

const BY_TYPE: Record<string, UploadFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
  'application/vnd.apache.arrow.stream': 'arrow',
  'application/vnd.apache.arrow.file': 'arrow',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
};

/** Content types the server reads as raw upload streams. */
export const UPLOAD_TYPES = [...Object.keys(BY_TYPE), 'application/octet-stream'];

export function uploadFormat(contentType: string | undefined, format: string | undefined): UploadFormat {
  if (format) {
    const f = format.toLowerCase();
    if (f === 'csv' || f === 'parquet' || f === 'arrow' || f === 'jsonl') return f;
    if (f === 'ipc' || f === 'feather') return 'arrow';
    if (f === 'ndjson' || f === 'json') return 'jsonl';
    throw invalidInput(`unknown format '${format}'`, {
      where: 'format',
      details: { field: 'format' },
      hint: 'use csv, parquet, arrow or jsonl',
    });
  }
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const f = BY_TYPE[type];
  if (!f)
    throw invalidInput(`cannot tell the upload's format from Content-Type '${type || '(none)'}'`, {
      where: 'Content-Type',
      details: { field: 'Content-Type' },
      hint: `send one of ${Object.keys(BY_TYPE).join(', ')}, or ?format=csv|parquet|arrow|jsonl`,
    });
  return f;
}

export class UploadTooLarge extends StrataError {
  constructor(limit: number) {
    super('INVALID_INPUT', `the upload is larger than the limit of ${limit} bytes`, {
      hint: 'split the data into several ingestions, or raise server.uploadLimitBytes',
      details: { limitBytes: limit },
    });
  }
}

/** Streams a request body into a new file; returns its path and size. On any failure the file is removed. */
export async function spoolUpload(
  body: Readable,
  dir: string,
  format: UploadFormat,
  limit: number,
  declaredLength?: number,
): Promise<{ path: string; bytes: number }> {
  if (declaredLength !== undefined && declaredLength > limit) {
    body.resume();
    throw new UploadTooLarge(limit);
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, `upload-${randomUUID()}.${format}`);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > limit) cb(new UploadTooLarge(limit));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(path));
    if (declaredLength !== undefined && bytes < declaredLength)
      throw invalidInput(`the upload ended after ${bytes} of ${declaredLength} bytes`, { hint: 'send it again' });
    if (bytes === 0) throw invalidInput('the upload is empty', { hint: 'send the file as the request body' });
    return { path, bytes };
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof StrataError) throw err;
    throw invalidInput(`the upload was cut off: ${(err as Error).message}`, {
      hint: 'nothing was staged or committed; send it again',
    });
  }
}
