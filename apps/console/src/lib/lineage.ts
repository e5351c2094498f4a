/**
 * A layered layout of the lineage graph: one column per stage (sources -> ingestions -> views -> services, online
 * store and training sets), nodes ordered within a column by the mean position of their parents so edges cross less.
 */
import type { LineageEdge, LineageNode } from '../types.js';

export const COLUMN: Record<LineageNode['kind'], number> = {
  source: 0,
  ingestion: 1,
  view: 2,
  service: 3,
  online: 3,
  'training-set': 3,
};

export interface Placed {
  node: LineageNode;
  col: number;
  row: number;
  x: number;
  y: number;
}

export interface Layout {
  nodes: Placed[];
  edges: { edge: LineageEdge; from: Placed; to: Placed }[];
  width: number;
  height: number;
}

export function layoutLineage(
  nodes: LineageNode[],
  edges: LineageEdge[],
  o: { colWidth?: number; rowHeight?: number; nodeWidth?: number } = {},
): Layout {
  const colWidth = o.colWidth ?? 260;
  const rowHeight = o.rowHeight ?? 56;
  const cols: LineageNode[][] = [[], [], [], []];
  for (const n of nodes) cols[COLUMN[n.kind] ?? 3]?.push(n);
  const pos = new Map<string, number>();
  const parents = new Map<string, string[]>();
  for (const e of edges) parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  cols.forEach((col, ci) => {
    const key = (n: LineageNode) => {
      const ps = (parents.get(n.id) ?? []).map((p) => pos.get(p)).filter((p): p is number => p !== undefined);
      return ci === 0 || !ps.length ? Number.POSITIVE_INFINITY : ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const order = ci === 3 ? ['service', 'training-set', 'online'] : [];
    col.sort(
      (a, b) =>
        order.indexOf(a.kind) - order.indexOf(b.kind) ||
        key(a) - key(b) ||
        a.label.localeCompare(b.label) ||
        a.id.localeCompare(b.id),
    );
    col.forEach((n, i) => {
      pos.set(n.id, i);
    });
  });
  const rows = Math.max(1, ...cols.map((c) => c.length));
  const placed = new Map<string, Placed>();
  cols.forEach((col, ci) => {
    const offset = ((rows - col.length) * rowHeight) / 2;
    col.forEach((node, row) => {
      placed.set(node.id, { node, col: ci, row, x: ci * colWidth + 10, y: offset + row * rowHeight + 10 });
    });
  });
  const laidEdges = edges.flatMap((edge) => {
    const from = placed.get(edge.from);
    const to = placed.get(edge.to);
    return from && to ? [{ edge, from, to }] : [];
  });
  return { nodes: [...placed.values()], edges: laidEdges, width: cols.length * colWidth, height: rows * rowHeight + 20 };
}

/** The nodes reachable from `id` upstream and downstream (the console highlights a node's lineage). */
export function connected(id: string, edges: LineageEdge[]): Set<string> {
  const seen = new Set([id]);
  const walk = (start: string, next: (e: LineageEdge) => [string, string]) => {
    const stack = [start];
    while (stack.length) {
      const cur = stack.pop() as string;
      for (const e of edges) {
        const [a, b] = next(e);
        if (a === cur && !seen.has(b)) {
          seen.add(b);
          stack.push(b);
        }
      }
    }
  };
  walk(id, (e) => [e.from, e.to]);
  walk(id, (e) => [e.to, e.from]);
  return seen;
}
