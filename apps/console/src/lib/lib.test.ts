import { describe, expect, it } from 'vitest';
import type { SeriesCommit } from '../types.js';
import { csvPreview, parseCsvRows } from './csv.js';
import { fmtDuration, fmtNumber, fmtPercent, fmtTags, fmtTime, fmtTtl } from './format.js';
import { connected, layoutLineage } from './lineage.js';
import { lineDiff, stableJson } from './linediff.js';
import { hasRole, isAnyAdmin, roleOn } from './roles.js';
import { availableStats, driftPoints, featuresByDrift, histogramBars, trendPoints } from './series.js';
import { sseParser } from './sse.js';

const commit = (commitId: number | null, stats: SeriesCommit['stats'], drift: SeriesCommit['drift'] = {}): SeriesCommit => ({
  ingestionId: `ing-${commitId}`,
  commitId,
  status: commitId === null ? 'quarantined' : 'committed',
  createdAt: '2026-12-01T00:00:00.000Z',
  committedAt: null,
  rows: 10,
  minEventTime: null,
  maxEventTime: null,
  stats,
  drift,
});
const threshold = { psi: 0.2, ks: 0.1, js: 0.1 };

describe('format', () => {
  it('keeps integers exact and rounds the rest to significant digits', () => {
    expect(fmtNumber(1234567)).toBe('1,234,567');
    expect(fmtNumber(17.23456)).toBe('17.23');
    expect(fmtNumber(0.000012346)).toBe('1.235e-5');
    expect(fmtNumber(null)).toBe('–');
    expect(fmtNumber('AR')).toBe('AR');
    expect(fmtNumber(Number.POSITIVE_INFINITY)).toBe('∞');
  });
  it('formats percentages, UTC times, durations, TTLs and tags', () => {
    expect(fmtPercent(0.997)).toBe('99.7%');
    expect(fmtTime('2026-12-01T10:00:02.000Z')).toBe('2026-12-01 10:00:02Z');
    expect(fmtTime(null)).toBe('–');
    expect(fmtDuration(850)).toBe('850 ms');
    expect(fmtDuration(2100)).toBe('2.1 s');
    expect(fmtDuration(185_000)).toBe('3 min 5 s');
    expect(fmtDuration(7_800_000)).toBe('2 h 10 min');
    expect(fmtDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(fmtTtl(0)).toBe('none (no limit)');
    expect(fmtTtl(172800)).toBe('2 d');
    expect(fmtTtl(5400)).toBe('90 min');
    expect(fmtTtl(61)).toBe('61 s');
    expect(fmtTags({ team: 'growth', pii: '' })).toEqual(['pii', 'team=growth']);
  });
});

describe('roles', () => {
  const caller = { roles: { demo: 'viewer' as const, '*': 'editor' as const } };
  it("uses the project's own role before the '*' role", () => {
    expect(roleOn(caller, 'demo')).toBe('viewer');
    expect(roleOn(caller, 'other')).toBe('editor');
    expect(hasRole(caller, 'demo', 'editor')).toBe(false);
    expect(hasRole(caller, 'other', 'editor')).toBe(true);
    expect(hasRole(caller, 'other', 'admin')).toBe(false);
    expect(hasRole(null, 'demo', 'viewer')).toBe(false);
    expect(isAnyAdmin(caller)).toBe(false);
    expect(isAnyAdmin({ roles: { x: 'admin' } })).toBe(true);
  });
});

describe('series', () => {
  const commits = [
    commit(1, { a: { mean: 1.5, completeness: 1, min: 0 }, s: { min: 'AR', mean: null } }),
    commit(null, { a: { mean: 9 } }),
    commit(
      3,
      { a: { mean: 2.5, completeness: 0.5 } },
      { a: { kind: 'numeric', psi: 0.3, ks: 0.05, js: null, drifted: true, reasons: ['psi'], threshold } },
    ),
  ];
  it('takes one statistic per commit, oldest first, positioned by commit id (or position when uncommitted)', () => {
    expect(trendPoints(commits, 'a', 'mean').map((p) => [p.x, p.value])).toEqual([
      [1, 1.5],
      [2, 9],
      [3, 2.5],
    ]);
    expect(trendPoints(commits, 's', 'mean')).toEqual([]);
    expect(availableStats(commits, 'a')).toEqual(['mean', 'min', 'completeness']);
    expect(availableStats(commits, 's')).toEqual([]);
  });
  it('pairs drift with its threshold and marks the commits over it', () => {
    expect(driftPoints(commits, 'a', 'psi')).toEqual([
      { x: 3, commitId: 3, ingestionId: 'ing-3', metric: 'psi', value: 0.3, threshold: 0.2, over: true },
    ]);
    expect(driftPoints(commits, 'a', 'ks')[0]?.over).toBe(false);
    expect(driftPoints(commits, 'a', 'js')).toEqual([]);
    expect(featuresByDrift(commits, ['s', 'a'])).toEqual(['a', 's']);
  });
  it('turns bins and categories into bars', () => {
    expect(histogramBars({ kind: 'bins', edges: [0, 1, 2], counts: [3, 4], exact: true })).toEqual([
      { label: '0–1', x0: 0, x1: 1, count: 3 },
      { label: '1–2', x0: 1, x1: 2, count: 4 },
    ]);
    expect(histogramBars({ kind: 'categorical', values: ['x', null], counts: [5, 1], exact: true })).toEqual([
      { label: 'x', count: 5 },
      { label: 'null', count: 1 },
    ]);
    expect(histogramBars(null)).toEqual([]);
  });
});

describe('lineDiff', () => {
  it('finds the added and removed lines and numbers both sides', () => {
    const d = lineDiff('a\nb\nc', 'a\nc\nd');
    expect(d.map((l) => `${l.op}:${l.text}`)).toEqual(['same:a', 'del:b', 'same:c', 'add:d']);
    expect(d[3]).toEqual({ op: 'add', text: 'd', b: 3 });
    expect(lineDiff('', 'x')).toEqual([{ op: 'add', text: 'x', b: 1 }]);
    expect(lineDiff('x', 'x')).toEqual([{ op: 'same', text: 'x', a: 1, b: 1 }]);
  });
  it('sorts keys so key order is not a change', () => {
    expect(stableJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } })).toBe(
      stableJson({ a: { c: 3, d: [2, { y: 2, z: 1 }] }, b: 1 }),
    );
  });
});

