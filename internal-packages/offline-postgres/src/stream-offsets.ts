/**
 * Kafka offsets of stream sources, kept in Postgres beside the rows they produced. A micro-batch's commit advances
 * each partition's offset from the value the processor read (compare and set) in the same transaction: a crash
 * between the two is impossible, and a processor that lost a partition to another in a rebalance cannot commit
 * rows the other already committed (its transaction fails with CONFLICT and rolls back).
 */
import { StrataError } from '@strata/core';
import type { Pool, PoolClient } from './pool.js';
import { qualified } from './sql.js';

export interface OffsetAdvance {
  partition: number;
  /** The next offset the processor read from this table (null: the partition had none stored yet). */
  from: string | null;
  /** The next offset after this batch. */
  to: string;
  /** State that holds as of `to` (window aggregations), stored with it. */
  state?: unknown;
}

/** The stored next offset of each partition of a topic for a consumer group. */
export async function readStreamOffsets(
  db: Pool | PoolClient,
  schema: string,
  group: string,
  topic: string,
): Promise<Map<number, string>> {
  const { rows } = await db.query<{ partition: number; next_offset: string | number }>(
    `SELECT partition, next_offset FROM ${qualified(schema, 'stream_offsets')} WHERE consumer_group = $1 AND topic = $2`,
    [group, topic],
  );
  return new Map(rows.map((r) => [r.partition, String(r.next_offset)]));
}

/** The stored state (window aggregations) of each partition that has one. */
export async function readStreamStates(
  db: Pool | PoolClient,
  schema: string,
  group: string,
  topic: string,
): Promise<Map<number, unknown>> {
  const { rows } = await db.query<{ partition: number; state: unknown }>(
    `SELECT partition, state FROM ${qualified(schema, 'stream_offsets')} WHERE consumer_group = $1 AND topic = $2 AND state IS NOT NULL`,
    [group, topic],
  );
  return new Map(rows.map((r) => [r.partition, r.state]));
}

/** Advances offsets inside the caller's transaction; throws CONFLICT when any partition moved since it was read. */
export async function advanceStreamOffsets(
  client: PoolClient,
  schema: string,
  group: string,
  topic: string,
  advances: OffsetAdvance[],
  ingestionId: string | null,
): Promise<void> {
  const t = qualified(schema, 'stream_offsets');
  for (const a of advances) {
    const res =
      a.from === null
        ? await client.query(
            `INSERT INTO ${t} (consumer_group, topic, partition, next_offset, ingestion_id, state) VALUES ($1,$2,$3,$4,$5,$6)
             ON CONFLICT DO NOTHING`,
            [group, topic, a.partition, a.to, ingestionId, a.state === undefined ? null : JSON.stringify(a.state)],
          )
        : await client.query(
            `UPDATE ${t} SET next_offset = $4, ingestion_id = $5, updated_at = now(), state = COALESCE($7, state)
             WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $6`,
            [group, topic, a.partition, a.to, ingestionId, a.from, a.state === undefined ? null : JSON.stringify(a.state)],
          );
    if (res.rowCount !== 1) {
      throw new StrataError('CONFLICT', `the stored offset of ${topic}[${a.partition}] for group '${group}' moved`, {
        where: `${topic}[${a.partition}]`,
        hint: 'another processor of the group committed this partition (a rebalance); read the stored offsets again',
        details: { topic, partition: a.partition, group, expected: a.from },
      });
    }
  }
}
