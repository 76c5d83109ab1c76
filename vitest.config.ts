import { defineConfig } from 'vitest/config';

/**
 * Three kinds of tests: `unit` (no sockets, no processes: files run in parallel), `integration`
 * (real HTTP servers on 127.0.0.1, Redis, PostgreSQL) and `e2e` (the built CLI and the packed
 * package). The kinds run one after another (groupOrder), so no unit or CLI run competes with a
 * timing-sensitive integration test. `npx vitest run --project unit` runs one kind.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Timing-sensitive politeness tests must not fight each other for the two cores.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
