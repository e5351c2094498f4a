/**
 * The part of Feast's registry schema (package feast.core) that Strata reads, written from Feast's published field
 * numbers as a protobufjs JSON descriptor. Messages Strata keeps opaque (on-demand and stream views, saved datasets,
 * permissions, infra, ...) are declared as `bytes` so their exact bytes survive; fields not declared here are kept
 * by the codec as unknown wire records. Checked against feast 0.67 (see compat/feast-registry).
 */
import protobuf from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated'; keyType?: string }>;
const f = (id: number, type: string): { id: number; type: string } => ({ id, type });
const rep = (id: number, type: string) => ({ id, type, rule: 'repeated' as const });
const strMap = (id: number) => ({ id, type: 'string', keyType: 'string' });

const msg = (fields: Fields): protobuf.IType => ({ fields });

const descriptor: protobuf.INamespace = {
  nested: {
    feast: {
      nested: {
        core: {
          nested: {
            Timestamp: msg({ seconds: f(1, 'int64'), nanos: f(2, 'int32') }),
            Duration: msg({ seconds: f(1, 'int64'), nanos: f(2, 'int32') }),
            /** EntityMeta, FeatureViewMeta, FeatureServiceMeta, ProjectMeta share fields 1 and 2. */
            Meta: msg({ created_timestamp: f(1, 'Timestamp'), last_updated_timestamp: f(2, 'Timestamp') }),
            /** DataSource.SourceMeta: event-time range of the data, then the object's own timestamps. */
            SourceMeta: msg({
              earliestEventTimestamp: f(1, 'Timestamp'),
              latestEventTimestamp: f(2, 'Timestamp'),
              created_timestamp: f(3, 'Timestamp'),
              last_updated_timestamp: f(4, 'Timestamp'),
            }),
            Registry: msg({
              entities: rep(1, 'Entity'),
              feature_tables: rep(2, 'bytes'),
              registry_schema_version: f(3, 'string'),
              version_id: f(4, 'string'),
              last_updated: f(5, 'Timestamp'),
              feature_views: rep(6, 'FeatureView'),
              feature_services: rep(7, 'FeatureService'),
              on_demand_feature_views: rep(8, 'bytes'),
              request_feature_views: rep(9, 'bytes'),
              infra: f(10, 'bytes'),
              saved_datasets: rep(11, 'bytes'),
              data_sources: rep(12, 'DataSource'),
              validation_references: rep(13, 'bytes'),
              stream_feature_views: rep(14, 'bytes'),
              project_metadata: rep(15, 'ProjectMetadata'),
              permissions: rep(16, 'bytes'),
              projects: rep(17, 'Project'),
              feature_view_version_history: f(18, 'bytes'),
              label_views: rep(19, 'bytes'),
            }),
            ProjectMetadata: msg({ project: f(1, 'string'), project_uuid: f(2, 'string') }),
            Project: msg({ spec: f(1, 'ProjectSpec'), meta: f(2, 'Meta') }),
            ProjectSpec: msg({ name: f(1, 'string'), description: f(2, 'string'), tags: strMap(3), owner: f(4, 'string') }),
            Entity: msg({ spec: f(1, 'EntitySpecV2'), meta: f(2, 'Meta') }),
            EntitySpecV2: msg({
              name: f(1, 'string'),
              value_type: f(2, 'int32'),
              description: f(3, 'string'),
              join_key: f(4, 'string'),
              tags: strMap(8),
              project: f(9, 'string'),
              owner: f(10, 'string'),
            }),
            FeatureSpecV2: msg({
              name: f(1, 'string'),
              value_type: f(2, 'int32'),
              tags: strMap(3),
              description: f(4, 'string'),
              vector_index: f(5, 'bool'),
              vector_search_metric: f(6, 'string'),
              vector_length: f(7, 'int32'),
            }),
            FeatureView: msg({ spec: f(1, 'FeatureViewSpec'), meta: f(2, 'Meta') }),
            FeatureViewSpec: msg({
              name: f(1, 'string'),
              project: f(2, 'string'),
              entities: rep(3, 'string'),
              features: rep(4, 'FeatureSpecV2'),
              tags: strMap(5),
              ttl: f(6, 'Duration'),
              batch_source: f(7, 'DataSource'),
              online: f(8, 'bool'),
              stream_source: f(9, 'DataSource'),
              description: f(10, 'string'),
              owner: f(11, 'string'),
              entity_columns: rep(12, 'FeatureSpecV2'),
              offline: f(13, 'bool'),
              source_views: rep(14, 'bytes'),
              feature_transformation: f(15, 'bytes'),
              mode: f(16, 'string'),
              enable_validation: f(17, 'bool'),
              version: f(18, 'string'),
              org: f(19, 'string'),
              disabled: f(20, 'bool'),
            }),
            DataSource: msg({
              type: f(1, 'int32'),
              field_mapping: strMap(2),
              timestamp_field: f(3, 'string'),
              date_partition_column: f(4, 'string'),
              created_timestamp_column: f(5, 'string'),
              file_options: f(11, 'FileOptions'),
              bigquery_options: f(12, 'bytes'),
              kafka_options: f(13, 'bytes'),
              kinesis_options: f(14, 'bytes'),
              redshift_options: f(15, 'bytes'),
              custom_options: f(16, 'bytes'),
              data_source_class_type: f(17, 'string'),
              request_data_options: f(18, 'bytes'),
              snowflake_options: f(19, 'bytes'),
              name: f(20, 'string'),
              project: f(21, 'string'),
              push_options: f(22, 'bytes'),
              description: f(23, 'string'),
              tags: strMap(24),
              owner: f(25, 'string'),
              batch_source: f(26, 'DataSource'),
              spark_options: f(27, 'bytes'),
              timestamp_field_type: f(28, 'string'),
              trino_options: f(30, 'bytes'),
              athena_options: f(35, 'bytes'),
              meta: f(50, 'SourceMeta'),
            }),
            FileOptions: msg({ file_format: f(1, 'bytes'), uri: f(2, 'string'), s3_endpoint_override: f(3, 'string') }),
            FeatureService: msg({ spec: f(1, 'FeatureServiceSpec'), meta: f(2, 'Meta') }),
            FeatureServiceSpec: msg({
              name: f(1, 'string'),
              project: f(2, 'string'),
              features: rep(3, 'FeatureViewProjection'),
              tags: strMap(4),
              description: f(5, 'string'),
              owner: f(6, 'string'),
              logging_config: f(7, 'bytes'),
              precompute_online: f(8, 'bool'),
            }),
            FeatureViewProjection: msg({
              feature_view_name: f(1, 'string'),
              feature_columns: rep(2, 'FeatureSpecV2'),
              feature_view_name_alias: f(3, 'string'),
              join_key_map: strMap(4),
              timestamp_field: f(5, 'string'),
              date_partition_column: f(6, 'string'),
              created_timestamp_column: f(7, 'string'),
              batch_source: f(8, 'DataSource'),
              stream_source: f(9, 'DataSource'),
              version_tag: f(10, 'int32'),
              view_type: f(11, 'string'),
            }),
            /** Enough of OnDemandFeatureView, StreamFeatureView, SavedDataset, Permission, LabelView to find name and project. */
            PeekSpec2: msg({ name: f(1, 'string'), project: f(2, 'string') }),
            Peek2: msg({ spec: f(1, 'PeekSpec2') }),
            /** FeatureTable keeps its project in field 9. */
            PeekSpec9: msg({ name: f(1, 'string'), project: f(9, 'string') }),
            Peek9: msg({ spec: f(1, 'PeekSpec9') }),
            /** ValidationReference is flat: name 1, project 3. */
            PeekValidationReference: msg({ name: f(1, 'string'), project: f(3, 'string') }),
          },
        },
      },
    },
  },
};

