import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Property suites are CPU-bound; one worker per core, and generous timeouts for the exact
    // interpreter on slow CI machines (speed is measured by bench/, not by tests).
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
