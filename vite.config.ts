import { defineConfig } from 'vitest/config';

// One config for the test runner (and, later, the browser demo).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Kernels on a software adapter are slow, but a hang must still fail fast.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    reporters: ['default'],
  },
});
