/**
 * A feature view: schema and metadata, versions and the diff between any two, the commit timeline (with release of
 * quarantined batches), per-feature statistics of a commit and their trend across commits, drift against its
 * thresholds, the validation report of a commit (Great Expectations' data docs look), materialization state.
 * Only the selected tab loads its data, and only the selected feature's charts are drawn.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, postJson, proj, q } from '../api.js';
import { BarsChart, DriftChart, preloadCharts, TrendChart } from '../charts.js';
import {
  ActionButton,
  ErrorBox,
  type Loaded,
  KV,
  Section,
  Show,
  Status,
  Tabs,
  TemporalLink,
  Scroll,
  Time,
  useApi,
  WindowedTable,
} from '../components.js';
import { fmtDuration, fmtNumber, fmtPercent, fmtTags, fmtTime, fmtTtl, fmtValue } from '../lib/format.js';
import { lineDiff, stableJson } from '../lib/linediff.js';
import { availableStats, DRIFT_METRICS, driftPoints, histogramBars, type TrendStat, trendPoints } from '../lib/series.js';
import { Link, path, setQuery, useLocation } from '../router.js';
import { RunCard } from '../runs.js';
import { useCan, useSession } from '../session.js';
import { temporalRunUrl } from '../temporal.js';
import type {
  ColumnProfile,
  Ingestion,
  MaterializationState,
  Profile,
  StatisticsSeries,
  ValidationReport,
  ViewSpec,
} from '../types.js';

interface ViewDetail {
  name: string;
  version: number;
  spec: ViewSpec & { timestampField?: string; validationPolicy?: string; monitoring?: unknown; expectationSuite?: unknown };
  joinKeys: { name: string; valueType: string }[];
}

type Tab = 'schema' | 'versions' | 'commits' | 'statistics' | 'drift' | 'validation' | 'materialization';
const TABS: [Tab, string][] = [
  ['schema', 'Schema'],
  ['versions', 'Versions'],
  ['commits', 'Commits'],
  ['statistics', 'Statistics'],
  ['drift', 'Drift'],
  ['validation', 'Validation'],
  ['materialization', 'Materialization'],
];

export default function ViewPage({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const name = params.name as string;
  const { query } = useLocation();
  const tab = (TABS.find(([t]) => t === query.get('tab'))?.[0] ?? 'schema') as Tab;
  const base = `${proj(project)}/feature-views/${encodeURIComponent(name)}`;
  const view = useApi<ViewDetail>(base);
  // Each tab loads only what it shows: the ingestion list (with failed and quarantined batches) for the timeline and
  // the validation picker; the statistics series (one feature, every commit with statistics) for statistics and drift.
  const ingestions = useApi<{ ingestions: Ingestion[] }>(
    tab === 'commits' || tab === 'validation' ? `${proj(project)}/ingestions${q({ view: name })}` : null,
  );
  const first = view.data?.spec.features[0]?.name;
  const seriesFeature = query.get('feature') ?? first;
  const series = useApi<StatisticsSeries>(
    (tab === 'statistics' || tab === 'drift') && seriesFeature ? seriesUrl(base, seriesFeature) : null,
  );
  const seriesCommits = useMemo(() => asIngestions(series), [series]);
  if (tab === 'statistics' || tab === 'drift') preloadCharts(); // the chart code loads while the data does
  return (
    <div data-testid="page-view">
      <p class="crumbs">
        <Link href={path('projects', project)}>{project}</Link> / feature view
      </p>
      <h1>{name}</h1>
      <Show r={view} what="the feature view">
        {(v) => (
          <>
            <Header v={v} />
            <Tabs tabs={TABS} current={tab} onSelect={(t) => setQuery({ tab: t })} label="Feature view sections" />
            <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="panel">
              {tab === 'schema' ? <Schema v={v} /> : null}
              {tab === 'versions' ? <Versions base={base} current={v.version} /> : null}
              {tab === 'commits' ? <Commits project={project} ingestions={ingestions} /> : null}
              {tab === 'statistics' ? <Statistics project={project} base={base} ingestions={seriesCommits} /> : null}
              {tab === 'drift' ? (
                <Drift project={project} base={base} ingestions={seriesCommits} features={v.spec.features.map((f) => f.name)} />
              ) : null}
              {tab === 'validation' ? <Validation project={project} ingestions={ingestions} /> : null}
              {tab === 'materialization' ? <Materialization project={project} view={name} base={base} /> : null}
            </div>
          </>
        )}
      </Show>
    </div>
  );
}

function Header({ v }: { v: ViewDetail }) {
  const s = v.spec;
  return (
    <KV
      items={[
        ['version', <span data-testid="view-version">{v.version}</span>],
        ['entities', (s.entities ?? []).join(', ')],
        ['join keys', v.joinKeys.map((k) => `${k.name}: ${k.valueType}`).join(', ')],
        ['owner', s.owner ?? '–'],
        ['tags', fmtTags(s.tags).join(', ') || '–'],
        ['TTL', fmtTtl(s.ttlSeconds)],
        ['online', s.online === false ? 'no' : 'yes'],
        ['event time', s.timestampField ?? '–'],
        ['validation policy', s.validationPolicy ?? 'NONE'],
      ]}
    />
  );
}

function Schema({ v }: { v: ViewDetail }) {
  return (
    <Section title={`Features (${v.spec.features.length})`} id="schema">
      {v.spec.description ? <p>{v.spec.description}</p> : null}
      <table class="table" data-testid="schema-table">
        <caption class="sr-only">Features of version {v.version}</caption>
        <thead>
          <tr>
            <th scope="col">feature</th>
            <th scope="col">value type</th>
            <th scope="col">tags</th>
            <th scope="col">description</th>
          </tr>
        </thead>
        <tbody>
          {v.spec.features.map((f) => (
            <tr key={f.name}>
              <td>
                <code>{f.name}</code>
              </td>
              <td>{f.valueType}</td>
              <td>{fmtTags(f.tags).join(', ')}</td>
              <td>{f.description ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

interface VersionDiff {
  from: number;
  to: number;
  change: { breaking?: boolean; [k: string]: unknown } | null;
  featuresAdded: string[];
  featuresRemoved: string[];
  featuresChanged: { name: string; before: unknown; after: unknown }[];
}

function Versions({ base, current }: { base: string; current: number }) {
  const versions = useApi<{ versions: { version: number; spec: ViewSpec }[] }>(`${base}/versions`);
  const { query } = useLocation();
  const from = Number(query.get('from') ?? Math.max(1, current - 1));
  const to = Number(query.get('to') ?? current);
  const diff = useApi<VersionDiff>(from && to && from !== to ? `${base}/version-diff${q({ from, to })}` : null);
  return (
    <Show r={versions} what="the versions">
      {(vs) => {
        const a = vs.versions.find((x) => x.version === from);
        const b = vs.versions.find((x) => x.version === to);
        const pick = (id: string, label: string, value: number, key: 'from' | 'to') => (
          <div class="field">
            <label for={id}>{label}</label>
            <select
              id={id}
              value={String(value)}
              onChange={(e) => setQuery({ [key]: (e.currentTarget as HTMLSelectElement).value })}
            >
              {vs.versions.map((x) => (
                <option key={x.version} value={String(x.version)}>
                  v{x.version}
                </option>
              ))}
            </select>
          </div>
        );
        return (
          <Section title={`Versions (${vs.versions.length})`} id="versions">
            <ul class="chips" data-testid="versions-list">
              {vs.versions.map((x) => (
                <li key={x.version}>
                  v{x.version} <span class="muted">({x.spec.features.length} features)</span>
                </li>
              ))}
            </ul>
            {vs.versions.length < 2 ? (
              <p class="muted">Only one version: nothing to compare yet.</p>
            ) : (
              <>
                <div class="row">
                  {pick('diff-from', 'Compare version', from, 'from')}
                  {pick('diff-to', 'with version', to, 'to')}
                </div>
                {from === to ? <p class="muted">Pick two different versions.</p> : null}
                <Show r={diff} what="the diff">
                  {(d) => (
                    <div data-testid="version-diff">
                      <p>
                        v{d.from} → v{d.to}: {d.change?.breaking ? <strong class="bad">breaking</strong> : 'not breaking'}
                      </p>
                      <KV
                        items={[
                          ['added', d.featuresAdded.join(', ') || '–'],
                          ['removed', d.featuresRemoved.join(', ') || '–'],
                          ['changed', d.featuresChanged.map((c) => c.name).join(', ') || '–'],
                        ]}
                      />
                    </div>
                  )}
                </Show>
                {a && b && from !== to ? <SpecDiff a={a.spec} b={b.spec} /> : null}
              </>
            )}
          </Section>
        );
      }}
    </Show>
  );
}

function SpecDiff({ a, b }: { a: unknown; b: unknown }) {
  const lines = useMemo(() => lineDiff(stableJson(a), stableJson(b)), [a, b]);
  return (
    <Scroll label="Spec diff" maxHeight={480}>
      <table class="diff" data-testid="spec-diff">
        <caption class="sr-only">The two specs, line by line (added lines marked +, removed -)</caption>
        <tbody>
          {lines.map((l, i) => (
            <tr key={i} class={`d-${l.op}`}>
              <td class="ln">{l.a ?? ''}</td>
              <td class="ln">{l.b ?? ''}</td>
              <td class="op" aria-label={l.op === 'add' ? 'added' : l.op === 'del' ? 'removed' : 'unchanged'}>
                {l.op === 'add' ? '+' : l.op === 'del' ? '-' : ' '}
              </td>
              <td>
                <pre>{l.text}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Scroll>
  );
}

/** Newest first, as a person reads a timeline. */
const newestFirst = (rows: Ingestion[]) =>
  [...rows].sort((x, y) => (y.createdAt > x.createdAt ? 1 : y.createdAt < x.createdAt ? -1 : 0));

