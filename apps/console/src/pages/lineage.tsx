/** Lineage: sources and files -> ingestions -> views -> services, the online store and training sets, as a graph. */
import { useMemo, useState } from 'preact/hooks';
import { proj, q } from '../api.js';
import { Section, Show, useApi, Scroll } from '../components.js';
import { connected, layoutLineage } from '../lib/lineage.js';
import { Link, navigate, path } from '../router.js';
import type { LineageEdge, LineageNode } from '../types.js';

const NODE_W = 200;
const NODE_H = 40;
const KIND_LABEL: Record<string, string> = {
  source: 'source',
  ingestion: 'ingestion',
  view: 'feature view',
  service: 'feature service',
  online: 'online store',
  'training-set': 'training set',
};

export default function Lineage({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const [n, setN] = useState(5);
  const graph = useApi<{ nodes: LineageNode[]; edges: LineageEdge[] }>(`${proj(project)}/lineage${q({ ingestions: n })}`);
  return (
    <div data-testid="page-lineage">
      <h1>Lineage: {project}</h1>
      <div class="field">
        <label for="lineage-n">Ingestions per view</label>
        <select id="lineage-n" value={String(n)} onChange={(e) => setN(Number((e.currentTarget as HTMLSelectElement).value))}>
          {[1, 5, 20, 100].map((x) => (
            <option key={x} value={String(x)}>
              newest {x}
            </option>
          ))}
        </select>
      </div>
      <Show r={graph} what="the lineage">
        {(g) => <Graph project={project} nodes={g.nodes} edges={g.edges} />}
      </Show>
    </div>
  );
}

function Graph({ project, nodes, edges }: { project: string; nodes: LineageNode[]; edges: LineageEdge[] }) {
  const layout = useMemo(() => layoutLineage(nodes, edges, { colWidth: 260, rowHeight: 56 }), [nodes, edges]);
  const [focus, setFocus] = useState<string>();
  const lit = useMemo(() => (focus ? connected(focus, edges) : undefined), [focus, edges]);
  const byId = new Map(nodes.map((x) => [x.id, x]));
  const href = (node: LineageNode) => (node.kind === 'view' ? path('views', project, node.label) : undefined);
  if (!nodes.length) return <p class="muted">Nothing applied yet.</p>;
  return (
    <Section title="Graph" id="graph">
      <p class="muted small">
        Columns: sources → ingestions → feature views → services, training sets and the online store. Focus a node to highlight
        its lineage.
      </p>
      <Scroll label="Lineage graph (scrollable)">
        <svg width={layout.width} height={layout.height} role="img" aria-labelledby="lineage-title" data-testid="lineage-graph">
          <title id="lineage-title">
            Lineage graph of {project}: {nodes.length} nodes, {edges.length} edges
          </title>
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 10 10"
              refX="10"
              refY="5"
              markerWidth="6"
              markerHeight="6"
              orient="auto-start-reverse"
            >
              <path d="M 0 0 L 10 5 L 0 10 z" fill="#6b6b6b" />
            </marker>
          </defs>
          {layout.edges.map(({ edge, from, to }) => {
            const x1 = from.x + NODE_W;
            const y1 = from.y + NODE_H / 2;
            const x2 = to.x;
            const y2 = to.y + NODE_H / 2;
            const mx = (x1 + x2) / 2;
            const dim = lit && !(lit.has(edge.from) && lit.has(edge.to));
            return (
              <path
                key={`${edge.from}->${edge.to}`}
                d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}
                class={`edge edge-${edge.kind}${dim ? ' dim' : ''}`}
                markerEnd="url(#arrow)"
              >
                <title>
                  {byId.get(edge.from)?.label} → {byId.get(edge.to)?.label}: {edge.kind}
                </title>
              </path>
            );
          })}
          {layout.nodes.map(({ node, x, y }) => {
            const dim = lit && !lit.has(node.id);
            const link = href(node);
            return (
              // biome-ignore lint/a11y/useSemanticElements: an SVG group made focusable and activatable
              <g
                key={node.id}
                transform={`translate(${x},${y})`}
                class={`node node-${node.kind}${dim ? ' dim' : ''}${focus === node.id ? ' focus' : ''}`}
                tabIndex={0}
                role="button"
                data-node={node.id}
                onFocus={() => setFocus(node.id)}
                onMouseEnter={() => setFocus(node.id)}
                onClick={() => link && navigate(link)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && link) navigate(link);
                }}
              >
                {/* The name (and a tooltip) with the whole label: a <title>, not aria-label, since the visible label may be
                    cut short and an aria-label must contain the visible text (axe: label-content-name-mismatch). */}
                <title>{`${KIND_LABEL[node.kind] ?? node.kind} ${node.label}${node.status ? `, ${node.status}` : ''}${link ? ', press Enter to open' : ''}`}</title>
                <rect width={NODE_W} height={NODE_H} rx="6" />
                <text x="10" y="16" class="node-kind">
                  {KIND_LABEL[node.kind] ?? node.kind}
                  {node.status ? ` · ${node.status}` : ''}
                </text>
                <text x="10" y="32" class="node-label">
                  {node.label.length > 24 ? `${node.label.slice(0, 23)}…` : node.label}
                </text>
              </g>
            );
          })}
        </svg>
      </Scroll>
      <div class="sr-only">
        <table data-testid="chart-data-lineage">
          <caption>Lineage edges</caption>
          <thead>
            <tr>
              <th scope="col">from</th>
              <th scope="col">to</th>
              <th scope="col">kind</th>
            </tr>
          </thead>
          <tbody>
            {edges.map((e) => (
              <tr key={`${e.from}->${e.to}`}>
                <td>{e.from}</td>
                <td>{e.to}</td>
                <td>{e.kind}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Feature views</h3>
      <ul class="chips">
        {nodes
          .filter((x) => x.kind === 'view')
          .map((x) => (
            <li key={x.id}>
              <Link href={path('views', project, x.label)}>{x.label}</Link>
            </li>
          ))}
      </ul>
    </Section>
  );
}
