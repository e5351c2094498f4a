/**
 * The one conformance suite every online store binding runs (the standalone Redis and the Redis Cluster bindings
 * today): value round trips and statuses, newer-wins, TTL and OUTSIDE_MAX_AGE, several views, deleteView, key expiry,
 * bad input, a lost write script, and Feast byte compatibility against vectors made by the real feast package.
 * The suite talks to the store only through the OnlineStore interface; what it checks underneath (the stored bytes)
 * goes through the `raw` and `layout` a binding passes in, so the suite itself knows no database commands.
 */
import { randomUUID } from 'node:crypto';
import type { FeatureViewSpec, JoinKey, ValueTypeName } from '@strata/core';
import { type OnlineStore, type OnlineViewRef, readFeatureRecords } from '@strata/online-store';
import type * as Vitest from 'vitest';

/** The test functions the suite registers with (pass `import * as vitest from 'vitest'`): testkit never loads vitest itself. */
export type TestApi = Pick<typeof Vitest, 'afterAll' | 'beforeAll' | 'describe' | 'expect' | 'it'>;

/** Direct access to the bytes a binding stored, for the layout checks. */
export interface OnlineRawAccess {
  /** Every field of the hash at `key`, by the field's hex. */
  hashFields(key: Buffer): Promise<Map<string, Buffer>>;
  exists(key: Buffer): Promise<boolean>;
  /** Milliseconds to expiry; -1 without expiry, -2 when the key is missing. */
  pttl(key: Buffer): Promise<number>;
  /** Makes the servers forget the write script (SCRIPT FLUSH everywhere). */
  forgetScripts(): Promise<void>;
  /** Removes every key of a project (test cleanup). */
  dropProject(project: string): Promise<void>;
  close(): Promise<void>;
}

/** Feast's key and field names, as the binding computes them. */
export interface OnlineLayout {
  key(project: string, joinKeys: JoinKey[], values: Record<string, unknown>): Buffer;
  featureField(view: string, feature: string): Buffer;
  decodeTimestamp(bytes: Uint8Array): Date;
}

/** The parts of feast-vectors.json (made by the real feast package) the suite checks stored bytes against. */
export interface FeastVectors {
  entityKeys: {
    name: string;
    project: string;
    joinKeys: JoinKey[];
    values: Record<string, unknown>;
    redisKeyHex?: string;
  }[];
  values: { valueType: string; value: unknown; hex: string }[];
}

export interface OnlineConformanceOptions {
  /** Opens the store under test (closed by the suite). */
  open(): OnlineStore | Promise<OnlineStore>;
  raw(): OnlineRawAccess | Promise<OnlineRawAccess>;
  layout: OnlineLayout;
  feastVectors: FeastVectors;
  /** vitest's functions. */
  test: TestApi;
}

/** The fixtures write bytes as hex (JSON has no bytes); everything else is the JS input as is. */
function fixtureValue(valueType: string, v: unknown): unknown {
  if (v === null) return null;
  if (valueType === 'BYTES') return new Uint8Array(Buffer.from(v as string, 'hex'));
  if (valueType === 'BYTES_LIST') return (v as string[]).map((x) => new Uint8Array(Buffer.from(x, 'hex')));
  return v;
}

const userKey: JoinKey[] = [{ name: 'user_id', valueType: 'INT64' }];
const userPromoKeys: JoinKey[] = [
  { name: 'user_id', valueType: 'INT64' },
  { name: 'promo', valueType: 'STRING' },
];

function view(name: string, features: FeatureViewSpec['features'], ttlSeconds = 0): FeatureViewSpec {
  return { name, entities: ['user'], features, timestampField: 'event_timestamp', ttlSeconds, online: true };
}