function Commits({
  project,
  ingestions,
}: {
  project: string;
  ingestions: ReturnType<typeof useApi<{ ingestions: Ingestion[] }>>;
}) {
  const session = useSession();
  const canEdit = useCan(project, 'editor');
  const [released, setReleased] = useState<{ id: string; workflowId: string }>();
  return (
    <Section title="Commit timeline" id="commits">
      {released ? <RunCard project={project} workflowId={released.workflowId} title={`Release of ${released.id}`} /> : null}
      <Show r={ingestions} what="the commits">
        {(d) => {
          const rows = newestFirst(d.ingestions);
          const counts: Record<string, number> = {};
          for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
          return (
            <>
              <p data-testid="commit-counts">
                {Object.entries(counts)
                  .map(([s, n]) => `${n} ${s}`)
                  .join(', ') || 'No ingestions yet.'}
              </p>
              <WindowedTable
                rows={rows}
                caption="Ingestions of this view, newest first"
                testid="commits-table"
                colSpan={9}
                head={
                  <tr>
                    <th scope="col">commit</th>
                    <th scope="col">status</th>
                    <th scope="col">rows</th>
                    <th scope="col">event times</th>
                    <th scope="col">by</th>
                    <th scope="col">created</th>
                    <th scope="col">source</th>
                    <th scope="col">run</th>
                    <th scope="col">actions</th>
                  </tr>
                }
                row={(r) => (
                  <tr key={r.id} data-ingestion={r.id}>
                    <td>{r.commitSeq ?? '–'}</td>
                    <td>
                      <Status value={r.status} />
                    </td>
                    <td class="num">{fmtNumber(r.rowCount)}</td>
                    <td class="small">
                      {fmtTime(r.minEventTime)} – {fmtTime(r.maxEventTime)}
                    </td>
                    <td>{r.createdBy ?? '–'}</td>
                    <td class="small">
                      <Time v={r.createdAt} />
                    </td>
                    <td class="small">{r.source ?? '–'}</td>
                    <td>
                      <TemporalLink url={temporalRunUrl(session, r.workflowId)} label="run" />
                    </td>
                    <td class="actions-cell">
                      {r.hasStatistics ? (
                        <button type="button" class="link" onClick={() => setQuery({ tab: 'statistics', commit: r.id })}>
                          statistics<span class="sr-only"> of {r.id}</span>
                        </button>
                      ) : null}
                      {r.hasReport ? (
                        <button type="button" class="link" onClick={() => setQuery({ tab: 'validation', commit: r.id })}>
                          report<span class="sr-only"> of {r.id}</span>
                        </button>
                      ) : null}
                      {r.status === 'quarantined' && canEdit ? (
                        <ActionButton
                          label="Release"
                          class="btn small"
                          testid={`release-${r.id}`}
                          confirm={`Validate ingestion ${r.id} again and commit it if it passes?`}
                          run={async () => {
                            const res = await postJson<{ run: { workflowId: string } }>(
                              `${proj(project)}/ingestions/${encodeURIComponent(r.id)}/release`,
                              {},
                            );
                            setReleased({ id: r.id, workflowId: res.run.workflowId });
                            setTimeout(ingestions.reload, 1500);
                          }}
                        />
                      ) : null}
                    </td>
                  </tr>
                )}
              />
            </>
          );
        }}
      </Show>
    </Section>
  );
}