describe('sseParser', () => {
  it('splits events across chunks, joins data lines, skips comments, takes CRLF', () => {
    const got: { event: string; data: string }[] = [];
    const feed = sseParser((e) => got.push({ event: e.event, data: e.data }));
    feed('event: run\ndata: {"a"');
    feed(':1}\n\n: ping\n\n');
    feed('data: x\r\ndata: y\r\n\r\nevent: end\ndata: {}\n');
    expect(got).toEqual([
      { event: 'run', data: '{"a":1}' },
      { event: 'message', data: 'x\ny' },
    ]);
    feed('\n');
    expect(got[2]).toEqual({ event: 'end', data: '{}' });
  });
});

describe('csv', () => {
  it('reads quoted fields, escaped quotes, CRLF and counts rows without the header', () => {
    const text = 'user_id,"event, time"\r\n1,"2026-01-01"\r\n2,"say ""hi"""\n3,\n';
    expect(csvPreview(text, 2)).toEqual({
      columns: ['user_id', 'event, time'],
      rows: [
        ['1', '2026-01-01'],
        ['2', 'say "hi"'],
      ],
      rowCount: 3,
    });
    expect(parseCsvRows('a\n\nb').total).toBe(2);
    expect(csvPreview('')).toEqual({ columns: [], rows: [], rowCount: 0 });
  });
});

describe('lineage layout', () => {
  const nodes = [
    { id: 'view:b', kind: 'view' as const, label: 'b' },
    { id: 'view:a', kind: 'view' as const, label: 'a' },
    { id: 'ingestion:2', kind: 'ingestion' as const, label: '2' },
    { id: 'ingestion:1', kind: 'ingestion' as const, label: '1' },
    { id: 'online', kind: 'online' as const, label: 'online' },
    { id: 'service:s', kind: 'service' as const, label: 's' },
  ];
  const edges = [
    { from: 'ingestion:1', to: 'view:b', kind: 'committed' },
    { from: 'ingestion:2', to: 'view:a', kind: 'committed' },
    { from: 'view:a', to: 'online', kind: 'materialized' },
    { from: 'view:b', to: 'service:s', kind: 'selected' },
  ];
  it('puts each kind in its column and orders children by their parents', () => {
    const l = layoutLineage(nodes, edges);
    const at = (id: string) => l.nodes.find((n) => n.node.id === id);
    expect(at('ingestion:1')?.col).toBe(1);
    expect(at('view:b')?.row).toBe(0);
    expect(at('view:a')?.row).toBe(1);
    expect(at('service:s')?.row).toBe(0);
    expect(at('online')?.col).toBe(3);
    expect(l.edges).toHaveLength(4);
  });
  it('finds the upstream and downstream of a node', () => {
    expect([...connected('view:a', edges)].sort()).toEqual(['ingestion:2', 'online', 'view:a']);
  });
});
