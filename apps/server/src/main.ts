#!/usr/bin/env node
import { loadConfig, StrataError } from '@strata/sdk';
import { startServer } from './index.js';

const config = loadConfig();
startServer(config, { logger: true })
  .then(({ address, stop }) => {
    console.log(`strata server on ${address}/api/v1 (OpenAPI: ${address}/api/v1/openapi.json)`);
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
