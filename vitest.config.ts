import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'processors/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts'],
    // Two cores in CI: keep workers to what the machine has.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
