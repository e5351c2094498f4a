/** Overview and search: the project's entities, views and services; search across projects by name, tag, owner, type. */
import { useState } from 'preact/hooks';
import { proj, q } from '../api.js';
import { ErrorBox, Section, Show, useApi } from '../components.js';
import { fmtTags, fmtTtl } from '../lib/format.js';
import { Link, path, setQuery, useLocation } from '../router.js';
import { useSession } from '../session.js';
import type { FeatureSpec, ViewSpec } from '../types.js';

interface Repo {
  project: string;
  revision: string;
  entities: {
    name: string;
    joinKeys?: { name: string; valueType: string }[];
    joinKey?: string;
    valueType?: string;
    description?: string;
  }[];
  featureViews: ViewSpec[];
  featureServices: { name: string; features: unknown[]; description?: string; owner?: string; tags?: Record<string, string> }[];
}

interface SearchResult {
  kind: string;
  project: string;
  name: string;
  view?: string;
  valueType?: string;
  owner?: string;
  tags?: Record<string, string>;
  description?: string;
}

const KINDS: [string, string][] = [
  ['', 'everything'],
  ['feature_view', 'feature views'],
  ['feature', 'features'],
  ['entity', 'entities'],
  ['feature_service', 'feature services'],
];

export default function Overview({ params }: { params: Record<string, string> }) {
  const project = params.project ?? '';
  const { query } = useLocation();
  const session = useSession();
  const repo = useApi<Repo>(project ? `${proj(project)}/repo` : null);
  const search = {
    q: query.get('q') ?? '',
    kind: query.get('kind') ?? '',
    tag: query.get('tag') ?? '',
    owner: query.get('owner') ?? '',
    type: query.get('type') ?? '',
  };
  const searching = Object.values(search).some(Boolean);
  const results = useApi<{ results: SearchResult[]; truncated: boolean }>(
    searching ? `/search${q({ ...search, limit: 200 })}` : null,
  );
  return (
    <div data-testid="page-overview">
      <h1>Overview{project ? `: ${project}` : ''}</h1>
      <SearchForm initial={search} />
      {searching ? (
        <Section title="Search results" id="results">
          <Show r={results} what="search results">
            {(r) => <Results rows={r.results} truncated={r.truncated} />}
          </Show>
        </Section>
      ) : null}
      <Section title="Projects" id="projects">
        <ul class="chips">
          {session.projects.map((p) => (
            <li key={p.name}>
              <Link href={path('projects', p.name)} aria-current={p.name === project ? 'page' : undefined}>
                {p.name}
              </Link>{' '}
              <span class="muted">({p.role ?? 'no role'})</span>
            </li>
          ))}
        </ul>
      </Section>
      <Show r={repo} what="the registry">
        {(r) => <RepoTables repo={r} project={project} />}
      </Show>
    </div>
  );
}