export const root = protobuf.Root.fromJSON(descriptor);
root.resolveAll();

export const T = {
  Registry: root.lookupType('feast.core.Registry'),
  Entity: root.lookupType('feast.core.Entity'),
  FeatureView: root.lookupType('feast.core.FeatureView'),
  FeatureService: root.lookupType('feast.core.FeatureService'),
  DataSource: root.lookupType('feast.core.DataSource'),
  FeatureSpecV2: root.lookupType('feast.core.FeatureSpecV2'),
  Peek2: root.lookupType('feast.core.Peek2'),
  Peek9: root.lookupType('feast.core.Peek9'),
  PeekValidationReference: root.lookupType('feast.core.PeekValidationReference'),
};

/** Feast's ValueType enum beyond the types Strata models (numbers from feast/types/Value.proto). */
export const FEAST_EXTRA_VALUE_TYPES: Record<number, string> = {
  0: 'UNKNOWN',
  19: 'NULL',
  20: 'MAP',
  21: 'MAP_LIST',
  22: 'BYTES_SET',
  23: 'STRING_SET',
  24: 'INT32_SET',
  25: 'INT64_SET',
  26: 'DOUBLE_SET',
  27: 'FLOAT_SET',
  28: 'BOOL_SET',
  29: 'UNIX_TIMESTAMP_SET',
  30: 'UUID',
  31: 'TIME_UUID',
  32: 'UUID_LIST',
  33: 'TIME_UUID_LIST',
};

/** DataSource.SourceType numbers. */
export const SOURCE_TYPE = { BATCH_FILE: 1 } as const;

/** Registry schema versions this adapter reads and writes (Feast's REGISTRY_SCHEMA_VERSION); "" = written before the field existed. */
export const SUPPORTED_REGISTRY_SCHEMA_VERSIONS = ['1'];
