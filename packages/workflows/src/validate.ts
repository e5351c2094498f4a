/**
 * Validation and profiling of a staged ingestion in one streaming pass over its rows (server-side cursor,
 * bounded memory). The view's Great Expectations suite decides; its policy says what a failure means.
 */
import { tableFromRows } from '@strata/core';
import { type OfflineStore, type ViewVersion, viewColumns } from '@strata/offline-postgres';
import { drift as computeDrift, type DriftReport, type Profile, parseSuite, validateAndProfile } from '@strata/validation';
import type { ValidationSummary } from './shared.js';

/** Rows profiled when a commit is not validated in full (no suite, or policy NONE). */
export const PROFILE_SAMPLE_ROWS = 100_000;

export interface ValidationOutcome extends ValidationSummary {
  report: unknown;
  statistics: unknown;
  driftReport?: DriftReport;
}

interface GxResult {
  success: boolean;
  expectation_config?: { type?: string; expectation_type?: string; kwargs?: Record<string, unknown> };
  result?: { unexpected_count?: number; observed_value?: unknown };
}

export async function validateStaged(
  offline: OfflineStore,
  ingestionId: string,
  view: ViewVersion,
  policyOverride: 'NONE' | 'ALWAYS' | 'STRICT' | undefined,
  heartbeat: () => void,
): Promise<ValidationOutcome> {
  const spec = view.spec;
  const policy = policyOverride ?? spec.validationPolicy ?? (spec.expectationSuite ? 'ALWAYS' : 'NONE');
  const columns = viewColumns(spec, view.joinKeys);
  const suite =
    spec.expectationSuite && policy !== 'NONE'
      ? parseSuite(spec.expectationSuite, { source: `feature view '${spec.name}'` })
      : undefined;
  // With a suite to run, every row is read (verdicts must be exact). Without one, the statistics come from a uniform
  // sample of about PROFILE_SAMPLE_ROWS rows, so a big commit is not read a second time in full just to profile it.
  const sampleRows = suite ? undefined : PROFILE_SAMPLE_ROWS;
  async function* tables(): AsyncGenerator<ReturnType<typeof tableFromRows>> {
    for await (const rows of offline.readStaged(ingestionId, 20_000, sampleRows ? { sampleRows } : {})) {
      yield tableFromRows(columns, rows);
    }
  }
  // one pass: each batch's columns are read once for the suite and the profile
  const { result, profile } = await validateAndProfile(tables(), suite, {
    resultFormat: 'SUMMARY',
    columnsAvailable: columns.map((c) => c.name),
    onProgress: heartbeat,
  });
  const rowCount = (await offline.getIngestion(ingestionId))?.rowCount ?? profile.rowCount;
  const statistics: Profile & { sample?: { rows: number; of: number } } =
    profile.rowCount < rowCount ? { ...profile, sample: { rows: profile.rowCount, of: rowCount } } : profile;
  const reference = await offline.latestCommittedStatistics(view.project, view.name);
  // Drift is about feature values: keys and event times change from commit to commit by design.
  const featuresOnly = (p: Profile): Profile => ({
    ...p,
    columns: Object.fromEntries(Object.entries(p.columns).filter(([name]) => spec.features.some((f) => f.name === name))),
  });
  const driftReport = reference
    ? computeDrift(featuresOnly(reference.statistics as Profile), featuresOnly(statistics), spec.monitoring?.drift ?? {})
    : undefined;
  const drift =
    reference && driftReport
      ? {
          drifted: driftReport.drifted,
          referenceCommit: reference.commitSeq,
          driftedColumns: driftReport.columns.filter((c) => c.drifted).map((c) => c.column),
        }
      : undefined;
  const extra = { ...(drift ? { drift } : {}), ...(driftReport ? { driftReport } : {}) };
  if (!result) {
    return { validated: false, success: true, policy, evaluated: 0, failed: [], report: null, statistics, ...extra };
  }
  const report = result as unknown as {
    success: boolean;
    results: GxResult[];
    statistics: { evaluated_expectations: number };
  };
  const failed = report.results
    .filter((r) => !r.success)
    .map((r) => ({
      expectation: r.expectation_config?.type ?? r.expectation_config?.expectation_type ?? 'unknown',
      ...(typeof r.expectation_config?.kwargs?.column === 'string' ? { column: r.expectation_config.kwargs.column } : {}),
      ...(r.result?.unexpected_count !== undefined ? { unexpectedCount: r.result.unexpected_count } : {}),
      ...(r.result?.observed_value !== undefined ? { observed: r.result.observed_value } : {}),
    }));
  return {
    validated: true,
    success: report.success,
    policy,
    evaluated: report.statistics.evaluated_expectations,
    failed,
    report,
    statistics,
    ...extra,
  };
}
