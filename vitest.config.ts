import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // LOOPED_TESTS=a.test.ts,b.test.ts narrows the run (bench/mutation.ts runs one part's tests).
    include: process.env.LOOPED_TESTS ? process.env.LOOPED_TESTS.split(',').map((f) => `tests/${f.trim()}`) : ['tests/**/*.test.ts'],
    // Property suites are CPU-bound; one worker per core, and generous timeouts for the exact
    // interpreter on slow CI machines (speed is measured by bench/, not by tests).
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
