/** Pipelines: ingest, materialize, training-set and pipeline runs, live, with stage, progress, per-step timings. */
import { proj, q } from '../api.js';
import { StepsChart } from '../charts.js';
import { Section, Show, Status, TemporalLink, Time, useApi, Scroll } from '../components.js';
import { fmtDuration, fmtNumber } from '../lib/format.js';
import { setQuery, useLocation } from '../router.js';
import { isClosed, Progress, RunCard } from '../runs.js';
import type { RunStep, RunSummary } from '../types.js';

const KINDS = ['', 'ingest', 'materialize', 'training-set', 'pipeline'];
const STATUSES = ['', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT'];

export default function Pipelines({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const { query } = useLocation();
  const kind = query.get('kind') ?? '';
  const status = query.get('status') ?? '';
  const selected = query.get('run');
  const runs = useApi<{ runs: RunSummary[] }>(`${proj(project)}/runs${q({ kind, status, limit: 100 })}`, { pollMs: 3000 });
  const select = (id: string, label: string, value: string, options: string[], key: string) => (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => setQuery({ [key]: (e.currentTarget as HTMLSelectElement).value })}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o || 'all'}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <div data-testid="page-pipelines">
      <h1>Pipelines: {project}</h1>
      <div class="row">
        {select('run-kind', 'Kind', kind, KINDS, 'kind')}
        {select('run-status', 'Status', status, STATUSES, 'status')}
      </div>
      {selected ? <RunDetail project={project} workflowId={selected} /> : null}
      <Section title="Runs (newest first, refreshed every 3 s)" id="runs">
        <Show r={runs} what="the runs">
          {(d) =>
            d.runs.length ? (
              <Scroll label="Runs">
                <table class="table" data-testid="runs-table">
                  <caption class="sr-only">Runs</caption>
                  <thead>
                    <tr>
                      <th scope="col">kind</th>
                      <th scope="col">view</th>
                      <th scope="col">status</th>
                      <th scope="col">stage</th>
                      <th scope="col">progress</th>
                      <th scope="col">started</th>
                      <th scope="col">took</th>
                      <th scope="col">details</th>
                      <th scope="col">Temporal</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.runs.map((r) => (
                      <tr
                        key={r.workflowId}
                        class={r.workflowId === selected ? 'selected' : undefined}
                        data-workflow={r.workflowId}
                      >
                        <td>{r.kind}</td>
                        <td>{r.view ?? '–'}</td>
                        <td>
                          <Status value={r.status} />
                        </td>
                        <td>{r.progress?.stage ?? r.stage ?? '–'}</td>
                        <td>
                          {isClosed(r.status) ? (
                            r.rows !== null ? (
                              `${fmtNumber(r.rows)} rows`
                            ) : (
                              '–'
                            )
                          ) : (
                            <Progress
                              done={r.progress?.rowsDone}
                              total={r.progress?.rowsTotal}
                              label={`rows done of ${r.workflowId}`}
                            />
                          )}
                        </td>
                        <td class="small">
                          <Time v={r.startTime} />
                        </td>
                        <td>{fmtDuration(r.durationMs)}</td>
                        <td>
                          <button type="button" class="link" onClick={() => setQuery({ run: r.workflowId })}>
                            steps<span class="sr-only"> of {r.workflowId}</span>
                          </button>
                        </td>
                        <td>
                          <TemporalLink url={r.url} label="open" />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Scroll>
            ) : (
              <p class="muted">No runs match.</p>
            )
          }
        </Show>
      </Section>
    </div>
  );
}

function RunDetail({ project, workflowId }: { project: string; workflowId: string }) {
  const steps = useApi<{ steps: RunStep[] }>(`${proj(project)}/runs/${encodeURIComponent(workflowId)}/steps`, { pollMs: 2000 });
  return (
    <Section
      title="Run"
      id="run-detail"
      actions={
        <button type="button" class="btn small" onClick={() => setQuery({ run: null })}>
          Close
        </button>
      }
    >
      <RunCard project={project} workflowId={workflowId} title="Live status" />
      <Show r={steps} what="the steps">
        {(s) => (
          <>
            <StepsChart
              name="steps"
              title="Per-step timings"
              steps={s.steps
                .filter((x) => x.durationMs !== null)
                .map((x) => ({ name: `${x.name}${x.attempt > 1 ? ` (#${x.attempt})` : ''}`, ms: x.durationMs as number }))}
            />
            <table class="table" data-testid="steps-table">
              <caption class="sr-only">Steps of the run</caption>
              <thead>
                <tr>
                  <th scope="col">step</th>
                  <th scope="col">kind</th>
                  <th scope="col">status</th>
                  <th scope="col">attempt</th>
                  <th scope="col">started</th>
                  <th scope="col">took</th>
                </tr>
              </thead>
              <tbody>
                {s.steps.map((x, i) => (
                  <tr key={i}>
                    <td>{x.name}</td>
                    <td>{x.kind}</td>
                    <td>
                      <Status value={x.status} />
                    </td>
                    <td>{x.attempt}</td>
                    <td class="small">
                      <Time v={x.startedAt} />
                    </td>
                    <td>{fmtDuration(x.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Show>
    </Section>
  );
}
