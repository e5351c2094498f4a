/**
 * Following a run live: the run's server-sent events read with fetch() (the key goes in the Authorization header,
 * never in a URL), falling back to polling GET /runs/{id} when the stream is not available.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, apiFetch, proj } from './api.js';
import { ErrorBox, Status, TemporalLink } from './components.js';
import { fmtNumber } from './lib/format.js';
import { sseParser } from './lib/sse.js';
import type { RunInfo } from './types.js';

const CLOSED = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW']);
export const isClosed = (status: string | undefined) => !!status && CLOSED.has(status);

export function useRun(project: string, workflowId: string | null): { run: RunInfo | undefined; error: Error | undefined } {
  const [run, setRun] = useState<RunInfo>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    setRun(undefined);
    setError(undefined);
    if (!workflowId) return;
    const ctl = new AbortController();
    const base = `${proj(project)}/runs/${encodeURIComponent(workflowId)}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const r = await api<RunInfo>(base, { signal: ctl.signal });
        setRun(r);
        if (!isClosed(r.status)) timer = setTimeout(poll, 1000);
      } catch (e) {
        if (!ctl.signal.aborted) setError(e as Error);
      }
    };
    (async () => {
      try {
        const res = await apiFetch(`${base}/events`, { signal: ctl.signal, headers: { accept: 'text/event-stream' } });
        if (!res.body) throw new Error('no stream');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const feed = sseParser((e) => {
          if (e.event === 'run' || e.event === 'end') setRun(JSON.parse(e.data) as RunInfo);
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed(value);
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        // No events route on this server (404) or the stream broke: poll instead.
        if (e instanceof ApiError && e.status !== 404) setError(e);
        else await poll();
      }
    })();
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [project, workflowId]);
  return { run, error };
}

export function Progress({
  done,
  total,
  label,
}: {
  done: number | null | undefined;
  total: number | null | undefined;
  label: string;
}) {
  if (done === null || done === undefined) return null;
  return total ? (
    <span class="progress-wrap">
      <progress max={total} value={done} aria-label={label} />{' '}
      <span>
        {fmtNumber(done)} / {fmtNumber(total)}
      </span>
    </span>
  ) : (
    <span>{fmtNumber(done)} rows</span>
  );
}

/** A run's status line: status, stage, rows, the Temporal link; the result or error once it closes. */
export function RunCard({ project, workflowId, title }: { project: string; workflowId: string; title?: string }) {
  const { run, error } = useRun(project, workflowId);
  return (
    <div class="run-card" data-testid="run-card" aria-live="polite">
      <h3>{title ?? 'Run'}</h3>
      <p>
        <code>{workflowId}</code>
      </p>
      <ErrorBox error={error} title="Could not follow the run" />
      {run ? (
        <p>
          <Status value={run.status} /> {run.progress?.stage ? <span>stage {run.progress.stage}</span> : null}{' '}
          <Progress done={run.progress?.rowsDone} total={run.progress?.rowsTotal} label="rows done" />{' '}
          <TemporalLink url={run.url} />
        </p>
      ) : (
        <p class="muted">Waiting for the run…</p>
      )}
      {run?.error ? <pre class="code-block">{JSON.stringify(run.error, null, 2)}</pre> : null}
    </div>
  );
}
