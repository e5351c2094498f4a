/**
 * Point-in-time correctness of every OfflineStore binding (Postgres lateral and sort-merge plans, the columnar
 * engine), checked against an independent naive reference (below: plain loops over arrays, Feast's rules written
 * out) on randomized cases (fast-check) and on hand-written edge cases. All bindings read the same commits.
 */
import { type FeatureViewSpec, tableFromRows } from '@strata/core';
import type { HistoricalRequest, PgRegistry, Pool, OfflineStore as PgOfflineStore, ViewVersion } from '@strata/offline-postgres';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conformance, openConformance, rowsBatch, VIEW_LAYOUTS } from './conformance.itest-helpers.js';

// ---- the reference ------------------------------------------------------------------------------------------------

export interface RefFeatureRow {
  keys: Record<string, string | number>;
  /** Event time, epoch ms. */
  ts: number;
  /** Created time, epoch ms, or null (the view has no created column, or the value is null). */
  created: number | null;
  commitSeq: number;
  /** Wall-clock time of the row's commit, epoch ms. */
  committedAt: number;
  values: Record<string, unknown>;
}

export interface RefView {
  name: string;
  joinKeys: string[];
  ttlMs: number;
  hasCreated: boolean;
  features: string[];
  rows: RefFeatureRow[];
}

export interface RefEntityRow {
  keys: Record<string, string | number>;
  ts: number;
}

export interface RefOptions {
  fullFeatureNames: boolean;
  asOfCommitSeq?: number;
  /** Per view: the highest commit sequence number committed at or before the as-of time (0: none). */
  asOfTime?: number;
  dropCreatedAfterEntityTime?: boolean;
}

/** Returns, for each entity row in order, an object of output column -> value (null when nothing matches). */
export function referencePit(entities: RefEntityRow[], views: RefView[], opts: RefOptions): Record<string, unknown>[] {
  return entities.map((e) => {
    const out: Record<string, unknown> = {};
    for (const v of views) {
      let best: RefFeatureRow | undefined;
      for (const r of v.rows) {
        if (!v.joinKeys.every((k) => r.keys[k] === e.keys[k])) continue;
        if (r.ts > e.ts) continue;
        if (v.ttlMs > 0 && r.ts < e.ts - v.ttlMs) continue;
        if (opts.asOfCommitSeq !== undefined && r.commitSeq > opts.asOfCommitSeq) continue;
        if (opts.asOfTime !== undefined && r.committedAt > opts.asOfTime) continue;
        if (opts.dropCreatedAfterEntityTime) {
          // The created time when the view has one and it is set, else the commit time.
          const known = v.hasCreated && r.created !== null ? r.created : r.committedAt;
          if (known > e.ts) continue;
        }
        if (!best || later(r, best)) best = r;
      }
      for (const f of v.features) out[opts.fullFeatureNames ? `${v.name}__${f}` : f] = best ? (best.values[f] ?? null) : null;
    }
    return out;
  });
}

/** True when a beats b: later event time, then later created time (null is oldest), then later commit. */
function later(a: RefFeatureRow, b: RefFeatureRow): boolean {
  if (a.ts !== b.ts) return a.ts > b.ts;
  const ac = a.created ?? Number.NEGATIVE_INFINITY;
  const bc = b.created ?? Number.NEGATIVE_INFINITY;
  if (ac !== bc) return ac > bc;
  return a.commitSeq > b.commitSeq;
}

// ---- fixtures -----------------------------------------------------------------------------------------------------

const H = 3600_000;
/** Times on an hour grid so that ties and TTL boundaries are hit often; some fall after the commits' wall clock. */
const BASE = Math.floor(Date.now() / H) * H - 3 * H;

const ENTITIES = [
  { name: 'user', joinKeys: [{ name: 'user_id', valueType: 'INT64' as const }] },
  { name: 'promo', joinKeys: [{ name: 'promo_id', valueType: 'STRING' as const }] },
];

function viewSpecs(ttlA: number, ttlB: number, ttlC: number): FeatureViewSpec[] {
  return [
    {
      name: 'va',
      entities: ['user'],
      timestampField: 'ts',
      ttlSeconds: ttlA,
      online: false,
      features: [
        { name: 'f', valueType: 'DOUBLE' },
        { name: 'n', valueType: 'INT64' },
      ],
    },
    {
      name: 'vb',
      entities: ['user', 'promo'],
      timestampField: 'ts',
      createdTimestampField: 'created',
      ttlSeconds: ttlB,
      online: false,
      features: [{ name: 'f', valueType: 'DOUBLE' }],
    },
    {
      name: 'vc',
      entities: ['promo'],
      timestampField: 'event_time',
      ttlSeconds: ttlC,
      online: false,
      features: [
        { name: 's', valueType: 'STRING' },
        { name: 'f', valueType: 'DOUBLE' },
      ],
    },
  ] as FeatureViewSpec[];
}

