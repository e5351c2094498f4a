/** Small shared pieces: data loading, tables, status badges, errors, run links, a windowed table for long lists. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { fmtTime } from './lib/format.js';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

// Two parts of a page asking for the same path at the same moment share one request.
const inflight = new Map<string, Promise<unknown>>();
function shared<T>(path: string): Promise<T> {
  let p = inflight.get(path) as Promise<T> | undefined;
  if (!p) {
    p = api<T>(path).finally(() => inflight.delete(path));
    inflight.set(path, p);
  }
  return p;
}

/** GET a path under /api/v1 (null: nothing yet); reloads when the path changes; stale answers are dropped. */
export function useApi<T>(path: string | null, o: { pollMs?: number } = {}): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean; path: string | null }>({
    loading: path !== null,
    path,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) {
      setState({ loading: false, path });
      return;
    }
    let live = true;
    setState((s) => (s.path === path ? { ...s, loading: true } : { loading: true, path }));
    shared<T>(path)
      .then((data) => live && setState({ data, loading: false, path }))
      .catch((error: Error) => live && setState({ error, loading: false, path }));
    return () => {
      live = false;
    };
  }, [path, tick]);
  useEffect(() => {
    if (!o.pollMs || path === null) return;
    const t = setInterval(reload, o.pollMs);
    return () => clearInterval(t);
  }, [o.pollMs, path, reload]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorBox({ error, title }: { error: Error | undefined; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  const hint = e?.details?.hint;
  return (
    <div class="error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      {e ? <code class="code">{e.code}</code> : null}
      <p>{error.message}</p>
      {typeof hint === 'string' ? <p class="muted">{hint}</p> : null}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p class="muted" aria-busy="true">
      Loading{what ? ` ${what}` : ''}…
    </p>
  );
}

/** Loading, error, or the content. */
export function Show<T>({ r, what, children }: { r: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
  if (r.error) return <ErrorBox error={r.error} title={what ? `Could not load ${what}` : undefined} />;
  if (r.data === undefined) return <Loading what={what} />;
  return <>{children(r.data)}</>;
}

const STATUS_CLASS: Record<string, string> = {
  committed: 'ok',
  completed: 'ok',
  COMPLETED: 'ok',
  done: 'ok',
  PRESENT: 'ok',
  passed: 'ok',
  ok: 'ok',
  denied: 'warn',
  quarantined: 'warn',
  staged: 'info',
  staging: 'info',
  RUNNING: 'info',
  running: 'info',
  OUTSIDE_MAX_AGE: 'warn',
  NULL_VALUE: 'warn',
  NOT_FOUND: 'muted',
  failed: 'bad',
  FAILED: 'bad',
  TERMINATED: 'bad',
  TIMED_OUT: 'bad',
  CANCELED: 'warn',
};

export function Status({ value }: { value: string | null | undefined }) {
  const v = value ?? 'unknown';
  return <span class={`badge badge-${STATUS_CLASS[v] ?? 'muted'}`}>{v}</span>;
}

/** A link to a run in the Temporal Web UI (opens a new tab). */
export function TemporalLink({ url, label }: { url: string | null | undefined; label?: string }) {
  if (!url) return <span class="muted">–</span>;
  return (
    <a href={url} target="_blank" rel="noopener noreferrer" class="ext">
      {label ?? 'Temporal run'}
      <span class="sr-only"> (opens the Temporal Web UI in a new tab)</span>
    </a>
  );
}

export function Time({ v }: { v: string | null | undefined }) {
  return v ? <time dateTime={v}>{fmtTime(v)}</time> : <span class="muted">–</span>;
}

export function KV({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Section({
  title,
  children,
  id,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card" aria-labelledby={id ? `${id}-h` : undefined}>
      <div class="card-head">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

/**
 * A table that renders only the rows in view (plus a margin): a view with thousands of commits stays fast. Rows
 * have a fixed height; spacer rows keep the scroll bar true.
 */
export function WindowedTable<T>(props: {
  rows: T[];
  rowHeight?: number;
  height?: number;
  head: JSX.Element;
  row: (r: T, i: number) => JSX.Element;
  caption: string;
  testid?: string;
  colSpan: number;
}) {
  const rh = props.rowHeight ?? 34;
  const height = props.height ?? 420;
  const ref = useRef<HTMLElement>(null);
  const [top, setTop] = useState(0);
  const overscan = 10;
  const start = Math.max(0, Math.floor(top / rh) - overscan);
  const end = Math.min(props.rows.length, Math.ceil((top + height) / rh) + overscan);
  return (
    <section
      class="scroll"
      ref={ref}
      style={{ maxHeight: `${height}px` }}
      onScroll={(e) => setTop((e.currentTarget as HTMLElement).scrollTop)}
      data-testid={props.testid}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe: scrollable-region-focusable)
      tabIndex={0}
      aria-label={props.caption}
    >
      <table class="table">
        <caption class="sr-only">{props.caption}</caption>
        <thead>{props.head}</thead>
        <tbody>
          {start > 0 ? (
            <tr class="spacer" style={{ height: `${start * rh}px` }}>
              <td colSpan={props.colSpan} />
            </tr>
          ) : null}
          {props.rows.slice(start, end).map((r, i) => props.row(r, start + i))}
          {end < props.rows.length ? (
            <tr class="spacer" style={{ height: `${(props.rows.length - end) * rh}px` }}>
              <td colSpan={props.colSpan} />
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}

/** A scrollable region, focusable so keyboard users can scroll it (axe: scrollable-region-focusable). */
export function Scroll({ label, children, maxHeight }: { label: string; children: ComponentChildren; maxHeight?: number }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section class="scroll" aria-label={label} tabIndex={0} style={maxHeight ? { maxHeight: `${maxHeight}px` } : undefined}>
      {children}
    </section>
  );
}

export function Tabs<K extends string>({
  tabs,
  current,
  onSelect,
  label,
}: {
  tabs: [K, string][];
  current: K;
  onSelect: (k: K) => void;
  label: string;
}) {
  return (
    <div role="tablist" aria-label={label} class="tabs">
      {tabs.map(([k, text]) => (
        <button
          key={k}
          type="button"
          role="tab"
          id={`tab-${k}`}
          aria-selected={k === current}
          aria-controls={`panel-${k}`}
          tabIndex={k === current ? 0 : -1}
          class={k === current ? 'tab active' : 'tab'}
          onClick={() => onSelect(k)}
          onKeyDown={(e) => {
            const i = tabs.findIndex(([t]) => t === current);
            const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
            if (!d) return;
            const next = tabs[(i + d + tabs.length) % tabs.length];
            if (next) {
              onSelect(next[0]);
              document.getElementById(`tab-${next[0]}`)?.focus();
            }
          }}
        >
          {text}
        </button>
      ))}
    </div>
  );
}

/** A button that runs an async action, shows it is busy and reports an error beside it. */
export function ActionButton(props: {
  label: string;
  run: () => Promise<unknown>;
  class?: string;
  disabled?: boolean;
  confirm?: string;
  testid?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  return (
    <span class="action">
      <button
        type="button"
        class={props.class ?? 'btn'}
        disabled={busy || props.disabled}
        aria-busy={busy}
        data-testid={props.testid}
        onClick={async () => {
          if (props.confirm && !window.confirm(props.confirm)) return;
          setBusy(true);
          setError(undefined);
          try {
            await props.run();
          } catch (e) {
            setError(e as Error);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? `${props.label}…` : props.label}
      </button>
      {error ? <ErrorBox error={error} title={`${props.label} failed`} /> : null}
    </span>
  );
}

/** The feature-view picker of the explain and online pages. */
export function ViewSelect({
  id,
  views,
  value,
  onChange,
}: {
  id: string;
  views: { name: string }[];
  value: string | undefined;
  onChange: (name: string) => void;
}) {
  return (
    <div class="field">
      <label for={id}>Feature view</label>
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {views.map((v) => (
          <option key={v.name} value={v.name}>
            {v.name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** One input per join key of a view, labelled "<key> (<TYPE>)" plus a hint. */
export function KeyInputs(props: {
  idPrefix: string;
  joinKeys: { name: string; valueType: string }[] | undefined;
  keys: Record<string, string>;
  setKeys: (k: Record<string, string>) => void;
  hint?: string;
}) {
  return (
    <>
      {props.joinKeys?.map((k) => (
        <div class="field" key={k.name}>
          <label for={`${props.idPrefix}-${k.name}`}>
            {k.name} ({k.valueType}){props.hint ? `, ${props.hint}` : ''}
          </label>
          <input
            id={`${props.idPrefix}-${k.name}`}
            required
            value={props.keys[k.name] ?? ''}
            onInput={(e) => props.setKeys({ ...props.keys, [k.name]: (e.currentTarget as HTMLInputElement).value })}
          />
        </div>
      ))}
    </>
  );
}
