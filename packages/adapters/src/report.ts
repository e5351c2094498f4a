import type { EntitySpec, FeatureServiceSpec, FeatureViewSpec, RepoSpec } from '@strata/core';

/** What an import or export did: objects created, fields kept only as extras, objects that cannot be represented. */
export interface ImportReport {
  created: string[];
  extras: { object: string; fields: string[] }[];
  impossible: { object: string; reason: string }[];
  warnings: string[];
}

export type Extras = Record<string, unknown>;

/**
 * Entities and feature services carry an `extras` bag the same way feature views do (the registry stores specs as
 * JSON, so the bag travels with them); the repo itself carries one for objects Strata has no kind for.
 */
export type EntityWithExtras = EntitySpec & { extras?: Extras };
export type ServiceWithExtras = FeatureServiceSpec & { extras?: Extras };
export interface RepoWithExtras extends RepoSpec {
  entities: EntityWithExtras[];
  featureViews: FeatureViewSpec[];
  featureServices: ServiceWithExtras[];
  extras?: Extras;
}

export interface ImportedRepo {
  project: string;
  repo: RepoWithExtras;
  report: ImportReport;
  /** Strata configuration derived from the source's own configuration (feature_store.yaml), where it has a meaning. */
  config?: Record<string, unknown>;
}

export const emptyReport = (): ImportReport => ({ created: [], extras: [], impossible: [], warnings: [] });

export function mergeReports(...reports: ImportReport[]): ImportReport {
  const out = emptyReport();
  for (const r of reports) {
    out.created.push(...r.created);
    out.extras.push(...r.extras);
    out.impossible.push(...r.impossible);
    out.warnings.push(...r.warnings);
  }
  return out;
}

/** Human-readable summary of a report (CLI --dry-run output). */
export function formatReport(r: ImportReport): string {
  const lines: string[] = [];
  for (const c of r.created) lines.push(`+ ${c}`);
  for (const e of r.extras) lines.push(`~ ${e.object}: kept as extras: ${e.fields.join(', ')}`);
  for (const i of r.impossible) lines.push(`! ${i.object}: ${i.reason}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
