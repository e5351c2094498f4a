import { defineConfig } from 'vitest/config';

const resolve = { conditions: ['strata-source', 'import', 'module', 'node', 'default'] };

export default defineConfig({
  resolve,
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['{packages,internal-packages,apps}/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['{packages,internal-packages,apps}/*/src/**/*.itest.ts', 'tests/**/*.itest.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
