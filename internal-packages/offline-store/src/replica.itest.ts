/**
 * The read replica of training sets (offline.readUrl) on a real streaming replica: a hot standby of the stack's
 * Postgres made by `infra/stack.sh replica-up` (pg_basebackup -R). Training sets run there (seen in the replica's
 * own pg_stat_activity while the cursor is open) and equal the primary's; a write through the read URL is refused;
 * a replica that has not replayed the commits a request needs (replay paused for real) is waited for or skipped for
 * the primary, never read stale. Training sets built by the workflow (createTrainingSet, then its chunk activities
 * buildTrainingChunk and finishTrainingSet) join there too, their entity rows read from the primary's table.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromRows } from '@strata/core';
import {
  buildTrainingChunk,
  createPool,
  createTrainingSet,
  finishTrainingSet,
  openReadReplica,
  PgRegistry,
  type Pool,
  type ReadRoute,
  type TrainingChunkCursor,
  type ViewVersion,
} from '@strata/offline-postgres';
import {
  type FreshSchema,
  freshSchema,
  inRecovery,
  pauseReplay,
  requireOrSkip,
  resumeReplay,
  startPgReplica,
} from '@strata/testkit';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOfflineStore, type PostgresOfflineStore } from './bindings.js';
import { rowsBatch } from './conformance.itest-helpers.js';
import type { TrainingRequest } from './store.js';

const replica = await startPgReplica();
const skip = requireOrSkip('read replica of training sets', replica.missing);
const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** Rows of a table as plain JSON objects (bigints as numbers, lists as arrays), for comparing results. */
function plain(t: arrow.Table): Record<string, unknown>[] {
  return JSON.parse(JSON.stringify(t.toArray(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

async function collect(gen: AsyncIterable<arrow.RecordBatch>): Promise<arrow.Table> {
  const out: arrow.RecordBatch[] = [];
  for await (const b of gen) out.push(b);
  return new arrow.Table(out);
}

/** Backends other than ours on `url` whose current query reads `schema`'s tables with inline entity rows. */
async function joinsOn(url: string, schema: string): Promise<{ application_name: string; state: string }[]> {
  const c = createPool(url, { max: 1, applicationName: 'strata-test-probe' });
  try {
    const { rows } = await c.query<{ application_name: string; state: string }>(
      `SELECT application_name, state FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND query LIKE '%unnest(%' AND query LIKE '%' || $1 || '%'`,
      [schema],
    );
    return rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(skip)('read replica of training sets (offline.readUrl, a real hot standby)', () => {
  const replicaUrl = replica.url as string;
  let fresh: FreshSchema;
  let pool: Pool;
  let registry: PgRegistry;
  /** No read URL: everything on the primary. */
  let primary: PostgresOfflineStore;
  /** offline.readUrl = the replica, waiting up to 300 ms for it. */
  let viaReplica: PostgresOfflineStore;
  let va: ViewVersion;
  let vb: ViewVersion;
  let n = 0;

  async function commit(vv: ViewVersion, rows: Record<string, unknown>[]): Promise<number> {
    const id = `ing-${++n}`;
    await primary.stage(vv, id, [rowsBatch(rows)]);
    return (await primary.commit(id)).commitSeq;
  }

  function request(extra: Partial<TrainingRequest> = {}): TrainingRequest {
    const entities = tableFromRows(
      [
        { name: 'user_id', valueType: 'INT64' },
        { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        { name: 'label', valueType: 'INT32' },
        { name: 'tags', valueType: 'STRING_LIST' },
      ],
      Array.from({ length: 200 }, (_, i) => ({
        user_id: i % 7,
        event_timestamp: new Date(T0 + (i % 9) * H),
        label: i,
        tags: i % 3 ? [`t${i}`, 'x,"y"'] : null,
      })),
    );
    return {
      entityTable: entities,
      timestampColumn: 'event_timestamp',
      selections: [
        { view: va, features: va.spec.features },
        { view: vb, features: vb.spec.features },
      ],
      fullFeatureNames: true,
      ...extra,
    };
  }

  /** A training set through `store`, with where it ran. */
  async function training(store: PostgresOfflineStore, req: TrainingRequest): Promise<{ t: arrow.Table; route?: ReadRoute }> {
    let route: ReadRoute | undefined;
    const t = await collect(store.streamTrainingSet({ ...req, onRoute: (r) => (route = r) }));
    return { t, ...(route ? { route } : {}) };
  }

  let outDir: string;
  let setCount = 0;

  /**
   * A training set built the way the workflow builds it: createTrainingSet (entity rows into the primary's unlogged
   * table), one buildTrainingChunk per range (segments of 30 rows, 90 entity rows per replica query), then
   * finishTrainingSet into an Arrow file. `probe` runs after each segment while the chunk's join is still open.
   */
  async function workflowBuilt(
    store: PostgresOfflineStore,
    req: TrainingRequest,
    ranges: { from: number; to: number }[],
    probe?: (cursor: TrainingChunkCursor) => Promise<void>,
  ): Promise<{ t: arrow.Table; routes: (ReadRoute | undefined)[]; segments: number[] }> {
    const id = `wf-${++setCount}`;
    const uri = join(outDir, `${id}.arrow`);
    const ts = await createTrainingSet(store.postgres, 'p', id, req, { uri });
    expect(ranges.at(-1)?.to).toBe(ts.entityRows);
    const routes: (ReadRoute | undefined)[] = [];
    const segments: number[] = [];
    for (const [c, range] of ranges.entries()) {
      const built = await buildTrainingChunk(store.postgres, id, c, range, {
        segmentRows: 30,
        inlineRows: 90,
        ...(probe ? { onSegment: probe } : {}),
      });
      routes.push(built.route);
      segments.push(built.cursor.segments);
    }
    const out = await finishTrainingSet(store.postgres, id, ranges.length);
    expect(out.rows).toBe(ts.entityRows);
    return { t: arrow.tableFromIPC(await readFile(out.uri)), routes, segments };
  }

  beforeAll(async () => {
    expect(await inRecovery(replicaUrl)).toBe(true);
    outDir = await mkdtemp(join(tmpdir(), 'strata-replica-'));
    fresh = await freshSchema('strata_replica');
    pool = createPool(fresh.url);
    registry = new PgRegistry(pool, fresh.schema);
    await registry.init();
    primary = openOfflineStore(pool, registry);
    viaReplica = openOfflineStore(pool, registry, { readUrl: replicaUrl, readMaxWaitMs: 300 });
    await registry.apply('p', {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' }] }],
      featureViews: [
        {
          name: 'va',
          entities: ['user'],
          timestampField: 'ts',
          ttlSeconds: 0,
          online: false,
          features: [
            { name: 'f', valueType: 'DOUBLE' },
            { name: 's', valueType: 'STRING' },
          ],
        },
        {
          name: 'vb',
          entities: ['user'],
          timestampField: 'ts',
          createdTimestampField: 'created',
          ttlSeconds: 4 * 3600,
          online: false,
          features: [{ name: 'n', valueType: 'INT64' }],
        },
      ],
      featureServices: [],
    });
    va = await registry.getView('p', 'va');
    vb = await registry.getView('p', 'vb');
    for (let c = 0; c < 3; c++) {
      await commit(
        va,
        Array.from({ length: 40 }, (_, i) => ({
          user_id: i % 7,
          ts: new Date(T0 + ((i + c) % 8) * H),
          f: i + c / 10,
          s: `c${c}`,
        })),
      );
      await commit(
        vb,
        Array.from({ length: 30 }, (_, i) => ({
          user_id: i % 7,
          ts: new Date(T0 + (i % 6) * H),
          created: new Date(T0 + (c + 10) * H),
          n: c * 100 + i,
        })),
      );
    }
  });

  afterAll(async () => {
    await resumeReplay(replicaUrl).catch(() => {});
    await viaReplica?.close();
    await primary?.close();
    await pool?.end();
    await fresh?.drop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('runs the join on the replica (its own pg_stat_activity, not the primary) and gives the primary its rows', async () => {
    const want = await training(primary, request());
    expect(want.route).toBeUndefined();
    expect(want.t.numRows).toBe(200);

    // Mid-stream (cursor open, one small batch read), the join is a backend of the replica and of no one else.
    let route: ReadRoute | undefined;
    const gen = viaReplica.streamTrainingSet({ ...request({ batchSize: 10 }), onRoute: (r) => (route = r) });
    const rest: arrow.RecordBatch[] = [];
    try {
      const first = await gen.next();
      expect(first.done).toBe(false);
      rest.push(first.value as arrow.RecordBatch);
      expect((await joinsOn(replicaUrl, fresh.schema)).map((b) => b.application_name)).toEqual(['strata-read']);
      expect(await joinsOn(fresh.url, fresh.schema)).toEqual([]);
      for await (const b of { [Symbol.asyncIterator]: () => gen }) rest.push(b);
    } finally {
      await gen.return(undefined);
    }
    expect(route).toEqual({ server: 'replica' });
    const got = new arrow.Table(rest);
    expect(plain(got)).toEqual(plain(want.t));
    // The features are really there (not a table of nulls that would match an empty primary too).
    expect(plain(got).filter((r) => r.va__f !== null && r.vb__n !== null).length).toBeGreaterThan(50);
    expect(plain(got)[1]?.tags).toEqual(['t1', 'x,"y"']);
  });

  it('pinned to a commit and as of a time, the replica gives the primary its rows', async () => {
    const ings = await primary.history('p', 'va');
    const pin = ings[1]?.commitSeq as number;
    for (const extra of [{ asOfCommitSeq: pin }, { asOfTime: new Date(Date.now() + 1000) }]) {
      const want = await training(primary, request(extra));
      const got = await training(viaReplica, request(extra));
      expect(got.route).toEqual({ server: 'replica' });
      expect(plain(got.t)).toEqual(plain(want.t));
    }
  });

  it('refuses a write through the read URL: on the standby, and on a writable server named as read URL', async () => {
    const reader = viaReplica.postgres.options.replica?.pool as Pool;
    const write = `INSERT INTO ${fresh.schema}.watermarks (project, view, commit_seq) VALUES ('p', 'x', 1)`;
    await expect(reader.query(write)).rejects.toMatchObject({ code: '25006' });
    // A read URL that names the primary by mistake still cannot write: every session is read-only.
    const misnamed = openReadReplica(fresh.url);
    try {
      await expect(misnamed.pool.query(write)).rejects.toMatchObject({ code: '25006' });
      expect((await misnamed.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await misnamed.pool.end();
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${fresh.schema}.watermarks WHERE view = 'x'`)).rows[0].n).toBe(0);
  });

  it('with replay paused: a commit the replica lacks is read from the primary, never stale; an older pin stays on the replica', async () => {
    const before = await training(viaReplica, request());
    expect(before.route?.server).toBe('replica');
    const oldPin = (await primary.history('p', 'vb'))[0]?.commitSeq as number;
    await pauseReplay(replicaUrl);
    try {
      const seq = await commit(
        va,
        Array.from({ length: 7 }, (_, u) => ({ user_id: u, ts: new Date(T0 + 20 * H), f: 1000 + u, s: 'late' })),
      );
      const late = request({ entityTable: undefined });
      const entities = tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        Array.from({ length: 7 }, (_, u) => ({ user_id: u, event_timestamp: new Date(T0 + 21 * H) })),
      );
      for (const extra of [{}, { asOfCommitSeq: seq }]) {
        const req = { ...late, entityTable: entities, ...extra };
        const want = await training(primary, req);
        expect(plain(want.t).map((r) => r.va__s)).toEqual(Array(7).fill('late'));
        const got = await training(viaReplica, req);
        expect(got.route?.server).toBe('primary');
        expect(got.route?.reason).toMatch(new RegExp(`commit ${seq} of view 'va' is not on the replica yet after 300 ms`));
        expect(plain(got.t)).toEqual(plain(want.t));
      }
      // A pin the replica replayed before the pause needs nothing it lacks.
      const pinned = await training(viaReplica, request({ asOfCommitSeq: oldPin }));
      expect(pinned.route).toEqual({ server: 'replica' });
      expect(plain(pinned.t)).toEqual(plain((await training(primary, request({ asOfCommitSeq: oldPin }))).t));

      // A longer wait: replay resumes while the read waits, and the read then runs on the replica.
      const patient = openOfflineStore(pool, registry, { readUrl: replicaUrl, readMaxWaitMs: 20_000 });
      try {
        const req = { ...late, entityTable: entities };
        const resume = new Promise((r) => setTimeout(r, 500)).then(() => resumeReplay(replicaUrl));
        const got = await training(patient, req);
        await resume;
        expect(got.route).toEqual({ server: 'replica' });
        expect(plain(got.t).map((r) => r.va__s)).toEqual(Array(7).fill('late'));
      } finally {
        await patient.close();
      }
    } finally {
      await resumeReplay(replicaUrl);
    }
  });

  it('a workflow-built training set joins on the replica, entity rows from the primary table as arrays, and equals the primary', async () => {
    const want = await training(primary, request());
    // On the primary (no read URL) the chunks report no route; on the replica every chunk reports it.
    const onPrimary = await workflowBuilt(primary, request(), [
      { from: 0, to: 120 },
      { from: 120, to: 200 },
    ]);
    expect(onPrimary.routes).toEqual([undefined, undefined]);
    expect(plain(onPrimary.t)).toEqual(plain(want.t));

    const seen: { replica: string[]; primary: number }[] = [];
    const got = await workflowBuilt(
      viaReplica,
      request(),
      [
        { from: 0, to: 120 },
        { from: 120, to: 200 },
      ],
      async () => {
        seen.push({
          replica: (await joinsOn(replicaUrl, fresh.schema)).map((b) => b.application_name),
          primary: (await joinsOn(fresh.url, fresh.schema)).length,
        });
      },
    );
    expect(got.routes).toEqual([{ server: 'replica' }, { server: 'replica' }]);
    // 120 rows: queries of 90 and 30 entity rows, segments of 30 each; 80 rows: 30, 30, 20.
    expect(got.segments).toEqual([4, 3]);
    // After every segment, the join (unnest over the entity arrays) was open on the replica and not on the primary.
    expect(seen).toHaveLength(7);
    expect(seen.every((s) => s.replica.length === 1 && s.replica[0] === 'strata-read' && s.primary === 0)).toBe(true);
    expect(got.t.numRows).toBe(200);
    expect(plain(got.t)).toEqual(plain(want.t));
    expect(plain(got.t).filter((r) => r.va__f !== null && r.vb__n !== null).length).toBeGreaterThan(50);
    expect(plain(got.t)[1]?.tags).toEqual(['t1', 'x,"y"']);
  });

  it('a workflow-built training set with replay paused: its chunk reads the primary with the reason, or waits for the replica', async () => {
    await pauseReplay(replicaUrl);
    try {
      const seq = await commit(
        va,
        Array.from({ length: 7 }, (_, u) => ({ user_id: u, ts: new Date(T0 + 30 * H), f: 2000 + u, s: 'later' })),
      );
      const entities = tableFromRows(
        [
          { name: 'user_id', valueType: 'INT64' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        Array.from({ length: 7 }, (_, u) => ({ user_id: u, event_timestamp: new Date(T0 + 31 * H) })),
      );
      const req = request({ entityTable: entities });
      const want = await training(primary, req);
      expect(plain(want.t).map((r) => r.va__s)).toEqual(Array(7).fill('later'));
      // The set is pinned to the latest commit when it is created, the paused replica lacks it: the primary, and why.
      const fell = await workflowBuilt(viaReplica, req, [{ from: 0, to: 7 }]);
      expect(fell.routes[0]?.server).toBe('primary');
      expect(fell.routes[0]?.reason).toMatch(new RegExp(`commit ${seq} of view 'va' is not on the replica yet after 300 ms`));
      expect(plain(fell.t)).toEqual(plain(want.t));

      // Allowed to wait: replay resumes while the chunk waits, and the chunk then joins on the replica.
      const patient = openOfflineStore(pool, registry, { readUrl: replicaUrl, readMaxWaitMs: 20_000 });
      try {
        const resume = new Promise((r) => setTimeout(r, 500)).then(() => resumeReplay(replicaUrl));
        const waited = await workflowBuilt(patient, req, [{ from: 0, to: 7 }]);
        await resume;
        expect(waited.routes).toEqual([{ server: 'replica' }]);
        expect(plain(waited.t)).toEqual(plain(want.t));
      } finally {
        await patient.close();
      }
    } finally {
      await resumeReplay(replicaUrl);
    }
  });

  it('falls back to the primary, with the reason, when the replica cannot be reached', async () => {
    const down = openOfflineStore(pool, registry, { readUrl: 'postgres://strata@127.0.0.1:1/strata' });
    try {
      const want = await training(primary, request());
      const got = await training(down, request());
      expect(got.route?.server).toBe('primary');
      expect(got.route?.reason).toMatch(/the replica is not reachable/);
      expect(plain(got.t)).toEqual(plain(want.t));
    } finally {
      await down.close();
    }
  });
});