interface Ctx {
  conf: Conformance;
  fresh: { schema: string };
  pool: Pool;
  reg: PgRegistry;
  store: PgOfflineStore;
}

let counter = 0;

async function commitRows(ctx: Ctx, vv: ViewVersion, rows: Record<string, unknown>[]): Promise<{ seq: number; at: number }> {
  const id = `ing-${++counter}`;
  await ctx.store.stage(vv, id, [rowsBatch(rows)]);
  const c = await ctx.store.commit(id);
  const ing = await ctx.store.getIngestion(id);
  return { seq: c.commitSeq, at: (ing as { committedAt: Date }).committedAt.getTime() };
}

function entityTable(rows: { user_id: number; promo_id: string; ts: number; label?: number }[]): arrow.Table {
  return tableFromRows(
    [
      { name: 'user_id', valueType: 'INT64' },
      { name: 'promo_id', valueType: 'STRING' },
      { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
      { name: 'label', valueType: 'INT32' },
    ],
    rows.map((r, i) => ({ ...r, event_timestamp: new Date(r.ts), label: r.label ?? i })),
  );
}

function columnValues(t: arrow.Table, name: string): unknown[] {
  const v = t.getChild(name);
  if (!v) throw new Error(`no column ${name} in output (${t.schema.fields.map((f) => f.name).join(', ')})`);
  return [...v].map((x) => (typeof x === 'bigint' ? Number(x) : x));
}

// ---- generators ---------------------------------------------------------------------------------------------------

const users = fc.integer({ min: 0, max: 3 });
const promos = fc.constantFrom('a', 'b', 'c');
const hour = fc.integer({ min: 0, max: 7 });
const maybeNum = fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null });

const commitA = fc.array(fc.record({ user_id: users, h: hour, f: maybeNum, n: maybeNum }), { minLength: 1, maxLength: 6 });
const commitB = fc.array(
  fc.record({ user_id: users, promo_id: promos, h: hour, c: fc.option(hour, { nil: null }), f: maybeNum }),
  { minLength: 1, maxLength: 6 },
);
const commitC = fc.array(
  fc.record({ promo_id: promos, h: hour, s: fc.option(fc.string({ maxLength: 4 }), { nil: null }), f: maybeNum }),
  { minLength: 1, maxLength: 6 },
);
const ttl = fc.constantFrom(0, 3600, 7200);
const caseArb = fc.record({
  ttls: fc.tuple(ttl, ttl, ttl),
  // Commits interleaved across views: [view index, rows].
  commits: fc.array(
    fc.oneof(
      commitA.map((r) => ['va', r] as const),
      commitB.map((r) => ['vb', r] as const),
      commitC.map((r) => ['vc', r] as const),
    ),
    { maxLength: 6 },
  ),
  entities: fc.array(fc.record({ user_id: users, promo_id: promos, h: fc.integer({ min: -1, max: 9 }) }), {
    minLength: 1,
    maxLength: 12,
  }),
  asOf: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
  asOfTime: fc.boolean(),
  drop: fc.boolean(),
  views: fc.subarray(['va', 'vb', 'vc'], { minLength: 1 }),
});

/** Keeps one row per (keys, ts, created) within a commit: their order inside one commit is not defined. */
function dedupe<T extends Record<string, unknown>>(rows: readonly T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(key(r), r);
  return [...m.values()];
}

