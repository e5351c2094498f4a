import type { Command } from 'commander';
import { register as adapters } from './adapters.js';
import { register as data } from './data.js';
import { register as explain } from './explain.js';
import { register as history } from './history.js';
import { register as offline } from './offline.js';
import { register as pipeline } from './pipeline.js';
import { register as registry } from './registry.js';
import { register as schedule } from './schedule.js';
import { register as server } from './server.js';
import { register as services } from './services.js';
import { register as validation } from './validation.js';

/** Every command group; each file registers its commands on the program. */
export const commandGroups: ((program: Command) => void)[] = [
  services,
  server,
  registry,
  data,
  history,
  explain,
  offline,
  adapters,
  validation,
  schedule,
  pipeline,
];
