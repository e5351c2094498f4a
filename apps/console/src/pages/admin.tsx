/** Admin: API keys (create, revoke) and the audit log of writes, for the projects the caller administers. */
import { useState } from 'preact/hooks';
import { api, postJson, q } from '../api.js';
import { ActionButton, Section, Show, Status, Time, useApi } from '../components.js';
import { useSession } from '../session.js';
import type { Role } from '../types.js';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  roles: Record<string, Role>;
  createdAt?: string;
  createdBy?: string | null;
  revokedAt?: string | null;
  lastUsedAt?: string | null;
}

interface AuditEntry {
  id: number;
  at: string;
  principalId: string | null;
  principalName: string | null;
  project: string | null;
  action: string;
  target: string | null;
  status: number;
  outcome: string;
  errorCode: string | null;
}

export default function Admin() {
  const session = useSession();
  const adminOf = Object.entries(session.caller.roles)
    .filter(([, r]) => r === 'admin')
    .map(([p]) => p);
  return (
    <div data-testid="page-admin">
      <h1>Admin</h1>
      {adminOf.length ? (
        <>
          <Keys projects={session.projects.map((p) => p.name)} adminOf={adminOf} />
          <Audit />
        </>
      ) : (
        <p class="muted">This key is admin of no project.</p>
      )}
    </div>
  );
}

function Keys({ projects, adminOf }: { projects: string[]; adminOf: string[] }) {
  const [revoked, setRevoked] = useState(false);
  const keys = useApi<{ keys: ApiKey[] }>(`/keys${q({ include_revoked: revoked || undefined })}`);
  const [name, setName] = useState('');
  const [project, setProject] = useState(adminOf.includes('*') ? (projects[0] ?? '') : (adminOf[0] ?? ''));
  const [role, setRole] = useState<Role>('viewer');
  const [created, setCreated] = useState<ApiKey & { key: string }>();
  const choices = adminOf.includes('*') ? projects : adminOf;
  return (
    <Section title="API keys" id="keys">
      <form
        class="row"
        aria-label="Create an API key"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <div class="field">
          <label for="key-name">Name (who uses it)</label>
          <input id="key-name" value={name} required onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="key-project">Project</label>
          <select id="key-project" value={project} onChange={(e) => setProject((e.currentTarget as HTMLSelectElement).value)}>
            {choices.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="key-role">Role</label>
          <select id="key-role" value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
            <option value="viewer">viewer</option>
            <option value="editor">editor</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <div class="field buttons">
          <ActionButton
            label="Create key"
            class="btn primary"
            testid="create-key"
            disabled={!name.trim() || !project}
            run={async () => {
              setCreated(await postJson<ApiKey & { key: string }>('/keys', { name: name.trim(), roles: { [project]: role } }));
              setName('');
              keys.reload();
            }}
          />
        </div>
      </form>
      {created ? (
        <div class="notice" role="status" data-testid="created-key">
          <p>
            Key <strong>{created.name}</strong> created. Copy it now: it is shown only once.
          </p>
          <label for="new-key">New API key</label>
          <input id="new-key" readOnly value={created.key} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        </div>
      ) : null}
      <label class="inline">
        <input type="checkbox" checked={revoked} onChange={(e) => setRevoked((e.currentTarget as HTMLInputElement).checked)} />{' '}
        show revoked keys
      </label>
      <Show r={keys} what="the keys">
        {(k) => (
          <table class="table" data-testid="keys-table">
            <caption class="sr-only">API keys</caption>
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">id</th>
                <th scope="col">prefix</th>
                <th scope="col">roles</th>
                <th scope="col">created</th>
                <th scope="col">revoked</th>
                <th scope="col">actions</th>
              </tr>
            </thead>
            <tbody>
              {k.keys.map((x) => (
                <tr key={x.id} data-key={x.id}>
                  <td>{x.name}</td>
                  <td>
                    <code>{x.id}</code>
                  </td>
                  <td>
                    <code>{x.prefix}…</code>
                  </td>
                  <td>
                    {Object.entries(x.roles)
                      .map(([p, r]) => `${p}=${r}`)
                      .join(', ')}
                  </td>
                  <td class="small">
                    <Time v={x.createdAt ?? null} />
                  </td>
                  <td class="small">
                    <Time v={x.revokedAt ?? null} />
                  </td>
                  <td>
                    {x.revokedAt ? null : (
                      <ActionButton
                        label="Revoke"
                        class="btn small danger"
                        testid={`revoke-${x.id}`}
                        confirm={`Revoke key ${x.name} (${x.prefix}…)? Clients using it stop working.`}
                        run={async () => {
                          await api(`/keys/${encodeURIComponent(x.id)}`, { method: 'DELETE' });
                          keys.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </Section>
  );
}

function Audit() {
  const [project, setProject] = useState('');
  const [before, setBefore] = useState<number[]>([]);
  const cursor = before[before.length - 1];
  const log = useApi<{ entries: AuditEntry[] }>(`/audit${q({ project, limit: 50, before: cursor })}`);
  const session = useSession();
  return (
    <Section title="Audit log (writes, newest first)" id="audit">
      <div class="row">
        <div class="field">
          <label for="audit-project">Project</label>
          <select
            id="audit-project"
            value={project}
            onChange={(e) => {
              setProject((e.currentTarget as HTMLSelectElement).value);
              setBefore([]);
            }}
          >
            <option value="">all I administer</option>
            {session.projects.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      <Show r={log} what="the audit log">
        {(l) => (
          <>
            <table class="table" data-testid="audit-table">
              <caption class="sr-only">Audit log</caption>
              <thead>
                <tr>
                  <th scope="col">when</th>
                  <th scope="col">who</th>
                  <th scope="col">project</th>
                  <th scope="col">action</th>
                  <th scope="col">target</th>
                  <th scope="col">status</th>
                  <th scope="col">outcome</th>
                </tr>
              </thead>
              <tbody>
                {l.entries.map((e) => (
                  <tr key={e.id}>
                    <td class="small">
                      <Time v={e.at} />
                    </td>
                    <td>{e.principalName ?? '–'}</td>
                    <td>{e.project ?? '–'}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td class="small">{e.target ?? ''}</td>
                    <td>{e.status}</td>
                    <td>
                      <Status value={e.outcome} /> {e.errorCode ? <code>{e.errorCode}</code> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="row">
              <button type="button" class="btn small" disabled={!before.length} onClick={() => setBefore(before.slice(0, -1))}>
                Newer
              </button>
              <button
                type="button"
                class="btn small"
                disabled={l.entries.length < 50}
                onClick={() => {
                  const last = l.entries[l.entries.length - 1];
                  if (last) setBefore([...before, last.id]);
                }}
              >
                Older
              </button>
            </div>
          </>
        )}
      </Show>
    </Section>
  );
}
