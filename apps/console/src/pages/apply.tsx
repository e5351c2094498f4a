/** Apply: paste or upload YAML, see the plan (what would change), apply it (editor) against the planned revision. */
import { useState } from 'preact/hooks';
import { api, proj } from '../api.js';
import { ActionButton, ErrorBox, Section } from '../components.js';
import { useCan } from '../session.js';
import type { PlanChange } from '../types.js';

interface Plan {
  project: string;
  changes: PlanChange[];
  text: string;
  revision: string;
  applied: boolean;
}

const ACTION_CLASS: Record<string, string> = {
  create: 'ok',
  add: 'ok',
  update: 'info',
  change: 'info',
  delete: 'bad',
  remove: 'bad',
  unchanged: 'muted',
};

export default function Apply({ params }: { params: Record<string, string> }) {
  const project = params.project as string;
  const canEdit = useCan(project, 'editor');
  const [text, setText] = useState('');
  const [plan, setPlan] = useState<Plan>();
  const [applied, setApplied] = useState<Plan>();
  const [error, setError] = useState<Error>();
  const send = (path: string, headers: Record<string, string> = {}) =>
    api<Plan>(`${proj(project)}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml', ...headers },
      body: text,
    });
  return (
    <div data-testid="page-apply">
      <h1>Apply: {project}</h1>
      <Section title="Spec" id="spec">
        <p class="muted">
          Strata YAML (entities, feature views, feature services; several documents allowed) or a Feast 0.x FeatureSet YAML.
        </p>
        <div class="field">
          <label for="spec-file">Upload a YAML file</label>
          <input
            id="spec-file"
            type="file"
            accept=".yaml,.yml,.json,application/yaml,text/yaml"
            onChange={async (e) => {
              const f = (e.currentTarget as HTMLInputElement).files?.[0];
              if (f) {
                setText(await f.text());
                setPlan(undefined);
                setApplied(undefined);
              }
            }}
          />
        </div>
        <div class="field">
          <label for="spec-text">YAML text</label>
          <textarea
            id="spec-text"
            rows={18}
            spellcheck={false}
            value={text}
            onInput={(e) => {
              setText((e.currentTarget as HTMLTextAreaElement).value);
              setPlan(undefined);
              setApplied(undefined);
            }}
            placeholder={
              'entities:\n  - name: user\n    joinKeys: [{ name: user_id, valueType: INT64 }]\nfeatureViews:\n  - name: ...'
            }
          />
        </div>
        <div class="row">
          <ActionButton
            label="Plan"
            class="btn primary"
            testid="plan"
            disabled={!text.trim()}
            run={async () => {
              setError(undefined);
              setApplied(undefined);
              try {
                setPlan(await send('plan'));
              } catch (e) {
                setPlan(undefined);
                setError(e as Error);
              }
            }}
          />
          {canEdit && plan ? (
            <ActionButton
              label="Apply"
              class="btn danger"
              testid="apply"
              disabled={!plan.changes.length}
              confirm={`Apply ${plan.changes.length} change(s) to project ${project}?`}
              run={async () => {
                setError(undefined);
                try {
                  setApplied(await send('apply', { 'if-match': `"${plan.revision}"` }));
                  setPlan(undefined);
                } catch (e) {
                  setError(e as Error);
                }
              }}
            />
          ) : null}
        </div>
        <ErrorBox error={error} title="The server refused the spec" />
      </Section>
      {plan ? <PlanView title="Plan" plan={plan} /> : null}
      {applied ? (
        <div role="status" data-testid="applied">
          <PlanView title={`Applied (revision ${applied.revision})`} plan={applied} />
        </div>
      ) : null}
    </div>
  );
}

function PlanView({ title, plan }: { title: string; plan: Plan }) {
  return (
    <Section title={title} id="plan">
      {plan.changes.length ? (
        <table class="table" data-testid="plan-changes">
          <caption class="sr-only">Changes</caption>
          <thead>
            <tr>
              <th scope="col">action</th>
              <th scope="col">kind</th>
              <th scope="col">name</th>
            </tr>
          </thead>
          <tbody>
            {plan.changes.map((c) => (
              <tr key={`${c.kind}:${c.name}`}>
                <td>
                  <span class={`badge badge-${ACTION_CLASS[c.action] ?? 'muted'}`}>{c.action}</span>
                </td>
                <td>{c.kind.replace('_', ' ')}</td>
                <td>{c.name}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No changes: the registry already matches.</p>
      )}
      <pre class="code-block" data-testid="plan-text">
        {plan.text}
      </pre>
    </Section>
  );
}
