/**
 * The online store interface: what serving, materialization and the SDK need from an online store, and nothing about
 * the database under it. Bindings (online-redis: standalone Redis and Redis Cluster) implement it, and every binding
 * runs the one conformance suite in @strata/testkit.
 */
import type { FeatureViewSpec, JoinKey } from '@strata/core';

/** Feast's per-value statuses. */
/** Feast's FieldStatus names; INVALID: an on-demand feature whose function failed for that row (never from a store). */
export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'NULL_VALUE' | 'OUTSIDE_MAX_AGE' | 'INVALID';

export interface OnlineViewRef {
  project: string;
  view: FeatureViewSpec;
  joinKeys: JoinKey[];
}

export interface OnlineWriteRow {
  /** Join key values by join-key name. */
  entityKey: Record<string, unknown>;
  eventTime: Date;
  /** Breaks ties between rows with the same event time (a later created time wins). */
  createdTime?: Date;
  /** Feature values by feature name; a feature of the view missing here is written as null. */
  values: Record<string, unknown>;
}

export interface WriteOptions {
  /** Expire an entity's data this long after the write (never shortens a longer expiry, never adds one where none is). */
  keyTtlSeconds?: number;
}

export interface WriteResult {
  /** Rows stored. */
  written: number;
  /** Rows not stored because the store already held a row as new or newer for that view and entity. */
  skippedOlder: number;
}

/** Features of one view to read; the same object passed again lets a binding reuse what it prepared for it. */
export interface OnlineSelection {
  view: FeatureViewSpec;
  joinKeys: JoinKey[];
  /** Feature names of the view, in the order of the result columns. */
  features: string[];
}

export interface ReadOptions {
  /** The time OUTSIDE_MAX_AGE is judged at (default: now). */
  now?: Date;
}

/** One selection's answer for a batch of entity rows, in columns. */
export interface ViewColumns {
  /** Per entity row: the event time (epoch ms) of the view's row for the entity, null when there is none. */
  eventTimes: (number | null)[];
  /**
   * One column per selected feature, in the selection's order; values are null unless the status is PRESENT.
   * NOT_FOUND: the entity has no row for the view (or the feature was never written); OUTSIDE_MAX_AGE: the view has a
   * TTL and the row is older than that; NULL_VALUE: a stored null.
   */
  columns: { values: unknown[]; statuses: FeatureStatus[] }[];
}

export interface OnlineStore {
  /** Which binding this is ('redis', 'redis-cluster'); for logs and metrics. */
  readonly kind: string;
  /** Where the store is (host:port, or a list of nodes), for messages; never holds a password. */
  readonly address: string;

  /**
   * Reads a batch of entity rows for the selected features straight into columns: one ViewColumns per selection.
   * Entity rows hold join key values by name. A bad entity row fails the whole call with INVALID_INPUT (naming the
   * row); an unreachable store fails with UNAVAILABLE (retryable).
   */
  readColumns(
    project: string,
    selections: OnlineSelection[],
    entityRows: Record<string, unknown>[],
    opts?: ReadOptions,
  ): Promise<ViewColumns[]>;

  /**
   * Writes the latest values of a view for many entities, newer-wins: a row is stored only when its event time is
   * later than the stored one for that view and entity (equal: only with a later createdTime), so retried and
   * out-of-order batches never regress. Every row is checked before anything is written: bad input writes nothing.
   */
  writeRows(ref: OnlineViewRef, rows: OnlineWriteRow[], opts?: WriteOptions): Promise<WriteResult>;

  /** Removes one view's online data from a project; other views of the same entities stay. */
  deleteView(ref: OnlineViewRef): Promise<{ keysTouched: number }>;

  /** Health: resolves when the store answers, fails with UNAVAILABLE when it does not. */
  ping(): Promise<void>;

  /** Waits until the store's connection is ready, at most `ms`; true when it is. */
  waitUntilReady(ms: number): Promise<boolean>;

  /**
   * A view's materialization marker: written with the watermark, so a store that lost its data (a restart without
   * persistence) is told apart from a view with no rows. readMarkers gives the commit each marker records.
   */
  writeMarker(project: string, view: string, commitSeq: number): Promise<void>;
  readMarkers(project: string, views: string[]): Promise<Map<string, number | undefined>>;
  deleteMarker(project: string, view: string): Promise<void>;

  /** Releases connections the store opened itself. */
  close(): Promise<void>;
}

/** One value read, with its status and the event time of its row. */
export interface FeatureRead {
  value: unknown;
  status: FeatureStatus;
  /** Event time of the view's row for this entity; null when there is none. */
  eventTime: Date | null;
}

/**
 * The row-shaped form of readColumns: one record per entity row, keyed "view:feature". For callers that want records
 * (the SDK, the Hopsworks routes); the hot serving path uses the columns.
 */
export async function readFeatureRecords(
  store: OnlineStore,
  project: string,
  entityRows: Record<string, unknown>[],
  selections: OnlineSelection[],
  opts: ReadOptions = {},
): Promise<Array<Record<string, FeatureRead>>> {
  const views = await store.readColumns(project, selections, entityRows, opts);
  return entityRows.map((_, i) => {
    const out: Record<string, FeatureRead> = {};
    selections.forEach((s, si) => {
      const v = views[si] as ViewColumns;
      const ms = v.eventTimes[i];
      s.features.forEach((f, j) => {
        const col = v.columns[j] as ViewColumns['columns'][number];
        const status = col.statuses[i] as FeatureStatus;
        out[`${s.view.name}:${f}`] = {
          value: col.values[i],
          status,
          eventTime: status === 'NOT_FOUND' || ms === null || ms === undefined ? null : new Date(ms),
        };
      });
    });
    return out;
  });
}
