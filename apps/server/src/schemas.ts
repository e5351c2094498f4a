/**
 * Request and response schemas (TypeBox: JSON Schema values with static types). Fastify validates requests with
 * them and @fastify/swagger turns them into the OpenAPI 3 document; nothing is written twice.
 */
import { Type } from 'typebox';

export const Name = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', description: 'a project or object name' });

export const ProjectParams = Type.Object({ project: Name });
export const ViewParams = Type.Object({ project: Name, view: Type.String({ minLength: 1, maxLength: 200 }) });
export const NamedParams = Type.Object({ project: Name, name: Type.String({ minLength: 1, maxLength: 200 }) });
export const IngestionParams = Type.Object({ project: Name, id: Type.String({ minLength: 1, maxLength: 200 }) });
export const RunParams = Type.Object({ project: Name, workflowId: Type.String({ minLength: 1, maxLength: 500 }) });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'a stable code: INVALID_INPUT, UNKNOWN_OBJECT, CONFLICT, UNAUTHENTICATED, ...' }),
      message: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

export const Change = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  action: Type.String({ description: 'create | update | new_version | unchanged' }),
  reasons: Type.Array(Type.String()),
});

export const PlanResponse = Type.Object({
  project: Type.String(),
  changes: Type.Array(Change),
  text: Type.String({ description: 'the readable diff, as `strata plan` prints it' }),
  revision: Type.String({ description: 'the registry revision this plan was made against; send it as If-Match to apply' }),
  applied: Type.Boolean(),
});

export const Run = Type.Object(
  {
    workflowId: Type.String(),
    url: Type.String({ description: "the run's page in the Temporal Web UI" }),
    type: Type.Optional(Type.String()),
    status: Type.String({ description: 'RUNNING, COMPLETED, FAILED, ...' }),
    startTime: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    closeTime: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    progress: Type.Optional(
      Type.Union([
        Type.Object({
          stage: Type.String(),
          rowsTotal: Type.Number(),
          rowsDone: Type.Number(),
          message: Type.Optional(Type.String()),
        }),
        Type.Null(),
      ]),
    ),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.Unknown()),
    links: Type.Optional(Type.Object({ self: Type.String() })),
  },
  { $id: 'Run' },
);

export const IngestAccepted = Type.Object({
  run: Type.Ref('Run'),
  ingestionId: Type.String(),
  stagedRows: Type.Number(),
  ignoredColumns: Type.Array(Type.String()),
});

export const TrainingAccepted = Type.Object({
  run: Type.Ref('Run'),
  id: Type.String(),
  entityRows: Type.Number(),
});

export const Role = Type.Union([Type.Literal('viewer'), Type.Literal('editor'), Type.Literal('admin')]);

export const ApiKey = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'the first characters of the key (not secret)' }),
    roles: Type.Record(Type.String(), Role, { description: "a role per project; '*' is every project" }),
    createdBy: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'ApiKey' },
);

export const CreateKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  roles: Type.Record(Type.String(), Role),
});

export const AuditEntry = Type.Object({
  id: Type.Number(),
  at: Type.String({ format: 'date-time' }),
  principalId: Type.Union([Type.String(), Type.Null()]),
  principalName: Type.Union([Type.String(), Type.Null()]),
  project: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  status: Type.Number(),
  outcome: Type.String({ description: 'ok | denied | failed' }),
  errorCode: Type.Union([Type.String(), Type.Null()]),
});

export const IngestQuery = Type.Object({
  format: Type.Optional(Type.String({ description: 'csv | parquet | arrow | jsonl (default: from Content-Type)' })),
  ingestion_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'idempotency key' })),
  materialize: Type.Optional(Type.Boolean()),
  policy: Type.Optional(Type.Union([Type.Literal('NONE'), Type.Literal('ALWAYS'), Type.Literal('STRICT')])),
  source: Type.Optional(
    Type.String({
      maxLength: 500,
      description: "what the ingestion records as its source, e.g. the uploaded file's name (default: upload.<format>)",
    }),
  ),
});

export const ReadQuery = Type.Object({
  as_of: Type.Optional(Type.String({ description: 'wall-clock time (ISO 8601)' })),
  as_of_commit: Type.Optional(Type.Integer({ minimum: 0 })),
  latest: Type.Optional(Type.Boolean()),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
});

export const DiffQuery = Type.Object({
  from: Type.Integer({ minimum: 0 }),
  to: Type.Integer({ minimum: 0 }),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
});

