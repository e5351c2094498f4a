/**
 * Data docs: one static, self-contained HTML page (no scripts, no external assets) with suites, validation results
 * (observed values, unexpected samples), column statistics with inline SVG histograms, and drift over time.
 */
import type { DriftReport } from './drift.js';
import type { ColumnProfile, Profile } from './profile.js';
import type { ExpectationSuite } from './suite.js';
import type { ValidationResult } from './validator.js';

export interface DataDocsInput {
  title?: string;
  suites?: ExpectationSuite[];
  /** Validation results, optionally labelled (e.g. by commit / ingestion id). */
  results?: (ValidationResult | { label: string; result: ValidationResult })[];
  profiles?: (Profile | { label: string; profile: Profile })[];
  drift?: (DriftReport | { label: string; report: DriftReport })[];
}

export function escapeHtml(v: unknown): string {
  const s = typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const fmt = (x: unknown): string =>
  typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toPrecision(6)) : escapeHtml(x ?? '');

function histogramSvg(c: ColumnProfile): string {
  const h = c.histogram;
  if (!h || h.counts.length === 0) return '';
  const w = 320;
  const ht = 80;
  const max = Math.max(...h.counts, 1);
  const bw = w / h.counts.length;
  const bars = h.counts
    .map((n, i) => {
      const bh = (n / max) * (ht - 4);
      const label = h.kind === 'categorical' ? escapeHtml(h.values![i]) : `${fmt(h.edges![i])} .. ${fmt(h.edges![i + 1])}`;
      return `<rect x="${(i * bw).toFixed(1)}" y="${(ht - bh).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${bh.toFixed(1)}"><title>${label}: ${n}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="${w}" height="${ht}" viewBox="0 0 ${w} ${ht}" role="img" aria-label="histogram of ${escapeHtml(c.name)}">${bars}</svg>`;
}

function resultsSection(label: string, r: ValidationResult): string {
  const rows = r.results
    .map((x) => {
      const res = x.result as Record<string, unknown>;
      const observed =
        'observed_value' in res
          ? fmt(res.observed_value)
          : 'unexpected_count' in res
            ? `${fmt(res.unexpected_count)} unexpected of ${fmt(res.element_count)} (${fmt(res.unexpected_percent)}%)`
            : '';
      const sample = Array.isArray(res.partial_unexpected_list) ? escapeHtml(res.partial_unexpected_list.slice(0, 10)) : '';
      const err = x.exception_info.raised_exception
        ? `<div class="err">${escapeHtml(x.exception_info.exception_message)}</div>`
        : '';
      return `<tr class="${x.success ? 'ok' : 'fail'}"><td>${x.success ? '✔' : '✘'}</td><td><code>${escapeHtml(x.expectation_config.type)}</code></td><td><code>${escapeHtml(x.expectation_config.kwargs)}</code></td><td>${observed}${err}</td><td><code>${sample}</code></td></tr>`;
    })
    .join('\n');
  const s = r.statistics;
  return `<section><h2>Validation: ${escapeHtml(label)} — ${r.success ? '<span class="ok">passed</span>' : '<span class="fail">failed</span>'}</h2>
<p>suite <b>${escapeHtml(r.suite_name)}</b>: ${s.successful_expectations}/${s.evaluated_expectations} expectations met (${fmt(s.success_percent)}%)</p>
<table><thead><tr><th></th><th>expectation</th><th>kwargs</th><th>observed</th><th>unexpected sample</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

function profileSection(label: string, p: Profile): string {
  const rows = Object.values(p.columns)
    .map(
      (c) =>
        `<tr><td><b>${escapeHtml(c.name)}</b><br><small>${escapeHtml(c.arrowType)}</small></td><td>${c.count}</td><td>${fmt(c.completeness)}</td><td>${c.distinctCount}${c.distinctExact ? '' : ' ≈'}</td><td>${fmt(c.min)}</td><td>${fmt(c.max)}</td><td>${fmt(c.mean)}</td><td>${fmt(c.stddev)}</td><td>${
          c.quantiles ? `${fmt(c.quantiles.p25)} / ${fmt(c.quantiles.p50)} / ${fmt(c.quantiles.p75)}` : ''
        }</td><td>${histogramSvg(c)}${
          c.topValues && c.kind === 'string'
            ? `<br><small>top: ${escapeHtml(
                c.topValues
                  .slice(0, 5)
                  .map((t) => `${t.value} (${t.count})`)
                  .join(', '),
              )}</small>`
            : ''
        }</td></tr>`,
    )
    .join('\n');
  return `<section><h2>Statistics: ${escapeHtml(label)}</h2><p>${p.rowCount} rows</p>
<table><thead><tr><th>column</th><th>count</th><th>completeness</th><th>distinct</th><th>min</th><th>max</th><th>mean</th><th>stddev</th><th>p25 / p50 / p75</th><th>distribution</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

function driftSection(items: { label: string; report: DriftReport }[]): string {
  if (!items.length) return '';
  const cols = [...new Set(items.flatMap((i) => i.report.columns.map((c) => c.column)))];
  const head = items.map((i) => `<th>${escapeHtml(i.label)}</th>`).join('');
  const rows = cols
    .map((col) => {
      const cells = items
        .map((i) => {
          const c = i.report.columns.find((x) => x.column === col);
          if (!c) return '<td></td>';
          return `<td class="${c.drifted ? 'fail' : 'ok'}">PSI ${fmt(c.psi)}<br>KS ${fmt(c.ks)}<br>JS ${fmt(c.js)}</td>`;
        })
        .join('');
      return `<tr><td><b>${escapeHtml(col)}</b></td>${cells}</tr>`;
    })
    .join('\n');
  return `<section><h2>Drift over time</h2><table><thead><tr><th>column</th>${head}</tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function renderDataDocs(input: DataDocsInput): string {
  const title = input.title ?? 'Strata data docs';
  const suites = (input.suites ?? [])
    .map(
      (s) =>
        `<section><h2>Suite: ${escapeHtml(s.name)}</h2><ol>${s.expectations
          .map((e) => `<li><code>${escapeHtml(e.type)}</code> <code>${escapeHtml(e.kwargs)}</code></li>`)
          .join('')}</ol></section>`,
    )
    .join('\n');
  const results = (input.results ?? [])
    .map((r, i) =>
      'label' in r && 'result' in r ? resultsSection(r.label, r.result) : resultsSection(`run ${i + 1}`, r as ValidationResult),
    )
    .join('\n');
  const profiles = (input.profiles ?? [])
    .map((p, i) =>
      'label' in p && 'profile' in p ? profileSection(p.label, p.profile) : profileSection(`profile ${i + 1}`, p as Profile),
    )
    .join('\n');
  const drift = driftSection(
    (input.drift ?? []).map((d, i) => ('label' in d && 'report' in d ? d : { label: `#${i + 1}`, report: d as DriftReport })),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}th{background:#f4f4f4}
.ok{color:#17703a}.fail{color:#b3261e}tr.fail{background:#fff4f3}.err{color:#b3261e;font-size:12px}
code{font-size:12px;word-break:break-all}svg.hist rect{fill:#4a78b5}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${suites}
${results}
${profiles}
${drift}
</body></html>
`;
}