/** The commit picker of the statistics, drift and validation tabs (?commit=<ingestion id>). */
function CommitPicker({ rows, selected, label }: { rows: Ingestion[]; selected: string | undefined; label: string }) {
  return (
    <div class="field">
      <label for="commit-pick">{label}</label>
      <select
        id="commit-pick"
        value={selected ?? ''}
        onChange={(e) => setQuery({ commit: (e.currentTarget as HTMLSelectElement).value })}
      >
        {rows.map((r) => (
          <option key={r.id} value={r.id}>
            {r.commitSeq !== null ? `commit ${r.commitSeq}` : r.status} · {fmtTime(r.createdAt)} · {r.id.slice(0, 12)}
          </option>
        ))}
      </select>
    </div>
  );
}

function useCommitChoice(ingestions: ReturnType<typeof useApi<{ ingestions: Ingestion[] }>>, has: (i: Ingestion) => boolean) {
  const { query } = useLocation();
  const rows = newestFirst(ingestions.data?.ingestions ?? []).filter(has);
  const want = query.get('commit');
  const selected = rows.find((r) => r.id === want) ?? rows[0];
  return { rows, selected };
}

const STAT_ROWS: [string, (c: ColumnProfile) => unknown][] = [
  ['count', (c) => c.count],
  ['nulls', (c) => c.nullCount],
  ['completeness', (c) => c.completeness],
  ['distinct', (c) => c.distinctCount],
  ['min', (c) => c.min],
  ['max', (c) => c.max],
  ['mean', (c) => c.mean],
  ['stddev', (c) => c.stddev],
];