export const HistoricalQuery = Type.Object({
  features: Type.Optional(Type.String({ description: 'comma-separated view:feature references' })),
  feature_service: Type.Optional(Type.String()),
  timestamp_column: Type.Optional(Type.String()),
  full_feature_names: Type.Optional(Type.Boolean()),
  as_of_commit: Type.Optional(Type.Integer({ minimum: 0 })),
  as_of: Type.Optional(Type.String()),
  drop_created_after_entity_time: Type.Optional(Type.Boolean()),
  entity_format: Type.Optional(Type.String({ description: 'format of the entity rows in the body (default: Content-Type)' })),
  format: Type.Optional(
    Type.String({ description: 'training-set workflows: output format kept for download (parquet, arrow, csv, jsonl)' }),
  ),
  id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

export const HistoricalJson = Type.Object({
  features: Type.Optional(Type.Array(Type.String())),
  featureService: Type.Optional(Type.String()),
  entities: Type.Record(Type.String(), Type.Array(Type.Unknown()), {
    description: 'entity rows by column, e.g. {"user_id": [1, 2], "event_timestamp": ["2024-01-01T00:00:00Z", ...]}',
  }),
  timestampColumn: Type.Optional(Type.String()),
  fullFeatureNames: Type.Optional(Type.Boolean()),
  asOfCommit: Type.Optional(Type.Integer({ minimum: 0 })),
  asOf: Type.Optional(Type.String()),
  dropCreatedAfterEntityTime: Type.Optional(Type.Boolean()),
});

export const MaterializeBody = Type.Object({
  view: Type.String({ minLength: 1 }),
  start: Type.Optional(Type.String({ description: 'window start (ISO time)' })),
  end: Type.Optional(Type.String({ description: 'window end (ISO time), exclusive' })),
  batchSize: Type.Optional(Type.Integer({ minimum: 1 })),
});

export const ScheduleBody = Type.Object({
  view: Type.String({ minLength: 1 }),
  every: Type.String({ description: 'interval, e.g. 15m, 1h' }),
  replace: Type.Optional(Type.Boolean()),
  paused: Type.Optional(Type.Boolean()),
});

export const Open = Type.Unknown({ description: 'see the description of the route' });

// ---- the console's routes (docs/console-api.md) ---------------------------------------------------------------
// Objects keep unlisted properties (additionalProperties), so a field added in the SDK is never silently dropped.
const Obj = (props: Parameters<typeof Type.Object>[0], description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });

export const ConsoleConfig = Obj({
  caller: Obj({ id: Type.String(), name: Type.String(), roles: Type.Record(Type.String(), Role), anonymous: Type.Boolean() }),
  temporal: Obj({
    uiUrl: Type.String({ description: 'the Temporal Web UI; a run is <uiUrl>/namespaces/<namespace>/workflows/<workflowId>' }),
    namespace: Type.String(),
  }),
  projects: Type.Array(Obj({ name: Type.String(), role: Nullable(Role) })),
});

export const SeriesQuery = Type.Object({
  features: Type.Optional(Type.String({ description: 'comma-separated feature names (default: every feature of the view)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'the newest N ingestions (default 200)' })),
});
export const StatisticsSeries = Obj({
  view: Type.String(),
  features: Type.Array(Type.String()),
  commits: Type.Array(
    Obj({
      ingestionId: Type.String(),
      commitId: Nullable(Type.Integer()),
      status: Type.String(),
      createdAt: Time,
      committedAt: Nullable(Time),
      rows: Type.Integer(),
      minEventTime: Nullable(Time),
      maxEventTime: Nullable(Time),
      stats: Type.Record(Type.String(), Type.Unknown(), {
        description:
          'per feature: count, nullCount, completeness, distinctCount, distinctExact, min, max, mean, stddev, sum, quantiles',
      }),
      drift: Type.Record(Type.String(), Type.Unknown(), {
        description: 'per feature: kind, psi, ks, js, drifted, reasons, threshold {psi, ks, js}',
      }),
    }),
    { description: 'oldest first' },
  ),
});

export const MaterializationQuery = Type.Object({
  runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'recent runs (default 10)' })),
});
export const MaterializationState = Obj({
  view: Type.String(),
  online: Type.Boolean(),
  watermark: Obj({ commitId: Type.Integer(), updatedAt: Nullable(Time) }),
  latestCommitId: Type.Integer(),
  commitsBehind: Type.Integer(),
  materializedEventTime: Nullable(Time),
  freshnessSeconds: Nullable(Type.Number()),
  freshnessBasis: Type.String(),
  onlineMarker: Nullable(Type.Integer()),
  runs: Type.Array(Type.Unknown(), { description: 'as GET /materializations, with url (the Temporal UI)' }),
  schedule: Type.Unknown({ description: 'as GET /schedules/{view}, or null' }),
});

export const ExplainQuery = Type.Object({
  entity: Type.Union([Type.String(), Type.Array(Type.String())], {
    description: 'key=value, once per join key (e.g. entity=user_id=7)',
  }),
  feature: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'offline rows, newest first (default 20)' })),
});
export const Explanation = Obj({
  view: Type.String(),
  version: Type.Integer(),
  entity: Type.Record(Type.String(), Type.Unknown()),
  feature: Nullable(Type.String()),
  features: Type.Array(Type.String()),
  online: Obj({
    status: Type.String({ description: 'PRESENT, NOT_FOUND, NULL_VALUE, OUTSIDE_MAX_AGE' }),
    value: Type.Unknown(),
    eventTime: Nullable(Time),
    values: Type.Record(Type.String(), Type.Unknown()),
  }),
  watermark: Type.Integer(),
  offline: Obj({ rows: Type.Array(Type.Unknown()), total: Type.Integer(), truncated: Type.Boolean() }),
  onlineRow: Type.Unknown({ description: '{commitId, eventTime, matchesOnline} or null' }),
  commit: Type.Unknown({ description: 'the commit that brought the online row, or null' }),
  ingestion: Type.Unknown({ description: 'its ingestion (id, status, createdBy, source, workflowId, url, links), or null' }),
  validation: Type.Unknown({ description: 'the validation report summary it passed, or null' }),
  materialization: Type.Unknown({ description: 'the materialization run that wrote it online, or null' }),
});

