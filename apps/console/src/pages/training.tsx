/** Training-set builder: a service or features, an entity CSV, an optional as-of commit; start, watch, download. */
import { useState } from 'preact/hooks';
import { api, apiFetch, proj, q } from '../api.js';
import { ActionButton, Section, Show, Status, Time, useApi } from '../components.js';
import { csvPreview, type CsvPreview } from '../lib/csv.js';
import { fmtNumber, fmtTime } from '../lib/format.js';
import { RunCard } from '../runs.js';
import { useCan } from '../session.js';
import type { ViewSummary } from '../types.js';

interface TrainingSet {
  id: string;
  status: string;
  rowsDone?: number | null;
  asOfCommit?: number | null;
  createdAt?: string;
  createdBy?: string | null;
  workflowId?: string | null;
  download: string | null;
  [k: string]: unknown;
}

/** Downloads a file from the API with the key in the header (a plain link could not send it). */
async function download(link: string, filename: string): Promise<void> {
  const res = await apiFetch(link);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export default function Training({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const canEdit = useCan(project, 'editor');
  const views = useApi<{ featureViews: ViewSummary[] }>(`${proj(project)}/feature-views`);
  const services = useApi<{ featureServices: { name: string }[] }>(`${proj(project)}/feature-services`);
  const sets = useApi<{ trainingSets: TrainingSet[] }>(`${proj(project)}/training-sets`, { pollMs: 5000 });
  const [mode, setMode] = useState<'service' | 'features'>('features');
  const [service, setService] = useState('');
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [file, setFile] = useState<{ name: string; text: string; preview: CsvPreview }>();
  const [tsCol, setTsCol] = useState('');
  const [asOfView, setAsOfView] = useState('');
  const [asOf, setAsOf] = useState('');
  const commits = useApi<{ commits: { commitSeq: number | null; committedAt: string | null; rows: number; status: string }[] }>(
    asOfView ? `${proj(project)}/feature-views/${encodeURIComponent(asOfView)}/commits` : null,
  );
  const [started, setStarted] = useState<{ id: string; workflowId: string; entityRows: number }>();
  const start = async () => {
    if (!file) throw new Error('choose an entity CSV first');
    const query = q({
      ...(mode === 'service' ? { feature_service: service } : { features: [...picked].join(',') }),
      as_of_commit: asOf || undefined,
      timestamp_column: tsCol || undefined,
      format: 'parquet',
    });
    const res = await api<{ run: { workflowId: string }; id: string; entityRows: number }>(
      `${proj(project)}/training-sets${query}`,
      {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: file.text,
      },
    );
    setStarted({ id: res.id, workflowId: res.run.workflowId, entityRows: res.entityRows });
    sets.reload();
  };

  return (
    <div data-testid="page-training">
      <h1>Training sets: {project}</h1>
      {canEdit ? (
        <Section title="Build a training set" id="builder">
          <fieldset>
            <legend>Features</legend>
            <label class="inline">
              <input type="radio" name="mode" checked={mode === 'features'} onChange={() => setMode('features')} /> pick features
            </label>
            <label class="inline">
              <input type="radio" name="mode" checked={mode === 'service'} onChange={() => setMode('service')} /> a feature
              service
            </label>
            {mode === 'service' ? (
              <Show r={services} what="the services">
                {(s) => (
                  <div class="field">
                    <label for="ts-service">Feature service</label>
                    <select
                      id="ts-service"
                      value={service}
                      onChange={(e) => setService((e.currentTarget as HTMLSelectElement).value)}
                    >
                      <option value="">choose…</option>
                      {s.featureServices.map((x) => (
                        <option key={x.name} value={x.name}>
                          {x.name}
                        </option>
                      ))}
                    </select>
                  </div>
                )}
              </Show>
            ) : (
              <Show r={views} what="the views">
                {(v) => (
                  <div class="feature-picker" data-testid="feature-picker">
                    {v.featureViews.map((fv) => (
                      <fieldset key={fv.name} class="sub">
                        <legend>{fv.name}</legend>
                        {fv.features.map((f) => {
                          const ref = `${fv.name}:${f.name}`;
                          return (
                            <label key={ref} class="inline">
                              <input
                                type="checkbox"
                                checked={picked.has(ref)}
                                onChange={(e) => {
                                  const next = new Set(picked);
                                  if ((e.currentTarget as HTMLInputElement).checked) next.add(ref);
                                  else next.delete(ref);
                                  setPicked(next);
                                }}
                              />{' '}
                              <span class="sr-only">{fv.name}:</span>
                              {f.name}
                            </label>
                          );
                        })}
                      </fieldset>
                    ))}
                  </div>
                )}
              </Show>
            )}
          </fieldset>
          <div class="field">
            <label for="ts-file">Entity rows (CSV with the join keys and an event-time column)</label>
            <input
              id="ts-file"
              type="file"
              accept=".csv,text/csv"
              onChange={async (e) => {
                const f = (e.currentTarget as HTMLInputElement).files?.[0];
                if (!f) return setFile(undefined);
                const text = await f.text();
                setFile({ name: f.name, text, preview: csvPreview(text) });
              }}
            />
          </div>
          {file ? (
            <div data-testid="csv-preview">
              <p>
                {file.name}: {fmtNumber(file.preview.rowCount)} rows, columns {file.preview.columns.join(', ')}
              </p>
              <table class="table small">
                <caption class="sr-only">First rows of the entity CSV</caption>
                <thead>
                  <tr>
                    {file.preview.columns.map((c) => (
                      <th key={c} scope="col">
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {file.preview.rows.map((r, i) => (
                    <tr key={i}>
                      {r.map((c, j) => (
                        <td key={j}>{c}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
              <div class="field">
                <label for="ts-col">Event-time column</label>
                <select id="ts-col" value={tsCol} onChange={(e) => setTsCol((e.currentTarget as HTMLSelectElement).value)}>
                  <option value="">the server's default (event_timestamp)</option>
                  {file.preview.columns.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </div>
            </div>
          ) : null}
          <div class="row">
            <div class="field">
              <label for="ts-asof-view">Pin an as-of commit of view (optional)</label>
              <select
                id="ts-asof-view"
                value={asOfView}
                onChange={(e) => {
                  setAsOfView((e.currentTarget as HTMLSelectElement).value);
                  setAsOf('');
                }}
              >
                <option value="">no pin (the latest commits)</option>
                {views.data?.featureViews.map((v) => (
                  <option key={v.name} value={v.name}>
                    {v.name}
                  </option>
                ))}
              </select>
            </div>
            {asOfView ? (
              <div class="field">
                <label for="ts-asof">As-of commit</label>
                <select id="ts-asof" value={asOf} onChange={(e) => setAsOf((e.currentTarget as HTMLSelectElement).value)}>
                  <option value="">choose…</option>
                  {(commits.data?.commits ?? [])
                    .filter((c) => c.commitSeq !== null)
                    .map((c) => (
                      <option key={c.commitSeq} value={String(c.commitSeq)}>
                        commit {c.commitSeq} · {fmtTime(c.committedAt)} · {fmtNumber(c.rows)} rows
                      </option>
                    ))}
                </select>
              </div>
            ) : null}
          </div>
          <ActionButton
            label="Start training set"
            class="btn primary"
            testid="start-training-set"
            disabled={!file || (mode === 'service' ? !service : !picked.size)}
            run={start}
          />
          {started ? (
            <RunCard
              project={project}
              workflowId={started.workflowId}
              title={`Training set ${started.id} (${fmtNumber(started.entityRows)} entity rows)`}
            />
          ) : null}
        </Section>
      ) : (
        <p class="muted">Building a training set needs the editor role on {project}; you can download the ones built.</p>
      )}
      <Section title="Training sets" id="sets">
        <Show r={sets} what="the training sets">
          {(d) =>
            d.trainingSets.length ? (
              <table class="table" data-testid="training-sets-table">
                <caption class="sr-only">Training sets</caption>
                <thead>
                  <tr>
                    <th scope="col">id</th>
                    <th scope="col">status</th>
                    <th scope="col">rows</th>
                    <th scope="col">as-of commit</th>
                    <th scope="col">created</th>
                    <th scope="col">download</th>
                  </tr>
                </thead>
                <tbody>
                  {d.trainingSets.map((t) => (
                    <tr key={t.id} data-training-set={t.id}>
                      <td>
                        <code>{t.id}</code>
                      </td>
                      <td>
                        <Status value={t.status} />
                      </td>
                      <td class="num">{fmtNumber(t.rowsDone ?? null)}</td>
                      <td>{t.asOfCommit ?? '–'}</td>
                      <td class="small">
                        <Time v={t.createdAt ?? null} />
                      </td>
                      <td>
                        {t.download ? (
                          <ActionButton
                            label="Download Parquet"
                            class="btn small"
                            testid={`download-${t.id}`}
                            run={() => download(t.download as string, `${t.id}.parquet`)}
                          />
                        ) : (
                          '–'
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">None yet.</p>
            )
          }
        </Show>
      </Section>
    </div>
  );
}
