import { defineConfig } from 'vitest/config';

// 2-core machines: at most two test files at a time, each in its own process (handlers read their
// environment at import, so files must not share a module graph or process.env).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
