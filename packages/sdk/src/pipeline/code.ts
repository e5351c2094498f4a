/**
 * Pipeline code identity: TypeScript transformations are bundled at apply (esbuild) so the registry holds the exact
 * code that runs, and every pipeline commit records a content hash of its source and transformation.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { type FeatureViewSpec, invalidSpec, type RepoSpec, StrataError } from '@strata/core';

/** Arrow comes from the host at run time (one Arrow for the table in and out), never from the bundle. */
const ARROW_GLOBAL = '__strataArrow';

async function arrowShim(): Promise<string> {
  const arrow = await import('apache-arrow');
  const names = Object.keys(arrow).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
  return [`const A = globalThis.${ARROW_GLOBAL};`, ...names.map((n) => `export const ${n} = A.${n};`), 'export default A;'].join(
    '\n',
  );
}

/**
 * Bundles one TypeScript/JavaScript module into a single ES module (its npm imports inlined, Arrow from the host).
 * `script`: a classic script that sets `globalThis[script]` to the module's exports instead (on-demand views run
 * as a script in a `node:vm` context, see @strata/core on-demand.ts).
 */
export async function bundleModule(path: string, where: string, opts: { script?: string } = {}): Promise<string> {
  const esbuild = await import('esbuild');
  const shim = await arrowShim();
  try {
    const out = await esbuild.build({
      entryPoints: [path],
      bundle: true,
      write: false,
      ...(opts.script ? { format: 'iife' as const, globalName: opts.script } : { format: 'esm' as const }),
      platform: 'node',
      target: 'node20',
      // No source map: the bundle (and so its hash) depends on the code only, not on where apply ran.
      keepNames: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'strata-arrow',
          setup(b) {
            b.onResolve({ filter: /^apache-arrow$/ }, () => ({ path: 'apache-arrow', namespace: 'strata-arrow' }));
            b.onLoad({ filter: /.*/, namespace: 'strata-arrow' }, () => ({ contents: shim, loader: 'js' }));
          },
        },
      ],
    });
    const file = out.outputFiles[0];
    if (!file) throw new Error('esbuild produced no output');
    return file.text;
  } catch (err) {
    const e = err as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] };
    const first = e.errors?.[0];
    throw invalidSpec(`the transformation module ${path} does not build: ${first?.text ?? (err as Error).message}`, {
      where: first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}` : where,
      hint: 'fix the module so that it compiles (it is bundled with its imports at apply)',
    });
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Fills `code` and `codeHash` of every TypeScript transformation from its module (paths relative to `baseDir`).
 * A transformation that already carries code (read back from the registry) is kept as it is.
 */
export async function bundleTransformations(repo: Partial<RepoSpec>, baseDir = process.cwd()): Promise<Partial<RepoSpec>> {
  const views: FeatureViewSpec[] = [];
  for (const v of repo.featureViews ?? []) {
    const t = v.transformation;
    if (t?.kind === 'typescript' && typeof t.module === 'string') {
      const path = isAbsolute(t.module) ? t.module : resolve(baseDir, t.module);
      const code = await bundleModule(path, `feature view '${v.name}'.transformation.module`);
      views.push({ ...v, transformation: { ...t, code, codeHash: sha256(code) } });
    } else views.push(v);
  }
  const onDemand = [];
  for (const v of repo.onDemandFeatureViews ?? []) {
    const t = v.transformation;
    if (t?.kind === 'typescript' && typeof t.module === 'string') {
      const path = isAbsolute(t.module) ? t.module : resolve(baseDir, t.module);
      const code = await bundleModule(path, `on-demand feature view '${v.name}'.transformation.module`, {
        script: ON_DEMAND_GLOBAL,
      });
      onDemand.push({ ...v, transformation: { ...t, code, codeHash: sha256(code) } });
    } else onDemand.push(v);
  }
  return { ...repo, featureViews: views, ...(repo.onDemandFeatureViews ? { onDemandFeatureViews: onDemand } : {}) };
}

/** The global an on-demand view's bundled script sets to its module's exports (read by OnDemandRunner). */
const ON_DEMAND_GLOBAL = '__strataOnDemand';

/**
 * The content hash of a view's pipeline code: its source and its transformation (the bundled code's hash for
 * TypeScript). Recorded on each commit, and part of each window's ingestion id, so new code makes new commits.
 */
export function pipelineCodeHash(spec: FeatureViewSpec): string {
  const t = spec.transformation;
  if (t?.kind === 'typescript' && !t.code) {
    throw new StrataError('INVALID_SPEC', `the transformation of '${spec.name}' has no code`, {
      hint: 'apply the view with the SDK or CLI, which bundles the module',
    });
  }
  const transformation =
    t === undefined
      ? null
      : t.kind === 'sql'
        ? { kind: 'sql', query: t.query }
        : { kind: 'typescript', export: t.export ?? 'default', codeHash: t.codeHash ?? sha256(t.code as string) };
  const source = spec.source ? Object.fromEntries(Object.entries(spec.source).sort(([a], [b]) => a.localeCompare(b))) : null;
  return sha256(JSON.stringify({ source, transformation }));
}

/** A window's ingestion id: derived from view, version, window and code hash, so a re-run commits nothing new. */
export function windowIngestionId(
  project: string,
  view: string,
  version: number,
  start: Date,
  end: Date,
  codeHash: string,
): string {
  const h = sha256(`${project}\n${view}\n${version}\n${start.toISOString()}\n${end.toISOString()}\n${codeHash}`).slice(0, 32);
  return `pl_${h}`;
}

export { ARROW_GLOBAL };
