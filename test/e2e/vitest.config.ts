import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The browser end-to-end suite, apart from `npm test`: it needs the built
// demo and Debian's Chromium. Run with `npm run test:e2e`.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    // Every wait inside has its own, shorter timeout; these only catch what slips past them.
    testTimeout: 420_000,
    hookTimeout: 90_000,
    teardownTimeout: 20_000,
    reporters: ['default'],
  },
});