describe.each(VIEW_LAYOUTS)('point-in-time joins against the naive reference (view partitions: %i)', (viewPartitions: number) => {
  const ctx = {} as Ctx;
  beforeAll(async () => {
    ctx.conf = await openConformance({ viewPartitions });
    ctx.fresh = ctx.conf.fresh;
    ctx.pool = ctx.conf.pool;
    ctx.reg = ctx.conf.registry;
    ctx.store = ctx.conf.pg;
  });
  afterAll(async () => {
    await ctx.conf.close();
  });
  it('randomized cases agree with the reference (every binding, the same commits)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const project = `r_${++run}`;
        await ctx.reg.apply(project, {
          entities: ENTITIES,
          featureViews: viewSpecs(...c.ttls),
          featureServices: [],
        });
        const vvs: Record<string, ViewVersion> = {};
        const refs: Record<string, RefView> = {};
        for (const [i, name] of ['va', 'vb', 'vc'].entries()) {
          const vv = await ctx.reg.getView(project, name);
          vvs[name] = vv;
          refs[name] = {
            name,
            joinKeys: vv.joinKeys.map((k) => k.name),
            ttlMs: (c.ttls[i] as number) * 1000,
            hasCreated: name === 'vb',
            features: vv.spec.features.map((f) => f.name),
            rows: [],
          };
        }
        const seqs: { seq: number; at: number }[] = [];
        const commitsOf: Record<string, { seq: number; at: number }[]> = {};
        for (const [name, raw] of c.commits) {
          const vv = vvs[name] as ViewVersion;
          const ref = refs[name] as RefView;
          let rows: Record<string, unknown>[];
          if (name === 'va') {
            rows = dedupe(raw as { user_id: number; h: number }[], (r) => `${r.user_id}/${r.h}`).map((r) => ({
              ...r,
              ts: new Date(BASE + r.h * H),
            }));
          } else if (name === 'vb') {
            rows = dedupe(raw as { user_id: number; promo_id: string; h: number; c: number | null }[], (r) =>
              [r.user_id, r.promo_id, r.h, r.c].join('/'),
            ).map((r) => ({ ...r, ts: new Date(BASE + r.h * H), created: r.c === null ? null : new Date(BASE + r.c * H) }));
          } else {
            rows = dedupe(raw as { promo_id: string; h: number }[], (r) => `${r.promo_id}/${r.h}`).map((r) => ({
              ...r,
              event_time: new Date(BASE + r.h * H),
            }));
          }
          const { seq, at } = await commitRows(ctx, vv, rows);
          seqs.push({ seq, at });
          commitsOf[name] = [...(commitsOf[name] ?? []), { seq, at }];
          for (const r of rows) {
            ref.rows.push({
              keys: Object.fromEntries(ref.joinKeys.map((k) => [k, r[k] as string | number])),
              ts: ((r.ts ?? r.event_time) as Date).getTime(),
              created: r.created ? (r.created as Date).getTime() : null,
              commitSeq: seq,
              committedAt: at,
              values: Object.fromEntries(ref.features.map((f) => [f, r[f] ?? null])),
            });
          }
        }
        const asOfCommitSeq = c.asOf !== undefined && seqs.length ? seqs[c.asOf % seqs.length]?.seq : undefined;
        const asOfTime =
          c.asOfTime && seqs.length && asOfCommitSeq === undefined ? seqs[Math.floor(seqs.length / 2)]?.at : undefined;
        const ents = c.entities.map((e) => ({ user_id: e.user_id, promo_id: e.promo_id, ts: BASE + e.h * H }));
        const req: HistoricalRequest = {
          entityTable: entityTable(ents),
          timestampColumn: 'event_timestamp',
          selections: c.views.map((v) => ({ view: vvs[v] as ViewVersion, features: (vvs[v] as ViewVersion).spec.features })),
          fullFeatureNames: true,
          ...(asOfCommitSeq !== undefined ? { asOfCommitSeq } : {}),
          ...(asOfTime !== undefined ? { asOfTime: new Date(asOfTime) } : {}),
          ...(c.drop ? { dropCreatedAfterEntityTime: true } : {}),
        };
        const expected = referencePit(
          ents.map((e) => ({ keys: { user_id: e.user_id, promo_id: e.promo_id }, ts: e.ts })),
          c.views.map((v) => refs[v] as RefView),
          {
            fullFeatureNames: true,
            ...(asOfCommitSeq !== undefined ? { asOfCommitSeq } : {}),
            ...(asOfTime !== undefined ? { asOfTime } : {}),
            ...(c.drop ? { dropCreatedAfterEntityTime: true } : {}),
          },
        );
        // The reference's verdict on the query: an as-of before the first commit of every selected view that has
        // commits is invalid (it could only give nulls). Every binding must refuse exactly those, and answer all others.
        const firsts = c.views.flatMap((v) => commitsOf[v]?.slice(0, 1) ?? []);
        const referenceRefuses =
          (asOfCommitSeq !== undefined || asOfTime !== undefined) &&
          firsts.length > 0 &&
          !firsts.some(
            (f) => (asOfCommitSeq === undefined || f.seq <= asOfCommitSeq) && (asOfTime === undefined || f.at <= asOfTime),
          );
        for (const b of ctx.conf.bindings) {
          const answer = await ctx.conf.training(b, req).then(
            (table) => ({ table }),
            (error: unknown) => ({ error }),
          );
          if (referenceRefuses) {
            expect('error' in answer, `${b.name} answered a query the reference sees as invalid`).toBe(true);
            const err = (answer as { error: { code?: string } }).error;
            expect(err.code).toBe('INVALID_INPUT');
            expect(String(err)).toMatch(/before the first commit/);
            continue;
          }
          if ('error' in answer) throw answer.error;
          const out = answer.table;
          expect({ binding: b.name, rows: out.numRows }).toEqual({ binding: b.name, rows: ents.length });
          expect(columnValues(out, 'label')).toEqual(ents.map((_e, i) => i));
          for (const name of Object.keys(expected[0] ?? {})) {
            expect({ binding: b.name, column: name, values: columnValues(out, name) }).toEqual({
              binding: b.name,
              column: name,
              values: expected.map((r) => r[name]),
            });
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  describe('edge cases', () => {
    const project = 'edge';
    let va: ViewVersion;
    let vb: ViewVersion;
    let vc: ViewVersion;
    beforeAll(async () => {
      await ctx.reg.apply(project, { entities: ENTITIES, featureViews: viewSpecs(7200, 0, 0), featureServices: [] });
      va = await ctx.reg.getView(project, 'va');
      vb = await ctx.reg.getView(project, 'vb');
      vc = await ctx.reg.getView(project, 'vc');
      const t = (h: number) => new Date(BASE + h * H);
      await commitRows(ctx, va, [
        { user_id: 1, ts: t(1), f: 1, n: 10 },
        { user_id: 1, ts: t(3), f: 3, n: 30 },
        { user_id: 2, ts: t(1), f: 21, n: 210 },
      ]);
      // Same event time again in a later commit: the later commit wins (va has no created column).
      await commitRows(ctx, va, [{ user_id: 1, ts: t(3), f: 3.5, n: 35 }]);
      await commitRows(ctx, vb, [
        { user_id: 1, promo_id: 'a', ts: t(2), created: t(5), f: 100 }, // newest created wins a tie on event time
        { user_id: 1, promo_id: 'a', ts: t(2), created: null, f: 101 }, // null created loses to any created time
        { user_id: 1, promo_id: 'b', ts: t(2), created: t(2), f: 200 },
      ]);
      // Later commit, older created time: created beats commit order.
      await commitRows(ctx, vb, [
        { user_id: 1, promo_id: 'a', ts: t(2), created: t(4), f: 102 },
        { user_id: 1, promo_id: 'b', ts: t(2), created: t(2), f: 201 }, // same created: later commit wins
      ]);
      await commitRows(ctx, vc, [{ promo_id: 'a', event_time: t(0), s: 'promo-a', f: 0.5 }]);
    });

    const run = (
      rows: { user_id: number; promo_id: string; ts: number; label?: number }[],
      views: ViewVersion[],
      extra: Partial<HistoricalRequest> = {},
    ) =>
      Promise.all(
        ctx.conf.bindings.map((b) =>
          ctx.conf.training(b, {
            entityTable: entityTable(rows),
            timestampColumn: 'event_timestamp',
            selections: views.map((v) => ({ view: v, features: v.spec.features })),
            fullFeatureNames: true,
            ...extra,
          }),
        ),
      );

    it('breaks ties on event time by created time, then by commit order', async () => {
      for (const out of await run(
        [
          { user_id: 1, promo_id: 'a', ts: BASE + 2 * H },
          { user_id: 1, promo_id: 'b', ts: BASE + 2 * H },
          { user_id: 1, promo_id: 'a', ts: BASE + 3 * H },
        ],
        [va, vb],
      )) {
        expect(columnValues(out, 'vb__f')).toEqual([100, 201, 100]);
        expect(columnValues(out, 'va__f')).toEqual([1, 1, 3.5]);
      }
    });

    it('joins on the event time alone only where the manifest proves there is no tie, and answers the same', async () => {
      const engine = ctx.conf.columnar.columnar;
      const req = (views: ViewVersion[], extra: Partial<HistoricalRequest> = {}): HistoricalRequest => ({
        entityTable: entityTable([
          { user_id: 1, promo_id: 'a', ts: BASE + 3 * H },
          { user_id: 1, promo_id: 'b', ts: BASE + 2 * H },
          { user_id: 2, promo_id: 'a', ts: BASE + 4 * H },
        ]),
        timestampColumn: 'event_timestamp',
        selections: views.map((v) => ({ view: v, features: v.spec.features })),
        fullFeatureNames: true,
        ...extra,
      });
      const plan = await engine.explainTrainingSet(req([va, vb, vc]));
      const keyOf = (name: string, p = plan) => p.find((x) => x.view === name)?.key;
      // va: its second commit repeats (user 1, t3) of the first; vb: one commit holds (1, 'a', t2) twice (created
      // times differ); vc: one commit of unique rows.
      expect([keyOf('va'), keyOf('vb'), keyOf('vc')]).toEqual(['packed', 'packed', 'time']);
      // As of va's first commit, its visible rows have no tie: the event time alone.
      const firstVa = plan.find((x) => x.view === 'va')?.commits[0] as number;
      const pinned = await engine.explainTrainingSet(req([va], { asOfCommitSeq: firstVa }));
      expect(pinned).toEqual([{ view: 'va', version: va.version, commits: [firstVa], key: 'time' }]);
      expect((await engine.explainTrainingSet(req([vc], { dropCreatedAfterEntityTime: true })))[0]?.key).toBe('range');
      // What the sink recorded, in the manifest.
      const { rows } = await ctx.pool.query(
        `SELECT f.view, f.key_time_unique, f.min_event_us::text AS lo, f.max_event_us::text AS hi
         FROM "${ctx.fresh.schema}".commit_files f WHERE f.project = $1 ORDER BY f.commit_seq`,
        [project],
      );
      const us = (h: number) => String(BigInt(BASE + h * H) * 1000n);
      expect(rows.slice(0, 5)).toEqual([
        { view: 'va', key_time_unique: true, lo: us(1), hi: us(3) },
        { view: 'va', key_time_unique: true, lo: us(3), hi: us(3) },
        { view: 'vb', key_time_unique: false, lo: us(2), hi: us(2) },
        { view: 'vb', key_time_unique: true, lo: us(2), hi: us(2) },
        { view: 'vc', key_time_unique: true, lo: us(0), hi: us(0) },
      ]);
      // Both key forms give every binding's answer (the randomized cases above cover both at length).
      for (const out of await run(
        [
          { user_id: 1, promo_id: 'a', ts: BASE + 3 * H },
          { user_id: 2, promo_id: 'a', ts: BASE + 4 * H },
          { user_id: 2, promo_id: 'b', ts: BASE + 4 * H },
        ],
        [va, vc],
      )) {
        expect(columnValues(out, 'va__f')).toEqual([3.5, null, null]);
        expect(columnValues(out, 'vc__s')).toEqual(['promo-a', 'promo-a', null]);
      }
      for (const out of await run([{ user_id: 1, promo_id: 'a', ts: BASE + 3 * H }], [va], { asOfCommitSeq: firstVa })) {
        expect(columnValues(out, 'va__f')).toEqual([3]);
      }
      // A file written before facts were kept proves nothing; a backfill reads its facts from the file.
      await ctx.pool.query(
        `UPDATE "${ctx.fresh.schema}".commit_files SET key_time_unique = NULL, min_event_us = NULL, max_event_us = NULL
         WHERE project = $1 AND view = 'vc'`,
        [project],
      );
      expect(keyOf('vc', await engine.explainTrainingSet(req([vc])))).toBe('packed');
      expect(await engine.backfill(project)).toEqual({ commits: 0, rows: 0, facts: 1 });
      expect(keyOf('vc', await engine.explainTrainingSet(req([vc])))).toBe('time');
      expect(await engine.backfill(project)).toEqual({ commits: 0, rows: 0, facts: 0 });
    });

    it('keeps a row exactly at the TTL boundary and drops one a millisecond past it', async () => {
      for (const out of await run(
        [
          { user_id: 2, promo_id: 'a', ts: BASE + 3 * H },
          { user_id: 2, promo_id: 'a', ts: BASE + 3 * H + 1 },
        ],
        [va],
      )) {
        expect(columnValues(out, 'va__f')).toEqual([21, null]);
      }
    });

    it('reads entity times with offsets and stores UTC', async () => {
      const iso = new Date(BASE + 3 * H).toISOString(); // 'YYYY-MM-DDTHH:00:00.000Z'
      const hh = Number(iso.slice(11, 13));
      // The same instant written at +05:30 and at -03:00.
      const at = (offMin: number) => {
        const local = new Date(BASE + 3 * H + offMin * 60_000).toISOString().slice(0, 19);
        const sign = offMin >= 0 ? '+' : '-';
        const a = Math.abs(offMin);
        return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
      };
      const ents = new arrow.Table({
        user_id: arrow.vectorFromArray([1n, 1n, 1n], new arrow.Int64()),
        event_timestamp: arrow.vectorFromArray([at(330), at(-180), at(330).replace('T', ' ')], new arrow.Utf8()),
      });
      for (const b of ctx.conf.bindings) {
        const out = await ctx.conf.training(b, {
          entityTable: ents,
          timestampColumn: 'event_timestamp',
          selections: [{ view: va, features: va.spec.features }],
          fullFeatureNames: false,
        });
        expect(columnValues(out, 'f')).toEqual([3.5, 3.5, 3.5]);
      }
      // Feature rows ingested with an offset land in UTC.
      const vvx = va;
      await commitRows(ctx, vvx, [{ user_id: 9, ts: at(-180), f: 9, n: 9 }]);
      const { rows } = await ctx.pool.query(
        `SELECT to_char(ts AT TIME ZONE 'UTC', 'HH24') AS h FROM "${ctx.fresh.schema}"."${vvx.tableName}" WHERE user_id = 9`,
      );
      expect(Number(rows[0].h)).toBe(hh);
    });

    it('keeps duplicate entity rows, labels and row order; older rows and empty views give nulls', async () => {
      await ctx.reg.apply(project, {
        entities: ENTITIES,
        featureViews: [
          {
            name: 'empty',
            entities: ['user'],
            timestampField: 'ts',
            ttlSeconds: 0,
            online: false,
            features: [{ name: 'e', valueType: 'DOUBLE' }],
          } as FeatureViewSpec,
        ],
        featureServices: [],
      });
      const empty = await ctx.reg.getView(project, 'empty');
      for (const out of await run(
        [
          { user_id: 1, promo_id: 'a', ts: BASE + 4 * H, label: 7 },
          { user_id: 1, promo_id: 'a', ts: BASE + 4 * H, label: 7 },
          { user_id: 1, promo_id: 'a', ts: BASE - 10 * H, label: 8 },
        ],
        [va, vc, empty],
      )) {
        expect(columnValues(out, 'label')).toEqual([7, 7, 8]);
        expect(columnValues(out, 'va__f')).toEqual([3.5, 3.5, null]);
        expect(columnValues(out, 'vc__s')).toEqual(['promo-a', 'promo-a', null]);
        expect(columnValues(out, 'empty__e')).toEqual([null, null, null]);
        expect(columnValues(out, 'user_id')).toEqual([1, 1, 1]);
      }
    });

    it('joins views keyed by different entities and a composite key into one wide table', async () => {
      for (const out of await run([{ user_id: 1, promo_id: 'a', ts: BASE + 6 * H }], [va, vb, vc])) {
        expect(out.schema.fields.map((f) => f.name)).toEqual([
          'user_id',
          'promo_id',
          'event_timestamp',
          'label',
          'va__f',
          'va__n',
          'vb__f',
          'vc__s',
          'vc__f',
        ]);
        expect([columnValues(out, 'va__f')[0], columnValues(out, 'vb__f')[0], columnValues(out, 'vc__s')[0]]).toEqual([
          null, // +3h row is outside va's 2h TTL at +6h
          100,
          'promo-a',
        ]);
      }
    });

    it('refuses a name collision without fullFeatureNames and names columns view__feature with it', async () => {
      for (const b of ctx.conf.bindings) {
        const err = await ctx.conf
          .training(b, {
            entityTable: entityTable([{ user_id: 1, promo_id: 'a', ts: BASE }]),
            timestampColumn: 'event_timestamp',
            selections: [
              { view: va, features: va.spec.features },
              { view: vb, features: vb.spec.features },
            ],
            fullFeatureNames: false,
          })
          .catch((e) => e);
        expect(err.code).toBe('INVALID_INPUT');
        expect(err.message).toContain("'f'");
        expect(err.hint).toContain('fullFeatureNames');
      }
    });
  });
});
