/**
 * Plan: what applying a desired spec would change in the registry. Pure, so the CLI can print it and the
 * registry can execute exactly what was shown.
 */
import type { EntitySpec, FeatureServiceSpec, FeatureViewSpec, ObjectKind } from './model.js';
import type { OnDemandFeatureViewSpec } from './on-demand.js';

export type ChangeAction = 'create' | 'update' | 'new_version' | 'unchanged' | 'delete';

export interface Change {
  kind: ObjectKind;
  name: string;
  action: ChangeAction;
  /** Human-readable reasons, one per differing field. */
  reasons: string[];
}

function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

export function sameSpec(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function fieldDiffs(before: object, after: object, skip: string[] = []): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    if (skip.includes(k)) continue;
    const x = (before as Record<string, unknown>)[k];
    const y = (after as Record<string, unknown>)[k];
    if (!sameSpec(x, y)) out.push(`${k}: ${short(x)} -> ${short(y)}`);
  }
  return out;
}

function short(v: unknown): string {
  const s = v === undefined ? '(unset)' : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Changes to a view that old rows cannot satisfy, so the view gets a new version (a new offline table). */
export function breakingViewChanges(before: FeatureViewSpec, after: FeatureViewSpec): string[] {
  const reasons: string[] = [];
  if (!sameSpec(before.entities, after.entities))
    reasons.push(`entities changed: ${short(before.entities)} -> ${short(after.entities)}`);
  if (before.timestampField !== after.timestampField)
    reasons.push(`timestamp column changed: ${before.timestampField} -> ${after.timestampField}`);
  if (before.createdTimestampField !== after.createdTimestampField)
    reasons.push(
      `created timestamp column changed: ${short(before.createdTimestampField)} -> ${short(after.createdTimestampField)}`,
    );
  const afterByName = new Map(after.features.map((f) => [f.name, f]));
  for (const f of before.features) {
    const g = afterByName.get(f.name);
    if (!g) reasons.push(`feature '${f.name}' removed`);
    else if (g.valueType !== f.valueType) reasons.push(`feature '${f.name}' type changed: ${f.valueType} -> ${g.valueType}`);
  }
  return reasons;
}

export function diffEntity(before: EntitySpec | undefined, after: EntitySpec): Change {
  if (!before) return { kind: 'entity', name: after.name, action: 'create', reasons: [] };
  if (sameSpec(before, after)) return { kind: 'entity', name: after.name, action: 'unchanged', reasons: [] };
  const keysChanged = !sameSpec(before.joinKeys, after.joinKeys);
  return {
    kind: 'entity',
    name: after.name,
    // Entities are not versioned; views that use a changed entity get new versions (see diffView with entity context).
    action: 'update',
    reasons: keysChanged
      ? [`join keys changed: ${short(before.joinKeys)} -> ${short(after.joinKeys)}`]
      : fieldDiffs(before, after),
  };
}

export function diffView(before: FeatureViewSpec | undefined, after: FeatureViewSpec, keysChanged = false): Change {
  if (!before) return { kind: 'feature_view', name: after.name, action: 'create', reasons: [] };
  if (sameSpec(before, after) && !keysChanged)
    return { kind: 'feature_view', name: after.name, action: 'unchanged', reasons: [] };
  const breaking = breakingViewChanges(before, after);
  if (keysChanged) breaking.push('the join keys of one of its entities changed');
  if (breaking.length) return { kind: 'feature_view', name: after.name, action: 'new_version', reasons: breaking };
  const added = after.features
    .filter((f) => !before.features.some((g) => g.name === f.name))
    .map((f) => `feature '${f.name}' added (${f.valueType})`);
  return {
    kind: 'feature_view',
    name: after.name,
    action: 'update',
    reasons: [...added, ...fieldDiffs(before, after, ['features'])],
  };
}

export function diffService(before: FeatureServiceSpec | undefined, after: FeatureServiceSpec): Change {
  if (!before) return { kind: 'feature_service', name: after.name, action: 'create', reasons: [] };
  if (sameSpec(before, after)) return { kind: 'feature_service', name: after.name, action: 'unchanged', reasons: [] };
  return { kind: 'feature_service', name: after.name, action: 'update', reasons: fieldDiffs(before, after) };
}

/** An on-demand view has no table: a change is an update (a new code hash shows which code serves from now on). */
export function diffOnDemandView(before: OnDemandFeatureViewSpec | undefined, after: OnDemandFeatureViewSpec): Change {
  const kind = 'on_demand_feature_view';
  if (!before) return { kind, name: after.name, action: 'create', reasons: [] };
  if (sameSpec(before, after)) return { kind, name: after.name, action: 'unchanged', reasons: [] };
  const reasons = fieldDiffs(before, after, ['transformation']);
  if (!sameSpec(before.transformation, after.transformation)) {
    const hb = before.transformation?.codeHash?.slice(0, 12) ?? '(none)';
    const ha = after.transformation?.codeHash?.slice(0, 12) ?? '(none)';
    reasons.push(
      hb === ha ? `transformation: ${short(before.transformation)} -> ${short(after.transformation)}` : `code ${hb} -> ${ha}`,
    );
  }
  return { kind, name: after.name, action: 'update', reasons };
}

const SYMBOL: Record<ChangeAction, string> = { create: '+', update: '~', new_version: '±', unchanged: '=', delete: '-' };

export function formatPlan(changes: Change[]): string {
  const lines: string[] = [];
  for (const c of changes) {
    const label = c.action === 'new_version' ? 'new version' : c.action;
    lines.push(`${SYMBOL[c.action]} ${c.kind.replaceAll('_', ' ')} ${c.name}: ${label}`);
    for (const r of c.reasons) lines.push(`    ${r}`);
  }
  const counts = (a: ChangeAction) => changes.filter((c) => c.action === a).length;
  lines.push(
    `Plan: ${counts('create')} to create, ${counts('update')} to update, ${counts('new_version')} to version, ${counts('delete')} to delete, ${counts('unchanged')} unchanged.`,
  );
  return lines.join('\n');
}
