/**
 * The stream processor of one feature view: consumes the view's Kafka topic in a consumer group (processes of the
 * same group share its partitions), and for every poll
 *   1. checks each message (decode, fields, types); bad ones go to the dead-letter topic with the reason in headers,
 *   2. writes the good rows to Redis with the newer-wins script, as one pipelined batch,
 *   3. buffers them for the offline store, which gets them as ordinary commits (stage + commit) in micro-batches
 *      bounded by rows and time, with the partitions' next offsets advanced in the SAME Postgres transaction.
 * Postgres holds the truth about what was consumed: on start and after every rebalance each partition is sought to
 * its stored offset; Kafka's committed offsets are written after each commit only as a hint for where to fetch.
 */
import { randomUUID } from 'node:crypto';
import {
  coerceValue,
  DEFAULT_STREAM_BATCH,
  deadLetterTopic,
  StrataError,
  type StreamSourceSpec,
  type WindowAggregationSpec,
  WindowAggregator,
  type WindowState,
} from '@strata/core';
import {
  advanceStreamOffsets,
  type ColumnBatch,
  type OffsetAdvance,
  type OfflineStore,
  readStreamOffsets,
  readStreamStates,
  type ViewVersion,
  viewColumns,
  withTransaction,
} from '@strata/offline-postgres';
import type { OnlineWriteRow, RedisOnlineStore } from '@strata/online-redis';
import { validateStaged } from '@strata/workflows';
import { type Consumer, type EachBatchPayload, type IHeaders, Kafka, type KafkaMessage, logLevel, type Producer } from 'kafkajs';
import { type Decoded, type MessageDecoder, messageDecoder } from './decode.js';
import type { StreamMetrics } from './metrics.js';

export interface StreamProcessorOptions {
  view: ViewVersion;
  offline: OfflineStore;
  online: RedisOnlineStore;
  metrics?: StreamMetrics;
  /** Overrides the spec's brokers (a local stack, tests). */
  brokers?: string[];
  /** Overrides the spec's micro-batch bounds. */
  batch?: { maxRows?: number; maxDelayMs?: number };
  /** Expire online entity hashes this long after a write. */
  keyTtlSeconds?: number;
  clientId?: string;
  /** Kafka group session timeout (default 10 s): how long a dead member holds its partitions. */
  sessionTimeoutMs?: number;
  log?: (event: Record<string, unknown>) => void;
}

interface PartitionState {
  /** Next offset stored in Postgres (null: none yet). */
  stored: string | null;
  /** Next offset to take: after what is buffered (null: take the first message that comes). */
  next: bigint | null;
  /** First offset buffered when nothing was stored (where to seek back to after a failed commit). */
  firstSeen: bigint | null;
  /** Seeks to `next` asked for since the last batch taken; a gap that survives two is real (compaction, markers). */
  seeks: number;
}

/** What one poll of one partition added: its good rows with their offsets, and the offset after the poll. */
interface Segment {
  partition: number;
  rows: Record<string, unknown>[];
  offsets: bigint[];
  end: bigint;
  at: number;
}

class Pending {
  segments: Segment[] = [];
  rows = 0;
  get empty(): boolean {
    return this.segments.length === 0;
  }
  get oldest(): number {
    return this.segments[0]?.at ?? Date.now();
  }
  push(seg: Segment): void {
    this.segments.push(seg);
    this.rows += seg.rows.length;
  }
  /**
   * Takes at most `max` rows from the front, in the order they came. Per partition, the offset after the last
   * message taken is where its stored offset moves to (a poll split in two ends after its last row taken).
   */
  take(max: number): { rows: Record<string, unknown>[]; ends: Map<number, bigint> } {
    const rows: Record<string, unknown>[] = [];
    const ends = new Map<number, bigint>();
    while (this.segments.length) {
      const seg = this.segments[0] as Segment;
      const room = max - rows.length;
      if (seg.rows.length <= room) {
        for (const r of seg.rows) rows.push(r);
        ends.set(seg.partition, seg.end);
        this.segments.shift();
        if (seg.rows.length === room && rows.length === max) break;
        continue;
      }
      if (room <= 0) break;
      for (const r of seg.rows.slice(0, room)) rows.push(r);
      ends.set(seg.partition, (seg.offsets[room - 1] as bigint) + 1n);
      seg.rows = seg.rows.slice(room);
      seg.offsets = seg.offsets.slice(room);
      break;
    }
    this.rows -= rows.length;
    return { rows, ends };
  }
}