function SearchForm({ initial }: { initial: Record<string, string> }) {
  const [f, setF] = useState(initial);
  const field = (k: string, label: string, placeholder: string) => (
    <div class="field">
      <label for={`s-${k}`}>{label}</label>
      <input
        id={`s-${k}`}
        value={f[k]}
        placeholder={placeholder}
        onInput={(e) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value })}
      />
    </div>
  );
  return (
    <form
      class="search card"
      aria-label="Search the registry"
      onSubmit={(e) => {
        e.preventDefault();
        setQuery(f);
      }}
    >
      {field('q', 'Name or description', 'e.g. temp')}
      <div class="field">
        <label for="s-kind">Kind</label>
        <select id="s-kind" value={f.kind} onChange={(e) => setF({ ...f, kind: (e.currentTarget as HTMLSelectElement).value })}>
          {KINDS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </div>
      {field('tag', 'Tag', 'key or key=value')}
      {field('owner', 'Owner', 'exact owner')}
      {field('type', 'Value type', 'e.g. DOUBLE')}
      <div class="field buttons">
        <button type="submit" class="btn primary">
          Search
        </button>
        <button
          type="button"
          class="btn"
          onClick={() => {
            const empty = { q: '', kind: '', tag: '', owner: '', type: '' };
            setF(empty);
            setQuery(empty);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function Results({ rows, truncated }: { rows: SearchResult[]; truncated: boolean }) {
  if (!rows.length) return <p class="muted">Nothing matches.</p>;
  return (
    <>
      <table class="table" data-testid="search-results">
        <caption class="sr-only">Search results</caption>
        <thead>
          <tr>
            <th scope="col">kind</th>
            <th scope="col">name</th>
            <th scope="col">project</th>
            <th scope="col">type</th>
            <th scope="col">owner</th>
            <th scope="col">tags</th>
            <th scope="col">description</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const view = r.kind === 'feature_view' ? r.name : r.view;
            return (
              <tr key={`${r.kind}:${r.project}:${r.view ?? ''}:${r.name}`}>
                <td>{r.kind.replace('_', ' ')}</td>
                <td>
                  {view ? (
                    <Link href={path('views', r.project, view)}>{r.kind === 'feature' ? `${view}:${r.name}` : r.name}</Link>
                  ) : (
                    r.name
                  )}
                </td>
                <td>{r.project}</td>
                <td>{r.valueType ?? ''}</td>
                <td>{r.owner ?? ''}</td>
                <td>{fmtTags(r.tags).join(', ')}</td>
                <td>{r.description ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {truncated ? <p class="muted">More results matched: narrow the search.</p> : null}
    </>
  );
}

function RepoTables({ repo, project }: { repo: Repo; project: string }) {
  return (
    <>
      <Section title={`Feature views (${repo.featureViews.length})`} id="views">
        {repo.featureViews.length ? (
          <table class="table" data-testid="views-table">
            <caption class="sr-only">Feature views</caption>
            <thead>
              <tr>
                <th scope="col">view</th>
                <th scope="col">entities</th>
                <th scope="col">features</th>
                <th scope="col">owner</th>
                <th scope="col">tags</th>
                <th scope="col">TTL</th>
                <th scope="col">online</th>
              </tr>
            </thead>
            <tbody>
              {repo.featureViews.map((v) => (
                <tr key={v.name}>
                  <td>
                    <Link href={path('views', project, v.name)}>{v.name}</Link>
                    {v.description ? <div class="muted small">{v.description}</div> : null}
                  </td>
                  <td>{(v.entities ?? []).join(', ')}</td>
                  <td>{v.features.length}</td>
                  <td>{v.owner ?? ''}</td>
                  <td>{fmtTags(v.tags).join(', ')}</td>
                  <td>{fmtTtl(v.ttlSeconds)}</td>
                  <td>{v.online === false ? 'no' : 'yes'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">
            No feature views yet. <Link href={path('apply', project)}>Apply a spec</Link>.
          </p>
        )}
      </Section>
      <div class="grid2">
        <Section title={`Entities (${repo.entities.length})`} id="entities">
          <ul class="plain" data-testid="entities-list">
            {repo.entities.map((e) => (
              <li key={e.name}>
                <strong>{e.name}</strong>{' '}
                <span class="muted">
                  {(e.joinKeys ?? (e.joinKey ? [{ name: e.joinKey, valueType: e.valueType ?? '' }] : []))
                    .map((k) => `${k.name}: ${k.valueType}`)
                    .join(', ')}
                </span>
                {e.description ? <div class="muted small">{e.description}</div> : null}
              </li>
            ))}
          </ul>
        </Section>
        <Section title={`Feature services (${repo.featureServices.length})`} id="services">
          <ul class="plain" data-testid="services-list">
            {repo.featureServices.map((s) => (
              <li key={s.name}>
                <strong>{s.name}</strong> <span class="muted">{s.features.length} feature reference(s)</span>
                {s.description ? <div class="muted small">{s.description}</div> : null}
              </li>
            ))}
          </ul>
          {!repo.featureServices.length ? <p class="muted">None.</p> : null}
        </Section>
      </div>
      <p class="muted small">Registry revision {repo.revision}</p>
      <ErrorBox error={undefined} />
    </>
  );
}

export type { FeatureSpec };
