/** The shapes of the API's answers that the console reads (docs/server.md and the console API contract). */
export type Role = 'viewer' | 'editor' | 'admin';

export interface Caller {
  id: string;
  name: string;
  roles: Record<string, Role>;
  anonymous: boolean;
}

export interface ConsoleConfig {
  caller: Caller;
  temporal: { uiUrl: string; namespace: string };
  projects: { name: string; role: Role | null }[];
}

export interface FeatureSpec {
  name: string;
  valueType: string;
  description?: string;
  tags?: Record<string, string>;
  [k: string]: unknown;
}

export interface ViewSpec {
  name: string;
  entities: string[];
  features: FeatureSpec[];
  ttlSeconds?: number;
  ttl?: string | number;
  online?: boolean;
  owner?: string;
  tags?: Record<string, string>;
  description?: string;
  [k: string]: unknown;
}

export interface ViewSummary extends ViewSpec {
  version: number;
  versions: number[];
}

export interface Ingestion {
  id: string;
  view: string;
  version: number;
  status: 'staging' | 'staged' | 'committed' | 'quarantined' | 'failed';
  source: string | null;
  rowCount: number;
  minEventTime: string | null;
  maxEventTime: string | null;
  commitSeq: number | null;
  createdBy: string | null;
  createdAt: string;
  committedAt: string | null;
  workflowId: string | null;
  error: unknown;
  hasReport: boolean;
  hasStatistics: boolean;
  hasDrift: boolean;
}

export interface StatValues {
  count?: number;
  nullCount?: number;
  completeness?: number | null;
  distinctCount?: number;
  distinctExact?: boolean;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  stddev?: number | null;
  sum?: number | null;
  quantiles?: Record<string, number> | null;
}

export interface DriftValues {
  kind: 'numeric' | 'categorical' | 'skipped';
  psi: number | null;
  ks: number | null;
  js: number | null;
  drifted: boolean;
  reasons: string[];
  threshold: { psi: number; ks: number; js: number };
}

export interface SeriesCommit {
  ingestionId: string;
  commitId: number | null;
  status: string;
  createdAt: string;
  committedAt: string | null;
  rows: number;
  minEventTime: string | null;
  maxEventTime: string | null;
  stats: Record<string, StatValues>;
  drift: Record<string, DriftValues>;
}

export interface StatisticsSeries {
  view: string;
  features: string[];
  commits: SeriesCommit[];
}

export interface Histogram {
  kind: 'categorical' | 'bins';
  values?: unknown[];
  edges?: number[];
  counts: number[];
  exact: boolean;
}

export interface ColumnProfile extends StatValues {
  name: string;
  kind: string;
  dtype: string;
  histogram: Histogram | null;
  topValues: { value: unknown; count: number }[] | null;
}

export interface Profile {
  rowCount: number;
  columns: Record<string, ColumnProfile>;
}

export interface ExpectationResult {
  success: boolean;
  expectation_config: {
    type?: string;
    expectation_type?: string;
    kwargs: Record<string, unknown>;
    meta?: Record<string, unknown>;
  };
  result: Record<string, unknown>;
  exception_info?: { raised_exception: boolean; exception_message: string | null };
}

export interface ValidationReport {
  success: boolean;
  results: ExpectationResult[];
  suite_name: string;
  statistics: {
    evaluated_expectations: number;
    successful_expectations: number;
    unsuccessful_expectations: number;
    success_percent: number | null;
  };
  meta?: Record<string, unknown>;
}

export interface RunInfo {
  workflowId: string;
  url: string;
  status: string;
  progress: { stage?: string; rowsDone?: number; rowsTotal?: number | null; [k: string]: unknown } | null;
  result?: unknown;
  error?: unknown;
  links?: { self: string };
}

export interface RunSummary {
  workflowId: string;
  kind: string;
  type: string;
  status: string;
  stage: string | null;
  view: string | null;
  ingestionId?: string | null;
  rows: number | null;
  startTime: string | null;
  closeTime: string | null;
  durationMs: number | null;
  progress: RunInfo['progress'];
  url: string;
  links: { self: string; events: string; steps: string };
}

export interface RunStep {
  name: string;
  kind: string;
  status: string;
  attempt: number;
  scheduledAt: string | null;
  startedAt: string | null;
  closedAt: string | null;
  durationMs: number | null;
}

export interface MaterializationRun {
  id: number;
  workflowId: string;
  url: string;
  status: string;
  mode: string;
  fromSeq: number | null;
  toSeq: number | null;
  windowStart: string | null;
  windowEnd: string | null;
  rowsWritten: number | null;
  rowsSkipped: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  rowsPerSecond: number | null;
}

export interface MaterializationState {
  view: string;
  online: boolean;
  watermark: { commitId: number; updatedAt: string | null };
  latestCommitId: number | null;
  commitsBehind: number | null;
  materializedEventTime: string | null;
  freshnessSeconds: number | null;
  freshnessBasis?: string;
  onlineMarker: number | null;
  runs: MaterializationRun[];
  schedule: {
    scheduleId: string;
    view: string;
    every: string;
    paused: boolean;
    nextRuns?: string[];
    [k: string]: unknown;
  } | null;
}

export interface LineageNode {
  id: string;
  kind: 'source' | 'ingestion' | 'view' | 'service' | 'online' | 'training-set';
  label: string;
  status?: string;
  [k: string]: unknown;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: string;
  [k: string]: unknown;
}

export interface OnlineResponse {
  metadata: { feature_names: string[] };
  results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
}

export interface PlanChange {
  action: string;
  kind: string;
  name: string;
  [k: string]: unknown;
}