function batchOf(rows: Record<string, unknown>[], names: string[]): ColumnBatch {
  return {
    numRows: rows.length,
    columnNames: names,
    column: (name) => (names.includes(name) ? (i: number) => (rows[i] as Record<string, unknown>)[name] ?? null : undefined),
  };
}

/** A promise chain: one holder at a time (polls, timer flushes, rebalances). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const out = this.tail.then(fn);
    this.tail = out.then(
      () => {},
      () => {},
    );
    return out;
  }
}

export class StreamProcessor {
  readonly view: ViewVersion;
  readonly source: StreamSourceSpec;
  readonly topic: string;
  readonly group: string;
  readonly deadLetterTopic: string;
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly decode: MessageDecoder;
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly columnNames: string[];
  private readonly mutex = new Mutex();
  private parts = new Map<number, PartitionState>();
  /** Aggregate sources: per partition, one aggregator per feature, in the state that holds at the partition's `next`. */
  private aggs = new Map<number, WindowAggregator[]>();
  private assigned = new Set<number>();
  private buffer = new Pending();
  private flushing: Promise<void> | null = null;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private resetNeeded = false;
  /** Rows committed offline by this process, and commits made (for tests and logs). */
  stats = { committedRows: 0, commits: 0, deadLettered: 0, onlineRows: 0, conflicts: 0 };

  constructor(private readonly opts: StreamProcessorOptions) {
    this.view = opts.view;
    const s = opts.view.spec.stream;
    if (!s) {
      throw new StrataError('INVALID_SPEC', `feature view '${opts.view.name}' has no stream source`, {
        hint: 'add a stream: {kind: kafka, brokers, topic, consumerGroup, format} to the view and apply it',
      });
    }
    this.source = s;
    this.topic = s.topic;
    this.group = s.consumerGroup;
    this.deadLetterTopic = deadLetterTopic(s);
    this.maxRows = opts.batch?.maxRows ?? s.batch?.maxRows ?? DEFAULT_STREAM_BATCH.maxRows;
    this.maxDelayMs = opts.batch?.maxDelayMs ?? s.batch?.maxDelayMs ?? DEFAULT_STREAM_BATCH.maxDelayMs;
    this.decode = messageDecoder(opts.view.spec, opts.view.joinKeys);
    this.columnNames = viewColumns(opts.view.spec, opts.view.joinKeys).map((c) => c.name);
    this.kafka = new Kafka({
      clientId: opts.clientId ?? `strata-stream-${opts.view.name}`,
      brokers: opts.brokers ?? s.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.consumer = this.kafka.consumer({
      groupId: this.group,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 20_000,
      maxWaitTimeInMs: 50,
      allowAutoTopicCreation: false,
    });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
  }

  private log(event: Record<string, unknown>): void {
    this.opts.log?.({ view: this.view.name, topic: this.topic, group: this.group, ...event });
  }

  /** The partitions this process holds now. */
  assignment(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.checkTopics();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: this.source.startFrom !== 'latest' });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[this.topic] ?? []) as number[];
      void this.mutex.run(() => this.onAssigned(mine)).catch((err) => this.log({ event: 'error', error: String(err) }));
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => this.log({ event: 'crash', error: String(e.payload.error) }));
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const tick = Math.max(5, Math.min(100, Math.floor(this.maxDelayMs / 4)));
    this.timer = setInterval(() => {
      if (this.resetNeeded && !this.flushing) {
        void this.mutex.run(() => this.reset()).catch((err) => this.log({ event: 'error', error: String(err) }));
        return;
      }
      if (!this.buffer.empty && !this.flushing && Date.now() - this.buffer.oldest >= this.maxDelayMs) {
        void this.mutex.run(() => this.startFlush());
      }
    }, tick);
  }

  /** The topic and its dead-letter topic must exist (the processor never creates topics). */
  private async checkTopics(): Promise<void> {
    const admin = this.kafka.admin();
    let topics: string[];
    try {
      await admin.connect();
      topics = await admin.listTopics();
    } catch (err) {
      throw new StrataError(
        'UNAVAILABLE',
        `Kafka at ${(this.opts.brokers ?? this.source.brokers).join(',')} is unreachable: ${(err as Error).message}`,
        {
          where: `feature view '${this.view.name}'.stream.brokers`,
          hint: 'start the brokers (bash infra/stack.sh kafka-up for a local one) or fix the addresses',
          cause: err,
        },
      );
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const missing = [this.topic, this.deadLetterTopic].filter((t) => !topics.includes(t));
    if (missing.length) {
      throw new StrataError('CONFIG', `Kafka topic(s) ${missing.join(', ')} of feature view '${this.view.name}' do not exist`, {
        where: `feature view '${this.view.name}'.stream`,
        hint: `create them (e.g. kafka-topics.sh --create --topic ${missing[0]} --partitions 4), or set stream.deadLetterTopic to an existing topic`,
        details: { missing },
      });
    }
  }

  private async reset(): Promise<void> {
    if (!this.resetNeeded) return;
    this.resetNeeded = false;
    await this.onAssigned([...this.assigned]);
  }

  /** After a (re)join: forget what was buffered and seek every assigned partition to its stored offset. */
  private async onAssigned(partitions: number[]): Promise<void> {
    this.assigned = new Set(partitions);
    this.generation++;
    this.resetNeeded = false;
    if (this.flushing) await this.flushing.catch(() => {});
    this.buffer = new Pending();
    const before = this.parts;
    this.parts = new Map();
    const stored = await readStreamOffsets(this.opts.offline.pool, this.opts.offline.schema, this.group, this.topic);
    if (this.source.aggregate) {
      const states = await readStreamStates(this.opts.offline.pool, this.opts.offline.schema, this.group, this.topic);
      this.aggs = new Map(partitions.map((p) => [p, this.aggregators(p, states.get(p) as WindowState[] | undefined)]));
    }
    for (const p of partitions) {
      const s = stored.get(p) ?? null;
      const old = before.get(p);
      const seekTo = s !== null ? BigInt(s) : (old?.firstSeen ?? null);
      this.parts.set(p, { stored: s, next: seekTo, firstSeen: s === null ? (old?.firstSeen ?? null) : null, seeks: 0 });
      if (seekTo !== null) this.consumer.seek({ topic: this.topic, partition: p, offset: seekTo.toString() });
    }
    this.opts.metrics?.assigned.set({ view: this.view.name }, partitions.length);
    this.log({ event: 'assigned', partitions, stored: Object.fromEntries([...stored].filter(([p]) => this.assigned.has(p))) });
  }

  private async partition(p: number): Promise<PartitionState> {
    let st = this.parts.get(p);
    if (!st) {
      const stored = await readStreamOffsets(this.opts.offline.pool, this.opts.offline.schema, this.group, this.topic);
      const s = stored.get(p) ?? null;
      st = { stored: s, next: s === null ? null : BigInt(s), firstSeen: null, seeks: 0 };
      this.parts.set(p, st);
      this.assigned.add(p);
      if (this.source.aggregate && !this.aggs.has(p)) {
        const states = await readStreamStates(this.opts.offline.pool, this.opts.offline.schema, this.group, this.topic);
        this.aggs.set(p, this.aggregators(p, states.get(p) as WindowState[] | undefined));
      }
    }
    return st;
  }

  /** Checks a poll against the partition's state (mutex held): the messages to take, or null (seek / nothing new). */
  private async admit(batch: EachBatchPayload['batch'], resolveOffset: (offset: string) => void): Promise<KafkaMessage[] | null> {
    const p = batch.partition;
    if (this.resetNeeded) await this.reset();
    const st = await this.partition(p);
    let msgs: KafkaMessage[] = batch.messages;
    const first = BigInt(msgs[0]?.offset ?? '0');
    if (st.next === null) {
      st.next = first;
      st.firstSeen = first;
    }
    const next = st.next;
    msgs = msgs.filter((m) => BigInt(m.offset) >= next);
    if (msgs.length === 0) {
      // Already committed (or buffered): move the fetch position on.
      resolveOffset(batch.lastOffset());
      return null;
    }
    if (BigInt(msgs[0]?.offset ?? '0') > next && st.seeks < 2) {
      // The fetch position is past what Postgres holds (e.g. Kafka's committed offset ran ahead): go back.
      st.seeks++;
      this.consumer.seek({ topic: this.topic, partition: p, offset: next.toString() });
      this.log({ event: 'seek', partition: p, offset: next.toString(), fetchedFrom: msgs[0]?.offset });
      return null;
    }
    st.seeks = 0;
    return msgs;
  }

  /**
   * One poll of one partition. The partition's state is checked and updated under the mutex; the message checks
   * and the writes run outside it, so the polls of different partitions overlap (Kafka never hands out two polls of
   * one partition at once). A reset or rebalance in between makes the poll void: it is read again from Postgres'
   * offsets (its online writes are repeated then, which newer-wins makes harmless).
   */
  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (!this.running || isStale() || batch.messages.length === 0) return;
    const p = batch.partition;
    if (this.source.aggregate) {
      await this.mutex.run(() => this.onAggregateBatch(batch, resolveOffset));
      await heartbeat();
      return;
    }
    const admitted = await this.mutex.run(async () => {
      const msgs = await this.admit(batch, resolveOffset);
      return msgs ? { msgs, gen: this.generation } : null;
    });
    if (!admitted) return;
    const { msgs, gen } = admitted;
    const t0 = performance.now();
    const good: Record<string, unknown>[] = [];
    const goodOffsets: bigint[] = [];
    const bad: { m: KafkaMessage; d: Extract<Decoded, { ok: false }> }[] = [];
    for (const m of msgs) {
      const d = this.decode(m.value);
      if (d.ok) {
        good.push(d.row);
        goodOffsets.push(BigInt(m.offset));
      } else bad.push({ m, d });
    }
    if (bad.length) await this.deadLetter(p, bad);
    if (good.length && this.view.spec.online) {
      await this.opts.online.writeRows(
        { project: this.view.project, view: this.view.spec, joinKeys: this.view.joinKeys },
        this.newestPerEntity(good),
        this.opts.keyTtlSeconds ? { keyTtlSeconds: this.opts.keyTtlSeconds } : {},
      );
      this.stats.onlineRows += good.length;
    }
    const last = msgs[msgs.length - 1] as KafkaMessage;
    const taken = await this.mutex.run(async () => {
      const st = this.parts.get(p);
      if (gen !== this.generation || !st) return false;
      st.next = BigInt(last.offset) + 1n;
      this.buffer.push({ partition: p, rows: good, offsets: goodOffsets, end: st.next, at: Date.now() });
      if (this.buffer.rows >= this.maxRows) await this.startFlush();
      return true;
    });
    if (!taken) return;
    resolveOffset(last.offset);
    const m = this.opts.metrics;
    if (m) {
      const labels = { view: this.view.name };
      m.messages.inc({ ...labels, outcome: 'ok' }, good.length);
      if (bad.length) m.messages.inc({ ...labels, outcome: 'dead_letter' }, bad.length);
      m.pollSeconds.observe(labels, (performance.now() - t0) / 1000);
      const now = Date.now();
      for (const msg of msgs) m.ingestLag.observe(labels, Math.max(0, now - Number(msg.timestamp)) / 1000);
    }
    // Back-pressure: never hold more than a few micro-batches in memory while a commit is slow.
    while (this.buffer.rows >= 4 * this.maxRows && this.flushing) await this.flushing.catch(() => {});
    await heartbeat();
  }

  private aggregationSpecs(): WindowAggregationSpec[] {
    const a = this.source.aggregate;
    if (!a) return [];
    return a.features.map((f) => ({
      name: f.name,
      function: f.function,
      ...(f.field !== undefined ? { column: f.field } : {}),
      windowSeconds: a.windowSeconds,
      ...(a.slideSeconds !== undefined ? { slideSeconds: a.slideSeconds } : {}),
      ...(a.latenessSeconds !== undefined ? { latenessSeconds: a.latenessSeconds } : {}),
    }));
  }

  /** A partition's aggregators, fresh or in a stored state. */
  private aggregators(p: number, states: WindowState[] | undefined): WindowAggregator[] {
    return this.aggregationSpecs().map((spec, i) => {
      const st = states?.[i];
      return st ? WindowAggregator.restore(spec, st) : new WindowAggregator(spec, { partitions: [p] });
    });
  }

  private keyString(row: Record<string, unknown>): string {
    return JSON.stringify(this.view.joinKeys.map((k) => (typeof row[k.name] === 'bigint' ? String(row[k.name]) : row[k.name])));
  }

  /**
   * One poll of an aggregate source, all under the mutex (so the aggregators' state always matches the buffered
   * offsets): each event folds into its windows; an event whose windows all closed is dead-lettered as LATE; the
   * windows that close become rows (keys, event time = window end, one feature per aggregation), written online now
   * and offline with the next commit, which stores the aggregators' state with the offsets.
   */
  private async onAggregateBatch(batch: EachBatchPayload['batch'], resolveOffset: (offset: string) => void): Promise<void> {
    try {
      await this.aggregatePoll(batch, resolveOffset);
    } catch (err) {
      // The aggregators may hold events of a poll that did not finish: start again from the stored state.
      this.resetNeeded = true;
      throw err;
    }
  }

  private async aggregatePoll(batch: EachBatchPayload['batch'], resolveOffset: (offset: string) => void): Promise<void> {
    const msgs = await this.admit(batch, resolveOffset);
    if (!msgs) return;
    const p = batch.partition;
    let aggs = this.aggs.get(p);
    if (!aggs) {
      aggs = this.aggregators(p, undefined);
      this.aggs.set(p, aggs);
    }
    const specs = this.aggregationSpecs();
    const bad: { m: KafkaMessage; d: Extract<Decoded, { ok: false }> }[] = [];
    let ok = 0;
    for (const m of msgs) {
      const d = this.decode(m.value);
      if (!d.ok) {
        bad.push({ m, d });
        continue;
      }
      const key = this.keyString(d.row);
      const t = (d.row[this.view.spec.timestampField] as Date).getTime();
      let late = false;
      aggs.forEach((agg, i) => {
        const spec = specs[i] as WindowAggregationSpec;
        const v = spec.function === 'count' ? null : (d.row[spec.name] as number | null);
        if (agg.add(key, t, v, p) === 'late') late = true;
      });
      if (late) {
        bad.push({
          m,
          d: {
            ok: false,
            code: 'LATE',
            reason: `event time ${new Date(t).toISOString()} is later than the allowed lateness (${this.source.aggregate?.latenessSeconds ?? 0} s): its windows closed at watermark ${new Date(aggs[0]?.watermark ?? 0).toISOString()}`,
          },
        });
      } else ok++;
    }
    // Closed windows: the same across the aggregators (one window definition), one row each.
    const rows = new Map<string, Record<string, unknown>>();
    aggs.forEach((agg, i) => {
      const spec = specs[i] as WindowAggregationSpec;
      for (const w of agg.drainClosed()) {
        const id = `${w.key}|${w.start}`;
        let row = rows.get(id);
        if (!row) {
          const values = JSON.parse(w.key) as unknown[];
          row = { [this.view.spec.timestampField]: new Date(w.end) };
          this.view.joinKeys.forEach((k, j) => {
            (row as Record<string, unknown>)[k.name] = coerceValue(k.valueType, values[j]);
          });
          rows.set(id, row);
        }
        row[spec.name] = w.value;
      }
    });
    const closed = [...rows.values()];
    if (bad.length) await this.deadLetter(p, bad);
    if (closed.length && this.view.spec.online) {
      await this.opts.online.writeRows(
        { project: this.view.project, view: this.view.spec, joinKeys: this.view.joinKeys },
        this.newestPerEntity(closed),
        this.opts.keyTtlSeconds ? { keyTtlSeconds: this.opts.keyTtlSeconds } : {},
      );
      this.stats.onlineRows += closed.length;
    }
    const st = this.parts.get(p) as PartitionState;
    const last = msgs[msgs.length - 1] as KafkaMessage;
    st.next = BigInt(last.offset) + 1n;
    this.buffer.push({ partition: p, rows: closed, offsets: closed.map(() => st.next as bigint), end: st.next, at: Date.now() });
    resolveOffset(last.offset);
    const m = this.opts.metrics;
    if (m) {
      m.messages.inc({ view: this.view.name, outcome: 'ok' }, ok);
      if (bad.length) m.messages.inc({ view: this.view.name, outcome: 'dead_letter' }, bad.length);
    }
    if (this.buffer.rows >= this.maxRows) await this.startFlush();
  }

  /**
   * The rows of a poll that the newer-wins script would keep, one per entity: Redis ends in the same state as when
   * every row is written in order, with one script call per entity instead of per message. The same rule as the
   * script: a later event time wins; at an equal one only a strictly later created time (both present) wins.
   */
  private newestPerEntity(rows: Record<string, unknown>[]): OnlineWriteRow[] {
    const keys = this.view.joinKeys.map((k) => k.name);
    const best = new Map<unknown, OnlineWriteRow>();
    for (const r of rows) {
      const row = this.toOnline(r);
      const id = keys.length === 1 ? String(r[keys[0] as string]) : JSON.stringify(keys.map((k) => String(r[k])));
      const cur = best.get(id);
      if (!cur) {
        best.set(id, row);
        continue;
      }
      const a = row.eventTime.getTime();
      const b = cur.eventTime.getTime();
      if (a > b || (a === b && row.createdTime && cur.createdTime && row.createdTime.getTime() > cur.createdTime.getTime())) {
        best.set(id, row);
      }
    }
    return [...best.values()];
  }

  private toOnline(row: Record<string, unknown>): OnlineWriteRow {
    const spec = this.view.spec;
    const entityKey: Record<string, unknown> = {};
    for (const k of this.view.joinKeys) entityKey[k.name] = row[k.name];
    const values: Record<string, unknown> = {};
    for (const f of spec.features) values[f.name] = row[f.name] ?? null;
    const created = spec.createdTimestampField ? (row[spec.createdTimestampField] as Date | null) : null;
    return { entityKey, eventTime: row[spec.timestampField] as Date, ...(created ? { createdTime: created } : {}), values };
  }

  private async deadLetter(partition: number, bad: { m: KafkaMessage; d: Extract<Decoded, { ok: false }> }[]) {
    await this.producer.send({
      topic: this.deadLetterTopic,
      acks: -1,
      messages: bad.map(({ m, d }) => {
        const headers: IHeaders = {
          ...(m.headers ?? {}),
          'strata-error-code': d.code,
          'strata-error-reason': d.reason,
          'strata-feature-view': this.view.name,
          'strata-source-topic': this.topic,
          'strata-source-partition': String(partition),
          'strata-source-offset': m.offset,
          ...(d.column ? { 'strata-error-column': d.column } : {}),
        };
        return { key: m.key, value: m.value, headers, timestamp: m.timestamp };
      }),
    });
    this.stats.deadLettered += bad.length;
    for (const { d } of bad) this.log({ event: 'dead_letter', partition, code: d.code, reason: d.reason });
  }

  /** Starts committing what is buffered (one commit at a time; called with the mutex held). */
  private async startFlush(): Promise<void> {
    if (this.flushing || this.buffer.empty) return;
    // An aggregate source commits everything buffered, with the aggregators' state as of now (the mutex is held, so
    // it matches the buffered offsets exactly).
    const aggregate = this.source.aggregate !== undefined;
    const snapshot = this.buffer.take(aggregate ? Number.POSITIVE_INFINITY : this.maxRows);
    const gen = this.generation;
    const advances: OffsetAdvance[] = [...snapshot.ends].map(([partition, to]) => ({
      partition,
      from: this.parts.get(partition)?.stored ?? null,
      to: to.toString(),
      ...(aggregate ? { state: (this.aggs.get(partition) ?? []).map((a) => a.snapshot()) } : {}),
    }));
    const run = this.commitBatch(snapshot.rows, advances).then(
      (result) => {
        this.stats.commits++;
        this.stats.committedRows += snapshot.rows.length;
        this.opts.metrics?.offlineCommits.inc({ view: this.view.name, outcome: result });
        this.opts.metrics?.offlineRows.inc({ view: this.view.name }, snapshot.rows.length);
        if (gen === this.generation) {
          for (const a of advances) {
            const st = this.parts.get(a.partition);
            if (st) {
              st.stored = a.to;
              st.firstSeen = null;
            }
          }
        }
        // A hint for where the group fetches from; Postgres stays the truth.
        this.consumer
          .commitOffsets(
            advances
              .filter((a) => this.assigned.has(a.partition))
              .map((a) => ({ topic: this.topic, partition: a.partition, offset: a.to })),
          )
          .catch(() => {});
        this.log({
          event: 'committed',
          rows: snapshot.rows.length,
          result,
          offsets: Object.fromEntries(advances.map((a) => [a.partition, a.to])),
        });
      },
      async (err) => {
        const conflict = StrataError.is(err, 'CONFLICT');
        if (conflict) this.stats.conflicts++;
        this.opts.metrics?.offlineCommits.inc({ view: this.view.name, outcome: conflict ? 'conflict' : 'error' });
        this.log({ event: conflict ? 'conflict' : 'commit_failed', error: String((err as Error)?.message ?? err) });
        // Nothing of this batch is offline: what is buffered is dropped and read again from the stored offsets (at
        // the next poll or timer tick, under the mutex).
        if (gen === this.generation) this.resetNeeded = true;
        if (!conflict) await new Promise((r) => setTimeout(r, 500));
      },
    );
    this.flushing = run.finally(() => {
      this.flushing = null;
      // A full micro-batch waiting already: commit it now rather than at the next poll.
      if (this.running && this.buffer.rows >= this.maxRows) void this.mutex.run(() => this.startFlush());
    });
  }

  /** Stage, validate with the view's policy, and commit (or quarantine) with the offsets, in one transaction. */
  private async commitBatch(rows: Record<string, unknown>[], advances: OffsetAdvance[]): Promise<string> {
    const { offline } = this.opts;
    const advance = (id: string | null) => (c: Parameters<typeof advanceStreamOffsets>[0]) =>
      advanceStreamOffsets(c, offline.schema, this.group, this.topic, advances, id);
    if (rows.length === 0) {
      // Every message of the batch was dead-lettered: only the offsets move.
      await withTransaction(offline.pool, advance(null));
      return 'offsets_only';
    }
    const id = `stream-${this.view.name}-${randomUUID()}`;
    try {
      await offline.stage(this.view, id, [batchOf(rows, this.columnNames)], {
        source: `kafka:${this.topic}`,
        createdBy: `stream:${this.group}`,
      });
      const spec = this.view.spec;
      const policy = spec.validationPolicy ?? (spec.expectationSuite ? 'ALWAYS' : 'NONE');
      if (spec.expectationSuite && policy !== 'NONE') {
        const outcome = await validateStaged(offline, id, this.view, undefined, () => {});
        this.opts.metrics?.validations.inc({ view: this.view.name, success: String(outcome.success) });
        if (!outcome.success && outcome.policy === 'STRICT') {
          await offline.quarantine(id, outcome.report, outcome.statistics, { inTransaction: advance(id) });
          return 'quarantined';
        }
        await offline.commit(id, { report: outcome.report, statistics: outcome.statistics }, { inTransaction: advance(id) });
        return outcome.success ? 'committed' : 'committed_failed_validation';
      }
      await offline.commit(id, {}, { inTransaction: advance(id) });
      return 'committed';
    } catch (err) {
      await offline.abandon(id, err instanceof StrataError ? err.toJSON() : { message: String(err) }).catch(() => {});
      throw err;
    }
  }

  /** Stops consuming, commits what is buffered, and disconnects. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    await this.consumer.stop().catch(() => {});
    await this.mutex.run(async () => {
      if (this.flushing) await this.flushing.catch(() => {});
      while (!this.buffer.empty && !this.resetNeeded) {
        await this.startFlush();
        if (this.flushing) await (this.flushing as Promise<void>).catch(() => {});
      }
    });
    await this.consumer.disconnect().catch(() => {});
    await this.producer.disconnect().catch(() => {});
  }
}
