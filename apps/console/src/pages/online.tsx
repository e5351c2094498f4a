/** Online lookup: entity keys in, the online values with their statuses and event times out. */
import { useState } from 'preact/hooks';
import { postJson, proj } from '../api.js';
import { ErrorBox, Loading, Section, Show, Status, useApi, Scroll, KeyInputs, ViewSelect } from '../components.js';
import { fmtTime, fmtValue } from '../lib/format.js';
import type { OnlineResponse, ViewSummary } from '../types.js';

/** A typed key cell: numbers for integer keys, the text otherwise. */
function keyValue(text: string, valueType: string): string | number {
  const t = text.trim();
  return /INT|FLOAT|DOUBLE/.test(valueType) && t !== '' && !Number.isNaN(Number(t)) ? Number(t) : t;
}

export default function Online({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const views = useApi<{ featureViews: ViewSummary[] }>(`${proj(project)}/feature-views`);
  const [viewName, setViewName] = useState('');
  const view = views.data?.featureViews.find((v) => v.name === viewName) ?? views.data?.featureViews[0];
  const detail = useApi<{ joinKeys: { name: string; valueType: string }[] }>(
    view ? `${proj(project)}/feature-views/${encodeURIComponent(view.name)}` : null,
  );
  const [keys, setKeys] = useState<Record<string, string>>({});
  const [result, setResult] = useState<{ data?: OnlineResponse; error?: Error; loading?: boolean }>({});
  return (
    <div data-testid="page-online">
      <h1>Online lookup: {project}</h1>
      <Show r={views} what="the views">
        {(vs) =>
          !vs.featureViews.length ? (
            <p class="muted">No feature views yet.</p>
          ) : (
            <form
              class="card row"
              aria-label="Online lookup"
              onSubmit={async (e) => {
                e.preventDefault();
                if (!view || !detail.data) return;
                setResult({ loading: true });
                const entities = Object.fromEntries(
                  detail.data.joinKeys.map((k) => [
                    k.name,
                    (keys[k.name] ?? '')
                      .split(',')
                      .filter((x) => x.trim() !== '')
                      .map((x) => keyValue(x, k.valueType)),
                  ]),
                );
                try {
                  const data = await postJson<OnlineResponse>(`${proj(project)}/online-features`, {
                    features: view.features.map((f) => `${view.name}:${f.name}`),
                    entities,
                  });
                  setResult({ data });
                } catch (error) {
                  setResult({ error: error as Error });
                }
              }}
            >
              <ViewSelect
                id="ol-view"
                views={vs.featureViews}
                value={view?.name}
                onChange={(name) => {
                  setViewName(name);
                  setResult({});
                }}
              />
              <KeyInputs
                idPrefix="ol-key"
                joinKeys={detail.data?.joinKeys}
                keys={keys}
                setKeys={setKeys}
                hint="comma-separated"
              />
              <div class="field buttons">
                <button type="submit" class="btn primary" disabled={!detail.data}>
                  Look up
                </button>
              </div>
            </form>
          )
        }
      </Show>
      {result.loading ? <Loading what="the online values" /> : null}
      <ErrorBox error={result.error} title="Lookup failed" />
      {result.data ? <OnlineTable r={result.data} /> : null}
    </div>
  );
}

function OnlineTable({ r }: { r: OnlineResponse }) {
  const names = r.metadata.feature_names;
  const n = r.results[0]?.values.length ?? 0;
  return (
    <Section title={`Values (${n} entit${n === 1 ? 'y' : 'ies'})`} id="online-values">
      <Scroll label="Online values">
        <table class="table" data-testid="online-results">
          <caption class="sr-only">Online values, one row per entity</caption>
          <thead>
            <tr>
              {names.map((f) => (
                <th key={f} scope="col">
                  {f}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {Array.from({ length: n }, (_, i) => (
              <tr key={i}>
                {r.results.map((col, c) => (
                  <td key={names[c]} data-feature={names[c]} data-status={col.statuses[i]}>
                    <code>{fmtValue(col.values[i])}</code>
                    <div class="small">
                      <Status value={col.statuses[i]} />{' '}
                      {col.statuses[i] === 'PRESENT' && c > 0 ? (
                        <span class="muted">{fmtTime(col.event_timestamps[i])}</span>
                      ) : null}
                    </div>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
    </Section>
  );
}
