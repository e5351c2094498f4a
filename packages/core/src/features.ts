/**
 * Resolves feature references ("view:feature", "view" for all its features, or a feature service) against a
 * repo spec. Unknown names are errors that list what exists.
 */
import { invalidInput, StrataError, unknownObject } from './errors.js';
import type { FeatureSpec, FeatureViewSpec, RepoSpec } from './model.js';

export interface ResolvedSelection {
  view: FeatureViewSpec;
  features: FeatureSpec[];
}

export function resolveFeatureRefs(repo: RepoSpec, refs: string[]): ResolvedSelection[] {
  if (!Array.isArray(refs) || refs.length === 0) {
    throw invalidInput('no features requested', { hint: 'pass feature references like "view:feature", or a feature service' });
  }
  const byView = new Map<string, ResolvedSelection>();
  for (const ref of refs) {
    if (typeof ref !== 'string') throw invalidInput(`feature reference ${JSON.stringify(ref)} is not a string`);
    const [viewName, featureName, ...rest] = ref.split(':');
    if (!viewName || rest.length) throw invalidInput(`feature reference '${ref}' is not of the form view:feature`);
    const view = repo.featureViews.find((v) => v.name === viewName);
    if (!view)
      throw unknownObject(
        'feature view',
        viewName,
        repo.featureViews.map((v) => v.name),
        { where: `feature reference '${ref}'` },
      );
    let sel = byView.get(view.name);
    if (!sel) {
      sel = { view, features: [] };
      byView.set(view.name, sel);
    }
    const wanted =
      featureName === undefined || featureName === '*' ? view.features : view.features.filter((f) => f.name === featureName);
    if (!wanted.length) {
      throw new StrataError('UNKNOWN_FEATURE', `feature view '${view.name}' has no feature '${featureName}'`, {
        where: `feature reference '${ref}'`,
        hint: `its features are ${view.features.map((f) => f.name).join(', ')}`,
      });
    }
    for (const f of wanted) if (!sel.features.some((x) => x.name === f.name)) sel.features.push(f);
  }
  return [...byView.values()];
}

/** The "view:feature" (or "view") references a feature service selects; an unknown service lists the known ones. */
export function serviceFeatureRefs(repo: RepoSpec, name: string): string[] {
  const svc = repo.featureServices.find((s) => s.name === name);
  if (!svc)
    throw unknownObject(
      'feature service',
      name,
      repo.featureServices.map((s) => s.name),
    );
  return svc.features.flatMap((sel) => (sel.features?.length ? sel.features.map((f) => `${sel.view}:${f}`) : [sel.view]));
}

export function resolveFeatureService(repo: RepoSpec, name: string): ResolvedSelection[] {
  return resolveFeatureRefs(repo, serviceFeatureRefs(repo, name));
}