function Statistics({
  project,
  base,
  ingestions,
}: {
  project: string;
  base: string;
  ingestions: ReturnType<typeof useApi<{ ingestions: Ingestion[] }>>;
}) {
  const { query } = useLocation();
  const { rows, selected } = useCommitChoice(ingestions, (i) => i.hasStatistics);
  const profile = useApi<Profile>(selected ? `${proj(project)}/ingestions/${encodeURIComponent(selected.id)}/statistics` : null);
  const [filter, setFilter] = useState('');
  if (ingestions.error) return <ErrorBox error={ingestions.error} />;
  if (!ingestions.data) return <p class="muted">Loading…</p>;
  if (!selected) return <p class="muted">No commit of this view has statistics yet.</p>;
  const feature = query.get('feature');
  return (
    <>
      <Section title="Statistics of a commit" id="stats">
        <CommitPicker rows={rows} selected={selected.id} label="Commit" />
        <Show r={profile} what="the statistics">
          {(p) => {
            const cols = Object.values(p.columns).filter((c) => c.name.toLowerCase().includes(filter.toLowerCase()));
            return (
              <>
                <p>
                  {fmtNumber(p.rowCount)} rows · {Object.keys(p.columns).length} columns
                </p>
                <div class="field">
                  <label for="feature-filter">Filter features</label>
                  <input
                    id="feature-filter"
                    value={filter}
                    onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
                  />
                </div>
                <WindowedTable
                  rows={cols}
                  caption="Per-feature statistics of the commit"
                  testid="stats-table"
                  colSpan={STAT_ROWS.length + 1}
                  head={
                    <tr>
                      <th scope="col">feature</th>
                      {STAT_ROWS.map(([h]) => (
                        <th key={h} scope="col">
                          {h}
                        </th>
                      ))}
                    </tr>
                  }
                  row={(c) => (
                    <tr key={c.name} class={c.name === feature ? 'selected' : undefined} data-feature={c.name}>
                      <th scope="row">
                        <button
                          type="button"
                          class="link"
                          aria-pressed={c.name === feature}
                          onClick={() => setQuery({ feature: c.name })}
                        >
                          {c.name}
                        </button>
                      </th>
                      {STAT_ROWS.map(([h, f]) => (
                        <td
                          key={h}
                          class="num"
                          data-stat={h}
                          data-value={f(c) === null || f(c) === undefined ? '' : String(f(c))}
                        >
                          {h === 'completeness' ? fmtPercent(f(c) as number | null) : fmtNumber(f(c))}
                        </td>
                      ))}
                    </tr>
                  )}
                />
                {feature && p.columns[feature] ? (
                  <FeatureDetail col={p.columns[feature] as ColumnProfile} />
                ) : (
                  <p class="muted">Pick a feature to see its histogram, top values and trend.</p>
                )}
              </>
            );
          }}
        </Show>
      </Section>
      {feature ? <Trend base={base} feature={feature} /> : null}
    </>
  );
}

