/**
 * The Helm chart (deploy/helm/strata) checked with the real helm CLI (STRATA_HELM_BIN, from infra/helm.sh):
 * `helm lint --strict`, and `helm template` rendered for several value sets and read back as Kubernetes objects:
 * workloads, probes on /health, resources, the HPA and PodDisruptionBudgets, the ConfigMap's strata.yaml parsing with
 * Strata's own config schema, and the Secret. Without helm the suite is skipped, except under CI=true, where it fails.
 * (No Kubernetes API schema validation: the schemas are not available from a package registry here.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigSchema } from '@strata/sdk';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const run = promisify(execFile);
const HELM = process.env.STRATA_HELM_BIN ?? (process.env.CI === 'true' ? 'helm-not-found' : undefined);
const CHART = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'helm', 'strata');
const KEY = 'demo:read+write:0123456789abcdef0123';

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are read loosely
type K8s = { kind: string; metadata: { name: string }; spec?: Record<string, any>; data?: Record<string, string> };

async function template(...sets: string[]): Promise<K8s[]> {
  const args = ['template', 'rel', CHART, ...sets.flatMap((s) => ['--set', s])];
  const { stdout } = await run(HELM as string, args, { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8s)
    .filter(Boolean);
}

describe.skipIf(!HELM)('Helm chart deploy/helm/strata (needs STRATA_HELM_BIN, from infra/helm.sh)', () => {
  it('passes helm lint --strict', async () => {
    const { stdout } = await run(HELM as string, ['lint', '--strict', CHART, '--set', `secret.apiKeys=${KEY}`]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders workers, serving with Service, HPA and PDBs, probes on /health, requests, ConfigMap and Secret', async () => {
    const docs = await template(`secret.apiKeys=${KEY}`);
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    expect(
      byKind('Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['rel-strata-serving', 'rel-strata-worker']);
    expect(byKind('Service').map((d) => d.metadata.name)).toEqual(['rel-strata-serving']);
    expect(byKind('HorizontalPodAutoscaler')).toHaveLength(1);
    expect(
      byKind('PodDisruptionBudget')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(['rel-strata-serving', 'rel-strata-worker']);
    for (const d of byKind('Deployment')) {
      const c = d.spec?.template.spec.containers[0];
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(c.resources.requests.cpu).toBeTruthy();
      expect(c.resources.requests.memory).toBeTruthy();
      expect(c.env.map((e: { name: string }) => e.name)).toEqual(
        expect.arrayContaining(['STRATA_CONFIG', 'STRATA_POSTGRES_URL', 'STRATA_REDIS_URL', 'STRATA_API_KEYS']),
      );
      // Selector and pod labels agree, per component.
      expect(d.spec?.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/component': c.name }));
      expect(d.spec?.template.metadata.labels).toEqual(expect.objectContaining(d.spec?.selector.matchLabels));
    }
    const worker = byKind('Deployment').find((d) => d.metadata.name.endsWith('worker'));
    expect(worker?.spec?.template.spec.containers[0].args).toEqual(['worker']);
    expect(worker?.spec?.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(60);
    const serving = byKind('Deployment').find((d) => d.metadata.name.endsWith('serving'));
    expect(serving?.spec?.replicas).toBeUndefined(); // the HPA owns the replica count
    expect(byKind('Service')[0]?.spec?.ports[0]).toMatchObject({ port: 6566, targetPort: 'http' });

    // The ConfigMap's strata.yaml is valid Strata config (with the Secret's values from the environment).
    const cm = byKind('ConfigMap')[0];
    const parsed = ConfigSchema.safeParse(parseYaml(cm?.data?.['strata.yaml'] as string));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data?.serving.host).toBe('0.0.0.0');
    expect(parsed.data?.worker.healthPort).toBe(6580);
    const secret = byKind('Secret')[0] as K8s & { stringData: Record<string, string> };
    expect(Object.keys(secret.stringData).sort()).toEqual(['STRATA_API_KEYS', 'STRATA_POSTGRES_URL', 'STRATA_REDIS_URL']);
    // Secrets stay out of the ConfigMap.
    expect(cm?.data?.['strata.yaml']).not.toContain('change-me');
  });

  it('renders the server, a Redis Cluster and partitioned tables when asked, and an existing Secret', async () => {
    const docs = await template(
      `secret.apiKeys=${KEY}`,
      'server.enabled=true',
      'config.redis.type=redis_cluster',
      'config.postgres.viewPartitions=16',
      'secret.existingSecret=mine',
      'serving.hpa.enabled=false',
      'serving.replicas=3',
    );
    const server = docs.find((d) => d.kind === 'Deployment' && d.metadata.name.endsWith('server'));
    expect(server?.spec?.template.spec.containers[0].ports[0].containerPort).toBe(6570);
    expect(docs.filter((d) => d.kind === 'Secret')).toHaveLength(0);
    const env = server?.spec?.template.spec.containers[0].env as {
      name: string;
      valueFrom?: { secretKeyRef: { name: string } };
    }[];
    expect(env.find((e) => e.name === 'STRATA_POSTGRES_URL')?.valueFrom?.secretKeyRef.name).toBe('mine');
    const cfg = ConfigSchema.parse(parseYaml(docs.find((d) => d.kind === 'ConfigMap')?.data?.['strata.yaml'] as string));
    expect(cfg.redis.type).toBe('redis_cluster');
    expect(cfg.postgres.viewPartitions).toBe(16);
    expect(docs.find((d) => d.kind === 'Deployment' && d.metadata.name.endsWith('serving'))?.spec?.replicas).toBe(3);
    expect(docs.some((d) => d.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  it('refuses to render serving without API keys', async () => {
    const err = await template().catch((e: Error & { stderr?: string }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error & { stderr?: string }).stderr).toMatch(/secret.apiKeys is required/);
  });

  it('renders from a values file too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-helm-'));
    const file = join(dir, 'values.yaml');
    writeFileSync(file, `secret:\n  apiKeys: "${KEY}"\nworker:\n  replicas: 5\n`);
    const { stdout } = await run(HELM as string, ['template', 'rel', CHART, '-f', file]);
    const worker = parseAllDocuments(stdout)
      .map((d) => d.toJS() as K8s)
      .find((d) => d?.kind === 'Deployment' && d.metadata.name.endsWith('worker'));
    expect(worker?.spec?.replicas).toBe(5);
  });
});
