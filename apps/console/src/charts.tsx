/**
 * Charts drawn with Observable Plot (SVG), loaded on first use as a chunk of its own. Every mark has a <title> with
 * its exact value, and every chart lists its data in a visually hidden table (data-testid="chart-data-<name>"), so a
 * screen reader, and a test, reads the same numbers the API returned.
 */
import type * as PlotNS from '@observablehq/plot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtNumber } from './lib/format.js';
import type { Bar, DriftPoint, TrendPoint } from './lib/series.js';

type Plot = typeof PlotNS;
let plotModule: Promise<Plot> | undefined;
const loadPlot = () => {
  plotModule ??= import('@observablehq/plot');
  return plotModule;
};
/** Starts loading the charting chunk now (a page that will draw calls it before its data arrives). */
export const preloadCharts = (): void => {
  loadPlot().catch(() => {});
};

interface ChartProps<R> {
  /** The chart's test id suffix and accessible name source. */
  name: string;
  title: string;
  rows: R[];
  columns: [string, (r: R) => string | number | null][];
  draw: (Plot: Plot, width: number) => SVGSVGElement | HTMLElement;
  empty?: string;
}

function Chart<R>({ name, title, rows, columns, draw, empty }: ChartProps<R>) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string>();
  const drawRef = useRef(draw);
  drawRef.current = draw;
  useEffect(() => {
    const el = box.current;
    if (!el || !rows.length) return;
    let live = true;
    loadPlot()
      .then((Plot) => {
        if (!live) return;
        const svg = drawRef.current(Plot, Math.max(320, Math.min(el.clientWidth || 720, 960)));
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-label', title);
        // Plot names its mark groups with aria-label; a <g> needs a role for that label to be allowed (axe).
        for (const g of svg.querySelectorAll('g[aria-label]')) g.setAttribute('role', 'group');
        el.replaceChildren(svg);
      })
      .catch((e: Error) => setError(e.message));
    return () => {
      live = false;
      el.replaceChildren();
    };
  }, [rows, title]);
  return (
    <figure class="chart" data-testid={`chart-${name}`}>
      <figcaption>{title}</figcaption>
      {rows.length ? <div ref={box} class="chart-box" /> : <p class="muted">{empty ?? 'No data to chart.'}</p>}
      {error ? <p class="error">Chart failed: {error}</p> : null}
      <div class="sr-only">
        <table data-testid={`chart-data-${name}`}>
          <caption>{title} (data)</caption>
          <thead>
            <tr>
              {columns.map(([h]) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {columns.map(([h, f]) => (
                  <td key={h}>{f(r) === null ? '' : String(f(r))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** One statistic of one feature across commits. */
export function TrendChart({ name, title, points, stat }: { name: string; title: string; points: TrendPoint[]; stat: string }) {
  const draw = (Plot: Plot, width: number) =>
    Plot.plot({
      width,
      height: 240,
      marginLeft: 60,
      x: { label: 'commit', tickFormat: (d: number) => String(d) },
      y: { label: stat, grid: true },
      marks: [
        Plot.lineY(points, { x: 'x', y: 'value', stroke: '#1f5fbf' }),
        Plot.dot(points, {
          x: 'x',
          y: 'value',
          fill: '#1f5fbf',
          r: 3,
          title: (p: TrendPoint) => `commit ${p.commitId ?? '–'}: ${stat} = ${p.value}`,
        }),
      ],
    });
  return (
    <Chart
      name={name}
      title={title}
      rows={points}
      draw={draw}
      columns={[
        ['commit', (p) => p.commitId],
        ['ingestion', (p) => p.ingestionId],
        [stat, (p) => p.value],
      ]}
      empty="No commit has this statistic."
    />
  );
}

/** A drift metric per commit against its threshold (a rule); points over it are drawn in red. */
export function DriftChart({ name, title, points }: { name: string; title: string; points: DriftPoint[] }) {
  const draw = (Plot: Plot, width: number) =>
    Plot.plot({
      width,
      height: 220,
      marginLeft: 60,
      x: { label: 'commit', tickFormat: (d: number) => String(d) },
      y: { label: points[0]?.metric ?? 'drift', grid: true, zero: true },
      marks: [
        // The threshold: a rule per distinct value (one commit alone still shows it), and its line across commits.
        Plot.ruleY([...new Set(points.map((p) => p.threshold))], { stroke: '#b3261e', strokeDasharray: '4,3' }),
        Plot.lineY(points, { x: 'x', y: 'value', stroke: '#5b5b5b' }),
        Plot.dot(points, {
          x: 'x',
          y: 'value',
          r: 3.5,
          fill: (p: DriftPoint) => (p.over ? '#b3261e' : '#1f7a3a'),
          title: (p: DriftPoint) =>
            `commit ${p.commitId ?? '–'}: ${p.metric} = ${p.value} (threshold ${p.threshold}${p.over ? ', drifted' : ''})`,
        }),
      ],
    });
  return (
    <Chart
      name={name}
      title={title}
      rows={points}
      draw={draw}
      columns={[
        ['commit', (p) => p.commitId],
        ['metric', (p) => p.metric],
        ['value', (p) => p.value],
        ['threshold', (p) => p.threshold],
        ['over threshold', (p) => (p.over ? 'yes' : 'no')],
      ]}
      empty="No drift measured (a first commit has nothing to compare with)."
    />
  );
}

/** A histogram (numeric bins) or the counts of categories. */
export function BarsChart({ name, title, bars }: { name: string; title: string; bars: Bar[] }) {
  const numeric = bars.length > 0 && bars.every((b) => b.x0 !== undefined);
  const draw = (Plot: Plot, width: number) =>
    numeric
      ? Plot.plot({
          width,
          height: 220,
          marginLeft: 60,
          y: { label: 'rows', grid: true },
          x: { label: 'value' },
          marks: [
            Plot.rectY(bars, {
              x1: 'x0',
              x2: 'x1',
              y: 'count',
              fill: '#1f5fbf',
              insetLeft: 0.5,
              insetRight: 0.5,
              title: (b: Bar) => `${b.label}: ${b.count}`,
            }),
            Plot.ruleY([0]),
          ],
        })
      : Plot.plot({
          width,
          height: Math.max(120, bars.length * 22 + 40),
          marginLeft: 120,
          x: { label: 'rows', grid: true },
          y: { label: null, domain: bars.map((b) => b.label) },
          marks: [
            Plot.barX(bars, { y: 'label', x: 'count', fill: '#1f5fbf', title: (b: Bar) => `${b.label}: ${b.count}` }),
            Plot.ruleX([0]),
          ],
        });
  return (
    <Chart
      name={name}
      title={title}
      rows={bars}
      draw={draw}
      columns={[
        ['bin', (b) => b.label],
        ['count', (b) => b.count],
      ]}
      empty="No histogram for this feature in this commit."
    />
  );
}

/** Horizontal bars of step durations (per-step timings of a run). */
export function StepsChart({ name, title, steps }: { name: string; title: string; steps: { name: string; ms: number }[] }) {
  const draw = (Plot: Plot, width: number) =>
    Plot.plot({
      width,
      height: Math.max(100, steps.length * 24 + 40),
      marginLeft: 180,
      x: { label: 'ms', grid: true },
      y: { label: null, domain: steps.map((s) => s.name) },
      marks: [
        Plot.barX(steps, {
          y: 'name',
          x: 'ms',
          fill: '#1f5fbf',
          title: (s: { name: string; ms: number }) => `${s.name}: ${fmtNumber(s.ms)} ms`,
        }),
      ],
    });
  return (
    <Chart
      name={name}
      title={title}
      rows={steps}
      draw={draw}
      columns={[
        ['step', (s) => s.name],
        ['ms', (s) => s.ms],
      ]}
      empty="No finished steps yet."
    />
  );
}
