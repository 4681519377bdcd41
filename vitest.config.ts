import { defineConfig } from 'vitest/config';

// Three tiers, each runnable alone (npm run test:unit|test:infra|test:integration).
// Infra tests synthesize the app (esbuild bundling); integration tests boot the local cloud,
// so both get longer timeouts and run their files one at a time on this 2-core budget.
export default defineConfig({
  test: {
    // In CI also write a JSON report; .ci/run prints one plain "N passed, N failed" line from it.
    // The AWS SDK's notice that its 2027 releases need Node 22 would repeat in every test file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    // Two test files at a time (vitest's default on 2 cores is one): an integration file spends
    // much of its time waiting on the local cloud's pollers and child processes, so a unit or infra
    // file runs meanwhile. Integration and infra files still run one at a time each.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Some unit tests start an emulator or a child process: room for a busy machine.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // `npm run test:deployed -- --outputs <file>` only (not part of `npm test`): the
        // end-to-end scenarios against the stack an outputs file names (test/deployed/run.ts).
        test: {
          name: 'deployed',
          include: ['test/deployed/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // `npm run test:load` only (not part of `npm test`): a long run under faults.
        test: {
          name: 'load',
          include: ['test/load/**/*.test.ts'],
          environment: 'node',
          testTimeout: 3_600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
