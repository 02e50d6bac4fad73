import { configDefaults, defineConfig } from 'vitest/config';

const CRASH_TESTS = ['test/crash-recovery.test.ts'];

export default defineConfig({
  test: {
    // Two cores in CI: keep workers to what the machine has.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'sidelight',
          include: ['src/**/*.test.ts', 'processors/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...CRASH_TESTS],
        },
      },
      {
        // real sidecar processes killed and restarted: run alone, after the rest, so neither slows the other
        extends: true,
        test: { name: 'crash', include: CRASH_TESTS, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