const allTypes = view('all_types', [
  { name: 'i32', valueType: 'INT32' },
  { name: 'i64', valueType: 'INT64' },
  { name: 'f32', valueType: 'FLOAT' },
  { name: 'f64', valueType: 'DOUBLE' },
  { name: 's', valueType: 'STRING' },
  { name: 'b', valueType: 'BOOL' },
  { name: 'raw', valueType: 'BYTES' },
  { name: 'ts', valueType: 'UNIX_TIMESTAMP' },
  { name: 'tags', valueType: 'STRING_LIST' },
  { name: 'scores', valueType: 'DOUBLE_LIST' },
  { name: 'ids', valueType: 'INT64_LIST' },
]);
const clicks = view('clicks', [
  { name: 'clicks_7d', valueType: 'INT64' },
  { name: 'ctr', valueType: 'DOUBLE' },
]);
const profile = view('profile', [{ name: 'country', valueType: 'STRING' }]);
const at = (iso: string) => new Date(iso);

export function onlineStoreConformance(name: string, opts: OnlineConformanceOptions): void {
  const { afterAll, beforeAll, describe, expect, it } = opts.test;
  describe(`OnlineStore conformance: ${name}`, () => {
    let store: OnlineStore;
    let raw: OnlineRawAccess;
    const projects: string[] = [];
    const project = () => {
      const p = `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      projects.push(p);
      return p;
    };
    const read = (p: string, rows: Record<string, unknown>[], sels: Parameters<typeof readFeatureRecords>[3], now?: Date) =>
      readFeatureRecords(store, p, rows, sels, now ? { now } : {});

    beforeAll(async () => {
      store = await opts.open();
      raw = await opts.raw();
      await store.ping();
    });
    afterAll(async () => {
      for (const p of projects) await raw?.dropProject(p);
      await store?.close();
      await raw?.close();
    });

    it('answers health', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(typeof store.kind).toBe('string');
      expect(store.address).not.toMatch(/password|:[^/@]+@/);
    });

    it('round-trips every value type with statuses PRESENT, NULL_VALUE and NOT_FOUND, in columns', async () => {
      const ref: OnlineViewRef = { project: project(), view: allTypes, joinKeys: userKey };
      const values = {
        i32: -7,
        i64: 2n ** 62n,
        f32: 1.5,
        f64: 0.1,
        s: 'Жёлтый',
        b: false,
        raw: new Uint8Array([0, 255, 42]),
        ts: at('2020-12-07T10:30:05Z'),
        tags: ['a', 'b'],
        scores: [0.5, -1],
        ids: [1, 2n ** 60n],
      };
      const eventTime = at('2024-05-01T12:00:00.123Z');
      const res = await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime, values },
        { entityKey: { user_id: 2n }, eventTime, values: { ...values, s: null, tags: null } },
      ]);
      expect(res).toEqual({ written: 2, skippedOlder: 0 });

      const features = allTypes.features.map((f) => f.name);
      const [cols] = await store.readColumns(
        ref.project,
        [{ view: allTypes, joinKeys: userKey, features }],
        [{ user_id: 1 }, { user_id: '2' }, { user_id: 3 }],
      );
      expect(cols?.eventTimes).toEqual([eventTime.getTime(), eventTime.getTime(), null]);
      expect(cols?.columns).toHaveLength(features.length);
      features.forEach((f, j) => {
        const col = cols?.columns[j];
        const v = values[f as keyof typeof values];
        expect(col?.values[0]).toEqual(v instanceof Uint8Array ? new Uint8Array(v) : v);
        expect(col?.statuses[0]).toBe('PRESENT');
        expect(col?.statuses[2]).toBe('NOT_FOUND');
        expect(col?.values[2]).toBeNull();
      });
      const out = await read(
        ref.project,
        [{ user_id: 1 }, { user_id: '2' }, { user_id: 3 }],
        [{ view: allTypes, joinKeys: userKey, features }],
      );
      expect(out[1]?.['all_types:s']).toEqual({ value: null, status: 'NULL_VALUE', eventTime });
      expect(out[1]?.['all_types:tags']?.status).toBe('NULL_VALUE');
      expect(out[1]?.['all_types:i32']?.status).toBe('PRESENT');
      expect(out[2]?.['all_types:i64']).toEqual({ value: null, status: 'NOT_FOUND', eventTime: null });
    });

    it('stores the Feast layout: key, mmh3 fields and _ts:<view>', async () => {
      const p = project();
      await store.writeRows({ project: p, view: clicks, joinKeys: userPromoKeys }, [
        {
          entityKey: { promo: 'spring', user_id: 7 },
          eventTime: at('2024-01-01T00:00:00Z'),
          values: { clicks_7d: 3, ctr: 0.25 },
        },
      ]);
      const fields = await raw.hashFields(opts.layout.key(p, userPromoKeys, { user_id: 7, promo: 'spring' }));
      const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');
      expect([...fields.keys()].sort()).toEqual(
        [
          hex(opts.layout.featureField('clicks', 'clicks_7d')),
          hex(opts.layout.featureField('clicks', 'ctr')),
          hex('_ts:clicks'),
        ].sort(),
      );
      expect(opts.layout.decodeTimestamp(fields.get(hex('_ts:clicks')) as Buffer)).toEqual(at('2024-01-01T00:00:00Z'));
      // No created time given: no Strata-only field either.
      expect(fields.has(hex('_ct:clicks'))).toBe(false);
    });

    it("stores Feast's exact bytes: keys and Value messages from the feast-vectors fixtures", async () => {
      const p0 = project();
      let checkedKeys = 0;
      for (const v of opts.feastVectors.entityKeys) {
        if (!v.redisKeyHex) continue;
        // The fixture's own project (a unique one would change the bytes); the view is unique and deleted after.
        projects.push(v.project);
        const vw = view(`fx_${checkedKeys}`, [{ name: 'x', valueType: 'INT32' }]);
        const entityKey: Record<string, unknown> = { ...v.values };
        for (const k of v.joinKeys) if (k.valueType === 'BYTES') entityKey[k.name] = fixtureValue('BYTES', v.values[k.name]);
        await store.writeRows({ project: v.project, view: vw, joinKeys: v.joinKeys }, [
          { entityKey, eventTime: at('2024-01-01T00:00:00Z'), values: { x: 1 } },
        ]);
        expect(await raw.exists(Buffer.from(v.redisKeyHex, 'hex')), v.name).toBe(true);
        await store.deleteView({ project: v.project, view: vw, joinKeys: v.joinKeys });
        expect(await raw.exists(Buffer.from(v.redisKeyHex, 'hex')), v.name).toBe(false);
        checkedKeys++;
      }
      expect(checkedKeys).toBeGreaterThan(0);
      const vectors = opts.feastVectors.values.filter((v) => v.valueType !== 'NULL' && v.value !== null);
      expect(vectors.length).toBeGreaterThan(0);
      const features = vectors.map((v, i) => ({ name: `v${i}`, valueType: v.valueType as ValueTypeName }));
      const vw = view('fx_values', features);
      const key = { user_id: 1 };
      await store.writeRows({ project: p0, view: vw, joinKeys: userKey }, [
        {
          entityKey: key,
          eventTime: at('2024-01-01T00:00:00Z'),
          values: Object.fromEntries(vectors.map((v, i) => [`v${i}`, fixtureValue(v.valueType, v.value)])),
        },
      ]);
      const stored = await raw.hashFields(opts.layout.key(p0, userKey, key));
      vectors.forEach((v, i) => {
        const bytes = stored.get(opts.layout.featureField('fx_values', `v${i}`).toString('hex'));
        expect(bytes?.toString('hex'), `${v.valueType} ${JSON.stringify(v.value)}`).toBe(v.hex);
      });
    });

    it('newer wins: out-of-order batches, duplicates in a batch and retries never regress', async () => {
      const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
      const t1 = at('2024-01-01T00:00:00Z');
      const t2 = at('2024-01-02T00:00:00Z');
      const t3 = at('2024-01-03T00:00:00Z');
      expect(
        await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t2, values: { clicks_7d: 2, ctr: 0.2 } }]),
      ).toEqual({
        written: 1,
        skippedOlder: 0,
      });
      // An older batch arriving late, with a duplicate key whose rows come newest-first.
      expect(
        await store.writeRows(ref, [
          { entityKey: { user_id: 1 }, eventTime: t1, values: { clicks_7d: 1, ctr: 0.1 } },
          { entityKey: { user_id: 2 }, eventTime: t3, values: { clicks_7d: 30, ctr: 0.3 } },
          { entityKey: { user_id: 2 }, eventTime: t1, values: { clicks_7d: 10, ctr: 0.1 } },
        ]),
      ).toEqual({ written: 1, skippedOlder: 2 });
      // A retry of the same batch changes nothing (equal event time, no created time).
      expect(
        await store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: t2, values: { clicks_7d: 99, ctr: 9 } }]),
      ).toEqual({
        written: 0,
        skippedOlder: 1,
      });
      const readBack = () =>
        read(ref.project, [{ user_id: 1 }, { user_id: 2 }], [{ view: clicks, joinKeys: userKey, features: ['clicks_7d'] }]);
      let out = await readBack();
      expect(out.map((r) => r['clicks:clicks_7d']?.value)).toEqual([2, 30]);
      expect(out[0]?.['clicks:clicks_7d']?.eventTime).toEqual(t2);

      // Equal event time: a later created time wins, an earlier or equal one does not.
      await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t3, values: { clicks_7d: 3, ctr: 0.3 } },
      ]);
      expect(
        await store.writeRows(ref, [
          { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t2, values: { clicks_7d: -1, ctr: 0 } },
          { entityKey: { user_id: 1 }, eventTime: t3, createdTime: t3, values: { clicks_7d: -2, ctr: 0 } },
          {
            entityKey: { user_id: 1 },
            eventTime: t3,
            createdTime: at('2024-01-04T00:00:00Z'),
            values: { clicks_7d: 4, ctr: 0.4 },
          },
        ]),
      ).toEqual({ written: 1, skippedOlder: 2 });
      out = await readBack();
      expect(out[0]?.['clicks:clicks_7d']?.value).toBe(4);
    });

    it('newer wins also before 1970 and at the epoch', async () => {
      const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
      const write = (iso: string, n: number) =>
        store.writeRows(ref, [{ entityKey: { user_id: 1 }, eventTime: at(iso), values: { clicks_7d: n } }]);
      expect((await write('1960-05-01T00:00:00.500Z', 1)).written).toBe(1);
      expect((await write('1950-01-01T00:00:00Z', 2)).written).toBe(0);
      expect((await write('1960-05-01T00:00:00.499Z', 3)).written).toBe(0);
      expect((await write('1960-05-01T00:00:00.501Z', 4)).written).toBe(1);
      expect((await write('1970-01-01T00:00:00Z', 5)).written).toBe(1);
      expect((await write('1969-12-31T23:59:59.999Z', 6)).written).toBe(0);
      expect((await write('1970-01-01T00:00:00.001Z', 7)).written).toBe(1);
      const [row] = await read(ref.project, [{ user_id: 1 }], [{ view: clicks, joinKeys: userKey, features: ['clicks_7d'] }]);
      expect(row?.['clicks:clicks_7d']).toEqual({ value: 7, status: 'PRESENT', eventTime: at('1970-01-01T00:00:00.001Z') });
    });

    it('writes and reads many rows in batches (keys spread over every server)', async () => {
      const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
      const eventTime = at('2024-02-01T00:00:00Z');
      const rows = Array.from({ length: 2345 }, (_, i) => ({
        entityKey: { user_id: i },
        eventTime,
        values: { clicks_7d: i, ctr: i / 10 },
      }));
      expect(await store.writeRows(ref, rows)).toEqual({ written: 2345, skippedOlder: 0 });
      const entities = rows.map((r) => r.entityKey);
      const [cols] = await store.readColumns(
        ref.project,
        [{ view: clicks, joinKeys: userKey, features: ['clicks_7d', 'ctr'] }],
        entities,
      );
      expect(cols?.columns[0]?.values).toEqual(rows.map((_, i) => i));
      expect(cols?.columns[1]?.values).toEqual(rows.map((_, i) => i / 10));
    });

    it('gives OUTSIDE_MAX_AGE for rows older than the view TTL', async () => {
      const short = view('short_lived', [{ name: 'x', valueType: 'INT32' }], 3600);
      const p = project();
      const now = at('2024-03-01T12:00:00Z');
      await store.writeRows({ project: p, view: short, joinKeys: userKey }, [
        { entityKey: { user_id: 1 }, eventTime: at('2024-03-01T11:30:00Z'), values: { x: 1 } },
        { entityKey: { user_id: 2 }, eventTime: at('2024-03-01T10:00:00Z'), values: { x: 2 } },
      ]);
      const out = await read(p, [{ user_id: 1 }, { user_id: 2 }], [{ view: short, joinKeys: userKey, features: ['x'] }], now);
      expect(out[0]?.['short_lived:x']).toMatchObject({ value: 1, status: 'PRESENT' });
      expect(out[1]?.['short_lived:x']).toEqual({
        value: null,
        status: 'OUTSIDE_MAX_AGE',
        eventTime: at('2024-03-01T10:00:00Z'),
      });
    });

    it('reads several views of the same entity in one call', async () => {
      const p = project();
      const eventTime = at('2024-03-01T00:00:00Z');
      await store.writeRows({ project: p, view: clicks, joinKeys: userKey }, [
        { entityKey: { user_id: 5 }, eventTime, values: { clicks_7d: 5 } },
      ]);
      await store.writeRows({ project: p, view: profile, joinKeys: userKey }, [
        { entityKey: { user_id: 5 }, eventTime, values: { country: 'NL' } },
      ]);
      const [row] = await read(
        p,
        [{ user_id: 5 }],
        [
          { view: clicks, joinKeys: userKey, features: ['clicks_7d', 'ctr'] },
          { view: profile, joinKeys: userKey, features: ['country'] },
        ],
      );
      expect(row?.['clicks:clicks_7d']?.value).toBe(5);
      expect(row?.['clicks:ctr']?.status).toBe('NULL_VALUE');
      expect(row?.['profile:country']?.value).toBe('NL');
    });

    it('deleteView removes one view and leaves other views and projects alone', async () => {
      const p = project();
      const longer = `x${p}`; // ends with the same bytes as p: must not be touched
      projects.push(longer);
      const eventTime = at('2024-04-01T00:00:00Z');
      const rows = [1, 2, 3].map((id) => ({
        entityKey: { user_id: id },
        eventTime,
        values: { clicks_7d: id, ctr: 0.5, country: 'DE' },
      }));
      for (const proj of [p, longer]) await store.writeRows({ project: proj, view: clicks, joinKeys: userKey }, rows);
      await store.writeRows({ project: p, view: profile, joinKeys: userKey }, rows.slice(0, 2));
      // Same view name keyed differently lives in other hashes.
      await store.writeRows({ project: p, view: clicks, joinKeys: userPromoKeys }, [
        { entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 1 } },
      ]);

      expect(await store.deleteView({ project: p, view: clicks, joinKeys: userKey })).toEqual({ keysTouched: 3 });
      expect(await store.deleteView({ project: p, view: clicks, joinKeys: userKey })).toEqual({ keysTouched: 0 });

      const entities = [{ user_id: 1 }, { user_id: 2 }, { user_id: 3 }];
      const sel = [
        { view: clicks, joinKeys: userKey, features: ['clicks_7d'] },
        { view: profile, joinKeys: userKey, features: ['country'] },
      ];
      const out = await read(p, entities, sel);
      expect(out.map((r) => r['clicks:clicks_7d']?.status)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
      expect(out.map((r) => r['profile:country']?.status)).toEqual(['PRESENT', 'PRESENT', 'NOT_FOUND']);
      // Entity 3 had only the deleted view: its hash is gone; entity 1 keeps profile's field and _ts.
      expect(await raw.exists(opts.layout.key(p, userKey, { user_id: 3 }))).toBe(false);
      expect((await raw.hashFields(opts.layout.key(p, userKey, { user_id: 1 }))).size).toBe(2);
      const other = await read(longer, entities, [sel[0] as (typeof sel)[number]]);
      expect(other.map((r) => r['clicks:clicks_7d']?.value)).toEqual([1, 2, 3]);
      const promo = await read(
        p,
        [{ user_id: 1, promo: 'a' }],
        [{ view: clicks, joinKeys: userPromoKeys, features: ['clicks_7d'] }],
      );
      expect(promo[0]?.['clicks:clicks_7d']?.value).toBe(1);
    });

    it('sets key expiry without ever shortening it', async () => {
      const p = project();
      const eventTime = at('2024-05-01T00:00:00Z');
      const key = opts.layout.key(p, userKey, { user_id: 1 });
      const one = [{ entityKey: { user_id: 1 }, eventTime, values: {} }];
      await store.writeRows({ project: p, view: clicks, joinKeys: userKey }, one, { keyTtlSeconds: 1000 });
      expect(await raw.pttl(key)).toBeGreaterThan(990_000);
      await store.writeRows({ project: p, view: profile, joinKeys: userKey }, one, { keyTtlSeconds: 10 });
      expect(await raw.pttl(key)).toBeGreaterThan(990_000);
      await store.writeRows(
        { project: p, view: profile, joinKeys: userKey },
        [{ entityKey: { user_id: 1 }, eventTime: at('2024-05-02T00:00:00Z'), values: {} }],
        { keyTtlSeconds: 5000 },
      );
      expect(await raw.pttl(key)).toBeGreaterThan(4_990_000);
      await store.writeRows({ project: p, view: clicks, joinKeys: userKey }, [
        { entityKey: { user_id: 2 }, eventTime, values: {} },
      ]);
      expect(await raw.pttl(opts.layout.key(p, userKey, { user_id: 2 }))).toBe(-1);
    });

    it('rejects bad input clearly and writes nothing', async () => {
      const p = project();
      const ref: OnlineViewRef = { project: p, view: clicks, joinKeys: userPromoKeys };
      const eventTime = at('2024-05-01T00:00:00Z');
      await expect(
        store.writeRows(ref, [
          { entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 1 } },
          { entityKey: { user_id: 2 }, eventTime, values: { clicks_7d: 2 } },
        ]),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/row 1.*'promo'/) });
      await expect(
        store.writeRows(ref, [{ entityKey: { user_id: 1, promo: 'a' }, eventTime, values: { clicks_7d: 'many' } }]),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('clicks_7d') });
      expect(await raw.exists(opts.layout.key(p, userPromoKeys, { user_id: 1, promo: 'a' }))).toBe(false);

      const sel = [{ view: clicks, joinKeys: userPromoKeys, features: ['clicks_7d'] }];
      await expect(store.readColumns(p, sel, [{ user_id: 1 }])).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringContaining("'promo'"),
      });
      await expect(store.readColumns(p, sel, [{ user_id: 'seven', promo: 'a' }])).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringContaining('user_id'),
      });
      await expect(
        store.readColumns(p, [{ ...(sel[0] as (typeof sel)[number]), features: ['nope'] }], [{ user_id: 1, promo: 'a' }]),
      ).rejects.toMatchObject({
        code: 'UNKNOWN_FEATURE',
      });
    });

    it('re-loads the write script after the servers forget it (NOSCRIPT)', async () => {
      const ref: OnlineViewRef = { project: project(), view: clicks, joinKeys: userKey };
      await store.writeRows(ref, [
        { entityKey: { user_id: 1 }, eventTime: at('2024-01-01T00:00:00Z'), values: { clicks_7d: 1 } },
      ]);
      await raw.forgetScripts();
      const rows = Array.from({ length: 50 }, (_, i) => ({
        entityKey: { user_id: i },
        eventTime: at('2024-01-02T00:00:00Z'),
        values: { clicks_7d: 2 },
      }));
      expect(await store.writeRows(ref, rows)).toEqual({ written: 50, skippedOlder: 0 });
    });
  });
}
