/**
 * The facts behind `strata compare`. docs/feast-vs-hopsworks.md holds the same table (between the facts markers),
 * rendered by renderFactsTable(); a unit test keeps the two identical. Change both together.
 */

export type SystemId = 'feast' | 'hopsworks' | 'strata';
export const SYSTEMS: SystemId[] = ['feast', 'hopsworks', 'strata'];
export const SYSTEM_NAMES: Record<SystemId, string> = { feast: 'Feast', hopsworks: 'Hopsworks', strata: 'Strata' };

export type Support = 'yes' | 'partial' | 'no' | 'unknown';

/** The versions the facts were checked against (their sources are per fact). */
export const FACT_VERSIONS: Record<SystemId, string> = {
  feast: 'Feast 0.67 (feast 0.67.0 on PyPI)',
  hopsworks: 'Hopsworks 4.x documentation (current release line 5.x: hopsworks 5.2.1 on PyPI)',
  strata: 'Strata (this repository)',
};

export interface Fact {
  key: string;
  label: string;
  values: Record<SystemId, { support: Support; text: string }>;
  sources: string[];
}

export const FACTS: Fact[] = [
  {
    key: 'license',
    label: 'License',
    values: {
      feast: { support: 'yes', text: 'Apache-2.0' },
      hopsworks: {
        support: 'partial',
        text: 'AGPL-3.0 platform (open-source edition); hsfs/hopsworks client Apache-2.0; enterprise features commercial',
      },
      strata: { support: 'yes', text: 'Apache-2.0' },
    },
    sources: ['github.com/feast-dev/feast LICENSE', 'github.com/logicalclocks/hopsworks LICENSE', 'packages/*/package.json'],
  },
  {
    key: 'selfHosted',
    label: 'Self-hosted',
    values: {
      feast: { support: 'yes', text: 'a Python library plus optional feature server; runs on your infrastructure' },
      hopsworks: {
        support: 'yes',
        text: 'on-premises or Kubernetes installation (a full platform: RonDB, HopsFS, Kafka, Spark)',
      },
      strata: { support: 'yes', text: 'Postgres, Redis and a Temporal server (infra/stack.sh)' },
    },
    sources: ['docs.feast.dev/getting-started/architecture', 'docs.hopsworks.ai (setup and installation)', 'docs/stack.md'],
  },
  {
    key: 'managed',
    label: 'Managed service',
    values: {
      feast: { support: 'no', text: 'no managed service from the project' },
      hopsworks: { support: 'yes', text: 'Hopsworks serverless / managed cloud (app.hopsworks.ai)' },
      strata: { support: 'no', text: 'no managed service' },
    },
    sources: ['docs.feast.dev', 'www.hopsworks.ai (product pages)'],
  },
  {
    key: 'onlineStores',
    label: 'Online stores',
    values: {
      feast: {
        support: 'yes',
        text: 'pluggable: Redis, DynamoDB, Bigtable, Datastore, SQLite, Postgres, Cassandra, Snowflake and more',
      },
      hopsworks: { support: 'yes', text: 'RonDB (MySQL NDB Cluster) only' },
      strata: { support: 'yes', text: 'Redis only, in Feast\u2019s Redis layout' },
    },
    sources: [
      'docs.feast.dev/reference/online-stores',
      'docs.hopsworks.ai (online feature store / RonDB)',
      'docs/online-store.md',
    ],
  },
  {
    key: 'offlineStores',
    label: 'Offline stores',
    values: {
      feast: {
        support: 'yes',
        text: 'pluggable: files (Dask), BigQuery, Snowflake, Redshift, Spark, Trino, Postgres, DuckDB and more',
      },
      hopsworks: {
        support: 'yes',
        text: 'Hudi/Delta tables on HopsFS or object storage; external feature groups over Snowflake, BigQuery, Redshift, JDBC, S3',
      },
      strata: { support: 'yes', text: 'Postgres only' },
    },
    sources: [
      'docs.feast.dev/reference/offline-stores',
      'docs.hopsworks.ai (feature groups, external feature groups)',
      'docs/architecture.md',
    ],
  },
  {
    key: 'languages',
    label: 'Client languages',
    values: {
      feast: { support: 'partial', text: 'Python SDK; HTTP/gRPC feature server for reads from any language' },
      hopsworks: { support: 'partial', text: 'Python and Java/Scala (Spark) clients; REST API' },
      strata: { support: 'partial', text: 'TypeScript SDK and CLI; Feast-compatible HTTP reads from any language' },
    },
    sources: ['docs.feast.dev/reference/feature-servers', 'docs.hopsworks.ai (client installation)', 'README.md'],
  },
  {
    key: 'timeTravel',
    label: 'Time travel / point-in-time joins',
    values: {
      feast: { support: 'partial', text: 'point-in-time joins over the source tables; history is whatever the source keeps' },
      hopsworks: { support: 'yes', text: 'point-in-time joins and time travel over Hudi/Delta commits (as_of)' },
      strata: { support: 'yes', text: 'point-in-time joins over the full history, kept as immutable ingestions in Postgres' },
    },
    sources: [
      'docs.feast.dev/getting-started/concepts/point-in-time-joins',
      'docs.hopsworks.ai (time travel)',
      'docs/concepts.md',
    ],
  },
  {
    key: 'statistics',
    label: 'Feature statistics',
    values: {
      feast: { support: 'no', text: 'no built-in statistics' },
      hopsworks: {
        support: 'yes',
        text: 'descriptive statistics, histograms and correlations computed on insert (statisticsConfig)',
      },
      strata: { support: 'yes', text: 'statistics per ingestion, computed in the validation pass' },
    },
    sources: ['docs.feast.dev', 'docs.hopsworks.ai (statistics)', 'docs/architecture.md'],
  },
  {
    key: 'validationAtIngest',
    label: 'Validation at ingest',
    values: {
      feast: { support: 'no', text: 'no ingest-time validation; experimental Great Expectations checks on saved datasets' },
      hopsworks: { support: 'yes', text: 'Great Expectations suite per feature group, policy ALWAYS or STRICT' },
      strata: {
        support: 'yes',
        text: 'Great Expectations-compatible suite per view, policy NONE, ALWAYS or STRICT (quarantine)',
      },
    },
    sources: ['docs.feast.dev/reference/dqm', 'docs.hopsworks.ai (data validation)', 'docs/concepts.md'],
  },
  {
    key: 'streaming',
    label: 'Streaming ingestion',
    values: {
      feast: { support: 'partial', text: 'push sources and stream feature views (Kafka/Kinesis via contrib processors)' },
      hopsworks: { support: 'yes', text: 'stream feature groups fed through Kafka (Spark, Flink, Bytewax or Python clients)' },
      strata: { support: 'no', text: 'batch ingestion only (each ingest is a Temporal workflow; schedules for periodic jobs)' },
    },
    sources: ['docs.feast.dev/reference/data-sources/push', 'docs.hopsworks.ai (stream feature groups)', 'docs/architecture.md'],
  },
  {
    key: 'ui',
    label: 'UI',
    values: {
      feast: { support: 'partial', text: 'Feast Web UI (`feast ui`), read-only registry browser' },
      hopsworks: { support: 'yes', text: 'full web UI: feature groups, statistics, validation reports, lineage, jobs' },
      strata: { support: 'partial', text: 'Temporal UI as the pipeline console (search attributes, memos); own console planned' },
    },
    sources: ['docs.feast.dev/reference/alpha-web-ui', 'docs.hopsworks.ai', 'docs/architecture.md'],
  },
  {
    key: 'metadata',
    label: 'Metadata / registry',
    values: {
      feast: { support: 'yes', text: 'registry file (protobuf) or SQL registry; tags, owners, descriptions' },
      hopsworks: { support: 'yes', text: 'platform metadata store with tags, keywords, provenance and search' },
      strata: { support: 'yes', text: 'registry tables in Postgres with versions and per-ingestion reports' },
    },
    sources: [
      'docs.feast.dev/getting-started/components/registry',
      'docs.hopsworks.ai (tags, provenance)',
      'docs/architecture.md',
    ],
  },
  {
    key: 'latency',
    label: 'Published online latency',
    values: {
      feast: { support: 'unknown', text: 'no guarantee published; depends on the online store and server chosen' },
      hopsworks: { support: 'unknown', text: 'RonDB benchmarks published by the vendor; no figure applies to your setup' },
      strata: { support: 'unknown', text: 'measure with bench/ in this repository against your own target' },
    },
    sources: ['docs.feast.dev (feature server)', 'www.hopsworks.ai (RonDB benchmarks)', 'bench/'],
  },
];

export function factOf(key: string): Fact {
  const f = FACTS.find((x) => x.key === key);
  if (!f) throw new Error(`no fact '${key}'`);
  return f;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The Markdown table that docs/feast-vs-hopsworks.md embeds. */
export function renderFactsTable(): string {
  const lines = ['| Aspect | Feast | Hopsworks | Strata | Sources |', '| --- | --- | --- | --- | --- |'];
  for (const f of FACTS) {
    lines.push(
      `| ${cell(f.label)} | ${SYSTEMS.map((s) => `${f.values[s].support}: ${cell(f.values[s].text)}`).join(' | ')} | ${cell(
        f.sources.join('; '),
      )} |`,
    );
  }
  return lines.join('\n');
}
