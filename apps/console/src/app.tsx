/** The shell: sign-in (or straight in on a server without keys), the header and navigation, the routed page. */
import type { ComponentType } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, storedKey, storeKey } from './api.js';
import { ErrorBox, Loading } from './components.js';
import { isAnyAdmin, roleOn } from './lib/roles.js';
import { Link, match, navigate, path as toPath, useLocation } from './router.js';
import { loadSession, type Session, SessionContext } from './session.js';
import type { ConsoleConfig } from './types.js';

// Each page is its own chunk: the first load carries the shell only.
const Overview = lazy(() => import('./pages/overview.js'));
const View = lazy(() => import('./pages/view.js'));
const Lineage = lazy(() => import('./pages/lineage.js'));
const Explain = lazy(() => import('./pages/explain.js'));
const Pipelines = lazy(() => import('./pages/pipelines.js'));
const Training = lazy(() => import('./pages/training.js'));
const Online = lazy(() => import('./pages/online.js'));
const Apply = lazy(() => import('./pages/apply.js'));
const Admin = lazy(() => import('./pages/admin.js'));

type Page = ComponentType<{ params: Record<string, string> }>;
const ROUTES: [string, Page][] = [
  ['/', Overview as Page],
  ['/projects/:project', Overview as Page],
  ['/views/:project/:name', View as Page],
  ['/lineage/:project', Lineage as Page],
  ['/explain/:project', Explain as Page],
  ['/pipelines/:project', Pipelines as Page],
  ['/training-sets/:project', Training as Page],
  ['/online/:project', Online as Page],
  ['/apply/:project', Apply as Page],
  ['/admin', Admin as Page],
];

const NAV: [string, string][] = [
  ['projects', 'Overview'],
  ['lineage', 'Lineage'],
  ['explain', 'Explain a value'],
  ['pipelines', 'Pipelines'],
  ['training-sets', 'Training sets'],
  ['online', 'Online lookup'],
  ['apply', 'Apply'],
];

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [open, setOpen] = useState(false);
  const [state, setState] = useState<'loading' | 'signin' | 'in' | 'error'>('loading');
  const [error, setError] = useState<Error>();

  const start = useCallback(async (key: string | null) => {
    setError(undefined);
    try {
      const c = await loadSession(key);
      if (key) storeKey(key);
      setConfig(c);
      setOpen(!key && c.caller.anonymous);
      setState('in');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        if (key) storeKey(null);
        setError(key ? e : undefined);
        setState('signin');
      } else {
        setError(e as Error);
        setState(key ? 'signin' : 'error');
      }
    }
  }, []);

  useEffect(() => {
    const key = storedKey();
    // The server says whether its API needs a key: without one stored, go to the sign-in screen at once (no 401).
    if (!key && document.querySelector('meta[name="strata-auth"]')?.getAttribute('content') === 'required') setState('signin');
    else start(key);
  }, [start]);

  const session = useMemo<Session | null>(
    () =>
      config
        ? {
            ...config,
            open,
            signOut: () => {
              storeKey(null);
              setConfig(undefined);
              setState('signin');
              navigate('/');
            },
            refresh: () => start(storedKey()),
          }
        : null,
    [config, open, start],
  );

  if (state === 'loading') return <Loading what="the console" />;
  if (state === 'error')
    return (
      <main class="signin" data-testid="page-error">
        <h1>Strata console</h1>
        <ErrorBox error={error} title="The server did not answer" />
      </main>
    );
  if (state === 'signin' || !session) return <SignIn onKey={(k) => start(k)} error={error} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

function SignIn({ onKey, error }: { onKey: (key: string) => void; error: Error | undefined }) {
  const [key, setKey] = useState('');
  return (
    <main class="signin" data-testid="page-signin">
      <h1>Strata console</h1>
      <p>
        Sign in with an API key (<code>strata keys create --name you --role demo=viewer</code> makes one). The key stays in this
        tab's session storage and is sent only to this server, as <code>Authorization: Bearer</code>.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          placeholder="strata_…"
          required
        />
        <button type="submit" class="btn primary">
          Sign in
        </button>
      </form>
      <ErrorBox error={error} title="Sign-in failed" />
    </main>
  );
}

function Shell({ session }: { session: Session }) {
  const { path } = useLocation();
  const routed = ROUTES.map(([pattern, page]) => [page, match(pattern, path)] as const).find(([, m]) => m);
  const params = routed?.[1] ?? {};
  const projects = session.projects.map((p) => p.name);
  const project = params.project ?? projects[0] ?? '';
  const role = project ? roleOn(session.caller, project) : undefined;
  useEffect(() => {
    if (path === '/' && projects[0]) navigate(toPath('projects', projects[0]), { replace: true });
  }, [path, projects[0]]);
  const Page = routed?.[0];
  const section = path.split('/')[1] ?? '';
  return (
    <>
      <a href="#main" class="skip">
        Skip to content
      </a>
      <header class="top">
        <Link href={project ? toPath('projects', project) : '/'} class="brand">
          Strata
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([seg, label]) => (
              <li key={seg}>
                <Link
                  href={project ? toPath(seg, project) : '/'}
                  aria-current={section === seg || (seg === 'projects' && section === 'views') ? 'page' : undefined}
                >
                  {label}
                </Link>
              </li>
            ))}
            {isAnyAdmin(session.caller) ? (
              <li>
                <Link href="/admin" aria-current={section === 'admin' ? 'page' : undefined}>
                  Admin
                </Link>
              </li>
            ) : null}
          </ul>
        </nav>
        <div class="who">
          {projects.length > 1 ? (
            <label>
              <span class="sr-only">Project</span>
              <select
                value={project}
                aria-label="Project"
                onChange={(e) => {
                  const next = (e.currentTarget as HTMLSelectElement).value;
                  const seg = params.project && section !== 'views' ? section : 'projects';
                  navigate(toPath(seg, next));
                }}
              >
                {projects.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
          ) : project ? (
            <span class="project">{project}</span>
          ) : null}
          <span class="user" data-testid="whoami">
            {session.caller.name}
            {role ? (
              <span class="badge badge-info" data-testid="role">
                {role}
              </span>
            ) : null}
          </span>
          {session.open ? null : (
            <button type="button" class="btn small" onClick={session.signOut}>
              Sign out
            </button>
          )}
        </div>
      </header>
      {session.open ? (
        <p class="banner" role="status" data-testid="open-mode">
          This server runs without API keys (open, on loopback only): you are signed in as anonymous admin. Create a key with{' '}
          <code>strata keys create</code> to require sign-in.
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {!projects.length ? (
          <div data-testid="page-empty">
            <h1>No projects</h1>
            <p>
              This key gives access to no project yet. Apply a spec with the CLI (<code>strata apply</code>) to create one.
            </p>
          </div>
        ) : Page ? (
          <Suspense fallback={<Loading what="the page" />}>
            <Page params={{ ...params, project }} />
          </Suspense>
        ) : (
          <div data-testid="page-not-found">
            <h1>Not found</h1>
            <p>
              No page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
            </p>
          </div>
        )}
      </main>
    </>
  );
}
