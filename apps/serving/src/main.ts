#!/usr/bin/env node
import { loadConfig, StrataError } from '@strata/sdk';
import { serve } from './index.js';

const config = loadConfig();
serve(config, { logger: true })
  .then(({ address, stop }) => {
    console.log(`strata serving on ${address} (project ${config.project})`);
    const shutdown = () => {
      stop().then(() => process.exit(0));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  })
  .catch((err) => {
    console.error(err instanceof StrataError ? err.describe() : err);
    process.exit(1);
  });