export const LineageQuery = Type.Object({
  ingestions: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'newest N per view (default 5)' })),
  training_sets: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'newest N (default 20)' })),
});
export const Lineage = Obj({
  project: Type.String(),
  nodes: Type.Array(
    Obj({
      id: Type.String(),
      kind: Type.String({ description: 'source | ingestion | view | service | online | training-set' }),
      label: Type.String(),
    }),
  ),
  edges: Type.Array(Obj({ from: Type.String(), to: Type.String(), kind: Type.String() })),
});

export const RunsQuery = Type.Object({
  kind: Type.Optional(Type.String({ description: 'ingest | materialize | training-set | pipeline' })),
  status: Type.Optional(Type.String({ description: 'RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT' })),
  view: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
export const RunSummary = Obj({
  workflowId: Type.String(),
  kind: Type.String(),
  type: Type.String(),
  status: Type.String(),
  stage: Nullable(Type.String()),
  view: Nullable(Type.String()),
  startTime: Nullable(Time),
  closeTime: Nullable(Time),
  durationMs: Nullable(Type.Number()),
  progress: Type.Unknown({ description: '{stage, rowsTotal, rowsDone} of a running run, else null' }),
  url: Type.String(),
  links: Obj({ self: Type.String(), events: Type.String(), steps: Type.String() }),
});
export const RunSteps = Obj({
  workflowId: Type.String(),
  steps: Type.Array(
    Obj({
      name: Type.String(),
      kind: Type.String({ description: 'activity | child-workflow' }),
      status: Type.String(),
      attempt: Nullable(Type.Integer()),
      scheduledAt: Nullable(Time),
      startedAt: Nullable(Time),
      closedAt: Nullable(Time),
      durationMs: Nullable(Type.Number()),
    }),
  ),
});

export const OnlineFeaturesBody = Type.Object({
  features: Type.Optional(Type.Array(Type.String(), { description: 'view:feature references' })),
  feature_service: Type.Optional(Type.String()),
  entities: Type.Record(Type.String(), Type.Array(Type.Unknown()), { description: 'join key columns, e.g. {"user_id": [1, 2]}' }),
  full_feature_names: Type.Optional(Type.Boolean()),
});
export const OnlineFeaturesResponse = Type.Object({
  metadata: Type.Object({ feature_names: Type.Array(Type.String()) }),
  results: Type.Array(
    Type.Object({
      values: Type.Array(Type.Unknown()),
      statuses: Type.Array(Type.String()),
      event_timestamps: Type.Array(Type.String()),
    }),
  ),
});

export const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ description: 'a case-insensitive part of the name or description' })),
  kind: Type.Optional(Type.String({ description: 'entity | feature_view | feature_service | feature' })),
  tag: Type.Optional(Type.String({ description: 'key, or key=value' })),
  owner: Type.Optional(Type.String()),
  type: Type.Optional(Type.String({ description: 'a value type, e.g. INT64' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export const SearchResults = Obj({
  results: Type.Array(
    Obj({
      kind: Type.String(),
      project: Type.String(),
      name: Type.String(),
      view: Type.Optional(Type.String()),
      valueType: Type.Optional(Type.String()),
      owner: Type.Optional(Type.String()),
      description: Type.Optional(Type.String()),
      link: Type.String(),
    }),
  ),
  truncated: Type.Boolean(),
});
