import type { FeatureViewSpec } from '@strata/core';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { messageDecoder } from './decode.js';

const keys = [{ name: 'user_id', valueType: 'INT64' as const }];
const view = (stream: Partial<NonNullable<FeatureViewSpec['stream']>>): FeatureViewSpec => ({
  name: 'clicks',
  entities: ['user'],
  timestampField: 'ts',
  ttlSeconds: 0,
  online: true,
  features: [
    { name: 'clicks', valueType: 'INT64' },
    { name: 'tags', valueType: 'STRING_LIST' },
  ],
  stream: { kind: 'kafka', brokers: ['127.0.0.1:9092'], topic: 't', consumerGroup: 'g', format: 'json', ...stream },
});

describe('the per-message check', () => {
  it('reads JSON with field paths and coerces each column to its type', () => {
    const d = messageDecoder(view({ fields: { user_id: 'user.id', ts: 'at' } }), keys);
    const ok = d(Buffer.from(JSON.stringify({ user: { id: '42' }, at: 1767225600000, clicks: 3, tags: ['a'] })));
    expect(ok).toEqual({ ok: true, row: { user_id: 42, ts: new Date(1767225600000), clicks: 3, tags: ['a'] } });
    // Features may be missing (null); keys and the event time may not.
    expect(d(Buffer.from(JSON.stringify({ user: { id: 1 }, at: '2026-01-01T00:00:00Z' })))).toMatchObject({
      ok: true,
      row: { clicks: null, tags: null },
    });
    expect(d(Buffer.from(JSON.stringify({ at: 1 })))).toMatchObject({ ok: false, code: 'MISSING_FIELD', column: 'user_id' });
    expect(d(Buffer.from(JSON.stringify({ user: { id: 1 }, at: 1, clicks: 1.5 })))).toMatchObject({
      ok: false,
      code: 'TYPE',
      column: 'clicks',
      reason: expect.stringMatching(/not an integer/),
    });
    expect(d(Buffer.from('nope'))).toMatchObject({ ok: false, code: 'DECODE' });
    expect(d(Buffer.from('"text"'))).toMatchObject({ ok: false, code: 'NOT_OBJECT' });
    expect(d(null)).toMatchObject({ ok: false, code: 'EMPTY' });
  });

  it('reads Avro with the view schema and rejects what does not decode', () => {
    const schema = {
      type: 'record',
      name: 'Click',
      fields: [
        { name: 'user_id', type: 'long' },
        { name: 'ts', type: 'long' },
        { name: 'clicks', type: ['null', 'long'], default: null },
        { name: 'tags', type: { type: 'array', items: 'string' } },
      ],
    };
    const d = messageDecoder(view({ format: 'avro', avroSchema: schema }), keys);
    const type = avro.Type.forSchema(schema as avro.Schema);
    const buf = type.toBuffer({ user_id: 7, ts: 1767225600000, clicks: 2, tags: ['x', 'y'] });
    expect(d(buf)).toEqual({ ok: true, row: { user_id: 7, ts: new Date(1767225600000), clicks: 2, tags: ['x', 'y'] } });
    expect(d(buf.subarray(0, 3))).toMatchObject({ ok: false, code: 'DECODE', reason: expect.stringMatching(/not valid Avro/) });
    expect(() =>
      messageDecoder(
        view({ format: 'avro', avroSchema: { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] } }),
        keys,
      ),
    ).toThrow(/Avro schema is not valid/);
  });
});
