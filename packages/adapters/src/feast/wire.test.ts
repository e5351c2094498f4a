import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { T } from './schema.js';
import { decodeMessage, encodeToBytes } from './wire.js';

const fixture = new Uint8Array(readFileSync(new URL('../__fixtures__/feast-0.67-registry.db', import.meta.url)));

describe('protobuf codec', () => {
  it('re-encodes a real Feast registry byte for byte', () => {
    const msg = decodeMessage(T.Registry, fixture);
    expect(Buffer.compare(Buffer.from(encodeToBytes(T.Registry, msg)), Buffer.from(fixture))).toBe(0);
  });

  it('keeps fields it does not know, in field-number order', () => {
    const msg = decodeMessage(T.FeatureSpecV2, encodeToBytes(T.FeatureSpecV2, { name: 'x', value_type: 4 }));
    const withUnknown = { ...msg, $unknown: [Buffer.from([0x48, 0x05]).toString('base64')] }; // field 9 varint 5
    const bytes = encodeToBytes(T.FeatureSpecV2, withUnknown);
    const again = decodeMessage(T.FeatureSpecV2, bytes);
    expect(again).toEqual(withUnknown);
  });
});
