// The environment of a Strata process a benchmark starts (a worker, the CLI): this process's environment, no config
// file, and the benchmark's own project, database schema and task queue, so runs never share state.
export function strataEnv({ project = 'bench', pgUrl, schema, taskQueue, ...extra }) {
  return {
    ...process.env,
    STRATA_CONFIG: '',
    STRATA_PROJECT: project,
    ...(pgUrl ? { STRATA_POSTGRES_URL: pgUrl } : {}),
    STRATA_POSTGRES_SCHEMA: schema,
    STRATA_TASK_QUEUE: taskQueue,
    ...extra,
  };
}
