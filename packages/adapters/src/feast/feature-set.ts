/**
 * Feast 0.x FeatureSet documents (the talk's `kind: feature_set`). The parsing itself lives in @strata/core
 * (parseRepoDocuments); this adds text input, multi-document YAML and an import report.
 */
import { invalidInput, parseRepoDocuments, validateRepo } from '@strata/core';
import { parseAllDocuments } from 'yaml';
import { emptyReport, type ImportedRepo } from '../report.js';

/** Parses one or more Feast 0.x FeatureSet documents (YAML/JSON text, or already-parsed objects). */
export function parseFeatureSet(
  doc: string | unknown | unknown[],
  opts: { project?: string; where?: string } = {},
): ImportedRepo {
  const where = opts.where ?? 'feature_set';
  let docs: unknown[];
  if (typeof doc === 'string') {
    const parsed = parseAllDocuments(doc);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const bad = list.find((d) => d.errors.length);
    if (bad) throw invalidInput(`${where} is not valid YAML/JSON: ${bad.errors[0]?.message}`, { where });
    docs = list.map((d) => {
      try {
        return d.toJS({ maxAliasCount: 100 });
      } catch (err) {
        throw invalidInput(`${where} expands too many YAML aliases (*name): ${(err as Error).message}`, {
          where,
          hint: 'write the repeated parts out, or use fewer anchors',
        });
      }
    });
  } else docs = Array.isArray(doc) ? doc : [doc];
  for (const [i, d] of docs.entries()) {
    const kind = (d as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string' || !/^feature_?set$/i.test(kind))
      throw invalidInput(`${where}#${i + 1} is not a Feast 0.x FeatureSet (kind: ${JSON.stringify(kind)})`, {
        where: `${where}#${i + 1}`,
        hint: 'a FeatureSet document has kind: feature_set and spec: {name, entities, features, maxAge}',
      });
  }
  const parsed = parseRepoDocuments(docs, where);
  const repo = validateRepo({ entities: parsed.entities, featureViews: parsed.featureViews, featureServices: [] });
  const report = emptyReport();
  for (const e of repo.entities) report.created.push(`entity ${e.name}`);
  for (const v of repo.featureViews) {
    report.created.push(`feature view ${v.name}`);
    const extras = Object.keys(v.extras ?? {});
    if (extras.length) report.extras.push({ object: `feature view ${v.name}`, fields: extras });
  }
  return { project: opts.project ?? 'default', repo, report };
}