function FeatureDetail({ col }: { col: ColumnProfile }) {
  const bars = useMemo(() => histogramBars(col.histogram), [col]);
  return (
    <div class="grid2" data-testid="feature-detail">
      <BarsChart name="histogram" title={`Histogram of ${col.name}`} bars={bars} />
      <div>
        <h3>Top values of {col.name}</h3>
        {col.topValues?.length ? (
          <table class="table" data-testid="top-values">
            <caption class="sr-only">Top values of {col.name}</caption>
            <thead>
              <tr>
                <th scope="col">value</th>
                <th scope="col">count</th>
              </tr>
            </thead>
            <tbody>
              {col.topValues.map((t) => (
                <tr key={fmtValue(t.value)}>
                  <td>{fmtValue(t.value)}</td>
                  <td class="num">{fmtNumber(t.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No top values recorded.</p>
        )}
        <KV
          items={[
            ['type', `${col.dtype} (${col.kind})`],
            ['distinct', `${fmtNumber(col.distinctCount)}${col.distinctExact ? '' : ' (estimate)'}`],
            ['completeness', fmtPercent(col.completeness ?? null)],
          ]}
        />
      </div>
    </div>
  );
}

const seriesUrl = (base: string, feature: string) => `${base}/statistics${q({ features: feature, limit: 200 })}`;

function useSeries(base: string, feature: string | null) {
  return useApi<StatisticsSeries>(feature ? seriesUrl(base, feature) : null);
}

/** The statistics series' commits as the commit pickers' rows (every one of them has statistics). */
function asIngestions(series: Loaded<StatisticsSeries>): Loaded<{ ingestions: Ingestion[] }> {
  const data = series.data && {
    ingestions: series.data.commits.map(
      (c): Ingestion => ({
        id: c.ingestionId,
        view: series.data?.view ?? '',
        version: 0,
        status: c.status as Ingestion['status'],
        source: null,
        rowCount: c.rows,
        minEventTime: c.minEventTime,
        maxEventTime: c.maxEventTime,
        commitSeq: c.commitId,
        createdBy: null,
        createdAt: c.createdAt,
        committedAt: c.committedAt,
        workflowId: null,
        error: null,
        hasReport: false,
        hasStatistics: true,
        hasDrift: Object.keys(c.drift).length > 0,
      }),
    ),
  };
  return { data, error: series.error, loading: series.loading, reload: series.reload };
}

function Trend({ base, feature }: { base: string; feature: string }) {
  const { query } = useLocation();
  const series = useSeries(base, feature);
  return (
    <Section title={`Trend of ${feature} across commits`} id="trend">
      <Show r={series} what="the statistics series">
        {(s) => {
          const stats = availableStats(s.commits, feature);
          const stat = (stats.find((x) => x === query.get('stat')) ?? stats[0]) as TrendStat | undefined;
          if (!stat) return <p class="muted">No numeric statistic of {feature} across commits.</p>;
          return (
            <>
              <div class="field">
                <label for="stat-pick">Statistic</label>
                <select
                  id="stat-pick"
                  value={stat}
                  onChange={(e) => setQuery({ stat: (e.currentTarget as HTMLSelectElement).value })}
                >
                  {stats.map((x) => (
                    <option key={x} value={x}>
                      {x}
                    </option>
                  ))}
                </select>
              </div>
              <TrendChart
                name="trend"
                title={`${stat} of ${feature} per commit`}
                points={trendPoints(s.commits, feature, stat)}
                stat={stat}
              />
            </>
          );
        }}
      </Show>
    </Section>
  );
}

interface DriftReport {
  drifted: boolean;
  thresholds: { psi: number; ks: number; js: number };
  columns: {
    column: string;
    kind: string;
    psi: number | null;
    ks: number | null;
    js: number | null;
    drifted: boolean;
    reasons: string[];
    note?: string;
  }[];
  addedColumns: string[];
  removedColumns: string[];
}

function Drift({
  project,
  base,
  ingestions,
  features,
}: {
  project: string;
  base: string;
  ingestions: ReturnType<typeof useApi<{ ingestions: Ingestion[] }>>;
  features: string[];
}) {
  const { query } = useLocation();
  const { rows, selected } = useCommitChoice(ingestions, (i) => i.hasDrift);
  const report = useApi<DriftReport>(selected ? `${proj(project)}/ingestions/${encodeURIComponent(selected.id)}/drift` : null);
  const feature = query.get('feature') ?? features[0] ?? null;
  const series = useSeries(base, feature);
  return (
    <>
      <Section title="Drift of a feature across commits" id="drift-trend">
        <div class="field">
          <label for="drift-feature">Feature</label>
          <select
            id="drift-feature"
            value={feature ?? ''}
            onChange={(e) => setQuery({ feature: (e.currentTarget as HTMLSelectElement).value })}
          >
            {features.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        {feature ? (
          <Show r={series} what="the drift series">
            {(s) => (
              <div class="grid3">
                {DRIFT_METRICS.map((m) => (
                  <DriftChart
                    key={m}
                    name={`drift-${m}`}
                    title={`${m.toUpperCase()} of ${feature} vs threshold`}
                    points={driftPoints(s.commits, feature, m)}
                  />
                ))}
              </div>
            )}
          </Show>
        ) : null}
      </Section>
      <Section title="Drift of a commit against the previous one" id="drift-commit">
        {!rows.length ? (
          <p class="muted">No commit has a drift report yet (a first commit has nothing to compare with).</p>
        ) : (
          <>
            <CommitPicker rows={rows} selected={selected?.id} label="Commit" />
            <Show r={report} what="the drift report">
              {(d) => (
                <>
                  <p>
                    {d.drifted ? <strong class="bad">Drifted</strong> : <span class="ok">No drift</span>} · thresholds PSI{' '}
                    {d.thresholds.psi}, KS {d.thresholds.ks}, JS {d.thresholds.js}
                  </p>
                  <table class="table" data-testid="drift-table">
                    <caption class="sr-only">Drift per feature</caption>
                    <thead>
                      <tr>
                        <th scope="col">feature</th>
                        <th scope="col">kind</th>
                        <th scope="col">PSI</th>
                        <th scope="col">KS</th>
                        <th scope="col">JS</th>
                        <th scope="col">drifted</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.columns.map((c) => (
                        <tr key={c.column} class={c.drifted ? 'row-bad' : undefined}>
                          <th scope="row">{c.column}</th>
                          <td>{c.kind}</td>
                          {(['psi', 'ks', 'js'] as const).map((m) => (
                            <td
                              key={m}
                              class={`num${c.reasons.some((r) => r.startsWith(m)) ? ' bad' : ''}`}
                              data-value={c[m] ?? ''}
                            >
                              {fmtNumber(c[m])}
                            </td>
                          ))}
                          <td>{c.drifted ? `yes: ${c.reasons.join('; ')}` : 'no'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </Show>
          </>
        )}
      </Section>
    </>
  );
}

function Validation({
  project,
  ingestions,
}: {
  project: string;
  ingestions: ReturnType<typeof useApi<{ ingestions: Ingestion[] }>>;
}) {
  const { rows, selected } = useCommitChoice(ingestions, (i) => i.hasReport);
  const report = useApi<ValidationReport>(
    selected ? `${proj(project)}/ingestions/${encodeURIComponent(selected.id)}/validation-report` : null,
  );
  if (ingestions.data && !rows.length)
    return <p class="muted">No ingestion of this view has a validation report (the view has no expectation suite).</p>;
  return (
    <Section title="Validation report" id="validation">
      {rows.length ? <CommitPicker rows={rows} selected={selected?.id} label="Ingestion" /> : null}
      {selected ? (
        <p>
          <Status value={selected.status} /> ingestion <code>{selected.id}</code>
        </p>
      ) : null}
      <Show r={report} what="the validation report">
        {(r) => <GeReport r={r} />}
      </Show>
    </Section>
  );
}

const kwargsText = (k: Record<string, unknown>) =>
  Object.entries(k)
    .filter(([key]) => key !== 'batch_id')
    .map(([key, v]) => `${key}=${fmtValue(v)}`)
    .join(', ');

/** The look of Great Expectations' data docs: an overview, then one row per expectation with its observed value. */
export function GeReport({ r }: { r: ValidationReport }) {
  const s = r.statistics;
  return (
    <div class="ge" data-testid="validation-report">
      <div class={`ge-overview ${r.success ? 'ge-pass' : 'ge-fail'}`}>
        <h3>{r.success ? 'Succeeded' : 'Failed'}</h3>
        <KV
          items={[
            ['suite', r.suite_name],
            ['evaluated expectations', String(s.evaluated_expectations)],
            ['successful', String(s.successful_expectations)],
            ['unsuccessful', String(s.unsuccessful_expectations)],
            ['success percent', s.success_percent === null ? '–' : `${fmtNumber(s.success_percent)}%`],
          ]}
        />
      </div>
      <table class="table ge-table" data-testid="expectations-table">
        <caption class="sr-only">Expectations and their results</caption>
        <thead>
          <tr>
            <th scope="col">status</th>
            <th scope="col">expectation</th>
            <th scope="col">observed value</th>
            <th scope="col">unexpected</th>
          </tr>
        </thead>
        <tbody>
          {r.results.map((x, i) => {
            const type = x.expectation_config.type ?? x.expectation_config.expectation_type ?? '?';
            const res = x.result;
            const samples = (res.partial_unexpected_list as unknown[] | undefined) ?? [];
            const count = res.unexpected_count as number | undefined;
            return (
              <tr
                key={i}
                class={x.success ? 'ge-row-pass' : 'ge-row-fail'}
                data-expectation={type}
                data-success={String(x.success)}
              >
                <td>
                  <span class={`badge badge-${x.success ? 'ok' : 'bad'}`}>{x.success ? '✓ passed' : '✗ failed'}</span>
                </td>
                <td>
                  <code>{type}</code>
                  <div class="small muted">{kwargsText(x.expectation_config.kwargs)}</div>
                  {x.exception_info?.raised_exception ? <div class="bad small">{x.exception_info.exception_message}</div> : null}
                </td>
                <td data-testid="observed-value">
                  {'observed_value' in res
                    ? fmtValue(res.observed_value)
                    : count !== undefined
                      ? `${fmtNumber(res.element_count)} rows`
                      : '–'}
                </td>
                <td>
                  {count !== undefined ? (
                    <>
                      <div>
                        {fmtNumber(count)} unexpected
                        {typeof res.unexpected_percent === 'number' ? ` (${fmtNumber(res.unexpected_percent)}%)` : ''}
                      </div>
                      {samples.length ? (
                        <ul class="samples" aria-label="unexpected samples">
                          {samples.slice(0, 20).map((v, j) => (
                            <li key={j}>
                              <code>{fmtValue(v)}</code>
                            </li>
                          ))}
                        </ul>
                      ) : null}
                    </>
                  ) : (
                    '–'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Materialization({ project, view, base }: { project: string; view: string; base: string }) {
  const state = useApi<MaterializationState>(`${base}/materialization${q({ runs: 10 })}`);
  const canEdit = useCan(project, 'editor');
  const [run, setRun] = useState<string>();
  return (
    <Section
      title="Materialization"
      id="materialization"
      actions={
        canEdit ? (
          <ActionButton
            label="Materialize now"
            testid="materialize"
            run={async () => {
              const r = await postJson<{ run: { workflowId: string } }>(`${proj(project)}/materializations`, { view });
              setRun(r.run.workflowId);
              setTimeout(state.reload, 2000);
            }}
          />
        ) : null
      }
    >
      {run ? <RunCard project={project} workflowId={run} title="Materialization" /> : null}
      <Show r={state} what="the materialization state">
        {(m) => (
          <>
            <KV
              items={[
                ['online', m.online ? 'yes' : 'no (offline only)'],
                ['watermark (commit)', <span data-testid="watermark">{m.watermark.commitId}</span>],
                ['watermark updated', <Time v={m.watermark.updatedAt} />],
                ['latest commit', String(m.latestCommitId ?? '–')],
                ['commits behind', String(m.commitsBehind ?? '–')],
                ['newest event time online', <Time v={m.materializedEventTime} />],
                [
                  'online freshness',
                  <span title={m.freshnessBasis}>
                    {m.freshnessSeconds === null ? '–' : fmtDuration(m.freshnessSeconds * 1000)}
                  </span>,
                ],
                ['online store marker', String(m.onlineMarker ?? 'none')],
              ]}
            />
            <h3>Schedule</h3>
            {m.schedule ? (
              <p data-testid="schedule">
                every <strong>{m.schedule.every}</strong> {m.schedule.paused ? '(paused)' : ''}{' '}
                <code>{m.schedule.scheduleId}</code>{' '}
                {canEdit ? (
                  <ActionButton
                    label="Trigger"
                    class="btn small"
                    testid="trigger-schedule"
                    run={async () => {
                      await api(`${proj(project)}/schedules/${encodeURIComponent(view)}/trigger`, { method: 'POST' });
                      setTimeout(state.reload, 2000);
                    }}
                  />
                ) : null}
              </p>
            ) : (
              <p class="muted">
                No schedule (create one with <code>strata schedule create {view} --every 1h</code>).
              </p>
            )}
            <h3>Last runs</h3>
            {m.runs.length ? (
              <table class="table" data-testid="materialization-runs">
                <caption class="sr-only">Last materialization runs</caption>
                <thead>
                  <tr>
                    <th scope="col">status</th>
                    <th scope="col">mode</th>
                    <th scope="col">commits</th>
                    <th scope="col">rows written</th>
                    <th scope="col">started</th>
                    <th scope="col">took</th>
                    <th scope="col">run</th>
                  </tr>
                </thead>
                <tbody>
                  {m.runs.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <Status value={r.status} />
                      </td>
                      <td>{r.mode}</td>
                      <td>
                        {r.fromSeq !== null || r.toSeq !== null
                          ? `${r.fromSeq ?? ''}–${r.toSeq ?? ''}`
                          : `${fmtTime(r.windowStart)} – ${fmtTime(r.windowEnd)}`}
                      </td>
                      <td class="num">{fmtNumber(r.rowsWritten)}</td>
                      <td class="small">
                        <Time v={r.startedAt} />
                      </td>
                      <td>{fmtDuration(r.durationMs)}</td>
                      <td>
                        <TemporalLink url={r.url} label="run" />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">Not materialized yet.</p>
            )}
          </>
        )}
      </Show>
    </Section>
  );
}
