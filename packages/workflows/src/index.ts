import { fileURLToPath } from 'node:url';

export { type ActivityDeps, createActivities, rowToOnline } from './activities.js';
export { toFailure, wrap } from './failure.js';
export { type ValidationOutcome, validateStaged } from './validate.js';
export { columnarEntitiesPath, columnarPartPath, createTrainingActivities } from './training-activities.js';
export {
  type TrainingChunkProgress,
  type TrainingSetInput,
  type TrainingSetResult,
  trainingSetWorkflowId,
} from './training-shared.js';
export { type Partition, partitionCount } from './partitioned.js';
export {
  DEFAULT_TASK_QUEUE,
  FailureTypes,
  type IngestFileActivities,
  type IngestInput,
  type IngestResult,
  ingestWorkflowId,
  type JanitorInput,
  janitorScheduleId,
  type MaterializeInput,
  type MaterializePlan,
  type MaterializeProgress,
  type MaterializeResult,
  materializeWorkflowId,
  type Progress,
  progressQuery,
  SA,
  SEARCH_ATTRIBUTES,
  type StageFileInput,
  type StageFileProgress,
  type ValidationSummary,
} from './shared.js';

/** Path of the workflow bundle entry, for `Worker.create({ workflowsPath })`. */
export function workflowsPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return `${here}workflows/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`;
}
export {
  type PipelineActivities,
  type PipelinePlan,
  type PipelineRunInput,
  type PipelineRunResult,
  pipelineScheduleId,
  type PipelineWindow,
  type PipelineWindowInput,
  type PipelineWindowResult,
  pipelineWorkflowId,
  type StagedWindow,
} from './pipeline-shared.js';
