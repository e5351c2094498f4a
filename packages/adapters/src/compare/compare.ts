/**
 * `strata compare`: Feast, Hopsworks and Strata side by side for a team's requirements, with evidence from its own
 * registry (what each target supports, changes or loses) and a migration plan for the recommended target.
 */
import { invalidInput, type RepoSpec } from '@strata/core';
import { parse as parseYaml } from 'yaml';
import { buildRegistry } from '../feast/registry.js';
import { buildHopsworksFiles } from '../hopsworks/folder.js';
import type { Measurement } from './measure.js';
import { FACT_VERSIONS, FACTS, factOf, SYSTEM_NAMES, SYSTEMS, type Support, type SystemId } from './facts.js';

export interface Requirements {
  /** SPDX ids acceptable / not acceptable for the deployed system (e.g. forbidden: [AGPL-3.0]). */
  licenses?: { allowed?: string[]; forbidden?: string[] };
  /** Online read latency target (p99, ms). */
  latencyTargetMs?: number;
  timeTravel?: boolean;
  statistics?: boolean;
  validationAtIngest?: boolean;
  streaming?: boolean;
  deployment?: 'self-hosted' | 'managed' | 'either';
  /** Languages the team writes (typescript, python, java, ...). */
  languages?: string[];
  /** Stores already run (redis, postgres, snowflake, bigquery, dynamodb, ...). */
  existingStores?: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const KEYS = [
  'licenses',
  'latencyTargetMs',
  'timeTravel',
  'statistics',
  'validationAtIngest',
  'streaming',
  'deployment',
  'languages',
  'existingStores',
];
const ALIASES: Record<string, string> = {
  license: 'licenses',
  latency_target_ms: 'latencyTargetMs',
  latencyMs: 'latencyTargetMs',
  time_travel: 'timeTravel',
  validation_at_ingest: 'validationAtIngest',
  existing_stores: 'existingStores',
};

/** Parses a requirements file (YAML or JSON text, or an object); every problem is reported at once. */
export function parseRequirements(yamlOrJson: string | Obj, where = 'requirements'): Requirements {
  let doc: unknown = yamlOrJson;
  if (typeof yamlOrJson === 'string') {
    try {
      doc = parseYaml(yamlOrJson);
    } catch (e) {
      throw invalidInput(`${where} is not valid YAML/JSON: ${(e as Error).message}`, { where, cause: e });
    }
  }
  if (!isObj(doc)) throw invalidInput(`${where} must be a mapping`, { where, hint: `keys: ${KEYS.join(', ')}` });
  const problems: string[] = [];
  const out: Requirements = {};
  const strList = (v: unknown, k: string) => {
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    problems.push(`${k} must be a list of strings`);
    return [];
  };
  for (const [rawKey, v] of Object.entries(doc)) {
    const k = ALIASES[rawKey] ?? rawKey;
    switch (k) {
      case 'licenses':
        if (isObj(v)) {
          out.licenses = {
            ...(v.allowed !== undefined ? { allowed: strList(v.allowed, 'licenses.allowed') } : {}),
            ...(v.forbidden !== undefined ? { forbidden: strList(v.forbidden, 'licenses.forbidden') } : {}),
          };
        } else out.licenses = { allowed: strList(v, 'licenses') };
        break;
      case 'latencyTargetMs':
        if (typeof v !== 'number' || !(v > 0)) problems.push('latencyTargetMs must be a positive number');
        else out.latencyTargetMs = v;
        break;
      case 'timeTravel':
      case 'statistics':
      case 'validationAtIngest':
      case 'streaming':
        if (typeof v !== 'boolean') problems.push(`${k} must be true or false`);
        else out[k] = v;
        break;
      case 'deployment':
        if (v !== 'self-hosted' && v !== 'managed' && v !== 'either')
          problems.push('deployment must be self-hosted, managed or either');
        else out.deployment = v;
        break;
      case 'languages':
        out.languages = strList(v, k).map((s) => s.toLowerCase());
        break;
      case 'existingStores':
        out.existingStores = strList(v, k).map((s) => s.toLowerCase());
        break;
      default:
        problems.push(`unknown key '${rawKey}'`);
    }
  }
  if (problems.length)
    throw invalidInput(`${where} is not valid: ${problems.join('; ')}`, {
      where,
      hint: `keys: ${KEYS.join(', ')}`,
      details: { problems },
    });
  return out;
}

export interface RequirementRow {
  requirement: string;
  wanted: string;
  /** Hard constraints rule a system out when unmet. */
  hard: boolean;
  cells: Record<SystemId, { support: Support; text: string }>;
}

export interface Recommendation {
  target: SystemId;
  scores: Record<SystemId, number>;
  ruledOut: Partial<Record<SystemId, string[]>>;
  reasons: string[];
}

export interface CompareResult {
  markdown: string;
  html: string;
  recommendation: Recommendation;
  rows: RequirementRow[];
  evidence: Record<SystemId, string[]>;
  migrationPlan: string[];
}

const LICENSES: Record<SystemId, string[]> = { feast: ['Apache-2.0'], hopsworks: ['AGPL-3.0'], strata: ['Apache-2.0'] };
const STORES: Record<SystemId, { online: string[]; offline: string[] }> = {
  feast: {
    online: ['redis', 'dynamodb', 'bigtable', 'datastore', 'sqlite', 'postgres', 'cassandra', 'snowflake'],
    offline: ['file', 'parquet', 'bigquery', 'snowflake', 'redshift', 'spark', 'trino', 'postgres', 'duckdb', 'athena'],
  },
  hopsworks: {
    online: ['rondb', 'mysql'],
    offline: ['hudi', 'delta', 'hopsfs', 's3', 'snowflake', 'bigquery', 'redshift', 'jdbc'],
  },
  strata: { online: ['redis'], offline: ['postgres'] },
};
const LANGS: Record<SystemId, string[]> = {
  feast: ['python', 'go', 'java'],
  hopsworks: ['python', 'java', 'scala'],
  strata: ['typescript', 'javascript'],
};

function fromFact(key: string): Record<SystemId, { support: Support; text: string }> {
  const f = factOf(key);
  return { feast: { ...f.values.feast }, hopsworks: { ...f.values.hopsworks }, strata: { ...f.values.strata } };
}

function rowsFor(req: Requirements): RequirementRow[] {
  const rows: RequirementRow[] = [];
  if (req.licenses) {
    const cells = fromFact('license');
    for (const s of SYSTEMS) {
      const lic = LICENSES[s];
      const forbidden = lic.some((l) => req.licenses?.forbidden?.includes(l));
      const allowed = !req.licenses.allowed || lic.every((l) => req.licenses?.allowed?.includes(l));
      cells[s].support = forbidden || !allowed ? 'no' : cells[s].support === 'partial' ? 'partial' : 'yes';
    }
    rows.push({
      requirement: 'License',
      wanted: [
        req.licenses.allowed ? `allowed ${req.licenses.allowed.join(', ')}` : '',
        req.licenses.forbidden ? `forbidden ${req.licenses.forbidden.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
      hard: true,
      cells,
    });
  }
  if (req.deployment && req.deployment !== 'either') {
    const key = req.deployment === 'managed' ? 'managed' : 'selfHosted';
    rows.push({ requirement: 'Deployment', wanted: req.deployment, hard: true, cells: fromFact(key) });
  }
  if (req.latencyTargetMs !== undefined) {
    const cells = fromFact('latency');
    for (const s of SYSTEMS) cells[s].text = `${cells[s].text}; verify p99 <= ${req.latencyTargetMs} ms with a load test`;
    rows.push({ requirement: 'Online latency', wanted: `p99 <= ${req.latencyTargetMs} ms`, hard: false, cells });
  }
  for (const [flag, key, label] of [
    ['timeTravel', 'timeTravel', 'Time travel'],
    ['statistics', 'statistics', 'Statistics'],
    ['validationAtIngest', 'validationAtIngest', 'Validation at ingest'],
    ['streaming', 'streaming', 'Streaming'],
  ] as const) {
    if (req[flag]) rows.push({ requirement: label, wanted: 'required', hard: false, cells: fromFact(key) });
  }
  if (req.languages?.length) {
    const cells = fromFact('languages');
    for (const s of SYSTEMS) {
      const hit = req.languages.filter((l) => LANGS[s].includes(l));
      cells[s].support = hit.length === req.languages.length ? 'yes' : hit.length ? 'partial' : 'partial';
      cells[s].text = `${cells[s].text}${hit.length ? ` (native: ${hit.join(', ')})` : ' (HTTP only for your languages)'}`;
    }
    rows.push({ requirement: 'Languages', wanted: req.languages.join(', '), hard: false, cells });
  }
  if (req.existingStores?.length) {
    const cells = fromFact('onlineStores');
    for (const s of SYSTEMS) {
      const known = [...STORES[s].online, ...STORES[s].offline];
      const hit = req.existingStores.filter((x) => known.includes(x));
      cells[s] = {
        support: hit.length === req.existingStores.length ? 'yes' : hit.length ? 'partial' : 'no',
        text: hit.length ? `reuses ${hit.join(', ')}` : 'reuses none of them',
      };
    }
    rows.push({ requirement: 'Existing stores', wanted: req.existingStores.join(', '), hard: false, cells });
  }
  return rows;
}

/** What each target would support, change or lose for this registry. */
function evidenceFor(project: string, repo: RepoSpec): Record<SystemId, string[]> {
  const ev: Record<SystemId, string[]> = { feast: [], hopsworks: [], strata: [] };
  const composite = repo.entities.filter((e) => e.joinKeys.length > 1);
  const ttl = repo.featureViews.filter((v) => v.ttlSeconds > 0);
  const suites = repo.featureViews.filter((v) => v.expectationSuite);
  const keys = (names: string[]) => names.join(', ') || 'none';
  const n = `${repo.entities.length} entities, ${repo.featureViews.length} views, ${repo.featureServices.length} services`;

  ev.strata.push(`keeps all ${n}; Feast/Hopsworks extras travel with their objects`);
  if (suites.length) ev.strata.push(`runs the suites of ${keys(suites.map((v) => v.name))} at ingest`);
  if (ttl.length) ev.strata.push(`serves TTLs of ${keys(ttl.map((v) => `${v.name} (${v.ttlSeconds}s)`))}`);

  const feast = buildRegistry([{ project, repo }]).report;
  ev.feast.push(
    `supports ${n} (entities as Feast entities, views as FeatureViews with FileSources, services as FeatureServices)`,
  );
  if (composite.length)
    ev.feast.push(
      `changes composite keys ${keys(composite.map((e) => `${e.name}(${e.joinKeys.map((k) => k.name).join('+')})`))} into one Feast entity per key column`,
    );
  if (ttl.length) ev.feast.push(`keeps TTLs of ${keys(ttl.map((v) => v.name))}`);
  for (const i of feast.impossible) ev.feast.push(`loses: ${i.object}: ${i.reason}`);
  const nativeSources = repo.featureViews.filter((v) => !(v.extras?.feast as Obj | undefined)?.view);
  if (nativeSources.length)
    ev.feast.push(
      `changes: ${keys(nativeSources.map((v) => v.name))} get a FileSource; their history must be exported to parquet`,
    );

  const hops = buildHopsworksFiles(project, repo).report;
  ev.hopsworks.push(
    `supports ${repo.featureViews.length} views as feature groups (primary key from the view's entities) and ${repo.featureServices.length} services as feature views`,
  );
  if (suites.length) ev.hopsworks.push(`keeps the suites of ${keys(suites.map((v) => v.name))} (validation at ingest)`);
  if (repo.entities.length)
    ev.hopsworks.push(`changes entities ${keys(repo.entities.map((e) => e.name))} into primary-key columns (no entity object)`);
  for (const i of hops.impossible) ev.hopsworks.push(`loses: ${i.object}: ${i.reason}`);
  return ev;
}

const SCORE: Record<Support, number> = { yes: 2, partial: 1, unknown: 0, no: -1 };

function recommend(rows: RequirementRow[]): Recommendation {
  const scores: Record<SystemId, number> = { feast: 0, hopsworks: 0, strata: 0 };
  const ruledOut: Partial<Record<SystemId, string[]>> = {};
  for (const r of rows)
    for (const s of SYSTEMS) {
      const c = r.cells[s];
      scores[s] += SCORE[c.support];
      if (r.hard && c.support === 'no') ruledOut[s] = [...(ruledOut[s] ?? []), `${r.requirement}: ${c.text}`];
    }
  const candidates = SYSTEMS.filter((s) => !ruledOut[s]);
  const pool = candidates.length ? candidates : SYSTEMS;
  // ties go to the system already holding the data (Strata), then Feast (smaller footprint)
  const order: SystemId[] = ['strata', 'feast', 'hopsworks'];
  const target = [...pool].sort((a, b) => scores[b] - scores[a] || order.indexOf(a) - order.indexOf(b))[0] as SystemId;
  const reasons = [
    `highest score among ${pool.map((s) => SYSTEM_NAMES[s]).join(', ')} (${pool.map((s) => `${SYSTEM_NAMES[s]} ${scores[s]}`).join(', ')})`,
  ];
  for (const [s, why] of Object.entries(ruledOut)) reasons.push(`${SYSTEM_NAMES[s as SystemId]} ruled out: ${why.join('; ')}`);
  if (!candidates.length) reasons.push('every system fails a hard constraint; the recommendation ignores them');
  return { target, scores, ruledOut, reasons };
}

/**
 * The migration plan: lines that are commands (each one runs as printed, apart from `<placeholders>` for files only
 * the team has; apps/cli/src/commands/compare.itest.ts runs every one) and `#` comments for the steps that are not
 * one command. Commands are relative to the folder compare is run in.
 */
export function migrationPlan(
  project: string,
  repo: RepoSpec,
  target: SystemId,
  source: CompareInput['source'] = 'strata',
): string[] {
  const out = 'migration';
  const online = repo.featureViews.filter((v) => v.online).map((v) => v.name);
  switch (target) {
    case 'feast':
      return [
        '# review what is kept, changed and lost, then write the Feast repo',
        `strata --project ${project} export feast --out ${out}/feast --dry-run`,
        `strata --project ${project} export feast --out ${out}/feast`,
        '# the exported feature_store.yaml reads Redis from REDIS_CONNECTION_STRING (host:port[,password=...]);',
        "# Strata's online rows are already in Feast's layout there, so feast serve answers at once",
        `REDIS_CONNECTION_STRING=\${REDIS_CONNECTION_STRING:-127.0.0.1:6379} feast -c ${out}/feast feature-views list`,
        "# history: write each view's rows to the parquet path of its FileSource, then feast materialize-incremental",
      ];
    case 'hopsworks':
      return [
        `strata --project ${project} export hopsworks --out ${out}/hopsworks --dry-run`,
        `strata --project ${project} export hopsworks --out ${out}/hopsworks`,
        '# create each feature_groups/*.json with hsfs (fs.get_or_create_feature_group with the same name, version,',
        '# primary_key, event_time, online_enabled, expectation_suite) or POST it to the feature store REST API;',
        "# insert each view's history with fg.insert(df); create feature_views/*.json with fs.create_feature_view",
      ];
    default: {
      if (source === 'strata')
        return ['# nothing to migrate: the registry is already in Strata', `strata --project ${project} list`];
      const from = source === 'feast' ? '<feast repo folder or registry.db>' : '<folder of Hopsworks DTOs>';
      return [
        `strata --project ${project} import ${source} ${from} --dry-run`,
        `strata --project ${project} import ${source} ${from}`,
        `# then, for each view, its history (${source === 'feast' ? 'from its batch source' : 'an export of the feature group'}), and the online store`,
        ...repo.featureViews.map(
          (v) => `strata --project ${project} ingest ${v.name} <history of ${v.name}: csv, parquet or arrow>`,
        ),
        ...(online.length ? [`strata --project ${project} materialize ${online.join(' ')}`] : []),
      ];
    }
  }
}

export interface CompareInput {
  project: string;
  repo: RepoSpec;
  requirements: Requirements;
  /** Where the registry came from (for the migration plan); default strata. */
  source?: 'strata' | 'feast' | 'hopsworks';
  /** Latencies measured on this machine (`--measure`), per system; a system left out was not measured, with why. */
  measured?: { results: Partial<Record<SystemId, Measurement>>; notMeasured: Partial<Record<SystemId, string>> };
}

/** The "measured here" latency row: the evidence from a bounded load on loopback. */
function measuredRow(m: NonNullable<CompareInput['measured']>, targetMs: number | undefined): RequirementRow {
  const cells = {} as RequirementRow['cells'];
  for (const s of SYSTEMS) {
    const r = m.results[s];
    if (!r) {
      cells[s] = { support: 'unknown', text: `not measured: ${m.notMeasured[s] ?? 'no server to measure'}` };
      continue;
    }
    const ok = r.errors === 0 && (targetMs === undefined || r.p99Ms <= targetMs);
    cells[s] = {
      support: r.errors > 0 ? 'partial' : ok ? 'yes' : 'no',
      text: `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms over ${r.requests} requests (${r.concurrency} at a time, loopback, this machine)${r.errors ? `; ${r.errors} errors` : ''}`,
    };
  }
  return {
    requirement: 'Online latency (measured)',
    wanted: targetMs === undefined ? 'measured' : `p99 <= ${targetMs} ms`,
    hard: false,
    cells,
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const MARK: Record<Support, string> = { yes: 'yes', partial: 'partly', no: 'no', unknown: 'unknown' };

export function compare(input: CompareInput): CompareResult {
  const rows = rowsFor(input.requirements);
  if (input.measured) rows.push(measuredRow(input.measured, input.requirements.latencyTargetMs));
  const evidence = evidenceFor(input.project, input.repo);
  const recommendation = recommend(rows);
  const plan = migrationPlan(input.project, input.repo, recommendation.target, input.source ?? 'strata');
  const head = `| Requirement | Wanted | ${SYSTEMS.map((s) => SYSTEM_NAMES[s]).join(' | ')} |`;
  const md: string[] = [
    `# Feast vs Hopsworks vs Strata for project \`${input.project}\``,
    '',
    `Recommendation: **${SYSTEM_NAMES[recommendation.target]}**. ${recommendation.reasons.join(' ')}`,
    '',
    '## Requirements',
    '',
    head,
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${mdCell(r.requirement)}${r.hard ? ' (hard)' : ''} | ${mdCell(r.wanted)} | ${SYSTEMS.map((s) => `${MARK[r.cells[s].support]}: ${mdCell(r.cells[s].text)}`).join(' | ')} |`,
    ),
    '',
    '## Evidence from the registry',
    '',
    ...SYSTEMS.flatMap((s) => [`### ${SYSTEM_NAMES[s]}`, '', ...evidence[s].map((e) => `- ${e}`), '']),
    `## Migration plan (${SYSTEM_NAMES[recommendation.target]})`,
    '',
    '```sh',
    ...plan,
    '```',
    '',
    '## Facts used',
    '',
    `Scores: ${SYSTEMS.map((s) => `${SYSTEM_NAMES[s]} ${recommendation.scores[s]}`).join(', ')} (yes 2, partly 1, unknown 0, no -1). Sources: docs/feast-vs-hopsworks.md.`,
    '',
    `Versions: ${SYSTEMS.map((s) => FACT_VERSIONS[s]).join('; ')}.`,
    '',
    '| Aspect | Sources |',
    '| --- | --- |',
    ...FACTS.map((f) => `| ${mdCell(f.label)} | ${mdCell(f.sources.join('; '))} |`),
    '',
  ];
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>Feast vs Hopsworks vs Strata</title>',
    '<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top}.yes{background:#e6f4ea}.partial{background:#fff8e1}.no{background:#fdecea}.unknown{background:#f1f3f4}</style>',
    '</head><body>',
    `<h1>Feast vs Hopsworks vs Strata for project <code>${esc(input.project)}</code></h1>`,
    `<p>Recommendation: <strong>${esc(SYSTEM_NAMES[recommendation.target])}</strong>. ${esc(recommendation.reasons.join(' '))}</p>`,
    '<h2>Requirements</h2>',
    `<table><thead><tr><th>Requirement</th><th>Wanted</th>${SYSTEMS.map((s) => `<th>${SYSTEM_NAMES[s]}</th>`).join('')}</tr></thead><tbody>`,
    ...rows.map(
      (r) =>
        `<tr><td>${esc(r.requirement)}${r.hard ? ' (hard)' : ''}</td><td>${esc(r.wanted)}</td>${SYSTEMS.map(
          (s) => `<td class="${r.cells[s].support}">${MARK[r.cells[s].support]}: ${esc(r.cells[s].text)}</td>`,
        ).join('')}</tr>`,
    ),
    '</tbody></table>',
    '<h2>Evidence from the registry</h2>',
    ...SYSTEMS.map((s) => `<h3>${SYSTEM_NAMES[s]}</h3><ul>${evidence[s].map((e) => `<li>${esc(e)}</li>`).join('')}</ul>`),
    `<h2>Migration plan (${esc(SYSTEM_NAMES[recommendation.target])})</h2>`,
    `<pre>${esc(plan.join('\n'))}</pre>`,
    `<p>Facts and sources: docs/feast-vs-hopsworks.md (${FACTS.length} aspects). Versions: ${esc(SYSTEMS.map((s) => FACT_VERSIONS[s]).join('; '))}.</p>`,
    `<table><thead><tr><th>Aspect</th><th>Sources</th></tr></thead><tbody>${FACTS.map((f) => `<tr><td>${esc(f.label)}</td><td>${esc(f.sources.join('; '))}</td></tr>`).join('')}</tbody></table>`,
    '</body></html>',
    '',
  ].join('\n');
  return { markdown: md.join('\n'), html, recommendation, rows, evidence, migrationPlan: plan };
}
