/**
 * Explain a value: for an entity key and a feature, the online value and the offline rows behind it, the commit and
 * ingestion that brought it, its source file, the validation report it passed and the materialization run that
 * wrote it online, each linked to its Temporal run.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, proj, q } from '../api.js';
import {
  ErrorBox,
  KV,
  Loading,
  Section,
  Show,
  Status,
  TemporalLink,
  Time,
  useApi,
  KeyInputs,
  ViewSelect,
} from '../components.js';
import { fmtNumber, fmtValue } from '../lib/format.js';
import { Link, path, setQuery, useLocation } from '../router.js';
import type { ViewSummary } from '../types.js';

interface Explanation {
  view: string;
  version: number;
  entity: Record<string, unknown>;
  feature: string | null;
  online: {
    status: string;
    value?: unknown;
    eventTime: string | null;
    values?: Record<string, { value: unknown; status: string }>;
  };
  watermark: number;
  offline: {
    rows: {
      commitId: number;
      ingestionId: string;
      eventTime: string;
      createdTime: string | null;
      values: Record<string, unknown>;
      materialized: boolean;
      online: boolean;
    }[];
    total: number;
    truncated: boolean;
  };
  onlineRow: { commitId: number; eventTime: string; matchesOnline: boolean } | null;
  commit: {
    commitId: number;
    ingestionId: string;
    committedAt: string | null;
    rows: number;
    minEventTime: string | null;
    maxEventTime: string | null;
  } | null;
  ingestion: {
    id: string;
    status: string;
    createdBy: string | null;
    createdAt: string;
    committedAt: string | null;
    source: string | null;
    workflowId: string | null;
    url: string | null;
  } | null;
  validation: {
    success: boolean;
    evaluated: number;
    successful: number;
    unsuccessful: number;
    successPercent: number | null;
    suite: string;
  } | null;
  materialization: {
    id: number;
    workflowId: string;
    url: string;
    status: string;
    mode: string;
    startedAt: string | null;
    finishedAt: string | null;
  } | null;
}

export default function Explain({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const { query } = useLocation();
  const views = useApi<{ featureViews: ViewSummary[] }>(`${proj(project)}/feature-views`);
  const viewName = query.get('view') ?? views.data?.featureViews[0]?.name ?? '';
  const detail = useApi<{ joinKeys: { name: string; valueType: string }[]; spec: ViewSummary }>(
    viewName ? `${proj(project)}/feature-views/${encodeURIComponent(viewName)}` : null,
  );
  const entityParams = query.getAll('entity');
  const feature = query.get('feature') ?? '';
  const [result, setResult] = useState<{ data?: Explanation; error?: Error; loading?: boolean }>({});
  const [keys, setKeys] = useState<Record<string, string>>(() =>
    Object.fromEntries(entityParams.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
  );
  const [feat, setFeat] = useState(feature);
  const run = async (joinKeys: string[]) => {
    setResult({ loading: true });
    const s = new URLSearchParams();
    for (const k of joinKeys) s.append('entity', `${k}=${keys[k] ?? ''}`);
    if (feat) s.set('feature', feat);
    try {
      const data = await api<Explanation>(`${proj(project)}/feature-views/${encodeURIComponent(viewName)}/explain?${s}`);
      setResult({ data });
    } catch (error) {
      setResult({ error: error as Error });
    }
  };
  return (
    <div data-testid="page-explain">
      <h1>Explain a value</h1>
      <p class="muted">
        Where an online value came from: the offline rows, commit, ingestion, source, validation and materialization behind it.
      </p>
      <Show r={views} what="the feature views">
        {(vs) =>
          !vs.featureViews.length ? (
            <p class="muted">No feature views yet.</p>
          ) : (
            <form
              class="card row"
              aria-label="Value to explain"
              onSubmit={(e) => {
                e.preventDefault();
                const jk = detail.data?.joinKeys.map((k) => k.name) ?? [];
                setQuery({ feature: feat || null });
                run(jk);
              }}
            >
              <ViewSelect
                id="ex-view"
                views={vs.featureViews}
                value={viewName}
                onChange={(name) => {
                  setQuery({ view: name, feature: null });
                  setFeat('');
                  setResult({});
                }}
              />
              <KeyInputs idPrefix="ex-key" joinKeys={detail.data?.joinKeys} keys={keys} setKeys={setKeys} />
              <div class="field">
                <label for="ex-feature">Feature</label>
                <select id="ex-feature" value={feat} onChange={(e) => setFeat((e.currentTarget as HTMLSelectElement).value)}>
                  <option value="">every feature</option>
                  {detail.data?.spec.features.map((f) => (
                    <option key={f.name} value={f.name}>
                      {f.name}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field buttons">
                <button type="submit" class="btn primary" disabled={!detail.data}>
                  Explain
                </button>
              </div>
            </form>
          )
        }
      </Show>
      {result.loading ? <Loading what="the explanation" /> : null}
      {result.error ? (
        result.error instanceof ApiError && result.error.status === 404 ? (
          <p class="card" role="status" data-testid="explain-none">
            {result.error.message}
          </p>
        ) : (
          <ErrorBox error={result.error} title="Could not explain" />
        )
      ) : null}
      {result.data ? <Result project={project} x={result.data} /> : null}
    </div>
  );
}

function Result({ project, x }: { project: string; x: Explanation }) {
  const features = x.feature ? [x.feature] : Object.keys(x.online.values ?? {});
  const ingestionLink = x.ingestion
    ? `${path('views', project, x.view)}?tab=validation&commit=${encodeURIComponent(x.ingestion.id)}`
    : undefined;
  return (
    <div data-testid="explain-result">
      <Section title="Online value" id="ex-online">
        {x.feature ? (
          <KV
            items={[
              ['status', <Status value={x.online.status} />],
              ['value', <code data-testid="online-value">{fmtValue(x.online.value)}</code>],
              ['event time', <Time v={x.online.eventTime} />],
            ]}
          />
        ) : (
          <table class="table">
            <caption class="sr-only">Online values</caption>
            <thead>
              <tr>
                <th scope="col">feature</th>
                <th scope="col">value</th>
                <th scope="col">status</th>
              </tr>
            </thead>
            <tbody>
              {features.map((f) => (
                <tr key={f}>
                  <th scope="row">{f}</th>
                  <td>
                    <code>{fmtValue(x.online.values?.[f]?.value)}</code>
                  </td>
                  <td>
                    <Status value={x.online.values?.[f]?.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {x.onlineRow && !x.onlineRow.matchesOnline ? (
          <p class="warn" role="alert">
            The online store holds a different event time than materialization would have written from the offline rows (a
            windowed backfill, or the store lost data).
          </p>
        ) : null}
      </Section>
      <div class="grid2">
        <Section title="Commit and ingestion" id="ex-commit">
          {x.commit && x.ingestion ? (
            <KV
              items={[
                ['commit', <span data-testid="explain-commit">{x.commit.commitId}</span>],
                ['committed', <Time v={x.commit.committedAt} />],
                ['rows in the commit', fmtNumber(x.commit.rows)],
                ['ingestion', <code data-testid="explain-ingestion">{x.ingestion.id}</code>],
                ['status', <Status value={x.ingestion.status} />],
                ['by', x.ingestion.createdBy ?? '–'],
                ['source', <span data-testid="explain-source">{x.ingestion.source ?? '–'}</span>],
                ['ingest run', <TemporalLink url={x.ingestion.url} label={x.ingestion.workflowId ?? 'run'} />],
              ]}
            />
          ) : (
            <p class="muted">Nothing materialized yet: no online row to trace.</p>
          )}
        </Section>
        <Section title="Validation and materialization" id="ex-valid">
          <KV
            items={[
              [
                'validation',
                x.validation ? (
                  <span data-testid="explain-validation">
                    {x.validation.success ? 'passed' : 'failed'} ({x.validation.successful}/{x.validation.evaluated} expectations,
                    suite {x.validation.suite})
                    {ingestionLink ? (
                      <>
                        {' '}
                        <Link href={ingestionLink}>report</Link>
                      </>
                    ) : null}
                  </span>
                ) : (
                  'no report (no suite)'
                ),
              ],
              [
                'materialization',
                x.materialization ? (
                  <span data-testid="explain-materialization">
                    <Status value={x.materialization.status} /> {x.materialization.mode} <Time v={x.materialization.finishedAt} />{' '}
                    <TemporalLink url={x.materialization.url} label="run" />
                  </span>
                ) : (
                  '–'
                ),
              ],
              ['watermark', String(x.watermark)],
            ]}
          />
        </Section>
      </div>
      <Section title={`Offline rows (${x.offline.total}${x.offline.truncated ? ', newest shown' : ''})`} id="ex-offline">
        <table class="table" data-testid="explain-offline">
          <caption class="sr-only">Offline rows of the entity, newest first</caption>
          <thead>
            <tr>
              <th scope="col">commit</th>
              <th scope="col">event time</th>
              <th scope="col">created</th>
              {features.map((f) => (
                <th key={f} scope="col">
                  {f}
                </th>
              ))}
              <th scope="col">materialized</th>
              <th scope="col">online</th>
            </tr>
          </thead>
          <tbody>
            {x.offline.rows.map((r) => (
              <tr key={`${r.commitId}:${r.eventTime}:${r.ingestionId}`} class={r.online ? 'selected' : undefined}>
                <td>
                  <Link href={`${path('views', project, x.view)}?tab=statistics&commit=${encodeURIComponent(r.ingestionId)}`}>
                    {r.commitId}
                  </Link>
                </td>
                <td>
                  <Time v={r.eventTime} />
                </td>
                <td>
                  <Time v={r.createdTime} />
                </td>
                {features.map((f) => (
                  <td key={f}>
                    <code>{fmtValue(r.values[f])}</code>
                  </td>
                ))}
                <td>{r.materialized ? 'yes' : 'no'}</td>
                <td>{r.online ? 'this value' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

export { q };
