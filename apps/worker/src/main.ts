#!/usr/bin/env node
import { loadConfig, StrataError } from '@strata/sdk';
import { runWorker } from './index.js';

const config = loadConfig();
console.log(
  `strata worker: task queue '${config.temporal.taskQueue}' on ${config.temporal.address} (namespace ${config.temporal.namespace})`,
);
runWorker(config).catch((err) => {
  console.error(err instanceof StrataError ? err.describe() : err);
  process.exit(1);
});
