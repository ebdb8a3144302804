import { configDefaults, defineConfig } from 'vitest/config';

// 2-core machines: at most two test files at a time, each in its own process. (Handlers are built by
// factories from plain settings, so no test needs the process environment of its own.)
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fixtures that test/infra/test-output.test.ts runs on their own (one fails on purpose).
    exclude: [...configDefaults.exclude, 'test/fixtures/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // A passing test's logs are noise (thousands of lines); a failing test's are shown with it.
    // https://vitest.dev/config/silent
    silent: 'passed-only',
    env: {
      // The handlers' Powertools logger writes to process.stdout through a Console of its own,
      // which vitest cannot attribute to a test; in dev mode it uses the global console, which
      // vitest captures per test (and pretty-prints). Tests that check the log lines themselves
      // (test/e2e/log-hygiene.test.ts) switch it off.
      // https://docs.aws.amazon.com/powertools/typescript/latest/environment-variables
      POWERTOOLS_DEV: 'true',
    },
    setupFiles: ['test/support/quiet-bundling.ts'],
  },
});
