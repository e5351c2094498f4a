/**
 * The Helm chart (deploy/helm/strata) checked with the real helm CLI (STRATA_HELM_BIN, from infra/helm.sh):
 * `helm lint --strict`, and `helm template` rendered for several value sets and read back as Kubernetes objects:
 * workloads, probes on /health, resources, the HPA and PodDisruptionBudgets, the ConfigMap's strata.yaml parsing with
 * Strata's own config schema, and the Secret; the chart's values.schema.json refusing misspelt and mistyped values; and
 * every rendered manifest validated against the upstream Kubernetes JSON schemas (kubernetes-validate --strict, from
 * PyPI with the schemas in its wheel: STRATA_KUBE_VALIDATE_BIN, from infra/helm.sh), a deliberately broken render
 * failing. Without the tools the suites are skipped, except under CI=true, where they fail.
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
const KUBE_VALIDATE =
  process.env.STRATA_KUBE_VALIDATE_BIN ?? (process.env.CI === 'true' ? 'kubernetes-validate-not-found' : undefined);
/** The Kubernetes versions the manifests must be valid for: the oldest and the newest schemas the validator ships. */
const KUBE_VERSIONS = ['1.25.0', '1.37.0'];
const CHART = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'helm', 'strata');
const KEY = 'demo:read+write:0123456789abcdef0123';

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are read loosely
type K8s = { kind: string; metadata: { name: string }; spec?: Record<string, any>; data?: Record<string, string> };

async function render(...sets: string[]): Promise<string> {
  const args = ['template', 'rel', CHART, ...sets.flatMap((s) => ['--set', s])];
  return (await run(HELM as string, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

function objects(yamlText: string): K8s[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as K8s)
    .filter(Boolean);
}

async function template(...sets: string[]): Promise<K8s[]> {
  return objects(await render(...sets));
}

/** kubernetes-validate --strict on a multi-document YAML file for one Kubernetes version: passed, and what it said. */
async function kubeValidate(yamlText: string, version: string): Promise<{ ok: boolean; out: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'strata-kube-')), 'manifests.yaml');
  writeFileSync(file, yamlText);
  try {
    const { stdout, stderr } = await run(KUBE_VALIDATE as string, ['--strict', '-k', version, file]);
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** The value sets every other test renders (defaults; server, cluster, partitions, existing Secret; read replica). */
const VALUE_SETS: string[][] = [
  [`secret.apiKeys=${KEY}`],
  [
    `secret.apiKeys=${KEY}`,
    'server.enabled=true',
    'server.pdb.enabled=true',
    'config.redis.type=redis_cluster',
    'config.postgres.viewPartitions=16',
    'secret.existingSecret=mine',
    'serving.hpa.enabled=false',
    'serving.replicas=3',
  ],
  [`secret.apiKeys=${KEY}`, 'secret.offlineReadUrl=postgres://reader@standby:5432/strata', 'worker.enabled=false'],
];

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

  it('refuses values that values.schema.json does not allow: a misspelt key, an unknown Redis type, a bad port', async () => {
    for (const [set, msg] of [
      ['worker.replics=3', /at '\/worker': additional properties 'replics' not allowed/],
      ['config.redis.type=cluster', /at '\/config\/redis\/type': value must be one of 'redis', 'redis_cluster'/],
      ['serving.port=70000', /at '\/serving\/port'/],
    ] as const) {
      const err = await template(`secret.apiKeys=${KEY}`, set).catch((e: Error & { stderr?: string }) => e);
      expect(err, set).toBeInstanceOf(Error);
      expect((err as Error & { stderr?: string }).stderr, set).toMatch(msg);
    }
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

describe.skipIf(!HELM || !KUBE_VALIDATE)(
  'Helm chart manifests against the Kubernetes JSON schemas (kubernetes-validate --strict, STRATA_KUBE_VALIDATE_BIN)',
  () => {
    it('every rendered object of every value set is valid for the oldest and the newest Kubernetes schemas', async () => {
      for (const sets of VALUE_SETS) {
        const text = await render(...sets);
        const docs = objects(text);
        expect(docs.length).toBeGreaterThan(4);
        for (const version of KUBE_VERSIONS) {
          const r = await kubeValidate(text, version);
          expect(r.ok, `${sets.join(' ')} on ${version}: ${r.out}`).toBe(true);
          // Each object was checked (named in a "passed" line), none skipped as unknown.
          for (const d of docs) {
            expect(r.out).toContain(`passed for resource ${d.kind.toLowerCase()}/${d.metadata.name} against version`);
          }
        }
      }
    });

    it('fails a deliberately broken render: a mistyped field, an unknown field, a missing required field', async () => {
      const good = await render(`secret.apiKeys=${KEY}`);
      expect(good).toContain('containerPort: 6566');
      const broken: [string, string, RegExp][] = [
        [
          'containerPort as text',
          good.replace('containerPort: 6566', 'containerPort: "http-6566"'),
          /did not validate for resource deployment\/rel-strata-serving .*containerPort.*is not of type 'integer'/,
        ],
        [
          'an unknown field (strict)',
          good.replace(/kind: Deployment\nmetadata:/, 'kind: Deployment\nspec_extra: 1\nmetadata:'),
          /did not validate for resource deployment\/rel-strata-\w+ .*Additional properties are not allowed \('spec_extra'/,
        ],
        [
          'a Service port without its port number',
          good.replace(/(kind: Service[\s\S]*?ports:\n\s+- name: http\n)\s+port: 6566\n/, '$1'),
          /did not validate for resource service\/rel-strata-serving .*'port' is a required property/,
        ],
      ];
      for (const [what, text, msg] of broken) {
        expect(text, what).not.toBe(good);
        const r = await kubeValidate(text, KUBE_VERSIONS[0] as string);
        expect(r.ok, what).toBe(false);
        expect(r.out, what).toMatch(msg);
      }
    });
  },
);
