import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `strata-source` export condition), so tests need no build.
const conditions = ['strata-source'];
const shared = { resolve: { conditions }, ssr: { resolve: { conditions } } };

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['{packages,internal-packages,apps}/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        ...shared,
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
