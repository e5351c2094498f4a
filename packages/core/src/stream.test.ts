import { describe, expect, it } from 'vitest';
import { StrataError } from './errors.js';
import { type FeatureViewSpec, validateRepo } from './model.js';
import { parseRepoDocuments } from './repo.js';
import { deadLetterTopic, streamColumns } from './stream.js';

const user = { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] };
const view = (stream: unknown): FeatureViewSpec => ({
  name: 'clicks',
  entities: ['user'],
  timestampField: 'ts',
  ttlSeconds: 0,
  online: true,
  features: [
    { name: 'clicks', valueType: 'INT64' },
    { name: 'amount', valueType: 'DOUBLE' },
  ],
  stream: stream as FeatureViewSpec['stream'],
});

function problems(stream: unknown): string[] {
  try {
    validateRepo({ entities: [user], featureViews: [view(stream)], featureServices: [] });
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('INVALID_SPEC');
    return (err as StrataError).details.problems as string[];
  }
}

describe('stream sources', () => {
  const ok = { kind: 'kafka', brokers: ['127.0.0.1:9092'], topic: 'clicks', consumerGroup: 'strata-clicks', format: 'json' };

  it('accepts a JSON source and defaults the dead-letter topic and field names', () => {
    expect(problems(ok)).toEqual([]);
    const v = view({ ...ok, fields: { user_id: 'user.id' } });
    expect(deadLetterTopic(v.stream as never)).toBe('clicks.dlq');
    const cols = streamColumns(v, user.joinKeys);
    expect(cols.map((c) => [c.name, c.field.join('.'), c.required])).toEqual([
      ['user_id', 'user.id', true],
      ['ts', 'ts', true],
      ['clicks', 'clicks', false],
      ['amount', 'amount', false],
    ]);
  });

  it('lists every problem of a bad source with where it is', () => {
    const p = problems({
      kind: 'kinesis',
      brokers: ['nohost'],
      topic: 'bad topic',
      consumerGroup: '',
      format: 'xml',
      deadLetterTopic: 'bad topic',
      fields: { nope: 'x', clicks: 'a..b' },
      batch: { maxRows: 0, maxDelayMs: 1 },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^feature view 'clicks'\.stream: kind must be "kafka"/),
        expect.stringMatching(/broker "nohost" is not host:port/),
        expect.stringMatching(/topic "bad topic" is not a valid Kafka topic name/),
        expect.stringMatching(/deadLetterTopic "bad topic"/),
        expect.stringMatching(/consumerGroup must be a non-empty name/),
        expect.stringMatching(/format must be json or avro/),
        expect.stringMatching(/fields: 'nope' is not a column of the view/),
        expect.stringMatching(/fields.clicks: "a..b" is not a field path/),
        expect.stringMatching(/batch.maxRows/),
        expect.stringMatching(/batch.maxDelayMs/),
      ]),
    );
    expect(p.length).toBe(10);
  });

  it('checks an Avro source against its schema', () => {
    const schema = {
      type: 'record',
      name: 'Click',
      fields: [
        { name: 'user_id', type: 'long' },
        { name: 'clicks', type: 'long' },
      ],
    };
    expect(problems({ ...ok, format: 'avro' })).toEqual([expect.stringMatching(/format avro needs avroSchema/)]);
    expect(problems({ ...ok, format: 'avro', avroSchema: '{not json' })).toEqual([
      expect.stringMatching(/avroSchema is not valid JSON/),
    ]);
    expect(problems({ ...ok, format: 'avro', avroSchema: schema })).toEqual([
      expect.stringMatching(/the Avro schema has no field 'ts' for column 'ts'/),
    ]);
    const withTs = { ...schema, fields: [...schema.fields, { name: 'at', type: 'long' }] };
    expect(problems({ ...ok, format: 'avro', avroSchema: JSON.stringify(withTs), fields: { ts: 'at' } })).toEqual([]);
  });

  it('reads a stream source from a repo document', () => {
    const doc = parseRepoDocuments([
      { kind: 'entity', name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] },
      { kind: 'feature_view', ...view(ok) },
    ]);
    expect(doc.featureViews[0]?.stream).toEqual(ok);
  });

  it('checks an aggregate source: every feature aggregated, numeric, one window definition', () => {
    const agg = {
      ...ok,
      aggregate: {
        windowSeconds: 60,
        slideSeconds: 30,
        features: [
          { name: 'clicks', function: 'count' },
          { name: 'amount', function: 'sum', field: 'amount' },
        ],
      },
    };
    expect(problems(agg)).toEqual([]);
    expect(
      problems({
        ...ok,
        aggregate: {
          windowSeconds: 60,
          slideSeconds: 7,
          features: [
            { name: 'clicks', function: 'sum' },
            { name: 'nope', function: 'avg' },
          ],
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/aggregate.features\[0\]: sum needs a column/),
        expect.stringMatching(/slideSeconds must be a whole number > 0 that divides windowSeconds/),
        expect.stringMatching(/feature 'clicks' holds a sum: make it DOUBLE/),
        expect.stringMatching(/aggregate.features\[1\]: function must be one of/),
        expect.stringMatching(/'nope' is not a feature of the view/),
        expect.stringMatching(/feature 'amount' has no aggregation/),
      ]),
    );
  });
});
