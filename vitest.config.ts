import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time (this project's machines have 2 cores; vitest's default leaves one
    // idle): the suite takes ≈ 62 s instead of ≈ 86–103 s, and the timing-sensitive tests (tmux,
    // signals, crash recovery) wait for events, not for fixed times, so they hold under the load.
    maxWorkers: 2,
  },
});
