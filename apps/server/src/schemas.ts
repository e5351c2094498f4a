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
